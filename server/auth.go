package server

import (
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/emnify-mock/emnify-mock/generator"
	"github.com/emnify-mock/emnify-mock/server/internal/wire"
)

// TokenLifetime is how long an auth_token lives (emnify docs: 240 minutes).
const TokenLifetime = 240 * time.Minute

// refreshLifetime is how long a refresh_token lives; not documented.
const refreshLifetime = 30 * 24 * time.Hour

// caller is who a request acts as.
type caller struct {
	ws    *generator.Workspace
	user  *generator.User     // nil for an application token
	token *generator.AppToken // nil for a user
}

func (c *caller) actor() generator.Actor {
	if c.user != nil {
		return generator.ByUser(c.user)
	}
	return generator.ByToken(c.token)
}

type callerKey struct{}

func callerOf(r *http.Request) *caller { return r.Context().Value(callerKey{}).(*caller) }

// claims are the JWT payload, with the claim names seen in recorded
// tokens (emnify-api.md §2.2).
type claims struct {
	Aud     string `json:"aud"`
	App     int64  `json:"esc.app,omitempty"`
	User    int64  `json:"esc.user,omitempty"`
	Org     int64  `json:"esc.org"`
	OrgName string `json:"esc.orgName"`
	Iss     string `json:"iss"`
	Iat     int64  `json:"iat"`
	Exp     int64  `json:"exp"`
	Refresh bool   `json:"refresh,omitempty"`
}

// authAudience is the recorded audience of auth tokens.
const authAudience = "/api/v1/authentication"

var jwtHeader = base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"HS384"}`))

// appClaims are an application token's claims. Real application tokens
// are JWTs that clients decode to show whose workspace they act on; the
// names follow the recorded auth tokens' (emnify-api.md §2.2), sub and the
// audience are inferred. An application token does not expire unless given
// an expiry date, and the mock gives none.
type appClaims struct {
	Sub     string `json:"sub"`
	Aud     string `json:"aud"`
	App     int64  `json:"esc.app"`
	Org     int64  `json:"esc.org"`
	OrgName string `json:"esc.orgName"`
	Iss     string `json:"iss"`
	Iat     int64  `json:"iat"`
	Jti     string `json:"jti"` // two tokens never share a string
}

// mintAppToken makes an application token for a workspace's token: a JWT
// signed by the mock, its string the credential a client logs in with.
func (s *Server) mintAppToken(ws *generator.Workspace, t *generator.AppToken) string {
	// The token's id under the key: unique, and the same string again
	// when a durable server replays its journal.
	mac := hmac.New(sha512.New384, s.secret)
	fmt.Fprintf(mac, "application token %d of %d", t.ID, ws.ID)
	jti := mac.Sum(nil)[:12]
	return s.sign(appClaims{Sub: fmt.Sprint(t.ID), Aud: "/api/v1/application_token", App: t.ID, Org: ws.ID, OrgName: ws.Name,
		Iss: "spc-frontend001@spc-frontend", Iat: s.clock.Now().Unix(), Jti: hex.EncodeToString(jti)})
}

func (s *Server) sign(c any) string {
	payload, _ := json.Marshal(c)
	msg := jwtHeader + "." + base64.RawURLEncoding.EncodeToString(payload)
	mac := hmac.New(sha512.New384, s.secret)
	mac.Write([]byte(msg))
	return msg + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// gatewayError is how the platform's API gateway refuses a token it cannot
// even parse (recorded): no emnify error code, its own header.
func gatewayError(w http.ResponseWriter, msg string) {
	w.Header().Set("x-amzn-ErrorType", "AccessDeniedException")
	wire.WriteJSON(w, http.StatusUnauthorized, wire.Bare, map[string]string{"message": msg})
}

var (
	errInvalidToken = &wire.Error{Status: http.StatusUnauthorized, Code: 1102, Token: "InvalidToken", Message: "Invalid token"}
	errTokenExpired = &wire.Error{Status: http.StatusUnauthorized, Code: 1103, Token: "TokenExpired", Message: "Token expired"}
	errBadLogin     = &wire.Error{Status: http.StatusUnauthorized, Code: 1101, Token: "InvalidCredentials", Message: "Invalid credentials"}
)

// maxVerified bounds the verified-token cache: a client that logs in for
// every request must not grow it for hours (tokens live 240 minutes).
const maxVerified = 10_000

// verify checks a JWT's signature and expiry and returns its claims.
// Verified tokens are remembered, so a client's later requests cost a map
// lookup, not an HMAC and a JSON decode.
func (s *Server) verify(tok string) (claims, *wire.Error) {
	if v, ok := s.verified.Load(tok); ok {
		c := v.(claims)
		if s.clock.Now().Unix() >= c.Exp {
			s.verified.Delete(tok)
			s.cached.Add(-1)
			return c, errTokenExpired
		}
		return c, nil
	}
	c, apiErr := s.check(tok)
	if apiErr == nil && s.roomToCache() {
		if _, had := s.verified.LoadOrStore(tok, c); !had {
			s.cached.Add(1)
		}
	}
	return c, apiErr
}

// roomToCache makes room in a full cache by dropping expired tokens; when
// none has expired, new tokens are checked each time instead.
func (s *Server) roomToCache() bool {
	if s.cached.Load() < maxVerified {
		return true
	}
	now := s.clock.Now().Unix()
	s.verified.Range(func(k, v any) bool {
		if now >= v.(claims).Exp {
			if _, ok := s.verified.LoadAndDelete(k); ok {
				s.cached.Add(-1)
			}
		}
		return true
	})
	return s.cached.Load() < maxVerified
}

func (s *Server) check(tok string) (claims, *wire.Error) {
	var c claims
	parts := strings.Split(tok, ".")
	mac := hmac.New(sha512.New384, s.secret)
	mac.Write([]byte(parts[0] + "." + parts[1]))
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil || !hmac.Equal(sig, mac.Sum(nil)) {
		return c, errInvalidToken
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil || json.Unmarshal(payload, &c) != nil || c.Aud != authAudience {
		return c, errInvalidToken // an application token is no auth token
	}
	if s.clock.Now().Unix() >= c.Exp {
		return c, errTokenExpired
	}
	return c, nil
}

// authenticated requires a valid Bearer auth_token.
func (s *Server) authenticated(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The gateway let only a well-formed bearer token through.
		tok := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
		c, apiErr := s.verify(tok)
		if apiErr == nil && c.Refresh {
			apiErr = errInvalidToken
		}
		if apiErr != nil {
			wire.WriteError(w, apiErr)
			return
		}
		s.mu.RLock()
		who := s.callerFor(c)
		s.mu.RUnlock()
		if who == nil {
			wire.WriteError(w, errInvalidToken)
			return
		}
		journalWorkspace(r, who.ws.ID)
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), callerKey{}, who)))
	})
}

func (s *Server) callerFor(c claims) *caller {
	for _, ws := range s.world.Platform.Workspaces() {
		if ws.ID != c.Org {
			continue
		}
		for _, u := range ws.Users {
			if c.User != 0 && u.ID == c.User {
				return &caller{ws: ws, user: u}
			}
		}
		for _, t := range ws.Tokens {
			if c.App != 0 && t.ID == c.App {
				return &caller{ws: ws, token: t}
			}
		}
	}
	return nil
}

// handleAuthenticate trades an application token, a username and password
// (SHA-1 hex, as clients send it; plain text is accepted too), or a refresh
// token for an auth_token.
func (s *Server) handleAuthenticate(w http.ResponseWriter, r *http.Request) {
	var body struct {
		ApplicationToken string `json:"application_token"`
		Username         string `json:"username"`
		Password         string `json:"password"`
		RefreshToken     string `json:"refresh_token"`
	}
	if err := decode(r, &body); err != nil {
		wire.WriteError(w, err)
		return
	}
	now := s.clock.Now()
	c := claims{Aud: authAudience, Iss: "emnify-mock", Iat: now.Unix(), Exp: now.Add(TokenLifetime).Unix()}
	s.mu.RLock()
	defer s.mu.RUnlock()
	switch {
	case body.ApplicationToken != "":
		cred, ok := s.creds.appTokens[body.ApplicationToken]
		ws := s.workspace(cred.org)
		if !ok || ws == nil {
			wire.WriteError(w, errBadLogin)
			return
		}
		c.App, c.Org, c.OrgName = cred.token, ws.ID, ws.Name
		wire.WriteJSON(w, http.StatusOK, wire.JSON, map[string]string{"auth_token": s.sign(c)})
	case body.Username != "":
		name := strings.ToLower(body.Username)
		if s.lockouts.locked(name, now) {
			wire.WriteError(w, errTooManyRequests)
			return
		}
		cred, ok := s.creds.logins[name]
		ws := s.workspace(cred.org)
		sum := sha1.Sum([]byte(s.password))
		if !ok || ws == nil || (body.Password != s.password && !strings.EqualFold(body.Password, hex.EncodeToString(sum[:]))) {
			s.lockouts.failed(name, now)
			wire.WriteError(w, errBadLogin)
			return
		}
		s.lockouts.succeeded(name)
		c.User, c.Org, c.OrgName = cred.user, ws.ID, ws.Name
		refresh := c
		refresh.Refresh, refresh.Exp = true, now.Add(refreshLifetime).Unix()
		wire.WriteJSON(w, http.StatusOK, wire.JSON, struct {
			Auth    string `json:"auth_token"`
			Refresh string `json:"refresh_token"`
		}{s.sign(c), s.sign(refresh)})
	case body.RefreshToken != "":
		if strings.Count(body.RefreshToken, ".") != 2 {
			wire.WriteError(w, errInvalidToken)
			return
		}
		rc, apiErr := s.verify(body.RefreshToken)
		if apiErr == nil && !rc.Refresh {
			apiErr = errInvalidToken
		}
		if apiErr != nil {
			wire.WriteError(w, apiErr)
			return
		}
		c.User, c.Org, c.OrgName = rc.User, rc.Org, rc.OrgName
		wire.WriteJSON(w, http.StatusOK, wire.JSON, map[string]string{"auth_token": s.sign(c)})
	default:
		wire.WriteError(w, wire.BadRequest("application_token, username and password, or refresh_token is required"))
	}
}

// Lockout as emnify documents it for user credentials (emnify-api.md
// §2.1): after 3 consecutive failed logins, the TooManyRequests error for
// 5 minutes, whatever the password.
const (
	lockoutAfter = 3
	lockoutFor   = 5 * time.Minute
)

type lockouts struct {
	mu    sync.Mutex
	users map[string]*lockout // lower-case username
}

type lockout struct {
	failures int
	until    time.Time
}

func (l *lockouts) locked(name string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	lo := l.users[name]
	return lo != nil && now.Before(lo.until)
}

func (l *lockouts) failed(name string, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.users == nil {
		l.users = map[string]*lockout{}
	}
	lo := l.users[name]
	if lo == nil {
		lo = &lockout{}
		l.users[name] = lo
	}
	if lo.failures++; lo.failures >= lockoutAfter {
		lo.failures, lo.until = 0, now.Add(lockoutFor)
	}
}

func (l *lockouts) succeeded(name string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.users, name)
}

// clear forgets every failure (a reset or restore of the mock).
func (l *lockouts) clear() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.users = nil
}
