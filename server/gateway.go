package server

import (
	"net/http"
	"strings"
)

// The platform's API sits behind a gateway (AWS API Gateway behind
// CloudFront), which acts before any route: it sends the same CORS and
// security headers on every answer, errors included, and refuses a missing
// or malformed token before it knows whether the route exists. The header
// values are the recorded ones (reference/recorded-api/response-headers.md);
// the answer to a preflight was not recorded: 200 with an empty body, as
// such a gateway gives (inferred).
var gatewayHeaders = [][2]string{
	{"Access-Control-Allow-Headers", "Authorization,DNT,X-CustomHeader,Keep-Alive,User-Agent,X-Requested-With,If-Modified-Since,Cache-Control,Content-Type,X-Count-Per-Page,X-Current-Page,X-Sort,X-Total-Count,X-Total-Pages"},
	{"Access-Control-Allow-Methods", "GET, POST, PATCH, PUT, DELETE"},
	{"Access-Control-Allow-Origin", "*"},
	{"Access-Control-Expose-Headers", "Authorization,DNT,X-CustomHeader,Keep-Alive,User-Agent,X-Requested-With,If-Modified-Since,Cache-Control,Content-Type,X-Count-Per-Page,X-Current-Page,X-Sort,X-Total-Count,X-Total-Pages,Location,X-Count,X-Per-Page,X-Pages,X-Page"},
	{"Access-Control-Max-Age", "86400"},
	{"Cache-Control", "max-age=0"},
	{"Strict-Transport-Security", "max-age=31536000"},
	{"X-Content-Type-Options", "nosniff"},
	{"X-Frame-Options", "DENY"},
}

// gatewayValues are gatewayHeaders as a header map holds them, made once:
// every /api answer carries them. Each slice is full (len = cap), so a
// handler that adds a value gets a new one.
var gatewayValues = func() []struct {
	key    string
	values []string
} {
	out := make([]struct {
		key    string
		values []string
	}, len(gatewayHeaders))
	for i, kv := range gatewayHeaders {
		out[i].key, out[i].values = http.CanonicalHeaderKey(kv[0]), []string{kv[1]}
	}
	return out
}()

// gateway does for /api what the platform's gateway does: paths are
// served as they come (a doubled slash is the same route, never a
// redirect), every answer carries the gateway's headers, a preflight is
// answered, and a request without a well-formed bearer token is refused
// before routing. The control API under /mock is not behind it: no CORS
// there, so a web page cannot read the mock's secrets.
func (s *Server) gateway(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.URL.Path, "//") {
			r.URL.Path = collapseSlashes(r.URL.Path)
			r.URL.RawPath = ""
		}
		if !strings.HasPrefix(r.URL.Path, "/api/") {
			next.ServeHTTP(w, r)
			return
		}
		h := w.Header()
		for _, kv := range gatewayValues {
			h[kv.key] = kv.values
		}
		if r.Method == http.MethodOptions {
			w.WriteHeader(http.StatusOK)
			return
		}
		if r.URL.Path != "/api/v1/authenticate" {
			auth := r.Header.Get("Authorization")
			tok, ok := strings.CutPrefix(auth, "Bearer ")
			switch {
			case auth == "":
				gatewayError(w, "Unauthorized") // recorded without a token (design.md)
				return
			case !ok || strings.Count(tok, ".") != 2:
				gatewayError(w, "token contains an invalid number of segments") // recorded
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

func collapseSlashes(p string) string {
	var b strings.Builder
	b.Grow(len(p))
	for i := 0; i < len(p); i++ {
		if p[i] == '/' && i > 0 && p[i-1] == '/' {
			continue
		}
		b.WriteByte(p[i])
	}
	return b.String()
}
