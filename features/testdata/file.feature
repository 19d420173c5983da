Feature: events from a file stand for the platform

  Scenario: captured events pushed with duplicates and reordering
    Given the platform emitted the events in "testdata/captured.ndjson"
    And 50% of deliveries are sent twice
    And deliveries are reordered in windows of 4
    And the delivery faults are seeded with 3
    When the events are pushed to the consumer
    Then every event was acknowledged with a 2xx
    And within 5s the consumer's view of every SIM matches the platform
    And within 5s the consumer counted every event exactly once
