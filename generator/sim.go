package generator

import (
	"fmt"
	"time"
)

func simSubject(s *SIM) string { return "SIM " + s.ICCID + " is " + s.Status.String() }

// statusChange is the description of a SIM status change: one of a few,
// made once.
func statusChange(from, to SIMStatus) string {
	if from.Valid() && to.Valid() {
		return statusChanges[from][to]
	}
	return fmt.Sprintf("Status of SIM changed from '%s' to '%s'", from, to)
}

var statusChanges = func() [][]string {
	t := make([][]string, len(SIMStatuses))
	for from := range t {
		for to := range SIMStatuses {
			t[from] = append(t[from], fmt.Sprintf("Status of SIM changed from '%s' to '%s'", SIMStatus(from), SIMStatus(to)))
		}
	}
	return t
}()

// ActivateSIM activates an Issued, Suspended or Factory Test SIM: event 8.
func (p *Platform) ActivateSIM(a Actor, s *SIM) ([]Event, error) {
	switch s.Status {
	case SIMIssued, SIMSuspended, SIMFactoryTest:
	default:
		return nil, refuse(Conflict, simSubject(s), "activate")
	}
	ae := p.begin()
	p.setStatus(ae, a, s, SIMActivated)
	return ae.events, nil
}

// SuspendSIM suspends an Activated SIM: event 9.
func (p *Platform) SuspendSIM(a Actor, s *SIM) ([]Event, error) {
	if s.Status != SIMActivated {
		return nil, refuse(Conflict, simSubject(s), "suspend")
	}
	ae := p.begin()
	p.setStatus(ae, a, s, SIMSuspended)
	return ae.events, nil
}

// StartFactoryTest puts an Issued SIM in Factory Test: event 45.
func (p *Platform) StartFactoryTest(a Actor, s *SIM) ([]Event, error) {
	if s.Status != SIMIssued {
		return nil, refuse(Conflict, simSubject(s), "start factory test")
	}
	ae := p.begin()
	p.setStatus(ae, a, s, SIMFactoryTest)
	return ae.events, nil
}

// setStatus moves the SIM to an API-requested status and adds its event.
func (p *Platform) setStatus(ae *actionEvents, a Actor, s *SIM, to SIMStatus) {
	t := TypeSIMActivation
	switch to {
	case SIMSuspended:
		t = TypeSIMSuspension
	case SIMFactoryTest:
		t = TypeSIMFactoryTest
	}
	e := ae.add(t, a, s.Workspace)
	e.Description = statusChange(s.Status, to)
	e.about(s)
	Save(p, s)
	s.Status = to
	if to == SIMActivated && s.ActivationDate.IsZero() {
		s.ActivationDate = e.Timestamp.Truncate(time.Second)
	}
}

// ReportTestUsage records data (bytes) and SMS used by a SIM in Factory
// Test. When the total reaches the workspace's threshold, Policy Control
// activates the SIM: event 8 with the transition detail. Below it, nothing
// is emitted.
func (p *Platform) ReportTestUsage(s *SIM, bytes int64, sms int) ([]Event, error) {
	if s.Status != SIMFactoryTest {
		return nil, refuse(Conflict, simSubject(s), "report factory-test usage")
	}
	if bytes < 0 || sms < 0 {
		return nil, refuse(Invalid, fmt.Sprintf("usage of %d bytes and %d SMS", bytes, sms), "be reported")
	}
	Save(p, s)
	s.TestBytes += bytes
	s.TestSMS += sms
	if w := s.Workspace; s.TestBytes < w.FactoryTestBytes && s.TestSMS < w.FactoryTestSMS {
		return nil, nil
	}
	ae := p.begin()
	p.endFactoryTest(ae, s, volumeReached)
	return ae.events, nil
}

// Why Policy Control ends a factory test: the description and the reason
// in the transition detail. Only the volume's texts are documented (docs
// example 02); emnify documents that an endpoint status change and a
// connectivity reset end the test too (emnify-api.md §8.2), not with what
// words: those texts are ours.
type ftEnd struct{ description, reason string }

var (
	volumeReached = ftEnd{"SIM activated after factory test volume reached.", "SIM reached factory test volume."}
	endpointMoved = ftEnd{"SIM activated after endpoint status change during factory test.", "Endpoint status changed during factory test."}
	connReset     = ftEnd{"SIM activated after connectivity reset during factory test.", "Connectivity reset during factory test."}
)

// endFactoryTest activates a SIM in Factory Test on behalf of Policy
// Control: event 8 with the transition detail.
func (p *Platform) endFactoryTest(ae *actionEvents, s *SIM, why ftEnd) {
	e := ae.add(TypeSIMActivation, PolicyControl, s.Workspace)
	e.Description = why.description
	e.about(s)
	e.Detail = transitionDetail(why.reason)
	Save(p, s)
	s.Status = SIMActivated
	if s.ActivationDate.IsZero() {
		s.ActivationDate = e.Timestamp.Truncate(time.Second)
	}
}

// DeleteSIM deletes a SIM that no endpoint holds: event 10. The platform
// forgets a deleted SIM.
func (p *Platform) DeleteSIM(a Actor, s *SIM) ([]Event, error) {
	switch {
	case s.Status == SIMDeleted:
		return nil, refuse(Conflict, simSubject(s), "delete")
	case s.Endpoint != nil:
		return nil, refuse(Conflict, fmt.Sprintf("SIM %s is assigned to endpoint %d", s.ICCID, s.Endpoint.ID), "delete")
	}
	ae := p.begin()
	e := ae.add(TypeSIMDeletion, a, s.Workspace)
	e.Description = "SIM " + itoa(s.ID) + " (" + s.ICCIDWithLuhn() + ") has been deleted by " + a.name()
	e.SIM = simRef(s)
	p.forgetSIM(s)
	Save(p, s)
	s.Status = SIMDeleted
	return ae.events, nil
}

// RegisterBatch registers a batch of SIMs into the workspace that owns it:
// one event 48 for the batch. The SIMs then take the status asked for:
// Issued emits nothing more, Activated an event 8 per SIM, Factory Test an
// event 45 per SIM. That registration is followed by per-SIM status events
// is inferred, not recorded (emnify-api.md §3.3).
func (p *Platform) RegisterBatch(a Actor, w *Workspace, b *Batch, status SIMStatus) ([]Event, error) {
	subject := fmt.Sprintf("SIM batch %s", b.BIC)
	switch {
	case b.Registered:
		return nil, refuse(Conflict, subject+" is already registered", "register")
	case p.batches[b.BIC] != b || !ownsBatch(w, b):
		return nil, refuse(NotFound, subject+" is unknown to workspace "+itoa(w.ID), "register")
	case status != SIMIssued && status != SIMActivated && status != SIMFactoryTest:
		return nil, refuse(Invalid, subject, "register with status "+status.String())
	}
	ae := p.begin()
	e := ae.add(TypeSIMRegistration, a, w)
	e.Description = fmt.Sprintf("Batch of %d SIM(s) registered.", len(b.SIMs))
	e.SIM = simRef(b.SIMs[0])
	e.Detail = batchDetail(b)
	Save(p, b)
	b.Registered = true
	for _, s := range b.SIMs {
		p.adoptSIM(w, s)
		if status != SIMIssued {
			p.setStatus(ae, a, s, status)
		}
	}
	return ae.events, nil
}

func ownsBatch(w *Workspace, b *Batch) bool {
	for _, x := range w.batches {
		if x == b {
			return true
		}
	}
	return false
}
