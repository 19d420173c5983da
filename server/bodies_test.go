package server_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/emnify-mock/emnify-mock/generator"
)

// TestStrictBodies: a body the mock cannot apply whole is refused with
// emnify's error body and changes nothing: data after the JSON, a second
// document, ids that are not whole numbers, values of the wrong type,
// fields it cannot set, null bodies, out-of-range statuses, empty filters.
func TestStrictBodies(t *testing.T) {
	m := mustOpen(t)
	var activated, issued *generator.SIM
	for _, s := range m.acme().SIMs() {
		switch {
		case s.Status == generator.SIMActivated && activated == nil:
			activated = s
		case s.Status == generator.SIMIssued && s.Endpoint == nil && issued == nil:
			issued = s
		}
	}
	ep := m.acme().Endpoints()[0]
	var bic string
	for _, b := range m.acme().Batches() {
		if !b.Registered {
			bic = b.BIC
		}
	}
	sim := fmt.Sprintf("/api/v1/sim/%d", activated.ID)
	endpoint := fmt.Sprintf("/api/v1/endpoint/%d", ep.ID)
	stream := func(extra string) string {
		return `{"destination":{"connection_type":"RestAPI","credentials":{"url":"http://127.0.0.1:1/h"}}` + extra + `}`
	}
	start := m.srv.Log().Len()
	for _, tc := range []struct {
		method, path, body string
		status             int
		want               string
	}{
		{"PATCH", sim, `{"status":{"id":2}}xyz`, 400, "data after the JSON value"},
		{"PATCH", sim, `{"status":{"id":2}} {"status":{"id":2}}`, 400, "data after the JSON value"},
		{"PATCH", sim, `{"status":{"id":2.5}}`, 422, "an id must be a whole number, got 2.5"},
		{"PATCH", sim, `{"status":{"id":"2"}}`, 422, "an id must be a whole number"},
		{"PATCH", sim, `{"status":{"id":2},"customer_org":{"id":1}}`, 422, `\"customer_org\" is not a field this request can set`},
		{"PATCH", sim, `null`, 422, "not null"},
		{"PATCH", endpoint, `{"tags":5}`, 422, "a string or null, got 5"},
		{"PATCH", endpoint, `{"name":7}`, 422, "name must be a string"},
		{"PATCH", endpoint, `{"status":{"id":1.5}}`, 422, "whole number"},
		{"PATCH", endpoint, `{"created":"2020-01-01"}`, 422, `\"created\" is not a field`},
		{"PATCH", endpoint + "/connectivity", `{"location":null,"reboot":true}`, 422, `\"reboot\" is not a field`},
		{"PATCH", "/api/v1/sim_batch/bic/" + bic, `null`, 422, "not null"},
		{"POST", "/api/v2/data_stream", stream(`,"status":{"id":-1}`), 422, "status must be 1 (Running) or 2 (Paused), got -1"},
		{"POST", "/api/v2/data_stream", stream(`,"status":{"id":9223372036854775808}`), 422, "whole number"},
		{"POST", "/api/v2/data_stream", stream(`,"filters":[{"field":""}]`), 422, "a filter is"},
		{"POST", "/api/v2/data_stream", stream(`,"filters":[null]`), 422, "a filter is"},
	} {
		res, b := m.call(tc.method, tc.path, m.token, tc.body)
		if res.StatusCode != tc.status || !strings.Contains(string(b), tc.want) {
			t.Errorf("%s %s %s: %d %s, want %d %q", tc.method, tc.path, tc.body, res.StatusCode, b, tc.status, tc.want)
		}
	}
	if m.srv.Log().Len() != start || activated.Status != generator.SIMActivated || ep.Tags != nil && *ep.Tags == "5" {
		t.Errorf("refused bodies changed something: log %d → %d, SIM %s", start, m.srv.Log().Len(), activated.Status)
	}
	if b := m.api("GET", "/api/v2/data_stream", nil, 200); string(b) != "[]" {
		t.Errorf("refused streams were made: %s", b)
	}
	// The official SDK's bodies: a status with its description, an id 1.0.
	m.api("PATCH", endpoint, `{"status":{"id":1.0,"description":"Disabled"}}`, 204)
	// A SIM PATCH to the status it has: 204, no event (the SDK's
	// change_status PATCHes the SIM every time).
	before := m.srv.Log().Len()
	m.api("PATCH", sim, `{"status":{"id":1,"description":"Activated"}}`, 204)
	if m.srv.Log().Len() != before {
		t.Errorf("a PATCH to the SIM's own status appended %d events", m.srv.Log().Len()-before)
	}
	m.api("PATCH", sim, `{"status":{"id":2,"description":"Suspended"}}`, 204)
	if m.srv.Log().Len() != before+1 {
		t.Errorf("suspension appended %d events, want 1", m.srv.Log().Len()-before)
	}
}

// TestListFilters_Documented: every q and sort field emnify documents for
// the SIM and endpoint lists is taken (emnify-api.md §3), and filters what
// it says.
func TestListFilters_Documented(t *testing.T) {
	m := mustOpen(t)
	ws := m.acme()
	ep := ws.Endpoints()[0]
	count := func(path string) int {
		var items []map[string]any
		if err := json.Unmarshal(m.api("GET", path, nil, 200), &items); err != nil {
			t.Fatal(err)
		}
		return len(items)
	}
	all := len(ws.SIMs())
	for q, want := range map[string]int{
		fmt.Sprintf("customer_org:%d", ws.ID): all, "customer_org:1": 0,
		"issuer_org:2": all, "reseller_org:2": 0, "model:4": all, "eid:1": 0, "satellite_capable:false": all,
		"production_date:" + ws.SIMs()[0].ProductionDate.UTC().Format("2006-01-02T15:04:05"): 1,
		"msisdn:" + ws.SIMs()[0].MSISDN: 1,
	} {
		if got := count("/api/v1/sim?q=" + url.QueryEscape(q)); got != want {
			t.Errorf("sim q=%s: %d SIMs, want %d", q, got, want)
		}
	}
	for _, sort := range []string{"customer_org", "-issuer_org", "reseller_org", "production_date", "model", "eid", "-endpoint"} {
		m.api("GET", "/api/v1/sim?sort="+sort, nil, 200)
	}
	for q, want := range map[string]int{
		fmt.Sprintf("service_profile:%d", ep.ServiceProfile.ID): -1, fmt.Sprintf("tariff_profile:%d", ep.TariffProfile.ID): -1,
		"created:" + ep.Created.UTC().Format("2006-01-02"): -1, "last_updated:2000-01-01": 0,
		"iccid_with_luhn:" + ep.SIM.ICCIDWithLuhn(): 1, "eid:x": 0, "service_profile:1": 0,
	} {
		got := count("/api/v1/endpoint?q=" + url.QueryEscape(q))
		if want < 0 && got == 0 || want >= 0 && got != want {
			t.Errorf("endpoint q=%s: %d endpoints, want %d (-1: some)", q, got, want)
		}
	}
	for _, sort := range []string{"created", "-last_updated", "service_profile", "-tariff_profile", "eid"} {
		m.api("GET", "/api/v1/endpoint?sort="+sort, nil, 200)
	}
}

// TestAppTokens_AreJWTs: the application tokens the mock makes are JWTs
// whose claims name the workspace, as real ones do; they log in, and are
// no auth token themselves.
func TestAppTokens_AreJWTs(t *testing.T) {
	m := mustOpen(t)
	var ws []struct {
		ID        int64    `json:"id"`
		Name      string   `json:"name"`
		AppTokens []string `json:"application_tokens"`
	}
	json.Unmarshal(m.api("GET", "/mock/workspaces", nil, 200), &ws)
	minted := ws[1].AppTokens[0] // the second workspace's: the first has the test's literal one
	parts := strings.Split(minted, ".")
	if len(parts) != 3 {
		t.Fatalf("application token %q is not a JWT", minted)
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	var c map[string]any
	if err != nil || json.Unmarshal(payload, &c) != nil {
		t.Fatalf("claims %s: %v", payload, err)
	}
	if c["esc.org"] != float64(ws[1].ID) || c["esc.orgName"] != ws[1].Name || c["sub"] == "" || c["esc.app"] == nil {
		t.Errorf("claims %s, want workspace %d %q", payload, ws[1].ID, ws[1].Name)
	}
	if tok := m.login(map[string]string{"application_token": minted}); tok == "" {
		t.Error("the minted token does not log in")
	}
	if res, _ := m.call("GET", "/api/v1/sim", minted, nil); res.StatusCode != 401 {
		t.Errorf("an application token used as an auth token: %d, want 401", res.StatusCode)
	}
}
