package server_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emnify-mock/emnify-mock/generator"
	"github.com/emnify-mock/emnify-mock/server"
	"github.com/emnify-mock/emnify-mock/streamer"
	"github.com/emnify-mock/emnify-mock/streams"
)

// hook is a webhook receiver that records event ids and can be told to fail.
type hook struct {
	mu       sync.Mutex
	types    []int
	ids      []int64
	headers  []http.Header
	fail     atomic.Bool
	failures atomic.Int64 // requests answered 500
	ts       *httptest.Server
}

func newHook(t *testing.T) *hook {
	h := &hook{}
	h.ts = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if h.fail.Load() {
			h.failures.Add(1)
			w.WriteHeader(500)
			return
		}
		var one struct {
			ID   int64 `json:"id"`
			Type struct {
				ID int `json:"id"`
			} `json:"event_type"`
		}
		var many []json.RawMessage
		if json.Unmarshal(b, &many) != nil {
			many = []json.RawMessage{b}
		}
		h.mu.Lock()
		defer h.mu.Unlock()
		h.headers = append(h.headers, r.Header)
		for _, e := range many {
			json.Unmarshal(e, &one)
			h.types = append(h.types, one.Type.ID)
			h.ids = append(h.ids, one.ID)
		}
	}))
	t.Cleanup(h.ts.Close)
	return h
}

func (h *hook) got() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var s []string
	for _, t := range h.types {
		s = append(s, fmt.Sprint(t))
	}
	return strings.Join(s, " ")
}

// gotSorted is got in sorted order, for deliveries that overlap.
func (h *hook) gotSorted() string {
	s := strings.Fields(h.got())
	slices.Sort(s)
	return strings.Join(s, " ")
}

// has reports whether the hook received the event.
func (h *hook) has(id int64) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Contains(h.ids, id)
}

// eventually waits for cond, with a bound generous enough for a loaded
// machine under -race.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

func (m *mock) createStream(url, extra string) int64 {
	m.t.Helper()
	b := m.api("POST", "/api/v2/data_stream", `{"name":"hook","data_stream_type":{"id":2},"destination":{"connection_type":"RestAPI",`+
		`"credentials":{"url":"`+url+`","headers":["X-Key:s3cret"],"size":1}}`+extra+`}`, 201)
	var v struct {
		ID int64 `json:"id"`
	}
	json.Unmarshal(b, &v)
	return v.ID
}

func TestDataStream_FilterPauseResume(t *testing.T) {
	m := mustOpen(t)
	h := newHook(t)
	id := m.createStream(h.ts.URL, `,"filters":[{"field":"event_type_id","value":[9,43]}]`)
	ep := m.acme().Endpoints()[0]
	m.api("PATCH", fmt.Sprintf("/api/v1/sim/%d", ep.SIM.ID), `{"status":{"id":2}}`, 204)             // 9
	m.api("PATCH", fmt.Sprintf("/api/v1/endpoint/%d/connectivity", ep.ID), `{"location":null}`, 204) // 68: filtered out
	m.api("PATCH", fmt.Sprintf("/api/v1/endpoint/%d", ep.ID), `{"status":{"id":1}}`, 204)            // 43
	// Requests overlap (streams.DefaultWorkers), so two events may arrive
	// in either order: emnify documents no ordering for webhooks, and its
	// own Event Hubs sink promises none (docs/emnify-api.md).
	eventually(t, "9 and 43", func() bool { return h.gotSorted() == "43 9" })
	if got := h.headers[0].Get("X-Key"); got != "s3cret" {
		t.Errorf("custom header %q", got)
	}
	if b := m.api("GET", fmt.Sprintf("/api/v2/data_stream/%d", id), nil, 200); !strings.Contains(string(b), `"X-Key:******"`) || !strings.Contains(string(b), `"status":{"id":1,"description":"Running"}`) {
		t.Errorf("stream %s", b)
	}

	m.api("PATCH", fmt.Sprintf("/api/v2/data_stream/%d", id), `{"status":{"id":2}}`, 204)
	m.api("PATCH", fmt.Sprintf("/api/v1/endpoint/%d", ep.ID), `{"status":{"id":0}}`, 204) // 42: filtered
	m.api("PATCH", fmt.Sprintf("/api/v1/sim/%d", ep.SIM.ID), `{"status":{"id":1}}`, 204)  // 8: filtered
	m.api("PATCH", fmt.Sprintf("/api/v1/sim/%d", ep.SIM.ID), `{"status":{"id":2}}`, 204)  // 9, kept while paused
	// Paused, the stream keeps the 9: deliveries say it is owed.
	eventually(t, "the paused stream to owe the suspension", func() bool {
		d := m.srv.Deliveries()
		return len(d) == 1 && d[0].Status == "Paused" && d[0].Undelivered == 1 && d[0].Pending == m.srv.Log().Len()-3
	})
	if got := h.gotSorted(); got != "43 9" {
		t.Fatalf("paused stream delivered: %s", got)
	}
	m.api("PATCH", fmt.Sprintf("/api/v2/data_stream/%d", id), `{"status":{"id":1}}`, 204)
	eventually(t, "the kept event after resume", func() bool { return h.gotSorted() == "43 9 9" })
}

func TestDataStream_ErrorAndRestart(t *testing.T) {
	m := mustOpen(t, func(o *server.Options) {
		o.Streams = streams.Options{Retry: streamer.Policy{Attempts: 2, Initial: time.Second, Max: time.Second}, Clock: generator.NewInstant(t0)}
	})
	h := newHook(t)
	h.fail.Store(true)
	id := m.createStream(h.ts.URL, "")
	ep := m.acme().Endpoints()[1]
	m.api("PATCH", fmt.Sprintf("/api/v1/endpoint/%d/connectivity", ep.ID), `{"location":null}`, 204)
	path := fmt.Sprintf("/api/v2/data_stream/%d", id)
	eventually(t, "status Error", func() bool {
		return strings.Contains(string(m.api("GET", path, nil, 200)), `"description":"Error"`)
	})
	if b := m.api("GET", "/mock/deliveries", nil, 200); !strings.Contains(string(b), `"last_http_status":500`) || !strings.Contains(string(b), `"undelivered":1,`) {
		t.Errorf("deliveries %s", b)
	}
	h.fail.Store(false)
	m.api("POST", path+"/restart", nil, 204)
	eventually(t, "delivery after restart", func() bool { return h.got() == "68" })
	eventually(t, "nothing undelivered", func() bool { return m.srv.Deliveries()[0].Undelivered == 0 })
	eventually(t, "status Running", func() bool {
		return strings.Contains(string(m.api("GET", path, nil, 200)), `"description":"Running"`)
	})
	m.api("DELETE", path, nil, 204)
	m.api("GET", path, nil, 404)
}

func TestDataStream_HistoricAndLookups(t *testing.T) {
	m := mustOpen(t)
	h := newHook(t)
	m.createStream(h.ts.URL, `,"stream_historic_data":true`)
	var want int
	events, _ := m.srv.Log().Since(0)
	for _, e := range events {
		if strings.Contains(string(e), fmt.Sprintf(`"organisation":{"id":%d,`, m.acme().ID)) {
			want++
		}
	}
	eventually(t, "the history", func() bool { return strings.Count(h.got(), " ")+1 == want })
	if b := m.api("GET", "/api/v2/data_stream/status", nil, 200); string(b) != `[{"id":1,"description":"Running"},{"id":2,"description":"Paused"},{"id":3,"description":"Error"},{"id":4,"description":"Pending"}]` {
		t.Errorf("statuses %s", b)
	}
	m.api("POST", "/api/v2/data_stream", `{"destination":{"credentials":{}}}`, 422)
}

// TestDataStream_RecoversWithinSeconds: a receiver that comes back after
// an outage gets the stream's events within a few probes, not after the
// rest of the back-off (an hour here, so without probes nothing would
// arrive); the stream's last error clears on its first success. The time
// from the receiver's return to the first delivery is logged, for the
// default policy too.
func TestDataStream_RecoversWithinSeconds(t *testing.T) {
	for _, c := range []struct {
		name  string
		retry streamer.Policy
	}{
		{"hour-long back-off", streamer.Policy{Attempts: 6, Schedule: []time.Duration{time.Hour}}},
		{"emnify preset", streamer.Presets["emnify"]},
	} {
		t.Run(c.name, func(t *testing.T) {
			m := mustOpen(t, func(o *server.Options) { o.Streams = streams.Options{Retry: c.retry} })
			h := newHook(t)
			h.fail.Store(true)
			m.createStream(h.ts.URL, "")
			ep := m.acme().Endpoints()[1]
			m.api("PATCH", fmt.Sprintf("/api/v1/endpoint/%d/connectivity", ep.ID), `{"location":null}`, 204)
			eventually(t, "a failed delivery", func() bool { return h.failures.Load() >= 2 }) // the first try and a probe
			if d := m.srv.Deliveries()[0]; d.LastStatus != 500 {
				t.Fatalf("after failures: %+v", d)
			}
			back := time.Now()
			h.fail.Store(false)
			eventually(t, "delivery after the receiver came back", func() bool { return h.got() == "68" })
			t.Logf("first delivery %.2f s after the receiver came back", time.Since(back).Seconds())
			eventually(t, "the last error cleared", func() bool {
				d := m.srv.Deliveries()[0]
				return d.LastError == "" && d.LastStatus == 200 && d.Status == "Running"
			})
		})
	}
}

// TestDataStream_WorkersPerStream: PATCH /mock/deliveries/{id} sets how
// many requests one stream has in flight. A receiver that holds every
// request sees the default 4 at once, then, after the change (answered at
// once, though 4 requests hang), 12; /mock/deliveries shows it, and the
// stream then delivers all it owed. Counts out of range, unknown streams
// and other bodies are refused with emnify's error body.
func TestDataStream_WorkersPerStream(t *testing.T) {
	m := mustOpen(t)
	// Requests are counted by the delivery that sent them: those before
	// the change and those after (the old delivery's four are all held
	// when the change is asked for, so it sends no more).
	var mu sync.Mutex
	var inFlight, most [2]int
	var after atomic.Bool
	reached := [2]map[int]chan struct{}{{4: make(chan struct{})}, {12: make(chan struct{})}}
	release := make(chan struct{})
	done := sync.OnceFunc(func() { close(release) })
	t.Cleanup(done)
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		k := 0
		if after.Load() {
			k = 1
		}
		mu.Lock()
		inFlight[k]++
		if inFlight[k] > most[k] {
			most[k] = inFlight[k]
			if ch := reached[k][most[k]]; ch != nil {
				close(ch)
			}
		}
		mu.Unlock()
		select {
		case <-release:
		case <-r.Context().Done(): // cut by the change
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		mu.Lock()
		inFlight[k]--
		mu.Unlock()
	}))
	defer ts.Close()
	wait := func(k, n int) {
		t.Helper()
		select {
		case <-reached[k][n]:
		case <-time.After(30 * time.Second):
			mu.Lock()
			defer mu.Unlock()
			t.Fatalf("at most %d requests were in flight at once, want %d", most[k], n)
		}
	}
	id := m.createStream(ts.URL, `,"stream_historic_data":true`)
	path := fmt.Sprintf("/mock/deliveries/%d", id)
	for body, want := range map[string]string{
		`{"workers":0}`:       `{"error_code":1400,"error_token":"InputValidationFailed","message":"workers must be 1 to 64, got 0"}`,
		`{"workers":65}`:      `{"error_code":1400,"error_token":"InputValidationFailed","message":"workers must be 1 to 64, got 65"}`,
		`{"workers":"8"}`:     `{"error_code":1000,"error_token":"BadRequest","message":"the body is {\"workers\":N}, such as {\"workers\":16}"}`,
		`{"workers":8,"x":1}`: `{"error_code":1000,"error_token":"BadRequest","message":"the body is {\"workers\":N}, such as {\"workers\":16}"}`,
		`{}`:                  `{"error_code":1000,"error_token":"BadRequest","message":"the body is {\"workers\":N}, such as {\"workers\":16}"}`,
	} {
		if res, b := m.call("PATCH", path, "", body); res.StatusCode/100 != 4 || string(b) != want {
			t.Errorf("PATCH %s: %d %s, want %s", body, res.StatusCode, b, want)
		}
	}
	if res, b := m.call("PATCH", "/mock/deliveries/99", "", `{"workers":8}`); res.StatusCode != 404 {
		t.Errorf("unknown stream: %d %s", res.StatusCode, b)
	}
	wait(0, 4)
	after.Store(true)
	var d streams.Delivery
	json.Unmarshal(m.api("PATCH", path, `{"workers":12}`, 200), &d)
	if d.ID != id || d.Workers != 12 {
		t.Errorf("answer %+v, want stream %d with 12 workers", d, id)
	}
	wait(1, 12)
	if ds := m.srv.Deliveries(); len(ds) != 1 || ds[0].Workers != 12 {
		t.Errorf("deliveries %+v, want 12 workers", ds)
	}
	done()
	eventually(t, "everything delivered", func() bool { return m.srv.Deliveries()[0].Undelivered == 0 })
	mu.Lock()
	defer mu.Unlock()
	if most[0] != 4 || most[1] != 12 {
		t.Errorf("at most %d requests in flight at once before the change, %d after; want 4 and 12", most[0], most[1])
	}
}
