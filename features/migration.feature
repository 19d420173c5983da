Feature: A migration moves SIMs between workspaces in the consumer's view
  The platform suspends and releases the SIMs, then emits the pair of
  event 69: the same id in the source and in the target workspace.

  @push
  Scenario: two trackers move from staging to production
    Given the platform runs the scenario "migration"
    And deliveries send 3 events per request
    When the events are pushed to the consumer
    Then every event was acknowledged with a 2xx
    And within 5s the consumer's view of every SIM matches the platform
    And within 5s the consumer counted every event exactly once
