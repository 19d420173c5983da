package streamer_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emnify-mock/emnify-mock/generator"
	"github.com/emnify-mock/emnify-mock/streamer"
)

// TestProbe_TargetBackEndsTheBackOff: with a back-off of an hour, a target
// that comes back gets every waiting batch within a few probes; without
// probes this run would take hours.
func TestProbe_TargetBackEndsTheBackOff(t *testing.T) {
	var up atomic.Bool
	var failed atomic.Int64
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !up.Load() {
			failed.Add(1)
			w.WriteHeader(http.StatusBadGateway)
		}
	}))
	defer ts.Close()
	in := items(t, 12)
	go func() {
		for failed.Load() < int64(len(in)) { // every batch failed once and waits
			time.Sleep(5 * time.Millisecond)
		}
		up.Store(true)
	}()
	done := make(chan map[int64]int, 1)
	go func() {
		acked, _, _ := push(t, streamer.Options{URL: ts.URL, Workers: 4, Clock: generator.Real{}, Probe: 20 * time.Millisecond,
			Retry: streamer.Policy{Attempts: 5, Initial: time.Hour, Max: time.Hour, Schedule: []time.Duration{time.Hour}}}, in)
		done <- acked
	}()
	select {
	case acked := <-done:
		if len(acked) != len(in) {
			t.Errorf("%d of %d acknowledged", len(acked), len(in))
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the batches still wait on their hour-long back-off after the target came back")
	}
}

// TestDeadLetterFile_AppendsAndSurvivesATornLine: a second run adds to
// the first run's dead letters; a line cut short by a killed writer is
// sealed by the next append and skipped, with its line number, on reading.
func TestDeadLetterFile_AppendsAndSurvivesATornLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "dead.ndjson")
	in := items(t, 7)
	write := func(its []streamer.Item) {
		t.Helper()
		f := &streamer.DeadLetterFile{Path: path}
		l := streamer.NewLedger(f, "http://127.0.0.1:1/x", nil)
		for _, it := range its {
			l.Record(streamer.Outcome{Items: []streamer.Item{it}, Attempts: 2, Status: 503, Err: "HTTP 503"})
		}
		if err := errors.Join(l.Err(), f.Close()); err != nil {
			t.Fatal(err)
		}
	}
	write(in[:3])
	write(in[3:5])
	if n, err := streamer.CountRecords(path); n != 5 || err != nil {
		t.Fatalf("after two runs the file holds %d records (%v), want 5", n, err)
	}
	// A writer killed mid-record (an older version buffered its writes).
	b, _ := os.ReadFile(path)
	last := bytes.LastIndexByte(b[:len(b)-1], '\n')
	torn := append(append([]byte{}, b...), b[last+1:last+40]...)
	if err := os.WriteFile(path, torn, 0o644); err != nil {
		t.Fatal(err)
	}
	read := func() ([]streamer.Item, []int) {
		t.Helper()
		f, _ := os.Open(path)
		defer f.Close()
		var items []streamer.Item
		tornLines, err := streamer.EachDeadLetter(f, path, func(it streamer.Item, _ streamer.DeadLetter) error {
			items = append(items, it)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return items, tornLines
	}
	if got, tornLines := read(); len(got) != 5 || len(tornLines) != 1 || tornLines[0] != 6 {
		t.Fatalf("torn file: %d records, torn lines %v; want 5 and [6]", len(got), tornLines)
	}
	write(in[5:])
	got, tornLines := read()
	if len(got) != 7 || len(tornLines) != 1 || tornLines[0] != 6 || got[6].ID != in[6].ID {
		t.Fatalf("after an append: %d records, torn lines %v; want 7 and [6]", len(got), tornLines)
	}
	// A line that is whole but wrong is still an error that names it.
	os.WriteFile(path, []byte("{\"event\":1}\n"), 0o644)
	f, _ := os.Open(path)
	defer f.Close()
	if _, err := streamer.EachDeadLetter(f, path, func(streamer.Item, streamer.DeadLetter) error { return nil }); err == nil || !strings.Contains(err.Error(), path+":1:") {
		t.Errorf("a bad record: %v", err)
	}
}

// TestJournal_SettledEventsSurviveAReopen: acknowledgements and dead
// letters go to the journal by place in the source; a second journal on
// the same file is refused; a reopened one goes on adding.
func TestJournal_SettledEventsSurviveAReopen(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "run.journal.ndjson")
	j, err := streamer.CreateJournal(path, map[string]any{"seed": 7})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := streamer.CreateJournal(path, nil); !errors.Is(err, os.ErrExist) {
		t.Fatalf("a second journal on the same file: %v", err)
	}
	in := items(t, 6)
	for i := range in {
		in[i].Seq = int64(i)
	}
	l := streamer.NewLedger(&streamer.DeadLetterFile{Path: filepath.Join(dir, "dead.ndjson")}, "x", nil)
	l.Journal(j)
	l.Record(streamer.Outcome{Items: in[0:2], Acked: true})
	l.Record(streamer.Outcome{Items: in[3:4], Err: "HTTP 500"})
	if err := errors.Join(l.Err(), j.Close()); err != nil {
		t.Fatal(err)
	}
	j, st, err := streamer.OpenJournal(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(st.Run) != `{"seed":7}` || st.Acked != 2 || st.Dead != 1 || !st.Settled[0] || !st.Settled[1] || st.Settled[2] || !st.Settled[3] {
		t.Fatalf("state %+v", st)
	}
	l = streamer.NewLedger(nil, "x", nil)
	l.Journal(j)
	l.Record(streamer.Outcome{Items: in[4:6], Acked: true})
	j.Close()
	if _, st, _ := streamer.OpenJournal(path); st.Acked != 4 || !st.Settled[5] {
		t.Fatalf("after a second run: %+v", st)
	}
	os.WriteFile(path, []byte("{\"acked\":[1]}\n"), 0o644)
	if _, _, err := streamer.OpenJournal(path); err == nil || !strings.Contains(err.Error(), ":1: not a version 1") {
		t.Errorf("a file that is not a journal: %v", err)
	}
}

// TestStreamer_LivesLongerThanOneDelivery: one engine delivers again and
// again; each delivery's stats are its own, and a 410 ends only the
// delivery it came in.
func TestStreamer_LivesLongerThanOneDelivery(t *testing.T) {
	var gone atomic.Bool
	gone.Store(true)
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if gone.Load() {
			w.WriteHeader(http.StatusGone)
		}
	}))
	defer ts.Close()
	s, err := streamer.New(streamer.Options{URL: ts.URL, Workers: 1, Clock: generator.NewInstant(time.Unix(0, 0))})
	if err != nil {
		t.Fatal(err)
	}
	deliver := func(n int) streamer.Stats {
		in := make(chan streamer.Item, n)
		for _, it := range items(t, n) {
			in <- it
		}
		close(in)
		attempts := 0
		for r := range s.Deliver(context.Background(), in) {
			if r.Attempt != nil {
				attempts++
			}
		}
		st := s.Stats()
		if int64(attempts) != st.Requests {
			t.Errorf("%d attempt results, %d requests in the stats", attempts, st.Requests)
		}
		return st
	}
	if st := deliver(3); st.Dead != 3 || st.Requests != 1 {
		t.Fatalf("to a gone target: %+v", st)
	}
	gone.Store(false)
	if st := deliver(5); st.Acked != 5 || st.Dead != 0 || st.Events != 5 {
		t.Fatalf("the next delivery: %+v", st)
	}
}
