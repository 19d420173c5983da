package server

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/emnify-mock/emnify-mock/generator"
	"github.com/emnify-mock/emnify-mock/server/internal/wire"
)

// The API journal records every request to the emnify API, refused ones
// included, so a test can verify what an app that calls the API did:
// GET /mock/requests. It keeps the newest journalMax requests, each body
// up to journalBody bytes; a reset clears it (a restore does not: what the
// app sent stays what it sent).
const (
	journalMax  = 10_000
	journalBody = 4 << 10
)

// journalEntry is one request, as GET /mock/requests writes it.
type journalEntry struct {
	Time      string          `json:"time"`
	Workspace *int64          `json:"workspace"` // of the token; null before authentication
	Method    string          `json:"method"`
	Path      string          `json:"path"`
	Query     string          `json:"query"`
	Body      json.RawMessage `json:"body"` // null when empty or not JSON
	Status    int             `json:"status"`
	ErrorCode *int            `json:"error_code"` // emnify's, on a refusal
}

// journal is a ring of the newest journalMax entries: adding one costs
// the same when it is full.
type journal struct {
	mu      sync.Mutex
	entries []journalEntry
	next    int // where the next entry goes once the ring is full
}

func (j *journal) add(e journalEntry) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if len(j.entries) < journalMax {
		j.entries = append(j.entries, e)
		return
	}
	j.entries[j.next] = e
	j.next = (j.next + 1) % journalMax
}

func (j *journal) clear() {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.entries, j.next = nil, 0
}

// snapshot returns the entries oldest first.
func (j *journal) snapshot() []journalEntry {
	j.mu.Lock()
	defer j.mu.Unlock()
	return append(slices.Clone(j.entries[j.next:]), j.entries[:j.next]...)
}

type journalKey struct{}

// journaled records each /api request once it has been answered.
func (s *Server) journaled(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, "/api/") && !strings.HasPrefix(r.URL.Path, "//api/") {
			next.ServeHTTP(w, r)
			return
		}
		e := &journalEntry{Time: s.clock.Now().UTC().Format(generator.TimestampLayout), Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery}
		body := &cappedBuffer{max: journalBody}
		r.Body = struct {
			io.Reader
			io.Closer
		}{io.TeeReader(r.Body, body), r.Body}
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK, errBody: &cappedBuffer{max: 512}}
		next.ServeHTTP(rec, r.WithContext(context.WithValue(r.Context(), journalKey{}, e)))
		e.Status = rec.status
		if json.Valid(body.Bytes()) {
			e.Body = json.RawMessage(bytes.Clone(body.Bytes()))
		}
		var apiErr struct {
			Code *int `json:"error_code"`
		}
		if rec.status >= 400 && json.Unmarshal(rec.errBody.Bytes(), &apiErr) == nil {
			e.ErrorCode = apiErr.Code
		}
		s.requests.add(*e)
	})
}

// journalWorkspace notes the caller's workspace once authentication has
// told it.
func journalWorkspace(r *http.Request, ws int64) {
	if e, ok := r.Context().Value(journalKey{}).(*journalEntry); ok {
		e.Workspace = &ws
	}
}

// statusRecorder keeps the status and the start of an error body.
type statusRecorder struct {
	http.ResponseWriter
	status  int
	wrote   bool
	errBody *cappedBuffer
}

func (s *statusRecorder) WriteHeader(code int) {
	if !s.wrote {
		s.status, s.wrote = code, true
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	s.wrote = true
	if s.status >= 400 {
		s.errBody.Write(b)
	}
	return s.ResponseWriter.Write(b)
}

func (s *statusRecorder) Flush() {
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// cappedBuffer keeps the first max bytes written to it.
type cappedBuffer struct {
	bytes.Buffer
	max int
}

func (c *cappedBuffer) Write(b []byte) (int, error) {
	if room := c.max - c.Len(); room > 0 {
		c.Buffer.Write(b[:min(len(b), room)])
	}
	return len(b), nil
}

// handleMockRequests writes the journal as NDJSON, oldest first, filtered
// by ?method=, ?path= (a pattern: * stands for one path segment),
// ?status= (a code, or 2xx, 4xx, ...) and ?workspace=.
func (s *Server) handleMockRequests(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	method, pattern, status, ws := strings.ToUpper(q.Get("method")), q.Get("path"), q.Get("status"), q.Get("workspace")
	if pattern != "" {
		if _, err := path.Match(pattern, "/"); err != nil {
			wire.WriteError(w, wire.BadRequest("path must be a pattern such as /api/v1/sim/*: "+err.Error()))
			return
		}
	}
	if status != "" && !statusPattern(status) {
		wire.WriteError(w, wire.BadRequest("status must be a code such as 404 or a class such as 2xx, got "+strconv.Quote(status)))
		return
	}
	w.Header().Set("Content-Type", "application/x-ndjson")
	enc := json.NewEncoder(w)
	for _, e := range s.requests.snapshot() {
		if method != "" && e.Method != method {
			continue
		}
		if ok, _ := path.Match(pattern, e.Path); pattern != "" && !ok {
			continue
		}
		if status != "" && !matchStatus(status, e.Status) {
			continue
		}
		if ws != "" && (e.Workspace == nil || strconv.FormatInt(*e.Workspace, 10) != ws) {
			continue
		}
		enc.Encode(e)
	}
}

func statusPattern(p string) bool {
	if len(p) != 3 || p[0] < '1' || p[0] > '5' {
		return false
	}
	if p[1:] == "xx" {
		return true
	}
	_, err := strconv.Atoi(p)
	return err == nil
}

func matchStatus(p string, status int) bool {
	if p[1:] == "xx" {
		return status/100 == int(p[0]-'0')
	}
	return strconv.Itoa(status) == p
}
