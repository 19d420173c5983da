package server_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
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
	if string(b) != `{"events":6,"scenario":"migration"}` || m.srv.Log().Len() != start+6 {
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
	if err := json.Unmarshal(m.api("GET", "/mock", nil, 200), &index); err != nil || len(index) != 8 {
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
