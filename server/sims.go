package server

import (
	"cmp"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/emnify-mock/emnify-mock/generator"
	"github.com/emnify-mock/emnify-mock/server/internal/wire"
)

// SIM list paging (emnify-api.md §1.3): default 2000, maximum 2500. The
// q and sort fields are the documented ones (§3.1). Inferred: a date
// filter matches the dates that begin with its value ("2025-01-06" is a
// day); the mock's SIMs have no reseller and no EID, so those filters
// match nothing and those sorts keep the id order.
var simList = listSpec[*generator.SIM]{
	def: 2000, maxPer: 2500,
	filters: map[string]func(*generator.SIM, string) bool{
		"id":              func(s *generator.SIM, v string) bool { return strconv.FormatInt(s.ID, 10) == v },
		"iccid":           func(s *generator.SIM, v string) bool { return s.ICCID == v },
		"iccid_with_luhn": func(s *generator.SIM, v string) bool { return s.ICCIDWithLuhn() == v },
		"imsi":            func(s *generator.SIM, v string) bool { return s.IMSI.IMSI == v },
		"msisdn":          func(s *generator.SIM, v string) bool { return s.MSISDN == v },
		"status":          func(s *generator.SIM, v string) bool { return strconv.Itoa(int(s.Status)) == v },
		"endpoint": func(s *generator.SIM, v string) bool {
			if v == "null" {
				return s.Endpoint == nil
			}
			return s.Endpoint != nil && strconv.FormatInt(s.Endpoint.ID, 10) == v
		},
		"customer_org":      func(s *generator.SIM, v string) bool { return strconv.FormatInt(s.Workspace.ID, 10) == v },
		"issuer_org":        func(s *generator.SIM, v string) bool { return strconv.FormatInt(issuerOrg.ID, 10) == v },
		"reseller_org":      func(*generator.SIM, string) bool { return false },
		"production_date":   func(s *generator.SIM, v string) bool { return strings.HasPrefix(resourceTime(s.ProductionDate), v) },
		"model":             func(s *generator.SIM, v string) bool { return strconv.Itoa(classicModel.ID) == v },
		"eid":               func(*generator.SIM, string) bool { return false },
		"satellite_capable": func(s *generator.SIM, v string) bool { return v == "false" },
	},
	sorts: map[string]func(a, b *generator.SIM) int{
		"id":              func(a, b *generator.SIM) int { return cmp.Compare(a.ID, b.ID) },
		"iccid":           func(a, b *generator.SIM) int { return strings.Compare(a.ICCID, b.ICCID) },
		"status":          func(a, b *generator.SIM) int { return cmp.Compare(a.Status, b.Status) },
		"production_date": func(a, b *generator.SIM) int { return a.ProductionDate.Compare(b.ProductionDate) },
		"endpoint":        func(a, b *generator.SIM) int { return cmp.Compare(endpointID(a), endpointID(b)) },
		"customer_org":    func(a, b *generator.SIM) int { return cmp.Compare(a.Workspace.ID, b.Workspace.ID) },
		"issuer_org":      func(a, b *generator.SIM) int { return 0 }, // one issuer
		"reseller_org":    func(a, b *generator.SIM) int { return 0 },
		"eid":             func(a, b *generator.SIM) int { return 0 },
		"model":           func(a, b *generator.SIM) int { return 0 }, // one model
	},
}

func endpointID(s *generator.SIM) int64 {
	if s.Endpoint == nil {
		return 0
	}
	return s.Endpoint.ID
}

func (s *Server) handleSIMs(w http.ResponseWriter, r *http.Request) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	serveList(w, r, callerOf(r).ws.SIMs(), simList, func(x *generator.SIM) any { return simResource(x) })
}

// sim finds a SIM of the caller's workspace; others' SIMs do not exist.
// Call with the lock held.
func (s *Server) sim(r *http.Request) (*generator.SIM, *wire.Error) {
	id, apiErr := pathID(r, "id")
	if apiErr != nil {
		return nil, apiErr
	}
	sim := s.world.Platform.SIM(id)
	if sim == nil || sim.Workspace != callerOf(r).ws {
		return nil, wire.NotFound("SIM", strconv.FormatInt(id, 10))
	}
	return sim, nil
}

func (s *Server) handleSIM(w http.ResponseWriter, r *http.Request) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	sim, apiErr := s.sim(r)
	if apiErr != nil {
		wire.WriteError(w, apiErr)
		return
	}
	wire.WriteJSON(w, http.StatusOK, wire.JSON, simResource(sim))
}

// statusRef is a status as clients send it: {"id":2}, or with the
// description the official SDK adds (recorded), which names the id and is
// not checked against it.
type statusRef struct {
	ID          *refID  `json:"id"`
	Description *string `json:"description"`
}

// handlePatchSIM changes a SIM's status; customers may change nothing else.
func (s *Server) handlePatchSIM(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Status *statusRef `json:"status"`
	}
	if apiErr := decode(r, &body); apiErr != nil {
		wire.WriteError(w, apiErr)
		return
	}
	if body.Status == nil || body.Status.ID == nil {
		wire.WriteError(w, wire.Validation("Update SIM validation error", wire.Error{Code: 1402, Token: "Required", Message: "SIM - status is required."}))
		return
	}
	a := callerOf(r).actor()
	err := s.apply(func() ([]generator.Event, error) {
		sim, e := s.sim(r)
		if e != nil {
			return nil, e
		}
		want := generator.SIMStatus(*body.Status.ID)
		if want == sim.Status && (want == generator.SIMActivated || want == generator.SIMSuspended || want == generator.SIMFactoryTest) {
			// The status it has: 204 and no event, as an endpoint PATCH to
			// its own status answers (inferred: not recorded for SIMs; the
			// official SDK's change_status PATCHes the SIM every time).
			return nil, nil
		}
		switch want {
		case generator.SIMActivated:
			return s.world.Platform.ActivateSIM(a, sim)
		case generator.SIMSuspended:
			return s.world.Platform.SuspendSIM(a, sim)
		case generator.SIMFactoryTest:
			return s.world.Platform.StartFactoryTest(a, sim)
		}
		return nil, wire.Validation(fmt.Sprintf("SIM status %v cannot be set; expected 1 (Activated), 2 (Suspended) or 4 (Factory Test); delete with DELETE", *body.Status.ID))
	})
	s.finish(w, err, wire.Bare)
}

// finish answers a write: 204, the API error a handler returned, or the
// state machine's refusal mapped to emnify's status and body.
func (s *Server) finish(w http.ResponseWriter, err error, contentType string) {
	var apiErr *wire.Error
	switch {
	case errors.As(err, &apiErr):
		wire.WriteError(w, apiErr)
	case err != nil:
		wire.WriteError(w, refusal(err))
	default:
		wire.NoContent(w, contentType)
	}
}

func (s *Server) handleDeleteSIM(w http.ResponseWriter, r *http.Request) {
	a := callerOf(r).actor()
	err := s.apply(func() ([]generator.Event, error) {
		sim, e := s.sim(r)
		if e != nil {
			return nil, e
		}
		return s.world.Platform.DeleteSIM(a, sim)
	})
	s.finish(w, err, wire.Bare)
}

// batch finds a batch of the caller's workspace by BIC. Call with the lock
// held.
func (s *Server) batch(r *http.Request) *generator.Batch {
	b := s.world.Platform.Batch(varsOf(r)["bic"])
	if b == nil {
		return nil
	}
	for _, x := range callerOf(r).ws.Batches() {
		if x == b {
			return b
		}
	}
	return nil
}

func (s *Server) handleBatch(w http.ResponseWriter, r *http.Request) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	b := s.batch(r)
	switch {
	case b == nil:
		wire.WriteError(w, &wire.Error{Status: http.StatusNotFound, Code: 1201, Token: "NotFound", Message: fmt.Sprintf("SIM batch with BIC '%s' not found.", varsOf(r)["bic"])})
	case b.Registered:
		wire.WriteError(w, wire.BadRequest(fmt.Sprintf("SIM batch with BIC '%s' is already registered.", b.BIC)))
	default:
		wire.WriteJSON(w, http.StatusOK, wire.JSON, struct {
			ID       int64     `json:"id"`
			BIC      string    `json:"bic"`
			Quantity int       `json:"quantity"`
			Model    modelJSON `json:"model"`
		}{b.ID, b.BIC, len(b.SIMs), classicModel})
	}
}

// handleRegisterBatch registers a batch: 200 with its SIMs, event 48. A
// BIC that cannot be registered gets 422 with an empty text/html body, as
// recorded.
func (s *Server) handleRegisterBatch(w http.ResponseWriter, r *http.Request) {
	var body struct {
		SIMStatus   *statusRef `json:"sim_status"`
		ID          *refID     `json:"id"` // the bare status object some clients send
		Description *string    `json:"description"`
	}
	if apiErr := decode(r, &body); apiErr != nil {
		wire.WriteError(w, apiErr)
		return
	}
	status := generator.SIMActivated
	if body.SIMStatus != nil && body.SIMStatus.ID != nil {
		status = generator.SIMStatus(*body.SIMStatus.ID)
	} else if body.ID != nil {
		status = generator.SIMStatus(*body.ID)
	}
	a := callerOf(r).actor()
	type simRef struct {
		ID    int64  `json:"id"`
		ICCID string `json:"iccid"`
	}
	var sims []simRef
	err := s.apply(func() ([]generator.Event, error) {
		b := s.batch(r)
		if b == nil || (status != generator.SIMActivated && status != generator.SIMFactoryTest) {
			return nil, fmt.Errorf("cannot register")
		}
		events, err := s.world.Platform.RegisterBatch(a, callerOf(r).ws, b, status)
		for _, sim := range b.SIMs {
			sims = append(sims, simRef{sim.ID, sim.ICCID})
		}
		return events, err
	})
	if err != nil {
		w.Header().Set("Content-Type", "text/html; charset=UTF-8")
		w.WriteHeader(http.StatusUnprocessableEntity)
		return
	}
	wire.WriteJSON(w, http.StatusOK, wire.Bare, struct {
		SIM []simRef `json:"sim"`
	}{sims})
}
