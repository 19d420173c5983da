package load_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emnify-mock/emnify-mock/source"
	"github.com/emnify-mock/emnify-mock/streamer"
	"github.com/emnify-mock/emnify-mock/streamer/load"
)

func bodies(tb testing.TB, shard, of int) *load.Bodies {
	tb.Helper()
	b, err := load.NewBodies(source.Churn{Seed: 1}, 500, shard, of)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func TestBodies_UniqueIDsAndShards(t *testing.T) {
	seen := map[int64]int{}
	for shard := range 2 {
		b := bodies(t, shard, 2)
		for range 600 {
			body, release := b.Body(3)
			var events []struct {
				ID int64 `json:"id"`
			}
			if err := json.Unmarshal(body, &events); err != nil || len(events) != 3 {
				t.Fatalf("body %s: %v", body, err)
			}
			for _, e := range events {
				seen[e.ID]++
				if seen[e.ID] > 1 {
					t.Fatalf("id %d sent twice", e.ID)
				}
				if len(itoa(e.ID)) != 15 {
					t.Fatalf("id %d is not 15 digits", e.ID)
				}
			}
			release()
		}
	}
}

func itoa(n int64) string { b, _ := json.Marshal(n); return string(b) }

// TestRun_LatencyCountsFromTheIntendedInstant: a receiver that takes 20ms
// with one worker cannot keep up with 100 requests per second; the queue
// grows, and latency (from the intended instant) shows it, though every
// request is served in 20ms.
func TestRun_LatencyCountsFromTheIntendedInstant(t *testing.T) {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { time.Sleep(20 * time.Millisecond) }))
	defer ts.Close()
	rec := load.NewRecorder(time.Now(), load.Constant{Per: 100, Duration: time.Second})
	err := load.Run(context.Background(), load.Options{URL: ts.URL, Duration: time.Second, Bodies: bodies(t, 0, 1), MaxWorkers: 1}, rec)
	if err != nil {
		t.Fatal(err)
	}
	r, _ := rec.Report()
	if r.Requests != 100 {
		t.Fatalf("%d requests, want 100", r.Requests)
	}
	// 100 requests of 20ms each take 2s: the last waited about 1s.
	if p99 := time.Duration(r.Latencies.P99); p99 < 700*time.Millisecond {
		t.Errorf("p99 latency %s hides the queue", p99)
	}
	if lag := time.Duration(r.ScheduleLag.P99); lag < 700*time.Millisecond || r.LateSends < 50 {
		t.Errorf("schedule lag p99 %s, %d late sends: the queue is not reported", lag, r.LateSends)
	}
}

func TestRun_ReportFields(t *testing.T) {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer ts.Close()
	rec := load.NewRecorder(time.Now(), load.Constant{Per: 200, Duration: time.Second})
	err := load.Run(context.Background(), load.Options{URL: ts.URL, Duration: time.Second, Bodies: bodies(t, 0, 1), Size: 2}, rec)
	if err != nil {
		t.Fatal(err)
	}
	r, err := rec.Report()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(r)
	var m map[string]any
	json.Unmarshal(b, &m)
	for _, k := range []string{"requests", "rate", "throughput", "duration", "latencies", "status_codes", "errors", "success", "events", "schedule_lag", "timeline", "latency_histogram"} {
		if _, ok := m[k]; !ok {
			t.Errorf("report lacks %q", k)
		}
	}
	lat := m["latencies"].(map[string]any)
	for _, k := range []string{"total", "mean", "50th", "90th", "95th", "99th", "max", "min"} {
		if _, ok := lat[k]; !ok {
			t.Errorf("latencies lack %q (vegeta's name)", k)
		}
	}
	if r.Requests != 200 || r.Events != 400 || r.Success != 1 || r.StatusCodes["200"] != 200 {
		t.Errorf("requests %d events %d success %v codes %v", r.Requests, r.Events, r.Success, r.StatusCodes)
	}
	if r.Rate < 190 || r.Rate > 210 {
		t.Errorf("rate %.1f, want about 200", r.Rate)
	}
}

// TestMerge_IsExact: merging the reports of two halves gives the histogram
// and counts of the whole.
func TestMerge_IsExact(t *testing.T) {
	start := time.Unix(1_700_000_000, 0)
	whole, a, b := load.NewRecorder(start, nil), load.NewRecorder(start, nil), load.NewRecorder(start, nil)
	for i := range 10_000 {
		res := load.Result{Intended: start.Add(time.Duration(i) * time.Millisecond), Status: 200, Events: 1, BytesOut: 700}
		res.Sent = res.Intended.Add(time.Duration(i%7) * time.Microsecond)
		res.Done = res.Sent.Add(time.Duration(1+i*i%5000) * time.Microsecond)
		if i%3 == 0 {
			res.Status = 500
		}
		whole.Record(res)
		if i%2 == 0 {
			a.Record(res)
		} else {
			b.Record(res)
		}
	}
	rw, _ := whole.Report()
	ra, _ := a.Report()
	rb, _ := b.Report()
	m, err := load.Merge(ra, rb)
	if err != nil {
		t.Fatal(err)
	}
	if m.Histogram != rw.Histogram || m.LagHistogram != rw.LagHistogram {
		t.Error("merged histograms differ from the whole's")
	}
	if m.Latencies != rw.Latencies || m.Requests != rw.Requests || m.Success != rw.Success || m.StatusCodes["500"] != rw.StatusCodes["500"] || m.Rate != rw.Rate {
		t.Errorf("merged %+v\nwhole %+v", m.Latencies, rw.Latencies)
	}
	for i := range rw.Timeline {
		if m.Timeline[i].Requests != rw.Timeline[i].Requests {
			t.Fatalf("second %d: %d requests merged, %d whole", i, m.Timeline[i].Requests, rw.Timeline[i].Requests)
		}
	}
}

// TestRun_RequestsCarryHeadersAndSignatures: the method, the user's
// headers and a valid Standard Webhooks signature of the very body arrive
// at the receiver; redirects are answers, not followed.
func TestRun_RequestsCarryHeadersAndSignatures(t *testing.T) {
	const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	key, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	var mu sync.Mutex
	var problems []string
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mac := hmac.New(sha256.New, key)
		fmt.Fprintf(mac, "%s.%s.%s", r.Header.Get("webhook-id"), r.Header.Get("webhook-timestamp"), body)
		want := "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
		mu.Lock()
		defer mu.Unlock()
		switch {
		case r.Method != http.MethodPut || r.URL.Path != "/hook":
			problems = append(problems, r.Method+" "+r.URL.Path)
		case r.Header.Get("X-Tenant") != "acme" || r.Header.Get("Content-Type") != "application/json":
			problems = append(problems, fmt.Sprint(r.Header))
		case r.Header.Get("webhook-signature") != want:
			problems = append(problems, "signature "+r.Header.Get("webhook-signature")+", want "+want)
		case !json.Valid(body):
			problems = append(problems, "body "+string(body))
		}
		http.Redirect(w, r, "/elsewhere", http.StatusFound)
	}))
	defer ts.Close()
	signer, err := streamer.NewSigner(secret)
	if err != nil {
		t.Fatal(err)
	}
	rec := load.NewRecorder(time.Now(), load.Constant{Per: 100, Duration: 500 * time.Millisecond})
	err = load.Run(context.Background(), load.Options{URL: ts.URL + "/hook", Method: http.MethodPut, Headers: http.Header{"X-Tenant": {"acme"}},
		Signer: signer, Duration: 500 * time.Millisecond, Bodies: bodies(t, 0, 1)}, rec)
	if err != nil {
		t.Fatal(err)
	}
	r, _ := rec.Report()
	if len(problems) > 0 {
		t.Fatalf("%d problems, first: %s", len(problems), problems[0])
	}
	if r.Requests != 50 || r.StatusCodes["302"] != 50 || r.Success != 0 {
		t.Errorf("%d requests, codes %v, success %v: want 50 answered 302, not followed, not successes", r.Requests, r.StatusCodes, r.Success)
	}
}

// TestRun_ErrorsAreResults: a receiver that is not there gives errors in
// the report, not a failed run.
func TestRun_ErrorsAreResults(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nobody listens there now
	rec := load.NewRecorder(time.Now(), load.Constant{Per: 50, Duration: 200 * time.Millisecond})
	if err := load.Run(context.Background(), load.Options{URL: "http://" + addr + "/hook", Duration: 200 * time.Millisecond, Bodies: bodies(t, 0, 1)}, rec); err != nil {
		t.Fatal(err)
	}
	r, _ := rec.Report()
	if r.Requests != 10 || r.Success != 0 || len(r.Errors) == 0 || !strings.Contains(r.Errors[0], "refused") {
		t.Errorf("%d requests, success %v, errors %q", r.Requests, r.Success, r.Errors)
	}
}

// TestRun_RecorderIsLive: the caller's recorder sees results while the run
// goes on (the progress line reads it).
func TestRun_RecorderIsLive(t *testing.T) {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer ts.Close()
	rec := load.NewRecorder(time.Now(), load.Constant{Per: 100, Duration: 2 * time.Second})
	done := make(chan error)
	go func() {
		done <- load.Run(context.Background(), load.Options{URL: ts.URL, Duration: 2 * time.Second, Bodies: bodies(t, 0, 1)}, rec)
	}()
	for {
		select {
		case err := <-done:
			t.Fatalf("run ended (%v) before the recorder showed a result", err)
		case <-time.After(10 * time.Millisecond):
		}
		if n, _, _, _, _ := rec.Live(); n > 0 {
			break
		}
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestReport_GeneratorNote: a report says when the generator fell behind
// enough to be part of the latency, and not otherwise.
func TestReport_GeneratorNote(t *testing.T) {
	r := &load.Report{Requests: 150_000, LateSends: 41_176}
	r.ScheduleLag.P99, r.Latencies.P99 = int64(190*time.Millisecond), int64(307*time.Millisecond)
	var b strings.Builder
	r.WriteText(&b)
	if !strings.Contains(b.String(), "Note: the generator fell behind: 41176 of 150000 sends left late, schedule-lag p99 190ms against latency p99 307ms") {
		t.Errorf("no note for a generator that fell behind:\n%s", b.String())
	}
	r.LateSends = 100 // under 1%
	if note := r.GeneratorNote(); note != "" {
		t.Errorf("a note for 100 late sends of 150000: %s", note)
	}
}

// TestDefaultWorkersFor: small bodies get DefaultMaxWorkers, large ones
// fewer, never fewer than 8.
func TestDefaultWorkersFor(t *testing.T) {
	for _, c := range []struct{ size, bytes, want int }{
		{1, 660, load.DefaultMaxWorkers},
		{10, 660, load.DefaultMaxWorkers},
		{100, 660, 127},
		{1000, 660, 12},
		{100_000, 660, 8},
		{1, 0, load.DefaultMaxWorkers},
	} {
		if got := load.DefaultWorkersFor(c.size, c.bytes); got != c.want {
			t.Errorf("size %d of %d bytes: %d workers, want %d", c.size, c.bytes, got, c.want)
		}
	}
}
