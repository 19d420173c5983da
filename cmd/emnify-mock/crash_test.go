package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/emnify-mock/emnify-mock/generator"
	"github.com/emnify-mock/emnify-mock/streamer"
)

// TestMain lets a test start the tool as a process of its own (this test
// binary, run as main), to kill it with SIGKILL.
func TestMain(m *testing.M) {
	if os.Getenv("EMNIFY_MOCK_BE_MAIN") == "1" {
		main()
	}
	os.Exit(m.Run())
}

// process is the tool running as its own process.
type process struct {
	cmd    *exec.Cmd
	out    bytes.Buffer
	exited chan struct{}
	code   int
}

func startProcess(t *testing.T, dir string, args ...string) *process {
	t.Helper()
	p := &process{cmd: exec.Command(os.Args[0], args...), exited: make(chan struct{})}
	p.cmd.Env = append(os.Environ(), "EMNIFY_MOCK_BE_MAIN=1")
	p.cmd.Dir = dir
	p.cmd.Stdout, p.cmd.Stderr = &p.out, &p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		p.cmd.Wait()
		p.code = p.cmd.ProcessState.ExitCode()
		close(p.exited)
	}()
	t.Cleanup(func() { p.cmd.Process.Kill(); <-p.exited })
	return p
}

// waitExit waits for the process to end by itself.
func (p *process) waitExit(t *testing.T) int {
	t.Helper()
	select {
	case <-p.exited:
		return p.code
	case <-time.After(120 * time.Second):
		t.Fatalf("the process did not end:\n%s", p.out.String())
		return -1
	}
}

// eventKey is how a consumer tells events apart: a migration's two halves
// share an id.
type eventKey struct{ id, org int64 }

func keyOf(b []byte) eventKey {
	var e struct {
		ID  int64 `json:"id"`
		Org struct {
			ID int64 `json:"id"`
		} `json:"organisation"`
	}
	json.Unmarshal(b, &e) // a body that is not an event gets the zero key, which no event has
	return eventKey{e.ID, e.Org.ID}
}

// chaosReceiver fails 30% of requests with 500, hangs 5% until the client
// gives up, resets 3% of connections, and acknowledges the rest, keeping
// what it acknowledged.
type chaosReceiver struct {
	mu       sync.Mutex
	rng      *rand.Rand
	acked    map[eventKey]int
	requests atomic.Int64
}

func (c *chaosReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	c.requests.Add(1)
	c.mu.Lock()
	x := c.rng.Float64()
	c.mu.Unlock()
	switch {
	case x < 0.30:
		w.WriteHeader(500)
	case x < 0.35:
		<-r.Context().Done()
	case x < 0.38:
		if conn, _, err := w.(http.Hijacker).Hijack(); err == nil {
			conn.(*net.TCPConn).SetLinger(0)
			conn.Close()
		}
	default:
		c.mu.Lock()
		c.acked[keyOf(b)]++
		c.mu.Unlock()
	}
}

// TestCrash_PushAndReplayLoseNothing kills push, then replay, with SIGKILL
// at random instants, resuming each time: every event the run was asked
// for ends acknowledged by the receiver or in the dead-letter file, whose
// records of all the runs add up, and no record is ever refused.
func TestCrash_PushAndReplayLoseNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	const count, seed = 1500, 11
	rc := &chaosReceiver{rng: rand.New(rand.NewPCG(seed, 1)), acked: map[eventKey]int{}}
	ts := httptest.NewServer(rc)
	defer ts.Close()
	dir := t.TempDir()
	dead := filepath.Join(dir, "dead.ndjson")
	journal := filepath.Join(dir, "dead.journal.ndjson")
	rng := rand.New(rand.NewPCG(seed, 2))
	delivery := []string{"--to", ts.URL, "--workers", "8", "--timeout", "200ms", "--attempts", "3", "--initial-delay", "5ms", "--max-delay", "20ms", "--dead-letters", dead}

	deadLetters := func() []streamer.Item {
		t.Helper()
		f, err := os.Open(dead)
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		defer f.Close()
		var items []streamer.Item
		torn, err := streamer.EachDeadLetter(f, dead, func(it streamer.Item, _ streamer.DeadLetter) error {
			items = append(items, it)
			return nil
		})
		if err != nil || len(torn) > 0 {
			t.Fatalf("dead letters refused (%v) or torn at lines %v", err, torn)
		}
		return items
	}
	// killAt runs the tool until the receiver has seen a random number of
	// requests more, then kills it; false when it ended first.
	killAt := func(within int64, args ...string) bool {
		t.Helper()
		before := rc.requests.Load()
		p := startProcess(t, dir, args...)
		at := before + 1 + rng.Int64N(within)
		deadline := time.Now().Add(30 * time.Second)
		for rc.requests.Load() < at {
			select {
			case <-p.exited:
				return false
			default:
			}
			if time.Now().After(deadline) {
				t.Fatalf("no progress: %d requests, want %d\n%s", rc.requests.Load(), at, p.out.String())
			}
			time.Sleep(5 * time.Millisecond)
		}
		p.cmd.Process.Signal(syscall.SIGKILL)
		<-p.exited
		return true
	}

	args := append([]string{"push", "--count", "1500", "--seed", "11"}, delivery...)
	kills, held := 0, 0
	for range 3 {
		if !killAt(500, args...) {
			break
		}
		kills++
		if _, err := os.Stat(journal); err != nil {
			t.Fatalf("killed push %d left no journal: %v", kills, err)
		}
		n := len(deadLetters())
		if n < held {
			t.Fatalf("the dead letters went from %d to %d records", held, n)
		}
		held = n
		args = append([]string{"push", "--resume", journal}, delivery...)
	}
	if kills == 0 {
		t.Fatal("push ended before it could be killed")
	}
	p := startProcess(t, dir, args...)
	if code := p.waitExit(t); code != 0 && code != 1 {
		t.Fatalf("the last resume: exit %d\n%s", code, p.out.String())
	}
	if _, err := os.Stat(journal); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the journal of a finished run is still there (%v)\n%s", err, p.out.String())
	}
	if n := len(deadLetters()); n < held {
		t.Fatalf("the dead letters went from %d to %d records", held, n)
	}

	churn, err := generator.NewChurn(seed, generator.ChurnOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := make([]eventKey, count)
	for i := range want {
		e := churn.Next()
		want[i] = keyOf(e.AppendJSON(nil))
	}
	lost := func(stage string) {
		t.Helper()
		inFile := map[eventKey]bool{}
		for _, it := range deadLetters() {
			inFile[keyOf(it.JSON)] = true
		}
		rc.mu.Lock()
		defer rc.mu.Unlock()
		missing := 0
		for _, k := range want {
			if rc.acked[k] == 0 && !inFile[k] {
				missing++
			}
		}
		if missing > 0 {
			t.Fatalf("%s: %d of %d events neither acknowledged nor dead-lettered", stage, missing, count)
		}
		t.Logf("%s: %d acknowledged, %d in the dead-letter file, %d requests", stage, len(rc.acked), len(inFile), rc.requests.Load())
	}
	lost(fmt.Sprintf("push, killed %d times and resumed", kills))

	// Replay the dead letters, killed too; a replay that is killed leaves
	// the file as it was, so the next one sends them all again.
	if len(deadLetters()) == 0 {
		t.Fatal("the chaos made no dead letters to replay")
	}
	replay := []string{"replay", "--to", ts.URL, "--workers", "1", "--timeout", "200ms", "--attempts", "10", "--initial-delay", "5ms", "--max-delay", "20ms", "--dead-letters", dead}
	for range 2 {
		if !killAt(30, replay...) {
			break
		}
		lost("replay killed")
		kills++
	}
	if _, err := os.Stat(dead); err == nil {
		p = startProcess(t, dir, replay...)
		if code := p.waitExit(t); code != 0 && code != 1 {
			t.Fatalf("replay: exit %d\n%s", code, p.out.String())
		}
	}
	lost("replay")
}

// TestPush_InterruptedThenResumed: a push stopped by a signal says where
// the events it did not make are; a new push will not start over that
// journal; --resume sends exactly what was neither acknowledged nor
// dead-lettered.
func TestPush_InterruptedThenResumed(t *testing.T) {
	var mu sync.Mutex
	got := map[eventKey]int{}
	var requests atomic.Int64
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		requests.Add(1)
		mu.Lock()
		got[keyOf(b)]++
		mu.Unlock()
	}))
	defer ts.Close()
	dir := t.TempDir()
	dead := filepath.Join(dir, "dead.ndjson")
	journal := filepath.Join(dir, "dead.journal.ndjson")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr bytes.Buffer
	done := make(chan error, 1)
	go func() {
		done <- (&PushCommand{Stdout: &stdout, Stderr: &stderr}).Run(ctx,
			[]string{"--to", ts.URL, "--count", "20000", "--seed", "3", "--workers", "1", "--dead-letters", dead})
	}()
	for deadline := time.Now().Add(30 * time.Second); requests.Load() < 10 && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	cancel()
	err := <-done
	if err == nil || !strings.Contains(err.Error(), "interrupted: ") || !strings.Contains(err.Error(), "push --resume "+journal+" --to "+ts.URL) {
		t.Fatalf("interrupted push: %v", err)
	}

	code, _, stderrText := runCLI(t, "push", "--to", ts.URL, "--count", "5", "--dead-letters", dead)
	if code != 2 || !strings.Contains(stderrText, journal+" is the journal of an earlier push that did not finish") {
		t.Errorf("a new push over an unfinished journal: exit %d, %s", code, stderrText)
	}
	if code, _, stderrText := runCLI(t, "push", "--resume", journal, "--seed", "4", "--to", ts.URL); code != 2 || !strings.Contains(stderrText, "--seed cannot be given") {
		t.Errorf("--resume with --seed: exit %d, %s", code, stderrText)
	}
	code, out, stderrText := runCLI(t, "push", "--resume", journal, "--to", ts.URL, "--dead-letters", dead)
	if code != 0 || !strings.Contains(stderrText, "resuming "+journal) {
		t.Fatalf("resume: exit %d\n%s%s", code, out, stderrText)
	}
	if _, err := os.Stat(journal); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the finished run's journal is still there: %v", err)
	}
	inFile := map[eventKey]bool{}
	f, err := os.Open(dead)
	if err == nil {
		_, err := streamer.EachDeadLetter(f, dead, func(it streamer.Item, _ streamer.DeadLetter) error {
			inFile[keyOf(it.JSON)] = true
			return nil
		})
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
	}
	churn, _ := generator.NewChurn(3, generator.ChurnOptions{})
	sentTwice := 0
	for range 20000 {
		e := churn.Next()
		k := keyOf(e.AppendJSON(nil))
		if got[k] == 0 && !inFile[k] {
			t.Fatalf("event %v neither acknowledged nor dead-lettered", k)
		}
		if got[k] > 1 {
			sentTwice++
		}
	}
	// Migrations share an id across two organisations; nothing else
	// should arrive twice when no kill came between send and journal.
	if sentTwice > 0 {
		t.Errorf("%d events were delivered twice", sentTwice)
	}
}
