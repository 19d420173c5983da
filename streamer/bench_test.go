package streamer_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/emnify-mock/emnify-mock/streamer"
)

// sink is a loopback receiver that reads and discards.
func sink(b *testing.B) *httptest.Server {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
	}))
	b.Cleanup(ts.Close)
	return ts
}

// BenchmarkDeliver measures events per second delivered to a discarding
// loopback receiver, with size 1 and size 1000, against a plain net/http
// loop posting the same bytes with the same concurrency, in one run:
//
//	go test -run '^$' -bench Deliver -benchtime 5s ./streamer
func BenchmarkDeliver(b *testing.B) {
	pool := items(b, 10_000)
	const workers = streamer.DefaultWorkers
	for _, size := range []int{1, 1000} {
		b.Run("size="+strconv.Itoa(size), func(b *testing.B) {
			ts := sink(b)
			s, err := streamer.New(streamer.Options{URL: ts.URL, Size: size, Workers: workers})
			if err != nil {
				b.Fatal(err)
			}
			var acked atomic.Int64
			in := make(chan streamer.Item, 4096)
			b.ResetTimer()
			go func() {
				for i := range b.N {
					in <- pool[i%len(pool)]
				}
				close(in)
			}()
			run(context.Background(), s, in, func(o streamer.Outcome) {
				if o.Acked {
					acked.Add(int64(len(o.Items)))
				}
			})
			if acked.Load() != int64(b.N) {
				b.Fatalf("acknowledged %d of %d", acked.Load(), b.N)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
		})
	}
	b.Run("plain-net-http", func(b *testing.B) {
		ts := sink(b)
		client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: workers * 2}}
		var next atomic.Int64
		var wg sync.WaitGroup
		b.ResetTimer()
		for range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := next.Add(1) - 1; i < int64(b.N); i = next.Add(1) - 1 {
					res, err := client.Post(ts.URL, "application/json", bytes.NewReader(pool[i%int64(len(pool))].JSON))
					if err != nil {
						b.Error(err)
						return
					}
					io.Copy(io.Discard, res.Body)
					res.Body.Close()
				}
			}()
		}
		wg.Wait()
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	})
}
