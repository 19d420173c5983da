Feature: Reordered deliveries do not resurrect a deleted SIM
  Order is not guaranteed across requests. A consumer that applies events by
  arrival lets a late suspension undo a deletion.

  @push
  Scenario: decommissioned sensors stay deleted whatever the arrival order
    Given the platform runs the scenario "decommission"
    And deliveries are reordered in windows of 8
    And the delivery faults are seeded with 3
    When the events are pushed to the consumer
    Then every event was acknowledged with a 2xx
    And within 5s GET "/sims/{sim.iccid}" returns JSON where "status" is "Deleted"
    And within 5s the consumer's view of every SIM matches the platform
    And within 5s the consumer's view of every endpoint matches the platform
