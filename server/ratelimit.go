package server

import (
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/gorilla/mux"
	"golang.org/x/time/rate"

	"github.com/emnify-mock/emnify-mock/server/internal/wire"
)

// Rate limits as emnify documents them (emnify-api.md §1.5): per client IP
// 2,000 requests in 5 minutes and 100 authentications in 5 minutes; per
// organisation a rate and burst for some routes. A window of n requests in
// 5 minutes is enforced as a token bucket of n refilled over 5 minutes.
// They are off unless Options.RateLimits is set, so that a test suite is
// not throttled by surprise.
var (
	perIP        = limit{every: 5 * time.Minute / 2000, burst: 2000}
	perIPLogin   = limit{every: 5 * time.Minute / 100, burst: 100}
	perOrgRoutes = map[string]limit{ // method and mux route template
		"GET /api/v1/event":                    {every: time.Second / 10, burst: 5},
		"GET /api/v1/endpoint":                 {every: time.Second / 10, burst: 5},
		"GET /api/v1/sim":                      {every: time.Second / 10, burst: 5},
		"* /api/v1/sim/{id}":                   {every: time.Second / 100, burst: 50},
		"* /api/v1/endpoint/{id}":              {every: time.Second / 50, burst: 25},
		"* /api/v1/endpoint/{id}/connectivity": {every: time.Second / 50, burst: 25},
	}
)

// errTooManyRequests: code and token documented; the message text is not,
// and neither is a Retry-After header, so none is sent: a consumer must
// cope without one, as it would have to on the platform.
var errTooManyRequests = &wire.Error{Status: http.StatusTooManyRequests, Code: 1105, Token: "TooManyRequests", Message: "Too many requests"}

type limit struct {
	every time.Duration
	burst int
}

// limiter holds a token bucket per client and class. Buckets follow the
// server's clock, so a test on a virtual clock refills them by advancing it.
type limiter struct {
	enforce  bool                     // emnify's limits
	throttle func(*http.Request) bool // Options.Throttle
	mu       sync.Mutex
	buckets  map[string]*rate.Limiter
	now      func() time.Time
}

// allow takes a token from the bucket for key, made with l if new.
func (lm *limiter) allow(key string, l limit) bool {
	lm.mu.Lock()
	defer lm.mu.Unlock()
	b := lm.buckets[key]
	if b == nil {
		b = rate.NewLimiter(rate.Every(l.every), l.burst)
		lm.buckets[key] = b
	}
	return b.AllowN(lm.now(), 1)
}

// allowIP applies the per-IP limits to a request under /api.
func (s *Server) allowIP(r *http.Request) bool {
	ip, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		ip = r.RemoteAddr
	}
	ok := s.limits.allow("ip "+ip, perIP)
	if ok && r.Method == http.MethodPost && r.URL.Path == "/api/v1/authenticate" {
		ok = s.limits.allow("login "+ip, perIPLogin)
	}
	return ok
}

// limitByOrg applies the per-organisation route limits; it runs after
// authentication, which tells the organisation.
func (s *Server) limitByOrg(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.replaying { // it passed when it was made
			next.ServeHTTP(w, r)
			return
		}
		tmpl, _ := mux.CurrentRoute(r).GetPathTemplate()
		l, ok := perOrgRoutes[r.Method+" "+tmpl]
		if !ok {
			l, ok = perOrgRoutes["* "+tmpl]
		}
		lm := s.limits
		if ok && (lm.throttle != nil && lm.throttle(r) || lm.enforce && !lm.allow(strconv.FormatInt(callerOf(r).ws.ID, 10)+" "+tmpl, l)) {
			wire.WriteError(w, errTooManyRequests)
			return
		}
		next.ServeHTTP(w, r)
	})
}
