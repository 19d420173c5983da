package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emnify-mock/emnify-mock/datadir"
	"github.com/emnify-mock/emnify-mock/generator"
	"github.com/emnify-mock/emnify-mock/scenarios"
	"github.com/emnify-mock/emnify-mock/server"
)

// memJournal is a journal in memory: every record is "on disk" at once.
type memJournal struct {
	mu    sync.Mutex
	lines [][]byte
}

func (j *memJournal) Append(rec []byte, synced func()) (func() error, error) {
	j.mu.Lock()
	j.lines = append(j.lines, slices.Clone(rec))
	j.mu.Unlock()
	if synced != nil {
		synced()
	}
	return func() error { return nil }, nil
}

func (j *memJournal) records() [][]byte {
	j.mu.Lock()
	defer j.mu.Unlock()
	return slices.Clone(j.lines)
}

// openDurable serves serve's default world (seed 7), built with the wall
// clock held at wall as serve does, with a journal, after replaying the
// records given.
func openDurable(t testing.TB, wall time.Time, seed uint64, j server.Journal, replay [][]byte) (*mock, error) {
	t.Helper()
	clock := generator.NewShifted(-72 * time.Hour)
	_, release := clock.Hold(wall)
	world, history, err := scenarios.History(clock, seed, 0, "serve-default")
	if err != nil {
		t.Fatal(err)
	}
	if err := clock.Advance(-clock.Offset()); err != nil { // to the present, as serve
		t.Fatal(err)
	}
	srv, err := server.New(server.Options{World: world, History: history, AppTokens: []string{testToken}, Secret: []byte("test secret"),
		Journal: j, Logger: log.New(io.Discard, "", 0)})
	release()
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range replay {
		if err := srv.Replay(line); err != nil {
			srv.Close()
			return nil, err
		}
	}
	srv.Resume()
	ts := httptest.NewServer(srv)
	t.Cleanup(func() { ts.Close(); srv.Close() })
	m := &mock{t: t, srv: srv, http: ts, world: world}
	m.token = m.login(map[string]string{"application_token": testToken})
	return m, nil
}

// simsWith returns the ids of the caller's SIMs in a status.
func (m *mock) simsWith(status int) []int64 {
	m.t.Helper()
	var sims []struct {
		ID     int64
		Status struct{ ID int }
	}
	json.Unmarshal(m.api("GET", "/api/v1/sim?per_page=1000", nil, 200), &sims)
	var ids []int64
	for _, s := range sims {
		if s.Status.ID == status {
			ids = append(ids, s.ID)
		}
	}
	return ids
}

func (m *mock) bare(method, path string, body any, status int) []byte {
	m.t.Helper()
	res, b := m.call(method, path, "", body)
	if res.StatusCode != status {
		m.t.Fatalf("%s %s: status %d, want %d: %s", method, path, res.StatusCode, status, b)
	}
	return b
}

// longNight waits an hour after its first step.
const longNight = `name: long-night
description: two kiosks suspended for an hour
workspaces:
  - name: kiosks
    users: [ops]
    sims:
      - group: machines
        count: 2
        status: activated
        endpoint: {status: enabled}
steps:
  - {do: suspend, target: machines}
  - {do: activate, target: machines, after: 1h}
`

// TestDurable_ReplayComesOutTheSame: a server whose state was changed in
// every way a server's state changes (API writes, a data stream, a
// snapshot and its restore, a scenario run, a scenario played on the clock
// and one still playing, the living fleet, clock jumps) and a second
// server that replays the first's journal hold the same state: the same
// log to the byte, the same SIMs, players, snapshots, tokens and stream
// positions; the second goes on from there.
func TestDurable_ReplayComesOutTheSame(t *testing.T) {
	wall := time.Now().Round(0)
	j := &memJournal{}
	a, _ := openDurable(t, wall, 7, j, nil)
	h := newHook(t)
	a.bare("PATCH", fmt.Sprintf("/mock/deliveries/%d", a.createStream(h.ts.URL, "")), `{"workers":9}`, 200)
	sims := a.simsWith(1)
	a.api("PATCH", fmt.Sprintf("/api/v1/sim/%d", sims[0]), `{"status":{"id":2}}`, 204)
	a.bare("POST", "/mock/snapshots", nil, 201)
	a.api("PATCH", fmt.Sprintf("/api/v1/sim/%d", sims[1]), `{"status":{"id":2}}`, 204)
	a.bare("POST", "/mock/snapshots/1/restore", nil, 204)
	a.bare("POST", "/mock/scenarios?name=reset-connectivity", nil, 200)
	a.token = a.login(map[string]string{"application_token": testToken}) // the scenario moved the clock on
	ctx, stop := context.WithCancel(context.Background())
	before := a.srv.Log().Len()
	live := make(chan struct{})
	go func() { a.srv.Live(ctx, 200); close(live) }()
	eventually(t, "the living fleet to change the world", func() bool { return a.srv.Log().Len() > before+20 })
	stop()
	<-live
	a.bare("POST", "/mock/scenarios?live=true", nightShift, 202)

	a.bare("POST", "/mock/clock", `{"advance":"12h"}`, 200)
	eventually(t, "the played scenario to finish", func() bool { return strings.Contains(string(a.bare("GET", "/mock/scenarios", nil, 200)), `"finished"`) })
	a.token = a.login(map[string]string{"application_token": testToken})
	a.bare("POST", "/mock/scenarios?live=true", longNight, 202) // still playing at the restart
	eventually(t, "the second play's first step", func() bool {
		return strings.Contains(string(a.bare("GET", "/mock/scenarios", nil, 200)), `"next_step_at"`)
	})
	eventually(t, "the stream to deliver everything", func() bool {
		d := a.srv.Deliveries()
		return len(d) == 1 && d[0].Undelivered == 0
	})
	state := func(m *mock) map[string]string {
		return map[string]string{
			"log":        string(m.bare("GET", "/mock/events", nil, 200)),
			"sims":       string(m.api("GET", "/api/v1/sim?per_page=1000", nil, 200)),
			"endpoints":  string(m.api("GET", "/api/v1/endpoint?per_page=1000", nil, 200)),
			"players":    string(m.bare("GET", "/mock/scenarios", nil, 200)),
			"snapshots":  string(m.bare("GET", "/mock/snapshots", nil, 200)),
			"workspaces": string(m.bare("GET", "/mock/workspaces", nil, 200)),
		}
	}
	// /mock/events shows what is on disk: a step's events a moment after
	// the step, once its record is written.
	eventually(t, "every event to be on disk", func() bool {
		return bytes.Count(a.bare("GET", "/mock/events", nil, 200), []byte("\n")) == a.srv.Log().Len()
	})
	want := state(a)
	token := a.token
	a.http.Close()
	a.srv.Close() // records the streams' last positions
	wantDeliveries := a.srv.Deliveries()

	b, err := openDurable(t, wall, 7, &memJournal{}, j.records())
	if err != nil {
		t.Fatal(err)
	}
	b.token = token // a token made before the restart still works
	got := state(b)
	for k := range want {
		if got[k] != want[k] {
			i := 0
			for i < min(len(got[k]), len(want[k])) && got[k][i] == want[k][i] {
				i++
			}
			t.Errorf("%s after the replay differs from byte %d:\n got %.300s\nwant %.300s", k, i, got[k][max(0, i-100):], want[k][max(0, i-100):])
		}
	}
	if d := b.srv.Deliveries(); len(d) != 1 || d[0].Delivered != wantDeliveries[0].Delivered || d[0].Pending != wantDeliveries[0].Pending || d[0].Undelivered != 0 || d[0].Workers != 9 {
		t.Errorf("deliveries after the replay %+v, before %+v", d, wantDeliveries)
	}
	// It goes on: the stream delivers what happens next, the player plays.
	next := b.simsWith(1)[0]
	b.api("PATCH", fmt.Sprintf("/api/v1/sim/%d", next), `{"status":{"id":2}}`, 204)
	last := b.lastEvent()
	eventually(t, "the resumed stream to deliver a new event", func() bool { return h.has(last) })
	b.bare("POST", "/mock/clock", `{"advance":"12h"}`, 200)
	eventually(t, "the resumed play to finish", func() bool {
		return strings.Count(string(b.bare("GET", "/mock/scenarios", nil, 200)), `"finished"`) == 2
	})
}

// TestDurable_RefusesAJournalThatDoesNotReplay: a journal replayed over
// another world (here: another seed, as another version of the code
// would make) is refused, naming the record, instead of serving a state
// nobody had.
func TestDurable_RefusesAJournalThatDoesNotReplay(t *testing.T) {
	wall := time.Now().Round(0)
	j := &memJournal{}
	a, _ := openDurable(t, wall, 7, j, nil)
	a.api("PATCH", fmt.Sprintf("/api/v1/sim/%d", a.simsWith(1)[0]), `{"status":{"id":2}}`, 204)
	_, err := openDurable(t, wall, 8, &memJournal{}, j.records())
	if err == nil || !strings.Contains(err.Error(), "PATCH /api/v1/sim/") || !strings.Contains(err.Error(), "recorded as HTTP 204") {
		t.Fatalf("replay over another world: %v", err)
	}
}

// BenchmarkDataDir measures API writes that yield an event (PATCH an
// endpoint's connectivity: event 68 each time) and event pages, on
// serve's default world in memory and with a data dir (every 2xx synced
// to disk before it is sent), in the same run, 64 clients:
//
//	go test -run '^$' -bench DataDir -count 3 ./server
func BenchmarkDataDir(b *testing.B) {
	for _, kind := range []string{"memory", "data-dir"} {
		var j server.Journal
		if kind == "data-dir" {
			d, err := datadir.Open(b.TempDir())
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { d.Close() })
			j = d
		}
		m, _ := openDurable(b, time.Now(), 7, j, nil)
		var eps []struct{ ID int64 }
		json.Unmarshal(m.api("GET", "/api/v1/endpoint?per_page=1000", nil, 200), &eps)
		client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
		b.Run("write/"+kind, func(b *testing.B) {
			var n atomic.Int64
			b.SetParallelism(32)
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					ep := eps[int(n.Add(1))%len(eps)].ID
					req, _ := http.NewRequest("PATCH", fmt.Sprintf("%s/api/v1/endpoint/%d/connectivity", m.http.URL, ep), strings.NewReader(`{"location":null}`))
					req.Header.Set("Authorization", "Bearer "+m.token)
					req.Header.Set("Content-Type", "application/json")
					res, err := client.Do(req)
					if err != nil {
						b.Fatal(err)
					}
					if res.StatusCode != 204 {
						b.Fatalf("status %d", res.StatusCode)
					}
					drain(res)
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
		})
		b.Run("read/"+kind, func(b *testing.B) { benchGet(b, m.srv, "/api/v1/event?per_page=100", m.token) })
	}
}
