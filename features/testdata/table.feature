Feature: a workspace from a table

  Scenario: SIMs in each status, some in devices
    Given the platform has a workspace with these SIMs:
      | status       | device    | tags       |
      | Activated    | Tracker 1 | fleet      |
      | Suspended    | Tracker 2 | fleet      |
      | Factory Test | Sensor 1  | cold-chain |
      | Deleted      |           |            |
      | Issued       |           |            |
    When the events are pushed to the consumer
    Then every event was acknowledged with a 2xx
    And within 5s the consumer's view of every SIM matches the platform
    And within 5s the consumer counted every event exactly once
    And within 5s GET "/sims/{sim.iccid}" returns JSON where "status" is "Activated"
