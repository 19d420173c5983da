package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emnify-mock/emnify-mock/examples/consumer"
	"github.com/emnify-mock/emnify-mock/features"
	"github.com/emnify-mock/emnify-mock/server"
	"github.com/emnify-mock/emnify-mock/streamer"
)

// runCLI runs the tool in-process as main would, and returns its exit
// status, stdout and stderr.
func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), args, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func TestGenerate_BadInput(t *testing.T) {
	for _, tc := range []struct {
		name    string
		args    []string
		message string
	}{
		{"UnknownFlag", []string{"generate", "--colour"}, "flag provided but not defined: -colour"},
		{"NegativeCount", []string{"generate", "--count", "-5"}, "--count must be 0 or more, got -5"},
		{"CountNotANumber", []string{"generate", "--count", "many"}, `invalid value "many" for flag -count`},
		{"UnknownFormat", []string{"generate", "--format", "xml"}, `--format must be ndjson or json, got "xml"`},
		{"BadSeed", []string{"generate", "--seed", "-1"}, `--seed must be a whole number`},
		{"BadStart", []string{"generate", "--start", "yesterday"}, `--start must be an RFC 3339 instant`},
		{"StrayArgument", []string{"generate", "events.json"}, `unexpected argument "events.json"`},
		{"UnknownCommand", []string{"genrate"}, `unknown command "genrate"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, tc.args...)
			if code != 2 {
				t.Errorf("exit status %d, want 2", code)
			}
			if stdout != "" {
				t.Errorf("stdout not empty: %q", stdout)
			}
			if !strings.Contains(stderr, "Error: "+tc.message) || !strings.Contains(stderr, "\nTry: emnify-mock ") {
				t.Errorf("stderr %q: want %q and a Try: hint", stderr, tc.message)
			}
		})
	}
}

func TestGenerate_SameSeedSameBytes(t *testing.T) {
	_, a, _ := runCLI(t, "generate", "--count", "500", "--seed", "42")
	_, b, _ := runCLI(t, "generate", "--count", "500", "--seed", "42")
	_, c, _ := runCLI(t, "generate", "--count", "500", "--seed", "43")
	if a != b {
		t.Error("seed 42 gave two different streams")
	}
	if a == c {
		t.Error("seeds 42 and 43 gave the same stream")
	}
	if n := strings.Count(a, "\n"); n != 500 {
		t.Errorf("%d lines, want 500", n)
	}
	for i, line := range strings.Split(strings.TrimSpace(a), "\n") {
		if !json.Valid([]byte(line)) {
			t.Fatalf("line %d is not JSON: %s", i+1, line)
		}
	}
}

func TestGenerate_PrintsTheSeedItChose(t *testing.T) {
	code, first, stderr := runCLI(t, "generate", "--count", "50")
	if code != 0 {
		t.Fatalf("exit status %d: %s", code, stderr)
	}
	m := regexp.MustCompile(`--seed (\d+)`).FindStringSubmatch(stderr)
	if m == nil {
		t.Fatalf("stderr %q names no seed", stderr)
	}
	if _, again, _ := runCLI(t, "generate", "--count", "50", "--seed", m[1]); again != first {
		t.Error("rerunning with the printed seed gave another stream")
	}
}

func TestGenerate_JSONArrayToFile(t *testing.T) {
	out := filepath.Join(t.TempDir(), "events.json")
	code, stdout, stderr := runCLI(t, "generate", "--count", "25", "--seed", "1", "--format", "json", "--out", out)
	if code != 0 || stdout != "" {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var events []map[string]any
	if err := json.Unmarshal(b, &events); err != nil {
		t.Fatalf("not a JSON array: %v", err)
	}
	if len(events) != 25 {
		t.Errorf("%d events, want 25", len(events))
	}
	_, nd, _ := runCLI(t, "generate", "--count", "25", "--seed", "1")
	var first map[string]any
	json.Unmarshal([]byte(strings.SplitN(nd, "\n", 2)[0]), &first)
	if first["id"] != events[0]["id"] {
		t.Error("json and ndjson formats of one seed hold different events")
	}
}

func TestGenerate_ZeroCount(t *testing.T) {
	if _, out, _ := runCLI(t, "generate", "--count", "0", "--format", "json", "--seed", "1"); out != "[]\n" {
		t.Errorf("got %q, want an empty array", out)
	}
}

func TestHelp(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"generate", "--help"}, {"generate", "-h"}} {
		code, stdout, _ := runCLI(t, args...)
		if code != 0 || !strings.Contains(stdout, "Examples:") {
			t.Errorf("%v: exit %d, want 0 and usage with examples; got %q", args, code, stdout)
		}
	}
	if code, _, stderr := runCLI(t); code != 2 || !strings.Contains(stderr, "Commands:") {
		t.Errorf("no arguments: exit %d, stderr %q", code, stderr)
	}
}

func TestScenarios_ListShowValidate(t *testing.T) {
	code, out, _ := runCLI(t, "scenarios", "list")
	if code != 0 || !strings.Contains(out, "factory-test-activation  ") || strings.Count(out, "\n") != 11 {
		t.Fatalf("list: exit %d, output %q", code, out)
	}
	code, src, _ := runCLI(t, "scenarios", "show", "migration")
	if code != 0 || !strings.HasPrefix(src, "name: migration\n") {
		t.Fatalf("show: exit %d, output %q", code, src)
	}
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	os.WriteFile(good, []byte(src), 0o644)
	code, out, _ = runCLI(t, "scenarios", "validate", good)
	if code != 0 || !strings.Contains(out, "good.yaml: ok, scenario migration, 6 events") {
		t.Fatalf("validate good: exit %d, output %q", code, out)
	}
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte(strings.Replace(src, "auto-detach: true", "auto-detach: false", 1)), 0o644)
	code, out, stderr := runCLI(t, "scenarios", "validate", good, bad)
	if code != 2 || out != "" {
		t.Fatalf("validate bad: exit %d, stdout %q", code, out)
	}
	if want := bad + ":18:5: migrate tested: SIM "; !strings.HasPrefix(stderr, want) || !strings.Contains(stderr, "cannot migrate without auto-detach") {
		t.Errorf("stderr %q, want it to start %q", stderr, want)
	}
}

func TestGenerate_Scenario(t *testing.T) {
	code, out, stderr := runCLI(t, "generate", "--scenario", "onboarding", "--seed", "3")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if n := strings.Count(out, "\n"); n != 16 {
		t.Errorf("%d events, want all 16 of the scenario", n)
	}
	if _, again, _ := runCLI(t, "generate", "--scenario", "onboarding", "--seed", "3"); again != out {
		t.Error("same scenario and seed gave different bytes")
	}
	if _, three, _ := runCLI(t, "generate", "--scenario", "onboarding", "--seed", "3", "--count", "3"); three != strings.Join(strings.SplitAfter(out, "\n")[:3], "") {
		t.Error("--count 3 is not the first three events")
	}
}

func TestGenerate_BrokenScenarioWritesNothing(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "broken.yaml")
	_, src, _ := runCLI(t, "scenarios", "show", "decommission")
	// Deleting before releasing is illegal; the dry run must catch it
	// before the suspensions are written.
	os.WriteFile(file, []byte(strings.Replace(src, "do: release", "do: reset-connectivity", 1)), 0o644)
	out := filepath.Join(dir, "events.ndjson")
	code, stdout, stderr := runCLI(t, "generate", "--scenario", file, "--out", out, "--seed", "1")
	if code != 2 || stdout != "" {
		t.Fatalf("exit %d, stdout %q", code, stdout)
	}
	if !strings.HasPrefix(stderr, file+":") || !strings.Contains(stderr, "cannot delete") {
		t.Errorf("stderr %q", stderr)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("output file exists after a refused scenario: %v", err)
	}
	code, _, stderr = runCLI(t, "generate", "--scenario", "no-such-thing")
	if code != 2 || !strings.Contains(stderr, "neither a file nor a built-in scenario") {
		t.Errorf("unknown scenario: exit %d, stderr %q", code, stderr)
	}
}

func TestServe_StartsAnswersAndStops(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var stdout, stderr bytes.Buffer
	ready := make(chan *server.Server, 1)
	cmd := &ServeCommand{Stdout: &stdout, Stderr: &stderr, ready: func(s *server.Server) { ready <- s }}
	done := make(chan error, 1)
	go func() { done <- cmd.Run(ctx, []string{"--addr", "127.0.0.1:0", "--seed", "3", "--app-token", "tok"}) }()
	var srv *server.Server
	select {
	case srv = <-ready:
	case err := <-done:
		t.Fatalf("serve ended: %v\n%s", err, stderr.String())
	}
	for _, want := range []string{srv.URL(), "application token  tok", "registrable BIC", "curl -s"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("banner lacks %q:\n%s", want, stdout.String())
		}
	}
	res, err := http.Post(srv.URL()+"/api/v1/authenticate", "application/json", strings.NewReader(`{"application_token":"tok"}`))
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("authenticate: %v %v", err, res)
	}
	res.Body.Close()
	cancel()
	if err := <-done; err != nil {
		t.Errorf("shutdown: %v", err)
	}
	if code, _, stderr := runCLI(t, "serve", "--addr", "nowhere"); code != 2 || !strings.Contains(stderr, "--addr must be HOST:PORT") {
		t.Errorf("bad --addr: exit %d, %q", code, stderr)
	}
}

// TestServe_LiveAndRateLimits: with --live the log grows on its own, with
// --rate-limits a burst is refused with 429; bad rates are
// refused before anything listens.
func TestServe_LiveAndRateLimits(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ready := make(chan *server.Server, 1)
	var stdout, stderr bytes.Buffer
	cmd := &ServeCommand{Stdout: &stdout, Stderr: &stderr, ready: func(s *server.Server) { ready <- s }}
	done := make(chan error, 1)
	go func() {
		done <- cmd.Run(ctx, []string{"--addr", "127.0.0.1:0", "--seed", "3", "--live", "100/s", "--rate-limits", "--app-token", "tok", "--play", "reset-connectivity"})
	}()
	srv := <-ready
	if !strings.Contains(stderr.String(), "playing reset-connectivity: 4 events until") {
		t.Errorf("stderr lacks the played scenario:\n%s", stderr.String())
	}
	token := loginApp(t, srv.URL(), "tok")
	var codes []int
	for range 6 { // GET /event: a burst of 5 per workspace
		req, _ := http.NewRequest("GET", srv.URL()+"/api/v1/event?per_page=1", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		codes = append(codes, res.StatusCode)
	}
	if fmt.Sprint(codes) != "[200 200 200 200 200 429]" {
		t.Errorf("--rate-limits: GET /event answered %v", codes)
	}
	start := srv.Log().Len()
	for deadline := time.Now().Add(30 * time.Second); srv.Log().Len() < start+20; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the log grew from %d to %d in 5s at --live 100/s", start, srv.Log().Len())
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("shutdown: %v", err)
	}
	if code, out, stderr := runCLI(t, "serve", "--addr", "127.0.0.1:0", "--play", "nope"); code != 2 || out != "" || !strings.Contains(stderr, `scenario "nope" is neither a file nor a built-in`) {
		t.Errorf("--play nope: exit %d, stdout %q, stderr %q", code, out, stderr)
	}
	for _, bad := range []string{"fast", "6", "6/d", "-1/s", "0/m"} {
		if code, out, stderr := runCLI(t, "serve", "--addr", "127.0.0.1:0", "--live", bad); code != 2 || out != "" || !strings.Contains(stderr, "want a rate like 6/m") {
			t.Errorf("--live %s: exit %d, stdout %q, stderr %q", bad, code, out, stderr)
		}
	}
}

func TestPushAndReplay(t *testing.T) {
	var mu sync.Mutex
	got := map[string]int{}
	failing := true
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var e struct {
			ID json.Number `json:"id"`
		}
		json.NewDecoder(r.Body).Decode(&e)
		mu.Lock()
		defer mu.Unlock()
		if failing {
			w.WriteHeader(503)
			return
		}
		got[e.ID.String()]++
	}))
	defer ts.Close()
	dir := t.TempDir()
	dead := filepath.Join(dir, "dead.ndjson")

	code, out, stderr := runCLI(t, "push", "--to", ts.URL, "--scenario", "onboarding", "--seed", "2", "--retry", "none", "--dead-letters", dead, "--json")
	if code != 1 || !strings.Contains(stderr, "16 events could not be delivered") {
		t.Fatalf("push to a failing hook: exit %d, %s", code, stderr)
	}
	var st map[string]any
	if err := json.Unmarshal([]byte(out), &st); err != nil || st["dead_letters"].(float64) != 16 || st["acknowledged"].(float64) != 0 {
		t.Fatalf("summary %q", out)
	}
	b, _ := os.ReadFile(dead)
	if n := strings.Count(string(b), "\n"); n != 16 || !strings.Contains(string(b), `"last_error":"HTTP 503"`) {
		t.Fatalf("%d dead letters: %s", n, b)
	}

	mu.Lock()
	failing = false
	mu.Unlock()
	code, out, stderr = runCLI(t, "replay", "--dead-letters", dead, "--to", ts.URL)
	if code != 0 || !strings.Contains(out, "acknowledged 16") {
		t.Fatalf("replay: exit %d, %s %s", code, out, stderr)
	}
	if _, err := os.Stat(dead); !os.IsNotExist(err) {
		t.Error("the drained dead-letter file is still there")
	}
	if len(got) != 16 {
		t.Errorf("the hook got %d distinct events, want 16", len(got))
	}

	for _, args := range [][]string{
		{"push"},
		{"push", "--to", "ftp://x"},
		{"push", "--to", ts.URL, "--size", "0"},
		{"push", "--to", ts.URL, "--retry", "forever"},
		{"push", "--to", ts.URL, "--header", "NoColon"},
		{"push", "--to", ts.URL, "--method", "GET"},
		{"push", "--to", ts.URL, "--duplicate", "2"},
		{"push", "--to", ts.URL, "--sign-secret", "nope"},
		{"push", "--to", ts.URL, "--forge", "0.5"},
		{"replay", "--dead-letters", filepath.Join(dir, "missing.ndjson"), "--to", ts.URL},
	} {
		if code, out, stderr := runCLI(t, args...); code != 2 || out != "" || !strings.Contains(stderr, "Try: ") {
			t.Errorf("%v: exit %d, stdout %q, stderr %q", args, code, out, stderr)
		}
	}
}

// shippedScenarios counts the shipped scenarios verify runs by default.
func shippedScenarios() int {
	scenarios := 0
	fs.WalkDir(features.Shipped, ".", func(path string, d fs.DirEntry, err error) error {
		if b, err := fs.ReadFile(features.Shipped, path); err == nil && strings.HasSuffix(path, ".feature") {
			for _, line := range strings.Split(string(b), "\n") {
				line = strings.TrimSpace(line)
				switch {
				case strings.HasPrefix(line, "Scenario:"):
					scenarios++
				case strings.HasPrefix(line, "@") && strings.Contains(line, "@perf"):
					scenarios-- // @perf runs only when asked
				}
			}
		}
		return nil
	})
	return scenarios
}

func TestVerify(t *testing.T) {
	good := httptest.NewServer(consumer.New(false))
	defer good.Close()
	scenarios := shippedScenarios()
	code, out, stderr := runCLI(t, "verify", "--consumer", good.URL, "--format", "progress")
	if want := fmt.Sprintf("%d scenarios (%[1]d passed)", scenarios); code != 0 || !strings.Contains(out, want) {
		t.Fatalf("reference consumer: exit %d\n%s\n%s", code, out, stderr)
	}
	// The shipped scenarios are tagged by how events reach the consumer.
	if code, out, stderr := runCLI(t, "verify", "--consumer", good.URL, "--format", "progress", "--tags", "@datastream"); code != 0 || !strings.Contains(out, "1 scenarios (1 passed)") {
		t.Errorf("--tags @datastream: exit %d\n%s\n%s", code, out, stderr)
	}
	naive := httptest.NewServer(consumer.New(true))
	defer naive.Close()
	code, out, _ = runCLI(t, "verify", "--consumer", naive.URL, "--format", "junit", "--tags", "~@slow")
	if code != 1 || !strings.Contains(out, "<testsuites") || !strings.Contains(out, "failure") {
		t.Fatalf("naive consumer: exit %d\n%s", code, out)
	}
	if code, out, _ := runCLI(t, "verify", "--list-steps"); code != 0 || strings.Count(out, "\n    ") < 15 {
		t.Errorf("--list-steps: exit %d\n%s", code, out)
	}
	for _, args := range [][]string{{"verify"}, {"verify", "--consumer", "x"}, {"verify", "--consumer", good.URL, "--format", "xml"}, {"verify", "--consumer", good.URL, "--mock-addr", "nowhere"}, {"verify", "--consumer", good.URL, "/no/such/features"}} {
		if code, out, _ := runCLI(t, args...); code != 2 || out != "" {
			t.Errorf("%v: exit %d, stdout %q", args, code, out)
		}
	}
}

func TestLoadAndMerge(t *testing.T) {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer ts.Close()
	dir := t.TempDir()
	var files []string
	for i := range 2 {
		j := filepath.Join(dir, fmt.Sprintf("shard%d.json", i))
		files = append(files, j)
		code, out, stderr := runCLI(t, "load", "--to", ts.URL, "--rate", "200", "--duration", "1s", "--shard", fmt.Sprintf("%d/2", i), "--json", j, "--report", filepath.Join(dir, "r.html"))
		if code != 0 || !strings.Contains(out, "Requests      [total, rate, throughput]         200") {
			t.Fatalf("load: exit %d\n%s\n%s", code, out, stderr)
		}
	}
	code, out, stderr := runCLI(t, append([]string{"report", "merge"}, append(files, "--json", filepath.Join(dir, "m.json"))...)...)
	if code != 0 || !strings.Contains(out, "Requests      [total, rate, throughput]         400") {
		t.Fatalf("merge: exit %d\n%s\n%s", code, out, stderr)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "r.html")); err != nil || !strings.Contains(string(b), "<svg") {
		t.Errorf("html report: %v", err)
	}
	// The same shard twice would count twice: refused.
	if code, _, stderr := runCLI(t, "report", "merge", files[0], files[0]); code == 0 || !strings.Contains(stderr, "merged twice") {
		t.Errorf("merging a shard twice: exit %d, %q", code, stderr)
	}
	for _, args := range [][]string{
		{"load", "--to", "http://192.0.2.1/hook"},
		{"load", "--to", ts.URL, "--shard", "2/2"},
		{"load", "--to", ts.URL, "--ramp", "fast"},
		{"load", "--to", ts.URL, "--rate", "-1"},
		{"report", "merge"},
	} {
		if code, out, stderr := runCLI(t, args...); code != 2 || out != "" {
			t.Errorf("%v: exit %d, stdout %q, stderr %q", args, code, out, stderr)
		}
	}
}

func TestCheck(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.ndjson")
	if code, _, stderr := runCLI(t, "generate", "--count", "300", "--seed", "4", "--out", good); code != 0 {
		t.Fatalf("generate: %s", stderr)
	}
	if code, out, stderr := runCLI(t, "check", good); code != 0 || !strings.Contains(out, "300 events checked, 300 conform") {
		t.Fatalf("generated events: exit %d\n%s%s", code, out, stderr)
	}

	// One event without organisation on line 3; a pretty-printed array
	// whose second element has a string id.
	b, _ := os.ReadFile(good)
	lines := strings.Split(string(b), "\n")
	lines[2] = regexp.MustCompile(`"organisation":\{[^}]*\},`).ReplaceAllString(lines[2], "")
	bad := filepath.Join(dir, "bad.ndjson")
	os.WriteFile(bad, []byte(strings.Join(lines[:10], "\n")), 0o644)
	var events []json.RawMessage
	for _, l := range lines[:2] {
		events = append(events, json.RawMessage(l))
	}
	events[1] = json.RawMessage(regexp.MustCompile(`"id":\d+,"event_type"`).ReplaceAllString(string(events[1]), `"id":"x","event_type"`))
	pretty, _ := json.MarshalIndent(events, "", "  ")
	array := filepath.Join(dir, "array.json")
	os.WriteFile(array, append([]byte("\n\n"), pretty...), 0o644)
	second := strings.Count(string(pretty[:strings.Index(string(pretty), `"id": "x"`)]), "\n") - 3 // the line of its {

	code, out, stderr := runCLI(t, "check", bad, array)
	if code != 1 || !strings.Contains(out, "12 events checked, 10 conform, 2 do not") {
		t.Fatalf("bad events: exit %d\n%s%s", code, out, stderr)
	}
	for _, want := range []string{bad + `:3: event `, `key "organisation" missing`, fmt.Sprintf(`%s:%d: event "x"`, array, second+2), "id: string, docs example has number"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	if _, _, stderr := runCLI(t, "check", "--max", "0", bad); strings.Contains(stderr, "organisation") {
		t.Errorf("--max 0 showed an event: %s", stderr)
	}

	broken := filepath.Join(dir, "broken.ndjson")
	os.WriteFile(broken, []byte(lines[0]+"\n"+lines[1][:40]+"}"+lines[1][41:]+"\n"), 0o644)
	if code, out, stderr := runCLI(t, "check", broken); code != 2 || out != "" || !strings.HasPrefix(stderr, broken+":2:41: not JSON") {
		t.Errorf("broken JSON: exit %d, stdout %q, stderr %q", code, out, stderr)
	}
	if code, _, _ := runCLI(t, "check", filepath.Join(dir, "missing.ndjson")); code != 2 {
		t.Errorf("missing file: exit %d", code)
	}
	for _, tc := range []struct{ content, want string }{
		{"", "no events in it"},
		{"\n  \n", "no events in it"},
		{"[" + lines[0] + ",", "not JSON"},
		{"[" + lines[0], "1:" + fmt.Sprint(len(lines[0])+2) + ": not JSON: the array does not end"},
		{`[1, "x"]`, "a JSON number, not an event object"},
	} {
		f := filepath.Join(dir, "odd.json")
		os.WriteFile(f, []byte(tc.content), 0o644)
		if code, _, stderr := runCLI(t, "check", f); code == 0 || !strings.Contains(stderr, tc.want) {
			t.Errorf("%.40q: exit %d, stderr %q, want %q", tc.content, code, stderr, tc.want)
		}
	}
	code, out, _ = runCLI(t, "check", "--schema")
	var schema map[string]any
	if code != 0 || json.Unmarshal([]byte(out), &schema) != nil || schema["$schema"] != "https://json-schema.org/draft/2020-12/schema" {
		t.Errorf("--schema: exit %d, %.200s", code, out)
	}
}

// TestPush_ForgedSignatures: a receiver that checks no signature is caught.
func TestPush_ForgedSignatures(t *testing.T) {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer ts.Close()
	code, out, stderr := runCLI(t, "push", "--to", ts.URL, "--count", "50", "--seed", "1", "--sign-secret", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "--forge", "0.5")
	if code != 1 || !strings.Contains(stderr, "the receiver acknowledged") || !strings.Contains(out, "forged and 0 stale signatures") {
		t.Errorf("exit %d\n%s%s", code, out, stderr)
	}
}

// TestLoad_Progress: while the load runs, progress lines show requests,
// the last second's rate and the time left (they once showed nothing).
func TestLoad_Progress(t *testing.T) {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer ts.Close()
	var stdout, stderr bytes.Buffer
	cmd := &LoadCommand{Stdout: &stdout, Stderr: &stderr, every: 300 * time.Millisecond}
	if err := cmd.Run(context.Background(), []string{"--to", ts.URL, "--rate", "200", "--duration", "1500ms"}); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
	if len(lines) < 3 || !regexp.MustCompile(`^\d+ requests  rate \d+/s \(target 200/s\)  p50 .*  errors 0  left \d+s$`).MatchString(lines[len(lines)-1]) {
		t.Fatalf("progress:\n%s", stderr.String())
	}
	if strings.HasPrefix(lines[0], "0 requests") && strings.HasPrefix(lines[len(lines)-1], "0 requests") {
		t.Errorf("the progress never saw a request:\n%s", stderr.String())
	}
}

// TestScenarioBudget: a scenario over the event budget is refused by every
// command that runs one, as FILE:LINE:COLUMN with exit 2 and nothing on
// stdout; --max-scenario-events moves the budget.
func TestScenarioBudget(t *testing.T) {
	file := filepath.Join("..", "..", "scenarios", "testdata", "broken", "budget-nested-repeats.yaml")
	for _, args := range [][]string{
		{"scenarios", "validate", file},
		{"generate", "--scenario", file},
		{"generate", "--scenario", "onboarding", "--max-scenario-events", "15"},
	} {
		code, out, stderr := runCLI(t, args...)
		if code != 2 || out != "" || !strings.Contains(stderr, ":5: this scenario makes more than") {
			t.Errorf("%v: exit %d, stdout %d bytes, stderr %q", args, code, len(out), stderr)
		}
	}
	// The budget is checked against an upper bound: onboarding makes 16
	// events, and could make 20 (each new endpoint may activate its SIM).
	if code, out, stderr := runCLI(t, "generate", "--scenario", "onboarding", "--max-scenario-events", "20"); code != 0 || strings.Count(out, "\n") != 16 {
		t.Errorf("onboarding on a budget of 20: exit %d, %s", code, stderr)
	}
	if code, _, stderr := runCLI(t, "serve", "--max-scenario-events", "0"); code != 2 || !strings.Contains(stderr, "--max-scenario-events must be 1 or more") {
		t.Errorf("serve --max-scenario-events 0: exit %d, %q", code, stderr)
	}
	if code, _, stderr := runCLI(t, "serve", "--stream-workers", "65"); code != 2 || !strings.Contains(stderr, "--stream-workers must be 1 to 64, got 65") {
		t.Errorf("--stream-workers 65: exit %d, %q", code, stderr)
	}
}

// TestServe_OffLoopbackNeedsAControlToken: serve refuses to listen off
// loopback with an open control API unless told; with a control token,
// /mock needs it and the banner says so.
func TestServe_OffLoopbackNeedsAControlToken(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:0", ":0", "192.0.2.1:0", "example.com:0"} {
		if code, _, stderr := runCLI(t, "serve", "--addr", addr); code != 2 || !strings.Contains(stderr, "is off loopback") || !strings.Contains(stderr, "--control-token") {
			t.Errorf("--addr %s: exit %d, %q", addr, code, stderr)
		}
	}
	if code, _, stderr := runCLI(t, "serve", "--control-token", "x", "--insecure-control"); code != 2 || !strings.Contains(stderr, "contradict") {
		t.Errorf("both: exit %d, %q", code, stderr)
	}
	srv, stdout := startServe(t, "--addr", "127.0.0.1:0", "--seed", "3", "--control-token", "ctl", "--password", "pw-given")
	if !strings.Contains(stdout.String(), "needs Authorization: Bearer <control token>") || !strings.Contains(stdout.String(), "/ pw-given") {
		t.Errorf("banner:\n%s", stdout.String())
	}
	for token, want := range map[string]int{"": 401, "ctl": 200} {
		req, _ := http.NewRequest("GET", srv.URL()+"/mock/workspaces", nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil || res.StatusCode != want {
			t.Errorf("/mock/workspaces with %q: %v %v, want %d", token, err, res, want)
		}
		if res != nil {
			res.Body.Close()
		}
	}
}

// TestServe_ScenarioWorkspacesGetTokens: a workspace a --scenario makes at
// start-up gets an application token, as one made by POST /mock/scenarios.
func TestServe_ScenarioWorkspacesGetTokens(t *testing.T) {
	srv, _ := startServe(t, "--addr", "127.0.0.1:0", "--seed", "3", "--scenario", "migration")
	res, err := http.Get(srv.URL() + "/mock/workspaces")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var ws []struct {
		Name      string   `json:"name"`
		AppTokens []string `json:"application_tokens"`
	}
	json.NewDecoder(res.Body).Decode(&ws)
	if len(ws) != 3 {
		t.Fatalf("%d workspaces, want acme, production and the scenario's staging", len(ws))
	}
	for _, w := range ws {
		if len(w.AppTokens) == 0 {
			t.Errorf("workspace %q has no application token", w.Name)
		}
	}
}

// TestServe_FlagsFromEnvironment: every serve flag can come from
// EMNIFY_MOCK_*, a repeatable one as a comma-separated list; the command
// line wins; a bad value names its variable.
func TestServe_FlagsFromEnvironment(t *testing.T) {
	env := map[string]string{"EMNIFY_MOCK_ADDR": "127.0.0.1:9999", "EMNIFY_MOCK_APP_TOKEN": "a,b", "EMNIFY_MOCK_RATE_LIMITS": "true",
		"EMNIFY_MOCK_CONTROL_TOKEN": "ctl", "EMNIFY_MOCK_SEED": "7"}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	addr, seed := fs.String("addr", "127.0.0.1:8080", ""), fs.String("seed", "", "")
	limits, control := fs.Bool("rate-limits", false, ""), fs.String("control-token", "", "")
	var tokens stringList
	fs.Var(&tokens, "app-token", "")
	if err := fs.Parse([]string{"--seed", "3"}); err != nil {
		t.Fatal(err)
	}
	if err := flagsFromEnv(fs, lookup); err != nil {
		t.Fatal(err)
	}
	if *addr != "127.0.0.1:9999" || *seed != "3" || !*limits || *control != "ctl" || strings.Join(tokens, " ") != "a b" {
		t.Errorf("addr %s seed %s limits %v control %s tokens %v", *addr, *seed, *limits, *control, tokens)
	}
	env["EMNIFY_MOCK_RATE_LIMITS"] = "yes"
	fs2 := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs2.Bool("rate-limits", false, "")
	if err := flagsFromEnv(fs2, lookup); err == nil || !strings.Contains(err.Error(), `EMNIFY_MOCK_RATE_LIMITS="yes"`) {
		t.Errorf("a bad value: %v", err)
	}
	if code, out, _ := runCLI(t, "--version"); code != 0 || !strings.HasPrefix(out, "emnify-mock ") {
		t.Errorf("--version: exit %d %q", code, out)
	}
}

// TestPush_WrongURLStopsAtOnce: a 404 to the first request stops the run
// with the answer in the error, every event in the dead-letter file; with
// --retry-4xx it is retried, and the error names the last failure.
func TestPush_WrongURLStopsAtOnce(t *testing.T) {
	var hits atomic.Int64
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		http.NotFound(w, r)
	}))
	defer ts.Close()
	dead := filepath.Join(t.TempDir(), "dead.ndjson")
	code, _, stderr := runCLI(t, "push", "--to", ts.URL+"/hook", "--count", "50", "--seed", "1", "--workers", "1", "--dead-letters", dead)
	want := "the first request got 404 Not Found from " + ts.URL + "/hook"
	if code != 1 || !strings.Contains(stderr, want) {
		t.Fatalf("exit %d, stderr %q; want %q", code, stderr, want)
	}
	// Every event made gets its record (the run stops making more).
	b, err := os.ReadFile(dead)
	if n := strings.Count(string(b), "\n"); err != nil || n == 0 || !strings.Contains(stderr, fmt.Sprintf("; %d events are in %s", n, dead)) {
		t.Errorf("dead letters: %v, %d lines; stderr %q", err, n, stderr)
	}
	if n := hits.Load(); n > 2 {
		t.Errorf("%d requests reached the receiver after the first 404", n)
	}
	// A run stopped before its source was through keeps its journal (the
	// events not made yet), so the next run writes its records elsewhere.
	code, _, stderr = runCLI(t, "push", "--to", ts.URL+"/hook", "--count", "3", "--seed", "1", "--retry-4xx",
		"--attempts", "2", "--initial-delay", "1ms", "--max-delay", "2ms", "--dead-letters", filepath.Join(t.TempDir(), "dead2.ndjson"))
	if code != 1 || !strings.Contains(stderr, "3 events could not be delivered (last failure: 404 Not Found from "+ts.URL+"/hook)") {
		t.Errorf("--retry-4xx: exit %d, stderr %q", code, stderr)
	}
}

// TestPush_InterruptedTwice: a signal stops push, a second cuts what is in
// flight; the summary says it was interrupted, and every event not
// acknowledged is in the dead-letter file.
func TestPush_InterruptedTwice(t *testing.T) {
	arrived := make(chan struct{}, 1000)
	release := make(chan struct{})
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		arrived <- struct{}{}
		select { // hangs
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer ts.Close()
	defer close(release)
	dead := filepath.Join(t.TempDir(), "dead.ndjson")
	ctx, cancel := context.WithCancel(context.Background())
	abort := make(chan struct{})
	var stdout, stderr bytes.Buffer
	done := make(chan error, 1)
	go func() {
		done <- (&PushCommand{Stdout: &stdout, Stderr: &stderr}).Run(withAbort(ctx, abort),
			[]string{"--to", ts.URL, "--count", "40", "--seed", "1", "--workers", "2", "--timeout", "1h", "--dead-letters", dead})
	}()
	<-arrived
	cancel()     // the first Ctrl-C
	close(abort) // the second
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "interrupted: 0 events acknowledged") {
			t.Errorf("error %v, want an interrupted summary", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("push did not stop after the second signal")
	}
	b, err := os.ReadFile(dead)
	if err != nil || strings.Count(string(b), "\n") == 0 || !strings.Contains(string(b), "interrupt") {
		t.Errorf("dead letters: %v\n%.300s", err, b)
	}
}

// TestLoad_FailsLoudly: a run where every request fails exits 1 and says
// why; an output that cannot be written is refused before anything is sent.
func TestLoad_FailsLoudly(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + ln.Addr().String() + "/hook"
	ln.Close() // nothing listens there now
	code, out, stderr := runCLI(t, "load", "--to", closed, "--rate", "50", "--duration", "200ms")
	if code != 1 || !strings.Contains(stderr, "below --min-success 99.00%") || !strings.Contains(out, "Success") {
		t.Errorf("load against a closed port: exit %d\n%s\n%s", code, out, stderr)
	}
	if code, _, _ := runCLI(t, "load", "--to", closed, "--rate", "50", "--duration", "200ms", "--min-success", "0"); code != 0 {
		t.Errorf("--min-success 0: exit %d", code)
	}
	var hits atomic.Int64
	ts := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { hits.Add(1) }))
	defer ts.Close()
	code, _, stderr = runCLI(t, "load", "--to", ts.URL, "--duration", "1s", "--report", filepath.Join(t.TempDir(), "no", "such", "dir", "x.html"))
	if code != 2 || !strings.Contains(stderr, "--report") || hits.Load() != 0 {
		t.Errorf("unwritable --report: exit %d, %d requests sent, %q", code, hits.Load(), stderr)
	}
}

// startServe runs serve with args until the test ends; it returns the
// server once it listens, and its stdout.
func startServe(t *testing.T, args ...string) (*server.Server, *bytes.Buffer) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var stdout, stderr bytes.Buffer
	ready := make(chan *server.Server, 1)
	cmd := &ServeCommand{Stdout: &stdout, Stderr: &stderr, ready: func(s *server.Server) { ready <- s }}
	done := make(chan error, 1)
	go func() { done <- cmd.Run(ctx, args) }()
	select {
	case srv := <-ready:
		t.Cleanup(func() { cancel(); <-done })
		return srv, &stdout
	case err := <-done:
		cancel()
		t.Fatalf("serve ended: %v\n%s", err, stderr.String())
		return nil, nil
	}
}

// TestVerify_OnARunningPlatform: verify --platform runs every scenario on
// a serve that is already running, through its control and emnify APIs:
// the reference consumer passes, the naive one fails, the data stream is
// registered there and deleted after, and steps that configure the
// platform are skipped with a note.
func TestVerify_OnARunningPlatform(t *testing.T) {
	srv, _ := startServe(t, "--addr", "127.0.0.1:0", "--control-token", "ctl")
	before := srv.Log().Len()
	good := httptest.NewServer(consumer.New(false))
	defer good.Close()
	code, out, stderr := runCLI(t, "verify", "--consumer", good.URL, "--format", "progress", "--platform", srv.URL(), "--control-token", "ctl")
	if want := fmt.Sprintf("%d scenarios (%[1]d passed)", shippedScenarios()); code != 0 || !strings.Contains(out, want) ||
		!strings.Contains(stderr, `skipped: "the platform enforces emnify's rate limits" needs the in-process platform`) {
		t.Fatalf("reference consumer: exit %d\n%s\n%s", code, out, stderr)
	}
	if srv.Log().Len() <= before {
		t.Errorf("the platform's log did not grow: %d events", srv.Log().Len())
	}
	made := string(getBody(t, srv.URL()+"/mock/requests?method=POST&path=/api/v2/data_stream&status=201", "ctl"))
	deleted := string(getBody(t, srv.URL()+"/mock/requests?method=DELETE&path=/api/v2/data_stream/*&status=204", "ctl"))
	if journal := made + deleted; strings.Count(made, "\n") != 0 || strings.Count(deleted, "\n") != 0 || made == "" || deleted == "" {
		t.Errorf("the data stream was not registered and deleted on the platform:\n%s", journal)
	}
	if deliveries := string(getBody(t, srv.URL()+"/mock/deliveries", "ctl")); deliveries != "[]" {
		t.Errorf("streams left behind: %s", deliveries)
	}
	// The API steps: an inline scenario, a change through the API, the
	// journal read in the scenario's own workspaces.
	api := filepath.Join("..", "..", "features", "testdata", "api.feature")
	if code, out, stderr := runCLI(t, "verify", "--consumer", good.URL, "--format", "progress", "--platform", srv.URL(), "--control-token", "ctl", api); code != 0 || !strings.Contains(out, "2 scenarios (2 passed)") {
		t.Errorf("the API steps on the platform: exit %d\n%s\n%s", code, out, stderr)
	}
	naive := httptest.NewServer(consumer.New(true))
	defer naive.Close()
	if code, out, _ := runCLI(t, "verify", "--consumer", naive.URL, "--format", "progress", "--platform", srv.URL(), "--control-token", "ctl", "--tags", "@push"); code != 1 || !strings.Contains(out, "failed") {
		t.Errorf("naive consumer: exit %d\n%s", code, out)
	}
	code, _, stderr = runCLI(t, "verify", "--consumer", good.URL, "--platform", srv.URL())
	if code != 1 || !strings.Contains(stderr, "HTTP 401") || !strings.Contains(stderr, "verify --control-token") {
		t.Errorf("without the control token: exit %d, %q", code, stderr)
	}
	if code, _, stderr := runCLI(t, "verify", "--consumer", good.URL, "--platform", srv.URL(), "--mock-addr", "127.0.0.1:1"); code != 2 || !strings.Contains(stderr, "give one of them") {
		t.Errorf("--platform with --mock-addr: exit %d, %q", code, stderr)
	}
}

// getBody GETs url and fails the test unless it answers 200.
func getBody(t *testing.T, url, token string) []byte {
	t.Helper()
	return bytes.TrimSpace(send(t, http.MethodGet, url, token, "", http.StatusOK))
}

// TestVerify_EmptySelectionFails: tags that select no scenario verify
// nothing, which is no pass.
func TestVerify_EmptySelectionFails(t *testing.T) {
	code, _, stderr := runCLI(t, "verify", "--consumer", "http://127.0.0.1:1", "--tags", "@fast && ~@slow")
	if code != 2 || !strings.Contains(stderr, `no scenario matches --tags "@fast && ~@slow"`) {
		t.Errorf("exit %d, %q", code, stderr)
	}
}

// TestVerify_NoStepLocations: the pretty report keeps the feature file's
// locations and drops the step library's, also when godog writes a line
// in pieces and in colour.
func TestVerify_NoStepLocations(t *testing.T) {
	var b bytes.Buffer
	s := &stepLocations{w: &b}
	in := "  Scenario: x      # a.feature:14\n" +
		"    Given the platform runs   # steps.go:145 -> github.com/emnify-mock/emnify-mock/features.platformRuns\n" +
		"    \x1b[32mAnd\x1b[0m y \x1b[1;30m# steps.go:145 -> github.com/emnify-mock/emnify-mock/features.deliverySize\x1b[0m\n" +
		"1 scenarios (1 passed)"
	for i := 0; i < len(in); i += 7 {
		s.Write([]byte(in[i:min(i+7, len(in))]))
	}
	s.Flush()
	want := "  Scenario: x      # a.feature:14\n    Given the platform runs\n    \x1b[32mAnd\x1b[0m y\n1 scenarios (1 passed)"
	if b.String() != want {
		t.Errorf("got\n%q\nwant\n%q", b.String(), want)
	}
}

// TestVerify_Contract: a consumer with its own webhook path that checks a
// bearer token and a Standard Webhooks signature, no event count and its
// own poll trigger passes with the contract given in flags (the count
// steps skipped and noted), and fails without the token.
func TestVerify_Contract(t *testing.T) {
	const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	signer, _ := streamer.NewSigner(secret)
	ref := consumer.New(false)
	var hooks atomic.Int64
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/hooks/emnify":
			body, _ := io.ReadAll(r.Body)
			if r.Header.Get("Authorization") != "Bearer s3cret" {
				http.Error(w, "no token", http.StatusUnauthorized)
				return
			}
			// Streams do not sign; pushes must, with the secret.
			if sig := r.Header.Get("webhook-signature"); sig != "" {
				sec, _ := strconv.ParseInt(r.Header.Get("webhook-timestamp"), 10, 64)
				if sig != signer.Sign(r.Header.Get("webhook-id"), time.Unix(sec, 0), body) {
					http.Error(w, "bad signature", http.StatusUnauthorized)
					return
				}
			}
			hooks.Add(1)
			r.URL.Path, r.Body = "/webhook", io.NopCloser(bytes.NewReader(body))
		case "/ops/poll-now":
			r.URL.Path = "/admin/poll"
		case "/webhook", "/stats", "/admin/poll":
			http.NotFound(w, r)
			return
		}
		ref.ServeHTTP(w, r)
	}))
	defer ts.Close()
	args := []string{"verify", "--consumer", ts.URL, "--format", "progress", "--webhook", "/hooks/emnify",
		"--sign-secret", secret, "--stats", "", "--poll-trigger", "/ops/poll-now"}
	code, out, stderr := runCLI(t, append(args, "--webhook-header", "Authorization: Bearer s3cret")...)
	if want := fmt.Sprintf("%d scenarios (%[1]d passed)", shippedScenarios()); code != 0 || !strings.Contains(out, want) ||
		!strings.Contains(stderr, "skipped: the consumer has no event count") || hooks.Load() == 0 {
		t.Fatalf("with the contract: exit %d, %d webhook requests\n%s\n%s", code, hooks.Load(), out, stderr)
	}
	if code, out, _ := runCLI(t, append(args, "--tags", "@push")...); code != 1 {
		t.Errorf("without the token: exit %d\n%s", code, out)
	}
	if code, _, stderr := runCLI(t, append(args, "--webhook-header", "Bad Header")...); code != 2 || !strings.Contains(stderr, "webhook headers") {
		t.Errorf("a malformed header: exit %d, %q", code, stderr)
	}
}
