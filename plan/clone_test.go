package plan_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/emnify-mock/emnify-mock/generator"
	"github.com/emnify-mock/emnify-mock/plan"
)

// TestWorld_Clone: a copy is the same world, continues exactly as the
// original would, and acting on it leaves the original alone.
func TestWorld_Clone(t *testing.T) {
	first := churnPlan()
	w := plan.NewWorld(t0, 9)
	if _, err := w.Run(first, nil); err != nil {
		t.Fatal(err)
	}
	snap := w.Clone()
	before := dump(w)
	if got := dump(snap); got != before {
		t.Fatalf("the copy differs from the original:\n%s\n%s", got, before)
	}
	var a, b bytes.Buffer
	next := churnPlan()
	next.Workspaces = nil // run on the workspaces the first plan made
	if _, err := snap.DryRun(next); err != nil {
		t.Fatal(err)
	}
	// Both on the same clock instant: the copy first, undone, then each.
	if _, err := snap.Platform.DryRun(func() ([]generator.Event, error) {
		_, err := snap.Run(next, collect(&b))
		return nil, err
	}); err != nil {
		t.Fatal(err)
	}
	if dump(w) != before {
		t.Fatal("running on the copy changed the original")
	}
	if _, err := w.Run(next, collect(&a)); err != nil {
		t.Fatal(err)
	}
	if a.Len() == 0 || !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Fatalf("the copy and the original went different ways (%d and %d bytes)", a.Len(), b.Len())
	}
}

func collect(buf *bytes.Buffer) func(generator.Event) error {
	return func(e generator.Event) error { buf.Write(e.AppendJSON(nil)); buf.WriteByte('\n'); return nil }
}

// churnPlan is a small plan with every kind of entity and random picks.
func churnPlan() *plan.Plan {
	return &plan.Plan{
		Workspaces: []plan.WorkspacePlan{{Key: "w", Groups: []plan.GroupPlan{
			{Name: "s", Kind: plan.GroupSIMs, Count: 20, Status: generator.SIMActivated, Endpoint: &plan.EndpointTemplate{IMEI: true}, EndpointGroup: "e"},
			{Name: "free", Kind: plan.GroupSIMs, Count: 5},
			{Name: "b", Kind: plan.GroupBatches, Count: 3, BatchSize: 2},
		}}, {Key: "v"}},
		Steps: []plan.Step{{Repeat: 200, Every: 1000e6, Steps: []plan.Step{{Choose: []plan.Choice{
			pick(3, plan.ActSuspend, "s"),
			pick(3, plan.ActActivate, "s"),
			pick(2, plan.ActRelease, "e"),
			pick(1, plan.ActRegister, "b"),
			pick(1, plan.ActDelete, "s"),
			{Weight: 2, Step: plan.Step{Action: plan.ActAssign, Target: plan.Target{Group: "e", Pick: 1}, SIMs: plan.Target{Group: "free"}}},
			{Weight: 1, Step: plan.Step{Action: plan.ActMigrate, Target: plan.Target{Group: "s", Pick: 1}, To: "v", AutoDetach: true}},
		}}}}},
	}
}

func pick(weight int, a plan.Action, group string) plan.Choice {
	return plan.Choice{Weight: weight, Step: plan.Step{Action: a, Target: plan.Target{Group: group, Pick: 1}}}
}

// TestPlayer: a plan played in segments, each its own change, makes as
// many events as the same plan run at once, in id order; its waits add up
// to the plan's span; a stopped player ends between segments.
func TestPlayer(t *testing.T) {
	sum, err := plan.NewWorld(t0, 9).DryRun(churnPlan())
	if err != nil {
		t.Fatal(err)
	}
	w := plan.NewWorld(t0, 9)
	clk := w.Clock().(*generator.Virtual)
	pl := w.Play(churnPlan())
	var events []generator.Event
	var waited time.Duration
	for {
		ev, wait, done, err := pl.Step()
		if err != nil {
			t.Fatal(err)
		}
		events = append(events, ev...)
		if done {
			break
		}
		waited += wait
		clk.Advance(wait)
	}
	if len(events) != sum.Events {
		t.Errorf("played %d events, the run makes %d", len(events), sum.Events)
	}
	for i := 1; i < len(events); i++ {
		if events[i].ID <= events[i-1].ID && events[i].EventType() != generator.TypeSIMMigration {
			t.Fatalf("event %d has id %d after %d", i, events[i].ID, events[i-1].ID)
		}
	}
	if waited != sum.End.Sub(sum.Start) {
		t.Errorf("waited %s, the plan spans %s", waited, sum.End.Sub(sum.Start))
	}

	pl = plan.NewWorld(t0, 9).Play(churnPlan())
	for range 3 {
		if _, _, done, err := pl.Step(); done || err != nil {
			t.Fatalf("step: done %v, %v", done, err)
		}
	}
	pl.Stop()
	if _, _, done, _ := pl.Step(); !done {
		t.Error("a stopped player goes on")
	}
}
