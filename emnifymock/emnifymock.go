// Package emnifymock runs the mock emnify platform inside a Go test, as
// net/http/httptest runs a server: Start serves it on a loopback port
// until the test ends, with the world of `emnify-mock serve` (a workspace
// of SIMs and devices in mixed states, with three days of history), or a
// world of your own. Point your client at URL with AppToken.
//
//	func TestMyApp(t *testing.T) {
//		m := emnifymock.Start(t, emnifymock.Scenario("factory-test-activation"))
//		app := myapp.New(m.URL+"/api", m.AppToken)
//		...
//		m.Run(t, "suspend-resume")          // more events, now
//		events := m.Events(t)               // the ground truth
//		m.WaitDelivered(t, 10*time.Second)  // data streams caught up
//	}
package emnifymock

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/emnify-mock/emnify-mock/generator"
	"github.com/emnify-mock/emnify-mock/plan"
	"github.com/emnify-mock/emnify-mock/scenarios"
	"github.com/emnify-mock/emnify-mock/server"
)

// DefaultAppToken is the application token a mock accepts unless told
// another (it belongs to the first workspace).
const DefaultAppToken = "emnifymock-app-token"

// Mock is a running mock platform.
type Mock struct {
	URL      string // base URL: the API is under URL+"/api/v1", the control API under URL+"/mock"
	AppToken string
	Server   *server.Server
	World    *plan.World      // as it was at Start; read it only before the first request
	HTTP     *httptest.Server // its listener: Client(), or Close() before the test ends
}

type config struct {
	seed      uint64
	clock     generator.Clock
	now       time.Time
	scenarios []string
	world     *plan.World
	history   []generator.Event
	appToken  string
	addr      string
	options   []func(*server.Options)
}

// Option changes what Start serves.
type Option func(*config)

// Scenario also runs a scenario (a built-in name or a YAML file) into the
// world as history, after the default one; repeatable, in order.
func Scenario(nameOrFile string) Option {
	return func(c *config) { c.scenarios = append(c.scenarios, nameOrFile) }
}

// Seed makes the world's identities (default 1: every run the same).
func Seed(n uint64) Option { return func(c *config) { c.seed = n } }

// AppToken sets the application token the mock accepts.
func AppToken(token string) Option { return func(c *config) { c.appToken = token } }

// Clock runs the world on this clock (default: the wall clock, started
// three days back for the history), and Now is where it stands once the
// history is made: a generator.Virtual is set there, a generator.Shifted
// advanced to it (default: the present).
func Clock(clock generator.Clock, now time.Time) Option {
	return func(c *config) { c.clock, c.now = clock, now }
}

// World serves a world made elsewhere, with its history, instead of the
// default one.
func World(w *plan.World, history []generator.Event) Option {
	return func(c *config) { c.world, c.history = w, history }
}

// Configure changes the server's options (rate limits, data streams'
// retry policy, ...) before it starts.
func Configure(f func(*server.Options)) Option {
	return func(c *config) { c.options = append(c.options, f) }
}

// historyDays is how far back the default world's history begins, as in
// emnify-mock serve.
const historyDays = 3

// Addr listens at HOST:PORT instead of a new loopback port: for an app
// configured with a fixed URL.
func Addr(hostPort string) Option { return func(c *config) { c.addr = hostPort } }

// Start serves the mock until the test ends.
func Start(tb testing.TB, opts ...Option) *Mock {
	tb.Helper()
	m, err := New(opts...)
	if err != nil {
		tb.Fatalf("emnifymock: %v", err)
	}
	tb.Cleanup(m.Close)
	return m
}

// New serves the mock until Close, outside a test (the harness's steps).
func New(opts ...Option) (*Mock, error) {
	c := config{seed: 1, appToken: DefaultAppToken}
	for _, o := range opts {
		o(&c)
	}
	if c.world == nil {
		if err := c.build(); err != nil {
			return nil, err
		}
	}
	o := server.Options{World: c.world, History: c.history, AppTokens: []string{c.appToken}}
	for _, f := range c.options {
		f(&o)
	}
	srv, err := server.New(o)
	if err != nil {
		return nil, err
	}
	ts := httptest.NewUnstartedServer(srv)
	if c.addr != "" {
		ln, err := net.Listen("tcp", c.addr)
		if err != nil {
			srv.Close()
			return nil, err
		}
		ts.Listener.Close()
		ts.Listener = ln
	}
	ts.Start()
	return &Mock{URL: ts.URL, AppToken: c.appToken, Server: srv, World: c.world, HTTP: ts}, nil
}

// Close stops the mock: its listener, its data streams, its players.
func (m *Mock) Close() {
	m.HTTP.Close()
	m.Server.Close()
}

// build makes the default world and runs the scenarios into it as
// history, on one clock, then brings the clock to the present.
func (c *config) build() error {
	if c.clock == nil {
		c.clock = generator.NewShifted(-historyDays * 24 * time.Hour)
	}
	var err error
	if c.world, c.history, err = scenarios.History(c.clock, c.seed, 0, append([]string{"serve-default"}, c.scenarios...)...); err != nil {
		return err
	}
	switch clock := c.clock.(type) {
	case *generator.Virtual:
		if !c.now.IsZero() {
			clock.Set(c.now)
		}
	case *generator.Shifted:
		now := c.now
		if now.IsZero() {
			now = time.Now()
		}
		if ahead := clock.Now().Sub(now); ahead < 0 {
			return clock.Advance(-ahead)
		}
	}
	return nil
}

// Run runs a scenario (a built-in name or a YAML file) into the live
// world now, as POST /mock/scenarios does: its events are appended and
// pushed to data streams. A scenario that spans time moves the clock on
// by its span. It returns how many events it made.
func (m *Mock) Run(tb testing.TB, nameOrFile string) int {
	tb.Helper()
	file, src, err := scenarios.Source(nameOrFile)
	if err != nil {
		tb.Fatalf("emnifymock: %v", err)
	}
	run, err := m.Server.RunScenario(file, src, false)
	if err != nil {
		tb.Fatalf("emnifymock: %v", err)
	}
	return run.Events
}

// Events returns the platform's event log, in order: what a consumer
// should end up having seen.
func (m *Mock) Events(tb testing.TB) []generator.Event {
	tb.Helper()
	raw, _ := m.Server.Log().Since(0)
	events := make([]generator.Event, len(raw))
	for i, b := range raw {
		if err := json.Unmarshal(b, &events[i]); err != nil {
			tb.Fatalf("emnifymock: event %d: %v", i, err)
		}
	}
	return events
}

// WaitDelivered waits until every data stream has delivered everything it
// owes, and fails the test after timeout, naming what is left.
func (m *Mock) WaitDelivered(tb testing.TB, timeout time.Duration) {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	for {
		var owed []string
		for _, d := range m.Server.Deliveries() {
			if d.Undelivered > 0 {
				owed = append(owed, fmt.Sprintf("stream %d to %s (%s): %d undelivered, last error %q", d.ID, d.URL, d.Status, d.Undelivered, d.LastError))
			}
		}
		if len(owed) == 0 {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("emnifymock: after %s the data streams still owe events:\n  %s", timeout, strings.Join(owed, "\n  "))
		}
		time.Sleep(10 * time.Millisecond)
	}
}
