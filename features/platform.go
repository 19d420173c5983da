package features

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/cucumber/godog"
)

var errNoPlatform = errors.New(`no platform yet: start with a step like 'the platform runs the scenario "onboarding"'`)

// remote is a running emnify-mock serve (verify --platform): scenarios
// run there through its control API, isolated in workspaces of their
// own, so that their events are theirs alone, also on a data stream with
// historic data.
type remote struct {
	url, token string
	client     *http.Client
}

func newRemote(o Options) *remote {
	return &remote{url: strings.TrimSuffix(o.Platform, "/"), token: o.ControlToken, client: &http.Client{Timeout: time.Minute}}
}

// call makes a control API request and reads the whole answer; a status
// other than 2xx is an error with the platform's body.
func (r *remote) call(method, path string, body []byte) ([]byte, error) {
	req, err := http.NewRequest(method, r.url+path, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	if r.token != "" {
		req.Header.Set("Authorization", "Bearer "+r.token)
	}
	res, err := r.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("the platform at %s: %w", r.url, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, 256<<20))
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	if res.StatusCode/100 != 2 {
		hint := ""
		if res.StatusCode == http.StatusUnauthorized {
			hint = " (give the serve's control token: verify --control-token)"
		}
		return nil, fmt.Errorf("%s %s%s: HTTP %d %s%s", method, r.url, path, res.StatusCode, bytes.TrimSpace(b), hint)
	}
	return b, nil
}

// run runs a scenario (YAML) on the platform and makes its events the
// scenario's ground truth.
func (r *remote) run(w *world, src []byte) error {
	b, err := r.call(http.MethodPost, "/mock/scenarios?isolated=true", src)
	if err != nil {
		return err
	}
	var ran struct{ Events, From int }
	if err := json.Unmarshal(b, &ran); err != nil {
		return fmt.Errorf("the platform's answer to a scenario run: %v: %s", err, b)
	}
	// The run's events are contiguous in the log: it was one change.
	b, err = r.call(http.MethodGet, fmt.Sprintf("/mock/events?from=%d", ran.From), nil)
	if err != nil {
		return err
	}
	var raw [][]byte
	for sc := bufio.NewScanner(bytes.NewReader(b)); sc.Scan() && len(raw) < ran.Events; {
		raw = append(raw, bytes.Clone(sc.Bytes()))
	}
	if len(raw) != ran.Events {
		return fmt.Errorf("the platform ran %d events from log position %d but shows %d (was it reset meanwhile?)", ran.Events, ran.From, len(raw))
	}
	if err := w.setEvents(raw); err != nil {
		return err
	}
	w.mockURL, w.control, w.logEnd, w.orgs = r.url, r, ran.From+ran.Events, map[int64]bool{}
	for _, e := range w.events {
		w.orgs[e.Organisation.ID] = true
	}
	if len(w.events) == 0 {
		return nil
	}
	w.appToken, err = r.appToken(w.events[0].Organisation.ID)
	return err
}

// appToken is an application token of a workspace on the platform.
func (r *remote) appToken(org int64) (string, error) {
	b, err := r.call(http.MethodGet, "/mock/workspaces", nil)
	if err != nil {
		return "", err
	}
	var wss []struct {
		ID     int64    `json:"id"`
		Tokens []string `json:"application_tokens"`
		Hidden string   `json:"hidden"`
	}
	if err := json.Unmarshal(b, &wss); err != nil {
		return "", fmt.Errorf("the platform's workspaces: %v", err)
	}
	for _, ws := range wss {
		switch {
		case ws.ID != org:
		case len(ws.Tokens) > 0:
			return ws.Tokens[0], nil
		case ws.Hidden != "":
			return "", fmt.Errorf("the platform hides workspace %d's application tokens (%s): give verify --control-token", org, ws.Hidden)
		}
	}
	return "", fmt.Errorf("the platform lists no application token for workspace %d", org)
}

// inProcessOnly skips a step that needs the in-process platform, saying why.
func (w *world) inProcessOnly(step string) error {
	if w.opts.Platform == "" {
		return nil
	}
	return w.skip(fmt.Sprintf("%q needs the in-process platform (not --platform)", step))
}

// skip skips the rest of the scenario, saying why in the notes.
func (w *world) skip(why string) error {
	w.note("skipped: " + why)
	return fmt.Errorf("%w: %s", godog.ErrSkip, why)
}

func (w *world) note(s string) {
	if w.opts.Notes != nil {
		fmt.Fprintln(w.opts.Notes, s)
	}
}

// CheckPlatform checks that a running serve answers its control API at
// url with the token, before any scenario runs.
func CheckPlatform(url, token string) error {
	_, err := newRemote(Options{Platform: url, ControlToken: token}).call(http.MethodGet, "/mock/workspaces", nil)
	return err
}
