package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// freeAddr returns a loopback address nothing listens on.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// served is a serve process and a client of it.
type served struct {
	t    *testing.T
	p    *process
	base string
}

func startServeProcess(t *testing.T, dir string, args ...string) *served {
	t.Helper()
	addr := freeAddr(t)
	s := &served{t: t, p: startProcess(t, dir, append([]string{"serve", "--addr", addr}, args...)...), base: "http://" + addr}
	deadline := time.Now().Add(60 * time.Second)
	for {
		res, err := http.Get(s.base + "/mock/health")
		if err == nil {
			res.Body.Close()
			return s
		}
		select {
		case <-s.p.exited:
			t.Fatalf("serve ended (%d):\n%s", s.p.code, s.p.out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve did not answer:\n%s", s.p.out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// do makes a request; err is a transport error (the process died).
func (s *served) do(method, path, token, body string) (int, []byte, error) {
	req, _ := http.NewRequest(method, s.base+path, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return res.StatusCode, b, err
}

func (s *served) must(method, path, token, body string, status int) []byte {
	s.t.Helper()
	return send(s.t, method, s.base+path, token, body, status)
}

// login returns an auth token for the first workspace's application token.
func (s *served) login() string {
	s.t.Helper()
	var wss []struct {
		ID        int64    `json:"id"`
		AppTokens []string `json:"application_tokens"`
	}
	json.Unmarshal(s.must("GET", "/mock/workspaces", "", "", 200), &wss)
	var out struct {
		Auth string `json:"auth_token"`
	}
	json.Unmarshal(s.must("POST", "/api/v1/authenticate", "", `{"application_token":"`+wss[0].AppTokens[0]+`"}`, 200), &out)
	return out.Auth
}

// events returns the log as /mock/events shows it (what is on disk), in
// log order.
func (s *served) events() [][]byte {
	s.t.Helper()
	var out [][]byte
	sc := bufio.NewScanner(bytes.NewReader(s.must("GET", "/mock/events", "", "", 200)))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		out = append(out, bytes.Clone(sc.Bytes()))
	}
	return out
}

// delivery returns the first data stream's delivery state.
func (s *served) delivery() (org int64, pos int) {
	s.t.Helper()
	var ds []struct {
		Org int64 `json:"organisation_id"`
		Pos int   `json:"log_position"`
	}
	json.Unmarshal(s.must("GET", "/mock/deliveries", "", "", 200), &ds)
	if len(ds) != 1 {
		s.t.Fatalf("%d data streams", len(ds))
	}
	return ds[0].Org, ds[0].Pos
}

// hookReceiver answers 503 while down and keeps what it acknowledged.
type hookReceiver struct {
	down  atomic.Bool
	mu    sync.Mutex
	acked map[eventKey]bool
}

func (h *hookReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	if h.down.Load() {
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	h.mu.Lock()
	h.acked[keyOf(b)] = true
	h.mu.Unlock()
}

func (h *hookReceiver) has(k eventKey) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.acked[k]
}

// TestServe_DataDirSurvivesKill builds state through the API, scenarios
// and the living fleet, with a data stream whose receiver is down, and
// kills serve with SIGKILL at random instants while writers change SIMs,
// restarting it on the same --data-dir each time. After each restart every
// SIM stands where its last 2xx left it (or where the request in flight at
// the kill took it), the log holds every event it held on disk before, a
// token made before the kill still works; once the receiver is up, the
// stream delivers every event it owed.
func TestServe_DataDirSurvivesKill(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	work, data := t.TempDir(), filepath.Join(t.TempDir(), "state")
	hook := &hookReceiver{acked: map[eventKey]bool{}}
	hook.down.Store(true)
	ts := httptest.NewServer(hook)
	defer ts.Close()
	rng := rand.New(rand.NewPCG(5, 5))

	s := startServeProcess(t, work, "--data-dir", data, "--seed", "3", "--live", "20/s")
	token := s.login()
	s.must("POST", "/api/v2/data_stream", token, `{"name":"hook","data_stream_type":{"id":2},"destination":{"connection_type":"RestAPI","credentials":{"url":"`+ts.URL+`","size":1}}}`, 201)
	org, from := s.delivery() // nothing is acknowledged yet: the stream owes what follows
	s.must("POST", "/mock/scenarios?name=reset-connectivity", "", "", 200)
	token = s.login() // the scenario moved the clock on
	var sims []struct {
		ID     int64 `json:"id"`
		Status struct {
			ID int `json:"id"`
		} `json:"status"`
	}
	json.Unmarshal(s.must("GET", "/api/v1/sim?per_page=1000", token, "", 200), &sims)
	// Each writer flips its own SIMs between Activated and Suspended, one
	// request at a time: acked is the last status answered 2xx, inFlight
	// the one asked when the process died.
	type simState struct{ acked, inFlight int }
	var owned []int64
	state := map[int64]*simState{}
	for _, sim := range sims { // 8: two for each writer
		if sim.Status.ID == 1 && len(owned) < 8 {
			owned = append(owned, sim.ID)
			state[sim.ID] = &simState{acked: 1}
		}
	}
	if len(owned) < 8 {
		t.Fatalf("only %d Activated SIMs", len(owned))
	}
	var acked atomic.Int64             // writes answered 2xx, all rounds
	answered := make(chan struct{}, 1) // a write was answered 2xx
	for round := range 2 {
		var wg sync.WaitGroup
		for w := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; ; i++ {
					id := owned[(w+4*i)%len(owned)]
					st := state[id]
					want := 3 - st.acked // 1 <-> 2
					st.inFlight = want
					code, _, err := s.do("PATCH", fmt.Sprintf("/api/v1/sim/%d", id), token, fmt.Sprintf(`{"status":{"id":%d}}`, want))
					if err != nil {
						return // killed
					}
					if code != 204 {
						t.Errorf("PATCH sim %d to %d: %d", id, want, code)
						return
					}
					st.acked, st.inFlight = want, 0
					acked.Add(1)
					select {
					case answered <- struct{}{}:
					default:
					}
				}
			}()
		}
		// A random instant to kill at: after a random number of writes more.
		at, timeout := acked.Load()+20+rng.Int64N(500), time.After(60*time.Second)
		for acked.Load() < at {
			select {
			case <-answered:
			case <-timeout:
				t.Fatalf("round %d: only %d writes answered", round, acked.Load())
			}
		}
		before := s.events()
		s.p.cmd.Process.Signal(syscall.SIGKILL)
		<-s.p.exited
		wg.Wait()

		s = startServeProcess(t, work, "--data-dir", data) // no --seed: the data dir has it
		for _, id := range owned {
			var sim struct {
				Status struct {
					ID int `json:"id"`
				} `json:"status"`
			}
			json.Unmarshal(s.must("GET", fmt.Sprintf("/api/v1/sim/%d", id), token, "", 200), &sim) // the old token works
			if st := state[id]; sim.Status.ID != st.acked && sim.Status.ID != st.inFlight {
				t.Errorf("round %d: SIM %d is in status %d after the restart; its last 2xx set %d (in flight: %d)", round, id, sim.Status.ID, st.acked, st.inFlight)
			}
			if st := state[id]; sim.Status.ID != st.acked { // the kill came after the change, before the answer
				st.acked = sim.Status.ID
			}
		}
		after := s.events()
		if len(after) < len(before) {
			t.Fatalf("round %d: %d events on disk before the kill, %d after the restart", round, len(before), len(after))
		}
		for i, b := range before {
			if !bytes.Equal(after[i], b) {
				t.Fatalf("round %d: event %d of the log differs after the restart:\nbefore %s\nafter  %s", round, i, b, after[i])
			}
		}
		t.Logf("round %d: %d events on disk before the kill, %d after the restart", round, len(before), len(after))
	}

	// The receiver comes back: the stream delivers everything it owed.
	hook.down.Store(false)
	deadline := time.Now().Add(60 * time.Second)
	for {
		var owed []eventKey
		for _, b := range s.events()[from:] {
			var e struct {
				Organisation struct {
					ID int64 `json:"id"`
				} `json:"organisation"`
			}
			json.Unmarshal(b, &e)
			if k := keyOf(b); e.Organisation.ID == org && !hook.has(k) {
				owed = append(owed, k)
			}
		}
		if len(owed) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the stream still owes %d events, e.g. %v; deliveries: %s", len(owed), owed[0], s.must("GET", "/mock/deliveries", "", "", 200))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestServe_DataDirRefusals: a data dir in use by a running serve is
// refused, and so is a flag that would build another world than the one
// the directory keeps; leaving it out resumes.
func TestServe_DataDirRefusals(t *testing.T) {
	data := filepath.Join(t.TempDir(), "state")
	t.Run("in use", func(t *testing.T) {
		startServe(t, "--addr", "127.0.0.1:0", "--data-dir", data, "--seed", "3")
		code, _, stderr := runCLI(t, "serve", "--addr", "127.0.0.1:0", "--data-dir", data)
		if code != 2 || !strings.Contains(stderr, "in use by another emnify-mock serve") {
			t.Errorf("a second serve on the directory: exit %d, %q", code, stderr)
		}
	})
	code, _, stderr := runCLI(t, "serve", "--addr", "127.0.0.1:0", "--data-dir", data, "--seed", "4")
	if code != 2 || !strings.Contains(stderr, "--seed 4 differs from the data dir's (3)") || !strings.Contains(stderr, "leave --seed out to resume") {
		t.Errorf("another seed: exit %d, %q", code, stderr)
	}
	_, out := startServe(t, "--addr", "127.0.0.1:0", "--data-dir", data, "--seed", "3")
	if !strings.Contains(out.String(), "emnify-mock serving") {
		t.Errorf("the same seed again did not serve: %s", out)
	}
}
