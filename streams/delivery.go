package streams

import (
	"context"
	"fmt"
	"slices"

	"github.com/emnify-mock/emnify-mock/eventlog"
	"github.com/emnify-mock/emnify-mock/streamer"
)

// run delivers the stream's events while it runs: it reads the log
// from its cursor, keeps the events that match, and moves the cursor past
// them once all are acknowledged. If any ends as a dead letter, the stream
// goes to Error with the cursor at the first undelivered event, and waits
// for a restart; paused, it waits for a resume, losing nothing.
func (h *Host) run(ctx context.Context, st *Stream, engine *streamer.Streamer) {
	for ctx.Err() == nil {
		st.mu.Lock()
		status, cursor := st.status, st.cursor
		st.mu.Unlock()
		changed := h.log.Changed()
		if status != Running {
			select {
			case <-st.wake:
			case <-ctx.Done():
			}
			continue
		}
		entries, next := h.log.Entries(cursor, 10*st.cfg.Size)
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
			st.status, st.cursor, st.lastError = Error, firstDead, fmt.Sprintf("%s (HTTP %d)", lastErr, lastStatus)
		} else {
			st.cursor = next
		}
		st.mu.Unlock()
	}
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
}

// Deliveries returns each data stream's delivery state, in id order.
func (h *Host) Deliveries() []Delivery {
	h.mu.Lock()
	out := []Delivery{}
	for _, st := range h.streams {
		st.mu.Lock()
		d := Delivery{st.id, st.cfg.Org, st.cfg.URL, Statuses[st.status-1].Description, st.delivered, 0, st.requests, st.lastStatus, st.lastError, st.cursor}
		st.mu.Unlock()
		// From the log's indexes: the cost follows the streams, not the
		// backlog.
		d.Undelivered = h.log.Count(st.cfg.Org, st.cfg.Types, st.cfg.AlertOnly, d.Pending)
		out = append(out, d)
	}
	h.mu.Unlock()
	slices.SortFunc(out, func(a, b Delivery) int { return int(a.ID - b.ID) })
	return out
}
