package scenarios_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/emnify-mock/emnify-mock/plan"
	"github.com/emnify-mock/emnify-mock/scenarios"
)

// broken holds the exact message for each broken
// scenario under testdata/broken: what is wrong, where, and what was
// expected. Parse errors are *scenarios.Error; steps the platform refuses
// are found by the dry run and are *plan.Error.
var broken = []struct{ file, want string }{
	{"assign-missing-sims", "assign-missing-sims.yaml:20:5: assign is missing \"sims\"; expected \"sims\" (see scenarios/README.md)"},
	{"at-before-clock", "at-before-clock.yaml:23:5: at 1h is earlier than the scenario's clock (2h after the start); expected steps in time order; use after to place a step relative to the one before"},
	{"bad-ip-space", "bad-ip-space.yaml:7:15: ip-space \"8.8.8.0/24\" is not usable; expected a private IPv4 CIDR from /8 to /30, such as 10.191.216.0/24"},
	{"bad-sim-status", "bad-sim-status.yaml:10:17: unknown status \"active\"; expected one of activated, factory-test, issued, suspended"},
	{"bad-start", "bad-start.yaml:3:8: malformed instant \"tomorrow\" for start; expected an RFC 3339 instant such as 2025-01-06T08:00:00Z"},
	{"bad-weight", "bad-weight.yaml:21:18: weight 0 is out of range; expected a whole number from 1 to 1000000"},
	{"count-not-a-number", "count-not-a-number.yaml:9:16: count is \"three\"; expected a whole number from 1 to 100000"},
	{"count-zero", "count-zero.yaml:9:16: count 0 is out of range; expected a whole number from 1 to 100000"},
	{"do-and-repeat", "do-and-repeat.yaml:21:5: the step has both \"do\" and \"repeat\"; expected one of \"do\", \"repeat\", \"for\" or \"choose\" per step"},
	{"duplicate-group", "duplicate-group.yaml:14:16: group \"trackers\" is declared twice; expected a name no other group has"},
	{"duration-without-unit", "duration-without-unit.yaml:22:12: malformed duration \"5\" for after; expected a duration such as 90s, 10m, 1h30m or 2d"},
	{"empty-file", "empty-file.yaml:1:1: the file holds no scenario; expected a mapping with name, description, workspaces and steps"},
	{"empty-steps", "empty-steps.yaml:19:8: steps is empty; expected at least one step"},
	{"expectation-not-met", "expectation-not-met.yaml:23:3: the scenario produced no SIM deletion (10) event; expected every type under expect.types to occur"},
	{"expected-count-wrong", "expected-count-wrong.yaml:23:3: the scenario produced 3 events; expected 4 (expect.count)"},
	{"for-without-every", "for-without-every.yaml:20:5: for without every would never end; expected every: a duration greater than 0s"},
	{"illegal-activate-unregistered", "illegal-activate-unregistered.yaml:20:5: activate delivery: delivery has no members of that kind yet (a batch group has SIMs once registered); expected an Issued, Suspended or Factory Test SIM"},
	{"illegal-delete-attached", "illegal-delete-attached.yaml:22:5: delete trackers[0]: SIM 8988303000474714091 is assigned to endpoint 12357907: cannot delete; expected a SIM that no endpoint holds (release it first)"},
	{"illegal-enable-without-sim", "illegal-enable-without-sim.yaml:24:5: enable devices[1]: endpoint 12357908 has no SIM: cannot enable; expected a Disabled endpoint that holds a SIM"},
	{"illegal-migrate-attached", "illegal-migrate-attached.yaml:22:5: migrate trackers: SIM 8988303000474714091 is assigned to endpoint 12357907 (and 2 SIMs more): cannot migrate without auto-detach; expected SIMs of one workspace, by a user, with auto-detach: true for SIMs in endpoints"},
	{"illegal-migrate-by-token", "illegal-migrate-by-token.yaml:21:5: migrate stock: SIM migration without user credentials: cannot start; expected SIMs of one workspace, by a user, with auto-detach: true for SIMs in endpoints"},
	{"illegal-register-twice", "illegal-register-twice.yaml:22:5: register delivery: SIM batch EDJY-M5HY-98HP is already registered: cannot register; expected a SIM batch that is not registered yet"},
	{"illegal-suspend-issued", "illegal-suspend-issued.yaml:20:5: suspend stock: SIM 8988303000474714094 is Issued: cannot suspend; expected an Activated SIM"},
	{"index-out-of-range", "index-out-of-range.yaml:20:5: suspend trackers[5]: trackers has 3 members, the step selects [5:6]; expected an Activated SIM"},
	{"key-for-another-action", "key-for-another-action.yaml:22:5: key \"data\" does not apply to suspend; expected it only with report-usage"},
	{"malformed-duration", "malformed-duration.yaml:22:12: malformed duration \"ten minutes\" for every; expected a duration such as 90s, 10m, 1h30m or 2d"},
	{"malformed-target", "malformed-target.yaml:21:13: malformed target \"trackers[first]\"; expected a group name, group[i] or group[i:j]"},
	{"migrate-missing-to", "migrate-missing-to.yaml:20:5: migrate is missing \"to\"; expected \"to\" (see scenarios/README.md)"},
	{"missing-name", "missing-name.yaml:1:1: the scenario is missing \"name\"; expected \"name\" (see scenarios/README.md)"},
	{"missing-steps", "missing-steps.yaml:1:1: the scenario is missing \"steps\"; expected \"steps\" (see scenarios/README.md)"},
	{"missing-target", "missing-target.yaml:20:5: suspend is missing \"target\"; expected \"target\" (see scenarios/README.md)"},
	{"negative-duration", "negative-duration.yaml:22:12: negative duration \"-5m\" for after; expected a duration of 0s or more"},
	{"not-a-mapping", "not-a-mapping.yaml:1:1: the scenario is a list; expected a mapping of name, description, start, workspaces, steps, expect"},
	{"pick-on-one-member", "pick-on-one-member.yaml:22:5: pick on the single member trackers[0]; expected pick on a group or a range of it"},
	{"register-a-sim-group", "register-a-sim-group.yaml:21:13: register acts on SIM batches, and stock is not a batch group; expected a group declared under batches"},
	{"syntax-error", "syntax-error.yaml:20:1: YAML syntax error: did not find expected ',' or ']'; expected valid YAML"},
	{"tab-indent", "tab-indent.yaml:20:1: YAML syntax error: found character that cannot start any token; expected valid YAML"},
	{"two-documents", "two-documents.yaml:22:1: a second YAML document; expected one scenario per file"},
	{"unknown-action", "unknown-action.yaml:20:9: unknown action \"suspnd\"; expected one of activate, assign, create-endpoint, delete, delete-endpoint, disable, enable, factory-test, migrate, register, release, report-usage, reset-connectivity, send-sms, suspend"},
	{"unknown-actor", "unknown-actor.yaml:22:9: no user or token is named \"bob\"; expected a user or token of a workspace, or platform"},
	{"unknown-event-type", "unknown-event-type.yaml:23:11: unknown event type \"sim-suspended\"; expected an event type id such as 8 or a name such as sim-activation"},
	{"unknown-group", "unknown-group.yaml:21:13: unknown group \"trakers\"; expected one of the groups declared so far: delivery, devices, stock, trackers"},
	{"budget-huge-batches", "budget-huge-batches.yaml:6:9: group crates: the scenario's groups provision 1000000000 SIMs and endpoints, more than 2000000; expected at most 2000000 events and entities per run (fewer repeats or members, or a larger budget: --max-scenario-events)"},
	{"budget-nested-repeats", "budget-nested-repeats.yaml:10:5: this scenario makes more than 2000000 events (up to 1000000000000000000 by the end of this step); expected at most 2000000 events and entities per run (fewer repeats or members, or a larger budget: --max-scenario-events)"},
	{"budget-three-million", "budget-three-million.yaml:10:5: this scenario makes more than 2000000 events (up to 3000000 by the end of this step); expected at most 2000000 events and entities per run (fewer repeats or members, or a larger budget: --max-scenario-events)"},
	{"unknown-step-key", "unknown-step-key.yaml:22:5: unknown key \"delay\" in a step; expected one of do, target, as, pick, at, after, every, jitter, repeat, for, steps, choose, activate, auto-detach, count, data, endpoint, factory-test, into, payload, sims, sms, status, to, workspace"},
	{"unknown-target-workspace", "unknown-target-workspace.yaml:22:9: unknown workspace \"staging\"; expected one of the workspaces: prod"},
	{"unknown-top-key", "unknown-top-key.yaml:3:1: unknown key \"seeds\" in the scenario; expected one of name, description, start, workspaces, steps, expect"},
	{"unknown-workspace-key", "unknown-workspace-key.yaml:6:5: unknown key \"region\" in a workspace; expected one of name, organisation, users, tokens, ip-space, factory-test, sims, endpoints, batches"},
	{"weight-outside-choose", "weight-outside-choose.yaml:22:5: weight outside choose; expected weight only on the alternatives listed under choose"},
	{"workspace-twice", "workspace-twice.yaml:19:11: workspace \"prod\" is declared twice; expected a name no other workspace has"},
}

func TestCheck_BrokenScenarios(t *testing.T) {
	for _, tc := range broken {
		t.Run(tc.file, func(t *testing.T) {
			src, err := os.ReadFile(filepath.Join("testdata", "broken", tc.file+".yaml"))
			if err != nil {
				t.Fatal(err)
			}
			_, _, err = scenarios.Check(tc.file+".yaml", src, 1, 0)
			if err == nil {
				t.Fatal("accepted")
			}
			if got := err.Error(); got != tc.want {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
			var se *scenarios.Error
			var pe *plan.Error
			if !errors.As(err, &se) && !errors.As(err, &pe) {
				t.Errorf("error is %T, want *scenarios.Error or *plan.Error", err)
			}
		})
	}
}

func TestCheck_EveryBrokenFileHasAnExpectation(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("testdata", "broken", "*.yaml"))
	if len(files) < 25 {
		t.Fatalf("%d broken scenarios, want at least 25", len(files))
	}
	listed := map[string]bool{}
	for _, tc := range broken {
		listed[tc.file+".yaml"] = true
	}
	for _, f := range files {
		if !listed[filepath.Base(f)] {
			t.Errorf("%s has no expected message in the broken table", f)
		}
	}
}
