package server_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/emnify-mock/emnify-mock/generator"
)

func TestMigration(t *testing.T) {
	m := mustOpen(t)
	ws, prod := m.acme(), m.world.Workspaces["production"]
	user := m.login(map[string]string{"username": ws.Users[1].Username, "password": "emnify-mock"})
	var attached *generator.SIM
	for _, s := range ws.SIMs() {
		if s.Endpoint != nil && s.Status == generator.SIMActivated {
			attached = s
			break
		}
	}
	body := func(extra string) string {
		return fmt.Sprintf(`{"target_workspace":{"id":%d},"sims":[{"id":%d}]%s}`, prod.ID, attached.ID, extra)
	}
	n := m.srv.Log().Len()
	if res, b := m.call("POST", "/api/v1/sim/migration/workspace", m.token, body("")); res.StatusCode != 403 {
		t.Errorf("with an application token: %d %s", res.StatusCode, b)
	}
	res, b := m.call("POST", "/api/v1/sim/migration/workspace", user, body(`,"dry_run":false`))
	if res.StatusCode != 409 || !strings.Contains(string(b), `"error_code":1502`) || !strings.HasPrefix(string(b), `{"status_code":409,`) {
		t.Errorf("attached without auto-detach: %d %s", res.StatusCode, b)
	}
	res, b = m.call("POST", "/api/v1/sim/migration/workspace", user, body(`,"auto_detach_devices":true`))
	if res.StatusCode != 200 || !strings.Contains(string(b), `"dry_run":true`) || m.srv.Log().Len() != n {
		t.Errorf("dry run (the default): %d %s, %d events appended", res.StatusCode, b, m.srv.Log().Len()-n)
	}
	res, b = m.call("POST", "/api/v1/sim/migration/workspace", user, body(`,"auto_detach_devices":true,"dry_run":false`))
	if res.StatusCode != 200 || attached.Workspace != prod {
		t.Fatalf("migration: %d %s; SIM now in %d", res.StatusCode, b, attached.Workspace.ID)
	}
	var resp struct {
		SIMCount int `json:"sim_count"`
		SIMs     []struct {
			ICCIDWithLuhn string `json:"iccid_with_luhn"`
			Endpoint      *struct {
				ID int64 `json:"id"`
			} `json:"endpoint"`
		} `json:"sims"`
	}
	json.Unmarshal(b, &resp)
	if resp.SIMCount != 1 || resp.SIMs[0].ICCIDWithLuhn != attached.ICCIDWithLuhn() || resp.SIMs[0].Endpoint == nil {
		t.Errorf("response %s", b)
	}
	// Source workspace: 9, 50, 69 source. Target: 69 target, same id.
	src := m.events("/api/v1/event?sort=-id&per_page=3")
	if got := typesOf(src); got != "69 50 9" {
		t.Errorf("source workspace's newest events %s, want 69 50 9", got)
	}
	prodToken := m.login(map[string]string{"application_token": m.appToken(prod)})
	res, b = m.call("GET", "/api/v1/event?q=type:69&sort=-id&per_page=1", prodToken, nil)
	if res.StatusCode != 200 {
		t.Fatalf("target workspace events: %d %s", res.StatusCode, b)
	}
	var dst []eventView
	json.Unmarshal(b, &dst)
	if len(dst) != 1 || dst[0].ID != src[0].ID || dst[0].Organisation.ID != prod.ID {
		t.Errorf("target event %s, want id %d in workspace %d", b, src[0].ID, prod.ID)
	}
	// Now the SIM belongs to production: acme cannot see it.
	m.api("GET", fmt.Sprintf("/api/v1/sim/%d", attached.ID), nil, 404)
}

func TestRegisterBatch(t *testing.T) {
	m := mustOpen(t)
	var bic string
	for _, b := range m.acme().Batches() {
		if !b.Registered {
			bic = b.BIC
			break
		}
	}
	if b := m.api("GET", "/api/v1/sim_batch/bic/"+bic, nil, 200); !strings.Contains(string(b), `"quantity":5`) {
		t.Errorf("validate: %s", b)
	}
	n := m.srv.Log().Len()
	b := m.api("PATCH", "/api/v1/sim_batch/bic/"+bic, `{"sim_status":{"id":1}}`, 200)
	var out struct {
		SIM []struct {
			ID    int64  `json:"id"`
			ICCID string `json:"iccid"`
		} `json:"sim"`
	}
	json.Unmarshal(b, &out)
	if len(out.SIM) != 5 || !strings.HasPrefix(string(b), `{"sim":[{"id":`) {
		t.Errorf("register: %s", b)
	}
	events, _ := m.srv.Log().Since(n)
	if len(events) != 6 || !strings.Contains(string(events[0]), `"Batch of 5 SIM(s) registered."`) {
		t.Errorf("%d events after registration, want 48 and five 8", len(events))
	}
	// Registered now: GET says 400, PATCH answers 422 with an empty text/html body as recorded.
	m.api("GET", "/api/v1/sim_batch/bic/"+bic, nil, 400)
	rec := recorded(t, "activate_sim_by_bic_422.json", "PATCH", "/api/v1/sim_batch/bic/invalid_bic_code", 422)
	res, body := m.call("PATCH", "/api/v1/sim_batch/bic/"+bic, m.token, `{"id":1,"description":"Activated"}`)
	if res.StatusCode != 422 || len(body) != 0 || res.Header.Get("Content-Type") != rec.Response.Headers["content-type"] {
		t.Errorf("again: %d %q %q", res.StatusCode, res.Header.Get("Content-Type"), body)
	}
	m.api("GET", "/api/v1/sim_batch/bic/NOPE-NOPE-NOPE", nil, 404)
}

func TestSIMList_Filters(t *testing.T) {
	m := mustOpen(t)
	var free []map[string]any
	json.Unmarshal(m.api("GET", "/api/v1/sim?q=endpoint:null&sort=-id", nil, 200), &free)
	want := 0
	for _, s := range m.acme().SIMs() {
		if s.Endpoint == nil {
			want++
		}
	}
	if len(free) != want || want == 0 {
		t.Errorf("endpoint:null gave %d SIMs, want %d", len(free), want)
	}
	for i := 1; i < len(free); i++ {
		if free[i]["id"].(float64) > free[i-1]["id"].(float64) {
			t.Fatal("sort=-id not descending")
		}
		if _, ok := free[i]["endpoint"]; ok {
			t.Fatal("endpoint:null returned a SIM with an endpoint")
		}
	}
	var ft []map[string]any
	json.Unmarshal(m.api("GET", "/api/v1/sim?q=status:4", nil, 200), &ft)
	if len(ft) != 4 {
		t.Errorf("status:4 gave %d SIMs, want the 4 still in Factory Test", len(ft))
	}
	m.api("GET", "/api/v1/sim?q=colour:red", nil, 422)
	if b := m.api("GET", "/api/v1/sim/status", nil, 200); string(b) != `[{"id":0,"description":"Issued"},{"id":1,"description":"Activated"},{"id":2,"description":"Suspended"},{"id":3,"description":"Deleted"},{"id":4,"description":"Factory Test"}]` {
		t.Errorf("sim/status %s", b)
	}
}
