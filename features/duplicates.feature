Feature: Duplicates do not double-count
  Delivery is at-least-once: the same event may arrive twice. A consumer
  that dedupes by event id counts every event once.

  @push
  Scenario: a day of fleet churn with a third of the requests sent twice
    Given the platform runs the scenario "fleet-churn"
    And 30% of deliveries are sent twice
    And the delivery faults are seeded with 4
    When the events are pushed to the consumer
    Then every event was acknowledged with a 2xx
    And within 5s the consumer counted every event exactly once
    And within 5s the consumer's view of every SIM matches the platform
