package generator

import (
	"fmt"
	"slices"
)

// MigrateSIMs moves SIMs of one workspace to another. Only a user may
// migrate (the platform asks for user credentials). Per SIM, an Activated
// SIM is suspended first (event 9) and an attached SIM is released from its
// endpoint (event 50) when autoDetach is set; without it an attached SIM
// refuses the whole migration. Then comes the pair of events 69 with one
// id: "source" in the source workspace, "target" a second later in the
// target workspace, as in the docs.
func (p *Platform) MigrateSIMs(a Actor, sims []*SIM, target *Workspace, autoDetach bool) ([]Event, error) {
	return p.Migrate(a, Migration{SIMs: sims, Target: target, AutoDetach: autoDetach})
}

// Migration is a request to move SIMs to another workspace.
type Migration struct {
	SIMs       []*SIM
	Target     *Workspace
	AutoDetach bool        // release attached SIMs first; otherwise they refuse the migration
	Allowed    []SIMStatus // nil: any status
}

// MigrationRefused is a migration refused because of some of its SIMs,
// all of them named: those attached to endpoints without auto-detach and
// those in a status the migration does not allow.
type MigrationRefused struct {
	Attached, Disallowed []*SIM
}

func (e *MigrationRefused) Error() string {
	var subject, action string
	if len(e.Attached) > 0 {
		s := e.Attached[0]
		subject, action = fmt.Sprintf("SIM %s is assigned to endpoint %d", s.ICCID, s.Endpoint.ID), "migrate without auto-detach"
	} else {
		s := e.Disallowed[0]
		subject, action = simSubject(s), "migrate it with the statuses allowed"
	}
	if more := len(e.Attached) + len(e.Disallowed) - 1; more > 0 {
		subject += fmt.Sprintf(" (and %d SIMs more)", more)
	}
	return subject + ": cannot " + action
}

// Migrate moves SIMs as MigrateSIMs says, refusing with a
// *MigrationRefused when SIMs are attached (without AutoDetach) or in a
// status that Allowed leaves out.
func (p *Platform) Migrate(a Actor, m Migration) ([]Event, error) {
	sims, target := m.SIMs, m.Target
	if a.User == nil {
		return nil, refuse(Invalid, "SIM migration without user credentials", "start")
	}
	if len(sims) == 0 {
		return nil, refuse(Invalid, "a migration of no SIMs", "start")
	}
	source := sims[0].Workspace
	// The platform needs an admin of both workspaces (emnify-api.md §3.1);
	// the mock's users have no roles, so being a member is enough.
	for _, w := range []*Workspace{source, target} {
		if w != nil && !a.User.MemberOf(w) {
			return nil, refuse(Forbidden, fmt.Sprintf("user %s has no role in workspace %d", a.User.Username, w.ID), "migrate SIMs between it and another")
		}
	}
	var refused MigrationRefused
	for i, s := range sims {
		switch {
		case s.Status == SIMDeleted || p.sims[s.ID] != s:
			return nil, refuse(NotFound, simSubject(s), "migrate")
		case s.Workspace != source:
			return nil, refuse(Invalid, fmt.Sprintf("SIM %s is in workspace %d, not %d", s.ICCID, s.Workspace.ID, source.ID), "migrate SIMs of two workspaces at once")
		case s.Workspace == target:
			return nil, refuse(Invalid, fmt.Sprintf("SIM %s is in workspace %d already", s.ICCID, target.ID), "migrate")
		case slices.Index(sims, s) != i:
			return nil, refuse(Invalid, fmt.Sprintf("SIM %s is listed twice", s.ICCID), "migrate")
		}
		if s.Endpoint != nil && !m.AutoDetach {
			refused.Attached = append(refused.Attached, s)
		}
		if m.Allowed != nil && !slices.Contains(m.Allowed, s.Status) {
			refused.Disallowed = append(refused.Disallowed, s)
		}
	}
	if len(refused.Attached)+len(refused.Disallowed) > 0 {
		return nil, &refused
	}

	ae := p.begin()
	var d MigrationDetail
	d.TargetWorkspace.ID = target.ID
	for _, s := range sims {
		if s.Status == SIMActivated {
			p.setStatus(ae, a, s, SIMSuspended)
		}
		if s.Endpoint != nil {
			p.release(ae, a, s.Endpoint)
		}
		d.SIMs = append(d.SIMs, MigratedSIM{ID: s.ID, ICCID: s.ICCID, ICCIDWithLuhn: s.ICCIDWithLuhn(), SourceWorkspace: source.Ref()})
	}

	d.Type = "source"
	src := ae.add(TypeSIMMigration, a, source)
	src.Description = fmt.Sprintf("SIM(s) migrated from workspace %d to workspace %d by user %s", source.ID, target.ID, a.User.Username)
	src.Detail = d.encode()

	d.Type = "target"
	dst := *src
	dst.Timestamp = src.Timestamp.Add(migrationPairGap)
	dst.Organisation = target.Ref()
	dst.Description = fmt.Sprintf("SIM(s) migrated to workspace %d by user %s", target.ID, a.User.Username)
	dst.Detail = d.encode()
	ae.events = append(ae.events, dst)

	for _, s := range sims {
		p.forgetSIM(s)
		p.adoptSIM(target, s)
	}
	return ae.events, nil
}
