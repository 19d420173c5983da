package server_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/emnify-mock/emnify-mock/generator"
)

// drive moves the virtual clock to each timer the server waits on, until
// cond holds.
func (m *mock) drive(what string, cond func() bool) {
	m.t.Helper()
	for deadline := time.Now().Add(30 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			m.t.Fatalf("timed out driving the clock until %s", what)
		}
		at, ok := m.clock.Next()
		if !ok {
			time.Sleep(time.Millisecond)
			continue
		}
		m.clock.Set(at)
		// Let the woken scenario act and park on its next wait (or end)
		// before cond is looked at again, so the clock does not run past.
		for i := 0; i < 50; i++ {
			if _, ok := m.clock.Next(); ok {
				break
			}
			time.Sleep(time.Millisecond)
		}
	}
}

// nightShift is the built-in suspend-resume in a workspace of its own.
const nightShift = `name: night-shift
description: three machines suspended for the night
workspaces:
  - name: vending
    users: [ops]
    sims:
      - group: machines
        count: 3
        status: activated
        endpoint: {status: enabled}
steps:
  - {do: suspend, target: machines, every: 2s}
  - {do: disable, target: machines, after: 1m, every: 2s}
  - {do: enable, target: machines, at: 11h, every: 2s}
  - {do: activate, target: machines, after: 1m, every: 2s}
`

// TestPlay: a scenario played live appends its events when its clock says,
// not at once; the API works while it waits, and its calls' events fall
// between the scenario's; a reset stops a scenario still playing.
func TestPlay(t *testing.T) {
	m := mustOpen(t)
	start := m.srv.Log().Len()
	var answer struct {
		Events int    `json:"events"`
		Live   bool   `json:"live"`
		Ends   string `json:"ends"`
	}
	json.Unmarshal(m.api("POST", "/mock/scenarios?live=true", nightShift, 202), &answer)
	ends, _ := time.Parse(generator.TimestampLayout, answer.Ends)
	if answer.Events != 12 || !answer.Live || ends.Sub(t0) < 11*time.Hour {
		t.Fatalf("answer %+v", answer)
	}
	// The suspensions are two seconds apart: without the clock moving,
	// the first happens and the player waits on the clock for the next.
	eventually(t, "the player to wait on the clock", func() bool { _, ok := m.clock.Next(); return ok })
	if n := m.srv.Log().Len(); n > start+1 {
		t.Fatalf("%d events before the clock moved", n-start)
	}
	// While the scenario sleeps through the night, the API answers and
	// its event is stamped with the server's clock.
	m.drive("the three disables", func() bool { return m.srv.Log().Len() == start+6 })
	m.clock.Advance(time.Hour)
	ep := m.acme().Endpoints()[0]
	m.api("PATCH", fmt.Sprintf("/api/v1/endpoint/%d/connectivity", ep.ID), `{"location":null}`, 204)
	m.drive("the whole scenario", func() bool { return m.srv.Log().Len() == start+13 })

	events, _ := m.srv.Log().Since(start)
	var types []string
	var last time.Time
	for _, raw := range events {
		var e struct {
			Timestamp string `json:"timestamp"`
			Type      struct {
				ID int `json:"id"`
			} `json:"event_type"`
		}
		json.Unmarshal(raw, &e)
		ts, _ := time.Parse(generator.TimestampLayout, e.Timestamp)
		if ts.Before(last) || ts.Before(t0) {
			t.Errorf("event at %s after one at %s (server started at %s)", ts, last, t0)
		}
		last = ts
		types = append(types, fmt.Sprint(e.Type.ID))
	}
	if got := strings.Join(types, " "); got != "9 9 9 43 43 43 68 42 42 42 8 8 8" {
		t.Errorf("types %s", got)
	}
	if last.Sub(t0) < 11*time.Hour {
		t.Errorf("the morning's activations at %s: the night did not pass", last)
	}

	// A reset stops what is still playing.
	m.api("POST", "/mock/reset", nil, 204)
	m.api("POST", "/mock/scenarios?live=true", nightShift, 202)
	m.drive("the first suspension", func() bool { return m.srv.Log().Len() == start+1 })
	m.api("POST", "/mock/reset", nil, 204) // stops the player at once, under the state's lock
	m.clock.Advance(24 * time.Hour)
	if p := m.players(); len(p) != 2 || p[1].State != "stopped" {
		t.Errorf("players after reset: %+v", p)
	}
	if n := m.srv.Log().Len(); n != start {
		t.Errorf("after reset and a day: %d events more than at start", n-start)
	}
	// A scenario that cannot run is refused at once.
	if res, b := m.call("POST", "/mock/scenarios?live=true", "", "name: x\ndescription: y\nworkspaces: [{name: acme}]\nsteps:\n  - do: suspend\n    target: spare\n"); res.StatusCode != 422 {
		t.Errorf("broken live scenario: %d %s", res.StatusCode, b)
	}
}

// TestPlay_ClockAdvanceBringsTheNextStep: on the wall clock of serve (a
// Shifted clock), POST /mock/clock moves a played scenario on: the night
// passes in an instant.
func TestPlay_ClockAdvanceBringsTheNextStep(t *testing.T) {
	m := mustOpenOn(t, generator.NewShifted(-72*time.Hour))
	start := m.srv.Log().Len()
	m.api("POST", "/mock/scenarios?live=true", nightShift, 202)
	for deadline := time.Now().Add(30 * time.Second); m.srv.Log().Len() < start+12; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d of 12 events after advancing the clock for 5s", m.srv.Log().Len()-start)
		}
		m.api("POST", "/mock/clock", `{"advance":"1h"}`, 200)
	}
}

// hourly is the stalled scenario: ten meters suspended every hour
// for a day, each back 30 minutes later.
const hourly = `name: hourly
description: ten meters suspended every hour, back after 30 minutes
workspaces:
  - name: meters-inc
    users: [ops]
    sims:
      - group: meters
        count: 10
        status: activated
        endpoint: {status: enabled}
steps:
  - for: 1d
    every: 1h
    steps:
      - {do: suspend, target: meters}
      - {do: activate, target: meters, after: 30m}
`

type playerState struct {
	ID     int
	State  string
	Events int
	Error  string
}

func (m *mock) players() []playerState {
	var out []playerState
	json.Unmarshal(m.api("GET", "/mock/scenarios", nil, 200), &out)
	return out
}

func (m *mock) allFinished() bool {
	for _, p := range m.players() {
		if p.State != "finished" {
			return false
		}
	}
	return true
}

// TestPlay_LongGapsOnTheVirtualClock: hour-long gaps over a day play
// every event, as short ones do.
func TestPlay_LongGapsOnTheVirtualClock(t *testing.T) {
	m := mustOpen(t)
	start := m.srv.Log().Len()
	var planned struct{ Events int }
	json.Unmarshal(m.api("POST", "/mock/scenarios?live=true", hourly, 202), &planned)
	if planned.Events < 200 {
		t.Fatalf("the scenario plans %d events", planned.Events)
	}
	m.drive("the scenario finishes", m.allFinished)
	if p := m.players(); len(p) != 1 || p[0].Events != planned.Events || m.srv.Log().Len()-start != planned.Events {
		t.Fatalf("played %+v, log grew by %d, planned %d", p, m.srv.Log().Len()-start, planned.Events)
	}
}

// TestPlay_LongGapsWithClockJumps: on serve's clock, POST /mock/clock
// jumps of 45 minutes bring every step of the day, none left behind.
func TestPlay_LongGapsWithClockJumps(t *testing.T) {
	m := mustOpenOn(t, generator.NewShifted(-72*time.Hour))
	start := m.srv.Log().Len()
	var planned struct{ Events int }
	json.Unmarshal(m.api("POST", "/mock/scenarios?live=true", hourly, 202), &planned)
	for i := 0; !m.allFinished(); i++ {
		if i > 200 { // 32 jumps cover the day; the rest is slack for a slow machine
			t.Fatalf("not finished after %d jumps: %+v", i, m.players())
		}
		var now struct{ Now string }
		json.Unmarshal(m.api("POST", "/mock/clock", `{"advance":"45m"}`, 200), &now)
		// Wait until the woken player has acted and waits again (its next
		// step lies ahead of the clock), so each jump is a jump of its own.
		eventually(t, "the player to wait again", func() bool {
			var p []struct {
				State      string
				NextStepAt string `json:"next_step_at"`
			}
			json.Unmarshal(m.api("GET", "/mock/scenarios", nil, 200), &p)
			return p[0].State != "running" || p[0].NextStepAt > now.Now
		})
	}
	if got := m.srv.Log().Len() - start; got != planned.Events {
		t.Fatalf("the log grew by %d events, the scenario plans %d", got, planned.Events)
	}
	raw, _ := m.srv.Log().Since(start)
	var last int64
	for _, b := range raw {
		var e struct{ ID int64 }
		json.Unmarshal(b, &e)
		if e.ID <= last {
			t.Fatalf("id %d after %d: the log is out of id order", e.ID, last)
		}
		last = e.ID
	}
}

// TestPlay_SameGroupNames: five live scenarios that each declare a group
// "meters" act on their own members, and all finish.
func TestPlay_SameGroupNames(t *testing.T) {
	m := mustOpen(t)
	const sc = `name: meters
description: two meters of acme suspended and back
workspaces:
  - name: acme
    sims:
      - group: meters
        count: 2
        status: activated
steps:
  - {do: suspend, target: meters, after: 1m}
  - {do: activate, target: meters, after: 1m}
`
	for range 5 {
		m.api("POST", "/mock/scenarios?live=true", sc, 202)
	}
	m.drive("five scenarios finish", m.allFinished)
	for _, p := range m.players() {
		if p.Events != 4 || p.Error != "" {
			t.Errorf("player %+v", p)
		}
	}
}
