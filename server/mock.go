package server

import (
	"net/http"

	"github.com/emnify-mock/emnify-mock/generator"
	"github.com/gorilla/mux"
)

// The control API for tests lives under /mock/, outside the emnify API,
// and needs no token: it is for the test harness on loopback.
func (s *Server) mockRoutes(r *mux.Router) {
	r.HandleFunc("/events", s.handleMockEvents).Methods("GET")
	r.HandleFunc("/workspaces", s.handleMockWorkspaces).Methods("GET")
}

// handleMockEvents returns the whole log, every workspace, in log order,
// as NDJSON: what a test compares its consumer with.
func (s *Server) handleMockEvents(w http.ResponseWriter, r *http.Request) {
	events, _ := s.log.Since(0)
	w.Header().Set("Content-Type", "application/x-ndjson")
	for _, e := range events {
		w.Write(e)
		w.Write([]byte{'\n'})
	}
}

type mockWorkspace struct {
	ID        int64               `json:"id"`
	Name      string              `json:"name"`
	Users     []mockUser          `json:"users"`
	AppTokens []string            `json:"application_tokens,omitempty"`
	Batches   []mockBatch         `json:"registrable_batches"`
	Profiles  map[string][]idName `json:"profiles"`
	Counts    map[string]int      `json:"counts"`
	IPSpace   string              `json:"ip_address_space"`
	Statuses  map[string]int      `json:"sim_statuses"`
}

type mockUser struct {
	ID       int64  `json:"id"`
	Name     string `json:"name"`
	Username string `json:"username"`
}

type mockBatch struct {
	BIC  string `json:"bic"`
	SIMs int    `json:"sims"`
}

// handleMockWorkspaces lists the workspaces with what a test needs to log
// in and act: users, application tokens, registrable BICs.
func (s *Server) handleMockWorkspaces(w http.ResponseWriter, r *http.Request) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []mockWorkspace
	for _, ws := range s.world.Platform.Workspaces() {
		m := mockWorkspace{ID: ws.ID, Name: ws.Name, IPSpace: ws.IPSpace.Prefix.String(),
			Profiles: map[string][]idName{"service": idNames(ws.ServiceProfiles), "tariff": idNames(ws.TariffProfiles)},
			Counts:   map[string]int{"sims": len(ws.SIMs()), "endpoints": len(ws.Endpoints())},
			Statuses: map[string]int{}, Batches: []mockBatch{}}
		for _, u := range ws.Users {
			m.Users = append(m.Users, mockUser{u.ID, u.Name, u.Username})
		}
		for tok, cred := range s.appTokens {
			if cred.ws == ws {
				m.AppTokens = append(m.AppTokens, tok)
			}
		}
		for _, b := range ws.Batches() {
			if !b.Registered {
				m.Batches = append(m.Batches, mockBatch{b.BIC, len(b.SIMs)})
			}
		}
		for _, sim := range ws.SIMs() {
			m.Statuses[sim.Status.String()]++
		}
		out = append(out, m)
	}
	writeJSON(w, http.StatusOK, ctBare, out)
}

func idNames(ps []generator.Profile) []idName {
	out := []idName{}
	for _, p := range ps {
		out = append(out, idName{p.ID, p.Name})
	}
	return out
}
