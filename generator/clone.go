package generator

import (
	"math/rand/v2"
	"slices"

	"github.com/brianvoe/gofakeit/v7"
)

// Clone returns a deep copy of the platform (workspaces, SIMs, endpoints,
// batches, identities with their random state) on the same clock, and the
// map from each entity to its copy, for state kept beside the platform.
// Acting on the copy leaves the original as it was, so a copy serves as a
// snapshot. Call it between changes.
func (p *Platform) Clone() (*Platform, *Copies) {
	c := &Copies{sims: map[*SIM]*SIM{}, eps: map[*Endpoint]*Endpoint{}, ws: map[*Workspace]*Workspace{}, batches: map[*Batch]*Batch{}}
	np := &Platform{
		clock: p.clock, IDs: p.IDs.clone(),
		sims: map[int64]*SIM{}, endpoints: map[int64]*Endpoint{}, batches: map[string]*Batch{},
		lastStamp: p.lastStamp, lastID: p.lastID,
	}
	for _, ws := range p.workspaces {
		np.workspaces = append(np.workspaces, c.Workspace(ws))
	}
	for id, s := range p.sims {
		np.sims[id] = c.SIM(s)
	}
	for id, e := range p.endpoints {
		np.endpoints[id] = c.Endpoint(e)
	}
	for bic, b := range p.batches {
		np.batches[bic] = c.Batch(b)
	}
	return np, c
}

// Copies maps the entities of a cloned platform to their copies: each is
// copied once, with the links between copies kept.
type Copies struct {
	sims    map[*SIM]*SIM
	eps     map[*Endpoint]*Endpoint
	ws      map[*Workspace]*Workspace
	batches map[*Batch]*Batch
}

// Workspace returns the copy of the workspace.
func (c *Copies) Workspace(w *Workspace) *Workspace {
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
		n.sims = append(n.sims, c.SIM(s))
	}
	for _, e := range w.endpoints {
		n.endpoints = append(n.endpoints, c.Endpoint(e))
	}
	for _, b := range w.batches {
		n.batches = append(n.batches, c.Batch(b))
	}
	return &n
}

// SIM returns the copy of the SIM.
func (c *Copies) SIM(s *SIM) *SIM {
	if s == nil {
		return nil
	}
	if n, ok := c.sims[s]; ok {
		return n
	}
	n := *s
	c.sims[s] = &n
	n.Workspace = c.Workspace(s.Workspace)
	n.Endpoint = c.Endpoint(s.Endpoint)
	return &n
}

// Endpoint returns the copy of the endpoint.
func (c *Copies) Endpoint(e *Endpoint) *Endpoint {
	if e == nil {
		return nil
	}
	if n, ok := c.eps[e]; ok {
		return n
	}
	n := *e
	c.eps[e] = &n
	n.Workspace = c.Workspace(e.Workspace)
	n.SIM = c.SIM(e.SIM)
	return &n
}

// Batch returns the copy of the batch.
func (c *Copies) Batch(b *Batch) *Batch {
	if n, ok := c.batches[b]; ok {
		return n
	}
	n := *b
	c.batches[b] = &n
	n.SIMs = nil
	for _, s := range b.SIMs {
		n.SIMs = append(n.SIMs, c.SIM(s))
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
