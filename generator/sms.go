package generator

import (
	"fmt"
	"slices"
	"time"
)

// SMS is a message sent to an endpoint's device through the API (mobile
// terminated). It keeps the SIM as it was when the message was sent.
type SMS struct {
	ID        int64
	Submitted time.Time
	Payload   string
	// As the client gave them, shown as given: the sender ("" for the
	// platform's), its type, the data coding scheme, the user data header
	// and the expiry ("" for a day after submission).
	Source     string
	SourceType *Lookup
	DCS        int
	UDH        string
	Expiry     string
	SIMID      int64
	ICCID      string
	MSISDN     string
	Org        int64
}

// Limits of what the API takes: emnify documents none (inferred); these
// keep memory in proportion to what is useful.
const (
	MaxSMSPayload     = 1600 // bytes: ten concatenated parts
	MaxSMSPerEndpoint = 1000 // the newest are kept
)

// SendSMS sends an SMS to the endpoint's device. The mock delivers
// nothing; what it changes on the platform is the factory test: an SMS
// to a SIM in Factory Test counts towards its test volume (MO and MT
// together, emnify-api.md §8.2), and the workspace's threshold-th SMS
// (10 by default) makes Policy Control activate the SIM, event 8 with the
// transition detail, as the data threshold does.
func (p *Platform) SendSMS(ep *Endpoint, payload string) (*SMS, []Event, error) {
	switch {
	case ep.Status == EndpointDeleted:
		return nil, nil, refuse(NotFound, endpointSubject(ep), "receive an SMS")
	case ep.SIM == nil:
		return nil, nil, refuse(Conflict, fmt.Sprintf("endpoint %d has no SIM", ep.ID), "receive an SMS")
	case payload == "" || len(payload) > MaxSMSPayload:
		return nil, nil, refuse(Invalid, fmt.Sprintf("a payload of %d bytes", len(payload)), fmt.Sprintf("be sent (1 to %d bytes)", MaxSMSPayload))
	}
	s := ep.SIM
	m := &SMS{ID: p.IDs.SMSID(), Submitted: p.Now().Truncate(time.Second), Payload: payload,
		SIMID: s.ID, ICCID: s.ICCID, MSISDN: s.MSISDN, Org: ep.Workspace.ID}
	Save(p, ep)
	kept := ep.SMS[max(0, len(ep.SMS)-MaxSMSPerEndpoint+1):]
	ep.SMS = append(slices.Clip(kept), m)
	if s.Status != SIMFactoryTest {
		return m, nil, nil
	}
	events, err := p.ReportTestUsage(s, 0, 1)
	return m, events, err
}
