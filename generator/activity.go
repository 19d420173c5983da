package generator

import (
	"math"

	"github.com/brianvoe/gofakeit/v7"
)

// Activity is the random daily life of a fleet: one action at a time, in
// a random workspace, through the platform's state machines. Fleet churn
// runs it on a virtual clock; a server runs it live on the wall clock.
type Activity struct {
	// Size is the SIM count each workspace is kept near: registration
	// grows more likely below it, deletion above it. 0 keeps each
	// workspace near the count it had when first acted on.
	Size  int
	sizes map[*Workspace]int
}

// Act tries one random action in a random workspace of p, drawing from
// p's seeded source. It returns the platform's events, or the platform's
// refusal, which changed nothing: like users, the walk tries actions that
// the state machines refuse.
func (a *Activity) Act(p *Platform) ([]Event, error) {
	f := p.IDs.Faker()
	ws := p.Workspaces()
	w := ws[f.IntN(len(ws))]
	return walker{p: p, f: f, size: a.size(w)}.act(w)
}

func (a *Activity) size(w *Workspace) int {
	if a.Size > 0 {
		return a.Size
	}
	if a.sizes == nil {
		a.sizes = map[*Workspace]int{}
	}
	if _, ok := a.sizes[w]; !ok {
		a.sizes[w] = max(len(w.sims), 1)
	}
	return a.sizes[w]
}

// walker takes one step of the walk in a workspace.
type walker struct {
	p    *Platform
	f    *gofakeit.Faker
	size int
}

var churnTags = [...]string{"cold-chain", "fleet-a", "fleet-b", "pilot", "warehouse", "berlin"}

func (c walker) endpointSpec(s *SIM, status EndpointStatus) EndpointSpec {
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

func (c walker) actor(w *Workspace) Actor {
	if c.f.IntN(10) < 3 {
		return ByToken(w.Tokens[c.f.IntN(len(w.Tokens))])
	}
	return ByUser(w.Users[c.f.IntN(len(w.Users))])
}

// act picks an action for the workspace and performs it.
func (c walker) act(w *Workspace) ([]Event, error) {
	a := c.actor(w)
	live := len(w.sims)
	// Registration brings SIMs in; deletion takes them out. Their odds
	// follow the population, so the fleet stays near its size.
	deficit := math.Max(0, float64(c.size-live)/float64(c.size))
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

func (c walker) register(w *Workspace, a Actor) ([]Event, error) {
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

func (c walker) simAction(w *Workspace, a Actor, s *SIM) ([]Event, error) {
	r := c.f.IntN(10)
	surplus := len(w.sims) > c.size
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

func (c walker) endpointAction(w *Workspace, a Actor, ep *Endpoint) ([]Event, error) {
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
func (c walker) freeSIM(w *Workspace) *SIM {
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

func (c walker) migrate(w *Workspace) ([]Event, error) {
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
