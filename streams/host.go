// Package streams hosts the mock platform's data streams: each stream
// reads the event log from its cursor and pushes the events that match its
// filters to its webhook with the streamer engine, at-least-once, as
// emnify's Data Streamer does. The emnify API (package server) registers,
// lists and changes streams; their state is part of the server's one
// state, saved and restored with it.
package streams

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/emnify-mock/emnify-mock/eventlog"
	"github.com/emnify-mock/emnify-mock/generator"
	"github.com/emnify-mock/emnify-mock/streamer"
)

// Data stream statuses (GET /api/v2/data_stream/status), by id.
const (
	Running = 1
	Paused  = 2
	Error   = 3
	Pending = 4
)

// Statuses lists the statuses as the API names them.
var Statuses = []generator.Lookup{{ID: Running, Description: "Running"}, {ID: Paused, Description: "Paused"},
	{ID: Error, Description: "Error"}, {ID: Pending, Description: "Pending"}}

// Options configure the streams' delivery.
type Options struct {
	Retry   streamer.Policy // default the emnify preset
	Clock   generator.Clock // back-off waits; default the real clock
	Timeout int             // seconds per request; default 10
	Workers int             // requests in flight per stream; default DefaultWorkers
	// Destinations is where streams may send: loopback hosts unless
	// allowed (serve --allow-remote-webhooks).
	Destinations streamer.Destinations
	// Held keeps every stream from delivering until Release: a server
	// replaying its journal registers the streams it had without sending.
	Held bool
}

// Config is what a stream's owner sets.
type Config struct {
	Name      string
	Org       int64
	URL       string
	Method    string
	Headers   []string // "Name:value"
	Size      int
	Types     []int // event_type_id filter; empty: all
	AlertOnly bool
	Historic  bool
	Workers   int // requests in flight; 0: Options.Workers
}

// Settings are a stream's configuration and status, as the API shows them.
type Settings struct {
	ID int64
	Config
	Status int
}

// Stream is one registered data stream and its delivery loop.
type Stream struct {
	id         int64
	mu         sync.Mutex
	cfg        Config
	status     int
	cursor     int    // log position of the first event not yet delivered
	lastError  string // why it is in Error
	delivered  int64
	requests   int64
	lastStatus int
	wake       chan struct{}      // status changed
	cancel     context.CancelFunc // stops the delivery; requests in flight get streamer.ShutdownGrace
	abort      func()             // stops it and cuts them at once
	done       chan struct{}      // closed when the delivery loop has ended; nil while held
}

// Host runs every data stream.
type Host struct {
	log     *eventlog.Log
	opts    Options
	mu      sync.Mutex
	streams map[int64]*Stream
	nextID  int64
	ctx     context.Context
	stop    context.CancelFunc
	wg      sync.WaitGroup
	held    bool // guarded by mu
}

// New returns a host whose streams read log.
func New(log *eventlog.Log, o Options) *Host {
	if o.Retry.Attempts == 0 {
		o.Retry = streamer.Presets["emnify"]
	}
	if o.Clock == nil {
		o.Clock = generator.Real{}
	}
	if o.Timeout <= 0 {
		o.Timeout = 10
	}
	if o.Workers <= 0 {
		o.Workers = DefaultWorkers
	}
	ctx, stop := context.WithCancel(context.Background())
	return &Host{log: log, opts: o, streams: map[int64]*Stream{}, nextID: 1000, ctx: ctx, stop: stop, held: o.Held}
}

// Check says why a configuration cannot be delivered, or nil.
func (h *Host) Check(cfg Config) error {
	_, err := h.deliveryOptions(cfg)
	return err
}

// Add registers a stream in the given status (Running or Paused) and
// starts its delivery at the log position cursor. The caller holds the
// lock that orders log appends and snapshots, so the stream's place in the
// log is exact.
func (h *Host) Add(cfg Config, status, cursor int) *Stream {
	st := &Stream{cfg: cfg, status: status, cursor: cursor, wake: make(chan struct{}, 1)}
	h.mu.Lock()
	h.nextID++
	st.id = h.nextID
	h.streams[st.id] = st
	h.mu.Unlock()
	h.start(st)
	return st
}

// ByID returns a stream of any organisation, or nil.
func (h *Host) ByID(id int64) *Stream {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.streams[id]
}

// SetWorkers sets how many requests the stream has in flight and starts
// its delivery again from its cursor, the first event not acknowledged:
// what was in flight may be delivered twice, as at-least-once allows. The
// caller holds the lock that orders changes to the streams.
func (h *Host) SetWorkers(st *Stream, n int) {
	if st.done != nil {
		st.abort() // no grace: the state's lock is held
		<-st.done
	}
	st.mu.Lock()
	st.cfg.Workers = n
	st.mu.Unlock()
	h.start(st)
}

// Get returns a stream of the organisation, or nil.
func (h *Host) Get(org, id int64) *Stream {
	h.mu.Lock()
	defer h.mu.Unlock()
	if st := h.streams[id]; st != nil && st.cfg.Org == org {
		return st
	}
	return nil
}

// List returns the organisation's streams in id order.
func (h *Host) List(org int64) []*Stream {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []*Stream
	for _, st := range h.streams {
		if st.cfg.Org == org {
			out = append(out, st)
		}
	}
	slices.SortFunc(out, func(a, b *Stream) int { return int(a.id - b.id) })
	return out
}

// Delete stops a stream's delivery and forgets it.
func (h *Host) Delete(st *Stream) {
	st.cancel()
	h.mu.Lock()
	delete(h.streams, st.id)
	h.mu.Unlock()
}

// Close stops every delivery and waits for them.
func (h *Host) Close() {
	h.mu.Lock()
	h.stop()
	h.mu.Unlock()
	h.wg.Wait()
}

// Settings returns the stream's configuration and status.
func (st *Stream) Settings() Settings {
	st.mu.Lock()
	defer st.mu.Unlock()
	cfg := st.cfg
	cfg.Headers, cfg.Types = slices.Clone(cfg.Headers), slices.Clone(cfg.Types)
	return Settings{ID: st.id, Config: cfg, Status: st.status}
}

// Change renames the stream (name "" keeps it) and sets it Running or
// Paused (0 keeps it); a stream in Error stays there until Restart.
// Paused, its events wait and are delivered on resume.
func (st *Stream) Change(name string, status int) {
	st.mu.Lock()
	if name != "" {
		st.cfg.Name = name
	}
	if (status == Running || status == Paused) && st.status != Error {
		st.status = status
	}
	st.mu.Unlock()
	st.poke()
}

// Restart takes the stream out of Error: delivery resumes from the first
// undelivered event.
func (st *Stream) Restart() {
	st.mu.Lock()
	st.status, st.lastError = Running, ""
	st.mu.Unlock()
	st.poke()
}

func (st *Stream) poke() {
	select {
	case st.wake <- struct{}{}:
	default:
	}
}

// State is the saved state of every data stream: configuration, position
// in the log, status and counters.
type State struct {
	streams []*Stream
	nextID  int64
}

// Save copies every stream's state.
func (h *Host) Save() State {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := State{nextID: h.nextID}
	for _, st := range h.streams {
		out.streams = append(out.streams, st.copy())
	}
	return out
}

// Load stops every stream's delivery, makes the saved streams current and
// starts their delivery; the saved state stays reusable.
func (h *Host) Load(saved State) {
	h.mu.Lock()
	old := h.streams
	h.streams, h.nextID = map[int64]*Stream{}, saved.nextID
	for _, st := range saved.streams {
		h.streams[st.id] = st.copy()
	}
	h.mu.Unlock()
	for _, st := range old {
		st.cancel()
	}
	h.wg.Wait()
	for _, st := range h.streams {
		h.start(st)
	}
}

// copy returns the stream's configuration and delivery state, without
// its delivery loop.
func (st *Stream) copy() *Stream {
	st.mu.Lock()
	defer st.mu.Unlock()
	cfg := st.cfg
	cfg.Headers, cfg.Types = slices.Clone(cfg.Headers), slices.Clone(cfg.Types)
	return &Stream{id: st.id, cfg: cfg, status: st.status, cursor: st.cursor, lastError: st.lastError, delivered: st.delivered,
		requests: st.requests, lastStatus: st.lastStatus, wake: make(chan struct{}, 1)}
}

func (h *Host) deliveryOptions(cfg Config) (streamer.Options, error) {
	if err := h.opts.Destinations.Check(cfg.URL); err != nil {
		return streamer.Options{}, fmt.Errorf("destination.credentials.url: %v (serve --allow-remote-webhooks HOST lifts it)", err)
	}
	switch cfg.Method {
	case http.MethodPost, http.MethodPut, http.MethodPatch:
	default:
		return streamer.Options{}, fmt.Errorf("destination.credentials.method must be POST, PUT or PATCH, got %q", cfg.Method)
	}
	hd, err := streamer.ParseHeaders(cfg.Headers)
	if err != nil {
		return streamer.Options{}, fmt.Errorf("destination.credentials.headers: %v", err)
	}
	o := streamer.Options{URL: cfg.URL, Method: cfg.Method, Headers: hd, Size: cfg.Size, Retry: h.opts.Retry,
		Clock: h.opts.Clock, Timeout: time.Duration(h.opts.Timeout) * time.Second, Workers: h.workers(cfg), Probe: streamer.DefaultProbe}
	return o, o.Validate()
}

// workers is how many requests a stream with cfg has in flight.
func (h *Host) workers(cfg Config) int {
	if cfg.Workers > 0 {
		return cfg.Workers
	}
	return h.opts.Workers
}

// DefaultWorkers is how many requests a data stream has in flight
// unless Options.Workers says otherwise; MaxWorkers the most it may ask.
const (
	DefaultWorkers = 4
	MaxWorkers     = 64
)

// Release lets held streams deliver (Options.Held).
func (h *Host) Release() {
	h.mu.Lock()
	h.held = false
	all := slices.Collect(maps.Values(h.streams))
	h.mu.Unlock()
	for _, st := range all {
		h.start(st)
	}
}

// Position is a stream's delivery state: where it stands in the log, its
// status and counters. A server keeps it in its journal (serve
// --data-dir) to resume delivery after a restart.
type Position struct {
	ID         int64  `json:"id"`
	Cursor     int    `json:"cursor"`
	Status     int    `json:"status"`
	LastError  string `json:"last_error,omitempty"`
	Delivered  int64  `json:"delivered"`
	Requests   int64  `json:"requests"`
	LastStatus int    `json:"last_status,omitempty"`
}

// Positions returns every stream's position, in id order.
func (h *Host) Positions() []Position {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]Position, 0, len(h.streams))
	for _, st := range h.streams {
		st.mu.Lock()
		out = append(out, Position{st.id, st.cursor, st.status, st.lastError, st.delivered, st.requests, st.lastStatus})
		st.mu.Unlock()
	}
	slices.SortFunc(out, func(a, b Position) int { return int(a.ID - b.ID) })
	return out
}

// SetPositions puts streams back where they stood; streams it does not
// name keep theirs. It is for held streams, before Release.
func (h *Host) SetPositions(ps []Position) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, p := range ps {
		if st := h.streams[p.ID]; st != nil {
			st.mu.Lock()
			st.cursor, st.status, st.lastError = p.Cursor, p.Status, p.LastError
			st.delivered, st.requests, st.lastStatus = p.Delivered, p.Requests, p.LastStatus
			st.mu.Unlock()
		}
	}
}

// start starts the stream's delivery loop; a held host starts it at
// Release.
func (h *Host) start(st *Stream) {
	// Counted under the lock that Close stops the host under: a stream
	// added or changed while the host closes never starts after Close's
	// wait has begun.
	h.mu.Lock()
	run := !h.held && h.ctx.Err() == nil
	if run {
		h.wg.Add(1)
	}
	h.mu.Unlock()
	if !run {
		st.cancel, st.done = func() {}, nil
		return
	}
	o, err := h.deliveryOptions(st.cfg)
	if err != nil { // checked when the stream was made
		h.wg.Done()
		st.status, st.lastError = Error, err.Error()
		st.cancel, st.done = func() {}, nil
		return
	}
	// One engine, with its connections, for the delivery's life.
	o.Client = streamer.NewClient(o.Timeout, o.Workers)
	cut := make(chan struct{})
	o.Abort = cut
	engine, _ := streamer.New(o) // deliveryOptions validated o
	ctx, cancel := context.WithCancel(h.ctx)
	st.cancel, st.done = cancel, make(chan struct{})
	st.abort = func() { close(cut); cancel() }
	go func() {
		defer h.wg.Done()
		defer close(st.done)
		defer o.Client.CloseIdleConnections()
		h.run(ctx, st, engine)
	}()
}
