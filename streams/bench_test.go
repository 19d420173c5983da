package streams

import (
	"bytes"
	"flag"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/emnify-mock/emnify-mock/eventlog"
	"github.com/emnify-mock/emnify-mock/generator"
)

// backlog is a log of n churn events of one workspace.
func backlog(tb testing.TB, n int) (*eventlog.Log, int64, [][]byte) {
	tb.Helper()
	churn, err := generator.NewChurn(5, generator.ChurnOptions{Workspaces: 1})
	if err != nil {
		tb.Fatal(err)
	}
	l := eventlog.NewLog()
	events := make([]generator.Event, n)
	for i := range events {
		events[i] = churn.Next()
	}
	l.Append(events...)
	bodies, _ := l.Since(0)
	return l, events[0].Organisation.ID, bodies
}

func discard() *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.Copy(io.Discard, r.Body) }))
}

var drainEvents = flag.Int("drain-events", 20_000, "the backlog BenchmarkDrain drains")

// BenchmarkDrain: a data stream (size 1) drains a backlog of 20,000
// events (-drain-events) to a discarding loopback receiver, against a
// plain net/http loop that posts the same bodies with as many goroutines
// as the stream has requests in flight, in the same run:
//
//	go test -run '^$' -bench Drain -count 5 ./streams
//	go test -run '^$' -bench Drain -benchtime 1x -count 3 ./streams -drain-events 1000000
func BenchmarkDrain(b *testing.B) {
	n := *drainEvents
	l, org, bodies := backlog(b, n)
	ts := discard()
	defer ts.Close()
	b.Run("stream", func(b *testing.B) {
		var calls []time.Duration // of Deliveries (GET /mock/deliveries) during the drain
		for b.Loop() {
			host := New(l, Options{})
			host.Add(Config{Org: org, URL: ts.URL, Method: http.MethodPost, Size: 1}, Running, 0)
			delivered := func() int64 {
				began := time.Now()
				d := host.Deliveries()[0]
				calls = append(calls, time.Since(began))
				return d.Delivered
			}
			// Poll for the condition (the host has no notice for it), with a
			// bound so that a stalled stream fails instead of hanging.
			for deadline := time.Now().Add(time.Minute + time.Duration(n)*time.Millisecond); delivered() < int64(n); time.Sleep(time.Millisecond) {
				if time.Now().After(deadline) {
					b.Fatalf("the stream delivered %d of %d events in a minute and 1 ms per event", delivered(), n)
				}
			}
			host.Close()
		}
		b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "events/s")
		// The slowest call also holds whatever time slice the scheduler
		// gave the workers instead (this process keeps both cores busy).
		slices.Sort(calls)
		b.ReportMetric(float64(calls[len(calls)*99/100].Microseconds())/1000, "deliveries-p99-ms")
		b.ReportMetric(float64(calls[len(calls)-1].Microseconds())/1000, "deliveries-max-ms")
	})
	b.Run("net/http loop", func(b *testing.B) {
		client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
		for b.Loop() {
			work := make(chan []byte, 64)
			var wg sync.WaitGroup
			for range DefaultWorkers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for body := range work {
						res, err := client.Post(ts.URL, "application/json", bytes.NewReader(body))
						if err != nil {
							b.Error(err)
							continue
						}
						io.Copy(io.Discard, res.Body)
						res.Body.Close()
					}
				}()
			}
			for _, body := range bodies {
				work <- body
			}
			close(work)
			wg.Wait()
		}
		b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "events/s")
	})
}
