package server

import (
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/emnify-mock/emnify-mock/eventlog"
	"github.com/emnify-mock/emnify-mock/generator"
)

type discardJournal struct{}

func (discardJournal) Append(_ []byte, synced func()) (func() error, error) {
	synced()
	return func() error { return nil }, nil
}

// TestDurable_APanicIsA500: a handler that panics on the writer answers
// 500 to its request, as without a data dir, and the writer goes on.
func TestDurable_APanicIsA500(t *testing.T) {
	s := &Server{journal: discardJournal{}, clock: generator.NewShifted(0), log: eventlog.NewLog(), logger: log.New(io.Discard, "", 0),
		jobs: make(chan *job), writerStop: make(chan struct{})}
	go s.writer()
	defer close(s.writerStop)
	panics := s.guard(s.durable(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("boom") })))
	rec := httptest.NewRecorder()
	panics.ServeHTTP(rec, httptest.NewRequest("PATCH", "/api/v1/sim/1", strings.NewReader("{}")))
	if rec.Code != http.StatusInternalServerError {
		t.Fatalf("a panic on the writer: %d %s", rec.Code, rec.Body)
	}
	works := s.guard(s.durable(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })))
	rec = httptest.NewRecorder()
	works.ServeHTTP(rec, httptest.NewRequest("PATCH", "/api/v1/sim/1", strings.NewReader("{}")))
	if rec.Code != http.StatusNoContent {
		t.Fatalf("after a panic: %d %s", rec.Code, rec.Body)
	}
}
