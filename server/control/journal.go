package control

import (
	"encoding/json"
	"net/http"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/emnify-mock/emnify-mock/server/internal/wire"
)

// The API journal records every request to the emnify API, refused ones
// included, so a test can verify what an app that calls the API did:
// GET /mock/requests. It keeps the newest JournalMax requests, each body
// up to JournalBody bytes; a reset clears it (a restore does not: what the
// app sent stays what it sent).
const (
	JournalMax  = 10_000
	JournalBody = 4 << 10
)

// Request is one request, as GET /mock/requests writes it.
type Request struct {
	Time      string          `json:"time"`
	Workspace *int64          `json:"workspace"` // of the token; null before authentication
	Method    string          `json:"method"`
	Path      string          `json:"path"`
	Query     string          `json:"query"`
	Body      json.RawMessage `json:"body"` // null when empty or not JSON
	Status    int             `json:"status"`
	ErrorCode *int            `json:"error_code"` // emnify's, on a refusal
}

// Journal is a ring of the newest JournalMax requests: adding one costs
// the same when it is full. Its zero value is empty and ready.
type Journal struct {
	mu      sync.Mutex
	entries []Request
	next    int // where the next entry goes once the ring is full
}

// Add records a request.
func (j *Journal) Add(e Request) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if len(j.entries) < JournalMax {
		j.entries = append(j.entries, e)
		return
	}
	j.entries[j.next] = e
	j.next = (j.next + 1) % JournalMax
}

// Clear forgets every request.
func (j *Journal) Clear() {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.entries, j.next = nil, 0
}

// Entries returns the requests, oldest first.
func (j *Journal) Entries() []Request {
	j.mu.Lock()
	defer j.mu.Unlock()
	return append(slices.Clone(j.entries[j.next:]), j.entries[:j.next]...)
}

// handleMockRequests writes the journal as NDJSON, oldest first, filtered
// by ?method=, ?path= (a pattern: * stands for one path segment),
// ?status= (a code, or 2xx, 4xx, ...) and ?workspace=.
func (c *control) requests(w http.ResponseWriter, r *http.Request) {
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
	for _, e := range c.st.Journal().Entries() {
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
