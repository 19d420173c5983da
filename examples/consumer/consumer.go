// Package consumer is a reference consumer of emnify events: a webhook
// receiver that keeps a device inventory, as a backend team would write
// one. It dedupes by event id, ignores events older than what it already
// applied, treats deletion as final, and backs off when the API answers
// 429. Naive mode is the same receiver without those four safeguards, to
// show what emnify-mock's features catch.
//
// The routes are the contract emnify-mock's Gherkin features use:
//
//	POST /webhook        emnify events: one object or an array
//	GET  /sims/{iccid}   {"iccid", "status", "workspace"}; 404 if unknown
//	GET  /endpoints/{id} {"id", "name", "status", "sim"}; 404 if unknown
//	GET  /stats          {"events": applied, "by_type": {"8": n, ...}}
//	POST /admin/poll     {"api": URL, "application_token": T}: catch up by
//	                     reading GET /api/v1/event of that API
package consumer

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Consumer is the inventory and its HTTP handler.
type Consumer struct {
	naive    bool
	byIDOnly bool // the mistake NewKeyedByID shows
	mu       sync.Mutex
	seen     map[string]bool
	sims     map[string]*SIM
	eps      map[int64]*Endpoint
	events   int
	byType   map[string]int
	mux      *http.ServeMux
}

// Endpoint is the consumer's view of one device: its name, Enabled or
// Disabled (once an event says), and the ICCID of the SIM it holds (once
// an assignment or release says; null without one).
type Endpoint struct {
	ID       int64   `json:"id"`
	Name     string  `json:"name"`
	Status   string  `json:"status"`
	SIM      *string `json:"sim"`
	nameAt   int64
	statusAt int64
	simAt    int64
}

// SIM is the consumer's view of one SIM.
type SIM struct {
	ICCID     string `json:"iccid"`
	Status    string `json:"status"`
	Workspace int64  `json:"workspace"`
	statusAt  int64  // id of the event that set the status
	placedAt  int64  // id of the event that set the workspace
}

// New returns a reference consumer, or a naive one.
func New(naive bool) *Consumer {
	c := &Consumer{naive: naive, seen: map[string]bool{}, sims: map[string]*SIM{}, eps: map[int64]*Endpoint{}, byType: map[string]int{}, mux: http.NewServeMux()}
	c.mux.HandleFunc("POST /webhook", c.handleWebhook)
	c.mux.HandleFunc("GET /sims/{iccid}", c.handleSIM)
	c.mux.HandleFunc("GET /endpoints/{id}", c.handleEndpoint)
	c.mux.HandleFunc("GET /stats", c.handleStats)
	c.mux.HandleFunc("POST /admin/poll", c.handlePoll)
	return c
}

// NewKeyedByID returns the reference consumer with the obvious mistake:
// it dedupes by event id alone, so it drops the second half of a SIM
// migration, which shares its id with the first in another workspace.
func NewKeyedByID() *Consumer {
	c := New(false)
	c.byIDOnly = true
	return c
}

func (c *Consumer) ServeHTTP(w http.ResponseWriter, r *http.Request) { c.mux.ServeHTTP(w, r) }

// event is the part of an emnify event the inventory needs.
type event struct {
	ID           int64 `json:"id"`
	Organisation struct {
		ID int64 `json:"id"`
	} `json:"organisation"`
	Type struct {
		ID int `json:"id"`
	} `json:"event_type"`
	SIM *struct {
		ICCID string `json:"iccid"`
	} `json:"sim"`
	Endpoint *struct {
		ID   int64  `json:"id"`
		Name string `json:"name"`
	} `json:"endpoint"`
	Detail struct {
		Type   string `json:"type"`
		Target struct {
			ID int64 `json:"id"`
		} `json:"target_workspace"`
		SIMs []struct {
			ICCID string `json:"iccid"`
		} `json:"sims"`
	} `json:"detail"`
}

func (c *Consumer) handleWebhook(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var events []event
	if bytes.HasPrefix(bytes.TrimSpace(body), []byte("[")) {
		err = json.Unmarshal(body, &events)
	} else {
		var e event
		err = json.Unmarshal(body, &e)
		events = []event{e}
	}
	if err != nil {
		http.Error(w, "not an emnify event: "+err.Error(), http.StatusBadRequest)
		return
	}
	c.mu.Lock()
	for _, e := range events {
		c.apply(e)
	}
	c.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

// statusOf is the SIM status each event type leaves. The consumer keeps
// its own table, as a consumer outside this module would; the harness
// takes it from generator.EventType.SIMStatusAfter.
var statusOf = map[int]string{8: "Activated", 9: "Suspended", 10: "Deleted", 45: "Factory Test", 48: "Issued"}

// apply changes the inventory; call with the lock held.
func (c *Consumer) apply(e event) {
	// The two halves of a migration share an id, in two workspaces.
	key := fmt.Sprintf("%d/%d", e.ID, e.Organisation.ID)
	if c.byIDOnly {
		key = strconv.FormatInt(e.ID, 10)
	}
	if !c.naive && c.seen[key] {
		return
	}
	c.seen[key] = true
	c.events++
	c.byType[strconv.Itoa(e.Type.ID)]++
	if e.Type.ID == 69 {
		if e.Detail.Type == "target" {
			for _, s := range e.Detail.SIMs {
				c.place(c.sim(s.ICCID), e.Detail.Target.ID, e.ID)
			}
		}
		return
	}
	if e.Endpoint != nil {
		c.applyEndpoint(e)
	}
	if e.SIM == nil {
		return
	}
	s := c.sim(e.SIM.ICCID)
	c.place(s, e.Organisation.ID, e.ID)
	if status, ok := statusOf[e.Type.ID]; ok {
		if !c.naive && (s.Status == "Deleted" || e.ID < s.statusAt) {
			return // deletion is final; an older event does not undo a newer one
		}
		s.Status, s.statusAt = status, e.ID
	}
}

func (c *Consumer) sim(iccid string) *SIM {
	s := c.sims[iccid]
	if s == nil {
		s = &SIM{ICCID: iccid}
		c.sims[iccid] = s
	}
	return s
}

func (c *Consumer) place(s *SIM, ws, id int64) {
	if !c.naive && id < s.placedAt {
		return
	}
	s.Workspace, s.placedAt = ws, id
}

func (c *Consumer) handleSIM(w http.ResponseWriter, r *http.Request) {
	c.mu.Lock()
	s, ok := c.sims[r.PathValue("iccid")]
	b, _ := json.Marshal(s)
	c.mu.Unlock()
	writeView(w, b, ok, "SIM")
}

// writeView answers with one entity of the inventory, or 404.
func writeView(w http.ResponseWriter, b []byte, ok bool, what string) {
	if !ok {
		http.Error(w, `{"error":"unknown `+what+`"}`, http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(b)
}

func (c *Consumer) handleStats(w http.ResponseWriter, r *http.Request) {
	c.mu.Lock()
	b, _ := json.Marshal(map[string]any{"events": c.events, "by_type": c.byType})
	c.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.Write(b)
}

// handlePoll catches up by reading the API's event list, page by page in
// id order; events already applied are skipped by the dedupe.
func (c *Consumer) handlePoll(w http.ResponseWriter, r *http.Request) {
	var req struct {
		API   string `json:"api"`
		Token string `json:"application_token"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.API == "" {
		http.Error(w, "want {\"api\": URL, \"application_token\": T}", http.StatusBadRequest)
		return
	}
	if err := c.poll(strings.TrimSuffix(req.API, "/"), req.Token); err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (c *Consumer) poll(api, appToken string) error {
	token, err := authenticate(api, appToken)
	if err != nil {
		return err
	}
	for page := 1; ; page++ {
		res, err := c.get(fmt.Sprintf("%s/api/v1/event?sort=id&per_page=1000&page=%d", api, page), token)
		if err != nil {
			return fmt.Errorf("page %d: %w", page, err)
		}
		var events []event
		err = json.NewDecoder(res.Body).Decode(&events)
		res.Body.Close()
		if err != nil {
			return fmt.Errorf("page %d: %w", page, err)
		}
		c.mu.Lock()
		for _, e := range events {
			c.apply(e)
		}
		c.mu.Unlock()
		pages, _ := strconv.Atoi(res.Header.Get("X-Total-Pages"))
		if page >= pages {
			return nil
		}
	}
}

// get reads one page. On 429 the reference consumer waits and tries again
// (emnify sends no Retry-After: 200ms, doubling, eight tries); the naive
// one gives up.
func (c *Consumer) get(url, token string) (*http.Response, error) {
	wait := 200 * time.Millisecond
	for try := 1; ; try++ {
		req, _ := http.NewRequest("GET", url, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			return nil, err
		}
		if res.StatusCode == http.StatusOK {
			return res, nil
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusTooManyRequests || c.naive || try == 8 {
			return nil, fmt.Errorf("HTTP %d %s", res.StatusCode, b)
		}
		time.Sleep(wait)
		wait *= 2
	}
}

// Subscribe registers a data stream on the emnify API (the real one or
// emnify-mock) that pushes every event of the token's workspace, history
// included, to webhook: what an app that wires itself up at start does.
func Subscribe(api, appToken, webhook string) error {
	api = strings.TrimSuffix(api, "/")
	token, err := authenticate(api, appToken)
	if err != nil {
		return err
	}
	body := fmt.Sprintf(`{"name":"reference consumer","data_stream_type":{"id":2},"stream_historic_data":true,`+
		`"destination":{"connection_type":"RestAPI","credentials":{"url":%q}}}`, webhook)
	req, _ := http.NewRequest("POST", api+"/api/v2/data_stream", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusCreated {
		b, _ := io.ReadAll(res.Body)
		return fmt.Errorf("register the data stream: HTTP %d %s", res.StatusCode, bytes.TrimSpace(b))
	}
	return nil
}

// endpointStatus is the status events 42 and 43 leave.
var endpointStatus = map[int]string{42: "Enabled", 43: "Disabled"}

// applyEndpoint follows a device: its name from any event, its status
// from 42/43, its SIM from 51 (assigned) and 50 (released); an older
// event does not undo a newer one. Call with the lock held.
func (c *Consumer) applyEndpoint(e event) {
	ep := c.eps[e.Endpoint.ID]
	if ep == nil {
		ep = &Endpoint{ID: e.Endpoint.ID}
		c.eps[ep.ID] = ep
	}
	newer := func(at *int64) bool {
		if c.naive || e.ID >= *at {
			*at = e.ID
			return true
		}
		return false
	}
	if newer(&ep.nameAt) {
		ep.Name = e.Endpoint.Name
	}
	if status, ok := endpointStatus[e.Type.ID]; ok && newer(&ep.statusAt) {
		ep.Status = status
	}
	switch {
	case e.Type.ID == 51 && e.SIM != nil && newer(&ep.simAt):
		iccid := e.SIM.ICCID
		ep.SIM = &iccid
	case e.Type.ID == 50 && newer(&ep.simAt):
		ep.SIM = nil
	}
}

func (c *Consumer) handleEndpoint(w http.ResponseWriter, r *http.Request) {
	id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
	c.mu.Lock()
	ep, ok := c.eps[id]
	b, _ := json.Marshal(ep)
	c.mu.Unlock()
	writeView(w, b, ok, "endpoint")
}

// authenticate logs in with an application token and returns the auth
// token.
func authenticate(api, appToken string) (string, error) {
	res, err := http.Post(api+"/api/v1/authenticate", "application/json", strings.NewReader(fmt.Sprintf(`{"application_token":%q}`, appToken)))
	if err != nil {
		return "", err
	}
	defer res.Body.Close()
	var auth struct {
		Token string `json:"auth_token"`
	}
	json.NewDecoder(res.Body).Decode(&auth)
	if auth.Token == "" {
		return "", fmt.Errorf("authenticate: HTTP %d", res.StatusCode)
	}
	return auth.Token, nil
}
