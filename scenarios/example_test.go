package scenarios_test

import (
	"fmt"

	"github.com/emnify-mock/emnify-mock/generator"
	"github.com/emnify-mock/emnify-mock/scenarios"
)

// A scenario is parsed strictly, then run on a seed.
func ExampleParse() {
	sc, err := scenarios.Parse("night.yaml", []byte(`name: night
description: a tracker sleeps
workspaces:
  - name: fleet
    sims: [{group: trackers, count: 1, status: activated, endpoint: {status: enabled}}]
steps:
  - {do: suspend, target: trackers}
  - {do: activate, target: trackers, after: 8h}
`))
	if err != nil {
		panic(err)
	}
	sc.Run(1, func(e generator.Event) error {
		fmt.Println(e.Timestamp.Format("15:04"), e.Type.ID, e.Description)
		return nil
	})
	_, err = scenarios.Parse("typo.yaml", []byte("name: x\ndescription: y\nworkspaces: [{name: w}]\nsteps:\n  - {do: suspnd, target: w}\n"))
	fmt.Println(err)
	// Output:
	// 08:00 9 Status of SIM changed from 'Activated' to 'Suspended'
	// 16:00 8 Status of SIM changed from 'Suspended' to 'Activated'
	// typo.yaml:5:10: unknown action "suspnd"; expected one of activate, assign, create-endpoint, delete, delete-endpoint, disable, enable, factory-test, migrate, register, release, report-usage, reset-connectivity, send-sms, suspend
}
