package scenarios_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emnify-mock/emnify-mock/fixtures"
	"github.com/emnify-mock/emnify-mock/generator"
	"github.com/emnify-mock/emnify-mock/plan"
	"github.com/emnify-mock/emnify-mock/scenarios"
)

func mustRun(t *testing.T, name string, seed uint64) ([]generator.Event, []byte) {
	t.Helper()
	sc, err := scenarios.Load(name)
	if err != nil {
		t.Fatal(err)
	}
	var events []generator.Event
	var raw []byte
	if _, err := sc.Run(seed, func(e generator.Event) error {
		events = append(events, e)
		raw = append(e.AppendJSON(raw), '\n')
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return events, raw
}

func typeSeq(events []generator.Event) string {
	var s []string
	for _, e := range events {
		s = append(s, fmt.Sprint(e.Type.ID))
	}
	return strings.Join(s, " ")
}

// TestLibrary runs every built-in scenario and checks, independently of
// the scenario's own expect block, the sequence of event types, who acted,
// and that every event has the docs' shape.
func TestLibrary(t *testing.T) {
	for _, tc := range []struct {
		name  string
		types string // exact sequence; "" checks the set below instead
		set   []int
		user  string // "yes": API events name a user, "no": by token, "": mixed
	}{
		{"factory-test-activation", strings.Repeat("45 ", 10) + strings.TrimSpace(strings.Repeat("8 ", 10)), nil, "yes"},
		{"factory-test-sms", strings.Repeat("45 ", 5) + strings.TrimSpace(strings.Repeat("8 ", 5)), nil, ""},
		{"onboarding", "48 51 51 51 51 51 8 8 8 8 8 42 42 42 42 42", nil, "yes"},
		{"onboarding-app-token", "48 51 51 51 51 51 8 8 8 8 8 42 42 42 42 42", nil, "no"},
		{"suspend-resume", "9 9 9 43 43 43 42 42 42 8 8 8", nil, "yes"},
		{"decommission", "9 9 43 43 50 50 10 10", nil, "yes"},
		{"decommission-app-token", "9 9 43 43 50 50 10 10", nil, "no"},
		{"reset-connectivity", "68 68 68 68", nil, ""},
		{"migration", "9 50 9 50 69 69", nil, "yes"},
		{"fleet-churn", "", []int{8, 9, 10, 42, 43, 45, 48, 50, 51, 68, 69}, ""},
		{"serve-default", "", []int{8, 9, 10, 42, 43, 45, 48, 50, 68, 69}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			events, _ := mustRun(t, tc.name, 1)
			if tc.types != "" {
				if got := typeSeq(events); got != tc.types {
					t.Errorf("types %s, want %s", got, tc.types)
				}
			}
			seen := map[int]bool{}
			for i, e := range events {
				seen[e.Type.ID] = true
				b := e.AppendJSON(nil)
				if err := fixtures.Conforms(b); err != nil {
					t.Fatalf("event %d: %v\n%s", i, err, b)
				}
				if tc.user != "" && e.Source.ID == 2 && (e.User != nil) != (tc.user == "yes") {
					t.Errorf("event %d names a user: %v, want %s", i, e.User != nil, tc.user)
				}
			}
			for _, typ := range tc.set {
				if !seen[typ] {
					t.Errorf("no event of type %d", typ)
				}
			}
		})
	}
}

func TestLibrary_EveryBuiltinIsTested(t *testing.T) {
	for _, name := range scenarios.Names() {
		sc, err := scenarios.Load(name)
		if err != nil {
			t.Fatal(err)
		}
		if sc.Name != name {
			t.Errorf("%s.yaml says its name is %q", name, sc.Name)
		}
		if len(sc.Description) < 20 {
			t.Errorf("%s: description %q is too short to help", name, sc.Description)
		}
	}
	if got := len(scenarios.Names()); got != 11 {
		t.Errorf("%d built-ins; TestLibrary covers 11, add the new one there", got)
	}
}

func TestFactoryTestActivation_PolicyControl(t *testing.T) {
	events, _ := mustRun(t, "factory-test-activation", 1)
	for _, e := range events[10:] {
		if e.Source.ID != 1 || e.User != nil || !json.Valid(e.Detail) || !bytes.Contains(e.Detail, []byte(`"FACTORY TEST"`)) {
			t.Fatalf("want a Policy Control activation with the transition detail, got %s", e.AppendJSON(nil))
		}
	}
}

func TestMigration_PairSharesIDAcrossWorkspaces(t *testing.T) {
	events, _ := mustRun(t, "migration", 1)
	src, dst := events[4], events[5]
	if src.ID != dst.ID || src.Organisation.ID == dst.Organisation.ID || dst.Timestamp.Sub(src.Timestamp).Seconds() != 1 {
		t.Fatalf("source %d in %d at %s, target %d in %d at %s: want one id, two workspaces, a second apart",
			src.ID, src.Organisation.ID, src.Timestamp, dst.ID, dst.Organisation.ID, dst.Timestamp)
	}
}

func TestRun_SameSeedSameBytes(t *testing.T) {
	_, a := mustRun(t, "fleet-churn", 5)
	_, b := mustRun(t, "fleet-churn", 5)
	_, c := mustRun(t, "fleet-churn", 6)
	if !bytes.Equal(a, b) {
		t.Error("seed 5 gave two different streams")
	}
	if bytes.Equal(a, c) {
		t.Error("seeds 5 and 6 gave the same stream")
	}
}

// TestLibrary_RunsOnTheServedWorld: every built-in also runs on the world
// `serve` starts with, whose workspaces (acme, production) and group names
// several built-ins name again: they add their groups, users and tokens to
// the existing workspace, and their group names mean their own groups.
func TestLibrary_RunsOnTheServedWorld(t *testing.T) {
	base, err := scenarios.Load("serve-default")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range scenarios.Names() {
		if name == "serve-default" {
			continue
		}
		t.Run(name, func(t *testing.T) {
			world := plan.NewWorld(generator.DefaultStart, 1)
			if _, err := world.Run(base.Plan, nil); err != nil {
				t.Fatal(err)
			}
			src, _ := scenarios.Builtin(name)
			sc, err := scenarios.ParseFor(name+".yaml", src, world)
			if err != nil {
				t.Fatal(err)
			}
			alone, _ := mustRun(t, name, 1)
			var got []generator.Event
			if _, err := world.Run(sc.Plan, func(e generator.Event) error { got = append(got, e); return nil }); err != nil {
				t.Fatal(err)
			}
			// The run checked the scenario's expect block; a scenario with
			// an exact sequence also gives the same types as alone.
			if len(got) == 0 || (sc.Plan.Expect != nil && sc.Plan.Expect.Sequence != nil && typeSeq(got) != typeSeq(alone)) {
				t.Errorf("on the served world: %s\nalone: %s", typeSeq(got), typeSeq(alone))
			}
		})
	}
}

// TestHistory: later scenarios may name the workspaces and groups of
// earlier ones, the budget holds each, and a name that is neither a file
// nor a built-in says what the built-ins are.
func TestHistory(t *testing.T) {
	later := filepath.Join(t.TempDir(), "later.yaml")
	os.WriteFile(later, []byte("name: later\ndescription: acts on serve's default workspace\nworkspaces: [{name: acme}]\nsteps:\n  - do: suspend\n    target: fleet\n    pick: 2\n"), 0o644)
	clock := generator.NewVirtual(time.Date(2025, 1, 6, 8, 0, 0, 0, time.UTC))
	world, history, err := scenarios.History(clock, 1, 0, "serve-default", later)
	if err != nil {
		t.Fatal(err)
	}
	if last := history[len(history)-2:]; last[0].Type.ID != 9 || last[1].Type.ID != 9 || world.Workspaces["acme"] == nil {
		t.Errorf("the later scenario did not suspend two of acme's fleet: %v", last)
	}
	if _, _, err := scenarios.History(clock, 1, 5, "serve-default"); err == nil {
		t.Error("a budget of 5 events let serve-default run")
	}
	if _, _, err := scenarios.Source("no-such-scenario"); err == nil || !strings.Contains(err.Error(), "onboarding") {
		t.Errorf("unknown scenario: %v", err)
	}
}
