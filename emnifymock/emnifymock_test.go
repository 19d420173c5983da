package emnifymock_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emnify-mock/emnify-mock/emnifymock"
	"github.com/emnify-mock/emnify-mock/generator"
	"github.com/emnify-mock/emnify-mock/plan"
)

// TestMock_DataStreamCatchesUp: a data stream registered through the API
// receives the workspace's history and a scenario run afterwards;
// WaitDelivered returns once it has, and fails the test, naming the
// stream, when the receiver refuses.
func TestMock_DataStreamCatchesUp(t *testing.T) {
	var got atomic.Int64
	var refuse atomic.Bool
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var events []json.RawMessage
		b, _ := io.ReadAll(r.Body)
		json.Unmarshal(b, &events)
		if refuse.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		got.Add(int64(len(events)))
	}))
	defer hook.Close()
	m := emnifymock.Start(t, emnifymock.Seed(3))
	token := login(t, m)
	body := fmt.Sprintf(`{"data_stream_type":{"id":2},"stream_historic_data":true,"destination":{"connection_type":"RestAPI","credentials":{"url":%q,"size":50}}}`, hook.URL)
	req, _ := http.NewRequest("POST", m.URL+"/api/v2/data_stream", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	if err != nil || res.StatusCode != http.StatusCreated {
		t.Fatalf("register: %v %v", res.Status, err)
	}
	res.Body.Close()
	// A scenario of the reader's, in the stream's workspace.
	night := filepath.Join(t.TempDir(), "night.yaml")
	os.WriteFile(night, []byte("name: night\ndescription: three of the fleet suspended\nworkspaces: [{name: acme}]\nsteps:\n  - do: suspend\n    target: fleet\n    pick: 3\n"), 0o644)
	if n := m.Run(t, night); n != 3 {
		t.Fatalf("the scenario made %d events, want 3", n)
	}
	m.WaitDelivered(t, 30*time.Second)
	org := m.World.Platform.Workspaces()[0].ID
	want := 0
	for _, e := range m.Events(t) {
		if e.Organisation.ID == org {
			want++
		}
	}
	if got.Load() != int64(want) || want == 0 {
		t.Errorf("the stream delivered %d events, the workspace has %d", got.Load(), want)
	}

	refuse.Store(true)
	m.Run(t, night)
	ft := &fatalT{TB: t}
	func() {
		defer func() { recover() }()
		m.WaitDelivered(ft, 200*time.Millisecond)
	}()
	if !strings.Contains(ft.msg, "data streams still owe events") || !strings.Contains(ft.msg, hook.URL) {
		t.Errorf("WaitDelivered on a refusing receiver said %q", ft.msg)
	}
}

// TestStart_OwnWorld: a world made elsewhere is served as it is.
func TestStart_OwnWorld(t *testing.T) {
	churn, err := generator.NewChurn(9, generator.ChurnOptions{Workspaces: 1})
	if err != nil {
		t.Fatal(err)
	}
	var history []generator.Event
	for range 20 {
		history = append(history, churn.Next())
	}
	m := emnifymock.Start(t, emnifymock.World(plan.Over(churn.Platform()), history), emnifymock.AppToken("mine"))
	if n := len(m.Events(t)); n != 20 || m.AppToken != "mine" || login(t, m) == "" {
		t.Errorf("%d events, token %q", n, m.AppToken)
	}
}

func login(t *testing.T, m *emnifymock.Mock) string {
	t.Helper()
	res, err := http.Post(m.URL+"/api/v1/authenticate", "application/json", strings.NewReader(`{"application_token":"`+m.AppToken+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var auth struct {
		Token string `json:"auth_token"`
	}
	json.NewDecoder(res.Body).Decode(&auth)
	return auth.Token
}

// fatalT records a Fatalf instead of ending the test.
type fatalT struct {
	testing.TB
	msg string
}

func (t *fatalT) Helper() {}
func (t *fatalT) Fatalf(format string, a ...any) {
	t.msg = fmt.Sprintf(format, a...)
	panic(t.msg)
}
