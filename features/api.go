package features

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/emnify-mock/emnify-mock/source"
)

// Steps that act through the platform's emnify API, or check what the
// consumer (an app that calls the API) asked of it, from the platform's
// API journal (GET /mock/requests).

// simStatusIDs are the status ids a SIM PATCH takes.
var simStatusIDs = map[string]int{"activated": 1, "suspended": 2}

// simChanged changes a SIM's status through the emnify API, as an operator
// or an app would; its events join the scenario's ground truth.
func simChanged(ctx context.Context, iccid, status string) error {
	w := get(ctx)
	if w.mockURL == "" {
		return errNoPlatform
	}
	iccid = w.fill(iccid)
	token, err := w.login()
	if err != nil {
		return err
	}
	var sims []struct{ ID int64 }
	if err := w.api(token, http.MethodGet, "/api/v1/sim?q=iccid:"+url.QueryEscape(iccid), nil, &sims); err != nil {
		return err
	}
	if len(sims) != 1 {
		return fmt.Errorf("the platform has no SIM %s in the workspace of its application token", iccid)
	}
	body := fmt.Sprintf(`{"status":{"id":%d}}`, simStatusIDs[status])
	if err := w.api(token, http.MethodPatch, fmt.Sprintf("/api/v1/sim/%d", sims[0].ID), []byte(body), nil); err != nil {
		return err
	}
	return w.refresh()
}

// login authenticates with the scenario's application token.
func (w *world) login() (string, error) {
	var auth struct {
		Token string `json:"auth_token"`
	}
	err := w.api("", http.MethodPost, "/api/v1/authenticate", []byte(fmt.Sprintf(`{"application_token":%q}`, w.appToken)), &auth)
	return auth.Token, err
}

// api calls the platform's emnify API; a status other than 2xx is an error
// with emnify's error body.
func (w *world) api(token, method, path string, body []byte, into any) error {
	req, _ := http.NewRequest(method, w.mockURL+path, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: HTTP %d %s", method, path, res.StatusCode, bytes.TrimSpace(b))
	}
	if into != nil {
		return json.Unmarshal(b, into)
	}
	return nil
}

// refresh adds the events the platform made since the scenario's (in its
// workspaces, on a shared platform) to the ground truth.
func (w *world) refresh() error {
	b, err := w.control.call(http.MethodGet, fmt.Sprintf("/mock/events?from=%d", w.logEnd), nil)
	if err != nil {
		return err
	}
	for sc := bufio.NewScanner(bytes.NewReader(b)); sc.Scan(); {
		w.logEnd++
		var e struct{ Organisation struct{ ID int64 } }
		if json.Unmarshal(sc.Bytes(), &e) != nil || w.orgs != nil && !w.orgs[e.Organisation.ID] {
			continue
		}
		if err := w.addEvent(sc.Bytes()); err != nil {
			return err
		}
	}
	return nil
}

// request is an entry of the platform's API journal.
type request struct {
	Method string          `json:"method"`
	Path   string          `json:"path"`
	Body   json.RawMessage `json:"body"`
	Status int             `json:"status"`
	Code   *int            `json:"error_code"`
}

// journal reads the platform's API journal, filtered by query; on a
// shared platform, only the requests in the scenario's workspaces.
func (w *world) journal(query url.Values) ([]request, error) {
	if w.control == nil {
		return nil, errNoPlatform
	}
	queries := []string{query.Encode()}
	if w.orgs != nil {
		queries = nil
		for org := range w.orgs {
			query.Set("workspace", fmt.Sprint(org))
			queries = append(queries, query.Encode())
		}
	}
	var out []request
	for _, q := range queries {
		b, err := w.control.call(http.MethodGet, "/mock/requests?"+q, nil)
		if err != nil {
			return nil, err
		}
		for sc := bufio.NewScanner(bytes.NewReader(b)); sc.Scan(); {
			var r request
			if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
				return nil, fmt.Errorf("the API journal: %v", err)
			}
			out = append(out, r)
		}
	}
	return out, nil
}

// sent checks, within secs, that the consumer made a request of method to
// path (placeholders filled), with a JSON body field of the value when
// given.
func sent(ctx context.Context, secs int, method, path, field, want string) error {
	w := get(ctx)
	path, want = w.fill(path), w.fill(want)
	return within(secs, func() error {
		reqs, err := w.journal(url.Values{"method": {method}, "path": {path}})
		if err != nil {
			return err
		}
		if len(reqs) == 0 {
			return fmt.Errorf("the platform's API journal has no %s %s", method, path)
		}
		if field == "" {
			return nil
		}
		var bodies []string
		for _, r := range reqs {
			got, err := jsonField(r.Body, field)
			if err == nil && got == want {
				return nil
			}
			bodies = append(bodies, fmt.Sprintf("%s (HTTP %d)", r.Body, r.Status))
		}
		return fmt.Errorf("%s %s was sent %d times, never with %q = %q:\n  %s", method, path, len(reqs), field, want, strings.Join(bodies, "\n  "))
	})
}

// jsonField reads a dotted field of a JSON document as text.
func jsonField(doc []byte, field string) (string, error) {
	var v any
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return "", errors.New("not JSON")
	}
	for _, k := range strings.Split(field, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return "", fmt.Errorf("no %q", field)
		}
		v = m[k]
	}
	if v == nil {
		return "null", nil
	}
	return fmt.Sprint(v), nil
}

// noneRefused checks that no request the journal holds was refused.
func noneRefused(ctx context.Context) error {
	w := get(ctx)
	var refused []string
	for _, class := range []string{"4xx", "5xx"} {
		reqs, err := w.journal(url.Values{"status": {class}})
		if err != nil {
			return err
		}
		for _, r := range reqs {
			code := ""
			if r.Code != nil {
				code = fmt.Sprintf(", error_code %d", *r.Code)
			}
			refused = append(refused, fmt.Sprintf("%s %s: HTTP %d%s %s", r.Method, r.Path, r.Status, code, r.Body))
		}
	}
	if len(refused) > 0 {
		return fmt.Errorf("the platform refused %d requests:\n  %s", len(refused), strings.Join(refused, "\n  "))
	}
	return nil
}

// forged makes a share of first delivery attempts carry a forged signature
// (a wrong key, or dated StaleBy back): a receiver that checks refuses
// them and gets the retry, signed right.
func forged(ctx context.Context, p int) error {
	w := get(ctx)
	if w.opts.SignSecret == "" {
		return errors.New("forged signatures need the secret the consumer checks: give verify --sign-secret (Options.SignSecret)")
	}
	w.delivery.Faults.Forge = float64(p) / 200
	w.delivery.Faults.Stale = float64(p) / 200
	return nil
}

// forgedRefused checks that the consumer acknowledged no forged delivery.
func forgedRefused(ctx context.Context) error {
	w := get(ctx)
	if n := w.stats.ForgedAccepted; n > 0 {
		return fmt.Errorf("the consumer acknowledged %d deliveries whose signature it should have refused (a wrong key, or dated 10 minutes back)", n)
	}
	return nil
}

// maxFileEvents bounds the events a feature may take from a file.
const maxFileEvents = 1_000_000

// eventsOfFile makes the events of a file (NDJSON, a JSON array, or
// objects one after another: captured from the platform, or made by
// emnify-mock generate), or of a running serve's log (an http:// URL),
// the ground truth, with no platform behind them: they can be pushed to
// the consumer and its view checked.
func eventsOfFile(ctx context.Context, path string) error {
	w := get(ctx)
	if w.mockURL != "" {
		return errors.New("the platform already runs a scenario: the events of a file stand instead of a platform")
	}
	w.events = nil
	var src source.Source = source.File{Path: path}
	if strings.HasPrefix(path, "http://") || strings.HasPrefix(path, "https://") {
		src = source.Served{URL: path, Token: w.opts.ControlToken}
	}
	err := src.Each(func(e source.Event) error {
		if len(w.events) == maxFileEvents {
			return fmt.Errorf("more than %d events", maxFileEvents)
		}
		return w.addEvent(e.JSON)
	})
	if err != nil {
		return fmt.Errorf("the events in %s: %w", path, err)
	}
	if len(w.events) == 0 {
		return fmt.Errorf("%s holds no event", path)
	}
	w.fromFile = true
	return nil
}
