package server

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"

	"github.com/emnify-mock/emnify-mock/generator"
	"github.com/emnify-mock/emnify-mock/server/control"
)

type journalKey struct{}

// journaled records each /api request once it has been answered.
func (s *Server) journaled(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, "/api/") && !strings.HasPrefix(r.URL.Path, "//api/") {
			next.ServeHTTP(w, r)
			return
		}
		e := &control.Request{Time: s.clock.Now().UTC().Format(generator.TimestampLayout), Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery}
		body := &cappedBuffer{max: control.JournalBody}
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
		s.requests.Add(*e)
	})
}

// journalWorkspace notes the caller's workspace once authentication has
// told it.
func journalWorkspace(r *http.Request, ws int64) {
	if e, ok := r.Context().Value(journalKey{}).(*control.Request); ok {
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
