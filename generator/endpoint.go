package generator

import (
	"fmt"
	"time"
)

func endpointSubject(ep *Endpoint) string {
	return "endpoint " + itoa(ep.ID) + " is " + ep.Status.String()
}

// CreateEndpoint creates an endpoint in the workspace, with an address from
// its IP space. Creating emits no event of its own; with a SIM it emits, as
// recorded, the SIM's status change (8 or 45, if asked for an Issued SIM)
// and then 51, both without an "endpoint" key.
func (p *Platform) CreateEndpoint(a Actor, w *Workspace, spec EndpointSpec) (*Endpoint, []Event, error) {
	ep, err := p.newEndpoint(w, spec)
	if err != nil || spec.SIM == nil {
		return ep, nil, err
	}
	s := spec.SIM
	ae := p.begin()
	if s.Status == SIMIssued && spec.FactoryTest {
		p.setStatus(ae, a, s, SIMFactoryTest)
	} else if s.Status == SIMIssued && spec.ActivateSIM {
		p.setStatus(ae, a, s, SIMActivated)
	}
	e := ae.add(TypeSIMAssigned, a, w)
	e.Description = "SIM " + itoa(s.ID) + " assigned to endpoint " + itoa(ep.ID)
	e.SIM, e.IMSI, _ = refs(s, nil)
	e.Detail = assignDetail(ep.IMEI)
	p.link(ep, s)
	for i := range ae.events {
		ae.events[i].FiledUnder = ep.ID
	}
	return ep, ae.events, nil
}

// ProvisionEndpoint places an endpoint, with the spec's SIM as it is, in
// the workspace as if it had got there before the stream began: no event.
func (p *Platform) ProvisionEndpoint(w *Workspace, spec EndpointSpec) (*Endpoint, error) {
	ep, err := p.newEndpoint(w, spec)
	if err == nil && spec.SIM != nil {
		p.link(ep, spec.SIM)
	}
	return ep, err
}

func (p *Platform) newEndpoint(w *Workspace, spec EndpointSpec) (*Endpoint, error) {
	if s := spec.SIM; s != nil {
		switch {
		case s.Status == SIMDeleted || p.sims[s.ID] != s:
			return nil, refuse(NotFound, simSubject(s), "be assigned")
		case s.Workspace != w:
			return nil, refuse(Invalid, fmt.Sprintf("SIM %s belongs to workspace %d", s.ICCID, s.Workspace.ID), "be assigned in workspace "+itoa(w.ID))
		case s.Endpoint != nil:
			return nil, refuse(Conflict, fmt.Sprintf("SIM %s is assigned to endpoint %d", s.ICCID, s.Endpoint.ID), "assign it again")
		}
	}
	if spec.Status != EndpointEnabled && spec.Status != EndpointDisabled {
		return nil, refuse(Invalid, "a new endpoint", "be created "+spec.Status.String())
	}
	ip := spec.IP
	if ip.IsValid() {
		if !p.takeIP(w, ip) {
			return nil, refuse(Conflict, fmt.Sprintf("IP address %s is in use or outside %s", ip, w.IPSpace.Prefix), "create endpoint")
		}
	} else {
		var err error
		if ip, err = p.allocateIP(w); err != nil {
			return nil, refuse(NotFound, fmt.Sprintf("workspace %d has no free IP address", w.ID), "create endpoint")
		}
	}
	now := p.Now().Truncate(time.Second)
	ep := &Endpoint{
		ID: p.IDs.EndpointID(), Name: spec.Name, Tags: spec.Tags, IMEI: spec.IMEI, IMEILock: spec.IMEILock, IP: ip,
		Status: spec.Status, Workspace: w, Created: now, LastUpdated: now,
		ServiceProfile: spec.ServiceProfile, TariffProfile: spec.TariffProfile,
	}
	if ep.ServiceProfile.ID == 0 {
		ep.ServiceProfile = w.ServiceProfiles[0]
	}
	if ep.TariffProfile.ID == 0 {
		ep.TariffProfile = w.TariffProfiles[0]
	}
	if ep.Name == "" {
		ep.Name = fmt.Sprintf("%s %d", p.IDs.DeviceKind(), len(w.endpoints)+1)
	}
	insertJournaled(p, &w.endpoints, ep)
	SetKey(p, p.endpoints, ep.ID, ep)
	return ep, nil
}

func (p *Platform) link(ep *Endpoint, s *SIM) {
	Save(p, ep)
	Save(p, s)
	ep.SIM, s.Endpoint = s, ep
}

// EnableEndpoint enables a Disabled endpoint that holds a SIM: event 42.
func (p *Platform) EnableEndpoint(a Actor, ep *Endpoint) ([]Event, error) {
	switch {
	case ep.Status != EndpointDisabled:
		return nil, refuse(Conflict, endpointSubject(ep), "enable")
	case ep.SIM == nil:
		// emnify's own example of a conflict: enabling an endpoint without
		// SIM (emnify-api.md §8.3).
		return nil, refuse(Conflict, fmt.Sprintf("endpoint %d has no SIM", ep.ID), "enable")
	}
	return p.setEndpointStatus(a, ep, EndpointEnabled, TypeEndpointEnabled), nil
}

// DisableEndpoint disables an Enabled endpoint: event 43.
func (p *Platform) DisableEndpoint(a Actor, ep *Endpoint) ([]Event, error) {
	if ep.Status != EndpointEnabled {
		return nil, refuse(Conflict, endpointSubject(ep), "disable")
	}
	return p.setEndpointStatus(a, ep, EndpointDisabled, TypeEndpointDisabled), nil
}

func (p *Platform) setEndpointStatus(a Actor, ep *Endpoint, to EndpointStatus, t EventType) []Event {
	ae := p.begin()
	e := ae.add(t, a, ep.Workspace)
	e.Description = "Status of Endpoint " + itoa(ep.ID) + " changed to " + to.String()
	p.aboutEndpoint(e, ep)
	Save(p, ep)
	ep.Status = to
	ep.LastUpdated = e.Timestamp.Truncate(time.Second)
	if ep.SIM != nil && ep.SIM.Status == SIMFactoryTest {
		p.endFactoryTest(ae, ep.SIM, endpointMoved)
	}
	return ae.events
}

// aboutEndpoint fills the endpoint, SIM and IMSI parts of an endpoint event.
func (p *Platform) aboutEndpoint(e *Event, ep *Endpoint) {
	if ep.SIM != nil {
		e.SIM, e.IMSI, e.Endpoint = refs(ep.SIM, ep)
	} else {
		e.Endpoint = endpointRef(ep)
	}
}

// AssignSIM gives a free SIM of the same workspace to an endpoint without
// SIM: event 51, whose detail names the endpoint's IMEI when it has one.
func (p *Platform) AssignSIM(a Actor, ep *Endpoint, s *SIM) ([]Event, error) {
	switch {
	case ep.Status == EndpointDeleted:
		return nil, refuse(Conflict, endpointSubject(ep), "assign a SIM")
	case ep.SIM != nil:
		return nil, refuse(Conflict, fmt.Sprintf("endpoint %d holds SIM %s", ep.ID, ep.SIM.ICCID), "assign another SIM")
	case s.Status == SIMDeleted:
		return nil, refuse(Conflict, simSubject(s), "be assigned")
	case s.Endpoint != nil:
		return nil, refuse(Conflict, fmt.Sprintf("SIM %s is assigned to endpoint %d", s.ICCID, s.Endpoint.ID), "assign it to endpoint "+itoa(ep.ID))
	case s.Workspace != ep.Workspace:
		return nil, refuse(Invalid, fmt.Sprintf("SIM %s belongs to workspace %d", s.ICCID, s.Workspace.ID), "assign it to endpoint "+itoa(ep.ID))
	}
	p.link(ep, s)
	ae := p.begin()
	e := ae.add(TypeSIMAssigned, a, ep.Workspace)
	e.Description = "SIM " + itoa(s.ID) + " assigned to endpoint " + itoa(ep.ID)
	p.aboutEndpoint(e, ep)
	e.Detail = assignDetail(ep.IMEI)
	return ae.events, nil
}

// ReleaseSIM takes the SIM away from an endpoint: event 50.
func (p *Platform) ReleaseSIM(a Actor, ep *Endpoint) ([]Event, error) {
	if ep.SIM == nil {
		return nil, refuse(Conflict, fmt.Sprintf("endpoint %d has no SIM", ep.ID), "release its SIM")
	}
	ae := p.begin()
	p.release(ae, a, ep)
	return ae.events, nil
}

func (p *Platform) release(ae *actionEvents, a Actor, ep *Endpoint) {
	s := ep.SIM
	e := ae.add(TypeSIMReleased, a, ep.Workspace)
	e.Description = "SIM " + itoa(s.ID) + " released from endpoint " + itoa(ep.ID)
	p.aboutEndpoint(e, ep)
	Save(p, ep)
	Save(p, s)
	ep.SIM, s.Endpoint = nil, nil
}

// DeleteEndpoint deletes an endpoint that holds no SIM and frees its IP
// address. The platform has no event for it.
func (p *Platform) DeleteEndpoint(ep *Endpoint) error {
	switch {
	case ep.Status == EndpointDeleted:
		return refuse(Conflict, endpointSubject(ep), "delete")
	case ep.SIM != nil:
		return refuse(Conflict, fmt.Sprintf("endpoint %d holds SIM %s", ep.ID, ep.SIM.ICCID), "delete")
	}
	w := ep.Workspace
	p.releaseIP(w, ep.IP)
	removeJournaled(p, &w.endpoints, ep)
	deleteKey(p, p.endpoints, ep.ID)
	Save(p, ep)
	ep.Status = EndpointDeleted
	return nil
}

// ResetConnectivity resets an endpoint's network connectivity: event 68,
// with the SIM but no IMSI, as in the docs' example.
func (p *Platform) ResetConnectivity(a Actor, ep *Endpoint) ([]Event, error) {
	if ep.Status == EndpointDeleted {
		return nil, refuse(Conflict, endpointSubject(ep), "reset connectivity")
	}
	ae := p.begin()
	e := ae.add(TypeResetConnectivity, a, ep.Workspace)
	e.Description = "Endpoint connectivity reset triggered"
	e.Endpoint = endpointRef(ep)
	if ep.SIM != nil {
		e.SIM = simRef(ep.SIM)
	}
	e.Detail = resetDetail
	if ep.SIM != nil && ep.SIM.Status == SIMFactoryTest {
		p.endFactoryTest(ae, ep.SIM, connReset)
	}
	return ae.events, nil
}

// EndpointUpdate changes an endpoint's attributes; nil fields stay.
type EndpointUpdate struct {
	Name                          *string
	Tags                          **string
	IMEI                          *string
	IMEILock                      *bool
	ServiceProfile, TariffProfile *Profile
}

// UpdateEndpoint changes attributes that have no event on the platform
// (name, tags, IMEI, profiles).
func (p *Platform) UpdateEndpoint(ep *Endpoint, u EndpointUpdate) error {
	if ep.Status == EndpointDeleted {
		return refuse(NotFound, endpointSubject(ep), "update")
	}
	Save(p, ep)
	if u.Name != nil {
		ep.Name = *u.Name
	}
	if u.Tags != nil {
		ep.Tags = *u.Tags
	}
	if u.IMEI != nil {
		ep.IMEI = *u.IMEI
	}
	if u.IMEILock != nil {
		ep.IMEILock = *u.IMEILock
	}
	if u.ServiceProfile != nil {
		ep.ServiceProfile = *u.ServiceProfile
	}
	if u.TariffProfile != nil {
		ep.TariffProfile = *u.TariffProfile
	}
	ep.LastUpdated = p.Now().Truncate(time.Second)
	return nil
}

// EndpointPatch changes several parts of an endpoint at once, as one PATCH
// of the REST API does; nil parts stay as they are.
type EndpointPatch struct {
	// SIM: nil leaves it; a nil *SIM releases the endpoint's SIM; a SIM
	// is assigned (the endpoint must hold none, or that one already).
	SIM    **SIM
	Status *EndpointStatus
	EndpointUpdate
}

// PatchEndpoint applies a patch as one change: the SIM first (so a patch
// that assigns a SIM and enables works), then the status, then the
// attributes. Parts that ask for what the endpoint is already do nothing;
// any refused part leaves the endpoint as it was.
func (p *Platform) PatchEndpoint(a Actor, ep *Endpoint, patch EndpointPatch) ([]Event, error) {
	return p.Do(func() ([]Event, error) {
		var events []Event
		step := func(ev []Event, err error) error {
			events = append(events, ev...)
			return err
		}
		if patch.SIM != nil {
			switch to := *patch.SIM; {
			case to == nil && ep.SIM != nil:
				if err := step(p.ReleaseSIM(a, ep)); err != nil {
					return nil, err
				}
			case to != nil && to != ep.SIM:
				if err := step(p.AssignSIM(a, ep, to)); err != nil {
					return nil, err
				}
			}
		}
		if st := patch.Status; st != nil && *st != ep.Status {
			var err error
			switch *st {
			case EndpointEnabled:
				err = step(p.EnableEndpoint(a, ep))
			case EndpointDisabled:
				err = step(p.DisableEndpoint(a, ep))
			default:
				err = refuse(Invalid, "endpoint status "+st.String(), "be set; expected 0 (Enabled) or 1 (Disabled)")
			}
			if err != nil {
				return nil, err
			}
		}
		return events, p.UpdateEndpoint(ep, patch.EndpointUpdate)
	})
}
