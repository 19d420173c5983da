Feature: a webhook that checks Standard Webhooks signatures

  Scenario: forged and stale signatures are refused
    Given the platform runs the scenario "onboarding"
    And 40% of deliveries carry a forged signature
    When the events are pushed to the consumer
    Then every event was acknowledged with a 2xx
    And every forged signature was refused
