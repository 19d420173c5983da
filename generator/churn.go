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
	// Clock is the platform's clock, for a server that serves the churn's
	// world; default a virtual clock at Start. The churn's own time runs
	// from Start, an action a gap after the one before, whatever it shows.
	Clock Clock
}

// Churn is a seeded random walk over the state machines of a fleet: the
// daily life of SIMs and devices in a few workspaces, exercising every
// device-status event type. It yields events in timestamp order; ids grow
// with time except for the target half of a migration, which repeats the
// source half's id a second later, as on the platform.
type Churn struct {
	p        *Platform
	now      time.Time // of the last action
	f        *gofakeit.Faker
	opts     ChurnOptions
	activity Activity

	queue   Sequencer
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
	if opts.Clock == nil {
		opts.Clock = NewVirtual(opts.Start.UTC())
	}
	p := NewPlatform(opts.Clock, seed)
	c := &Churn{p: p, now: opts.Start.UTC(), f: p.IDs.Faker(), opts: opts, activity: Activity{Size: opts.SIMs}}
	for range opts.Workspaces {
		w, err := p.NewWorkspace(WorkspaceSpec{Users: []string{"", "", ""}})
		if err != nil {
			return nil, fmt.Errorf("set up churn: %w", err)
		}
		if err := c.populate(w); err != nil {
			return nil, fmt.Errorf("set up churn: %w", err)
		}
		// The fleet manager, each workspace's first user, is one person
		// with a role in every workspace: migrations need one.
		if first := p.workspaces[0]; w != first {
			p.SamePerson(w.Users[0], first.Users[0])
		}
	}
	return c, nil
}

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
			if _, err := c.p.ProvisionEndpoint(w, walker{p: c.p, f: c.f}.endpointSpec(s, ep)); err != nil {
				return err
			}
		}
	}
	_, err := c.p.NewBatch(w, 1+c.f.IntN(10))
	return err
}

// Next returns the next event of the stream.
func (c *Churn) Next() Event {
	// An event may leave the queue once the clock has passed it: every later
	// action stamps its events after the clock.
	for {
		if e, ok := c.queue.Pop(c.now); ok {
			return e
		}
		c.step()
	}
}

// step advances the clock and tries one random action.
func (c *Churn) step() {
	gap := time.Duration(-math.Log(1-c.f.Float64()) * float64(c.opts.MeanGap)) // exponential: a Poisson process
	c.now = c.now.Add(max(gap, time.Millisecond).Truncate(time.Millisecond))
	events, err := c.p.DoAt(c.now, func() ([]Event, error) { return c.activity.Act(c.p) })
	if err != nil {
		c.refused++
		return
	}
	c.queue.Push(events)
	c.p.Recycle(events)
}

// Now returns the churn's time: that of its last action.
func (c *Churn) Now() time.Time { return c.now }

// Platform returns the churn's platform, for a server to serve.
func (c *Churn) Platform() *Platform { return c.p }
