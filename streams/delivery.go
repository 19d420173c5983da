package streams

import (
	"context"
	"fmt"
	"slices"
	"sync"

	"github.com/emnify-mock/emnify-mock/eventlog"
	"github.com/emnify-mock/emnify-mock/streamer"
)

// run delivers the stream's events while it runs; paused or in Error, it
// waits for a resume or a restart, losing nothing.
func (h *Host) run(ctx context.Context, st *Stream, engine *streamer.Streamer) {
	for ctx.Err() == nil {
		st.mu.Lock()
		status, cursor := st.status, st.cursor
		st.mu.Unlock()
		if status != Running {
			select {
			case <-st.wake:
			case <-ctx.Done():
			}
			continue
		}
		h.deliverFrom(ctx, st, engine, cursor)
	}
}

// deliverFrom delivers from the log position cursor on until the stream
// stops running or ctx ends. A feeder hands the events that match to the
// engine as it reads them, so the engine's workers never wait for a batch
// to finish; the window moves the cursor past the oldest event not yet
// acknowledged. A dead letter puts the stream in Error with the cursor at
// the first undelivered event; what is in flight then is cut.
func (h *Host) deliverFrom(ctx context.Context, st *Stream, engine *streamer.Streamer, cursor int) {
	runCtx, cut := context.WithCancel(ctx)
	defer cut()
	w := &window{st: st, fed: cursor, acked: map[int]bool{}}
	in := make(chan streamer.Item, 2*h.opts.Workers*st.cfg.Size)
	go h.feed(runCtx, w, cursor, in)
	for r := range engine.Deliver(runCtx, in) {
		if a := r.Attempt; a != nil {
			st.mu.Lock()
			st.requests++
			st.lastStatus = a.Status
			st.mu.Unlock()
		} else if w.settle(*r.Outcome, ctx.Err() == nil) {
			cut()
		}
	}
}

// window is what a stream has handed to its engine and not yet seen
// acknowledged; it owns the stream's cursor while the stream delivers.
type window struct {
	st     *Stream
	mu     sync.Mutex
	queue  []int        // positions handed to the engine and not yet acknowledged, in log order
	acked  map[int]bool // acknowledged positions still in queue
	fed    int          // the feeder has read the log up to here (queued included)
	failed bool         // a dead letter stopped the stream: the cursor stays where it was put
}

// queued notes a position before the feeder hands it to the engine.
func (w *window) queued(pos int) {
	w.mu.Lock()
	w.queue = append(w.queue, pos)
	w.fed = pos + 1
	w.mu.Unlock()
}

// read notes that the feeder has read the log up to next; with nothing
// in flight the cursor follows, so that a stream whose events are all
// elsewhere in the log does not owe them.
func (w *window) read(next int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.fed = next
	w.moveCursor()
}

// settle takes an outcome. A dead letter while live (the stream was not
// stopped from outside) puts the stream in Error; settle then says to cut
// what is in flight.
func (w *window) settle(out streamer.Outcome, live bool) (stop bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if out.Acked {
		for _, it := range out.Items {
			w.acked[int(it.Seq)] = true
		}
	}
	for len(w.queue) > 0 && w.acked[w.queue[0]] {
		delete(w.acked, w.queue[0])
		w.queue = w.queue[1:]
	}
	w.moveCursor()
	st := w.st
	st.mu.Lock()
	defer st.mu.Unlock()
	if out.Acked {
		st.delivered += int64(len(out.Items))
	}
	if out.Acked || w.failed || !live {
		return false
	}
	w.failed = true
	st.status, st.lastError = Error, fmt.Sprintf("%s (HTTP %d)", out.Err, out.Status)
	return true
}

// moveCursor puts the cursor at the first position not acknowledged.
// The caller holds w.mu.
func (w *window) moveCursor() {
	if w.failed {
		return
	}
	next := w.fed
	if len(w.queue) > 0 {
		next = w.queue[0]
	}
	w.st.mu.Lock()
	w.st.cursor = next
	w.st.mu.Unlock()
}

// feed reads the log from pos on and sends the events the stream wants to
// in, noting each in the window; it stops when the stream stops running
// or ctx ends, and closes in.
func (h *Host) feed(ctx context.Context, w *window, pos int, in chan<- streamer.Item) {
	defer close(in)
	st := w.st
	for {
		changed := h.log.Changed()
		entries, next := h.log.Entries(pos, 256)
		for _, e := range entries {
			if !st.wants(e) {
				continue
			}
			w.queued(e.Pos)
			for sent := false; !sent; {
				select {
				case in <- streamer.Item{ID: e.ID, JSON: e.JSON, Seq: int64(e.Pos)}:
					sent = true
				case <-st.wake: // a pause stops the feed even in a long backlog
					if !st.running() {
						return
					}
				case <-ctx.Done():
					return
				}
			}
		}
		w.read(next)
		pos = next
		if len(entries) > 0 {
			continue
		}
		select {
		case <-changed:
		case <-st.wake:
			if !st.running() {
				return
			}
		case <-ctx.Done():
			return
		}
	}
}

func (st *Stream) running() bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.status == Running
}

// wants says whether the stream delivers a log entry.
func (st *Stream) wants(e eventlog.Entry) bool {
	return e.Org == st.cfg.Org && (len(st.cfg.Types) == 0 || slices.Contains(st.cfg.Types, e.Type)) && (!st.cfg.AlertOnly || e.Alert)
}

// Delivery is a data stream's delivery state.
type Delivery struct {
	ID          int64  `json:"id"`
	Org         int64  `json:"organisation_id"`
	URL         string `json:"url"`
	Status      string `json:"status"`
	Delivered   int64  `json:"delivered"`
	Undelivered int    `json:"undelivered"` // in the log, for this stream, not yet acknowledged
	Requests    int64  `json:"requests"`
	LastStatus  int    `json:"last_http_status"`
	LastError   string `json:"last_error,omitempty"`
	Pending     int    `json:"log_position"`
	Workers     int    `json:"workers"` // requests in flight at most
}

// Deliveries returns each data stream's delivery state, in id order.
func (h *Host) Deliveries() []Delivery {
	h.mu.Lock()
	out := []Delivery{}
	for _, st := range h.streams {
		out = append(out, h.Delivery(st))
	}
	h.mu.Unlock()
	slices.SortFunc(out, func(a, b Delivery) int { return int(a.ID - b.ID) })
	return out
}

// Delivery returns one stream's delivery state.
func (h *Host) Delivery(st *Stream) Delivery {
	st.mu.Lock()
	d := Delivery{st.id, st.cfg.Org, st.cfg.URL, Statuses[st.status-1].Description, st.delivered, 0, st.requests, st.lastStatus, st.lastError, st.cursor, h.workers(st.cfg)}
	cfg := st.cfg
	st.mu.Unlock()
	// From the log's indexes: the cost follows the streams, not the
	// backlog.
	d.Undelivered = h.log.Count(cfg.Org, cfg.Types, cfg.AlertOnly, d.Pending)
	return d
}
