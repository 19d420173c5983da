package server

import (
	"cmp"
	"encoding/json"
	"fmt"
	"net/http"
	"net/netip"
	"strconv"
	"strings"

	"github.com/emnify-mock/emnify-mock/generator"
	"github.com/emnify-mock/emnify-mock/server/internal/wire"
)

// Endpoint list paging (emnify-api.md §1.3): default and maximum 1000. The
// q and sort fields are the documented ones (§3.2); dates filter as on the
// SIM list (inferred), and the mock's endpoints have no EID.
var endpointList = listSpec[*generator.Endpoint]{
	def: 1000, maxPer: 1000,
	filters: map[string]func(*generator.Endpoint, string) bool{
		"id":         func(e *generator.Endpoint, v string) bool { return strconv.FormatInt(e.ID, 10) == v },
		"name":       func(e *generator.Endpoint, v string) bool { return strings.EqualFold(e.Name, v) },
		"status":     func(e *generator.Endpoint, v string) bool { return strconv.Itoa(int(e.Status)) == v },
		"tags":       func(e *generator.Endpoint, v string) bool { return e.Tags != nil && strings.EqualFold(*e.Tags, v) },
		"ip_address": func(e *generator.Endpoint, v string) bool { return e.IP.String() == v },
		"imei":       func(e *generator.Endpoint, v string) bool { return e.IMEI == v },
		"iccid":      func(e *generator.Endpoint, v string) bool { return e.SIM != nil && e.SIM.ICCID == v },
		"sim_status": func(e *generator.Endpoint, v string) bool {
			return e.SIM != nil && strconv.Itoa(int(e.SIM.Status)) == v
		},
		"iccid_with_luhn": func(e *generator.Endpoint, v string) bool { return e.SIM != nil && e.SIM.ICCIDWithLuhn() == v },
		"service_profile": func(e *generator.Endpoint, v string) bool { return strconv.FormatInt(e.ServiceProfile.ID, 10) == v },
		"tariff_profile":  func(e *generator.Endpoint, v string) bool { return strconv.FormatInt(e.TariffProfile.ID, 10) == v },
		"created":         func(e *generator.Endpoint, v string) bool { return strings.HasPrefix(resourceTime(e.Created), v) },
		"last_updated":    func(e *generator.Endpoint, v string) bool { return strings.HasPrefix(resourceTime(e.LastUpdated), v) },
		"eid":             func(*generator.Endpoint, string) bool { return false },
	},
	sorts: map[string]func(a, b *generator.Endpoint) int{
		"id":           func(a, b *generator.Endpoint) int { return cmp.Compare(a.ID, b.ID) },
		"name":         func(a, b *generator.Endpoint) int { return strings.Compare(a.Name, b.Name) },
		"status":       func(a, b *generator.Endpoint) int { return cmp.Compare(a.Status, b.Status) },
		"created":      func(a, b *generator.Endpoint) int { return a.Created.Compare(b.Created) },
		"last_updated": func(a, b *generator.Endpoint) int { return a.LastUpdated.Compare(b.LastUpdated) },
		"tags":         func(a, b *generator.Endpoint) int { return strings.Compare(deref(a.Tags), deref(b.Tags)) },
		"ip_address":   func(a, b *generator.Endpoint) int { return a.IP.Compare(b.IP) },
		"imei":         func(a, b *generator.Endpoint) int { return strings.Compare(a.IMEI, b.IMEI) },
		"eid":          func(a, b *generator.Endpoint) int { return 0 },
		"service_profile": func(a, b *generator.Endpoint) int {
			return cmp.Compare(a.ServiceProfile.ID, b.ServiceProfile.ID)
		},
		"tariff_profile": func(a, b *generator.Endpoint) int { return cmp.Compare(a.TariffProfile.ID, b.TariffProfile.ID) },
	},
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func (s *Server) handleEndpoints(w http.ResponseWriter, r *http.Request) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	serveList(w, r, callerOf(r).ws.Endpoints(), endpointList, func(e *generator.Endpoint) any { return endpointResource(e, false) })
}

// endpoint finds an endpoint of the caller's workspace. Call with the lock
// held.
func (s *Server) endpoint(r *http.Request) (*generator.Endpoint, *wire.Error) {
	id, apiErr := pathID(r, "id")
	if apiErr != nil {
		return nil, apiErr
	}
	ep := s.world.Platform.Endpoint(id)
	if ep == nil || ep.Workspace != callerOf(r).ws {
		return nil, wire.NotFound("Endpoint", strconv.FormatInt(id, 10))
	}
	return ep, nil
}

// changeEndpoint applies a change to one of the caller's endpoints as one
// change of the platform, found under the lock (a restore replaces the
// world).
func (s *Server) changeEndpoint(r *http.Request, change func(*generator.Endpoint) ([]generator.Event, error)) error {
	return s.apply(func() ([]generator.Event, error) {
		ep, e := s.endpoint(r)
		if e != nil {
			return nil, e
		}
		return change(ep)
	})
}

// readEndpoint serves a read of one of the caller's endpoints under the
// read lock, or the error of finding none.
func (s *Server) readEndpoint(w http.ResponseWriter, r *http.Request, serve func(*generator.Endpoint)) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	ep, apiErr := s.endpoint(r)
	if apiErr != nil {
		wire.WriteError(w, apiErr)
		return
	}
	serve(ep)
}

func (s *Server) handleEndpoint(w http.ResponseWriter, r *http.Request) {
	s.readEndpoint(w, r, func(ep *generator.Endpoint) {
		wire.WriteJSON(w, http.StatusOK, wire.JSON, endpointResource(ep, true))
	})
}

// endpointBody is the body of POST and PATCH /endpoint. Pointers tell
// absent keys from present ones; PATCH takes any subset.
type endpointBody struct {
	Name           *string        `json:"name"`
	Tags           optionalString `json:"tags"`
	Status         *statusRef     `json:"status"`
	ServiceProfile *struct {
		ID int64 `json:"id"`
	} `json:"service_profile"`
	TariffProfile *struct {
		ID int64 `json:"id"`
	} `json:"tariff_profile"`
	IMEI      *string `json:"imei"`
	IMEILock  *bool   `json:"imei_lock"`
	IPAddress *string `json:"ip_address"`
	SIM       *struct {
		ID       *int64     `json:"id"`
		Activate *bool      `json:"activate"`
		Status   *statusRef `json:"status"`
	} `json:"sim"`
}

// profiles checks the body's profile references against the workspace.
func profiles(ws *generator.Workspace, b *endpointBody, what string) (svc, tariff *generator.Profile, apiErr *wire.Error) {
	find := func(list []generator.Profile, id int64) *generator.Profile {
		for i := range list {
			if list[i].ID == id {
				return &list[i]
			}
		}
		return nil
	}
	if b.ServiceProfile != nil {
		if svc = find(ws.ServiceProfiles, b.ServiceProfile.ID); svc == nil {
			return nil, nil, wire.Validation(what+" validation error", wire.Error{Code: 1401, Token: "InvalidReference", Message: fmt.Sprintf("Service profile with Id '%d' not found.", b.ServiceProfile.ID)})
		}
	}
	if b.TariffProfile != nil {
		if tariff = find(ws.TariffProfiles, b.TariffProfile.ID); tariff == nil {
			return nil, nil, wire.Validation(what+" validation error", wire.Error{Code: 1401, Token: "InvalidReference", Message: fmt.Sprintf("Tariff profile with Id '%d' not found.", b.TariffProfile.ID)})
		}
	}
	return svc, tariff, nil
}

// optionalString is a field that may be absent, null or a string:
// absent leaves it, null clears it. Any other type is refused.
type optionalString struct {
	set   bool
	value *string
}

func (o *optionalString) UnmarshalJSON(b []byte) error {
	o.set = true
	if err := json.Unmarshal(b, &o.value); err != nil {
		return fmt.Errorf("%w: a string or null, got %s", errBadValue, b)
	}
	return nil
}

// handleCreateEndpoint answers 201 with an empty body and Location, as
// recorded. With a SIM, an Issued SIM is activated unless sim.activate is
// false or sim.status asks for Factory Test (design.md).
func (s *Server) handleCreateEndpoint(w http.ResponseWriter, r *http.Request) {
	var b endpointBody
	if apiErr := decode(r, &b); apiErr != nil {
		wire.WriteError(w, apiErr)
		return
	}
	var missing []wire.Error
	for _, f := range []struct {
		name    string
		present bool
	}{{"service_profile", b.ServiceProfile != nil}, {"tariff_profile", b.TariffProfile != nil}, {"status", b.Status != nil && b.Status.ID != nil}} {
		if !f.present {
			missing = append(missing, wire.Error{Code: 1402, Token: "Required", Message: "Endpoint - " + f.name + " is required."})
		}
	}
	if len(missing) > 0 {
		wire.WriteError(w, wire.Validation("Create endpoint validation error", missing...))
		return
	}
	status, apiErr := endpointStatus(*b.Status.ID, "Create endpoint")
	if apiErr != nil {
		wire.WriteError(w, apiErr)
		return
	}
	c := callerOf(r)
	var created *generator.Endpoint
	err := s.apply(func() ([]generator.Event, error) {
		svc, tariff, e := profiles(c.ws, &b, "Create endpoint")
		if e != nil {
			return nil, e
		}
		spec := generator.EndpointSpec{ServiceProfile: *svc, TariffProfile: *tariff, Status: status}
		if b.Name != nil {
			spec.Name = *b.Name
		}
		spec.Tags = b.Tags.value
		if b.IMEI != nil {
			spec.IMEI = *b.IMEI
		}
		if b.IMEILock != nil {
			spec.IMEILock = *b.IMEILock
		}
		if b.IPAddress != nil {
			ip, err := netip.ParseAddr(*b.IPAddress)
			if err != nil {
				return nil, wire.Validation("Create endpoint validation error", wire.Error{Code: 1403, Token: "InvalidFormat", Message: "Endpoint - ip_address is invalid."})
			}
			spec.IP = ip
		}
		if b.SIM != nil && b.SIM.ID != nil {
			sim := s.world.Platform.SIM(*b.SIM.ID)
			if sim == nil || sim.Workspace != c.ws {
				return nil, wire.Validation("Create endpoint validation error", wire.Error{Code: 1401, Token: "InvalidReference", Message: fmt.Sprintf("SIM with Id '%d' not found.", *b.SIM.ID)})
			}
			spec.SIM = sim
			spec.ActivateSIM = spec.Status == generator.EndpointEnabled && (b.SIM.Activate == nil || *b.SIM.Activate)
			if b.SIM.Status != nil && b.SIM.Status.ID != nil {
				spec.FactoryTest = *b.SIM.Status.ID == refID(generator.SIMFactoryTest)
				spec.ActivateSIM = *b.SIM.Status.ID == refID(generator.SIMActivated)
			}
		}
		ep, events, err := s.world.Platform.CreateEndpoint(c.actor(), c.ws, spec)
		created = ep
		return events, err
	})
	if err != nil {
		s.finish(w, err, wire.Bare)
		return
	}
	w.Header().Set("Location", fmt.Sprintf("%s/api/v1/endpoint/%d", baseURL(r), created.ID))
	w.Header().Set("Content-Type", wire.Bare)
	w.WriteHeader(http.StatusCreated)
}

func baseURL(r *http.Request) string {
	if r.TLS != nil {
		return "https://" + r.Host
	}
	return "http://" + r.Host
}

// handlePatchEndpoint applies a partial body as one change of the domain
// (generator.Platform.PatchEndpoint): the SIM part, then the status, then
// the attributes; a refused part changes nothing and appends no event.
func (s *Server) handlePatchEndpoint(w http.ResponseWriter, r *http.Request) {
	var b endpointBody
	if apiErr := decode(r, &b); apiErr != nil {
		wire.WriteError(w, apiErr)
		return
	}
	c := callerOf(r)
	if b.IPAddress != nil {
		// Moving a device to another address is not modelled: refused,
		// not dropped.
		wire.WriteError(w, wire.Validation("Update endpoint validation error", wire.Error{Code: 1403, Token: "InvalidFormat",
			Message: "ip_address cannot be changed by the mock; it is assigned when the endpoint is created"}))
		return
	}
	var patch generator.EndpointPatch
	if b.Status != nil && b.Status.ID != nil {
		st, apiErr := endpointStatus(*b.Status.ID, "Update endpoint")
		if apiErr != nil {
			wire.WriteError(w, apiErr)
			return
		}
		patch.Status = &st
	}
	err := s.changeEndpoint(r, func(ep *generator.Endpoint) ([]generator.Event, error) {
		svc, tariff, e := profiles(c.ws, &b, "Update endpoint")
		if e != nil {
			return nil, e
		}
		if b.SIM != nil {
			var sim *generator.SIM // nil: release
			if b.SIM.ID != nil {
				if sim = s.world.Platform.SIM(*b.SIM.ID); sim == nil || sim.Workspace != c.ws {
					return nil, wire.Validation("Update endpoint validation error", wire.Error{Code: 1401, Token: "InvalidReference", Message: fmt.Sprintf("SIM with Id '%d' not found.", *b.SIM.ID)})
				}
			}
			patch.SIM = &sim
		}
		patch.EndpointUpdate = generator.EndpointUpdate{Name: b.Name, IMEI: b.IMEI, IMEILock: b.IMEILock, ServiceProfile: svc, TariffProfile: tariff}
		if b.Tags.set {
			patch.Tags = &b.Tags.value
		}
		return s.world.Platform.PatchEndpoint(c.actor(), ep, patch)
	})
	s.finish(w, err, wire.Bare)
}

// endpointStatus checks a status id from a body: the API refuses ids
// the platform does not have with its 422 body, before anything changes.
func endpointStatus(id refID, what string) (generator.EndpointStatus, *wire.Error) {
	st := generator.EndpointStatus(id)
	if refID(st) != id || !st.Valid() || st == generator.EndpointDeleted {
		return 0, wire.Validation(what+" validation error", wire.Error{Code: 1403, Token: "InvalidFormat",
			Message: fmt.Sprintf("Endpoint - status.id %v is invalid; expected 0 (Enabled) or 1 (Disabled).", id)})
	}
	return st, nil
}

func (s *Server) handleDeleteEndpoint(w http.ResponseWriter, r *http.Request) {
	err := s.changeEndpoint(r, func(ep *generator.Endpoint) ([]generator.Event, error) {
		return nil, s.world.Platform.DeleteEndpoint(ep)
	})
	s.finish(w, err, wire.Bare)
}

// handleConnectivity reports a connectivity status derived from state:
// the mock has no network, so a device is ATTACHED when it is enabled with
// an activated SIM and OFFLINE otherwise (design.md).
func (s *Server) handleConnectivity(w http.ResponseWriter, r *http.Request) {
	s.readEndpoint(w, r, func(ep *generator.Endpoint) {
		status := "OFFLINE"
		if ep.Status == generator.EndpointEnabled && ep.SIM != nil && ep.SIM.Status == generator.SIMActivated {
			status = "ATTACHED"
		}
		wire.WriteJSON(w, http.StatusOK, wire.Bare, struct {
			Status struct {
				Description string `json:"description"`
			} `json:"status"`
			Services []any `json:"services"`
		}{struct {
			Description string `json:"description"`
		}{status}, []any{}})
	})
}

// handleResetConnectivity resets with {"location": null}, {"pdp_context":
// null} or both: event 68, 204 with text/html as recorded.
func (s *Server) handleResetConnectivity(w http.ResponseWriter, r *http.Request) {
	var body map[string]json.RawMessage
	if apiErr := decode(r, &body); apiErr != nil {
		wire.WriteError(w, apiErr)
		return
	}
	_, loc := body["location"]
	_, pdp := body["pdp_context"]
	for k, v := range body {
		switch {
		case k != "location" && k != "pdp_context":
			wire.WriteError(w, wire.Validation("Request validation error", wire.Error{Code: 1403, Token: "InvalidFormat", Message: fmt.Sprintf("%q is not a field this request can set", k)}))
			return
		case string(v) != "null": // a reset clears; no other value is documented
			wire.WriteError(w, wire.Validation("Request validation error", wire.Error{Code: 1403, Token: "InvalidFormat", Message: k + " must be null: a reset clears it"}))
			return
		}
	}
	if !loc && !pdp {
		wire.WriteError(w, wire.Validation("Reset connectivity validation error", wire.Error{Code: 1402, Token: "Required", Message: "location or pdp_context is required."}))
		return
	}
	a := callerOf(r).actor()
	err := s.changeEndpoint(r, func(ep *generator.Endpoint) ([]generator.Event, error) {
		return s.world.Platform.ResetConnectivity(a, ep)
	})
	s.finish(w, err, "text/html; charset=UTF-8")
}
