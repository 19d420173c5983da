package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/mux"

	"github.com/emnify-mock/emnify-mock/generator"
	"github.com/emnify-mock/emnify-mock/plan"
	"github.com/emnify-mock/emnify-mock/scenarios"
)

// The fuzz targets here drive the whole HTTP surface in process (one
// request per input, through the same handler as a listener's): no input
// may get a 5xx or a panic (the guard turns a panic into a 500), and a
// write that is refused must change nothing. Run:
//
//	go test -run '^$' -fuzz FuzzHTTPSurface -fuzztime 3m ./server
//	go test -run '^$' -fuzz FuzzDataStreamBody -fuzztime 3m ./server

type fuzzTarget struct {
	s     *Server
	h     http.Handler
	token string
}

func newFuzzTarget(tb testing.TB) *fuzzTarget {
	tb.Helper()
	sc, err := scenarios.Load("serve-default")
	if err != nil {
		tb.Fatal(err)
	}
	clock := generator.NewVirtual(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC).Add(-72 * time.Hour))
	world := plan.NewWorldOn(clock, 1)
	var history []generator.Event
	if _, err := world.Run(sc.Plan, func(e generator.Event) error { history = append(history, e); return nil }); err != nil {
		tb.Fatal(err)
	}
	clock.Set(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
	s, err := New(Options{World: world, History: history, AppTokens: []string{"fuzz-token"}, Secret: []byte("fuzz"),
		Logger: log.New(io.Discard, "", 0), MaxScenarioEvents: 20_000})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	ft := &fuzzTarget{s: s, h: s}
	res := ft.do("POST", "/api/v1/authenticate", "", []byte(`{"application_token":"fuzz-token"}`), false)
	var auth struct {
		Token string `json:"auth_token"`
	}
	json.Unmarshal(res.Body.Bytes(), &auth)
	ft.token = auth.Token
	return ft
}

// do serves one request; a streaming answer is cut after a moment.
func (ft *fuzzTarget) do(method, target, query string, body []byte, auth bool) *httptest.ResponseRecorder {
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	req := httptest.NewRequestWithContext(ctx, method, "/", bytes.NewReader(body))
	req.URL.Path, req.URL.RawQuery = target, query
	req.RemoteAddr = "127.0.0.1:4000"
	req.Header.Set("Content-Type", "application/json")
	if auth {
		req.Header.Set("Authorization", "Bearer "+ft.token)
	}
	rec := httptest.NewRecorder()
	ft.h.ServeHTTP(rec, req)
	return rec
}

// fingerprint sums up what a request may change: the log, the world's
// SIMs and endpoints, the data streams, snapshots and players.
func (ft *fuzzTarget) fingerprint() string {
	s := ft.s
	s.mu.RLock()
	defer s.mu.RUnlock()
	h := fnv.New64a()
	for _, ws := range s.world.Platform.Workspaces() {
		for _, sim := range ws.SIMs() {
			fmt.Fprint(h, sim.ID, sim.Status, sim.Endpoint != nil, ";")
		}
		for _, ep := range ws.Endpoints() {
			fmt.Fprint(h, ep.ID, ep.Status, ep.Name, ep.Tags, ";")
		}
	}
	for _, ws := range s.world.Platform.Workspaces() {
		for _, stream := range s.dataStreams.List(ws.ID) {
			st := stream.Settings() // not its status: delivery changes that on its own
			fmt.Fprint(h, st.ID, st.Name, st.URL, st.Method, st.Headers, st.Types, st.AlertOnly, ";")
		}
	}
	return fmt.Sprint(s.log.Len(), len(s.world.Platform.Workspaces()), len(s.snapshots.kept), len(s.players.byID), h.Sum64())
}

// check runs one request and fails on a 5xx, or on a refused write that
// changed something. Every so often the state goes back to the start, so
// a long run does not grow it without bound.
func (ft *fuzzTarget) check(t *testing.T, n *int, method, target, query string, body []byte, auth bool) {
	*n++
	if *n%200 == 0 {
		ft.do("POST", "/mock/reset", "", nil, false)
	}
	before := ft.fingerprint()
	rec := ft.do(method, target, query, body, auth)
	if rec.Code >= 500 {
		t.Fatalf("%s %s?%s %q: %d %s", method, target, query, body, rec.Code, rec.Body)
	}
	write := method != "GET" && method != "HEAD" && method != "OPTIONS"
	if write && rec.Code >= 400 {
		if after := ft.fingerprint(); after != before {
			t.Fatalf("%s %s?%s %q was refused (%d %s) and changed the state: %s → %s", method, target, query, body, rec.Code, rec.Body, before, after)
		}
	}
}

// surfaceSeeds: every route of the table with ids of the world, and every
// request of the recorded conversations.
func surfaceSeeds(tb testing.TB, ft *fuzzTarget) (seeds [][4]string) {
	ws := ft.s.world.Workspaces["acme"]
	sim, ep := ws.SIMs()[0], ws.Endpoints()[0]
	bic := ws.Batches()[0].BIC
	ids := strings.NewReplacer("{id}", fmt.Sprint(sim.ID), "{bic}", bic)
	epIDs := strings.NewReplacer("{id}", fmt.Sprint(ep.ID))
	err := ft.s.routes().Walk(func(route *mux.Route, _ *mux.Router, _ []*mux.Route) error {
		tmpl, err := route.GetPathTemplate()
		if err != nil {
			return nil
		}
		methods, _ := route.GetMethods()
		for _, m := range methods {
			path := ids.Replace(tmpl)
			if strings.Contains(tmpl, "/endpoint/") {
				path = epIDs.Replace(tmpl)
			}
			seeds = append(seeds, [4]string{m, path, "", `{}`})
		}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join("testdata", "recorded-api", "*.json"))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			tb.Fatal(err)
		}
		var conv []struct {
			Request struct {
				Method, URI string
				Body        json.RawMessage
			}
		}
		if json.Unmarshal(b, &conv) != nil {
			continue
		}
		for _, c := range conv {
			path, query, _ := strings.Cut(c.Request.URI, "?")
			seeds = append(seeds, [4]string{c.Request.Method, path, query, string(c.Request.Body)})
		}
	}
	return seeds
}

func FuzzHTTPSurface(f *testing.F) {
	ft := newFuzzTarget(f)
	for _, s := range surfaceSeeds(f, ft) {
		f.Add(s[0], s[1], s[2], []byte(s[3]), true)
	}
	f.Add("POST", "/mock/scenarios", "live=true", []byte("name: x\ndescription: y\nworkspaces: [{name: acme}]\nsteps:\n  - do: suspend\n    target: fleet\n    every: 1h\n"), false)
	f.Add("GET", "/api/v1/event", "sort=endpoint,-endpoint&q=type:8|9,alert:true&page=2&per_page=7", []byte(nil), true)
	n := 0
	f.Fuzz(func(t *testing.T, method, target, query string, body []byte, auth bool) {
		if method == "" || strings.Trim(method, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != "" || !strings.HasPrefix(target, "/") {
			return // not a request a client can send
		}
		ft.check(t, &n, method, target, query, body, auth)
	})
}

func FuzzDataStreamBody(f *testing.F) {
	ft := newFuzzTarget(f)
	for _, seed := range []string{
		`{"name":"hook","data_stream_type":{"id":2},"destination":{"connection_type":"RestAPI","credentials":{"url":"http://127.0.0.1:1/hook","method":"POST","headers":["X-Key: v"],"size":10}},"filters":[{"or":[{"field":"event_type_id","value":[8,9]},{"field":"alert","value":true}]}],"stream_historic_data":true}`,
		`{"destination":{"connection_type":{"id":3},"credentials":{"url":"https://localhost:1/x","method":"put"}},"status":{"id":2}}`,
		`{"destination":{"credentials":{"url":"file:///etc/passwd"}}}`,
		`{"status":{"id":1},"name":"renamed"}`,
		`{"filters":[{"field":"event_type_id","value":8}]}`,
	} {
		f.Add([]byte(seed), false)
		f.Add([]byte(seed), true)
	}
	n := 0
	f.Fuzz(func(t *testing.T, body []byte, patch bool) {
		if !patch {
			ft.check(t, &n, "POST", "/api/v2/data_stream", "", body, true)
			return
		}
		rec := ft.do("POST", "/api/v2/data_stream", "", []byte(`{"destination":{"credentials":{"url":"http://127.0.0.1:1/h"}}}`), true)
		var st struct{ ID int64 }
		json.Unmarshal(rec.Body.Bytes(), &st)
		ft.check(t, &n, "PATCH", fmt.Sprintf("/api/v2/data_stream/%d", st.ID), "", body, true)
		ft.do("DELETE", fmt.Sprintf("/api/v2/data_stream/%d", st.ID), "", nil, true)
	})
}
