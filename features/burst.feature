Feature: The consumer keeps up with a burst
  After an outage the Data Streamer delivers what it kept, as fast as the
  consumer takes it.

  # A measurement, not a check of correctness: it depends on the machine.
  # Run it with --tags @perf (verify) or -godog.tags=@perf (go test).
  @perf @push
  Scenario: 2000 events over 32 connections
    Given the platform runs 2000 events of the fleet churn
    And deliveries use 32 connections
    When the events are pushed to the consumer
    Then every event was acknowledged with a 2xx
    And every delivery took less than 500ms
    And the consumer took at least 1000 events per second
    And within 5s the consumer counted every event exactly once
