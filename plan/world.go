package plan

import (
	"maps"
	"time"

	"github.com/emnify-mock/emnify-mock/generator"
)

// World is a platform with the names plans use: workspaces, users, tokens
// and groups by key. Plans run on it one after another; a later plan may
// name the workspaces and groups of an earlier one. The names change only
// inside the platform's changes, journaled with them (generator.SetKey),
// so a refused run leaves them as they were too.
type World struct {
	Platform   *generator.Platform
	Workspaces map[string]*generator.Workspace
	users      map[*generator.Workspace]map[string]*generator.User
	tokens     map[*generator.Workspace]map[string]*generator.AppToken
	groups     map[string]*group
}

// NewWorld returns an empty world on a virtual clock that shows start.
func NewWorld(start time.Time, seed uint64) *World {
	return NewWorldOn(generator.NewVirtual(start.UTC()), seed)
}

// NewWorldOn returns an empty world on the clock: the one clock of
// everything that happens in it.
func NewWorldOn(clock generator.Clock, seed uint64) *World {
	return Over(generator.NewPlatform(clock, seed))
}

// Over returns a world of a platform made elsewhere (a churn's), with no
// names yet.
func Over(p *generator.Platform) *World {
	return &World{
		Platform: p, Workspaces: map[string]*generator.Workspace{}, groups: map[string]*group{},
		users: map[*generator.Workspace]map[string]*generator.User{}, tokens: map[*generator.Workspace]map[string]*generator.AppToken{},
	}
}

// Clock returns the world's clock.
func (w *World) Clock() generator.Clock { return w.Platform.Clock() }

// User returns a workspace's user by key, or nil.
func (w *World) User(ws *generator.Workspace, key string) *generator.User { return w.users[ws][key] }

// Token returns a workspace's application token by key, or nil.
func (w *World) Token(ws *generator.Workspace, key string) *generator.AppToken {
	return w.tokens[ws][key]
}

// Names returns what a later plan may refer to: each workspace key with its
// user and token keys, and each group name with its kind.
func (w *World) Names() (workspaces map[string][]string, groups map[string]GroupKind) {
	workspaces, groups = map[string][]string{}, map[string]GroupKind{}
	for key, ws := range w.Workspaces {
		var actors []string
		for k := range w.users[ws] {
			actors = append(actors, k)
		}
		for k := range w.tokens[ws] {
			actors = append(actors, k)
		}
		workspaces[key] = actors
	}
	for name, g := range w.groups {
		groups[name] = g.kind
	}
	return workspaces, groups
}

// Clone returns a deep copy of the world, platform and names, on the same
// clock: acting on the copy leaves the original as it was, so a copy
// serves as a snapshot. Call it between changes.
func (w *World) Clone() *World {
	np, c := w.Platform.Clone()
	nw := Over(np)
	for k, ws := range w.Workspaces {
		nw.Workspaces[k] = c.Workspace(ws)
	}
	for ws, m := range w.users {
		nw.users[c.Workspace(ws)] = maps.Clone(m)
	}
	for ws, m := range w.tokens {
		nw.tokens[c.Workspace(ws)] = maps.Clone(m)
	}
	for name, g := range w.groups {
		ng := &group{kind: g.kind, ws: c.Workspace(g.ws)}
		for _, s := range g.sims {
			ng.sims = append(ng.sims, c.SIM(s))
		}
		for _, e := range g.endpoints {
			ng.endpoints = append(ng.endpoints, c.Endpoint(e))
		}
		for _, b := range g.batches {
			ng.batches = append(ng.batches, c.Batch(b))
		}
		nw.groups[name] = ng
	}
	return nw
}
