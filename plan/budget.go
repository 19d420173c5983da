package plan

import (
	"fmt"
	"math"
)

// DefaultMaxEvents is how many events one run of a plan may make, and how
// many SIMs and endpoints it may provision, unless Plan.MaxEvents says
// otherwise. A run of that size takes seconds and a few hundred MB; the
// budget is what keeps three nested repeats from taking the host down.
const DefaultMaxEvents = 2_000_000

// iterationsPerEvent: loop iterations and member actions a run may take
// per event of its budget, for loops that make few or no events.
const iterationsPerEvent = 10

// budget is a run's limit and what the run has used of it.
type budget struct {
	max          int64 // events and entities
	events, work int64
}

func (r *run) newBudget() budget {
	max := int64(r.plan.MaxEvents)
	if max <= 0 {
		max = DefaultMaxEvents
	}
	return budget{max: max}
}

// overBudget is the error of a run that would exceed its budget.
func (r *run) overBudget(pos, what string) error {
	return &Error{Pos: pos, What: what,
		Expected: fmt.Sprintf("at most %d events and entities per run (fewer repeats or members, or a larger budget: --max-scenario-events)", r.budget.max)}
}

// made counts a call's events, and work done, against the budget while
// the plan runs: the bound computed before the run is an upper bound from
// the declared group sizes, and this catches what it could not foresee.
func (r *run) made(s *Step, events int) error {
	r.budget.events += int64(events)
	r.budget.work++
	switch {
	case r.budget.events > r.budget.max:
		return r.overBudget(s.Pos, fmt.Sprintf("this scenario makes more than %d events", r.budget.max))
	case r.budget.work > iterationsPerEvent*r.budget.max:
		return r.overBudget(s.Pos, fmt.Sprintf("this scenario takes more than %d steps", iterationsPerEvent*r.budget.max))
	}
	return nil
}

// bound refuses, before anything runs or is provisioned, a plan whose
// upper bound of events, entities or steps exceeds the budget: the groups
// it declares, then each top-level step in turn, counting a loop's body
// once per iteration and an action once per member of its target.
func (r *run) bound() error {
	b := &bounder{r: r, members: map[string]int64{}, batches: map[string]int64{}, batch: map[string]int64{}}
	var entities int64
	for _, wp := range r.plan.Workspaces {
		for _, gp := range wp.Groups {
			n := int64(gp.Count)
			switch gp.Kind {
			case GroupBatches:
				b.batches[gp.Name], b.batch[gp.Name] = n, int64(gp.BatchSize)
				n = mul(n, int64(gp.BatchSize))
			case GroupSIMs:
				if gp.Endpoint != nil {
					entities = add(entities, n)
					if gp.EndpointGroup != "" {
						b.members[gp.EndpointGroup] = n
					}
				}
			}
			b.members[gp.Name] = n
			if entities = add(entities, n); entities > r.budget.max {
				return r.overBudget(gp.Pos, fmt.Sprintf("group %s: the scenario's groups provision %s SIMs and endpoints, more than %d", gp.Name, count(entities), r.budget.max))
			}
		}
	}
	for i := range r.plan.Steps {
		s := &r.plan.Steps[i]
		b.step(s, 1)
		switch {
		case b.events > r.budget.max:
			return r.overBudget(s.Pos, fmt.Sprintf("this scenario makes more than %d events (up to %s by the end of this step)", r.budget.max, count(b.events)))
		case b.work > iterationsPerEvent*r.budget.max:
			return r.overBudget(s.Pos, fmt.Sprintf("this scenario takes more than %d steps (up to %s by the end of this step)", iterationsPerEvent*r.budget.max, count(b.work)))
		}
	}
	return nil
}

// bounder computes upper bounds with saturating arithmetic.
type bounder struct {
	r       *run
	members map[string]int64 // group → members, at most
	batches map[string]int64 // batch group → batches
	batch   map[string]int64 // batch group → SIMs per batch
	events  int64
	work    int64
}

// eventsPer is the most events one member's action makes; register's
// depends on the batch size.
var eventsPer = map[Action]int64{
	ActFactoryTest: 1, ActReportUsage: 1, ActActivate: 1, ActSuspend: 1, ActDelete: 1,
	ActCreateEndpoint: 2, // SIM activation or factory test, SIM assigned
	ActEnable:         1, ActDisable: 1, ActAssign: 1, ActRelease: 1, ActResetConnectivity: 1,
	ActDeleteEndpoint: 0,
	ActMigrate:        3, // release (auto-detach), then the two halves
	ActSendSMS:        1, // Policy Control's activation at the factory-test threshold
}

func (b *bounder) step(s *Step, times int64) {
	switch {
	case s.Repeat > 0 || s.For > 0:
		n := int64(s.Repeat)
		if n == 0 {
			n = 1 // for without every is refused when it runs
			if s.Every > 0 {
				n = int64(s.For/s.Every) + 1
			}
		}
		times = mul(times, n)
		b.work = add(b.work, times)
		for i := range s.Steps {
			b.step(&s.Steps[i], times)
		}
	case s.Choose != nil:
		events, work := b.events, b.work
		maxEvents, maxWork := events, work
		for i := range s.Choose {
			b.events, b.work = events, work
			b.step(&s.Choose[i].Step, times)
			maxEvents, maxWork = max(maxEvents, b.events), max(maxWork, b.work)
		}
		b.events, b.work = maxEvents, maxWork
	default:
		members, per := b.size(s.Target), eventsPer[s.Action]
		switch {
		case s.Action == ActCreateEndpoint && s.Target.Group == "":
			members = int64(s.Count)
		case s.Action == ActRegister:
			members, per = b.batchesOf(s.Target)
		}
		b.work = add(b.work, mul(times, members))
		b.events = add(b.events, mul(mul(times, members), per))
		if s.Action == ActCreateEndpoint && s.Into != "" {
			b.members[s.Into] = add(b.members[s.Into], mul(times, members))
		}
	}
}

// size is the most members a target selects.
func (b *bounder) size(t Target) int64 {
	n, ok := b.members[t.Group]
	if !ok {
		if g := b.r.lookupGroup(t.Group); g != nil { // an earlier run's
			n = int64(len(g.sims) + len(g.endpoints))
			for _, bt := range g.batches {
				n += int64(len(bt.SIMs))
			}
		}
	}
	return selects(n, t)
}

// batchesOf is the most batches a register step selects, and the most
// SIMs in one.
func (b *bounder) batchesOf(t Target) (n, size int64) {
	n, ok := b.batches[t.Group]
	size = b.batch[t.Group]
	if !ok {
		if g := b.r.lookupGroup(t.Group); g != nil {
			n = int64(len(g.batches))
			for _, bt := range g.batches {
				size = max(size, int64(len(bt.SIMs)))
			}
		}
	}
	return selects(n, t), size
}

// selects is how many of n members a target's range and pick select.
func selects(n int64, t Target) int64 {
	if t.To > 0 {
		n = min(n, int64(t.To-t.From))
	}
	if t.Pick > 0 {
		n = min(n, int64(t.Pick))
	}
	return n
}

func add(a, b int64) int64 {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}

func mul(a, b int64) int64 {
	if a != 0 && b > math.MaxInt64/a {
		return math.MaxInt64
	}
	return a * b
}

// count writes a bound, which may have saturated.
func count(n int64) string {
	if n == math.MaxInt64 {
		return "more than 9.2e18"
	}
	return fmt.Sprint(n)
}
