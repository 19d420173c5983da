package plan

import (
	"errors"
	"fmt"
	"slices"

	"github.com/emnify-mock/emnify-mock/generator"
)

// This file resolves a step's target and actor into platform calls.

// Groups serve every action: a SIM group serves endpoint actions through
// its SIMs' endpoints, an endpoint group serves SIM actions through its
// endpoints' SIMs, and a batch group serves SIM actions through the SIMs of
// its registered batches.

func (r *run) group(t Target) (*group, error) {
	g := r.lookupGroup(t.Group)
	if g == nil {
		return nil, fmt.Errorf("no group named %q", t.Group)
	}
	return g, nil
}

// lookupGroup finds a group in the run's own names, then in the world's.
func (r *run) lookupGroup(name string) *group {
	if g, ok := r.groups[name]; ok {
		return g
	}
	return r.World.groups[name]
}

func slice[T any](list []T, t Target) ([]T, error) {
	to := t.To
	if to == 0 {
		to = len(list)
	}
	switch {
	case len(list) == 0 && t.Pick > 0 && t.To == 0:
		return nil, nil // nothing to pick from yet: the step does nothing
	case len(list) == 0:
		return nil, fmt.Errorf("%s has no members of that kind yet (a batch group has SIMs once registered)", t.Group)
	case t.From >= len(list) || to > len(list):
		return nil, fmt.Errorf("%s has %d members, the step selects [%d:%d]", t.Group, len(list), t.From, to)
	}
	return list[t.From:to], nil
}

// prune drops deleted SIMs and endpoints from a group: the dead leave
// their groups, so indices count the members that remain and long runs
// with pick stay fast. The lists are made anew, so the journal's copy of
// the group stays whole.
func (r *run) prune(g *group) {
	deadSIM := func(s *generator.SIM) bool { return s.Status == generator.SIMDeleted }
	deadEP := func(e *generator.Endpoint) bool { return e.Status == generator.EndpointDeleted }
	if slices.ContainsFunc(g.sims, deadSIM) || slices.ContainsFunc(g.endpoints, deadEP) {
		generator.Save(r.p, g)
		g.sims = slices.DeleteFunc(slices.Clone(g.sims), deadSIM)
		g.endpoints = slices.DeleteFunc(slices.Clone(g.endpoints), deadEP)
	}
}

func (r *run) sims(t Target) ([]*generator.SIM, error) {
	g, err := r.group(t)
	if err != nil {
		return nil, err
	}
	r.prune(g)
	var out []*generator.SIM
	switch g.kind {
	case GroupSIMs:
		out = g.sims
	case GroupEndpoints:
		for _, ep := range g.endpoints {
			if ep.SIM != nil {
				out = append(out, ep.SIM)
			}
		}
	case GroupBatches:
		for _, b := range g.batches {
			if b.Registered {
				for _, s := range b.SIMs {
					if s.Status != generator.SIMDeleted {
						out = append(out, s)
					}
				}
			}
		}
	}
	return slice(out, t)
}

func (r *run) endpoints(t Target) ([]*generator.Endpoint, error) {
	g, err := r.group(t)
	if err != nil {
		return nil, err
	}
	if g.kind == GroupEndpoints {
		r.prune(g)
		return slice(g.endpoints, t)
	}
	sims, err := r.sims(Target{Group: t.Group})
	if err != nil {
		return nil, err
	}
	var out []*generator.Endpoint
	for _, s := range sims {
		if s.Endpoint == nil {
			if t.Pick > 0 {
				continue
			}
			return nil, fmt.Errorf("SIM %s has no endpoint", s.ICCID)
		}
		out = append(out, s.Endpoint)
	}
	return slice(out, t)
}

// actor resolves the step's "as" in the workspace the action happens in.
func (r *run) actor(s *Step, w *generator.Workspace) (generator.Actor, error) {
	switch s.As {
	case "":
		return generator.ByUser(w.Users[0]), nil
	case "platform":
		return generator.PolicyControl, nil
	}
	if u, ok := r.users[w][s.As]; ok {
		return generator.ByUser(u), nil
	}
	if t, ok := r.tokens[w][s.As]; ok {
		return generator.ByToken(t), nil
	}
	return generator.Actor{}, &Error{Pos: s.Pos, What: fmt.Sprintf("%s %s: workspace %q has no user or token %q", s.Action, describe(s.Target), w.Name, s.As),
		Expected: "as to name a user or token of the workspace the action happens in", Err: errNoActor}
}

// errNoActor: the step's actor does not belong to the entity's workspace,
// as after a migration; pick passes over such members.
var errNoActor = errors.New("no such actor in the workspace")

type call = func() ([]generator.Event, error)

// memberCalls makes one call per selected member for the one-entity
// actions.
func (r *run) memberCalls(s *Step) ([]call, error) {
	var calls []call
	switch s.Action {
	case ActRegister:
		g, err := r.group(s.Target)
		if err != nil {
			return nil, err
		}
		if g.kind != GroupBatches {
			return nil, fmt.Errorf("%s is not a group of SIM batches", s.Target.Group)
		}
		batches, err := slice(g.batches, s.Target)
		if err != nil {
			return nil, err
		}
		a, err := r.actor(s, g.ws)
		if err != nil {
			return nil, err
		}
		for _, b := range batches {
			calls = append(calls, func() ([]generator.Event, error) { return r.p.RegisterBatch(a, g.ws, b, s.Status) })
		}
	case ActFactoryTest, ActReportUsage, ActActivate, ActSuspend, ActDelete:
		sims, err := r.sims(s.Target)
		if err != nil {
			return nil, err
		}
		op := map[Action]func(generator.Actor, *generator.SIM) ([]generator.Event, error){
			ActFactoryTest: r.p.StartFactoryTest, ActActivate: r.p.ActivateSIM,
			ActSuspend: r.p.SuspendSIM, ActDelete: r.p.DeleteSIM,
			ActReportUsage: func(_ generator.Actor, sim *generator.SIM) ([]generator.Event, error) {
				return r.p.ReportTestUsage(sim, s.Data, s.SMS)
			},
		}[s.Action]
		for _, sim := range sims {
			calls = append(calls, func() ([]generator.Event, error) {
				a, err := r.actor(s, sim.Workspace)
				if err != nil {
					return nil, err
				}
				return op(a, sim)
			})
		}
	default: // endpoint actions
		eps, err := r.endpoints(s.Target)
		if err != nil {
			return nil, err
		}
		op := map[Action]func(generator.Actor, *generator.Endpoint) ([]generator.Event, error){
			ActEnable: r.p.EnableEndpoint, ActDisable: r.p.DisableEndpoint,
			ActRelease: r.p.ReleaseSIM, ActResetConnectivity: r.p.ResetConnectivity,
			ActDeleteEndpoint: func(_ generator.Actor, ep *generator.Endpoint) ([]generator.Event, error) {
				return nil, r.p.DeleteEndpoint(ep)
			},
			ActSendSMS: func(_ generator.Actor, ep *generator.Endpoint) ([]generator.Event, error) {
				_, events, err := r.p.SendSMS(ep, s.Payload)
				return events, err
			},
		}[s.Action]
		if op == nil {
			return nil, fmt.Errorf("unknown action %d", s.Action)
		}
		for _, ep := range eps {
			calls = append(calls, func() ([]generator.Event, error) {
				a, err := r.actor(s, ep.Workspace)
				if err != nil {
					return nil, err
				}
				return op(a, ep)
			})
		}
	}
	return calls, nil
}

// migrateCall migrates the selection in one request; with pick, a random
// subset of that size.
func (r *run) migrateCall(s *Step) ([]call, error) {
	sims, err := r.sims(s.Target)
	if err != nil {
		return nil, err
	}
	if len(sims) == 0 && s.Target.Pick > 0 {
		return nil, nil // nothing left to pick from
	}
	target, ok := r.Workspaces[s.To]
	if !ok {
		return nil, fmt.Errorf("no workspace %q to migrate to", s.To)
	}
	if len(sims) == 0 {
		return nil, fmt.Errorf("%s has no SIMs", s.Target.Group)
	}
	if s.Target.Pick > 0 {
		sims = append([]*generator.SIM(nil), sims...)
		shuffle(r.f, sims)
		sims = sims[:min(s.Target.Pick, len(sims))]
	}
	return []call{func() ([]generator.Event, error) {
		a, err := r.actor(s, sims[0].Workspace)
		if err != nil {
			return nil, err
		}
		return r.p.MigrateSIMs(a, sims, target, s.AutoDetach)
	}}, nil
}

// assignCalls pairs the target's endpoints with the SIMs in order; with
// pick, random endpoints with random SIMs.
func (r *run) assignCalls(s *Step) ([]call, error) {
	eps, err := r.endpoints(s.Target)
	if err != nil {
		return nil, err
	}
	from := s.SIMs
	from.Pick = s.Target.Pick // with pick, an empty SIM group is not an error
	sims, err := r.sims(from)
	if err != nil {
		return nil, err
	}
	if s.Target.Pick == 0 && len(eps) != len(sims) {
		return nil, fmt.Errorf("%d endpoints but %d SIMs to pair them with", len(eps), len(sims))
	}
	var calls []call
	if s.Target.Pick > 0 {
		free := append([]*generator.SIM(nil), sims...)
		shuffle(r.f, free)
		for _, ep := range eps {
			calls = append(calls, func() ([]generator.Event, error) {
				a, err := r.actor(s, ep.Workspace)
				if err != nil {
					return nil, err
				}
				for _, sim := range free {
					if events, err := r.p.AssignSIM(a, ep, sim); err == nil {
						return events, nil
					}
				}
				return nil, &generator.Error{Code: generator.Conflict, Subject: fmt.Sprintf("no free SIM in %s for endpoint %d", s.SIMs.Group, ep.ID), Action: "assign"}
			})
		}
		return calls, nil
	}
	for i, ep := range eps {
		sim := sims[i]
		calls = append(calls, func() ([]generator.Event, error) {
			a, err := r.actor(s, ep.Workspace)
			if err != nil {
				return nil, err
			}
			return r.p.AssignSIM(a, ep, sim)
		})
	}
	return calls, nil
}

// createCalls makes an endpoint per selected SIM, or Count endpoints
// without SIM in a workspace; new endpoints join the Into group.
func (r *run) createCalls(s *Step) ([]call, error) {
	into := r.lookupGroup(s.Into)
	if s.Into != "" && into == nil {
		into = &group{kind: GroupEndpoints}
		generator.SetKey(r.p, r.groups, s.Into, into)
	}
	if s.Into != "" && into.kind != GroupEndpoints {
		return nil, fmt.Errorf("%s is not a group of endpoints", s.Into)
	}
	made := 0
	if into != nil {
		made = len(into.endpoints)
	}
	mk := func(w *generator.Workspace, sim *generator.SIM) call {
		return func() ([]generator.Event, error) {
			a, err := r.actor(s, w)
			if err != nil {
				return nil, err
			}
			made++
			spec := r.endpointSpec(s.Endpoint, made, sim)
			spec.ActivateSIM, spec.FactoryTest = !s.KeepSIM, s.FactoryTest
			ep, events, err := r.p.CreateEndpoint(a, w, spec)
			if err != nil {
				made--
				return nil, err
			}
			if into != nil {
				generator.Save(r.p, into)
				into.ws = w
				into.endpoints = append(into.endpoints, ep)
			}
			return events, nil
		}
	}
	var calls []call
	if s.Target.Group == "" {
		w, ok := r.Workspaces[s.Workspace]
		if !ok {
			return nil, fmt.Errorf("no workspace %q", s.Workspace)
		}
		for range s.Count {
			calls = append(calls, mk(w, nil))
		}
		return calls, nil
	}
	sims, err := r.sims(s.Target)
	if err != nil {
		return nil, err
	}
	for _, sim := range sims {
		calls = append(calls, mk(sim.Workspace, sim))
	}
	return calls, nil
}

// check compares what ran with the plan's expectations.
func (r *run) check() error {
	x := r.plan.Expect
	if x == nil {
		return nil
	}
	for _, t := range x.Types {
		if r.sum.ByType[t] == 0 {
			return &Error{Pos: x.Pos, What: fmt.Sprintf("the scenario produced no %s (%d) event", t, int(t)), Expected: "every type under expect.types to occur"}
		}
	}
	if x.HasCount && r.sum.Events != x.Count {
		return &Error{Pos: x.Pos, What: fmt.Sprintf("the scenario produced %d events", r.sum.Events), Expected: fmt.Sprintf("%d (expect.count)", x.Count)}
	}
	if x.Sequence != nil {
		if got, want := typeList(r.types), typeList(x.Sequence); got != want {
			return &Error{Pos: x.Pos, What: "the scenario produced the types " + got, Expected: want + " (expect.sequence)"}
		}
	}
	return nil
}

func typeList(ts []generator.EventType) string {
	b := []byte{'['}
	for i, t := range ts {
		if i > 0 {
			b = append(b, ' ')
		}
		b = fmt.Appendf(b, "%d", int(t))
	}
	return string(append(b, ']'))
}
