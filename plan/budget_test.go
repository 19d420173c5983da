package plan

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/emnify-mock/emnify-mock/generator"
)

// flipFlop: five Activated SIMs suspended, then activated: 10 events.
func flipFlop(max int) *Plan {
	return &Plan{MaxEvents: max,
		Workspaces: []WorkspacePlan{{Key: "w", Groups: []GroupPlan{{Pos: "f:5:9", Name: "s", Kind: GroupSIMs, Count: 5, Status: generator.SIMActivated}}}},
		Steps: []Step{
			{Pos: "f:8:5", Action: ActSuspend, Target: Target{Group: "s"}},
			{Pos: "f:10:5", Action: ActActivate, Target: Target{Group: "s"}},
		}}
}

// TestBudget_Boundary: a plan that makes exactly its budget runs; one
// event over is refused at the step that crosses it, before anything is
// provisioned, and the world stays empty.
func TestBudget_Boundary(t *testing.T) {
	w := NewWorld(time.Date(2025, 1, 6, 8, 0, 0, 0, time.UTC), 1)
	sum, err := w.DryRun(flipFlop(10))
	if err != nil || sum.Events != 10 {
		t.Fatalf("budget 10: %d events, %v; want 10, nil", sum.Events, err)
	}
	_, err = w.Run(flipFlop(9), nil)
	var pe *Error
	if !errors.As(err, &pe) || pe.Pos != "f:10:5" || !strings.Contains(pe.What, "more than 9 events (up to 10 by the end of this step)") {
		t.Fatalf("budget 9: %v, want a refusal at f:10:5", err)
	}
	if n := len(w.Platform.Workspaces()); n != 0 {
		t.Errorf("a refused plan left %d workspaces", n)
	}
	big := flipFlop(0)
	big.Workspaces[0].Groups[0].Count = DefaultMaxEvents + 1
	if _, err := w.DryRun(big); !errors.As(err, &pe) || pe.Pos != "f:5:9" {
		t.Errorf("a group over the default budget: %v, want a refusal at f:5:9", err)
	}
}

// TestBudget_CountedWhileRunning: what the bound before the run did not
// foresee is caught by the count while it runs. The bound is made blind to
// suspensions here, as an error in its table would make it.
func TestBudget_CountedWhileRunning(t *testing.T) {
	saved := eventsPer[ActSuspend]
	eventsPer[ActSuspend] = 0
	defer func() { eventsPer[ActSuspend] = saved }()
	w := NewWorld(time.Date(2025, 1, 6, 8, 0, 0, 0, time.UTC), 1)
	_, err := w.DryRun(flipFlop(7))
	var pe *Error
	if !errors.As(err, &pe) || pe.Pos != "f:10:5" || !strings.Contains(pe.What, "more than 7 events") {
		t.Fatalf("%v, want a refusal at f:10:5 when the 8th event is made", err)
	}
}
