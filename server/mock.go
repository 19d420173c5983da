package server

import (
	"crypto/subtle"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/emnify-mock/emnify-mock/generator"
	"github.com/emnify-mock/emnify-mock/scenarios"
	"github.com/emnify-mock/emnify-mock/server/internal/wire"
	"github.com/gorilla/mux"
)

// The control API for tests lives under /mock/, outside the emnify API.
// It is for a test harness: with Options.ControlToken every request needs
// it as a bearer token; without one it is open (serve allows that only on
// loopback, or when told --insecure-control), and secrets are shown only
// to callers on loopback. GET /mock lists it.
func (s *Server) mockRoutes(r *mux.Router) {
	r.Use(s.controlled)
	routes := []struct {
		method, path, what string
		h                  http.HandlerFunc
	}{
		{"GET", "/health", `liveness for a container's health check: 200 {"status":"ok"}, no token needed`, func(w http.ResponseWriter, _ *http.Request) {
			wire.WriteJSON(w, http.StatusOK, wire.Bare, map[string]string{"status": "ok"})
		}},
		{"GET", "/workspaces", "logins, application tokens, registrable BICs and profiles of every workspace", s.handleMockWorkspaces},
		{"GET", "/events", "the event log, every workspace, as NDJSON; ?from=N starts at the N-th, ?follow=true streams what is appended", s.handleMockEvents},
		{"POST", "/scenarios", "run a scenario now (YAML body, or ?name=BUILT-IN), moving the clock on by its span; ?live=true plays it on the clock in the background", s.handleMockScenario},
		{"GET", "/scenarios", "the scenarios played live: state (running, finished, failed, stopped), events so far, next step, error", s.handleMockPlayers},
		{"POST", "/clock", `{"advance":"1h"}: move the server's clock on; played steps within the jump happen`, s.handleMockClock},
		{"POST", "/snapshots", `save the whole state (world, event log, credentials, data streams and their positions); answers {"id":N}`, s.handleMockSnapshot},
		{"GET", "/snapshots", "the saved states: id, when taken (server clock), events in the log; 0 is the state at start", s.handleMockSnapshots},
		{"POST", "/snapshots/{id}/restore", "go back to a saved state, all of it; played scenarios stop", s.handleMockRestore},
		{"DELETE", "/snapshots/{id}", fmt.Sprintf("forget a saved state (the %d most recent are kept; an older one is evicted)", MaxSnapshots), s.handleMockDeleteSnapshot},
		{"POST", "/reset", "go back to the state at start, all of it (data streams made since are gone)", s.handleMockReset},
		{"GET", "/requests", "the API journal as NDJSON: every request to the emnify API (time, workspace, method, path, query, body, status, error code), refused ones too; ?method=, ?path=/api/v1/sim/*, ?status=4xx, ?workspace= filter; a reset clears it", s.handleMockRequests},
		{"GET", "/timeline", "the event log as a page for a browser, newest first; ?type=, ?iccid=, ?endpoint=, ?organisation= filter, ?refresh=S reloads", s.handleMockTimeline},
		{"GET", "/deliveries", "each data stream's delivery state: delivered, undelivered, last status", s.handleMockDeliveries},
	}
	type entry struct {
		Method string `json:"method"`
		Path   string `json:"path"`
		What   string `json:"what"`
	}
	var index []entry
	for _, rt := range routes {
		r.HandleFunc(rt.path, rt.h).Methods(rt.method)
		index = append(index, entry{rt.method, "/mock" + rt.path, rt.what})
	}
	r.HandleFunc("", func(w http.ResponseWriter, _ *http.Request) { wire.WriteJSON(w, http.StatusOK, wire.Bare, index) }).Methods("GET")
	r.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) { wire.WriteJSON(w, http.StatusOK, wire.Bare, index) }).Methods("GET")
}

// handleMockEvents returns the log, every workspace, in log order, as
// NDJSON: what a test compares its consumer with. ?from=N starts at the
// N-th event; ?follow=true keeps the response open and sends each event
// as it is appended, until the client goes or the server closes.
func (s *Server) handleMockEvents(w http.ResponseWriter, r *http.Request) {
	from, err := strconv.Atoi(r.URL.Query().Get("from"))
	if r.URL.Query().Get("from") != "" && (err != nil || from < 0) {
		wire.WriteError(w, wire.BadRequest("from must be a position in the log, 0 or more"))
		return
	}
	follow, apiErr := wire.QueryBool(r, "follow")
	if apiErr != nil {
		wire.WriteError(w, apiErr)
		return
	}
	w.Header().Set("Content-Type", "application/x-ndjson")
	flusher, _ := w.(http.Flusher)
	for {
		changed := s.log.Changed()
		if n := s.log.Len(); from > n {
			from = n // a restore cut the log back: go on from its end
		}
		var events [][]byte
		events, from = s.log.Since(from)
		for _, e := range events {
			w.Write(e)
			w.Write([]byte{'\n'})
		}
		if !follow {
			return
		}
		if flusher != nil {
			flusher.Flush()
		}
		select {
		case <-changed:
		case <-r.Context().Done():
			return
		case <-s.closing.Done():
			return
		}
	}
}

// handleMockScenario runs a scenario into the live world, as one change:
// a scenario that fails changes nothing. Its events start at the server's
// present and follow the scenario's own timing; a scenario that spans time
// moves the server's clock on by its span (ids must grow in log order, so
// its events cannot lie in the past), and the answer says so. With
// ?live=true it is played instead: each step when its timing says, on the
// clock, in the background (see Play). Randomness continues the world's
// seeded source, so a server started with --seed replays the same way.
// Workspaces the world has under the scenario's keys (acme, production)
// are acted on; new ones get logins and an application token.
func (s *Server) handleMockScenario(w http.ResponseWriter, r *http.Request) {
	live, apiErr := wire.QueryBool(r, "live")
	if apiErr != nil {
		wire.WriteError(w, apiErr)
		return
	}
	file, src := "request", []byte(nil)
	if name := r.URL.Query().Get("name"); name != "" {
		var ok bool
		if src, ok = scenarios.Builtin(name); !ok {
			wire.WriteError(w, notFound("Scenario", name))
			return
		}
		file = name + ".yaml"
	} else {
		var apiErr *wire.Error
		if src, apiErr = wire.ReadBody(r); apiErr != nil {
			wire.WriteError(w, apiErr)
			return
		}
	}
	sc, err := s.parseScenario(file, src)
	if err != nil {
		wire.WriteError(w, validation(err.Error()))
		return
	}
	if live {
		p, planned, err := s.play(sc)
		if err != nil {
			wire.WriteError(w, validation(err.Error()))
			return
		}
		wire.WriteJSON(w, http.StatusAccepted, wire.Bare, map[string]any{"id": p.id, "scenario": sc.Name, "events": planned.Events, "live": true,
			"ends": planned.End.UTC().Format(generator.TimestampLayout)})
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var events []generator.Event
	sum, err := s.world.Run(sc.Plan, func(e generator.Event) error { events = append(events, e); return nil })
	if err != nil {
		wire.WriteError(w, validation(err.Error()))
		return
	}
	s.log.Append(events...)
	s.addCredentials()
	out := map[string]any{"scenario": sc.Name, "events": sum.Events,
		"clock": s.clock.Now().UTC().Format(generator.TimestampLayout), "clock_advanced": generator.FormatDuration(max(0, sum.End.Sub(sum.Start)))}
	if len(events) > 0 {
		out["first_event"] = events[0].Timestamp.UTC().Format(generator.TimestampLayout)
		out["last_event"] = events[len(events)-1].Timestamp.UTC().Format(generator.TimestampLayout)
	}
	wire.WriteJSON(w, http.StatusOK, wire.Bare, out)
}

// parseScenario parses a scenario for the world as it is now (it may name
// the world's workspaces and groups), with the server's event budget.
func (s *Server) parseScenario(file string, src []byte) (*scenarios.Scenario, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	sc, err := scenarios.ParseFor(file, src, s.world)
	if err != nil {
		return nil, err
	}
	sc.Plan.MaxEvents = s.maxEvents
	return sc, nil
}

func (s *Server) handleMockClock(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Advance string `json:"advance"`
	}
	if apiErr := decode(r, &body); apiErr != nil {
		wire.WriteError(w, apiErr)
		return
	}
	d, err := time.ParseDuration(body.Advance)
	if err != nil || d < 0 {
		wire.WriteError(w, wire.BadRequest(fmt.Sprintf("advance must be a duration such as 90s or 4h, got %q", body.Advance)))
		return
	}
	switch c := s.clock.(type) {
	case *generator.Shifted: // serve's
		if err := c.Advance(d); err != nil {
			wire.WriteError(w, validation(err.Error()))
			return
		}
	case *generator.Virtual: // tests'
		c.Advance(d)
	default:
		wire.WriteError(w, &wire.Error{Status: http.StatusConflict, Code: 1406, Token: "NotAllowed", Message: "this server's clock cannot be moved"})
		return
	}
	wire.WriteJSON(w, http.StatusOK, wire.Bare, map[string]string{"now": s.clock.Now().UTC().Format(generator.TimestampLayout)})
}

type mockWorkspace struct {
	ID        int64               `json:"id"`
	Name      string              `json:"name"`
	Users     []mockUser          `json:"users"`
	AppTokens []string            `json:"application_tokens"`
	Batches   []mockBatch         `json:"registrable_batches"`
	Profiles  map[string][]idName `json:"profiles"`
	Counts    map[string]int      `json:"counts"`
	IPSpace   string              `json:"ip_address_space"`
	Statuses  map[string]int      `json:"sim_statuses"`
	Hidden    string              `json:"hidden,omitempty"` // why users and tokens are missing
}

type mockUser struct {
	ID       int64  `json:"id"`
	Name     string `json:"name"`
	Username string `json:"username"`
}

type mockBatch struct {
	BIC  string `json:"bic"`
	SIMs int    `json:"sims"`
}

// handleMockWorkspaces lists the workspaces with what a test needs to log
// in and act: users, application tokens, registrable BICs.
func (s *Server) handleMockWorkspaces(w http.ResponseWriter, r *http.Request) {
	trusted := s.trusted(r)
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := []mockWorkspace{}
	for _, ws := range s.world.Platform.Workspaces() {
		m := mockWorkspace{ID: ws.ID, Name: ws.Name, IPSpace: ws.IPSpace.Prefix.String(),
			Profiles: map[string][]idName{"service": idNames(ws.ServiceProfiles), "tariff": idNames(ws.TariffProfiles)},
			Counts:   map[string]int{"sims": len(ws.SIMs()), "endpoints": len(ws.Endpoints())},
			Statuses: map[string]int{}, Batches: []mockBatch{}, AppTokens: []string{}}
		for _, u := range ws.Users {
			m.Users = append(m.Users, mockUser{u.ID, u.Name, u.Username})
		}
		for tok, cred := range s.creds.appTokens {
			if cred.org == ws.ID {
				m.AppTokens = append(m.AppTokens, tok)
			}
		}
		for _, b := range ws.Batches() {
			if !b.Registered {
				m.Batches = append(m.Batches, mockBatch{b.BIC, len(b.SIMs)})
			}
		}
		for _, sim := range ws.SIMs() {
			m.Statuses[sim.Status.String()]++
		}
		if !trusted {
			m.Users, m.AppTokens = []mockUser{}, []string{}
			m.Hidden = "logins and application tokens are shown only to callers on loopback or with the control token"
		}
		out = append(out, m)
	}
	wire.WriteJSON(w, http.StatusOK, wire.Bare, out)
}

func idNames(ps []generator.Profile) []idName {
	out := []idName{}
	for _, p := range ps {
		out = append(out, idName{p.ID, p.Name})
	}
	return out
}

// controlled lets a request into the control API: with a control token,
// only one that carries it.
func (s *Server) controlled(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.control != "" && r.URL.Path != "/mock/health" { // a health check carries no secret
			got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
			if !ok || subtle.ConstantTimeCompare([]byte(got), []byte(s.control)) != 1 {
				wire.WriteError(w, &wire.Error{Status: http.StatusUnauthorized, Code: 1102, Token: "InvalidToken",
					Message: "the control API needs the control token: Authorization: Bearer <token given to serve --control-token>"})
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// trusted says whether a control-API caller may see secrets: one with the
// control token, or any caller on loopback when there is none.
func (s *Server) trusted(r *http.Request) bool {
	if s.control != "" {
		return true // controlled checked the token
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.Unmap().IsLoopback()
}
