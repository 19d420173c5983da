package server_test

import (
	"net/http"
	"strings"
	"testing"
)

// The gateway's headers as recorded on every answer of the real API
// (reference/recorded-api/response-headers.md).
var recordedGatewayHeaders = map[string]string{
	"Access-Control-Allow-Headers":  "Authorization,DNT,X-CustomHeader,Keep-Alive,User-Agent,X-Requested-With,If-Modified-Since,Cache-Control,Content-Type,X-Count-Per-Page,X-Current-Page,X-Sort,X-Total-Count,X-Total-Pages",
	"Access-Control-Allow-Methods":  "GET, POST, PATCH, PUT, DELETE",
	"Access-Control-Allow-Origin":   "*",
	"Access-Control-Expose-Headers": "Authorization,DNT,X-CustomHeader,Keep-Alive,User-Agent,X-Requested-With,If-Modified-Since,Cache-Control,Content-Type,X-Count-Per-Page,X-Current-Page,X-Sort,X-Total-Count,X-Total-Pages,Location,X-Count,X-Per-Page,X-Pages,X-Page",
	"Access-Control-Max-Age":        "86400",
	"Cache-Control":                 "max-age=0",
	"Strict-Transport-Security":     "max-age=31536000",
	"X-Content-Type-Options":        "nosniff",
	"X-Frame-Options":               "DENY",
}

// TestGateway: every /api answer, errors and preflights included, carries
// the recorded CORS and security headers; a doubled slash is the same
// route (no redirect); a missing or malformed token is refused before the
// route is known; /mock sends no CORS headers.
func TestGateway(t *testing.T) {
	m := mustOpen(t)
	preflight, _ := http.NewRequest("OPTIONS", m.http.URL+"/api/v1/authenticate", nil)
	preflight.Header.Set("Origin", "http://dashboard.example")
	preflight.Header.Set("Access-Control-Request-Method", "POST")
	preflight.Header.Set("Access-Control-Request-Headers", "content-type")
	res, err := m.http.Client().Do(preflight)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	answers := map[string]*http.Response{"preflight": res}
	if res.StatusCode != 200 || res.ContentLength > 0 {
		t.Errorf("preflight: %d, %d bytes", res.StatusCode, res.ContentLength)
	}
	for name, c := range map[string]struct {
		method, path, token string
		status              int
		body                string
	}{
		"login, double slash":            {"POST", "//api/v1/authenticate", "", 200, `"auth_token"`},
		"list":                           {"GET", "/api//v1/sim?per_page=1", m.token, 200, `"iccid"`},
		"no token":                       {"GET", "/api/v1/sim", "", 401, `{"message":"Unauthorized"}`},
		"unknown route, no token":        {"GET", "/api/v1/no-such-route", "", 401, `{"message":"Unauthorized"}`},
		"unknown route, malformed token": {"GET", "/api/v1/no-such-route", "x", 401, `{"message":"token contains an invalid number of segments"}`},
		"unknown route, token":           {"GET", "/api/v1/no-such-route", m.token, 404, `"error_token":"NotFound"`},
		"bad id":                         {"GET", "/api/v1/sim/abc", m.token, 400, `Cannot parse parameter`},
	} {
		var body any
		if c.method == "POST" {
			body = `{"application_token":"` + testToken + `"}`
		}
		res, b := m.call(c.method, c.path, c.token, body)
		if res.StatusCode != c.status || !strings.Contains(string(b), c.body) {
			t.Errorf("%s: %d %s, want %d %s", name, res.StatusCode, b, c.status, c.body)
		}
		answers[name] = res
	}
	for name, res := range answers {
		for k, v := range recordedGatewayHeaders {
			if got := res.Header.Get(k); got != v {
				t.Errorf("%s: %s is %q, want %q", name, k, got, v)
			}
		}
	}
	if res, _ := m.call("GET", "/mock/workspaces", "", nil); res.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Error("the control API answers with CORS headers: a web page could read its secrets")
	}
}
