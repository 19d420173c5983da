Feature: A consumer that polls the event API catches up after missing webhooks
  When webhooks are lost (an outage, a paused stream), reading
  GET /api/v1/event brings the consumer back to the platform's state.

  @poll
  Scenario: the onboarding of a batch is missed and recovered by polling
    Given the platform runs the scenario "onboarding"
    When the consumer misses the webhooks
    And the consumer catches up by polling the platform
    Then within 5s the consumer's view of every SIM matches the platform
    And within 5s the consumer counted every event exactly once

  @push @poll
  Scenario: polling after a partly delivered, faulty push converges too
    Given the platform runs the scenario "fleet-churn"
    And 50% of first delivery attempts fail
    And 20% of deliveries are sent twice
    When the events are pushed to the consumer
    And the consumer catches up by polling the platform
    Then within 5s the consumer's view of every SIM matches the platform

  @poll @ratelimit
  Scenario: a large backlog is read within emnify's rate limits
    Given the platform enforces emnify's rate limits
    And every 3rd read of the event list is answered 429
    And the platform runs 20000 events of the fleet churn
    When the consumer misses the webhooks
    And the consumer catches up by polling the platform
    Then within 5s the consumer's view of every SIM matches the platform
    And within 5s the consumer counted every event exactly once
