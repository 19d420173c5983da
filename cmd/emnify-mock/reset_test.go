package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestServe_ResetMakesTheWorldAtStartAgain: serve keeps no copy of the
// world at start; POST /mock/reset builds it again from the scenarios as
// read at start (a file changed since does not matter) on the instant it
// was first built, and gets every SIM and endpoint back as it was, byte
// for byte, while new events go on after the ones already handed out.
func TestServe_ResetMakesTheWorldAtStartAgain(t *testing.T) {
	file := filepath.Join(t.TempDir(), "fleet.yaml")
	src := `name: fleet
description: twenty deployed SIMs, three suspended
workspaces:
  - name: fleet
    tokens: [fleet]
    sims:
      - group: deployed
        count: 20
        status: activated
        endpoint: {group: devices, status: enabled}
steps:
  - do: suspend
    target: deployed
    pick: 3
`
	if err := os.WriteFile(file, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	srv, _ := startServe(t, "--addr", "127.0.0.1:0", "--seed", "7", "--scenario", "migration", "--scenario", file)
	if err := os.WriteFile(file, []byte("not: [a scenario"), 0o600); err != nil { // read once, at start
		t.Fatal(err)
	}
	base := srv.URL()
	before := worldSeen(t, base)
	if workspaceCount(t, base) != 4 || !strings.Contains(before, `"counts":{"endpoints":20,"sims":20}`) {
		t.Fatalf("the world at start lacks the scenario's fleet:\n%.2000s", before)
	}
	type event struct {
		ID        int64     `json:"id"`
		Timestamp time.Time `json:"timestamp"`
	}
	lastEvent := func() event {
		b := getBody(t, base+"/api/v1/event?per_page=1&sort=-id", jwtFor(t, base, 0))
		var evs []event
		if err := json.Unmarshal(b, &evs); err != nil || len(evs) != 1 {
			t.Fatalf("newest event: %v %s", err, b)
		}
		return evs[0]
	}

	jwt := jwtFor(t, base, 0)
	var eps []struct {
		ID int64 `json:"id"`
	}
	if err := json.Unmarshal(getBody(t, base+"/api/v1/endpoint?per_page=1", jwt), &eps); err != nil || len(eps) != 1 {
		t.Fatalf("an endpoint: %v", err)
	}
	endpoint := base + "/api/v1/endpoint/" + strconv.FormatInt(eps[0].ID, 10)
	send(t, http.MethodPatch, endpoint, jwt, `{"name":"renamed"}`, http.StatusNoContent)
	send(t, http.MethodPatch, endpoint, jwt, `{"status":{"id":1}}`, http.StatusNoContent)
	changed := worldSeen(t, base)
	if changed == before {
		t.Fatal("the changes did not change the world")
	}
	newest := lastEvent()

	send(t, http.MethodPost, base+"/mock/reset", "", "", http.StatusNoContent)
	if after := worldSeen(t, base); after != before {
		t.Fatalf("after reset the world is not the one at start:\nstart: %.1500s\nafter: %.1500s", before, after)
	}
	// The world made again goes on on the server's clock, which may be
	// moved on.
	send(t, http.MethodPost, base+"/mock/clock", "", `{"advance":"720h"}`, http.StatusOK)
	send(t, http.MethodPatch, endpoint, jwtFor(t, base, 0), `{"status":{"id":1}}`, http.StatusNoContent)
	if got := lastEvent(); got.ID <= newest.ID {
		t.Errorf("the first event after the reset has id %d, not after %d, the newest handed out before it", got.ID, newest.ID)
	} else if !got.Timestamp.After(time.Now().Add(719 * time.Hour)) {
		t.Errorf("the first event after the reset and a clock move of 30 days happened at %s, not on the moved clock", got.Timestamp)
	}
}

// worldSeen is every workspace's SIMs and endpoints as the API lists them.
func worldSeen(t *testing.T, base string) string {
	t.Helper()
	var out strings.Builder
	out.Write(getBody(t, base+"/mock/workspaces", ""))
	for i := range workspaceCount(t, base) {
		jwt := jwtFor(t, base, i)
		for _, path := range []string{"/api/v1/sim?per_page=1000", "/api/v1/endpoint?per_page=1000"} {
			out.WriteString("\n" + path + "\n")
			out.Write(getBody(t, base+path, jwt))
		}
	}
	return out.String()
}

func workspaceCount(t *testing.T, base string) int {
	var ws []json.RawMessage
	if err := json.Unmarshal(getBody(t, base+"/mock/workspaces", ""), &ws); err != nil {
		t.Fatal(err)
	}
	return len(ws)
}

// jwtFor logs in with the i-th workspace's first application token.
func jwtFor(t *testing.T, base string, i int) string {
	t.Helper()
	var ws []struct {
		AppTokens []string `json:"application_tokens"`
	}
	if err := json.Unmarshal(getBody(t, base+"/mock/workspaces", ""), &ws); err != nil || len(ws) <= i || len(ws[i].AppTokens) == 0 {
		t.Fatalf("workspace %d has no application token: %v", i, err)
	}
	res := send(t, http.MethodPost, base+"/api/v1/authenticate", "", `{"application_token":"`+ws[i].AppTokens[0]+`"}`, http.StatusOK)
	var auth struct {
		Token string `json:"auth_token"`
	}
	if err := json.Unmarshal(res, &auth); err != nil || auth.Token == "" {
		t.Fatalf("authenticate: %v %s", err, res)
	}
	return auth.Token
}

// send makes a request and fails the test unless it is answered want.
func send(t *testing.T, method, url, token, body string, want int) []byte {
	t.Helper()
	req, _ := http.NewRequest(method, url, bytes.NewBufferString(body))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != want {
		t.Fatalf("%s %s: %d, want %d: %s", method, url, res.StatusCode, want, b)
	}
	return b
}

// TestServe_DataDirReplaysAReset: a reset kept in a data dir's journal is
// replayed as one, by building the world at start again: after a kill,
// serve resumes with the world and the log as they were.
func TestServe_DataDirReplaysAReset(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	work, data := t.TempDir(), filepath.Join(t.TempDir(), "state")
	s := startServeProcess(t, work, "--data-dir", data, "--seed", "5", "--scenario", "migration")
	start := worldSeen(t, s.base)
	jwt := jwtFor(t, s.base, 0)
	var eps []struct {
		ID int64 `json:"id"`
	}
	if err := json.Unmarshal(getBody(t, s.base+"/api/v1/endpoint?per_page=2", jwt), &eps); err != nil || len(eps) != 2 {
		t.Fatalf("two endpoints: %v", err)
	}
	rename := func(i int, name string) {
		send(t, http.MethodPatch, s.base+"/api/v1/endpoint/"+strconv.FormatInt(eps[i].ID, 10), jwt, `{"name":"`+name+`"}`, http.StatusNoContent)
	}
	rename(0, "before the reset")
	send(t, http.MethodPost, s.base+"/mock/reset", "", "", http.StatusNoContent)
	if got := worldSeen(t, s.base); got != start {
		t.Fatalf("after reset the world is not the one at start:\nstart: %.1500s\nafter: %.1500s", start, got)
	}
	rename(1, "after the reset")
	before, events := worldSeen(t, s.base), s.events()

	s.p.cmd.Process.Signal(syscall.SIGKILL)
	<-s.p.exited
	s = startServeProcess(t, work, "--data-dir", data)
	if got := worldSeen(t, s.base); got != before {
		t.Errorf("after the restart the world is not the one before the kill:\nbefore: %.1500s\nafter:  %.1500s", before, got)
	}
	if got := s.events(); len(got) != len(events) || !bytes.Equal(bytes.Join(got, nil), bytes.Join(events, nil)) {
		t.Errorf("after the restart the log holds %d events, %d before the kill, or others", len(got), len(events))
	}
}
