package server_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/emnify-mock/emnify-mock/eventlog"
	"github.com/emnify-mock/emnify-mock/generator"
	"github.com/emnify-mock/emnify-mock/plan"
	"github.com/emnify-mock/emnify-mock/server"
)

func stringsReader(s string) io.Reader {
	if s == "" {
		return nil
	}
	return strings.NewReader(s)
}

func drain(res *http.Response) {
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
}

// bigLog is a server whose log holds 1,000,000 events of a fleet churn in
// the workspaces it serves.
var bigLog = sync.OnceValues(func() (*server.Server, string) {
	churn, err := generator.NewChurn(1, generator.ChurnOptions{Workspaces: 1, SIMs: 2000})
	if err != nil {
		panic(err)
	}
	history := make([]generator.Event, 0, 1_000_000)
	for range 1_000_000 {
		history = append(history, churn.Next())
	}
	srv, err := server.New(server.Options{World: plan.Over(churn.Platform()), History: history, AppTokens: []string{testToken}, Secret: []byte("bench")})
	if err != nil {
		panic(err)
	}
	return srv, testToken
})

func benchGet(b *testing.B, h http.Handler, path, token string) {
	ts := httptest.NewServer(h)
	defer ts.Close()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	b.SetParallelism(8)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req, _ := http.NewRequest("GET", ts.URL+path, nil)
			req.Header.Set("Authorization", "Bearer "+token)
			res, err := client.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			if res.StatusCode != 200 {
				b.Fatalf("status %d", res.StatusCode)
			}
			drain(res)
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
}

// BenchmarkEvents measures GET /api/v1/event?per_page=100 with a q filter
// over a log of about 1,000,000 events, and a baseline handler that returns
// the same 100 events as pre-encoded bytes, with the same load client:
//
//	go test -run '^$' -bench Events -benchtime 5s ./server
func BenchmarkEvents(b *testing.B) {
	srv, _ := bigLog()
	base := httptest.NewServer(srv)
	auth := login(b, base.URL)
	const path = "/api/v1/event?per_page=100&q=type:9&page=50"
	res, err := http.Get(base.URL + "/api/v1/authenticate") // warm
	if err == nil {
		drain(res)
	}
	req, _ := http.NewRequest("GET", base.URL+path, nil)
	req.Header.Set("Authorization", "Bearer "+auth)
	res, err = http.DefaultClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	page, _ := io.ReadAll(res.Body)
	res.Body.Close()
	base.Close()
	b.Logf("log: %d events; page: %d bytes", srv.Log().Len(), len(page))

	b.Run("API", func(b *testing.B) { benchGet(b, srv, path, auth) })
	b.Run("PreEncoded", func(b *testing.B) {
		benchGet(b, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json; charset=utf-8")
			w.Write(page)
		}), path, auth)
	})
}

func login(b *testing.B, url string) string {
	res, err := http.Post(url+"/api/v1/authenticate", "application/json", strings.NewReader(`{"application_token":"`+testToken+`"}`))
	if err != nil {
		b.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	s := string(body)
	return s[strings.Index(s, `":"`)+3 : strings.LastIndex(s, `"`)]
}

// BenchmarkLogMemory reports the heap the log holds per stored event.
func BenchmarkLogMemory(b *testing.B) {
	srv, _ := bigLog()
	events, _ := srv.Log().Since(0)
	decoded := make([]generator.Event, 0, len(events))
	for _, raw := range events {
		var e generator.Event
		if err := e.UnmarshalJSON(raw); err != nil {
			b.Fatal(err)
		}
		decoded = append(decoded, e)
	}
	for b.Loop() {
		var ms0, ms1 runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&ms0)
		l := eventlog.NewLog()
		l.Append(decoded...)
		runtime.GC()
		runtime.ReadMemStats(&ms1)
		b.ReportMetric(float64(ms1.HeapAlloc-ms0.HeapAlloc)/float64(l.Len()), "B/event")
		b.ReportMetric(float64(l.Len()), "events")
		runtime.KeepAlive(l)
	}
}
