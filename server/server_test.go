package server_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/emnify-mock/emnify-mock/emnifymock"
	"github.com/emnify-mock/emnify-mock/generator"
	"github.com/emnify-mock/emnify-mock/plan"
	"github.com/emnify-mock/emnify-mock/server"
)

const testToken = "test-app-token"

var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

// mock is a running server over the serve-default world, on a virtual
// clock, behind a real HTTP listener on loopback.
type mock struct {
	t     testing.TB
	srv   *server.Server
	http  *httptest.Server
	clock *generator.Virtual
	world *plan.World
	token string // auth_token for the application token
}

// mustOpen serves the default workspace on a virtual clock at t0.
func mustOpen(tb testing.TB, options ...func(*server.Options)) *mock {
	return mustOpenOn(tb, generator.NewVirtual(t0.Add(-72*time.Hour)), options...)
}

// mustOpenOn serves the default workspace on the clock, its history made
// on it and ending now (a virtual clock: at t0).
func mustOpenOn(tb testing.TB, clock generator.Clock, options ...func(*server.Options)) *mock {
	tb.Helper()
	now := t0 // a virtual clock stands at t0 once the history is made; a shifted one at the present
	if _, shifted := clock.(*generator.Shifted); shifted {
		now = time.Time{}
	}
	em := emnifymock.Start(tb, emnifymock.Clock(clock, now), emnifymock.AppToken(testToken), emnifymock.Configure(func(o *server.Options) {
		o.Secret = []byte("test secret")
		for _, f := range options {
			f(o)
		}
	}))
	virtual, _ := clock.(*generator.Virtual)
	m := &mock{t: tb, srv: em.Server, http: em.HTTP, clock: virtual, world: em.World}
	m.token = m.login(map[string]string{"application_token": testToken})
	return m
}

func (m *mock) login(body map[string]string) string {
	m.t.Helper()
	res, b := m.call("POST", "/api/v1/authenticate", "", body)
	if res.StatusCode != 200 {
		m.t.Fatalf("authenticate: %d %s", res.StatusCode, b)
	}
	var out struct {
		Auth string `json:"auth_token"`
	}
	json.Unmarshal(b, &out)
	return out.Auth
}

// call makes a request over HTTP; body is JSON-encoded unless it is a
// string, which is sent as it is.
func (m *mock) call(method, path, token string, body any) (*http.Response, []byte) {
	m.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		j, _ := json.Marshal(b)
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, m.http.URL+path, rd)
	if err != nil {
		m.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := m.http.Client().Do(req)
	if err != nil {
		m.t.Fatal(err)
	}
	defer res.Body.Close()
	out, _ := io.ReadAll(res.Body)
	return res, out
}

// api calls with the application token and checks the status.
func (m *mock) api(method, path string, body any, status int) []byte {
	m.t.Helper()
	res, b := m.call(method, path, m.token, body)
	if res.StatusCode != status {
		m.t.Fatalf("%s %s: status %d, want %d: %s", method, path, res.StatusCode, status, b)
	}
	return b
}

func (m *mock) acme() *generator.Workspace { return m.world.Workspaces["acme"] }

// appToken returns an application token of the workspace, as the control
// API hands them out.
func (m *mock) appToken(ws *generator.Workspace) string {
	m.t.Helper()
	var wss []struct {
		ID        int64
		AppTokens []string `json:"application_tokens"`
	}
	json.Unmarshal(m.api("GET", "/mock/workspaces", nil, 200), &wss)
	for _, w := range wss {
		if w.ID == ws.ID && len(w.AppTokens) > 0 {
			return w.AppTokens[0]
		}
	}
	m.t.Fatalf("workspace %d has no application token: %+v", ws.ID, wss)
	return ""
}

func TestAuthenticate(t *testing.T) {
	m := mustOpen(t)
	for _, tc := range []struct {
		name, header string
		status       int
		body         string
	}{
		{"NoToken", "", 401, `{"message":"Unauthorized"}`},
		{"Malformed", "Bearer not-a-jwt", 401, `{"message":"token contains an invalid number of segments"}`},
		{"BadSignature", "Bearer " + m.token[:strings.LastIndex(m.token, ".")] + ".AAAA", 401, `{"error_code":1102,"error_token":"InvalidToken","message":"Invalid token"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest("GET", m.http.URL+"/api/v1/endpoint", nil)
			if tc.header != "" {
				req.Header.Set("Authorization", tc.header)
			}
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != tc.status || string(b) != tc.body {
				t.Errorf("got %d %s, want %d %s", res.StatusCode, b, tc.status, tc.body)
			}
		})
	}
	t.Run("WrongApplicationToken", func(t *testing.T) {
		res, b := m.call("POST", "/api/v1/authenticate", "", map[string]string{"application_token": "nope"})
		if res.StatusCode != 401 || !strings.Contains(string(b), `"error_code":1101`) {
			t.Errorf("got %d %s", res.StatusCode, b)
		}
	})
	t.Run("Expired", func(t *testing.T) {
		m.clock.Advance(server.TokenLifetime)
		res, b := m.call("GET", "/api/v1/endpoint", m.token, nil)
		if res.StatusCode != 401 || string(b) != `{"error_code":1103,"error_token":"TokenExpired","message":"Token expired"}` {
			t.Errorf("got %d %s", res.StatusCode, b)
		}
	})
	t.Run("UserAndRefresh", func(t *testing.T) {
		// Clients send the SHA-1 of the password (emnify docs).
		res, b := m.call("POST", "/api/v1/authenticate", "", map[string]string{
			"username": m.acme().Users[0].Username, "password": "d3a6e8c6f9b5bdb5ea6d8c0a9bfe5e8a7d7f9d7b"})
		if res.StatusCode != 401 {
			t.Fatalf("a wrong password: %d %s", res.StatusCode, b)
		}
		res, b = m.call("POST", "/api/v1/authenticate", "", map[string]string{
			"username": m.acme().Users[0].Username, "password": "1eb21241696b199b2ad18d127c50f0d94b4c37d6"}) // sha1("emnify-mock")
		var out struct{ Auth, Refresh string }
		json.Unmarshal(bytes.ReplaceAll(bytes.ReplaceAll(b, []byte("auth_token"), []byte("Auth")), []byte("refresh_token"), []byte("Refresh")), &out)
		if res.StatusCode != 200 || out.Auth == "" || out.Refresh == "" {
			t.Fatalf("login: %d %s", res.StatusCode, b)
		}
		if res, b := m.call("GET", "/api/v1/endpoint", out.Refresh, nil); res.StatusCode != 401 {
			t.Errorf("a refresh token worked as a bearer token: %d %s", res.StatusCode, b)
		}
		res, b = m.call("POST", "/api/v1/authenticate", "", map[string]string{"refresh_token": out.Refresh})
		if res.StatusCode != 200 || !strings.Contains(string(b), "auth_token") {
			t.Fatalf("refresh: %d %s", res.StatusCode, b)
		}
	})
}
