package server_test

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emnify-mock/emnify-mock/plan"
	"github.com/emnify-mock/emnify-mock/server"
)

func TestControlAPI_ScenarioSnapshotReset(t *testing.T) {
	m := mustOpen(t)
	start := m.srv.Log().Len()
	var ws []struct {
		Name      string   `json:"name"`
		AppTokens []string `json:"application_tokens"`
	}
	json.Unmarshal(m.api("GET", "/mock/workspaces", nil, 200), &ws)
	if len(ws) != 2 || len(ws[0].AppTokens) != 1 || ws[0].AppTokens[0] != testToken {
		t.Fatalf("workspaces %+v", ws)
	}

	snap := m.api("POST", "/mock/snapshots", nil, 201)
	// A broken scenario changes nothing.
	res, b := m.call("POST", "/mock/scenarios", "", "name: x\ndescription: y\nworkspaces: [{name: acme}]\nsteps:\n  - do: suspend\n    target: spare\n")
	if res.StatusCode != 422 || !strings.Contains(string(b), "is Issued: cannot suspend") || m.srv.Log().Len() != start {
		t.Fatalf("broken scenario: %d %s; log %d → %d", res.StatusCode, b, start, m.srv.Log().Len())
	}
	// The built-in migration scenario acts on the production workspace the
	// server has, and brings a staging workspace with a token.
	b = m.api("POST", "/mock/scenarios?name=migration", nil, 200)
	if !strings.HasPrefix(string(b), `{"clock":"2026-03-02T09:00:00.000Z","clock_advanced":"0s","events":6,"first_event":"2026-03-02T09:00:00.000Z","from":`+fmt.Sprint(start)+`,"last_event":"2026-03-02T09:00:01.`) ||
		m.srv.Log().Len() != start+6 {
		t.Fatalf("migration: %s; log %d → %d", b, start, m.srv.Log().Len())
	}
	json.Unmarshal(m.api("GET", "/mock/workspaces", nil, 200), &ws)
	if len(ws) != 3 || len(ws[2].AppTokens) != 1 {
		t.Fatalf("after the scenario: %+v", ws)
	}
	staging := m.login(map[string]string{"application_token": ws[2].AppTokens[0]})
	if res, b := m.call("GET", "/api/v1/event?q=type:69", staging, nil); res.StatusCode != 200 || strings.Count(string(b), `"id":69`) != 1 {
		t.Errorf("staging's own events: %d %s", res.StatusCode, b)
	}

	var id struct{ ID int }
	json.Unmarshal(snap, &id)
	m.api("POST", fmt.Sprintf("/mock/snapshots/%d/restore", id.ID), nil, 204)
	if m.srv.Log().Len() != start {
		t.Errorf("after restore the log holds %d events, want %d", m.srv.Log().Len(), start)
	}
	json.Unmarshal(m.api("GET", "/mock/workspaces", nil, 200), &ws)
	if len(ws) != 2 {
		t.Errorf("after restore %d workspaces", len(ws))
	}
	// The API works on the restored state, and reset goes back to the start.
	m.api("PATCH", fmt.Sprintf("/api/v1/endpoint/%d/connectivity", m.acme().Endpoints()[0].ID), `{"location":null}`, 204)
	m.api("POST", "/mock/reset", nil, 204)
	if m.srv.Log().Len() != start {
		t.Errorf("after reset the log holds %d events, want %d", m.srv.Log().Len(), start)
	}
	m.api("POST", "/mock/snapshots/7/restore", nil, 404)
}

// TestControlAPI_IsolatedScenario: ?isolated=true runs a scenario in
// workspaces of its own: the migration scenario, which otherwise acts on
// the server's production workspace, makes two new ones, every event of
// the run is in them, and a second run makes two more.
func TestControlAPI_IsolatedScenario(t *testing.T) {
	m := mustOpen(t)
	type workspace struct {
		ID int64 `json:"id"`
	}
	var before []workspace
	json.Unmarshal(m.api("GET", "/mock/workspaces", nil, 200), &before)
	seen := map[int64]bool{}
	for _, ws := range before {
		seen[ws.ID] = true
	}
	for run := 1; run <= 2; run++ {
		from := m.srv.Log().Len()
		b := m.api("POST", "/mock/scenarios?name=migration&isolated=true", nil, 200)
		var ran struct{ Events, From int }
		json.Unmarshal(b, &ran)
		var after []workspace
		json.Unmarshal(m.api("GET", "/mock/workspaces", nil, 200), &after)
		if ran.From != from || ran.Events != 6 || len(after) != len(before)+2*run {
			t.Fatalf("run %d: %s; %d workspaces after, %d before", run, b, len(after), len(before))
		}
		fresh := map[int64]bool{}
		for _, ws := range after[len(after)-2:] {
			fresh[ws.ID] = !seen[ws.ID]
			seen[ws.ID] = true
		}
		events, _ := m.srv.Log().Since(from)
		for _, e := range events {
			var ev struct{ Organisation struct{ ID int64 } }
			json.Unmarshal(e, &ev)
			if !fresh[ev.Organisation.ID] {
				t.Errorf("run %d: an event in workspace %d, not one of the run's own: %s", run, ev.Organisation.ID, e)
			}
		}
	}
	if res, b := m.call("POST", "/mock/scenarios?name=migration&isolated=true&live=true", "", nil); res.StatusCode != 400 || !strings.Contains(string(b), "cannot be played live") {
		t.Errorf("isolated and live: %d %s", res.StatusCode, b)
	}
}

func TestControlAPI_Clock(t *testing.T) {
	m := mustOpen(t)
	b := m.api("POST", "/mock/clock", `{"advance":"5h"}`, 200)
	if !strings.Contains(string(b), t0.Add(5*time.Hour).Format("2006-01-02T15:04")) {
		t.Errorf("clock: %s", b)
	}
	// Five hours on, the token of five hours ago has expired.
	if res, _ := m.call("GET", "/api/v1/sim", m.token, nil); res.StatusCode != 401 {
		t.Errorf("token after 5h: %d", res.StatusCode)
	}
	m.api("POST", "/mock/clock", `{"advance":"soon"}`, 400)
}

// TestControlAPI_Index: GET /mock lists the control API, and what it lists
// is served.
func TestControlAPI_Index(t *testing.T) {
	m := mustOpen(t)
	var index []struct{ Method, Path, What string }
	if err := json.Unmarshal(m.api("GET", "/mock", nil, 200), &index); err != nil || len(index) != 15 {
		t.Fatalf("index %+v: %v", index, err)
	}
	for _, e := range index {
		if e.Method == "GET" {
			m.api("GET", e.Path, nil, 200)
		}
		if e.What == "" || !strings.HasPrefix(e.Path, "/mock/") {
			t.Errorf("entry %+v", e)
		}
	}
}

// TestControlAPI_FollowEvents: ?follow=true sends the log, then each event
// as it is appended, and ends when the server closes.
func TestControlAPI_FollowEvents(t *testing.T) {
	m := mustOpen(t)
	start := m.srv.Log().Len()
	res, err := http.Get(m.http.URL + fmt.Sprintf("/mock/events?follow=true&from=%d", start-2))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(res.Body)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	next := func() string {
		select {
		case l := <-lines:
			return l
		case <-time.After(5 * time.Second):
			t.Fatal("no line within 5s")
			return ""
		}
	}
	next()
	next() // the last two events of the history
	ep := m.acme().Endpoints()[0]
	m.api("PATCH", fmt.Sprintf("/api/v1/endpoint/%d/connectivity", ep.ID), `{"location":null}`, 204)
	if l := next(); !strings.Contains(l, `"event_type":{"id":68,`) {
		t.Errorf("followed %s, want the reset", l)
	}
	m.srv.Close()
	select {
	case _, open := <-lines:
		if open {
			t.Error("a line after close")
		}
	case <-time.After(5 * time.Second):
		t.Error("the follow did not end when the server closed")
	}
	m.api("GET", "/mock/events?from=-1", nil, 400)
}

// TestControlAPI_Timeline: the log as a page, newest first, with filters.
func TestControlAPI_Timeline(t *testing.T) {
	m := mustOpen(t)
	ep := m.acme().Endpoints()[0]
	m.api("PATCH", fmt.Sprintf("/api/v1/endpoint/%d/connectivity", ep.ID), `{"location":null}`, 204)
	res, b := m.call("GET", "/mock/timeline", "", nil)
	page := string(b)
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "text/html; charset=utf-8" {
		t.Fatalf("%d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	if first := strings.Index(page, "<tbody>"); !strings.Contains(page[first:first+400], "68 Reset connectivity") {
		t.Errorf("the newest event is not first:\n%.1500s", page[first:])
	}
	events, _ := m.srv.Log().Since(0)
	count := func(needle string) (n int) {
		for _, e := range events {
			if strings.Contains(string(e), needle) {
				n++
			}
		}
		return n
	}
	_, b = m.call("GET", "/mock/timeline?type=68", "", nil)
	if n, want := strings.Count(string(b), "<tr><td"), count(`"event_type":{"id":68,`); n != want || strings.Contains(string(b), "SIM activation") {
		t.Errorf("?type=68 shows %d rows, the log has %d resets", n, want)
	}
	iccid := ep.SIM.ICCID
	_, b = m.call("GET", "/mock/timeline?iccid="+iccid+"&limit=1000", "", nil)
	if n, want := strings.Count(string(b), "<tr><td"), count(`"iccid":"`+iccid+`"`); n != want || want == 0 {
		t.Errorf("?iccid= shows %d rows, the log has %d events of that SIM", n, want)
	}
	if res, _ := m.call("GET", "/mock/timeline?type=x", "", nil); res.StatusCode != 400 {
		t.Errorf("?type=x: %d", res.StatusCode)
	}
	// A migration's row names its SIMs, which it carries in its detail.
	m.api("POST", "/mock/scenarios?name=migration", nil, 200)
	_, b = m.call("GET", "/mock/timeline?type=69", "", nil)
	if rows := strings.Count(string(b), "<tr><td"); rows == 0 || strings.Count(string(b), `<a href="?iccid=`) < rows {
		t.Errorf("migration rows without their SIMs:\n%.2000s", b)
	}
	events, _ = m.srv.Log().Since(0)
	// Pages: the "older" link goes on below the last row shown, and every
	// event is on exactly one page.
	seen, next := 0, "/mock/timeline?limit=20"
	for pages := 0; next != ""; pages++ {
		if pages > len(events) {
			t.Fatal("the older links never end")
		}
		_, b = m.call("GET", next, "", nil)
		seen += strings.Count(string(b), "<tr><td class=\"muted\">")
		next = ""
		if end := strings.Index(string(b), `">older events</a>`); end >= 0 {
			start := strings.LastIndex(string(b)[:end], `href="`) + len(`href="`)
			next = "/mock/timeline" + html.UnescapeString(string(b)[start:end])
		}
	}
	if seen != len(events) {
		t.Errorf("the pages show %d events, the log holds %d", seen, len(events))
	}
}

// TestMockScenario_Budget: a scenario over the event budget is refused
// with 422 and the position of the step, and changes nothing; a body over
// the limit gets the same 413 as every other route.
func TestMockScenario_Budget(t *testing.T) {
	m := mustOpen(t, func(o *server.Options) { o.MaxScenarioEvents = 1000 })
	start := m.srv.Log().Len()
	nested := "name: blow\ndescription: x\nworkspaces: [{name: acme}]\nsteps:\n" +
		"  - repeat: 1000000\n    steps:\n      - repeat: 1000000\n        steps:\n          - do: suspend\n            target: fleet\n"
	for _, path := range []string{"/mock/scenarios", "/mock/scenarios?live=true"} {
		res, b := m.call("POST", path, "", nested)
		if res.StatusCode != 422 || !strings.Contains(string(b), "request:5:5: this scenario makes more than 1000 events") || m.srv.Log().Len() != start {
			t.Errorf("%s: %d %s; log %d → %d", path, res.StatusCode, b, start, m.srv.Log().Len())
		}
	}
	res, b := m.call("POST", "/mock/scenarios", "", strings.Repeat("#", server.MaxBodyBytes+1))
	if res.StatusCode != 413 || !strings.Contains(string(b), `"error_token":"BadRequest"`) {
		t.Errorf("oversized scenario: %d %s", res.StatusCode, b)
	}
}

// TestControlAPI_ResetThatCannotRebuild: a server given Options.Rebuild
// keeps no copy of the world at start; when the world cannot be made
// again, a reset (or a restore of snapshot 0) answers emnify's 500 body,
// says why, and changes nothing.
func TestControlAPI_ResetThatCannotRebuild(t *testing.T) {
	m := mustOpen(t, func(o *server.Options) {
		o.Rebuild = func() (*plan.World, error) { return nil, errors.New("the scenario's file is gone") }
	})
	m.api("PATCH", fmt.Sprintf("/api/v1/endpoint/%d/connectivity", m.acme().Endpoints()[0].ID), `{"location":null}`, 204)
	changed := m.srv.Log().Len()
	for _, path := range []string{"/mock/reset", "/mock/snapshots/0/restore"} {
		res, b := m.call("POST", path, "", nil)
		if res.StatusCode != 500 || string(b) != `{"error_code":1000,"error_token":"InternalError","message":"the world at start could not be made again: the scenario's file is gone"}` {
			t.Errorf("%s: %d %s", path, res.StatusCode, b)
		}
		if m.srv.Log().Len() != changed {
			t.Errorf("%s: the log went from %d to %d events", path, changed, m.srv.Log().Len())
		}
	}
}

// TestControlAPI_ResetBuildsOutsideTheLock: while a reset builds the world
// at start again, which for a large fleet takes a second, the API still
// answers; the reset then lands whole.
func TestControlAPI_ResetBuildsOutsideTheLock(t *testing.T) {
	building, release := make(chan struct{}), make(chan struct{})
	m := mustOpen(t, func(o *server.Options) {
		start := o.World.Clone()
		o.Rebuild = func() (*plan.World, error) {
			close(building)
			<-release
			return start.Clone(), nil
		}
	})
	done := sync.OnceFunc(func() { close(release) })
	t.Cleanup(done) // before the server closes: a failed test must not leave the reset waiting
	m.api("PATCH", fmt.Sprintf("/api/v1/endpoint/%d/connectivity", m.acme().Endpoints()[0].ID), `{"location":null}`, 204)
	changed := m.srv.Log().Len()
	reset := make(chan error, 1)
	go func() {
		defer close(reset) // also when call gives up on the test
		if res, b := m.call("POST", "/mock/reset", "", nil); res.StatusCode != 204 {
			reset <- fmt.Errorf("reset: %d %s", res.StatusCode, b)
		}
	}()
	<-building
	read := make(chan int, 1)
	go func() {
		defer close(read)
		res, _ := m.call("GET", "/api/v1/sim?per_page=1", m.token, nil)
		read <- res.StatusCode
	}()
	select {
	case code := <-read:
		if code != 200 {
			t.Errorf("a read during the rebuild: %d", code)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("a read waited for the reset's rebuild")
	}
	if m.srv.Log().Len() != changed {
		t.Errorf("the log changed before the rebuild was done: %d → %d", changed, m.srv.Log().Len())
	}
	done()
	select {
	case err := <-reset:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the reset did not end once its world was built")
	}
	if m.srv.Log().Len() != changed-1 {
		t.Errorf("after the reset the log holds %d events, want %d", m.srv.Log().Len(), changed-1)
	}
}
