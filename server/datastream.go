package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emnify-mock/emnify-mock/generator"
	"github.com/emnify-mock/emnify-mock/streamer"
	"github.com/gorilla/mux"
)

// The Data Streamer (v2 API): a workspace registers a webhook as a data
// stream and receives every matching event appended to the log from then
// on (or from the start, with historic data), pushed by the streamer
// engine. The request and response shapes follow emnify's specification
// (emnify-api.md §5.1); they are not recorded, so details are design.md's.

// Data stream statuses (GET /api/v2/data_stream/status).
var streamStatuses = numbered("Running", "Paused", "Error", "Pending")

// numbered makes a lookup list with ids from 1.
func numbered(names ...string) []generator.Lookup {
	out := make([]generator.Lookup, len(names))
	for i, n := range names {
		out[i] = generator.Lookup{ID: i + 1, Description: n}
	}
	return out
}

const (
	streamRunning = 1
	streamPaused  = 2
	streamError   = 3
	streamPending = 4
)

// StreamOptions configure the Data Streamer inside the server.
type StreamOptions struct {
	Retry   streamer.Policy // default the emnify preset
	Clock   generator.Clock // back-off waits; default the real clock
	Timeout int             // seconds per request; default 10
	// Destinations is where streams may send: loopback hosts unless
	// allowed (serve --allow-remote-webhooks).
	Destinations streamer.Destinations
}

// stream is one registered data stream and its delivery loop.
type stream struct {
	ID         int64
	Name       string
	Org        int64
	URL        string
	Method     string
	Headers    []string
	Size       int
	Types      []int // event_type_id filter; empty: all
	AlertOnly  bool
	Historic   bool
	mu         sync.Mutex
	status     int
	cursor     int    // log position of the first event not yet delivered
	lastError  string // why it is in Error
	delivered  int64
	requests   int64
	lastStatus int
	wake       chan struct{} // status changed
	cancel     context.CancelFunc
}

type streamSet struct {
	mu      sync.Mutex
	streams map[int64]*stream
	nextID  int64
	opts    StreamOptions
	ctx     context.Context
	stop    context.CancelFunc
	wg      sync.WaitGroup
}

// streamsState is the saved state of every data stream: configuration,
// position in the log, status and counters.
type streamsState struct {
	streams []*stream
	nextID  int64
}

// save copies every stream's state.
func (ss *streamSet) save() streamsState {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	out := streamsState{nextID: ss.nextID}
	for _, st := range ss.streams {
		out.streams = append(out.streams, st.copy())
	}
	return out
}

// load stops every stream's delivery, makes the saved streams current and
// starts their delivery with start.
func (ss *streamSet) load(saved streamsState, start func(*stream)) {
	ss.mu.Lock()
	old := ss.streams
	ss.streams, ss.nextID = map[int64]*stream{}, saved.nextID
	for _, st := range saved.streams {
		ss.streams[st.ID] = st.copy()
	}
	ss.mu.Unlock()
	for _, st := range old {
		st.cancel()
	}
	ss.wg.Wait()
	for _, st := range ss.streams {
		start(st)
	}
}

// copy returns the stream's configuration and delivery state, without
// its delivery loop.
func (st *stream) copy() *stream {
	st.mu.Lock()
	defer st.mu.Unlock()
	return &stream{ID: st.ID, Name: st.Name, Org: st.Org, URL: st.URL, Method: st.Method, Headers: slices.Clone(st.Headers),
		Size: st.Size, Types: slices.Clone(st.Types), AlertOnly: st.AlertOnly, Historic: st.Historic,
		status: st.status, cursor: st.cursor, lastError: st.lastError, delivered: st.delivered, requests: st.requests,
		lastStatus: st.lastStatus, wake: make(chan struct{}, 1)}
}

func newStreamSet(o StreamOptions) *streamSet {
	if o.Retry.Attempts == 0 {
		o.Retry = streamer.Presets["emnify"]
	}
	if o.Clock == nil {
		o.Clock = generator.Real{}
	}
	if o.Timeout <= 0 {
		o.Timeout = 10
	}
	ctx, stop := context.WithCancel(context.Background())
	return &streamSet{streams: map[int64]*stream{}, nextID: 1000, opts: o, ctx: ctx, stop: stop}
}

func (s *Server) streamRoutes(api *mux.Router) {
	api.HandleFunc("/data_stream", s.handleStreams).Methods("GET")
	api.HandleFunc("/data_stream", s.handleCreateStream).Methods("POST")
	api.HandleFunc("/data_stream/status", lookups(streamStatuses)).Methods("GET")
	api.HandleFunc("/data_stream/connection_type", lookups(numbered("AwsKinesis", "S3", "RestAPI", "KeenIO", "Datadog", "EventHubs", "PubSub"))).Methods("GET")
	api.HandleFunc("/data_stream/type", lookups(numbered("Usage", "Events"))).Methods("GET")
	api.HandleFunc("/data_stream/filter_field_type", lookups(numbered("event_type_id", "alert"))).Methods("GET")
	api.HandleFunc("/data_stream/{id}", s.handleStream).Methods("GET")
	api.HandleFunc("/data_stream/{id}", s.handlePatchStream).Methods("PATCH")
	api.HandleFunc("/data_stream/{id}", s.handleDeleteStream).Methods("DELETE")
	api.HandleFunc("/data_stream/{id}/restart", s.handleRestartStream).Methods("POST")
}

type streamBody struct {
	Name string `json:"name"`
	Type *struct {
		ID int `json:"id"`
	} `json:"data_stream_type"`
	Destination *struct {
		ConnectionType json.RawMessage `json:"connection_type"`
		Credentials    struct {
			URL     string   `json:"url"`
			Method  string   `json:"method"`
			Headers []string `json:"headers"`
			Size    int      `json:"size"`
		} `json:"credentials"`
	} `json:"destination"`
	Filters  []json.RawMessage `json:"filters"`
	Status   *statusRef        `json:"status"`
	Historic bool              `json:"stream_historic_data"`
}

// view is a stream as the API shows it; header values are masked,
// as emnify masks them.
func (st *stream) view() any {
	st.mu.Lock()
	defer st.mu.Unlock()
	masked := []string{}
	for _, h := range st.Headers {
		name, _, _ := strings.Cut(h, ":")
		masked = append(masked, name+":******")
	}
	filters := []any{}
	if len(st.Types) > 0 {
		filters = append(filters, map[string]any{"field": "event_type_id", "value": st.Types})
	}
	if st.AlertOnly {
		filters = append(filters, map[string]any{"field": "alert", "value": true})
	}
	type creds struct {
		URL     string   `json:"url"`
		Method  string   `json:"method"`
		Headers []string `json:"headers"`
		Size    int      `json:"size"`
	}
	return struct {
		ID          int64            `json:"id"`
		Name        string           `json:"name"`
		Type        generator.Lookup `json:"data_stream_type"`
		Destination struct {
			ConnectionType generator.Lookup `json:"connection_type"`
			Credentials    creds            `json:"credentials"`
			Format         string           `json:"format"`
		} `json:"destination"`
		Filters  []any            `json:"filters"`
		Status   generator.Lookup `json:"status"`
		Historic bool             `json:"stream_historic_data"`
	}{ID: st.ID, Name: st.Name, Type: generator.Lookup{ID: 2, Description: "Events"},
		Destination: struct {
			ConnectionType generator.Lookup `json:"connection_type"`
			Credentials    creds            `json:"credentials"`
			Format         string           `json:"format"`
		}{generator.Lookup{ID: 3, Description: "RestAPI"}, creds{st.URL, st.Method, masked, st.Size}, "Json"},
		Filters: filters, Status: streamStatuses[st.status-1], Historic: st.Historic}
}

func (s *Server) handleCreateStream(w http.ResponseWriter, r *http.Request) {
	var b streamBody
	if apiErr := decode(r, &b); apiErr != nil {
		writeError(w, apiErr)
		return
	}
	invalid := func(msg string) {
		writeError(w, validation("Data stream validation error", apiError{Code: 1403, Token: "InvalidFormat", Message: msg}))
	}
	if b.Destination == nil || b.Destination.Credentials.URL == "" {
		invalid("destination.credentials.url is required")
		return
	}
	if b.Type != nil && b.Type.ID != 2 {
		invalid("only data_stream_type 2 (Events) is supported by the mock")
		return
	}
	if ct := strings.Trim(string(b.Destination.ConnectionType), `"`); ct != "" && !strings.Contains(ct, "RestAPI") && ct != "3" && !strings.Contains(ct, `"id":3`) {
		invalid("only the RestAPI connection type is supported by the mock")
		return
	}
	c := b.Destination.Credentials
	st := &stream{Name: b.Name, Org: callerOf(r).ws.ID, URL: c.URL, Method: strings.ToUpper(c.Method), Headers: c.Headers,
		Size: c.Size, Historic: b.Historic, status: streamPending, wake: make(chan struct{}, 1)}
	if st.Method == "" {
		st.Method = http.MethodPost
	}
	if st.Size == 0 {
		st.Size = 3000 // emnify's default
	}
	if st.Size < 1 || st.Size > 10000 {
		invalid("credentials.size must be from 1 to 10000")
		return
	}
	if len(b.Filters) > maxFilters {
		invalid(fmt.Sprintf("at most %d filters", maxFilters))
		return
	}
	budget := maxFilters
	for _, f := range b.Filters {
		if err := st.addFilter(f, 1, &budget); err != nil {
			invalid(err.Error())
			return
		}
	}
	if _, err := s.deliveryOptions(st); err != nil {
		invalid(err.Error())
		return
	}
	st.status = streamRunning
	if b.Status != nil && b.Status.ID != nil {
		switch id := int(*b.Status.ID); id {
		case streamRunning, streamPaused:
			st.status = id
		default:
			invalid(fmt.Sprintf("status must be 1 (Running) or 2 (Paused), got %d", id))
			return
		}
	}
	// Under the state's lock: a snapshot sees the stream whole or not at
	// all, and its position is the log's at once.
	s.mu.Lock()
	if !st.Historic {
		st.cursor = s.log.Len()
	}
	ss := s.streams
	ss.mu.Lock()
	ss.nextID++
	st.ID = ss.nextID
	ss.streams[st.ID] = st
	ss.mu.Unlock()
	s.startStream(st)
	s.mu.Unlock()
	w.Header().Set("Location", fmt.Sprintf("%s/api/v2/data_stream/%d", baseURL(r), st.ID))
	writeJSON(w, http.StatusCreated, ctJSON, st.view())
}

// Filters nest at most maxFilterDepth deep, and a stream has at most
// maxFilters of them, nested ones included: the platform documents no
// limits (design.md: unknown limits are chosen and said), and without any
// a 1 MB body of nested "or" costs a minute of CPU.
const (
	maxFilterDepth = 4
	maxFilters     = 64
)

// addFilter reads {"field":"event_type_id","value":[..]}, {"field":
// "alert","value":true}, or {"or":[...]} of those, at the given depth,
// spending one of budget per filter.
func (st *stream) addFilter(raw json.RawMessage, depth int, budget *int) error {
	if depth > maxFilterDepth {
		return fmt.Errorf("filters nest at most %d levels of \"or\"", maxFilterDepth)
	}
	if *budget--; *budget < 0 {
		return fmt.Errorf("at most %d filters, nested ones included", maxFilters)
	}
	var f struct {
		Field string            `json:"field"`
		Value json.RawMessage   `json:"value"`
		Or    []json.RawMessage `json:"or"`
	}
	if err := json.Unmarshal(raw, &f); err != nil {
		return fmt.Errorf("filter %s: %v", raw, err)
	}
	for _, sub := range f.Or {
		if err := st.addFilter(sub, depth+1, budget); err != nil {
			return err
		}
	}
	switch f.Field {
	case "":
		if f.Or == nil || f.Value != nil {
			return fmt.Errorf("filter %s: a filter is {\"field\":...,\"value\":...} or {\"or\":[...]}", raw)
		}
		return nil
	case "event_type_id":
		var ids []int
		if json.Unmarshal(f.Value, &ids) != nil {
			var one int
			if err := json.Unmarshal(f.Value, &one); err != nil {
				return fmt.Errorf("event_type_id filter needs ids, got %s", f.Value)
			}
			ids = []int{one}
		}
		st.Types = append(st.Types, ids...)
	case "alert":
		st.AlertOnly = string(f.Value) == "true"
	default:
		return fmt.Errorf("filters take the fields event_type_id and alert, got %q", f.Field)
	}
	return nil
}

func (s *Server) streamOf(w http.ResponseWriter, r *http.Request) *stream {
	id, apiErr := pathID(r, "id")
	if apiErr == nil {
		s.streams.mu.Lock()
		st := s.streams.streams[id]
		s.streams.mu.Unlock()
		if st != nil && st.Org == callerOf(r).ws.ID {
			return st
		}
		apiErr = notFound("Data stream", strconv.FormatInt(id, 10))
	}
	writeError(w, apiErr)
	return nil
}

func (s *Server) handleStreams(w http.ResponseWriter, r *http.Request) {
	s.streams.mu.Lock()
	var ids []int64
	for id, st := range s.streams.streams {
		if st.Org == callerOf(r).ws.ID {
			ids = append(ids, id)
		}
	}
	s.streams.mu.Unlock()
	slices.Sort(ids)
	out := []any{}
	for _, id := range ids {
		s.streams.mu.Lock()
		st := s.streams.streams[id]
		s.streams.mu.Unlock()
		out = append(out, st.view())
	}
	writeJSON(w, http.StatusOK, ctJSON, out)
}

func (s *Server) handleStream(w http.ResponseWriter, r *http.Request) {
	if st := s.streamOf(w, r); st != nil {
		writeJSON(w, http.StatusOK, ctJSON, st.view())
	}
}

// handlePatchStream pauses ({"status":{"id":2}}) or resumes ({"id":1}) a
// stream; paused, its events wait and are delivered on resume.
func (s *Server) handlePatchStream(w http.ResponseWriter, r *http.Request) {
	st := s.streamOf(w, r)
	if st == nil {
		return
	}
	var b streamBody
	if apiErr := decode(r, &b); apiErr != nil {
		writeError(w, apiErr)
		return
	}
	// The mock changes a stream's name and status; anything else is
	// refused, not acknowledged and dropped.
	if b.Destination != nil || b.Filters != nil || b.Type != nil || b.Historic {
		writeError(w, validation("Data stream validation error", apiError{Code: 1403, Token: "InvalidFormat",
			Message: "the mock changes only the name and status of a data stream; for another destination, filters or type, delete it and create a new one"}))
		return
	}
	st.mu.Lock()
	if b.Name != "" {
		st.Name = b.Name
	}
	if b.Status != nil && b.Status.ID != nil {
		switch int(*b.Status.ID) {
		case streamRunning, streamPaused:
			if st.status != streamError {
				st.status = int(*b.Status.ID)
			}
		default:
			st.mu.Unlock()
			writeError(w, validation("status must be 1 (Running) or 2 (Paused)"))
			return
		}
	}
	st.mu.Unlock()
	st.poke()
	noContent(w, ctBare)
}

func (st *stream) poke() {
	select {
	case st.wake <- struct{}{}:
	default:
	}
}

// handleRestartStream takes a stream out of Error: delivery resumes from
// the first undelivered event.
func (s *Server) handleRestartStream(w http.ResponseWriter, r *http.Request) {
	st := s.streamOf(w, r)
	if st == nil {
		return
	}
	st.mu.Lock()
	st.status, st.lastError = streamRunning, ""
	st.mu.Unlock()
	st.poke()
	noContent(w, ctBare)
}

func (s *Server) handleDeleteStream(w http.ResponseWriter, r *http.Request) {
	st := s.streamOf(w, r)
	if st == nil {
		return
	}
	s.mu.Lock()
	st.cancel()
	s.streams.mu.Lock()
	delete(s.streams.streams, st.ID)
	s.streams.mu.Unlock()
	s.mu.Unlock()
	noContent(w, ctBare)
}

func timeSeconds(n int) time.Duration { return time.Duration(n) * time.Second }
