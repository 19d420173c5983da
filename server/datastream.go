package server

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/gorilla/mux"

	"github.com/emnify-mock/emnify-mock/generator"
	"github.com/emnify-mock/emnify-mock/server/internal/wire"
	"github.com/emnify-mock/emnify-mock/streams"
)

// The Data Streamer (v2 API): a workspace registers a webhook as a data
// stream and receives every matching event appended to the log from then
// on (or from the start, with historic data), pushed by the streamer
// engine. The request and response shapes follow emnify's specification
// (emnify-api.md §5.1); they are not recorded, so details are design.md's.

// numbered makes a lookup list with ids from 1.
func numbered(names ...string) []generator.Lookup {
	out := make([]generator.Lookup, len(names))
	for i, n := range names {
		out[i] = generator.Lookup{ID: i + 1, Description: n}
	}
	return out
}

func (s *Server) streamRoutes(api *mux.Router) {
	api.HandleFunc("/data_stream", s.handleStreams).Methods("GET")
	api.HandleFunc("/data_stream", s.handleCreateStream).Methods("POST")
	api.HandleFunc("/data_stream/status", lookups(streams.Statuses)).Methods("GET")
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

// streamView is a stream as the API shows it; header values are masked,
// as emnify masks them.
func streamView(stream *streams.Stream) any {
	st := stream.Settings()
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
		Filters: filters, Status: streams.Statuses[st.Status-1], Historic: st.Historic}
}

func (s *Server) handleCreateStream(w http.ResponseWriter, r *http.Request) {
	var b streamBody
	if apiErr := decode(r, &b); apiErr != nil {
		wire.WriteError(w, apiErr)
		return
	}
	invalid := func(msg string) {
		wire.WriteError(w, wire.Validation("Data stream validation error", wire.Error{Code: 1403, Token: "InvalidFormat", Message: msg}))
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
	st := &streams.Config{Name: b.Name, Org: callerOf(r).ws.ID, URL: c.URL, Method: strings.ToUpper(c.Method), Headers: c.Headers,
		Size: c.Size, Historic: b.Historic}
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
		if err := addFilter(st, f, 1, &budget); err != nil {
			invalid(err.Error())
			return
		}
	}
	if err := s.dataStreams.Check(*st); err != nil {
		invalid(err.Error())
		return
	}
	status := streams.Running
	if b.Status != nil && b.Status.ID != nil {
		switch id := int(*b.Status.ID); id {
		case streams.Running, streams.Paused:
			status = id
		default:
			invalid(fmt.Sprintf("status must be 1 (Running) or 2 (Paused), got %d", id))
			return
		}
	}
	// Under the state's lock: a snapshot sees the stream whole or not at
	// all, and its position is the log's at once.
	s.mu.Lock()
	cursor := 0
	if !st.Historic {
		cursor = s.log.Len()
	}
	stream := s.dataStreams.Add(*st, status, cursor)
	s.mu.Unlock()
	w.Header().Set("Location", fmt.Sprintf("%s/api/v2/data_stream/%d", baseURL(r), stream.Settings().ID))
	wire.WriteJSON(w, http.StatusCreated, wire.JSON, streamView(stream))
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
func addFilter(st *streams.Config, raw json.RawMessage, depth int, budget *int) error {
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
		if err := addFilter(st, sub, depth+1, budget); err != nil {
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

func (s *Server) streamOf(w http.ResponseWriter, r *http.Request) *streams.Stream {
	id, apiErr := pathID(r, "id")
	if apiErr == nil {
		if st := s.dataStreams.Get(callerOf(r).ws.ID, id); st != nil {
			return st
		}
		apiErr = wire.NotFound("Data stream", strconv.FormatInt(id, 10))
	}
	wire.WriteError(w, apiErr)
	return nil
}

func (s *Server) handleStreams(w http.ResponseWriter, r *http.Request) {
	out := []any{}
	for _, st := range s.dataStreams.List(callerOf(r).ws.ID) {
		out = append(out, streamView(st))
	}
	wire.WriteJSON(w, http.StatusOK, wire.JSON, out)
}

func (s *Server) handleStream(w http.ResponseWriter, r *http.Request) {
	if st := s.streamOf(w, r); st != nil {
		wire.WriteJSON(w, http.StatusOK, wire.JSON, streamView(st))
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
		wire.WriteError(w, apiErr)
		return
	}
	// The mock changes a stream's name and status; anything else is
	// refused, not acknowledged and dropped.
	if b.Destination != nil || b.Filters != nil || b.Type != nil || b.Historic {
		wire.WriteError(w, wire.Validation("Data stream validation error", wire.Error{Code: 1403, Token: "InvalidFormat",
			Message: "the mock changes only the name and status of a data stream; for another destination, filters or type, delete it and create a new one"}))
		return
	}
	status := 0
	if b.Status != nil && b.Status.ID != nil {
		status = int(*b.Status.ID)
		if status != streams.Running && status != streams.Paused {
			wire.WriteError(w, wire.Validation("status must be 1 (Running) or 2 (Paused)"))
			return
		}
	}
	st.Change(b.Name, status)
	wire.NoContent(w, wire.Bare)
}

// handleRestartStream takes a stream out of Error: delivery resumes from
// the first undelivered event.
func (s *Server) handleRestartStream(w http.ResponseWriter, r *http.Request) {
	st := s.streamOf(w, r)
	if st == nil {
		return
	}
	st.Restart()
	wire.NoContent(w, wire.Bare)
}

func (s *Server) handleDeleteStream(w http.ResponseWriter, r *http.Request) {
	st := s.streamOf(w, r)
	if st == nil {
		return
	}
	s.mu.Lock()
	s.dataStreams.Delete(st)
	s.mu.Unlock()
	wire.NoContent(w, wire.Bare)
}

// Deliveries returns each data stream's delivery state, in id order.
func (s *Server) Deliveries() []streams.Delivery { return s.dataStreams.Deliveries() }

// SetStreamWorkers sets how many requests a data stream has in flight
// (emnify's API has no field for it: PATCH /mock/deliveries/{id}) and
// restarts its delivery from the first unacknowledged event; it answers
// the stream's delivery state.
func (s *Server) SetStreamWorkers(id int64, n int) (streams.Delivery, error) {
	if n < 1 || n > streams.MaxWorkers {
		return streams.Delivery{}, wire.Validation(fmt.Sprintf("workers must be 1 to %d, got %d", streams.MaxWorkers, n))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.dataStreams.ByID(id)
	if st == nil {
		return streams.Delivery{}, wire.NotFound("DataStream", strconv.FormatInt(id, 10))
	}
	s.dataStreams.SetWorkers(st, n)
	return s.dataStreams.Delivery(st), nil
}
