package generator

import (
	"fmt"
	"net/netip"
	"time"
)

// eventEpoch anchors event ids: an id is the milliseconds since this instant
// shifted left by 10 bits, so ids have 15 digits from 2019 to 2046 and grow
// with time, as in recorded traffic.
var eventEpoch = time.Date(2015, 1, 1, 0, 0, 0, 0, time.UTC)

// Gaps between the events of one action: recorded traffic shows events of
// one API call a few milliseconds apart, and the docs show the target half
// of a migration a second after the source half.
const (
	actionEventGap   = 3 * time.Millisecond
	migrationPairGap = time.Second
)

// Platform is the emnify platform's state: workspaces with their SIMs and
// endpoints, and the state machines that change them. Every action either
// returns exactly the events the platform emits, in order, or an *Error and
// changes nothing. Changes happen inside Do (tx.go), on one clock given
// at construction. A Platform is not safe for concurrent use.
type Platform struct {
	IDs *Identities

	clock   Clock
	tx      *tx // the change in progress, nil between changes
	spareTx *tx // the last change's, for the next

	workspaces []*Workspace
	sims       map[int64]*SIM
	endpoints  map[int64]*Endpoint
	batches    map[string]*Batch

	lastStamp   time.Time
	lastID      int64
	spareEvents []Event // see Recycle
}

// NewPlatform returns an empty platform on the clock, with identities from
// the seed.
func NewPlatform(clock Clock, seed uint64) *Platform {
	return &Platform{
		clock:     clock,
		IDs:       NewIdentities(seed),
		sims:      make(map[int64]*SIM),
		endpoints: make(map[int64]*Endpoint),
		batches:   make(map[string]*Batch),
	}
}

// Workspaces returns the workspaces in creation order.
func (p *Platform) Workspaces() []*Workspace { return p.workspaces }

// SIM returns a live SIM by id, or nil.
func (p *Platform) SIM(id int64) *SIM { return p.sims[id] }

// Endpoint returns a live endpoint by id, or nil.
func (p *Platform) Endpoint(id int64) *Endpoint { return p.endpoints[id] }

// Batch returns a SIM batch by its BIC, or nil.
func (p *Platform) Batch(bic string) *Batch { return p.batches[bic] }

// WorkspaceSpec describes a new workspace; zero fields get realistic
// defaults.
type WorkspaceSpec struct {
	Name    string
	Users   []string     // first names ("" for a random one); default one user
	Tokens  []string     // descriptions; default one token
	IPSpace netip.Prefix // default a random /20 in 10.128.0.0/9
}

// NewWorkspace creates a workspace. Creating one emits no event.
func (p *Platform) NewWorkspace(spec WorkspaceSpec) (*Workspace, error) {
	ids := p.IDs
	w := &Workspace{ID: ids.OrgID(), Name: spec.Name, FactoryTestBytes: DefaultFactoryTestBytes, FactoryTestSMS: DefaultFactoryTestSMS}
	if w.Name == "" {
		w.Name = ids.OrganisationName()
	}
	prefix := spec.IPSpace
	if !prefix.IsValid() {
		n := uint32(10)<<24 | uint32(128+ids.fake.IntN(128))<<16 | uint32(ids.fake.IntN(16))<<12
		prefix = netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), 0}), 20)
	}
	space, err := NewIPSpace(ids.SpaceID(), prefix)
	if err != nil {
		return nil, fmt.Errorf("workspace %q: %w", w.Name, err)
	}
	w.IPSpace = space
	for _, name := range []string{"Default Policy", "Data only", "Data and SMS"} {
		w.ServiceProfiles = append(w.ServiceProfiles, Profile{ID: ids.ProfileID(), Name: name})
	}
	for _, name := range []string{"Global Coverage", "EU Roaming"} {
		w.TariffProfiles = append(w.TariffProfiles, Profile{ID: ids.ProfileID(), Name: name})
	}
	users, tokens := spec.Users, spec.Tokens
	if len(users) == 0 {
		users = []string{""}
	}
	if len(tokens) == 0 {
		tokens = []string{"integration"}
	}
	for _, first := range users {
		p.AddUser(w, first)
	}
	for _, desc := range tokens {
		p.AddToken(w, desc)
	}
	p.workspaces = append(p.workspaces, w) // journalStart undoes it
	return w, nil
}

// AddUser gives the workspace a user with this first name ("" for a
// random one).
func (p *Platform) AddUser(w *Workspace, first string) *User {
	name, username := p.IDs.Person(first, w.Name)
	u := &User{ID: p.IDs.UserID(), Name: name, Username: username}
	u.Person = u.ID
	u.ref = &UserRef{ID: u.ID, Name: name, Username: username}
	appendTo(p, &w.Users, u)
	return u
}

// SamePerson makes a workspace's user the person of a user of another
// workspace: the same name and login, a user id of its own. The person
// may then act in both (a migration between them); logging in puts them
// in the workspace they were first a user of, as on the platform, where
// switching takes a call of its own.
func (p *Platform) SamePerson(u, of *User) {
	Save(p, u)
	u.Name, u.Username, u.Person = of.Name, of.Username, of.Person
	u.ref = &UserRef{ID: u.ID, Name: u.Name, Username: u.Username} // a new one: events made so far keep theirs
}

// AddToken gives the workspace an application token with this description.
func (p *Platform) AddToken(w *Workspace, desc string) *AppToken {
	t := &AppToken{ID: p.IDs.TokenID(), Description: desc}
	appendTo(p, &w.Tokens, t)
	return t
}

// newSIM makes a SIM that belongs to no workspace yet.
func (p *Platform) newSIM(model int) *SIM {
	ids := p.IDs
	prod := ids.ProductionDate(p.Now())
	return &SIM{
		ID: ids.SIMID(), ICCID: ids.ICCID(), MSISDN: ids.MSISDN(),
		IMSI:           IMSI{ID: ids.IMSIID(), IMSI: ids.IMSI(), ImportDate: ids.ImportDate(prod)},
		ProductionDate: prod, Model: model, Status: SIMIssued,
	}
}

// ProvisionSIM places a SIM in the workspace in the given status, as if it
// had got there before the stream began: no event. Use it to set up a
// fleet; use the actions to change one.
func (p *Platform) ProvisionSIM(w *Workspace, status SIMStatus) (*SIM, error) {
	if status == SIMDeleted {
		return nil, refuse(Invalid, "a deleted SIM", "be provisioned")
	}
	s := p.newSIM(defaultSIMModel)
	s.Status = status
	if status == SIMActivated || status == SIMSuspended {
		s.ActivationDate = p.Now().Truncate(time.Second)
	}
	p.adoptSIM(w, s)
	return s, nil
}

// defaultSIMModel is the SIM model of recorded SIM resources ("Classic").
const defaultSIMModel = 4

// NewBatch makes a batch of n consecutive SIMs that the workspace can
// register with the batch's BIC.
func (p *Platform) NewBatch(w *Workspace, n int) (*Batch, error) {
	if n < 1 {
		return nil, refuse(Invalid, fmt.Sprintf("a batch of %d SIMs", n), "be made")
	}
	b := &Batch{ID: p.IDs.BatchID(), BIC: p.IDs.BIC(), Model: defaultSIMModel}
	for range n {
		b.SIMs = append(b.SIMs, p.newSIM(b.Model))
	}
	appendTo(p, &w.batches, b)
	SetKey(p, p.batches, b.BIC, b)
	return b, nil
}

// EndpointSpec describes a new endpoint.
type EndpointSpec struct {
	Name   string  // default "<kind> <n>"
	Tags   *string // nil: null
	IMEI   string  // "" : null
	Status EndpointStatus
	// Profiles; zero takes the workspace's first.
	ServiceProfile, TariffProfile Profile
	IMEILock                      bool
	IP                            netip.Addr // default: next free address of the workspace
	SIM                           *SIM       // optional; must be free and in the same workspace
	// What happens to an Issued SIM: ActivateSIM activates it (event 8),
	// FactoryTest puts it in Factory Test (event 45). Neither leaves it.
	ActivateSIM bool
	FactoryTest bool
}

func (p *Platform) adoptSIM(w *Workspace, s *SIM) {
	Save(p, s)
	s.Workspace = w
	insertJournaled(p, &w.sims, s)
	SetKey(p, p.sims, s.ID, s)
}

func (p *Platform) forgetSIM(s *SIM) {
	removeJournaled(p, &s.Workspace.sims, s)
	deleteKey(p, p.sims, s.ID)
}

// event starts an event of the type, by the actor, in the workspace. gap
// is the least distance from the previous event.
func (p *Platform) event(t EventType, a Actor, w *Workspace, gap time.Duration) Event {
	ts := p.Now().Truncate(time.Millisecond)
	if min := p.lastStamp.Add(gap); ts.Before(min) {
		ts = min
	}
	p.lastStamp = ts
	id := ts.Sub(eventEpoch).Milliseconds() << 10
	if id <= p.lastID {
		id = p.lastID + 1
	}
	p.lastID = id
	lt, _ := t.Lookup()
	e := Event{
		Timestamp: ts, ID: id, Type: lt,
		Source: a.source().Lookup(), Severity: SeverityInfo.Lookup(),
		Organisation: w.Ref(),
	}
	if a.User != nil {
		e.User = a.User.Ref()
	}
	return e
}

// actionEvents collects the events of one action, spaced as the platform
// spaces them.
type actionEvents struct {
	p      *Platform
	events []Event
}

func (p *Platform) begin() *actionEvents {
	events := p.spareEvents
	p.spareEvents = nil
	if events == nil {
		events = make([]Event, 0, 2) // most actions make one or two
	}
	return &actionEvents{p: p, events: events}
}

// Recycle hands back the events an action returned, once the caller has
// copied what it keeps: the next action may write its own there. Churn
// queues events by value, and a new slice per action was a third of what
// generating an event cost.
func (p *Platform) Recycle(events []Event) {
	if cap(events) <= 8 {
		p.spareEvents = events[:0]
	}
}

func (ae *actionEvents) add(t EventType, a Actor, w *Workspace) *Event {
	gap := time.Millisecond
	if len(ae.events) > 0 {
		gap = actionEventGap
	}
	ae.events = append(ae.events, ae.p.event(t, a, w, gap))
	return &ae.events[len(ae.events)-1]
}

func simRef(s *SIM) *SIMRef {
	return &SIMRef{ICCID: s.ICCID, ID: s.ID, ProductionDate: s.ProductionDate}
}

func endpointRef(e *Endpoint) *EndpointRef {
	r := new(EndpointRef)
	e.ref(r)
	return r
}

func (e *Endpoint) ref(r *EndpointRef) {
	*r = EndpointRef{ID: e.ID, IMEI: e.IMEI, IPAddress: e.IP.String(), Name: e.Name, Tags: e.Tags}
}

// refs returns the SIM, IMSI and (with ep) endpoint parts of an event in
// one allocation: most events carry them.
func refs(s *SIM, ep *Endpoint) (*SIMRef, *IMSIRef, *EndpointRef) {
	r := &struct {
		sim  SIMRef
		imsi IMSIRef
		ep   EndpointRef
	}{sim: SIMRef{ICCID: s.ICCID, ID: s.ID, ProductionDate: s.ProductionDate},
		imsi: IMSIRef{ID: s.IMSI.ID, ImportDate: s.IMSI.ImportDate, IMSI: s.IMSI.IMSI}}
	if ep == nil {
		return &r.sim, &r.imsi, nil
	}
	ep.ref(&r.ep)
	return &r.sim, &r.imsi, &r.ep
}

// about fills the endpoint, SIM and IMSI parts that SIM-status events carry:
// the endpoint only while one holds the SIM.
func (e *Event) about(s *SIM) {
	e.SIM, e.IMSI, e.Endpoint = refs(s, s.Endpoint)
}

// forgetBatch drops a registered batch, so that long runs stay flat in
// memory; its BIC becomes unknown.
func (p *Platform) forgetBatch(b *Batch) {
	p.removeBatchFrom(b.SIMs[0].Workspace, b)
	deleteKey(p, p.batches, b.BIC)
}

// ContinueAfter makes p go on where prev stands: on prev's clock, and
// with events that come after every event prev made, so that a restored
// state goes on with ids that never repeat one a client may have read, as
// pollers read by id.
func (p *Platform) ContinueAfter(prev *Platform) {
	p.clock = prev.clock
	if prev.lastStamp.After(p.lastStamp) {
		p.lastStamp = prev.lastStamp
	}
	p.lastID = max(p.lastID, prev.lastID)
}
