Feature: Factory-test activation updates the inventory
  SIMs go through factory test, and Policy Control activates each one when
  its test volume is reached. The consumer's inventory must follow.

  @push
  Scenario: ten trackers are activated after their factory test
    Given the platform runs the scenario "factory-test-activation"
    When the events are pushed to the consumer
    Then every event was acknowledged with a 2xx
    And within 5s GET "/sims/{sim.iccid}" returns JSON where "status" is "Activated"
    And within 5s the consumer's view of every SIM matches the platform

  @datastream
  Scenario: the consumer registers its webhook as a data stream
    Given the platform runs the scenario "factory-test-activation"
    And deliveries send 5 events per request
    When the consumer's webhook is registered as a data stream with historic data
    Then within 5s the consumer's view of every SIM matches the platform
    And within 5s the consumer counted every event exactly once
