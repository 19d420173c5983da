// Package server is the mock emnify REST API: a gorilla/mux handler over a
// plan.World whose state changes go through the platform's state
// machines and whose events go to one append-only eventlog.Log. It owns
// the mocked platform's state; the control API (package control, under
// /mock/) acts on it through control.State, and the data streams are
// hosted by package streams.
//
// Who owns what: the Server owns the mocked platform's state as one value
// (state.go) under its lock s.mu. The world changes only through
// generator.Platform.Do, called by apply (API writes, the living fleet),
// the scenario routes and the players, each appending the change's events
// to the log in the same critical section. Handlers decode, call the
// domain, and encode; the rules are the domain's.
package server

import (
	"cmp"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/mux"
	"golang.org/x/time/rate"

	"github.com/emnify-mock/emnify-mock/eventlog"
	"github.com/emnify-mock/emnify-mock/generator"
	"github.com/emnify-mock/emnify-mock/plan"
	"github.com/emnify-mock/emnify-mock/server/control"
	"github.com/emnify-mock/emnify-mock/server/internal/wire"
	"github.com/emnify-mock/emnify-mock/streams"
)

// Defaults.
const (
	DefaultAddr     = "127.0.0.1:8080"
	DefaultPassword = "emnify-mock"
	MaxBodyBytes    = 1 << 20
	MaxHeaderBytes  = 64 << 10 // request line and headers
	MaxQueryBytes   = 8 << 10  // the query string: its work and its echo in X-Sort, X-Filter and Link
	ShutdownTimeout = 5 * time.Second
)

// Options configure a Server. World is required; the rest have defaults.
type Options struct {
	World *plan.World
	// Rebuild, when set, makes World again as it was given, for POST
	// /mock/reset, instead of a copy of it kept from the start: for a large
	// fleet that copy is half the heap. It must make the same world each
	// time (same seed, sources and clock instants), on a clock of its own
	// if it likes: the world it makes goes on on World's clock.
	Rebuild func() (*plan.World, error)
	// History is appended to the log at start, sorted by id: the events
	// that brought the world to its state.
	History []generator.Event
	// AppTokens maps accepted application-token strings to the tokens of
	// the world's first workspace, in order; default one random string.
	AppTokens []string
	Password  string // accepted for every user; default DefaultPassword
	Secret    []byte // JWT key; default random
	Logger    *log.Logger
	Streams   streams.Options // the Data Streamer's retries and clock
	// RateLimits enforces emnify's documented API rate limits (429).
	RateLimits bool
	// Throttle, when set, is asked about every request to a route emnify
	// limits per organisation; true answers it 429 as if over the limit.
	// A test uses it to make a consumer meet 429s whatever its speed: the
	// real limits are per second of wall time, which a slow machine may
	// never reach.
	Throttle func(*http.Request) bool
	// ControlToken, when set, is required as a bearer token by every
	// request to the control API (/mock/*). Without one the control API is
	// open, and logins and tokens are shown only to callers on loopback.
	ControlToken string
	// Journal, when set, keeps every change (serve --data-dir): the
	// world's clock must be a generator.Shifted, and the server replays
	// its journal (Replay) and then Resumes before it serves.
	Journal Journal
	// MaxScenarioEvents is the budget of a scenario run by POST
	// /mock/scenarios (plan.Plan.MaxEvents); 0: plan.DefaultMaxEvents.
	MaxScenarioEvents int
}

// Server is the mock API. It is an http.Handler; Open also listens.
type Server struct {
	// mu guards the platform's state: world, log, creds, streams (each of
	// which also has a lock of its own for readers), snapshots, players.
	mu          sync.RWMutex
	world       *plan.World
	log         *eventlog.Log
	creds       credentials
	dataStreams *streams.Host
	clock       generator.Clock // the world's: one clock for everything
	secret      []byte
	verified    sync.Map     // token → claims, see verify
	cached      atomic.Int64 // entries in verified
	lockouts    lockouts     // failed user logins

	password string
	logger   *log.Logger

	snapshots snapshots
	limits    *limiter // nil: no rate limits and no throttle
	maxEvents int      // a scenario's budget
	control   string   // the control API's token; "" for none
	players   players
	requests  control.Journal // the API journal, GET /mock/requests
	walk      generator.Activity

	// A durable server's journal (durable.go); its writer makes the
	// changes, one after the other.
	journal       Journal
	jobs          chan *job
	writerStop    chan struct{}
	broken        error // the journal failed: nothing more changes
	replaying     bool  // from New to Resume, with a journal
	streamsClosed chan struct{}
	closeOnce     sync.Once
	stopOnce      sync.Once
	positionsDone chan struct{}
	closing       context.Context // done once Close begins
	close         context.CancelFunc

	router http.Handler
	mux    http.Handler // the routes alone: what a replay runs
	http   *http.Server
	ln     net.Listener
}

// New builds the server over the world, which it owns from now on, on
// the world's clock.
func New(o Options) (*Server, error) {
	if o.World == nil || len(o.World.Platform.Workspaces()) == 0 {
		return nil, errors.New("server: a world with at least one workspace is required")
	}
	s := &Server{world: o.World, log: eventlog.NewLog(), maxEvents: o.MaxScenarioEvents, control: o.ControlToken, clock: o.World.Clock(), secret: o.Secret, password: o.Password, logger: o.Logger,
		creds:   credentials{appTokens: map[string]credential{}, logins: map[string]credential{}},
		players: players{byID: map[int]*player{}}}
	s.streamsClosed = make(chan struct{})
	if o.Journal != nil {
		if _, ok := s.clock.(holder); !ok {
			return nil, errors.New("server: a journal needs a world on a generator.Shifted clock")
		}
		s.journal, s.replaying, o.Streams.Held = o.Journal, true, true
		s.jobs, s.writerStop = make(chan *job), make(chan struct{})
		go s.writer()
		s.log.Gate()
	}
	s.dataStreams = streams.New(s.log, o.Streams)
	s.closing, s.close = context.WithCancel(context.Background())
	if s.secret == nil {
		s.secret = make([]byte, 48)
		rand.Read(s.secret)
	}
	if s.password == "" {
		s.password = DefaultPassword
	}
	if s.logger == nil {
		s.logger = log.New(log.Writer(), "emnify-mock: ", log.LstdFlags)
	}
	if o.RateLimits || o.Throttle != nil {
		s.limits = &limiter{enforce: o.RateLimits, throttle: o.Throttle, buckets: map[string]*rate.Limiter{}, now: s.clock.Now}
	}
	first := o.World.Platform.Workspaces()[0]
	for i, t := range o.AppTokens {
		s.creds.appTokens[t] = credential{org: first.ID, token: first.Tokens[i%len(first.Tokens)].ID}
	}
	s.addCredentials() // every workspace without one gets a token of its own
	history := slices.Clone(o.History)
	slices.SortStableFunc(history, func(a, b generator.Event) int { return cmp.Compare(a.ID, b.ID) })
	s.log.Append(history...)
	s.snapshots.start = &snapshot{taken: s.clock.Now(), events: s.log.Len(), st: s.save(o.Rebuild)}
	s.mux = s.routes()
	s.router = s.guard(s.journaled(s.gateway(s.limited(s.durable(s.mux)))))
	return s, nil
}

// Log returns the server's event log.
func (s *Server) Log() *eventlog.Log { return s.log }

// AppTokens returns the application-token strings of the first workspace.
func (s *Server) AppTokens() []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []string
	first := s.world.Platform.Workspaces()[0].ID
	for t, c := range s.creds.appTokens {
		if c.org == first {
			out = append(out, t)
		}
	}
	slices.Sort(out)
	return out
}

func (s *Server) routes() *mux.Router {
	r := mux.NewRouter().SkipClean(true) // the gateway collapses slashes; nothing redirects
	r.NotFoundHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		wire.WriteError(w, &wire.Error{Status: http.StatusNotFound, Code: 1201, Token: "NotFound", Message: "No route for " + r.Method + " " + r.URL.Path})
	})
	r.MethodNotAllowedHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		wire.WriteError(w, &wire.Error{Status: http.StatusMethodNotAllowed, Code: 1000, Token: "BadRequest", Message: "Method " + r.Method + " is not allowed on " + r.URL.Path})
	})
	r.HandleFunc("/api/v1/authenticate", s.handleAuthenticate).Methods("POST")

	api := r.PathPrefix("/api/v1").Subrouter()
	api.Use(s.authenticated)
	if s.limits != nil {
		api.Use(s.limitByOrg)
	}
	api.HandleFunc("/event", s.handleEvents).Methods("GET")
	api.HandleFunc("/event/type", s.handleEventTypes).Methods("GET")
	api.HandleFunc("/endpoint/{id}/event", s.handleScopedEvents("endpoint")).Methods("GET")
	api.HandleFunc("/sim/{id}/event", s.handleScopedEvents("sim")).Methods("GET")
	api.HandleFunc("/user/my/event", s.handleScopedEvents("my")).Methods("GET")
	api.HandleFunc("/user/{id}/event", s.handleScopedEvents("user")).Methods("GET")
	api.HandleFunc("/user/my", s.handleMyUser).Methods("GET")

	api.HandleFunc("/sim", s.handleSIMs).Methods("GET")
	api.HandleFunc("/sim/status", lookups(generator.SIMStatuses)).Methods("GET")
	api.HandleFunc("/sim/migration/workspace", s.handleMigration).Methods("POST")
	api.HandleFunc("/sim/{id}", s.handleSIM).Methods("GET")
	api.HandleFunc("/sim/{id}", s.handlePatchSIM).Methods("PATCH")
	api.HandleFunc("/sim/{id}", s.handleDeleteSIM).Methods("DELETE")
	api.HandleFunc("/sim_batch/bic/{bic}", s.handleBatch).Methods("GET")
	api.HandleFunc("/sim_batch/bic/{bic}", s.handleRegisterBatch).Methods("PATCH")

	api.HandleFunc("/endpoint", s.handleEndpoints).Methods("GET")
	api.HandleFunc("/endpoint", s.handleCreateEndpoint).Methods("POST")
	api.HandleFunc("/endpoint/status", lookups(generator.EndpointStatuses)).Methods("GET")
	api.HandleFunc("/endpoint/{id}", s.handleEndpoint).Methods("GET")
	api.HandleFunc("/endpoint/{id}", s.handlePatchEndpoint).Methods("PATCH")
	api.HandleFunc("/endpoint/{id}", s.handleDeleteEndpoint).Methods("DELETE")
	api.HandleFunc("/endpoint/{id}/connectivity", s.handleConnectivity).Methods("GET")
	api.HandleFunc("/endpoint/{id}/connectivity", s.handleResetConnectivity).Methods("PATCH")

	s.operatorRoutes(api)

	api.HandleFunc("/service_profile", s.handleProfiles(func(w *generator.Workspace) []generator.Profile { return w.ServiceProfiles })).Methods("GET")
	api.HandleFunc("/tariff_profile", s.handleProfiles(func(w *generator.Workspace) []generator.Profile { return w.TariffProfiles })).Methods("GET")

	v2 := r.PathPrefix("/api/v2").Subrouter()
	v2.Use(s.authenticated)
	s.streamRoutes(v2)

	control.Routes(r.PathPrefix("/mock").Subrouter(), s, s.control)
	return r
}

// guard limits request bodies and turns a panic into a 500, so one bad
// request cannot take the server down.
func (s *Server) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				s.logger.Printf("panic serving %s %s: %v", r.Method, r.URL, v)
				wire.WriteError(w, wire.Internal("internal error"))
			}
		}()
		r.Body = http.MaxBytesReader(w, r.Body, MaxBodyBytes)
		next.ServeHTTP(w, r)
	})
}

// limited refuses a query string over the limit, and past emnify's per-IP
// rate limits when they are on.
func (s *Server) limited(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if len(r.URL.RawQuery) > MaxQueryBytes {
			wire.WriteError(w, &wire.Error{Status: http.StatusRequestURITooLong, Code: 1000, Token: "BadRequest",
				Message: fmt.Sprintf("The query string is too long (more than %d bytes)", MaxQueryBytes)})
			return
		}
		if s.limits != nil && s.limits.enforce && strings.HasPrefix(r.URL.Path, "/api/") && !s.allowIP(r) {
			wire.WriteError(w, errTooManyRequests)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func varsOf(r *http.Request) map[string]string { return mux.Vars(r) }

// ServeHTTP serves the API.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.router.ServeHTTP(w, r) }

// Open listens on addr (":0" picks a port) and serves in the background.
func (s *Server) Open(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	s.ln = ln
	// No WriteTimeout: /mock/events?follow=true streams for as long as its
	// client stays. A body must arrive within ReadTimeout; an idle
	// keep-alive connection is closed after IdleTimeout.
	s.http = &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		IdleTimeout: 2 * time.Minute, MaxHeaderBytes: MaxHeaderBytes, ErrorLog: s.logger}
	go s.http.Serve(ln)
	return nil
}

// URL returns the base URL the server listens on; listening on every
// address, it names loopback, which a client on this machine can reach.
func (s *Server) URL() string {
	addr := s.ln.Addr().(*net.TCPAddr)
	if addr.IP.IsUnspecified() {
		return fmt.Sprintf("http://127.0.0.1:%d", addr.Port)
	}
	return "http://" + addr.String()
}

// Close stops the data streams and the server, letting requests in
// flight finish for up to ShutdownTimeout.
func (s *Server) Close() error {
	s.close() // ends followers of /mock/events
	s.mu.Lock()
	s.stopPlays()
	var playing []*player
	for _, p := range s.players.byID {
		if p.started {
			playing = append(playing, p)
		}
	}
	s.mu.Unlock()
	for _, p := range playing {
		<-p.done
	}
	s.dataStreams.Close()
	s.closeOnce.Do(func() { close(s.streamsClosed) })
	if s.positionsDone != nil {
		<-s.positionsDone // the last positions are recorded
	}
	var err error
	if s.http != nil {
		ctx, cancel := context.WithTimeout(context.Background(), ShutdownTimeout)
		defer cancel()
		err = s.http.Shutdown(ctx)
	}
	if s.writerStop != nil { // every request has been answered
		s.stopOnce.Do(func() { close(s.writerStop) })
	}
	return err
}

// apply makes a change to the world, all or nothing, and appends its
// events, under the write lock.
func (s *Server) apply(change func() ([]generator.Event, error)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	events, err := s.world.Platform.Do(change)
	if err != nil {
		return err
	}
	s.log.Append(events...)
	return nil
}

func lookups(l []generator.Lookup) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) { wire.WriteJSON(w, http.StatusOK, wire.JSON, l) }
}

func (s *Server) handleProfiles(of func(*generator.Workspace) []generator.Profile) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		type profile struct {
			ID   int64  `json:"id"`
			Name string `json:"name"`
		}
		var out []profile
		s.mu.RLock()
		for _, p := range of(callerOf(r).ws) {
			out = append(out, profile{p.ID, p.Name})
		}
		s.mu.RUnlock()
		wire.WriteJSON(w, http.StatusOK, wire.JSON, out)
	}
}

func (s *Server) handleMyUser(w http.ResponseWriter, r *http.Request) {
	c := callerOf(r)
	if c.user == nil {
		wire.WriteError(w, &wire.Error{Status: http.StatusNotFound, Code: 1201, Token: "NotFound", Message: "An application token has no user"})
		return
	}
	wire.WriteJSON(w, http.StatusOK, wire.JSON, struct {
		ID           int64  `json:"id"`
		Username     string `json:"username"`
		Name         string `json:"name"`
		Organisation struct {
			ID   int64  `json:"id"`
			Name string `json:"name"`
		} `json:"organisation"`
	}{ID: c.user.ID, Username: c.user.Username, Name: c.user.Name, Organisation: struct {
		ID   int64  `json:"id"`
		Name string `json:"name"`
	}{c.ws.ID, c.ws.Name}})
}
