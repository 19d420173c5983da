Feature: the consumer's webhook goes down, and what queued arrives as a burst

  Scenario: a data stream outlasts the outage
    Given the platform runs the scenario "factory-test-activation"
    And the consumer's webhook is down for 3s
    When the consumer's webhook is registered as a data stream with historic data
    Then within 30s the consumer's view of every SIM matches the platform
    And within 5s the consumer counted every event exactly once
    And deliveries were refused while the webhook was down

  Scenario: a push outlasts the outage
    Given the platform runs the scenario "onboarding"
    And the consumer's webhook is down for 2s
    When the events are pushed to the consumer
    Then every event was acknowledged with a 2xx
    And within 5s the consumer counted every event exactly once
    And deliveries were refused while the webhook was down
