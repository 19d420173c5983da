package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/emnify-mock/emnify-mock/generator"
	"github.com/emnify-mock/emnify-mock/plan"
	"github.com/emnify-mock/emnify-mock/scenarios"
	"github.com/emnify-mock/emnify-mock/server"
)

// servedLog starts a server whose log holds a scenario's events.
func servedLog(t *testing.T) string {
	t.Helper()
	sc, err := scenarios.Load("onboarding")
	if err != nil {
		t.Fatal(err)
	}
	world := plan.NewWorldOn(generator.NewVirtual(generator.DefaultStart), 3)
	var history []generator.Event
	if _, err := world.Run(sc.Plan, func(e generator.Event) error { history = append(history, e); return nil }); err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(server.Options{World: world, History: history, Secret: []byte("s")})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	return ts.URL
}

// collector is a webhook that keeps the bodies it got, in order.
type collector struct {
	mu     sync.Mutex
	bodies []string
}

func (c *collector) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	c.mu.Lock()
	c.bodies = append(c.bodies, string(b))
	c.mu.Unlock()
}

func (c *collector) got() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.bodies...)
}

var topID = regexp.MustCompile(`^(\{"timestamp":"[^"]*","alert":(?:true|false),"description":"(?:[^"\\]|\\.)*","id":)\d+`)

// TestSources_EveryCommandOverEverySource: generate, push and load read
// the churn, a scenario, a file and a served log alike; --count caps each,
// and the same source and seed give the same events through all three
// (load gives each request a new id: the rest is the same).
func TestSources_EveryCommandOverEverySource(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "events.ndjson")
	if code, _, stderr := runCLI(t, "generate", "--count", "9", "--seed", "5", "--out", file); code != 0 {
		t.Fatal(stderr)
	}
	served := servedLog(t)
	for _, c := range []struct {
		name string
		args []string
	}{
		{"churn", []string{"--seed", "5"}},
		{"scenario", []string{"--scenario", "migration", "--seed", "5"}},
		{"file", []string{"--from", file}},
		{"served log", []string{"--from", served}},
	} {
		t.Run(c.name, func(t *testing.T) {
			const n = 4
			args := append([]string{"--count", "4"}, c.args...)
			code, out, stderr := runCLI(t, append([]string{"generate"}, args...)...)
			want := strings.Split(strings.TrimSpace(out), "\n")
			if code != 0 || len(want) != n {
				t.Fatalf("generate: exit %d, %d events\n%s", code, len(want), stderr)
			}

			hook := &collector{}
			ts := httptest.NewServer(hook)
			defer ts.Close()
			push := append([]string{"push", "--to", ts.URL, "--workers", "1", "--journal", "", "--dead-letters", filepath.Join(dir, "dead.ndjson")}, args...)
			if code, out, stderr := runCLI(t, push...); code != 0 {
				t.Fatalf("push: exit %d\n%s%s", code, out, stderr)
			}
			if got := hook.got(); strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("push sent other events than generate wrote:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}

			hook = &collector{}
			ts2 := httptest.NewServer(hook)
			defer ts2.Close()
			load := append([]string{"load", "--to", ts2.URL, "--rate", "40", "--duration", "1s", "--max-workers", "1"}, args...)
			if code, out, stderr := runCLI(t, load...); code != 0 {
				t.Fatalf("load: exit %d\n%s%s", code, out, stderr)
			}
			got := hook.got()
			if len(got) < 2*n {
				t.Fatalf("load sent %d requests", len(got))
			}
			ids := map[string]bool{}
			for i, body := range got {
				m := topID.FindStringSubmatch(body)
				if m == nil {
					t.Fatalf("load body without a leading id: %.200s", body)
				}
				id := body[len(m[1]):len(m[0])]
				if ids[id] {
					t.Errorf("load sent id %s twice", id)
				}
				ids[id] = true
				if mask(body) != mask(want[i%n]) {
					t.Errorf("load request %d is not event %d of the source:\n%s\n%s", i, i%n, mask(body), mask(want[i%n]))
				}
			}
		})
	}
}

func mask(event string) string { return topID.ReplaceAllString(event, "${1}N") }

// TestSources_BadFileIsPlaced: an events file that is not JSON, or holds
// an object without an id, is refused at its line before anything is sent.
func TestSources_BadFileIsPlaced(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.ndjson")
	os.WriteFile(bad, []byte("{\"id\":1}\n{\"id\":2,\n"), 0o644)
	noID := filepath.Join(dir, "noid.ndjson")
	os.WriteFile(noID, []byte("{\"id\":1}\n\n{\"name\":2}\n"), 0o644)
	for file, want := range map[string]string{bad: bad + ":2:8: not JSON: unexpected EOF", noID: noID + ":3: not an event with a whole-number id"} {
		code, _, stderr := runCLI(t, "generate", "--from", file)
		if code != 2 || !strings.Contains(stderr, want) {
			t.Errorf("generate --from %s: exit %d, stderr %q; want %q", file, code, stderr, want)
		}
	}
	if code, _, stderr := runCLI(t, "generate", "--from", bad, "--scenario", "migration"); code != 2 || !strings.Contains(stderr, "two sources") {
		t.Errorf("two sources: exit %d %s", code, stderr)
	}
}
