package server

import (
	"net/http"

	"github.com/emnify-mock/emnify-mock/eventlog"
	"github.com/emnify-mock/emnify-mock/generator"
	"github.com/emnify-mock/emnify-mock/server/internal/wire"
)

// Event list paging: default 100 (recorded); the maximum is not documented,
// 1000 is design.md's choice.
const (
	eventsPerPage    = 100
	maxEventsPerPage = 1000
)

func (s *Server) handleEvents(w http.ResponseWriter, r *http.Request) {
	s.serveEvents(w, r, eventlog.Scope{Org: callerOf(r).ws.ID})
}

// handleScopedEvents serves the per-endpoint, per-SIM and per-user event
// lists. An id that does not exist gives 200 and [] (emnify-api.md §1.1).
func (s *Server) handleScopedEvents(scope string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		c := callerOf(r)
		sc := eventlog.Scope{Org: c.ws.ID, Kind: scope}
		if scope == "my" {
			sc.Kind = "user"
			if c.user == nil {
				sc.None = true // an application token has no user events
			} else {
				sc.ID = c.user.ID
			}
		} else {
			id, apiErr := pathID(r, "id")
			if apiErr != nil {
				wire.WriteError(w, apiErr)
				return
			}
			sc.ID = id
		}
		s.serveEvents(w, r, sc)
	}
}

func (s *Server) serveEvents(w http.ResponseWriter, r *http.Request, sc eventlog.Scope) {
	pg, apiErr := parsePaging(r, eventsPerPage, maxEventsPerPage)
	if apiErr != nil {
		wire.WriteError(w, apiErr)
		return
	}
	params := r.URL.Query()
	q, err := eventlog.ParseQuery(s.log, sc, params.Get("q"), params.Get("sort"))
	if err != nil {
		wire.WriteError(w, queryAPIError(err))
		return
	}
	total, page, pageNo := s.log.Find(q, pg.page, pg.perPage)
	writePage(w, r, wire.EventJSON, total, pageNo, pg.perPage, joinJSON(page))
}

func (s *Server) handleEventTypes(w http.ResponseWriter, r *http.Request) {
	wire.WriteJSON(w, http.StatusOK, wire.JSON, generator.EventTypes)
}
