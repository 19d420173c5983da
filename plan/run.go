package plan

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/brianvoe/gofakeit/v7"
	"github.com/emnify-mock/emnify-mock/generator"
)

// Error is a plan that cannot run: a bad reference, or an action the
// platform refuses. Pos says where in the scenario.
type Error struct {
	Pos      string
	What     string
	Expected string
	Err      error
}

func (e *Error) Error() string {
	msg := e.What
	if e.Pos != "" {
		msg = e.Pos + ": " + msg
	}
	if e.Expected != "" {
		msg += "; expected " + e.Expected
	}
	return msg
}

func (e *Error) Unwrap() error { return e.Err }

// Summary tells what a plan run produced.
type Summary struct {
	Events     int
	ByType     map[generator.EventType]int
	Start, End time.Time // virtual time
}

// Run sets up the plan's workspaces on a fresh world and runs its
// steps on a virtual clock, handing every event to emit in timestamp order.
// Same plan and seed, same events.
func Run(plan *Plan, seed uint64, emit func(generator.Event) error) (Summary, error) {
	return newPlanWorld(plan, seed).Run(plan, emit)
}

// DryRun is Run without events: whether the plan runs, and what
// it would make.
func DryRun(plan *Plan, seed uint64) (Summary, error) {
	return newPlanWorld(plan, seed).DryRun(plan)
}

func newPlanWorld(plan *Plan, seed uint64) *World {
	start := plan.Start
	if start.IsZero() {
		start = generator.DefaultStart
	}
	return NewWorld(start, seed)
}

// Run runs a plan on the world as one change, from the clock's present on
// the plan's own timing: every event it makes, or an error and no change
// at all. Events go to emit in timestamp order as they are made; when the
// run fails after some, the world is as before and the caller discards
// them (run DryRun first where they cannot be taken back). Workspaces the
// world already has under the plan's keys are used as they are; new ones
// are set up. A run that spans time leaves the world's clock that much
// later: the next run, and anything else on the clock, follows it.
func (w *World) Run(plan *Plan, emit func(generator.Event) error) (Summary, error) {
	return w.run(plan, emit, false)
}

// DryRun runs a plan as Run would now and undoes it: the summary and
// error are Run's, the world and its clock stay as they are.
func (w *World) DryRun(plan *Plan) (Summary, error) {
	return w.run(plan, nil, true)
}

func (w *World) run(plan *Plan, emit func(generator.Event) error, dry bool) (Summary, error) {
	r := w.newRun(plan, w.groups)
	r.emit = emit
	op := func() ([]generator.Event, error) { return nil, r.all() }
	var err error
	if dry {
		_, err = w.Platform.DryRun(op)
	} else {
		_, err = w.Platform.Do(op) // leaves the clock at the run's end
	}
	return r.sum, err
}

func (w *World) newRun(plan *Plan, groups map[string]*group) *run {
	return &run{World: w, p: w.Platform, f: w.Platform.IDs.Faker(), plan: plan, groups: groups,
		sum: Summary{ByType: map[generator.EventType]int{}}}
}

// all runs the whole plan inside the change in progress.
func (r *run) all() error {
	r.now = r.p.Now()
	r.sum.Start = r.now
	r.budget = r.newBudget()
	if err := r.bound(); err != nil {
		return err
	}
	if err := r.setup(); err != nil {
		return err
	}
	if err := r.steps(r.plan.Steps); err != nil {
		return err
	}
	for {
		e, ok := r.seq.Drain()
		if !ok {
			break
		}
		if err := r.out(e); err != nil {
			return err
		}
	}
	r.sum.End = r.now
	return r.check()
}

type run struct {
	*World
	p      *generator.Platform
	f      *gofakeit.Faker
	plan   *Plan
	groups map[string]*group // where the plan's groups go: the world's, or a player's own
	emit   func(generator.Event) error
	// pace, when set, ends the change in progress at each wait (a played
	// run): the events made so far go out with the change, and the run
	// goes on in a new change once the wait is over.
	pace func(d time.Duration) error
	// now is the plan's schedule: where its timing has got to. Events are
	// stamped at the change's instant, which a played run's clock may have
	// moved past the schedule (a jump of the clock): the steps it jumped
	// over then happen at once, in order, and the schedule goes on.
	now    time.Time
	seq    generator.Sequencer
	sum    Summary
	budget budget
	types  []generator.EventType // in emitted order, for Expect.Sequence
}

// group is a named set of entities.
type group struct {
	kind      GroupKind
	ws        *generator.Workspace
	sims      []*generator.SIM
	endpoints []*generator.Endpoint
	batches   []*generator.Batch
}

func (r *run) setup() error {
	for _, wp := range r.plan.Workspaces {
		w, ok := r.Workspaces[wp.Key]
		if !ok {
			var err error
			if w, err = r.workspace(wp); err != nil {
				return err
			}
		}
		// Users and tokens an earlier plan's workspace lacks are added.
		for _, k := range wp.Users {
			if r.users[w][k] == nil && r.tokens[w][k] == nil {
				u := r.p.AddUser(w, k)
				r.samePerson(u, k, w)
				generator.SetKey(r.p, r.users[w], k, u)
			}
		}
		for _, k := range wp.Tokens {
			if r.users[w][k] == nil && r.tokens[w][k] == nil {
				generator.SetKey(r.p, r.tokens[w], k, r.p.AddToken(w, k))
			}
		}
		// An earlier plan's workspace is used as it is, with the groups
		// this plan declares added to it. A group name an earlier plan
		// used means this plan's group from now on.
		for _, gp := range wp.Groups {
			if err := r.provision(w, gp); err != nil {
				return &Error{Pos: gp.Pos, What: fmt.Sprintf("group %s: %v", gp.Name, err), Err: err}
			}
		}
	}
	return nil
}

// workspace sets up a workspace the plan declares, without its groups.
func (r *run) workspace(wp WorkspacePlan) (*generator.Workspace, error) {
	users, tokens := wp.Users, wp.Tokens
	if len(users) == 0 {
		users = []string{"admin"}
	}
	if len(tokens) == 0 {
		tokens = []string{"default"}
	}
	w, err := r.p.NewWorkspace(generator.WorkspaceSpec{Name: wp.Name, Users: users, Tokens: tokens, IPSpace: wp.IPSpace})
	if err != nil {
		return nil, &Error{What: err.Error(), Err: err}
	}
	if wp.FactoryTestBytes > 0 {
		w.FactoryTestBytes = wp.FactoryTestBytes
	}
	if wp.FactoryTestSMS > 0 {
		w.FactoryTestSMS = wp.FactoryTestSMS
	}
	generator.SetKey(r.p, r.Workspaces, wp.Key, w)
	us, ts := map[string]*generator.User{}, map[string]*generator.AppToken{}
	for i, k := range users {
		us[k] = w.Users[i]
		r.samePerson(w.Users[i], k, w)
	}
	for i, k := range tokens {
		ts[k] = w.Tokens[i]
	}
	generator.SetKey(r.p, r.users, w, us)
	generator.SetKey(r.p, r.tokens, w, ts)
	return w, nil
}

// samePerson: a user key a plan declares in several workspaces is one
// person with a user in each, who may act in all of them (migrate between
// them); the person is the one the key first named.
func (r *run) samePerson(u *generator.User, key string, w *generator.Workspace) {
	for _, ws := range r.Platform.Workspaces() {
		if other := r.users[ws][key]; ws != w && other != nil {
			r.p.SamePerson(u, other)
			return
		}
	}
}

func (r *run) provision(w *generator.Workspace, gp GroupPlan) error {
	g := &group{kind: gp.Kind, ws: w}
	generator.SetKey(r.p, r.groups, gp.Name, g)
	var eg *group
	if gp.EndpointGroup != "" {
		eg = &group{kind: GroupEndpoints, ws: w}
		generator.SetKey(r.p, r.groups, gp.EndpointGroup, eg)
	}
	for i := range gp.Count {
		switch gp.Kind {
		case GroupSIMs:
			s, err := r.p.ProvisionSIM(w, gp.Status)
			if err != nil {
				return err
			}
			g.sims = append(g.sims, s)
			if gp.Endpoint != nil {
				ep, err := r.p.ProvisionEndpoint(w, r.endpointSpec(*gp.Endpoint, i+1, s))
				if err != nil {
					return err
				}
				if eg != nil {
					eg.endpoints = append(eg.endpoints, ep)
				}
			}
		case GroupEndpoints:
			ep, err := r.p.ProvisionEndpoint(w, r.endpointSpec(*gp.Endpoint, i+1, nil))
			if err != nil {
				return err
			}
			g.endpoints = append(g.endpoints, ep)
		case GroupBatches:
			b, err := r.p.NewBatch(w, gp.BatchSize)
			if err != nil {
				return err
			}
			g.batches = append(g.batches, b)
		}
	}
	return nil
}

func (r *run) endpointSpec(t EndpointTemplate, n int, s *generator.SIM) generator.EndpointSpec {
	spec := generator.EndpointSpec{Status: t.Status, Tags: t.Tags, SIM: s}
	if t.Name != "" {
		spec.Name = strings.ReplaceAll(t.Name, "{n}", strconv.Itoa(n))
	}
	if t.IMEI {
		spec.IMEI = r.p.IDs.IMEISV()
	}
	return spec
}

func (r *run) steps(steps []Step) error {
	for i := range steps {
		if err := r.step(&steps[i]); err != nil {
			return err
		}
	}
	return nil
}

// wait moves the run's time on by d and passes on every event it has gone
// past. What is due already goes out first. A played run ends its change
// here and waits for d on the clock.
func (r *run) wait(d time.Duration) error {
	if err := r.flush(); err != nil {
		return err
	}
	if d <= 0 {
		return nil
	}
	r.now = r.now.Add(d)
	if ahead := r.now.Sub(r.p.Now()); r.pace != nil && ahead > 0 {
		if err := r.pace(ahead); err != nil {
			return err
		}
	}
	r.p.MoveTo(r.now)
	return r.flush()
}

// flush passes on every event the run's time has gone past.
func (r *run) flush() error {
	for {
		e, ok := r.seq.Pop(r.now)
		if !ok {
			return nil
		}
		if err := r.out(e); err != nil {
			return err
		}
	}
}

func (r *run) out(e generator.Event) error {
	r.sum.Events++
	r.sum.ByType[e.EventType()]++
	if r.plan.Expect != nil && r.plan.Expect.Sequence != nil {
		r.types = append(r.types, e.EventType())
	}
	if r.emit == nil {
		return nil
	}
	return r.emit(e)
}

func (r *run) jitter(s *Step) time.Duration {
	if s.Jitter <= 0 {
		return 0
	}
	return time.Duration(r.f.Int64() % int64(s.Jitter)).Truncate(time.Millisecond)
}

func (r *run) step(s *Step) error {
	if s.HasAt {
		at := r.sum.Start.Add(s.At)
		if now := r.now; at.Before(now) {
			return &Error{Pos: s.Pos, What: fmt.Sprintf("at %s is earlier than the scenario's clock (%s after the start)", generator.FormatDuration(s.At), generator.FormatDuration(now.Sub(r.sum.Start))),
				Expected: "steps in time order; use after to place a step relative to the one before"}
		}
		if err := r.wait(at.Sub(r.now)); err != nil {
			return err
		}
	}
	if err := r.wait(s.After); err != nil {
		return err
	}
	switch {
	case s.Repeat > 0 || s.For > 0:
		if s.Repeat == 0 && s.Every <= 0 {
			return &Error{Pos: s.Pos, What: "for without every would never end", Expected: "every: a duration greater than 0s"}
		}
		end := r.now.Add(s.For)
		var started time.Time // the iteration before this one
		for i := 0; s.Repeat == 0 || i < s.Repeat; i++ {
			if err := r.made(s, 0); err != nil {
				return err
			}
			if i > 0 {
				// every runs from one iteration's start to the next; an
				// iteration longer than that is followed by the next at once.
				if err := r.wait(max(0, started.Add(s.Every+r.jitter(s)).Sub(r.now))); err != nil {
					return err
				}
			}
			started = r.now
			if s.Repeat == 0 && !r.now.Before(end) {
				break
			}
			if err := r.steps(s.Steps); err != nil {
				return err
			}
		}
		return nil
	case s.Choose != nil:
		return r.step(r.choose(s.Choose))
	default:
		return r.act(s)
	}
}

func (r *run) choose(cs []Choice) *Step {
	total := 0
	for _, c := range cs {
		total += c.Weight
	}
	n := r.f.IntN(total)
	for i := range cs {
		if n -= cs[i].Weight; n < 0 {
			return &cs[i].Step
		}
	}
	return &cs[len(cs)-1].Step
}

// expects says, per action, what the platform needs for it to be legal.
var expects = map[Action]string{
	ActRegister:          "a SIM batch that is not registered yet",
	ActFactoryTest:       "an Issued SIM",
	ActReportUsage:       "a SIM in Factory Test",
	ActActivate:          "an Issued, Suspended or Factory Test SIM",
	ActSuspend:           "an Activated SIM",
	ActDelete:            "a SIM that no endpoint holds (release it first)",
	ActCreateEndpoint:    "a SIM that no endpoint holds, in the same workspace",
	ActEnable:            "a Disabled endpoint that holds a SIM",
	ActDisable:           "an Enabled endpoint",
	ActAssign:            "an endpoint without SIM and a free SIM of the same workspace",
	ActRelease:           "an endpoint that holds a SIM",
	ActResetConnectivity: "an endpoint that exists",
	ActDeleteEndpoint:    "an endpoint without SIM (release it first)",
	ActMigrate:           "SIMs of one workspace, by a user, with auto-detach: true for SIMs in endpoints",
	ActSendSMS:           "an endpoint that holds a SIM",
}

// act performs a leaf step on each selected member.
func (r *run) act(s *Step) error {
	fail := func(err error) error {
		var pe *Error
		if errors.As(err, &pe) {
			return err
		}
		return &Error{Pos: s.Pos, What: fmt.Sprintf("%s %s: %v", s.Action, describe(s.Target), err), Expected: expects[s.Action], Err: err}
	}
	var calls []func() ([]generator.Event, error)
	var err error
	switch s.Action {
	case ActMigrate:
		calls, err = r.migrateCall(s)
	case ActAssign:
		calls, err = r.assignCalls(s)
	case ActCreateEndpoint:
		calls, err = r.createCalls(s)
	default:
		calls, err = r.memberCalls(s)
	}
	if err != nil {
		return fail(err)
	}
	if s.Target.Pick > 0 {
		shuffle(r.f, calls)
	}
	done := 0
	for _, call := range calls {
		if s.Target.Pick > 0 && done == s.Target.Pick {
			break
		}
		if done > 0 {
			if err := r.wait(s.Every + r.jitter(s)); err != nil {
				return err
			}
		}
		events, err := call()
		if err != nil {
			if s.Target.Pick > 0 && (generator.ErrorCode(err) != 0 || errors.Is(err, errNoActor)) {
				continue // pick passes over members where the action is illegal
			}
			return fail(err)
		}
		if err := r.made(s, len(events)); err != nil {
			return err
		}
		done++
		if r.pace != nil {
			// Played: the events go out with the action, as an API call's
			// do, so the log stays in id order between API calls.
			for _, e := range events {
				if err := r.out(e); err != nil {
					return err
				}
			}
			continue
		}
		r.seq.Push(events)
	}
	return nil
}

func describe(t Target) string {
	switch {
	case t.Group == "":
		return ""
	case t.Pick > 0:
		return fmt.Sprintf("%d of %s", t.Pick, t.Group)
	case t.To == t.From+1:
		return fmt.Sprintf("%s[%d]", t.Group, t.From)
	case t.From > 0 || t.To > 0:
		return fmt.Sprintf("%s[%d:%d]", t.Group, t.From, t.To)
	}
	return t.Group
}

func shuffle[T any](f *gofakeit.Faker, s []T) {
	for i := len(s) - 1; i > 0; i-- {
		j := f.IntN(i + 1)
		s[i], s[j] = s[j], s[i]
	}
}
