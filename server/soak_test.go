package server_test

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"net/http"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emnify-mock/emnify-mock/generator"
)

var soakFor = flag.Duration("soak", 2*time.Second, "how long TestSoak runs; the issue's figure is 30s: go test -race -run Soak ./server -soak 30s")

// TestSoak: 200 concurrent clients mix reads and writes while the fleet
// lives (--live), a scenario plays, the clock jumps, a data stream
// delivers and snapshots are restored; no request may get a 5xx, the race
// detector (go test -race) must stay quiet, and no goroutine may be left
// behind.
func TestSoak(t *testing.T) {
	m := mustOpenOn(t, generator.NewShifted(-72*time.Hour))
	h := newHook(t)
	stream := m.createStream(h.ts.URL, "")
	before := runtime.NumGoroutine()
	ws := m.acme()
	var sims, eps []int64
	for _, s := range ws.SIMs() {
		sims = append(sims, s.ID)
	}
	for _, e := range ws.Endpoints() {
		eps = append(eps, e.ID)
	}
	transport := &http.Transport{MaxIdleConnsPerHost: 200}
	client := &http.Client{Transport: transport}
	ctx, cancel := context.WithTimeout(context.Background(), *soakFor)
	defer cancel()
	var requests, serverErrors atomic.Int64
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); m.srv.Live(ctx, 500) }()
	m.api("POST", "/mock/snapshots", nil, 201)
	for w := range 200 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 1))
			for ctx.Err() == nil {
				var method, path, body string
				switch rng.IntN(8) {
				case 0:
					method, path = "GET", fmt.Sprintf("/api/v1/event?per_page=50&q=type:%d&sort=-id", []int{8, 9, 42, 43}[rng.IntN(4)])
				case 1:
					method, path = "GET", "/api/v1/sim?q=endpoint:null"
				case 2:
					method, path = "GET", fmt.Sprintf("/api/v1/endpoint/%d", eps[rng.IntN(len(eps))])
				case 3:
					method, path = "GET", fmt.Sprintf("/api/v1/sim/%d/event", sims[rng.IntN(len(sims))])
				case 4:
					method, path, body = "PATCH", fmt.Sprintf("/api/v1/sim/%d", sims[rng.IntN(len(sims))]), fmt.Sprintf(`{"status":{"id":%d}}`, 1+rng.IntN(2))
				case 5:
					method, path, body = "PATCH", fmt.Sprintf("/api/v1/endpoint/%d", eps[rng.IntN(len(eps))]), fmt.Sprintf(`{"status":{"id":%d}}`, rng.IntN(2))
				case 6:
					method, path, body = "PATCH", fmt.Sprintf("/api/v1/endpoint/%d/connectivity", eps[rng.IntN(len(eps))]), `{"location":null}`
				default:
					method, path = "GET", "/api/v1/event?per_page=100"
					switch rng.IntN(400) { // now and then, the control API
					case 0:
						method, path, body = "POST", "/mock/scenarios?live=true", nightShift
					case 1:
						method, path, body = "POST", "/mock/clock", `{"advance":"1m"}`
					case 2:
						method, path = "POST", "/mock/snapshots/1/restore"
					}
				}
				req, _ := http.NewRequestWithContext(ctx, method, m.http.URL+path, stringsReader(body))
				req.Header.Set("Authorization", "Bearer "+m.token)
				res, err := client.Do(req)
				if err != nil {
					continue // the deadline cut it short
				}
				drain(res)
				requests.Add(1)
				if res.StatusCode >= 500 {
					serverErrors.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	delivered := m.srv.Deliveries()[0].Delivered
	m.api("DELETE", fmt.Sprintf("/api/v2/data_stream/%d", stream), nil, 204) // and its connections
	m.api("POST", "/mock/reset", nil, 204)                                   // stops the scenarios still playing
	transport.CloseIdleConnections()
	m.http.Close()
	if n := serverErrors.Load(); n > 0 {
		t.Errorf("%d of %d requests got a 5xx", n, requests.Load())
	}
	t.Logf("%d requests in %s by 200 clients; log holds %d events; the data stream got %d", requests.Load(), *soakFor, m.srv.Log().Len(), delivered)
	// Goroutines of closed connections take a moment to finish.
	deadline := time.Now().Add(30 * time.Second)
	for runtime.NumGoroutine() > before+2 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if after := runtime.NumGoroutine(); after > before+2 {
		buf := make([]byte, 1<<16)
		t.Errorf("goroutines: %d before, %d after\n%s", before, after, buf[:runtime.Stack(buf, true)])
	}
}
