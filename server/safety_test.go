package server_test

import (
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/emnify-mock/emnify-mock/server"
	"github.com/emnify-mock/emnify-mock/streamer"
)

// TestControlToken: with a control token every /mock request needs it;
// the emnify API does not.
func TestControlToken(t *testing.T) {
	m := mustOpen(t, func(o *server.Options) { o.ControlToken = "ctl-secret" })
	for _, token := range []string{"", "wrong", m.token} {
		for _, path := range []string{"/mock", "/mock/workspaces", "/mock/reset", "/mock/snapshots"} {
			res, b := m.call("POST", path, token, nil)
			if path == "/mock" || path == "/mock/workspaces" {
				res, b = m.call("GET", path, token, nil)
			}
			if res.StatusCode != 401 || !strings.Contains(string(b), `"error_token":"InvalidToken"`) {
				t.Errorf("%s with token %q: %d %s, want 401", path, token, res.StatusCode, b)
			}
		}
	}
	res, b := m.call("GET", "/mock/workspaces", "ctl-secret", nil)
	if res.StatusCode != 200 || !strings.Contains(string(b), `"application_tokens":["`+testToken+`"]`) {
		t.Errorf("with the control token: %d %s", res.StatusCode, b)
	}
	m.api("GET", "/api/v1/event?per_page=1", nil, 200) // the emnify API as before
}

// TestControlAPI_SecretsOnlyOnLoopback: without a control token, a caller
// from another machine sees the workspaces without logins and tokens.
// (The request is handed to the server directly: a test cannot connect
// from off loopback.)
func TestControlAPI_SecretsOnlyOnLoopback(t *testing.T) {
	m := mustOpen(t)
	for _, remote := range []string{"192.0.2.7:40000", "[2001:db8::1]:40000", "127.0.0.1:40000", "[::1]:40000"} {
		req := httptest.NewRequest("GET", "/mock/workspaces", nil)
		req.RemoteAddr = remote
		rec := httptest.NewRecorder()
		m.srv.ServeHTTP(rec, req)
		var ws []struct {
			Users     []any    `json:"users"`
			AppTokens []string `json:"application_tokens"`
			Hidden    string   `json:"hidden"`
		}
		json.Unmarshal(rec.Body.Bytes(), &ws)
		local := strings.HasPrefix(remote, "127.") || strings.HasPrefix(remote, "[::1]")
		if rec.Code != 200 || len(ws) == 0 || (len(ws[0].AppTokens) > 0) != local || (len(ws[0].Users) > 0) != local || (ws[0].Hidden == "") != local {
			t.Errorf("from %s: %d %s", remote, rec.Code, rec.Body)
		}
	}
}

// TestDataStream_Destinations: streams may send to loopback http(s) URLs
// only, unless a host is allowed; methods, headers and filters are
// bounded; every refusal is emnify's 422 and leaves no stream.
func TestDataStream_Destinations(t *testing.T) {
	m := mustOpen(t, func(o *server.Options) {
		o.Streams.Destinations = streamer.Destinations{Allow: []string{"hooks.example.com"}}
	})
	body := func(url, method string, headers []string, filters string) string {
		h, _ := json.Marshal(headers)
		return fmt.Sprintf(`{"name":"x","destination":{"connection_type":"RestAPI","credentials":{"url":%q,"method":%q,"headers":%s,"size":1}}%s}`, url, method, h, filters)
	}
	nested := `{"field":"alert","value":true}`
	for range 5 {
		nested = `{"or":[` + nested + `]}`
	}
	many := make([]string, 33)
	for i := range many {
		many[i] = fmt.Sprintf("X-%d: v", i)
	}
	for _, tc := range []struct{ why, body string }{
		{"file URL", body("file:///etc/passwd", "", nil, "")},
		{"gopher URL", body("gopher://127.0.0.1:70/_", "", nil, "")},
		{"no host", body("1", "", nil, "")},
		{"remote host", body("http://example.com/hook", "", nil, "")},
		{"private address", body("http://10.0.0.1/hook", "", nil, "")},
		{"link-local metadata", body("http://169.254.169.254/latest", "", nil, "")},
		{"user info", body("http://user:pw@127.0.0.1/hook", "", nil, "")},
		{"GET", body("http://127.0.0.1:1/hook", "GET", nil, "")},
		{"CONNECT", body("http://127.0.0.1:1/hook", "CONNECT", nil, "")},
		{"Host header", body("http://127.0.0.1:1/hook", "", []string{"Host: internal"}, "")},
		{"header injection", body("http://127.0.0.1:1/hook", "", []string{"X-A: b\r\nX-B: c"}, "")},
		{"bad header name", body("http://127.0.0.1:1/hook", "", []string{"X A: b"}, "")},
		{"33 headers", body("http://127.0.0.1:1/hook", "", many, "")},
		{"filters 5 deep", body("http://127.0.0.1:1/hook", "", nil, `,"filters":[`+nested+`]`)},
		{"65 filters", body("http://127.0.0.1:1/hook", "", nil, `,"filters":[`+strings.TrimSuffix(strings.Repeat(`{"field":"alert","value":true},`, 65), ",")+`]`)},
	} {
		res, b := m.call("POST", "/api/v2/data_stream", m.token, tc.body)
		if res.StatusCode != 422 || !strings.Contains(string(b), `"error_token":"InvalidFormat"`) {
			t.Errorf("%s: %d %s, want 422", tc.why, res.StatusCode, b)
		}
	}
	if b := m.api("GET", "/api/v2/data_stream", nil, 200); string(b) != "[]" {
		t.Fatalf("refused streams were made: %s", b)
	}
	var first struct{ ID int64 }
	for _, url := range []string{"http://127.0.0.1:1/hook", "http://[::1]:1/hook", "https://localhost:1/hook", "http://hooks.example.com/hook"} {
		b := m.api("POST", "/api/v2/data_stream", body(url, "PUT", []string{"Authorization: Bearer x"}, `,"filters":[{"or":[`+`{"field":"event_type_id","value":[8]}]}]`), 201)
		if first.ID == 0 {
			json.Unmarshal(b, &first)
		}
	}
	path := fmt.Sprintf("/api/v2/data_stream/%d", first.ID)
	res, b := m.call("PATCH", path, m.token, `{"destination":{"credentials":{"url":"http://example.com/"}}}`)
	if res.StatusCode != 422 || !strings.Contains(string(b), "the mock changes only the name and status") {
		t.Errorf("PATCH of the destination: %d %s, want 422", res.StatusCode, b)
	}
	if b := m.api("GET", path, nil, 200); !strings.Contains(string(b), `"url":"http://127.0.0.1:1/hook"`) {
		t.Errorf("after a refused PATCH: %s", b)
	}
}

// TestQueryCaps: a sort names each field once, q holds at most 16
// criteria of at most 6 values, and the query string at most 8 KB, so the
// work of a list request and the headers that echo it stay bounded.
func TestQueryCaps(t *testing.T) {
	m := mustOpen(t)
	for _, tc := range []struct {
		path, want string
		status     int
	}{
		{"/api/v1/event?sort=endpoint,-endpoint", "Sort criteria endpoint is given twice", 422},
		{"/api/v1/sim?sort=status,status", "Sort criteria status is given twice", 422},
		{"/api/v1/event?q=" + strings.TrimSuffix(strings.Repeat("type:8,", 17), ","), "at most 16", 422},
		{"/api/v1/sim?q=" + strings.TrimSuffix(strings.Repeat("status:1,", 17), ","), "at most 16", 422},
		{"/api/v1/sim?q=status:1|1|1|1|1|1|1", "Search criteria status:1|1|1|1|1|1|1 is invalid", 422},
		{"/api/v1/event?sort=" + strings.Repeat("x", server.MaxQueryBytes), "query string is too long", 414},
	} {
		res, b := m.call("GET", tc.path, m.token, nil)
		if res.StatusCode != tc.status || !strings.Contains(string(b), tc.want) {
			t.Errorf("%.60s: %d %s, want %d %q", tc.path, res.StatusCode, b, tc.status, tc.want)
		}
		if n := len(res.Header.Get("X-Sort")) + len(res.Header.Get("X-Filter")) + len(res.Header.Get("Link")); n > 0 {
			t.Errorf("%.60s: a refused request echoes %d bytes of headers", tc.path, n)
		}
	}
	m.api("GET", "/api/v1/sim?q=status:1|2|3&sort=-status,id", nil, 200)
}

// TestSnapshots_ListDeleteEvict: snapshots are listed and deleted; past
// MaxSnapshots the oldest is evicted, and restoring it says so; the state
// at start stays.
func TestSnapshots_ListDeleteEvict(t *testing.T) {
	m := mustOpen(t)
	for range server.MaxSnapshots + 1 {
		m.api("POST", "/mock/snapshots", nil, 201)
	}
	var list []struct{ ID, Events int }
	json.Unmarshal(m.api("GET", "/mock/snapshots", nil, 200), &list)
	if len(list) != server.MaxSnapshots+1 || list[0].ID != 0 || list[1].ID != 2 || list[len(list)-1].ID != server.MaxSnapshots+1 || list[1].Events != m.srv.Log().Len() {
		t.Fatalf("snapshots %+v", list)
	}
	if res, b := m.call("POST", "/mock/snapshots/1/restore", "", nil); res.StatusCode != 404 || !strings.Contains(string(b), "Snapshot 1 was evicted") {
		t.Errorf("restore of the evicted: %d %s", res.StatusCode, b)
	}
	m.api("DELETE", "/mock/snapshots/5", nil, 204)
	m.api("POST", "/mock/snapshots/5/restore", nil, 404)
	m.api("DELETE", "/mock/snapshots/0", nil, 422)
	m.api("POST", "/mock/snapshots/2/restore", nil, 204)
	m.api("POST", "/mock/reset", nil, 204)
	json.Unmarshal(m.api("GET", "/mock/snapshots", nil, 200), &list)
	if len(list) != server.MaxSnapshots {
		t.Errorf("%d snapshots after one was deleted, want %d", len(list), server.MaxSnapshots)
	}
}

// TestHealthAndStrictBooleans: /mock/health answers without the control
// token; a boolean parameter that is not true or false is refused, naming
// it, instead of meaning false.
func TestHealthAndStrictBooleans(t *testing.T) {
	m := mustOpen(t, func(o *server.Options) { o.ControlToken = "ctl" })
	if res, b := m.call("GET", "/mock/health", "", nil); res.StatusCode != 200 || string(b) != `{"status":"ok"}` {
		t.Errorf("health: %d %s", res.StatusCode, b)
	}
	start := m.srv.Log().Len()
	for _, path := range []string{"/mock/scenarios?name=migration&live=yes", "/mock/events?follow=maybe"} {
		method := "POST"
		if strings.HasPrefix(path, "/mock/events") {
			method = "GET"
		}
		res, b := m.call(method, path, "ctl", nil)
		if res.StatusCode != 400 || !strings.Contains(string(b), "must be true or false") {
			t.Errorf("%s: %d %s, want 400", path, res.StatusCode, b)
		}
	}
	if m.srv.Log().Len() != start {
		t.Error("a refused ?live=yes ran the scenario")
	}
}

// TestAPIJournal: every request to the emnify API is recorded, refused
// ones with emnify's error code; filters select; a reset clears it.
func TestAPIJournal(t *testing.T) {
	m := mustOpen(t)
	sim := m.acme().SIMs()[0]
	m.call("GET", "/api/v1/sim", "", nil)                                             // refused by the gateway: no token
	m.api("PATCH", fmt.Sprintf("/api/v1/sim/%d", sim.ID), `{"status":{"id":3}}`, 422) // a status that cannot be set
	m.api("GET", "/api/v1/event?per_page=1", nil, 200)
	type entry struct {
		Workspace *int64          `json:"workspace"`
		Method    string          `json:"method"`
		Path      string          `json:"path"`
		Query     string          `json:"query"`
		Body      json.RawMessage `json:"body"`
		Status    int             `json:"status"`
		ErrorCode *int            `json:"error_code"`
	}
	read := func(query string) []entry {
		var out []entry
		for _, line := range strings.Split(strings.TrimSpace(string(m.api("GET", "/mock/requests"+query, nil, 200))), "\n") {
			var e entry
			if line != "" && json.Unmarshal([]byte(line), &e) == nil {
				out = append(out, e)
			}
		}
		return out
	}
	all := read("")
	if len(all) < 4 { // the login of mustOpen, then the three above
		t.Fatalf("journal %+v", all)
	}
	patch := read("?method=patch&path=/api/v1/sim/*&status=4xx")
	if len(patch) != 1 || patch[0].Status != 422 || patch[0].ErrorCode == nil || *patch[0].ErrorCode != 1400 ||
		string(patch[0].Body) != `{"status":{"id":3}}` || patch[0].Workspace == nil || *patch[0].Workspace != m.acme().ID {
		t.Errorf("the refused PATCH: %+v", patch)
	}
	if gw := read("?status=401"); len(gw) != 1 || gw[0].Workspace != nil || gw[0].Path != "/api/v1/sim" {
		t.Errorf("the gateway's 401: %+v", gw)
	}
	if ev := read("?path=/api/v1/event&status=2xx"); len(ev) != 1 || ev[0].Query != "per_page=1" {
		t.Errorf("the event read: %+v", ev)
	}
	if res, _ := m.call("GET", "/mock/requests?status=2x", "", nil); res.StatusCode != 400 {
		t.Errorf("?status=2x: %d, want 400", res.StatusCode)
	}
	m.api("POST", "/mock/reset", nil, 204)
	if n := len(read("")); n != 0 {
		t.Errorf("%d requests after a reset", n)
	}
}
