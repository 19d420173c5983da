Feature: the steps that act through the API and read the API journal

  Scenario: a scenario written in the feature, a change through the API
    Given the platform runs this scenario:
      """yaml
      name: two-trackers
      description: two trackers, one of them suspended
      workspaces:
        - name: w
          sims:
            - group: trackers
              count: 2
              status: activated
              endpoint: {}
      steps:
        - do: suspend
          target: trackers[0]
      """
    When the consumer's webhook is registered as a data stream with historic data
    And SIM "{sim.iccid}" is activated through the API
    Then within 5s GET "/sims/{sim.iccid}" returns JSON where "status" is "Activated"
    And within 5s the consumer's view of every SIM matches the platform
    And within 5s the consumer counted every event exactly once
    And within 5s the app sent PATCH "/api/v1/sim/{sim.id}" with JSON where "status.id" is "1"
    And the app made no request that was refused

  Scenario: the consumer's polls are in the journal
    Given the platform runs the scenario "onboarding"
    When the consumer misses the webhooks
    And the consumer catches up by polling the platform
    Then within 5s the consumer sent GET "/api/v1/event"
    And the consumer made no request that was refused
