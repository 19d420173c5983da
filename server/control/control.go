// Package control is the mock's control API under /mock/, outside the
// emnify API: what a test harness uses to run and play scenarios, move the
// clock, save, restore and reset the whole state, and read the event log,
// the API journal and the data streams' deliveries. It acts on the
// server's one state through State, which package server implements.
package control

import (
	"bytes"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/emnify-mock/emnify-mock/eventlog"
	"github.com/emnify-mock/emnify-mock/generator"
	"github.com/emnify-mock/emnify-mock/plan"
	"github.com/emnify-mock/emnify-mock/scenarios"
	"github.com/emnify-mock/emnify-mock/server/internal/wire"
	"github.com/emnify-mock/emnify-mock/streams"
)

// State is what the control API acts on: the server's state, each call
// all or nothing under the server's lock.
type State interface {
	Log() *eventlog.Log
	Closing() <-chan struct{} // closed once the server begins to close
	// RunScenario runs a scenario now, as one change, isolated in
	// workspaces of its own or naming the server's; PlayScenario plays it
	// on the clock in the background. Their errors are the scenario's.
	RunScenario(file string, src []byte, isolated bool) (Run, error)
	PlayScenario(file string, src []byte) (Playing, error)
	Players() []Player
	// AdvanceClock moves the clock on; ErrFixedClock when it cannot.
	AdvanceClock(d time.Duration) (time.Time, error)
	// ReadWorld calls f under the read lock with the world and a function
	// that gives a workspace's application tokens.
	ReadWorld(f func(w *plan.World, appTokens func(org int64) []string))
	TakeSnapshot() int
	Snapshots() []Snapshot
	// RestoreSnapshot and DeleteSnapshot answer a *wire.Error for an
	// unknown or evicted id.
	RestoreSnapshot(id int) error
	DeleteSnapshot(id int) error
	// Reset answers a *wire.Error when it fails, having changed nothing.
	Reset() error
	Journal() *Journal
	Deliveries() []streams.Delivery
	// SetStreamWorkers answers a *wire.Error for an unknown stream or a
	// count out of range.
	SetStreamWorkers(id int64, n int) (streams.Delivery, error)
}

// ErrFixedClock: the server's clock cannot be moved.
var ErrFixedClock = errors.New("this server's clock cannot be moved")

// Run is what a scenario run made.
type Run struct {
	Name        string
	Events      int
	Clock       time.Time // the server's clock after the run
	Advanced    time.Duration
	First, Last time.Time // of its events, when it made any
	From        int       // the log position of its first event
}

// Playing is a scenario started in the background.
type Playing struct {
	ID     int
	Name   string
	Events int       // planned
	Ends   time.Time // planned
}

// Player is a played scenario as GET /mock/scenarios shows it.
type Player struct {
	ID     int    `json:"id"`
	Name   string `json:"scenario"`
	State  string `json:"state"` // running, finished, failed, stopped
	Events int    `json:"events"`
	Next   string `json:"next_step_at,omitempty"`
	Error  string `json:"error,omitempty"`
}

// Snapshot is a saved state: its id, when it was taken on the server's
// clock, and the events then in the log. 0 is the state at start.
type Snapshot struct {
	ID     int
	Taken  time.Time
	Events int
}

// MaxSnapshots is how many saved states are kept: a newer one evicts the
// oldest.
const MaxSnapshots = 32

type control struct {
	st    State
	token string
}

// Without a token the control API is open (serve allows that only on
// loopback, or when told --insecure-control), and secrets are shown only
// to callers on loopback. GET /mock lists it.
// Routes mounts the control API on r (the /mock subrouter). With a token,
// every request but the health check must carry it.
func Routes(r *mux.Router, st State, token string) {
	c := &control{st: st, token: token}
	r.Use(c.controlled)
	routes := []struct {
		method, path, what string
		h                  http.HandlerFunc
	}{
		{"GET", "/health", `liveness for a container's health check: 200 {"status":"ok"}, no token needed`, func(w http.ResponseWriter, _ *http.Request) {
			wire.WriteJSON(w, http.StatusOK, wire.Bare, map[string]string{"status": "ok"})
		}},
		{"GET", "/workspaces", "logins, application tokens, registrable BICs and profiles of every workspace", c.workspaces},
		{"GET", "/events", "the event log, every workspace, as NDJSON; ?from=N starts at the N-th, ?follow=true streams what is appended", c.events},
		{"POST", "/scenarios", "run a scenario now (YAML body, or ?name=BUILT-IN), moving the clock on by its span; ?live=true plays it on the clock in the background; ?isolated=true runs it in workspaces of its own (its names do not refer to the server's workspaces and groups), as verify --platform does", c.scenario},
		{"GET", "/scenarios", "the scenarios played live: state (running, finished, failed, stopped), events so far, next step, error", c.players},
		{"POST", "/clock", `{"advance":"1h"}: move the server's clock on; played steps within the jump happen`, c.clock},
		{"POST", "/snapshots", `save the whole state (world, event log, credentials, data streams and their positions); answers {"id":N}`, c.snapshot},
		{"GET", "/snapshots", "the saved states: id, when taken (server clock), events in the log; 0 is the state at start", c.snapshots},
		{"POST", "/snapshots/{id}/restore", "go back to a saved state, all of it; played scenarios stop", c.restore},
		{"DELETE", "/snapshots/{id}", fmt.Sprintf("forget a saved state (the %d most recent are kept; an older one is evicted)", MaxSnapshots), c.deleteSnapshot},
		{"POST", "/reset", "go back to the state at start, all of it (data streams made since are gone)", c.reset},
		{"GET", "/requests", "the API journal as NDJSON: every request to the emnify API (time, workspace, method, path, query, body, status, error code), refused ones too; ?method=, ?path=/api/v1/sim/*, ?status=4xx, ?workspace= filter; a reset clears it", c.requests},
		{"GET", "/timeline", "the event log as a page for a browser, newest first; ?type=, ?iccid=, ?endpoint=, ?organisation= filter, ?refresh=S reloads", c.timeline},
		{"GET", "/deliveries", "each data stream's delivery state: delivered, undelivered, last status, requests in flight at most (workers)", c.deliveries},
		{"PATCH", "/deliveries/{id}", fmt.Sprintf(`{"workers":N}: how many requests the data stream has in flight (1 to %d; serve --stream-workers is the default); its delivery goes on from the first event not acknowledged`, streams.MaxWorkers), c.setWorkers},
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
func (c *control) events(w http.ResponseWriter, r *http.Request) {
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
	log := c.st.Log()
	for {
		changed := log.Changed()
		if n := log.Len(); from > n {
			from = n // a restore cut the log back: go on from its end
		}
		var events [][]byte
		events, from = log.Since(from)
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
		case <-c.st.Closing():
			return
		}
	}
}

// scenario runs a scenario into the live world, as one change: a scenario
// that fails changes nothing. Its events start at the server's present and
// follow the scenario's own timing; a scenario that spans time moves the
// server's clock on by its span (ids must grow in log order, so its events
// cannot lie in the past), and the answer says so. With ?live=true it is
// played instead: each step when its timing says, on the clock, in the
// background. Randomness continues the world's seeded source, so a server
// started with --seed replays the same way. Workspaces the world has under
// the scenario's keys (acme, production) are acted on; new ones get logins
// and an application token.
func (c *control) scenario(w http.ResponseWriter, r *http.Request) {
	live, apiErr := wire.QueryBool(r, "live")
	if apiErr != nil {
		wire.WriteError(w, apiErr)
		return
	}
	isolated, apiErr := wire.QueryBool(r, "isolated")
	if apiErr != nil {
		wire.WriteError(w, apiErr)
		return
	}
	if live && isolated {
		wire.WriteError(w, wire.BadRequest("isolated runs a scenario now: it cannot be played live"))
		return
	}
	file, src := "request", []byte(nil)
	if name := r.URL.Query().Get("name"); name != "" {
		var ok bool
		if src, ok = scenarios.Builtin(name); !ok {
			wire.WriteError(w, wire.NotFound("Scenario", name))
			return
		}
		file = name + ".yaml"
	} else if src, apiErr = wire.ReadBody(r); apiErr != nil {
		wire.WriteError(w, apiErr)
		return
	}
	stamp := func(t time.Time) string { return t.UTC().Format(generator.TimestampLayout) }
	if live {
		p, err := c.st.PlayScenario(file, src)
		if err != nil {
			wire.WriteError(w, wire.Validation(err.Error()))
			return
		}
		wire.WriteJSON(w, http.StatusAccepted, wire.Bare, map[string]any{"id": p.ID, "scenario": p.Name, "events": p.Events, "live": true, "ends": stamp(p.Ends)})
		return
	}
	run, err := c.st.RunScenario(file, src, isolated)
	if err != nil {
		wire.WriteError(w, wire.Validation(err.Error()))
		return
	}
	out := map[string]any{"scenario": run.Name, "events": run.Events, "from": run.From, "clock": stamp(run.Clock), "clock_advanced": generator.FormatDuration(run.Advanced)}
	if run.Events > 0 {
		out["first_event"], out["last_event"] = stamp(run.First), stamp(run.Last)
	}
	wire.WriteJSON(w, http.StatusOK, wire.Bare, out)
}

// players lists the played scenarios.
func (c *control) players(w http.ResponseWriter, r *http.Request) {
	wire.WriteJSON(w, http.StatusOK, wire.Bare, c.st.Players())
}

func (c *control) clock(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Advance string `json:"advance"`
	}
	if apiErr := decodeBody(r, &body, `{"advance":"DURATION"}, such as {"advance":"90s"}`); apiErr != nil {
		wire.WriteError(w, apiErr)
		return
	}
	d, err := time.ParseDuration(body.Advance)
	if err != nil || d < 0 {
		wire.WriteError(w, wire.BadRequest(fmt.Sprintf("advance must be a duration such as 90s or 4h, got %q", body.Advance)))
		return
	}
	now, err := c.st.AdvanceClock(d)
	switch {
	case errors.Is(err, ErrFixedClock):
		wire.WriteError(w, &wire.Error{Status: http.StatusConflict, Code: 1406, Token: "NotAllowed", Message: err.Error()})
	case err != nil:
		wire.WriteError(w, wire.Validation(err.Error()))
	default:
		wire.WriteJSON(w, http.StatusOK, wire.Bare, map[string]string{"now": now.UTC().Format(generator.TimestampLayout)})
	}
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

// workspaces lists the workspaces with what a test needs to log in and
// act: users, application tokens, registrable BICs.
func (c *control) workspaces(w http.ResponseWriter, r *http.Request) {
	trusted := c.trusted(r)
	out := []mockWorkspace{}
	c.st.ReadWorld(func(world *plan.World, appTokens func(int64) []string) {
		for _, ws := range world.Platform.Workspaces() {
			m := mockWorkspace{ID: ws.ID, Name: ws.Name, IPSpace: ws.IPSpace.Prefix.String(),
				Profiles: map[string][]idName{"service": idNames(ws.ServiceProfiles), "tariff": idNames(ws.TariffProfiles)},
				Counts:   map[string]int{"sims": len(ws.SIMs()), "endpoints": len(ws.Endpoints())},
				Statuses: map[string]int{}, Batches: []mockBatch{}, AppTokens: []string{}}
			for _, u := range ws.Users {
				m.Users = append(m.Users, mockUser{u.ID, u.Name, u.Username})
			}
			m.AppTokens = append(m.AppTokens, appTokens(ws.ID)...)
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
	})
	wire.WriteJSON(w, http.StatusOK, wire.Bare, out)
}

// idName is a profile as the API lists it.
type idName struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
}

func idNames(ps []generator.Profile) []idName {
	out := []idName{}
	for _, p := range ps {
		out = append(out, idName{p.ID, p.Name})
	}
	return out
}

func (c *control) snapshot(w http.ResponseWriter, r *http.Request) {
	wire.WriteJSON(w, http.StatusCreated, wire.Bare, map[string]int{"id": c.st.TakeSnapshot()})
}

func (c *control) snapshots(w http.ResponseWriter, r *http.Request) {
	type entry struct {
		ID     int    `json:"id"`
		Taken  string `json:"taken"`
		Events int    `json:"events"`
	}
	out := []entry{}
	for _, sn := range c.st.Snapshots() {
		out = append(out, entry{sn.ID, sn.Taken.UTC().Format(generator.TimestampLayout), sn.Events})
	}
	wire.WriteJSON(w, http.StatusOK, wire.Bare, out)
}

func (c *control) restore(w http.ResponseWriter, r *http.Request) {
	c.onSnapshot(w, r, c.st.RestoreSnapshot)
}

func (c *control) deleteSnapshot(w http.ResponseWriter, r *http.Request) {
	c.onSnapshot(w, r, c.st.DeleteSnapshot)
}

// onSnapshot calls f with the snapshot the path names.
func (c *control) onSnapshot(w http.ResponseWriter, r *http.Request, f func(int) error) {
	raw := mux.Vars(r)["id"]
	id, err := strconv.Atoi(raw)
	if err == nil {
		err = f(id)
	} else {
		err = wire.NotFound("Snapshot", raw)
	}
	noContentOr(w, err)
}

func (c *control) reset(w http.ResponseWriter, r *http.Request) {
	noContentOr(w, c.st.Reset())
}

// noContentOr answers 204, or the error (see answer).
func noContentOr(w http.ResponseWriter, err error) {
	answer(w, err, func() { wire.NoContent(w, wire.Bare) })
}

// answer calls ok, or answers the error: as it is when it is a
// *wire.Error, as a validation error when not.
func answer(w http.ResponseWriter, err error, ok func()) {
	var apiErr *wire.Error
	switch {
	case errors.As(err, &apiErr):
		wire.WriteError(w, apiErr)
	case err != nil:
		wire.WriteError(w, wire.Validation(err.Error()))
	default:
		ok()
	}
}

// decodeBody reads a JSON body into v, refusing unknown fields and
// trailing data; the error says the body is shape.
func decodeBody(r *http.Request, v any, shape string) *wire.Error {
	b, apiErr := wire.ReadBody(r)
	if apiErr != nil {
		return apiErr
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if dec.Decode(v) != nil || dec.More() {
		return wire.BadRequest("the body is " + shape)
	}
	return nil
}

// setWorkers sets a data stream's requests in flight.
func (c *control) setWorkers(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Workers *int `json:"workers"`
	}
	const shape = `{"workers":N}, such as {"workers":16}`
	apiErr := decodeBody(r, &body, shape)
	if apiErr == nil && body.Workers == nil {
		apiErr = wire.BadRequest("the body is " + shape)
	}
	id, err := strconv.ParseInt(mux.Vars(r)["id"], 10, 64)
	if apiErr == nil && err != nil {
		apiErr = wire.NotFound("DataStream", mux.Vars(r)["id"])
	}
	if apiErr != nil {
		wire.WriteError(w, apiErr)
		return
	}
	d, err := c.st.SetStreamWorkers(id, *body.Workers)
	answer(w, err, func() { wire.WriteJSON(w, http.StatusOK, wire.Bare, d) })
}

// deliveries shows each data stream's delivery state.
func (c *control) deliveries(w http.ResponseWriter, r *http.Request) {
	wire.WriteJSON(w, http.StatusOK, wire.Bare, c.st.Deliveries())
}

// controlled lets a request into the control API: with a control token,
// only one that carries it.
func (c *control) controlled(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c.token != "" && r.URL.Path != "/mock/health" { // a health check carries no secret
			got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
			if !ok || subtle.ConstantTimeCompare([]byte(got), []byte(c.token)) != 1 {
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
func (c *control) trusted(r *http.Request) bool {
	if c.token != "" {
		return true // controlled checked the token
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.Unmap().IsLoopback()
}
