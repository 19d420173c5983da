package streamer_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emnify-mock/emnify-mock/generator"
	"github.com/emnify-mock/emnify-mock/streamer"
)

func items(tb testing.TB, n int) []streamer.Item {
	tb.Helper()
	c, err := generator.NewChurn(4, generator.ChurnOptions{})
	if err != nil {
		tb.Fatal(err)
	}
	seen := map[int64]bool{}
	var out []streamer.Item
	for len(out) < n {
		e := c.Next()
		if seen[e.ID] { // the target half of a migration repeats its id
			continue
		}
		seen[e.ID] = true
		out = append(out, streamer.Item{ID: e.ID, JSON: e.AppendJSON(nil)})
	}
	return out
}

// push runs a delivery of the items and returns the ledger's acks and the
// dead letters.
func push(t *testing.T, o streamer.Options, in []streamer.Item) (map[int64]int, []streamer.Outcome, streamer.Stats) {
	t.Helper()
	if o.Clock == nil {
		o.Clock = generator.NewInstant(time.Unix(0, 0))
	}
	s, err := streamer.New(o)
	if err != nil {
		t.Fatal(err)
	}
	ledger := streamer.NewLedger(nil, o.URL, nil)
	ledger.Track = true
	var dead []streamer.Outcome
	ch := make(chan streamer.Item)
	go func() {
		for _, it := range in {
			ch <- it
		}
		close(ch)
	}()
	st := run(context.Background(), s, ch, func(out streamer.Outcome) {
		ledger.Record(out)
		if !out.Acked {
			dead = append(dead, out)
		}
	})
	return ledger.Acked(), dead, st
}

// run delivers the items and hands each outcome to f.
func run(ctx context.Context, s *streamer.Streamer, in <-chan streamer.Item, f func(streamer.Outcome)) streamer.Stats {
	for r := range s.Deliver(ctx, in) {
		if r.Outcome != nil {
			f(*r.Outcome)
		}
	}
	return s.Stats()
}

// receiver records what arrived.
type receiver struct {
	mu       sync.Mutex
	bodies   [][]byte
	requests []*http.Request
}

func (rc *receiver) record(r *http.Request) []byte {
	b, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	rc.bodies = append(rc.bodies, b)
	rc.requests = append(rc.requests, r)
	rc.mu.Unlock()
	return b
}

// TestChaos: a receiver that fails 30% of requests with 500, hangs past the
// timeout on 10%, resets 5% of connections and restarts once mid-run. The
// acknowledged events plus the dead letters are exactly the events sent.
func TestChaos(t *testing.T) {
	const n = 3000
	in := items(t, n)
	var served atomic.Int64
	var rmu sync.Mutex
	rng := rand.New(rand.NewPCG(1, 2))
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		served.Add(1)
		rmu.Lock()
		x := rng.Float64()
		rmu.Unlock()
		switch {
		case x < 0.30:
			w.WriteHeader(500)
		case x < 0.40:
			time.Sleep(300 * time.Millisecond) // past the 100ms timeout
		case x < 0.45:
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				conn.(*net.TCPConn).SetLinger(0) // a reset, not a clean close
				conn.Close()
			}
		default:
			w.WriteHeader(200)
		}
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	srv := &http.Server{Handler: handler}
	go srv.Serve(ln)
	// Restart once mid-run: down for a moment, then up on the same address.
	go func() {
		for served.Load() < n/3 {
			time.Sleep(5 * time.Millisecond)
		}
		srv.Close()
		time.Sleep(50 * time.Millisecond)
		ln2, err := net.Listen("tcp", addr)
		if err != nil {
			t.Errorf("restart: %v", err)
			return
		}
		srv2 := &http.Server{Handler: handler}
		go srv2.Serve(ln2)
		t.Cleanup(func() { srv2.Close() })
	}()
	acked, dead, st := push(t, streamer.Options{URL: "http://" + addr, Timeout: 100 * time.Millisecond, Size: 1, Workers: 32,
		Retry: streamer.Policy{Attempts: 3, Initial: time.Second, Max: time.Minute}}, in)

	deadIDs := map[int64]bool{}
	for _, o := range dead {
		if o.Err == "" || o.Attempts != 3 {
			t.Fatalf("dead letter without cause or with %d attempts: %+v", o.Attempts, o)
		}
		for _, it := range o.Items {
			deadIDs[it.ID] = true
		}
	}
	for _, it := range in {
		if (acked[it.ID] > 0) == deadIDs[it.ID] {
			t.Fatalf("event %d: acknowledged %d times, dead %v: want exactly one", it.ID, acked[it.ID], deadIDs[it.ID])
		}
	}
	if len(acked)+len(deadIDs) != n {
		t.Fatalf("%d acknowledged + %d dead != %d sent", len(acked), len(deadIDs), n)
	}
	if st.Retried == 0 || len(deadIDs) == 0 {
		t.Errorf("the chaos did not bite: %+v", st)
	}
	t.Logf("%d events: %d acknowledged, %d dead, %d requests, %d retries", n, len(acked), len(deadIDs), st.Requests, st.Retried)
}

func TestSizesMethodsHeaders(t *testing.T) {
	rc := &receiver{}
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { rc.record(r) }))
	defer ts.Close()
	in := items(t, 10)
	acked, dead, st := push(t, streamer.Options{URL: ts.URL, Method: "PUT", Size: 4, Headers: http.Header{"Authorization": {"Bearer x"}}, Workers: 1}, in)
	if len(acked) != 10 || len(dead) != 0 || st.Requests != 3 {
		t.Fatalf("acked %d, dead %d, %d requests", len(acked), len(dead), st.Requests)
	}
	total := 0
	for i, b := range rc.bodies {
		var arr []map[string]any
		if err := json.Unmarshal(b, &arr); err != nil || len(arr) > 4 {
			t.Fatalf("body %d is not an array of up to 4: %s", i, b)
		}
		total += len(arr)
		r := rc.requests[i]
		if r.Method != "PUT" || r.Header.Get("Authorization") != "Bearer x" || r.Header.Get("Content-Type") != "application/json" {
			t.Errorf("request %d: %s %v", i, r.Method, r.Header)
		}
	}
	if total != 10 {
		t.Errorf("%d events arrived, want 10", total)
	}

	rc = &receiver{}
	ts2 := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { rc.record(r) }))
	defer ts2.Close()
	push(t, streamer.Options{URL: ts2.URL, Size: 1}, in[:3])
	for _, b := range rc.bodies {
		var obj map[string]any
		if err := json.Unmarshal(b, &obj); err != nil || obj["event_type"] == nil {
			t.Errorf("size 1 body is not one event object: %s", b)
		}
	}
}

func TestRetryAfterRedirectAndGone(t *testing.T) {
	var calls atomic.Int64
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch calls.Add(1) {
		case 1:
			w.Header().Set("Retry-After", "120")
			w.WriteHeader(429)
		case 2:
			http.Redirect(w, r, "/elsewhere", http.StatusFound)
		default:
			w.WriteHeader(204)
		}
	}))
	defer ts.Close()
	clock := generator.NewInstant(time.Unix(0, 0))
	acked, dead, _ := push(t, streamer.Options{URL: ts.URL, Clock: clock, Workers: 1, Retry: streamer.Policy{Attempts: 5, Initial: time.Millisecond, Max: time.Millisecond}}, items(t, 1))
	if len(acked) != 1 || len(dead) != 0 || calls.Load() != 3 {
		t.Fatalf("acked %d dead %d after %d calls: a 429 and a 302 must be retried", len(acked), len(dead), calls.Load())
	}
	if waited := clock.Now().Sub(time.Unix(0, 0)); waited < 120*time.Second {
		t.Errorf("waited %s after Retry-After: 120", waited)
	}

	var gone atomic.Int64
	ts2 := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gone.Add(1)
		w.WriteHeader(410)
	}))
	defer ts2.Close()
	acked, dead, _ = push(t, streamer.Options{URL: ts2.URL, Workers: 1}, items(t, 20))
	if len(acked) != 0 || len(dead) != 20 || gone.Load() != 1 {
		t.Fatalf("410: acked %d, dead %d, %d requests; want all dead after one request", len(acked), len(dead), gone.Load())
	}
	if !strings.Contains(dead[len(dead)-1].Err, "410") {
		t.Errorf("dead letter cause %q", dead[len(dead)-1].Err)
	}
}

func TestSigningHeaders(t *testing.T) {
	const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	signer, _ := streamer.NewSigner(secret)
	rc := &receiver{}
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { rc.record(r) }))
	defer ts.Close()
	clock := generator.NewInstant(time.Unix(1700000000, 0))
	in := items(t, 2)
	push(t, streamer.Options{URL: ts.URL, Signer: signer, Clock: clock, Workers: 1}, in)
	for i, r := range rc.requests {
		id, ts := r.Header.Get("webhook-id"), r.Header.Get("webhook-timestamp")
		if ts != "1700000000" || !strings.HasPrefix(id, "msg_") {
			t.Fatalf("headers %v", r.Header)
		}
		if got, want := r.Header.Get("webhook-signature"), signer.Sign(id, time.Unix(1700000000, 0), rc.bodies[i]); got != want {
			t.Errorf("signature %s, want %s", got, want)
		}
	}
}

// TestFaults_ForgedAndStaleSignatures: a receiver that checks signatures
// (key and a five-minute tolerance, written here from the spec, not with
// the Signer) refuses the forged and stale first attempts and gets each
// event signed right on the retry; one that checks nothing is caught
// accepting them.
func TestFaults_ForgedAndStaleSignatures(t *testing.T) {
	const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	key, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	signer, _ := streamer.NewSigner(secret)
	clock := generator.NewInstant(time.Unix(1_700_000_000, 0))
	var refusedForged, refusedStale atomic.Int64
	checking := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		id, ts := r.Header.Get("webhook-id"), r.Header.Get("webhook-timestamp")
		mac := hmac.New(sha256.New, key)
		fmt.Fprintf(mac, "%s.%s.%s", id, ts, body)
		sec, _ := strconv.ParseInt(ts, 10, 64)
		switch {
		case r.Header.Get("webhook-signature") != "v1,"+base64.StdEncoding.EncodeToString(mac.Sum(nil)):
			refusedForged.Add(1)
			w.WriteHeader(http.StatusUnauthorized)
		case clock.Now().Sub(time.Unix(sec, 0)).Abs() > 5*time.Minute:
			refusedStale.Add(1)
			w.WriteHeader(http.StatusUnauthorized)
		}
	}))
	defer checking.Close()
	in := items(t, 200)
	faults := streamer.Faults{Forge: 0.2, Stale: 0.2}
	acked, dead, st := push(t, streamer.Options{URL: checking.URL, Signer: signer, Clock: clock, Faults: faults, Seed: 5,
		Retry: streamer.Policy{Attempts: 2, Initial: time.Second, Max: time.Second}}, in)
	if len(acked) != 200 || len(dead) != 0 || st.ForgedAccepted != 0 || refusedForged.Load() == 0 || refusedStale.Load() == 0 {
		t.Fatalf("checking receiver: acked %d dead %d, refused %d forged %d stale, stats %+v", len(acked), len(dead), refusedForged.Load(), refusedStale.Load(), st)
	}
	if st.Retried != refusedForged.Load()+refusedStale.Load() {
		t.Errorf("%d retries for %d refused requests", st.Retried, refusedForged.Load()+refusedStale.Load())
	}

	trusting := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer trusting.Close()
	_, _, st = push(t, streamer.Options{URL: trusting.URL, Signer: signer, Clock: clock, Faults: faults, Seed: 5}, in)
	// About 20% forged, and 20% of the rest stale: 36% of 200.
	if st.ForgedAccepted < 40 || st.ForgedAccepted > 110 {
		t.Errorf("a receiver that checks nothing accepted %d forged or stale requests of 200, want about 72", st.ForgedAccepted)
	}
	if _, err := streamer.New(streamer.Options{URL: trusting.URL, Faults: faults}); err == nil {
		t.Error("forged signatures without a signer were accepted as options")
	}
}

func TestFaults_DuplicatesAndDropsLoseNothing(t *testing.T) {
	rc := &receiver{}
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { rc.record(r) }))
	defer ts.Close()
	in := items(t, 200)
	acked, dead, st := push(t, streamer.Options{URL: ts.URL, Faults: streamer.Faults{Duplicate: 0.2, Drop: 0.2, ReorderWindow: 10}, Seed: 3}, in)
	if len(acked) != 200 || len(dead) != 0 || st.Duplicates == 0 || st.Retried == 0 {
		t.Fatalf("acked %d dead %d stats %+v", len(acked), len(dead), st)
	}
	if got := int64(len(rc.bodies)); got != 200+st.Duplicates {
		t.Errorf("%d requests arrived, want 200 + %d duplicates", got, st.Duplicates)
	}
}

func TestCancel_DeadLettersTheRest(t *testing.T) {
	release := make(chan struct{})
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-release
		w.WriteHeader(500)
	}))
	defer ts.Close()
	defer close(release)
	s, _ := streamer.New(streamer.Options{URL: ts.URL, Workers: 2, Clock: generator.Real{}})
	var dead atomic.Int64
	countDead := func(o streamer.Outcome) {
		if !o.Acked {
			dead.Add(int64(len(o.Items)))
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	ch := make(chan streamer.Item, 100)
	for _, it := range items(t, 50) {
		ch <- it
	}
	go func() {
		time.Sleep(50 * time.Millisecond)
		cancel()
		close(ch) // the producer stops on cancel
	}()
	start := time.Now()
	st := run(ctx, s, ch, countDead)
	if d := time.Since(start); d > streamer.ShutdownGrace+time.Second {
		t.Errorf("shutdown took %s", d)
	}
	if dead.Load() != 50 || st.Dead != 50 {
		t.Errorf("%d dead letters (stats %d), want all 50", dead.Load(), st.Dead)
	}
}

// TestRun_AbortCutsInFlight: after cancellation, requests in flight may
// finish for the grace; closing Abort cuts them at once, and every item
// still gets an outcome. The grace here is an hour: only Abort ends it.
func TestRun_AbortCutsInFlight(t *testing.T) {
	release := make(chan struct{})
	arrived := make(chan struct{}, 100)
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body) // so the server notices the client going
		arrived <- struct{}{}
		select { // a receiver that hangs
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer ts.Close()
	defer close(release)
	abort := make(chan struct{})
	s, err := streamer.New(streamer.Options{URL: ts.URL, Workers: 2, Timeout: time.Hour, Grace: time.Hour, Abort: abort,
		Retry: streamer.Policy{Attempts: 1}})
	if err != nil {
		t.Fatal(err)
	}
	var outcomes atomic.Int64
	ctx, cancel := context.WithCancel(context.Background())
	in := make(chan streamer.Item, 10)
	for i := range 10 {
		in <- streamer.Item{ID: int64(i), JSON: []byte(`{}`)}
	}
	close(in)
	done := make(chan streamer.Stats, 1)
	go func() { done <- run(ctx, s, in, func(o streamer.Outcome) { outcomes.Add(int64(len(o.Items))) }) }()
	<-arrived // a request is in flight
	cancel()
	close(abort)
	select {
	case st := <-done:
		if outcomes.Load() != 10 || st.Dead != 10 {
			t.Errorf("%d outcomes, %d dead, want all 10 dead letters", outcomes.Load(), st.Dead)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not return after Abort")
	}
}
