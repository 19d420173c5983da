package generator_test

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/emnify-mock/emnify-mock/generator"
)

// TestWorld_Clone: a copy continues exactly as the original would, and
// acting on it leaves the original alone.
func TestWorld_Clone(t *testing.T) {
	plan := churnPlan()
	w := generator.NewWorld(t0, 9)
	if _, err := w.Run(plan, nil); err != nil {
		t.Fatal(err)
	}
	snap := w.Clone()
	ws := w.Workspaces["w"]
	sims, eps := len(ws.SIMs()), len(ws.Endpoints())
	var a, b bytes.Buffer
	collect := func(buf *bytes.Buffer) func(generator.Event) error {
		return func(e generator.Event) error { buf.Write(e.AppendJSON(nil)); buf.WriteByte('\n'); return nil }
	}
	next := churnPlan()
	next.Workspaces = nil // run on the workspaces the first plan made
	if _, err := snap.Run(next, collect(&b)); err != nil {
		t.Fatal(err)
	}
	if len(ws.SIMs()) != sims || len(ws.Endpoints()) != eps {
		t.Fatal("running on the copy changed the original")
	}
	if _, err := w.Run(next, collect(&a)); err != nil {
		t.Fatal(err)
	}
	if a.Len() == 0 || !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Fatalf("the copy and the original went different ways (%d and %d bytes)", a.Len(), b.Len())
	}
}

// churnPlan is a small plan with every kind of entity and random picks.
func churnPlan() *generator.Plan {
	return &generator.Plan{
		Workspaces: []generator.WorkspacePlan{{Key: "w", Groups: []generator.GroupPlan{
			{Name: "s", Kind: generator.GroupSIMs, Count: 20, Status: generator.SIMActivated, Endpoint: &generator.EndpointTemplate{IMEI: true}, EndpointGroup: "e"},
			{Name: "free", Kind: generator.GroupSIMs, Count: 5},
			{Name: "b", Kind: generator.GroupBatches, Count: 3, BatchSize: 2},
		}}, {Key: "v"}},
		Steps: []generator.Step{{Repeat: 200, Every: 1000e6, Steps: []generator.Step{{Choose: []generator.Choice{
			pick(3, generator.ActSuspend, "s"),
			pick(3, generator.ActActivate, "s"),
			pick(2, generator.ActRelease, "e"),
			pick(1, generator.ActRegister, "b"),
			pick(1, generator.ActDelete, "s"),
			{Weight: 2, Step: generator.Step{Action: generator.ActAssign, Target: generator.Target{Group: "e", Pick: 1}, SIMs: generator.Target{Group: "free"}}},
			{Weight: 1, Step: generator.Step{Action: generator.ActMigrate, Target: generator.Target{Group: "s", Pick: 1}, To: "v", AutoDetach: true}},
		}}}}},
	}
}

func pick(weight int, a generator.Action, group string) generator.Choice {
	return generator.Choice{Weight: weight, Step: generator.Step{Action: a, Target: generator.Target{Group: group, Pick: 1}}}
}

// TestWorld_RunPaced: a pace that only watches changes nothing, and sees
// every wait of the plan; a pace that lets more time pass stamps what
// follows later; an error from the pace stops the run.
func TestWorld_RunPaced(t *testing.T) {
	var a, b bytes.Buffer
	collect := func(buf *bytes.Buffer) func(generator.Event) error {
		return func(e generator.Event) error { buf.Write(e.AppendJSON(nil)); buf.WriteByte('\n'); return nil }
	}
	sum, err := generator.NewWorld(t0, 9).Run(churnPlan(), collect(&a))
	if err != nil {
		t.Fatal(err)
	}
	var paced time.Duration
	if _, err := generator.NewWorld(t0, 9).RunPaced(churnPlan(), collect(&b), func(d time.Duration) error { paced += d; return nil }); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Error("a pace that only watches changed the events")
	}
	if paced != sum.End.Sub(sum.Start) {
		t.Errorf("paced %s, the run took %s of its clock", paced, sum.End.Sub(sum.Start))
	}

	w := generator.NewWorld(t0, 9)
	var last time.Time
	slow, err := w.RunPaced(churnPlan(), func(e generator.Event) error {
		if e.Timestamp.Before(last) {
			t.Fatalf("event at %s after one at %s", e.Timestamp, last)
		}
		last = e.Timestamp
		return nil
	}, func(d time.Duration) error { w.Clock.Advance(d + time.Second); return nil })
	if err != nil || slow.End.Sub(slow.Start) < 2*sum.End.Sub(sum.Start) {
		t.Errorf("a pace of a second more per wait: %v, run took %s", err, slow.End.Sub(slow.Start))
	}

	calls := 0
	stop := errors.New("stopped")
	if _, err := generator.NewWorld(t0, 9).RunPaced(churnPlan(), nil, func(time.Duration) error {
		if calls++; calls == 5 {
			return stop
		}
		return nil
	}); !errors.Is(err, stop) || calls != 5 {
		t.Errorf("pace error: %v after %d calls", err, calls)
	}
}
