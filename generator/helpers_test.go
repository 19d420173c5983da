package generator_test

import (
	"testing"
	"time"

	"github.com/emnify-mock/emnify-mock/generator"
)

var t0 = time.Date(2025, 1, 23, 8, 46, 32, 0, time.UTC)

// world is a platform with two workspaces on a virtual clock.
type world struct {
	p      *generator.Platform
	clk    *generator.Virtual
	w1, w2 *generator.Workspace
	user   generator.Actor
	token  generator.Actor
}

func mustWorld(tb testing.TB, seed uint64) *world {
	tb.Helper()
	clk := generator.NewVirtual(t0)
	p := generator.NewPlatform(clk, seed)
	w1, err := p.NewWorkspace(generator.WorkspaceSpec{Name: "Example Workspace 1"})
	if err != nil {
		tb.Fatal(err)
	}
	w2, err := p.NewWorkspace(generator.WorkspaceSpec{Name: "Example Workspace 2"})
	if err != nil {
		tb.Fatal(err)
	}
	p.SamePerson(w2.Users[0], w1.Users[0]) // may migrate from one to the other
	return &world{p: p, clk: clk, w1: w1, w2: w2, user: generator.ByUser(w1.Users[0]), token: generator.ByToken(w1.Tokens[0])}
}

func (w *world) sim(tb testing.TB, status generator.SIMStatus) *generator.SIM {
	tb.Helper()
	s, err := w.p.ProvisionSIM(w.w1, status)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// endpoint provisions an endpoint holding s (nil: none), with an IMEI when
// imei is set.
func (w *world) endpoint(tb testing.TB, s *generator.SIM, status generator.EndpointStatus, imei bool) *generator.Endpoint {
	tb.Helper()
	spec := generator.EndpointSpec{SIM: s, Status: status}
	if imei {
		spec.IMEI = w.p.IDs.IMEISV()
	}
	ep, err := w.p.ProvisionEndpoint(w.w1, spec)
	if err != nil {
		tb.Fatal(err)
	}
	return ep
}

// ok fails the test when an action is refused: ok(t)(p.ActivateSIM(a, s)).
func ok(tb testing.TB) func([]generator.Event, error) []generator.Event {
	return func(events []generator.Event, err error) []generator.Event {
		tb.Helper()
		if err != nil {
			tb.Fatal(err)
		}
		return events
	}
}
