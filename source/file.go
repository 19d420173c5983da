package source

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"
)

// File is a file of events, as generate writes them and receivers store
// them: NDJSON, a JSON array, or objects one after another; "-" is
// standard input.
type File struct {
	Path  string
	Stdin io.Reader // for "-"; default os.Stdin
}

// Each reads the file as it goes.
func (s File) Each(f func(Event) error) error {
	r, name := s.Stdin, "stdin"
	if s.Path != "-" {
		file, err := os.Open(s.Path)
		if err != nil {
			return err
		}
		defer file.Close()
		r, name = file, s.Path
	} else if r == nil {
		r = os.Stdin
	}
	return events(r, name, f)
}

// events reads events from JSON values, each with an id.
func events(r io.Reader, name string, f func(Event) error) error {
	return ReadJSON(r, name, func(raw json.RawMessage, line int) error {
		id, err := idOf(raw)
		if err != nil {
			return &Error{Name: name, Line: line, Err: err}
		}
		return f(Event{ID: id, JSON: raw})
	})
}

// Served is the event log of a running emnify-mock serve, read through
// its control API (GET /mock/events) from the start: every workspace's
// events in log order, as they stand when the read begins.
type Served struct {
	URL   string // the server's base URL, http://127.0.0.1:8080
	Token string // its control token, if it has one
}

// Each reads the log.
func (s Served) Each(f func(Event) error) error {
	url := strings.TrimSuffix(s.URL, "/") + "/mock/events"
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	if s.Token != "" {
		req.Header.Set("Authorization", "Bearer "+s.Token)
	}
	client := &http.Client{Timeout: 10 * time.Minute, Transport: &http.Transport{Proxy: nil}}
	res, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("read the served log: %w", err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(res.Body, 512))
		return fmt.Errorf("read the served log: GET %s answered %s: %s", url, res.Status, strings.TrimSpace(string(b)))
	}
	return events(res.Body, url, f)
}
