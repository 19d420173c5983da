package server_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/emnify-mock/emnify-mock/generator"
)

// TestLive: the fleet changes on its own; its events are in the API's
// lists and on the data stream, and the fleet keeps its size. The instant
// clock makes the gaps pass at once, each moving the clock on.
func TestLive(t *testing.T) {
	m := mustOpenOn(t, generator.NewInstant(t0))
	h := newHook(t)
	m.createStream(h.ts.URL, "")
	sims := len(m.acme().SIMs())
	before := m.srv.Log().Len()

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { m.srv.Live(ctx, 2); close(done) }()
	eventually(t, "300 live events", func() bool { return m.srv.Log().Len() >= before+300 })
	cancel()
	<-done

	events, _ := m.srv.Log().Since(before)
	types := map[int]bool{}
	acme := 0
	var first, last time.Time
	for i, raw := range events {
		var e struct {
			Timestamp string `json:"timestamp"`
			Type      struct {
				ID int `json:"id"`
			} `json:"event_type"`
			Org struct {
				ID int64 `json:"id"`
			} `json:"organisation"`
		}
		if err := json.Unmarshal(raw, &e); err != nil {
			t.Fatalf("event %d: %v: %s", i, err, raw)
		}
		types[e.Type.ID] = true
		if e.Org.ID == m.acme().ID {
			acme++
		}
		ts, _ := time.Parse(generator.TimestampLayout, e.Timestamp)
		if i == 0 {
			first = ts
		}
		last = ts
	}
	if len(types) < 8 {
		t.Errorf("only event types %v: not a fleet's daily life", types)
	}
	// At 2 changes a second, 300 events take minutes of the clock, not
	// milliseconds and not days.
	// 2 changes a second of the clock, each of one to a few events.
	if rate := float64(len(events)) / last.Sub(first).Seconds(); rate < 1.8 || rate > 4 {
		t.Errorf("%d events over %s of the clock: %.2f/s at 2 changes/s", len(events), last.Sub(first), rate)
	}
	if n := len(m.acme().SIMs()); n < sims/2 || n > sims*2 {
		t.Errorf("acme went from %d to %d SIMs: the walk does not keep its size", sims, n)
	}
	eventually(t, "every acme event on the data stream", func() bool { return strings.Count(h.got(), " ")+1 == acme })

	// The newest event is the API's newest too.
	var newest []struct {
		ID int64 `json:"id"`
	}
	json.Unmarshal(m.api("GET", "/api/v1/event?per_page=1&sort=-id", nil, 200), &newest)
	var lastEvent struct {
		ID  int64 `json:"id"`
		Org struct {
			ID int64 `json:"id"`
		} `json:"organisation"`
	}
	for i := len(events) - 1; i >= 0; i-- {
		json.Unmarshal(events[i], &lastEvent)
		if lastEvent.Org.ID == m.acme().ID {
			break
		}
	}
	if len(newest) != 1 || newest[0].ID < lastEvent.ID {
		t.Errorf("GET /event newest %v, the log's newest acme event %d", newest, lastEvent.ID)
	}
}
