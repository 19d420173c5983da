package server

import (
	"context"
	"fmt"
	"net/http"
	"slices"

	"github.com/emnify-mock/emnify-mock/eventlog"
	"github.com/emnify-mock/emnify-mock/streamer"
)

// A data stream's delivery: a loop per stream that reads the log from the
// stream's cursor and pushes what matches with the streamer engine.

func (s *Server) deliveryOptions(st *stream) (streamer.Options, error) {
	if err := s.streams.opts.Destinations.Check(st.URL); err != nil {
		return streamer.Options{}, fmt.Errorf("destination.credentials.url: %v (serve --allow-remote-webhooks HOST lifts it)", err)
	}
	switch st.Method {
	case http.MethodPost, http.MethodPut, http.MethodPatch:
	default:
		return streamer.Options{}, fmt.Errorf("destination.credentials.method must be POST, PUT or PATCH, got %q", st.Method)
	}
	h, err := streamer.ParseHeaders(st.Headers)
	if err != nil {
		return streamer.Options{}, fmt.Errorf("destination.credentials.headers: %v", err)
	}
	o := streamer.Options{URL: st.URL, Method: st.Method, Headers: h, Size: st.Size, Retry: s.streams.opts.Retry,
		Clock: s.streams.opts.Clock, Timeout: timeSeconds(s.streams.opts.Timeout), Workers: streamWorkers, Probe: streamer.DefaultProbe}
	return o, o.Validate()
}

// streamWorkers is how many requests a data stream has in flight.
const streamWorkers = 4

// startStream starts the stream's delivery loop.
func (s *Server) startStream(st *stream) {
	o, err := s.deliveryOptions(st)
	if err != nil { // checked when the stream was made
		st.status, st.lastError = streamError, err.Error()
		st.cancel = func() {}
		return
	}
	// One engine, with its connections, for the stream's life.
	o.Client = streamer.NewClient(o.Timeout, o.Workers)
	engine, _ := streamer.New(o) // deliveryOptions validated o
	ctx, cancel := context.WithCancel(s.streams.ctx)
	st.cancel = cancel
	s.streams.wg.Add(1)
	go func() {
		defer s.streams.wg.Done()
		defer o.Client.CloseIdleConnections()
		s.runStream(ctx, st, engine)
	}()
}

// runStream delivers the stream's events while it runs: it reads the log
// from its cursor, keeps the events that match, and moves the cursor past
// them once all are acknowledged. If any ends as a dead letter, the stream
// goes to Error with the cursor at the first undelivered event, and waits
// for a restart; paused, it waits for a resume, losing nothing.
func (s *Server) runStream(ctx context.Context, st *stream, engine *streamer.Streamer) {
	for ctx.Err() == nil {
		st.mu.Lock()
		status, cursor := st.status, st.cursor
		st.mu.Unlock()
		changed := s.log.Changed()
		if status != streamRunning {
			select {
			case <-st.wake:
			case <-ctx.Done():
			}
			continue
		}
		entries, next := s.log.Entries(cursor, 10*st.Size)
		var items []streamer.Item
		pos := map[int64]int{}
		for _, e := range entries {
			if st.wants(e) {
				items = append(items, streamer.Item{ID: e.ID, JSON: e.JSON})
				if _, seen := pos[e.ID]; !seen {
					pos[e.ID] = e.Pos
				}
			}
		}
		if len(items) == 0 {
			st.mu.Lock()
			st.cursor = next
			st.mu.Unlock()
			if next == cursor {
				select {
				case <-changed:
				case <-st.wake:
				case <-ctx.Done():
				}
			}
			continue
		}
		firstDead, lastErr, lastStatus := -1, "", 0
		in := make(chan streamer.Item, len(items))
		for _, it := range items {
			in <- it
		}
		close(in)
		for r := range engine.Deliver(ctx, in) {
			if out := r.Outcome; out != nil && !out.Acked {
				lastErr, lastStatus = out.Err, out.Status
				for _, it := range out.Items {
					if p := pos[it.ID]; firstDead < 0 || p < firstDead {
						firstDead = p
					}
				}
			} else if a := r.Attempt; a != nil {
				st.mu.Lock()
				st.requests++
				st.lastStatus = a.Status
				if a.Err == "" { // the target answers again: the old error is history
					st.lastError = ""
				}
				st.mu.Unlock()
			}
		}
		stats := engine.Stats()
		st.mu.Lock()
		st.delivered += stats.Acked
		if firstDead >= 0 {
			st.status, st.cursor, st.lastError = streamError, firstDead, fmt.Sprintf("%s (HTTP %d)", lastErr, lastStatus)
		} else {
			st.cursor = next
		}
		st.mu.Unlock()
	}
}

// wants says whether the stream delivers a log entry.
func (st *stream) wants(e eventlog.Entry) bool {
	return e.Org == st.Org && (len(st.Types) == 0 || slices.Contains(st.Types, e.Type)) && (!st.AlertOnly || e.Alert)
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
}

// Deliveries returns each data stream's delivery state, in id order.
func (s *Server) Deliveries() []Delivery {
	s.streams.mu.Lock()
	out := []Delivery{}
	for _, st := range s.streams.streams {
		st.mu.Lock()
		d := Delivery{st.ID, st.Org, st.URL, streamStatuses[st.status-1].Description, st.delivered, 0, st.requests, st.lastStatus, st.lastError, st.cursor}
		st.mu.Unlock()
		for pos := d.Pending; ; {
			entries, next := s.log.Entries(pos, 4096)
			for _, e := range entries {
				if st.wants(e) {
					d.Undelivered++
				}
			}
			if next == pos {
				break
			}
			pos = next
		}
		out = append(out, d)
	}
	s.streams.mu.Unlock()
	slices.SortFunc(out, func(a, b Delivery) int { return int(a.ID - b.ID) })
	return out
}

// handleMockDeliveries shows each stream's delivery state.
func (s *Server) handleMockDeliveries(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, ctBare, s.Deliveries())
}
