package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/emnify-mock/emnify-mock/server/internal/wire"
	"github.com/emnify-mock/emnify-mock/streams"
)

// A durable server (Options.Journal, serve --data-dir) keeps its state as
// a journal of changes: every change to the state is one record, written
// in the order the changes happen, and the state after a restart is the
// state at start with the journal replayed. The domain is deterministic
// given the order of changes and the instant each one reads (the world's
// random source is part of its state), so a replay comes out the same; a
// replay that does not (another version of the code) is refused.
//
// Changes come from four places, all made one after the other by one
// goroutine, the writer: API and control
// requests that answer 2xx (recorded as the request), the living fleet's
// instants, played scenarios' steps, and scenarios played from the
// command line. Each holds the wall clock for its whole length (so it
// reads one instant, recorded with it), and a request's answer waits until
// its record is synced. The streams' positions are recorded every second:
// at least once, a restart redelivers from the last recorded cursor.
// Events are pushed (data streams, /mock/events) only once the record that
// made them is on disk (eventlog.Log.Gate).
//
// Not kept: the API journal (/mock/requests), failed-login lockouts and
// rate-limit buckets start empty after a restart.

// Journal is where a durable server writes its records (datadir.Dir).
type Journal interface {
	// Append writes a record and returns at once; wait returns once it is
	// on disk, and synced is called then.
	Append(rec []byte, synced func()) (wait func() error, err error)
}

// holder is a clock that can be held at an instant (generator.Shifted).
type holder interface {
	Hold(wall time.Time) (at time.Time, release func())
}

// Record kinds.
const (
	kindRequest = "request" // an API or control request that answered 2xx
	kindLive    = "live"    // an instant of the living fleet
	kindStep    = "step"    // a played scenario's next segment
	kindPlay    = "play"    // a scenario played from the command line
	kindStreams = "streams" // the data streams' positions
)

// record is one line of the journal.
type record struct {
	At      time.Time          `json:"at"` // the wall clock, held for the change
	Kind    string             `json:"kind"`
	Method  string             `json:"method,omitempty"`
	URI     string             `json:"uri,omitempty"`
	Auth    string             `json:"authorization,omitempty"`
	Type    string             `json:"content_type,omitempty"`
	Body    string             `json:"body,omitempty"`   // UTF-8
	Body64  []byte             `json:"body64,omitempty"` // otherwise
	Status  int                `json:"status,omitempty"`
	Player  int                `json:"player,omitempty"`
	File    string             `json:"file,omitempty"`
	Streams []streams.Position `json:"streams,omitempty"`
	Events  int                `json:"events"` // in the log after the change
}

// setBody keeps a body as text when it is UTF-8 (all that a JSON or YAML
// body that was accepted can be), else as base64.
func (rec *record) setBody(b []byte) {
	if utf8.Valid(b) {
		rec.Body = string(b)
	} else {
		rec.Body64 = b
	}
}

// body returns the body setBody kept.
func (rec *record) body() []byte {
	if rec.Body64 != nil {
		return rec.Body64
	}
	return []byte(rec.Body)
}

// persist writes a change's record; wait returns once it is on disk. Call
// on the writer, after the change, with the clock still held.
func (s *Server) persist(rec record) (wait func() error, err error) {
	rec.Events = s.log.Len()
	line, err := json.Marshal(rec)
	if err != nil {
		return nil, err
	}
	n := rec.Events
	wait, err = s.journal.Append(line, func() { s.log.Publish(n) })
	if err != nil {
		s.broken = err
	}
	return wait, err
}

// The writer is the one goroutine that makes a durable server's changes,
// one after the other: their order is the journal's. A goroutine of its
// own rather than a lock: on a loaded machine, handing a lock from one
// request's goroutine to the next costs more than the change itself,
// while the writer takes the next change without stopping.

// job is a change for the writer.
type job struct {
	fn    func()
	done  chan struct{}
	panic any // fn's panic, raised again where the job came from
}

// writer runs jobs until the server closes.
func (s *Server) writer() {
	for {
		select {
		case j := <-s.jobs:
			s.run(j)
		case <-s.writerStop:
			return
		}
	}
}

// run runs a job; a panic goes back to whoever asked (a request's panic
// becomes its 500, as without a journal), not down the writer.
func (s *Server) run(j *job) {
	defer close(j.done)
	defer func() { j.panic = recover() }()
	j.fn()
}

// serially runs fn on the writer and waits for it; false once the writer
// has stopped (fn did not run).
func (s *Server) serially(fn func()) bool {
	j := &job{fn: fn, done: make(chan struct{})}
	select {
	case s.jobs <- j:
	case <-s.writerStop:
		return false
	}
	<-j.done
	if j.panic != nil {
		panic(j.panic)
	}
	return true
}

// errClosed is what a change gets once the server has closed.
var errClosed = errors.New("server: closed")

// change makes a change that is not a request (a live instant, a played
// step, a play): with a journal, on the writer, with the clock held, and
// recorded once fn has made it. fn's error means no change.
func (s *Server) change(rec record, fn func() error) error {
	if s.journal == nil {
		return fn()
	}
	return s.onWriter(func(at time.Time) error {
		if err := fn(); err != nil || s.replaying {
			return err
		}
		rec.At = at
		_, err := s.persist(rec)
		return err
	})
}

// onWriter runs fn on the writer with the clock held at the instant it
// gets, unless the journal is broken (or the server closed).
func (s *Server) onWriter(fn func(at time.Time) error) error {
	err := errClosed
	s.serially(func() {
		if err = s.broken; err != nil {
			return
		}
		at, release := s.clock.(holder).Hold(time.Time{})
		defer release()
		err = fn(at)
	})
	return err
}

// durable makes every request that may change the state one change in the
// journal: it runs on the writer with the clock held, and an answer 2xx
// goes out only once the request's record is on disk.
func (s *Server) durable(next http.Handler) http.Handler {
	if s.journal == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodGet || r.Method == http.MethodHead || r.Method == http.MethodOptions,
			r.URL.Path == "/api/v1/authenticate": // changes nothing that is kept
			next.ServeHTTP(w, r)
			return
		}
		body, readErr := io.ReadAll(r.Body) // bounded by guard
		r.Body = io.NopCloser(io.MultiReader(bytes.NewReader(body), errReader{readErr}))
		buf := &buffered{header: w.Header()}
		var wait func() error
		err := s.onWriter(func(at time.Time) (err error) {
			next.ServeHTTP(buf, r)
			if buf.status >= 200 && buf.status < 300 && readErr == nil {
				rec := record{At: at, Kind: kindRequest, Method: r.Method, URI: r.URL.RequestURI(), Auth: r.Header.Get("Authorization"),
					Type: r.Header.Get("Content-Type"), Status: buf.status}
				rec.setBody(body)
				wait, err = s.persist(rec)
			}
			return err
		})
		if err == nil && wait != nil {
			err = wait()
		}
		if err != nil {
			s.logger.Printf("%s %s changed the state, which could not be kept on disk: %v", r.Method, r.URL.Path, err)
			writeBroken(w, err)
			return
		}
		buf.send(w)
	})
}

func writeBroken(w http.ResponseWriter, err error) {
	wire.WriteError(w, &wire.Error{Status: http.StatusServiceUnavailable, Code: 1000, Token: "ServiceUnavailable",
		Message: "the mock's data dir cannot be written, so it changes nothing more until restarted: " + err.Error()})
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) {
	if e.err == nil {
		return 0, io.EOF
	}
	return 0, e.err
}

// buffered holds an answer until its change is on disk.
type buffered struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (b *buffered) Header() http.Header { return b.header }
func (b *buffered) WriteHeader(status int) {
	if b.status == 0 {
		b.status = status
	}
}
func (b *buffered) Write(p []byte) (int, error) {
	b.WriteHeader(http.StatusOK)
	return b.body.Write(p)
}
func (b *buffered) send(w http.ResponseWriter) {
	w.WriteHeader(cmp0(b.status, http.StatusOK))
	w.Write(b.body.Bytes())
}

func cmp0(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}

// Replay applies one journal record to a server made with the journal's
// options and not yet resumed (Resume); records must come in the journal's
// order. A record that does not come out as recorded is an error: the
// directory was written by code that behaves otherwise.
func (s *Server) Replay(line []byte) error {
	if !s.replaying {
		return errors.New("server: Replay after Resume")
	}
	var rec record
	if err := json.Unmarshal(line, &rec); err != nil {
		return fmt.Errorf("not a journal record: %w", err)
	}
	_, release := s.clock.(holder).Hold(rec.At)
	defer release()
	status := 0
	switch rec.Kind {
	case kindRequest:
		status = s.replayRequest(rec)
	case kindLive:
		s.liveInstant()
	case kindStep:
		s.mu.Lock()
		if p := s.players.byID[rec.Player]; p != nil {
			s.step(p, false)
		}
		s.mu.Unlock()
	case kindPlay:
		if _, err := s.PlayScenario(rec.File, rec.body()); err != nil {
			return fmt.Errorf("play %s: %w", rec.File, err)
		}
	case kindStreams:
		s.dataStreams.SetPositions(rec.Streams)
		return nil
	default:
		return fmt.Errorf("unknown record kind %q", rec.Kind)
	}
	if got := s.log.Len(); status != rec.Status || got != rec.Events {
		what := rec.Kind
		if rec.Kind == kindRequest {
			what = rec.Method + " " + rec.URI
		}
		return fmt.Errorf("%s at %s replays to HTTP %d with %d events in the log, but was recorded as HTTP %d with %d: "+
			"the data dir was written by a version of emnify-mock that behaves otherwise (start with a new --data-dir)",
			what, rec.At.Format(time.RFC3339Nano), status, got, rec.Status, rec.Events)
	}
	return nil
}

// replayRequest runs a recorded request through the routes, as its
// caller, and returns its status. The control token is today's: the one
// it was made with passed.
func (s *Server) replayRequest(rec record) int {
	r, err := http.NewRequestWithContext(context.Background(), rec.Method, "http://replay"+rec.URI, bytes.NewReader(rec.body()))
	if err != nil {
		return 0
	}
	r.RemoteAddr = "127.0.0.1:0"
	r.RequestURI = rec.URI
	r.Header.Set("Authorization", rec.Auth)
	if strings.HasPrefix(r.URL.Path, "/mock") && s.control != "" {
		r.Header.Set("Authorization", "Bearer "+s.control)
	}
	if rec.Type != "" {
		r.Header.Set("Content-Type", rec.Type)
	}
	buf := &buffered{header: http.Header{}}
	s.mux.ServeHTTP(buf, r)
	return cmp0(buf.status, http.StatusOK)
}

// Resume ends a replay: data streams deliver again (from the positions
// last recorded), played scenarios go on from their next step, and the
// streams' positions are recorded from now on. A server without a journal
// needs no Resume.
func (s *Server) Resume() {
	s.mu.Lock()
	if !s.replaying {
		s.mu.Unlock()
		return
	}
	s.replaying = false
	for _, p := range s.players.byID {
		if p.state == "running" {
			s.startPlayer(p, s.clock.After(p.next.Sub(s.clock.Now())))
		}
	}
	s.mu.Unlock()
	s.log.Publish(s.log.Len())
	s.dataStreams.Release()
	if s.journal != nil {
		s.positionsDone = make(chan struct{})
		go s.recordPositions()
	}
}

// positionsEvery is how often the data streams' positions are recorded.
const positionsEvery = time.Second

// recordPositions records the streams' positions when they have moved,
// every positionsEvery, and once more at Close.
func (s *Server) recordPositions() {
	defer close(s.positionsDone)
	var last []streams.Position
	write := func() {
		ps := s.dataStreams.Positions()
		if slices.Equal(ps, last) {
			return
		}
		if err := s.change(record{Kind: kindStreams, Streams: ps}, func() error { return nil }); err != nil {
			s.logger.Printf("data streams' positions not kept: %v", err)
			return
		}
		last = ps
	}
	for {
		select {
		case <-s.closing.Done():
			<-s.streamsClosed
			write()
			return
		case <-time.After(positionsEvery):
			write()
		}
	}
}
