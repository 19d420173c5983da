package generator_test

import (
	"fmt"

	"github.com/emnify-mock/emnify-mock/generator"
)

// A fleet churn is a seeded stream: the same seed gives the same events.
func ExampleNewChurn() {
	churn, err := generator.NewChurn(7, generator.ChurnOptions{SIMs: 10})
	if err != nil {
		panic(err)
	}
	for range 3 {
		e := churn.Next()
		fmt.Printf("%s  %-18s %s\n", e.Timestamp.Format("15:04:05.000"), e.Type.Description, e.Description)
	}
	// Output:
	// 08:00:14.079  SIM suspension     Status of SIM changed from 'Activated' to 'Suspended'
	// 08:00:16.011  SIM factory test   Status of SIM changed from 'Issued' to 'Factory Test'
	// 08:00:16.014  SIM Assigned       SIM 1923041 assigned to endpoint 12113131
}

// The platform's state machines return exactly the platform's events, or
// a refusal that changes nothing.
func ExamplePlatform_SuspendSIM() {
	p := generator.NewPlatform(generator.NewVirtual(generator.DefaultStart), 1)
	ws, _ := p.NewWorkspace(generator.WorkspaceSpec{Name: "Acme"})
	sim, _ := p.ProvisionSIM(ws, generator.SIMActivated)
	events, _ := p.SuspendSIM(generator.ByUser(ws.Users[0]), sim)
	fmt.Println(events[0].Type.ID, events[0].Description)
	_, err := p.SuspendSIM(generator.ByUser(ws.Users[0]), sim)
	fmt.Println(err)
	// Output:
	// 9 Status of SIM changed from 'Activated' to 'Suspended'
	// SIM 8988303000474714091 is Suspended: cannot suspend
}
