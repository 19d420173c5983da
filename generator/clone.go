package generator

import (
	"maps"
	"math/rand/v2"
	"slices"

	"github.com/brianvoe/gofakeit/v7"
)

// Clone returns a deep copy of the world: its platform (workspaces, SIMs,
// endpoints, batches, identities with their random state) and its names,
// on the same clock. Acting on the copy leaves the original as it was, so
// a copy serves as a snapshot. Call it between changes.
func (w *World) Clone() *World {
	c := &cloner{sims: map[*SIM]*SIM{}, eps: map[*Endpoint]*Endpoint{}, ws: map[*Workspace]*Workspace{}}
	p := w.Platform
	np := &Platform{
		clock: p.clock, IDs: p.IDs.clone(),
		sims: map[int64]*SIM{}, endpoints: map[int64]*Endpoint{}, batches: map[string]*Batch{},
		lastStamp: p.lastStamp, lastID: p.lastID,
	}
	for _, ws := range p.workspaces {
		np.workspaces = append(np.workspaces, c.workspace(ws))
	}
	for id, s := range p.sims {
		np.sims[id] = c.sim(s)
	}
	for id, e := range p.endpoints {
		np.endpoints[id] = c.endpoint(e)
	}
	for bic, b := range p.batches {
		np.batches[bic] = c.batch(b)
	}
	nw := &World{
		Platform: np, Workspaces: map[string]*Workspace{}, groups: map[string]*group{},
		users: map[*Workspace]map[string]*User{}, tokens: map[*Workspace]map[string]*AppToken{},
	}
	for k, ws := range w.Workspaces {
		nw.Workspaces[k] = c.workspace(ws)
	}
	for ws, m := range w.users {
		nw.users[c.workspace(ws)] = maps.Clone(m)
	}
	for ws, m := range w.tokens {
		nw.tokens[c.workspace(ws)] = maps.Clone(m)
	}
	for name, g := range w.groups {
		ng := &group{kind: g.kind, ws: c.workspace(g.ws)}
		for _, s := range g.sims {
			ng.sims = append(ng.sims, c.sim(s))
		}
		for _, e := range g.endpoints {
			ng.endpoints = append(ng.endpoints, c.endpoint(e))
		}
		for _, b := range g.batches {
			ng.batches = append(ng.batches, c.batch(b))
		}
		nw.groups[name] = ng
	}
	return nw
}

// cloner copies each entity once and keeps the links between copies.
type cloner struct {
	sims    map[*SIM]*SIM
	eps     map[*Endpoint]*Endpoint
	ws      map[*Workspace]*Workspace
	batches map[*Batch]*Batch
}

func (c *cloner) workspace(w *Workspace) *Workspace {
	if w == nil {
		return nil
	}
	if n, ok := c.ws[w]; ok {
		return n
	}
	n := *w
	c.ws[w] = &n
	space := *w.IPSpace
	space.used = append([]uint64(nil), w.IPSpace.used...)
	n.IPSpace = &space
	n.Users, n.Tokens = slices.Clone(w.Users), slices.Clone(w.Tokens) // the people are shared: nothing changes them
	n.sims, n.endpoints, n.batches = nil, nil, nil
	for _, s := range w.sims {
		n.sims = append(n.sims, c.sim(s))
	}
	for _, e := range w.endpoints {
		n.endpoints = append(n.endpoints, c.endpoint(e))
	}
	for _, b := range w.batches {
		n.batches = append(n.batches, c.batch(b))
	}
	return &n
}

func (c *cloner) sim(s *SIM) *SIM {
	if s == nil {
		return nil
	}
	if n, ok := c.sims[s]; ok {
		return n
	}
	n := *s
	c.sims[s] = &n
	n.Workspace = c.workspace(s.Workspace)
	n.Endpoint = c.endpoint(s.Endpoint)
	return &n
}

func (c *cloner) endpoint(e *Endpoint) *Endpoint {
	if e == nil {
		return nil
	}
	if n, ok := c.eps[e]; ok {
		return n
	}
	n := *e
	c.eps[e] = &n
	n.Workspace = c.workspace(e.Workspace)
	n.SIM = c.sim(e.SIM)
	return &n
}

func (c *cloner) batch(b *Batch) *Batch {
	if c.batches == nil {
		c.batches = map[*Batch]*Batch{}
	}
	if n, ok := c.batches[b]; ok {
		return n
	}
	n := *b
	c.batches[b] = &n
	n.SIMs = nil
	for _, s := range b.SIMs {
		n.SIMs = append(n.SIMs, c.sim(s))
	}
	return &n
}

// clone copies the identities with the state of their random source, so
// the copy draws what the original would have drawn.
func (id *Identities) clone() *Identities {
	n := *id
	pcg, ok := id.fake.Rand.(*rand.PCG)
	if !ok {
		panic("identities: random source is not a PCG")
	}
	state, _ := pcg.MarshalBinary()
	np := &rand.PCG{}
	if err := np.UnmarshalBinary(state); err != nil {
		panic(err)
	}
	n.fake = gofakeit.NewFaker(np, false)
	return &n
}
