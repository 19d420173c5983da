package generator

import (
	"fmt"
	"math"
	"time"

	"github.com/brianvoe/gofakeit/v7"
)

// DefaultStart is where generated streams begin on the virtual clock when
// no start is given: a fixed instant, so the same seed gives the same bytes.
var DefaultStart = time.Date(2025, 1, 6, 8, 0, 0, 0, time.UTC)

// ChurnOptions configures a fleet churn. Zero fields take the defaults.
type ChurnOptions struct {
	Start      time.Time     // default DefaultStart
	Workspaces int           // default 2 (migration needs two)
	SIMs       int           // SIMs per workspace, kept near this; default 40
	MeanGap    time.Duration // mean virtual time between actions; default 20s
}

// Churn is a seeded random walk over the state machines of a fleet: the
// daily life of SIMs and devices in a few workspaces, exercising every
// device-status event type. It yields events in timestamp order; ids grow
// with time except for the target half of a migration, which repeats the
// source half's id a second later, as on the platform.
type Churn struct {
	p    *Platform
	clk  *Virtual
	f    *gofakeit.Faker
	opts ChurnOptions

	queue   sequencer
	refused int
}

// NewChurn sets up the fleet: workspaces whose SIMs and endpoints start in
// a realistic mix of states, without events.
func NewChurn(seed uint64, opts ChurnOptions) (*Churn, error) {
	if opts.Start.IsZero() {
		opts.Start = DefaultStart
	}
	if opts.Workspaces <= 0 {
		opts.Workspaces = 2
	}
	if opts.SIMs <= 0 {
		opts.SIMs = 40
	}
	if opts.MeanGap <= 0 {
		opts.MeanGap = 20 * time.Second
	}
	clk := NewVirtual(opts.Start.UTC())
	p := NewPlatform(clk, seed)
	c := &Churn{p: p, clk: clk, f: p.IDs.Faker(), opts: opts}
	for range opts.Workspaces {
		w, err := p.NewWorkspace(WorkspaceSpec{Users: []string{"", "", ""}})
		if err != nil {
			return nil, fmt.Errorf("set up churn: %w", err)
		}
		if err := c.populate(w); err != nil {
			return nil, fmt.Errorf("set up churn: %w", err)
		}
	}
	return c, nil
}

// Platform returns the platform the churn acts on.
func (c *Churn) Platform() *Platform { return c.p }

// Refused returns how many attempted actions the platform refused.
func (c *Churn) Refused() int { return c.refused }

// populate provisions a workspace's starting fleet.
func (c *Churn) populate(w *Workspace) error {
	for range c.opts.SIMs {
		var status SIMStatus
		var ep EndpointStatus
		attach := true
		switch r := c.f.IntN(10); {
		case r < 3:
			status, attach = SIMIssued, false
		case r < 4:
			status, ep = SIMFactoryTest, EndpointDisabled
		case r < 8:
			status, ep = SIMActivated, EndpointEnabled
		default:
			status, ep = SIMSuspended, EndpointDisabled
		}
		s, err := c.p.ProvisionSIM(w, status)
		if err != nil {
			return err
		}
		if attach {
			if _, err := c.p.ProvisionEndpoint(w, c.endpointSpec(s, ep)); err != nil {
				return err
			}
		}
	}
	_, err := c.p.NewBatch(w, 1+c.f.IntN(10))
	return err
}

var churnTags = [...]string{"cold-chain", "fleet-a", "fleet-b", "pilot", "warehouse", "berlin"}

func (c *Churn) endpointSpec(s *SIM, status EndpointStatus) EndpointSpec {
	spec := EndpointSpec{SIM: s, Status: status}
	if c.f.IntN(5) > 0 {
		spec.IMEI = c.p.IDs.IMEISV()
	}
	if c.f.IntN(3) == 0 {
		t := churnTags[c.f.IntN(len(churnTags))]
		spec.Tags = &t
	}
	return spec
}

// Next returns the next event of the stream.
func (c *Churn) Next() Event {
	// An event may leave the queue once the clock has passed it: every later
	// action stamps its events after the clock.
	for {
		if e, ok := c.queue.pop(c.clk.Now()); ok {
			return e
		}
		c.step()
	}
}

// step advances the clock and tries one random action.
func (c *Churn) step() {
	gap := time.Duration(-math.Log(1-c.f.Float64()) * float64(c.opts.MeanGap)) // exponential: a Poisson process
	c.clk.Advance(max(gap, time.Millisecond).Truncate(time.Millisecond))
	ws := c.p.Workspaces()
	w := ws[c.f.IntN(len(ws))]
	events, err := c.act(w)
	if err != nil {
		c.refused++
		return
	}
	c.queue.push(events)
}

func (c *Churn) actor(w *Workspace) Actor {
	if c.f.IntN(10) < 3 {
		return ByToken(w.Tokens[c.f.IntN(len(w.Tokens))])
	}
	return ByUser(w.Users[c.f.IntN(len(w.Users))])
}

// act picks an action for the workspace and performs it.
func (c *Churn) act(w *Workspace) ([]Event, error) {
	a := c.actor(w)
	live := len(w.sims)
	// Registration brings SIMs in; deletion takes them out. Their odds
	// follow the population, so the fleet stays near its size.
	deficit := math.Max(0, float64(c.opts.SIMs-live)/float64(c.opts.SIMs))
	switch r := c.f.Float64(); {
	case live == 0 || r < 0.01+0.3*deficit:
		return c.register(w, a)
	case r < 0.62:
		return c.simAction(w, a, w.sims[c.f.IntN(live)])
	case r < 0.98 && len(w.endpoints) > 0:
		return c.endpointAction(w, a, w.endpoints[c.f.IntN(len(w.endpoints))])
	default:
		return c.migrate(w)
	}
}

func (c *Churn) register(w *Workspace, a Actor) ([]Event, error) {
	var b *Batch
	for _, x := range w.batches {
		if !x.Registered {
			b = x
			break
		}
	}
	if b == nil {
		var err error
		if b, err = c.p.NewBatch(w, 1+c.f.IntN(10)); err != nil {
			return nil, err
		}
	}
	status := SIMIssued
	if c.f.IntN(4) == 0 {
		status = SIMFactoryTest
	}
	events, err := c.p.RegisterBatch(a, w, b, status)
	if err == nil {
		c.p.forgetBatch(b) // keep memory flat over long streams
	}
	return events, err
}

func (c *Churn) simAction(w *Workspace, a Actor, s *SIM) ([]Event, error) {
	r := c.f.IntN(10)
	surplus := len(w.sims) > c.opts.SIMs
	switch s.Status {
	case SIMIssued:
		switch {
		case s.Endpoint == nil && r < 5:
			spec := c.endpointSpec(s, EndpointEnabled)
			spec.ActivateSIM = r < 4
			spec.FactoryTest = r == 4
			_, events, err := c.p.CreateEndpoint(a, w, spec)
			return events, err
		case r < 7:
			return c.p.StartFactoryTest(a, s)
		default:
			return c.p.ActivateSIM(a, s)
		}
	case SIMFactoryTest:
		if r < 8 {
			return c.p.ReportTestUsage(s, int64(c.f.IntN(60*1024)), c.f.IntN(4))
		}
		return c.p.ActivateSIM(a, s)
	case SIMActivated:
		return c.p.SuspendSIM(a, s)
	default: // Suspended
		switch {
		case s.Endpoint == nil && (surplus || r < 3):
			return c.p.DeleteSIM(a, s)
		case s.Endpoint != nil && r < 3:
			return c.p.ReleaseSIM(a, s.Endpoint)
		default:
			return c.p.ActivateSIM(a, s)
		}
	}
}

func (c *Churn) endpointAction(w *Workspace, a Actor, ep *Endpoint) ([]Event, error) {
	r := c.f.IntN(10)
	if ep.SIM == nil {
		if free := c.freeSIM(w); free != nil && r < 7 {
			return c.p.AssignSIM(a, ep, free)
		}
		return nil, c.p.DeleteEndpoint(ep)
	}
	switch {
	case r < 3 && ep.Status == EndpointEnabled:
		return c.p.DisableEndpoint(a, ep)
	case r < 3:
		return c.p.EnableEndpoint(a, ep)
	case r < 6:
		return c.p.ResetConnectivity(a, ep)
	case r < 8 && ep.Status == EndpointDisabled:
		return c.p.ReleaseSIM(a, ep)
	default:
		return c.p.EnableEndpoint(a, ep) // refused when already Enabled
	}
}

// freeSIM returns a random SIM without endpoint, or nil.
func (c *Churn) freeSIM(w *Workspace) *SIM {
	if len(w.sims) == 0 {
		return nil
	}
	start := c.f.IntN(len(w.sims))
	for i := range len(w.sims) {
		if s := w.sims[(start+i)%len(w.sims)]; s.Endpoint == nil {
			return s
		}
	}
	return nil
}

func (c *Churn) migrate(w *Workspace) ([]Event, error) {
	ws := c.p.Workspaces()
	if len(ws) < 2 || len(w.sims) < 2 {
		return nil, refuse(Invalid, "a churn with one workspace", "migrate")
	}
	target := ws[c.f.IntN(len(ws))]
	for target == w {
		target = ws[c.f.IntN(len(ws))]
	}
	start := c.f.IntN(len(w.sims) - 1)
	sims := w.sims[start : start+1+c.f.IntN(min(3, len(w.sims)-start))]
	return c.p.MigrateSIMs(ByUser(w.Users[0]), append([]*SIM(nil), sims...), target, c.f.IntN(5) > 0)
}

// World returns the churn's platform and clock as a world, for a server to
// serve; it names no workspaces or groups.
func (c *Churn) World() *World {
	return &World{
		Platform: c.p, Clock: c.clk, Workspaces: map[string]*Workspace{}, groups: map[string]*group{},
		users: map[*Workspace]map[string]*User{}, tokens: map[*Workspace]map[string]*AppToken{},
	}
}
