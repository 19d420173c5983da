package streams

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/emnify-mock/emnify-mock/generator"
	"github.com/emnify-mock/emnify-mock/streamer"
)

// receiver records the event ids it is sent; gate, when set, decides each
// request's status and may hold it.
type receiver struct {
	ts   *httptest.Server
	mu   sync.Mutex
	seen map[int64]int
	gate func(id int64) int
}

func newReceiver(t *testing.T, gate func(id int64) int) *receiver {
	rc := &receiver{seen: map[int64]int{}, gate: gate}
	rc.ts = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var event struct{ ID int64 } // size 1: one event, not a list
		b, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(b, &event); err != nil {
			t.Errorf("body %.80s: %v", b, err)
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		id := event.ID
		if rc.gate != nil {
			if status := rc.gate(id); status != http.StatusOK {
				w.WriteHeader(status)
				return
			}
		}
		rc.mu.Lock()
		rc.seen[id]++
		rc.mu.Unlock()
	}))
	t.Cleanup(rc.ts.Close)
	return rc
}

func (rc *receiver) count() (distinct, total int) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	for _, n := range rc.seen {
		distinct++
		total += n
	}
	return distinct, total
}

// pipeline is one stream's delivery run by hand: start runs deliverFrom
// from the stream's cursor until the stream stops running.
type pipeline struct {
	h      *Host
	st     *Stream
	engine *streamer.Streamer
	done   chan struct{}
}

func newPipeline(t *testing.T, n int, url string, o Options) *pipeline {
	l, org, _ := backlog(t, n)
	h := New(l, o)
	t.Cleanup(h.Close)
	st := &Stream{cfg: Config{Org: org, URL: url, Method: http.MethodPost, Size: 1}, status: Running, wake: make(chan struct{}, 1)}
	opts, err := h.deliveryOptions(st.cfg)
	if err != nil {
		t.Fatal(err)
	}
	engine, err := streamer.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return &pipeline{h: h, st: st, engine: engine}
}

func (p *pipeline) start() {
	p.done = make(chan struct{})
	p.st.mu.Lock()
	p.st.status = Running
	cursor := p.st.cursor
	p.st.mu.Unlock()
	go func() {
		defer close(p.done)
		p.h.deliverFrom(context.Background(), p.st, p.engine, cursor)
	}()
}

// stopped waits for the run to end on its own.
func (p *pipeline) stopped(t *testing.T) {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		t.Fatal("the delivery did not stop")
	}
}

func (p *pipeline) delivered() int64 {
	p.st.mu.Lock()
	defer p.st.mu.Unlock()
	return p.st.delivered
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// TestPipeline_PauseStopsABacklog: a pause in the middle of a long
// backlog stops the feed with only what was in flight delivered, and a
// resume delivers the rest: every event exactly once, the cursor at the
// log's end.
func TestPipeline_PauseStopsABacklog(t *testing.T) {
	const n = 2000
	arrived := make(chan struct{}, n)
	release := make(chan struct{})
	rc := newReceiver(t, func(int64) int {
		arrived <- struct{}{}
		<-release
		return http.StatusOK
	})
	p := newPipeline(t, n, rc.ts.URL, Options{})
	p.start()
	for range DefaultWorkers { // every worker holds a request
		select {
		case <-arrived:
		case <-time.After(30 * time.Second):
			t.Fatal("the workers did not all send")
		}
	}
	p.st.Change("", Paused)
	close(release)
	p.stopped(t)
	// What was in flight and queued in the pipeline (a few times the
	// workers), not the backlog.
	if d, limit := p.delivered(), int64(8*DefaultWorkers); d < DefaultWorkers || d > limit {
		t.Fatalf("paused after %d requests held, %d delivered; want at most %d", DefaultWorkers, d, limit)
	}
	if distinct, total := rc.count(); int64(total) != p.delivered() || distinct != total {
		t.Fatalf("received %d (%d distinct), delivered %d", total, distinct, p.delivered())
	}
	p.start()
	eventually(t, "the rest after the resume", func() bool { return p.delivered() == n })
	p.st.Change("", Paused)
	p.stopped(t)
	if distinct, total := rc.count(); distinct != n || total != n {
		t.Errorf("received %d requests for %d distinct events; want %d each once", total, distinct, n)
	}
	if p.st.cursor != p.h.log.Len() {
		t.Errorf("cursor %d, log length %d", p.st.cursor, p.h.log.Len())
	}
}

// TestPipeline_DeadLetterStopsAtTheFirstUndelivered: an event that cannot
// be delivered puts the stream in Error with the cursor at or before it,
// with what was in flight cut; after a restart every event arrives, and
// only events from the cursor on arrive twice.
func TestPipeline_DeadLetterStopsAtTheFirstUndelivered(t *testing.T) {
	const n, bad = 1000, 600
	l, _, _ := backlog(t, n)
	entries, _ := l.Entries(0, n)
	badID := entries[bad].ID
	var broken sync.Mutex
	failing := true
	rc := newReceiver(t, func(id int64) int {
		broken.Lock()
		defer broken.Unlock()
		if failing && id == badID {
			return http.StatusInternalServerError
		}
		return http.StatusOK
	})
	p := newPipeline(t, n, rc.ts.URL, Options{Retry: streamer.Policy{Attempts: 2, Initial: time.Second, Max: time.Second},
		Clock: generator.NewInstant(time.Date(2025, 1, 6, 8, 0, 0, 0, time.UTC))})
	p.start()
	p.stopped(t)
	p.st.mu.Lock()
	status, cursor, lastErr := p.st.status, p.st.cursor, p.st.lastError
	p.st.mu.Unlock()
	if status != Error || cursor > bad || lastErr == "" {
		t.Fatalf("status %d, cursor %d (the dead event is at %d), last error %q", status, cursor, bad, lastErr)
	}
	if distinct, _ := rc.count(); distinct >= n-1 {
		t.Errorf("%d events delivered after the dead letter: in-flight work was not cut", distinct)
	}
	broken.Lock()
	failing = false
	broken.Unlock()
	p.start()
	eventually(t, "every event after the restart", func() bool { distinct, _ := rc.count(); return distinct == n })
	p.st.Change("", Paused)
	p.stopped(t)
	rc.mu.Lock()
	defer rc.mu.Unlock()
	for i, e := range entries {
		if k := rc.seen[e.ID]; k > 1 && i < cursor {
			t.Errorf("event %d, before the cursor %d, arrived %d times", i, cursor, k)
		}
	}
}
