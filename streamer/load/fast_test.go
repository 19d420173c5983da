package load_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emnify-mock/emnify-mock/streamer"
	"github.com/emnify-mock/emnify-mock/streamer/load"
)

// These tests run at --rate 0, where load sends as fast as it can (on
// Linux with its own event loops, elsewhere with the fasthttp workers).

func fastRun(t *testing.T, o load.Options) *load.Report {
	t.Helper()
	if o.Duration == 0 {
		o.Duration = 300 * time.Millisecond
	}
	if o.Bodies == nil {
		o.Bodies = bodies(t, 0, 1)
	}
	if o.MaxWorkers == 0 {
		o.MaxWorkers = 8
	}
	rec := load.NewRecorder(time.Now(), load.Constant{Duration: o.Duration})
	done := make(chan error, 1)
	go func() { done <- load.Run(context.Background(), o, rec) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(o.Duration + 30*time.Second):
		t.Fatal("the run did not end")
	}
	r, _ := rec.Report()
	return r
}

// TestFast_EveryRequestIsWholeAndCounted: what the receiver got is what
// the report counts, every request carries method, path, headers, a valid
// signature and a body with an id of its own.
func TestFast_EveryRequestIsWholeAndCounted(t *testing.T) {
	signer, err := streamer.NewSigner("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	ids := map[int64]bool{}
	var problems []string
	got := 0
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var ev struct{ ID int64 }
		err := json.Unmarshal(body, &ev)
		mu.Lock()
		defer mu.Unlock()
		got++
		switch {
		case err != nil:
			problems = append(problems, "body "+string(body))
		case r.Method != http.MethodPut || r.URL.RequestURI() != "/hook?x=1" || r.Header.Get("X-Tenant") != "acme" ||
			r.Header.Get("Content-Type") != "application/json" || r.Header.Get("User-Agent") != "emnify-mock-load":
			problems = append(problems, fmt.Sprint(r.Method, r.URL, r.Header))
		case signer.Sign(r.Header.Get("webhook-id"), unix(r.Header.Get("webhook-timestamp")), body) != r.Header.Get("webhook-signature"):
			problems = append(problems, "signature")
		case ids[ev.ID]:
			problems = append(problems, fmt.Sprint("id ", ev.ID, " twice"))
		}
		ids[ev.ID] = true
		w.WriteHeader(http.StatusAccepted)
	}))
	defer ts.Close()
	r := fastRun(t, load.Options{URL: ts.URL + "/hook?x=1", Method: http.MethodPut, Headers: http.Header{"x-tenant": {"acme"}}, Signer: signer})
	mu.Lock()
	defer mu.Unlock()
	if len(problems) > 0 {
		t.Fatalf("%d problems, first: %s", len(problems), problems[0])
	}
	if r.Requests == 0 || int(r.Requests) != got || r.StatusCodes["202"] != got || r.Success != 1 {
		t.Errorf("report: %d requests, codes %v, success %v; the receiver got %d", r.Requests, r.StatusCodes, r.Success, got)
	}
	if r.BytesOut.Mean < 300 || r.BytesOut.Mean > 2000 {
		t.Errorf("bytes out mean %v, want one event's size", r.BytesOut.Mean)
	}
}

func unix(s string) time.Time {
	sec, _ := strconv.ParseInt(s, 10, 64)
	return time.Unix(sec, 0)
}

// TestFast_Arrays: unsigned bodies of many events, made in place behind
// their length (50 events) or prepared once per connection with only
// their ids written anew (200 events, over 64 KB), arrive whole with ids
// of their own.
func TestFast_Arrays(t *testing.T) {
	for _, size := range []int{50, 200} {
		var mu sync.Mutex
		ids := map[int64]bool{}
		var problems []string
		ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			var events []struct{ ID int64 }
			err := json.NewDecoder(r.Body).Decode(&events)
			mu.Lock()
			defer mu.Unlock()
			if err != nil || len(events) != size {
				problems = append(problems, fmt.Sprint(len(events), " events, ", err))
			}
			for _, e := range events {
				if ids[e.ID] {
					problems = append(problems, fmt.Sprint("id ", e.ID, " twice"))
				}
				ids[e.ID] = true
			}
		}))
		r := fastRun(t, load.Options{URL: ts.URL, Size: size})
		ts.Close()
		mu.Lock()
		if len(problems) > 0 {
			t.Fatalf("size %d: %d problems, first: %s", size, len(problems), problems[0])
		}
		if r.Requests == 0 || r.Events != uint64(size)*r.Requests || len(ids) != int(r.Events) || r.Success != 1 {
			t.Errorf("size %d: %d requests, %d events, %d ids seen, success %v", size, r.Requests, r.Events, len(ids), r.Success)
		}
		mu.Unlock()
	}
}

// TestFast_Framings: answers with a length, chunked, closing the
// connection after each, or with a 100 Continue first are all read.
func TestFast_Framings(t *testing.T) {
	for name, h := range map[string]http.HandlerFunc{
		"chunked": func(w http.ResponseWriter, r *http.Request) {
			io.Copy(io.Discard, r.Body)
			w.Write([]byte("part one "))
			w.(http.Flusher).Flush()
			w.Write([]byte("part two"))
		},
		"close": func(w http.ResponseWriter, r *http.Request) {
			io.Copy(io.Discard, r.Body)
			w.Header().Set("Connection", "close")
			w.Write([]byte("bye"))
		},
		"continue": func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusContinue)
			io.Copy(io.Discard, r.Body)
			w.WriteHeader(http.StatusCreated)
		},
	} {
		t.Run(name, func(t *testing.T) {
			var n int
			var mu sync.Mutex
			ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				n++
				mu.Unlock()
				h(w, r)
			}))
			defer ts.Close()
			r := fastRun(t, load.Options{URL: ts.URL})
			mu.Lock()
			defer mu.Unlock()
			if r.Requests == 0 || int(r.Requests) != n || r.Success != 1 || len(r.Errors) > 0 {
				t.Errorf("%d requests (receiver: %d), success %v, errors %q", r.Requests, n, r.Success, r.Errors)
			}
		})
	}
}

// TestFast_Failures: a receiver that is not there, one that never answers
// and one that answers garbage give errors in the report; the run ends.
func TestFast_Failures(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gone := ln.Addr().String()
	ln.Close()
	r := fastRun(t, load.Options{URL: "http://" + gone + "/hook"})
	if r.Requests == 0 || r.Success != 0 || len(r.Errors) == 0 || !strings.Contains(r.Errors[0], "refused") {
		t.Errorf("nobody there: %d requests, success %v, errors %q", r.Requests, r.Success, r.Errors)
	}

	serve := func(answer func(net.Conn)) string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ln.Close() })
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				go answer(c)
			}
		}()
		return "http://" + ln.Addr().String()
	}
	silent := serve(func(c net.Conn) { io.Copy(io.Discard, c) })
	r = fastRun(t, load.Options{URL: silent, Timeout: time.Second, MaxWorkers: 2}) // longer than the run
	if r.Requests != 2 || len(r.Errors) != 1 || !strings.Contains(r.Errors[0], "timeout") {
		t.Errorf("silent receiver: %d requests, errors %q; want the 2 in flight timed out", r.Requests, r.Errors)
	}
	garbage := serve(func(c net.Conn) {
		bufio.NewReader(c).ReadString('\n')
		c.Write([]byte("SSH-2.0-OpenSSH_9.2\r\n"))
		c.Close()
	})
	r = fastRun(t, load.Options{URL: garbage})
	if r.Requests == 0 || r.Success != 0 || len(r.Errors) == 0 {
		t.Errorf("garbage: %d requests, success %v, errors %q", r.Requests, r.Success, r.Errors)
	}
}

// TestFast_StopsWhenCancelled: a cancelled run sends no more and ends.
func TestFast_StopsWhenCancelled(t *testing.T) {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer ts.Close()
	ctx, cancel := context.WithCancel(context.Background())
	rec := load.NewRecorder(time.Now(), load.Constant{Duration: time.Hour})
	done := make(chan error, 1)
	answered := make(chan struct{})
	var once sync.Once
	go func() {
		done <- load.Run(ctx, load.Options{URL: ts.URL, Duration: time.Hour, Bodies: bodies(t, 0, 1), MaxWorkers: 4,
			Observe: func(load.Result) { once.Do(func() { close(answered) }) }}, rec)
	}()
	select {
	case <-answered:
	case <-time.After(30 * time.Second):
		t.Fatal("no request answered in 30 s")
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the run went on after its context ended")
	}
}
