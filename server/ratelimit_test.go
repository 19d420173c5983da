package server_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/emnify-mock/emnify-mock/server"
)

const tooMany = `{"error_code":1105,"error_token":"TooManyRequests","message":"Too many requests"}`

// burst calls path n times and returns how many were answered before the
// first 429, checking the 429's body.
func (m *mock) burst(method, path, token string, n int) int {
	m.t.Helper()
	for i := range n {
		res, b := m.call(method, path, token, nil)
		if res.StatusCode == http.StatusTooManyRequests {
			if string(b) != tooMany || res.Header.Get("Content-Type") != "application/json; charset=UTF-8" {
				m.t.Errorf("429 %q %q", res.Header.Get("Content-Type"), b)
			}
			return i
		}
	}
	return n
}

// TestRateLimits: emnify's documented limits, on the server's clock.
func TestRateLimits(t *testing.T) {
	m := mustOpen(t, func(o *server.Options) { o.RateLimits = true })
	// GET /event: 10/s with a burst of 5, per organisation.
	if n := m.burst("GET", "/api/v1/event?per_page=1", m.token, 10); n != 5 {
		t.Errorf("GET /event answered %d before 429, want the burst of 5", n)
	}
	m.clock.Advance(100 * time.Millisecond) // one token back
	if n := m.burst("GET", "/api/v1/event?per_page=1", m.token, 3); n != 1 {
		t.Errorf("after 100ms, %d more answered, want 1", n)
	}
	// Another organisation has its own bucket.
	prod := m.world.Workspaces["production"]
	other := m.login(map[string]string{"application_token": m.appToken(prod)})
	if n := m.burst("GET", "/api/v1/event?per_page=1", other, 6); n != 5 {
		t.Errorf("the other workspace got %d, want its own burst of 5", n)
	}
	// Routes per SIM share one bucket of 50 per organisation; routes
	// without a documented limit have none.
	sims := m.acme().SIMs()
	for i := range 50 {
		m.api("GET", fmt.Sprintf("/api/v1/sim/%d", sims[i%len(sims)].ID), nil, 200)
	}
	if res, _ := m.call("GET", fmt.Sprintf("/api/v1/sim/%d", sims[0].ID), m.token, nil); res.StatusCode != 429 {
		t.Errorf("51st SIM call: %d, want 429", res.StatusCode)
	}
	if n := m.burst("GET", "/api/v1/sim/status", m.token, 60); n != 60 {
		t.Errorf("GET /sim/status throttled after %d", n)
	}
	// Per IP: 100 authentications in 5 minutes (2 made above), then 2000
	// requests in 5 minutes in all, refusals included: 2 logins, 6+2+6
	// event calls, 51 SIM calls, 60 status calls, 99 authentications.
	if n := m.burst("POST", "/api/v1/authenticate", "", 200); n != 98 {
		t.Errorf("%d more authentications answered, want 98", n)
	}
	if n := m.burst("GET", "/api/v1/sim/status", m.token, 2000); n != 2000-(2+6+2+6+51+60+99) {
		t.Errorf("%d more requests answered before the per-IP limit", n)
	}
	if res, _ := m.call("GET", "/mock/workspaces", "", nil); res.StatusCode != 200 {
		t.Errorf("the control API is limited: %d", res.StatusCode)
	}
	m.clock.Advance(5 * time.Minute)
	m.api("GET", "/api/v1/event?per_page=1", nil, 200)
}

// TestRateLimits_OffByDefault: without the option nothing is throttled.
func TestRateLimits_OffByDefault(t *testing.T) {
	m := mustOpen(t)
	if n := m.burst("GET", "/api/v1/event?per_page=1", m.token, 30); n != 30 {
		t.Errorf("throttled after %d requests without rate limits", n)
	}
}

// TestLogin_Lockout: after 3 consecutive failed logins a user gets the
// TooManyRequests error for 5 minutes, even with the right password; a
// success in between starts the count again; a reset forgets it.
func TestLogin_Lockout(t *testing.T) {
	m := mustOpen(t)
	user := m.acme().Users[0].Username
	login := func(password string) (int, string) {
		res, b := m.call("POST", "/api/v1/authenticate", "", map[string]string{"username": user, "password": password})
		return res.StatusCode, string(b)
	}
	for range 2 {
		if code, _ := login("wrong"); code != 401 {
			t.Fatalf("a wrong password: %d", code)
		}
	}
	if code, _ := login("emnify-mock"); code != 200 {
		t.Fatalf("the right password after two failures: %d", code)
	}
	for range 3 {
		login("wrong")
	}
	if code, b := login("emnify-mock"); code != 429 || b != tooMany {
		t.Fatalf("after three failures: %d %s, want 429 %s", code, b, tooMany)
	}
	m.clock.Advance(4 * time.Minute)
	if code, _ := login("emnify-mock"); code != 429 {
		t.Fatalf("4 minutes into the lockout: %d", code)
	}
	m.clock.Advance(time.Minute)
	if code, _ := login("emnify-mock"); code != 200 {
		t.Fatalf("after 5 minutes: %d", code)
	}
	for range 3 {
		login("wrong")
	}
	m.api("POST", "/mock/reset", nil, 204)
	if code, _ := login("emnify-mock"); code != 200 {
		t.Errorf("after a reset: %d", code)
	}
}
