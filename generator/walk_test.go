package generator_test

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emnify-mock/emnify-mock/generator"
)

// The checker below is written from the rules (design.md, emnify-api.md §8),
// not from the state machine: it keeps its own model of every SIM and
// endpoint, predicts whether each attempted action is legal and which events
// it must emit, and compares with what the platform did.

type mSIM struct {
	status     int // 0 Issued, 1 Activated, 2 Suspended, 3 Deleted, 4 Factory Test
	ep         int64
	ws         int64
	bytes, sms int64
}

type mEP struct {
	enabled bool
	sim     int64
	ws      int64
	deleted bool
	imei    bool
}

type model struct {
	sims map[int64]*mSIM
	eps  map[int64]*mEP
}

// want is one expected event: its type and the SIM or endpoint it is about.
type want struct {
	typ    int
	sim    int64
	ep     int64
	desc   string // exact description, when the rules fix it
	policy bool   // made by Policy Control, not the actor
}

func TestPlatform_RandomWalkFollowsTheRules(t *testing.T) {
	const actions, nSIMs = 100_000, 1_000
	rng := rand.New(rand.NewPCG(11, 12))
	clk := generator.NewVirtual(t0)
	p := generator.NewPlatform(clk, 11)
	m := &model{sims: map[int64]*mSIM{}, eps: map[int64]*mEP{}}
	var ws []*generator.Workspace
	for i := range 2 {
		w, err := p.NewWorkspace(generator.WorkspaceSpec{Users: []string{"", ""}, IPSpace: netip.MustParsePrefix(fmt.Sprintf("10.%d.0.0/16", 100+i))})
		if err != nil {
			t.Fatal(err)
		}
		ws = append(ws, w)
	}
	// The first users of both workspaces are one person, with a role in
	// each: only they may migrate SIMs between them.
	p.SamePerson(ws[1].Users[0], ws[0].Users[0])
	// Every SIM and endpoint ever made, deleted ones too, so the walk also
	// tries actions on entities that are gone.
	var sims []*generator.SIM
	var eps []*generator.Endpoint
	var batches []*generator.Batch
	for i := range nSIMs {
		w := ws[i%2]
		st := []generator.SIMStatus{0, 1, 2, 4}[rng.IntN(4)]
		s, err := p.ProvisionSIM(w, st)
		if err != nil {
			t.Fatal(err)
		}
		sims = append(sims, s)
		m.sims[s.ID] = &mSIM{status: int(st), ws: w.ID}
		if rng.IntN(2) == 0 {
			ep, err := p.ProvisionEndpoint(w, generator.EndpointSpec{SIM: s, Status: generator.EndpointStatus(rng.IntN(2)), IMEI: p.IDs.IMEISV()})
			if err != nil {
				t.Fatal(err)
			}
			eps = append(eps, ep)
			m.eps[ep.ID] = &mEP{enabled: ep.Status == generator.EndpointEnabled, sim: s.ID, ws: w.ID, imei: true}
			m.sims[s.ID].ep = ep.ID
		}
	}

	var lastTS time.Time
	var lastID int64
	pendingTargets := map[int64]bool{}
	counts := map[int]int{}
	refused := 0
	for step := range actions {
		clk.Advance(time.Duration(rng.IntN(5000)) * time.Millisecond)
		w := ws[rng.IntN(2)]
		actor := generator.ByUser(w.Users[rng.IntN(2)])
		isUser := true
		if rng.IntN(3) == 0 {
			actor, isUser = generator.ByToken(w.Tokens[0]), false
		}
		s := sims[rng.IntN(len(sims))]
		var ep *generator.Endpoint
		if len(eps) > 0 {
			ep = eps[rng.IntN(len(eps))]
		}
		ms := m.sims[s.ID]
		var me *mEP
		if ep != nil {
			me = m.eps[ep.ID]
		}

		var events []generator.Event
		var err error
		var legal bool
		var wants []want
		var after func() // model update once the platform accepted
		kind := rng.IntN(14)
		if ep == nil && kind >= 5 && kind <= 9 {
			kind = 0
		}
		switch kind {
		case 0:
			legal = ms.status == 0 || ms.status == 2 || ms.status == 4
			if legal {
				wants = []want{{8, s.ID, 0, fmt.Sprintf("Status of SIM changed from '%s' to 'Activated'", generator.SIMStatus(ms.status)), false}}
			}
			after = func() { ms.status = 1 }
			events, err = p.ActivateSIM(actor, s)
		case 1:
			legal = ms.status == 1
			wants = []want{{9, s.ID, 0, "Status of SIM changed from 'Activated' to 'Suspended'", false}}
			after = func() { ms.status = 2 }
			events, err = p.SuspendSIM(actor, s)
		case 2:
			legal = ms.status == 0
			wants = []want{{45, s.ID, 0, "Status of SIM changed from 'Issued' to 'Factory Test'", false}}
			after = func() { ms.status = 4 }
			events, err = p.StartFactoryTest(actor, s)
		case 3:
			b, n := int64(rng.IntN(40_000)), rng.IntN(4)
			legal = ms.status == 4
			if legal && (ms.bytes+b >= 100*1024 || ms.sms+int64(n) >= 10) {
				wants = []want{{8, s.ID, 0, "SIM activated after factory test volume reached.", true}}
			}
			after = func() {
				ms.bytes, ms.sms = ms.bytes+b, ms.sms+int64(n)
				if len(wants) > 0 {
					ms.status = 1
				}
			}
			events, err = p.ReportTestUsage(s, b, n)
		case 4:
			legal = ms.status != 3 && ms.ep == 0
			wants = []want{{10, s.ID, 0, "", false}}
			after = func() { ms.status = 3 }
			events, err = p.DeleteSIM(actor, s)
		case 5:
			legal = !me.deleted && !me.enabled && me.sim != 0
			wants = []want{{42, me.sim, ep.ID, fmt.Sprintf("Status of Endpoint %d changed to Enabled", ep.ID), false}}
			after = endsFactoryTest(m, me, &wants, "SIM activated after endpoint status change during factory test.", func() { me.enabled = true })
			events, err = p.EnableEndpoint(actor, ep)
		case 6:
			legal = !me.deleted && me.enabled
			wants = []want{{43, me.sim, ep.ID, fmt.Sprintf("Status of Endpoint %d changed to Disabled", ep.ID), false}}
			after = endsFactoryTest(m, me, &wants, "SIM activated after endpoint status change during factory test.", func() { me.enabled = false })
			events, err = p.DisableEndpoint(actor, ep)
		case 7:
			legal = !me.deleted && me.sim == 0 && ms.status != 3 && ms.ep == 0 && ms.ws == me.ws
			wants = []want{{51, s.ID, ep.ID, fmt.Sprintf("SIM %d assigned to endpoint %d", s.ID, ep.ID), false}}
			after = func() { me.sim, ms.ep = s.ID, ep.ID }
			events, err = p.AssignSIM(actor, ep, s)
		case 8:
			legal = !me.deleted && me.sim != 0
			wants = []want{{50, me.sim, ep.ID, fmt.Sprintf("SIM %d released from endpoint %d", me.sim, ep.ID), false}}
			after = func() { m.sims[me.sim].ep, me.sim = 0, 0 }
			events, err = p.ReleaseSIM(actor, ep)
		case 9:
			legal = !me.deleted
			wants = []want{{68, me.sim, ep.ID, "Endpoint connectivity reset triggered", false}}
			after = endsFactoryTest(m, me, &wants, "SIM activated after connectivity reset during factory test.", func() {})
			events, err = p.ResetConnectivity(actor, ep)
		case 10:
			withSIM := rng.IntN(2) == 0
			spec := generator.EndpointSpec{Status: generator.EndpointStatus(rng.IntN(2)), ActivateSIM: rng.IntN(2) == 0, FactoryTest: rng.IntN(4) == 0}
			legal = true
			if withSIM {
				spec.SIM = s
				legal = ms.status != 3 && ms.ep == 0 && ms.ws == w.ID
				switch {
				case ms.status == 0 && spec.FactoryTest:
					wants = append(wants, want{45, s.ID, 0, "Status of SIM changed from 'Issued' to 'Factory Test'", false})
				case ms.status == 0 && spec.ActivateSIM:
					wants = append(wants, want{8, s.ID, 0, "Status of SIM changed from 'Issued' to 'Activated'", false})
				}
				wants = append(wants, want{51, s.ID, 0, "", false})
			}
			var created *generator.Endpoint
			created, events, err = p.CreateEndpoint(actor, w, spec)
			after = func() {
				eps = append(eps, created)
				ne := &mEP{enabled: spec.Status == generator.EndpointEnabled, ws: w.ID}
				m.eps[created.ID] = ne
				if withSIM {
					ne.sim, ms.ep = s.ID, created.ID
					switch {
					case ms.status == 0 && spec.FactoryTest:
						ms.status = 4
					case ms.status == 0 && spec.ActivateSIM:
						ms.status = 1
					}
					wants[len(wants)-1].desc = fmt.Sprintf("SIM %d assigned to endpoint %d", s.ID, created.ID)
				}
			}
		case 11:
			if ep == nil {
				continue
			}
			legal = !me.deleted && me.sim == 0
			after = func() { me.deleted = true }
			err = p.DeleteEndpoint(ep)
		case 12:
			if len(batches) == 0 || rng.IntN(3) > 0 {
				b, berr := p.NewBatch(w, 1+rng.IntN(5))
				if berr != nil {
					t.Fatal(berr)
				}
				batches = append(batches, b)
			}
			b := batches[rng.IntN(len(batches))]
			target := []generator.SIMStatus{0, 1, 4}[rng.IntN(3)]
			owner := w
			if !slices.Contains(w.Batches(), b) {
				owner = ws[1-slices.Index(ws, w)]
			}
			legal = !b.Registered && owner == w
			wants = []want{{48, b.SIMs[0].ID, 0, fmt.Sprintf("Batch of %d SIM(s) registered.", len(b.SIMs)), false}}
			for _, bs := range b.SIMs {
				if target == 1 {
					wants = append(wants, want{8, bs.ID, 0, "Status of SIM changed from 'Issued' to 'Activated'", false})
				} else if target == 4 {
					wants = append(wants, want{45, bs.ID, 0, "Status of SIM changed from 'Issued' to 'Factory Test'", false})
				}
			}
			after = func() {
				for _, bs := range b.SIMs {
					sims = append(sims, bs)
					m.sims[bs.ID] = &mSIM{status: int(target), ws: w.ID}
				}
			}
			events, err = p.RegisterBatch(actor, w, b, target)
		case 13:
			var group []*generator.SIM
			for range 1 + rng.IntN(3) {
				group = append(group, sims[rng.IntN(len(sims))])
			}
			target := ws[rng.IntN(2)]
			auto := rng.IntN(2) == 0
			src := m.sims[group[0].ID].ws
			member := func(id int64) bool { return actor.User == w.Users[0] || id == w.ID }
			legal = isUser && member(src) && member(target.ID)
			for i, g := range group {
				mg := m.sims[g.ID]
				if mg.status == 3 || mg.ws != src || mg.ws == target.ID || (mg.ep != 0 && !auto) || slices.Index(group, g) != i {
					legal = false
				}
			}
			for _, g := range group {
				mg := m.sims[g.ID]
				if mg.status == 1 {
					wants = append(wants, want{9, g.ID, 0, "Status of SIM changed from 'Activated' to 'Suspended'", false})
				}
				if mg.ep != 0 {
					wants = append(wants, want{50, g.ID, mg.ep, fmt.Sprintf("SIM %d released from endpoint %d", g.ID, mg.ep), false})
				}
			}
			wants = append(wants, want{69, 0, 0, "", false}, want{69, 0, 0, "", false})
			after = func() {
				for _, g := range group {
					mg := m.sims[g.ID]
					if mg.status == 1 {
						mg.status = 2
					}
					if mg.ep != 0 {
						m.eps[mg.ep].sim, mg.ep = 0, 0
					}
					mg.ws = target.ID
				}
			}
			events, err = p.MigrateSIMs(actor, group, target, auto)
		}

		if (err == nil) != legal {
			t.Fatalf("step %d, action %d: platform said %v, the rules say legal=%v", step, kind, err, legal)
		}
		if err != nil {
			if len(events) != 0 {
				t.Fatalf("step %d: refused action emitted %d events: %v", step, len(events), err)
			}
			refused++
			continue
		}
		if len(events) != len(wants) {
			t.Fatalf("step %d, action %d: got %d events, want %d (%v)", step, kind, len(events), len(wants), types(events))
		}
		after()
		for i, e := range events {
			wt := wants[i]
			counts[e.Type.ID]++
			if e.Type.ID != wt.typ {
				t.Fatalf("step %d: event %d is type %d, want %d", step, i, e.Type.ID, wt.typ)
			}
			if wt.desc != "" && e.Description != wt.desc {
				t.Fatalf("step %d: description %q, want %q", step, e.Description, wt.desc)
			}
			if wt.sim != 0 && (e.SIM == nil || e.SIM.ID != wt.sim) {
				t.Fatalf("step %d: event %s is not about SIM %d", step, e.AppendJSON(nil), wt.sim)
			}
			if wt.ep != 0 && (e.Endpoint == nil || e.Endpoint.ID != wt.ep) {
				t.Fatalf("step %d: event %s is not about endpoint %d", step, e.AppendJSON(nil), wt.ep)
			}
			policy := e.Source.ID == 1
			if policy != wt.policy || (e.User != nil) != (isUser && !policy) {
				t.Fatalf("step %d: source %v / user %v do not fit the actor (user=%v)", step, e.Source, e.User, isUser)
			}
			checkOrder(t, step, e, &lastTS, &lastID, pendingTargets)
		}
	}
	for _, typ := range generator.DeviceStatusTypes {
		if counts[int(typ)] == 0 {
			t.Errorf("the walk never produced event type %d", typ)
		}
	}
	if refused < actions/10 || refused > actions*9/10 {
		t.Errorf("refused %d of %d actions: the walk should try both legal and illegal ones", refused, actions)
	}
	t.Logf("%d actions, %d refused, events by type: %v", actions, refused, counts)
}

// checkOrder: timestamps never go back and ids grow, except that the target
// half of a migration repeats its source's id a second later.
func checkOrder(t *testing.T, step int, e generator.Event, lastTS *time.Time, lastID *int64, targets map[int64]bool) {
	t.Helper()
	if e.Type.ID == 69 {
		var d generator.MigrationDetail
		if err := json.Unmarshal(e.Detail, &d); err != nil {
			t.Fatalf("step %d: migration detail: %v", step, err)
		}
		if d.Type == "target" {
			if !targets[e.ID] {
				t.Fatalf("step %d: target migration event %d has no source", step, e.ID)
			}
			delete(targets, e.ID)
			return
		}
		targets[e.ID] = true
	}
	if e.Timestamp.Before(*lastTS) || e.ID <= *lastID {
		t.Fatalf("step %d: event %d at %s after event %d at %s", step, e.ID, e.Timestamp, *lastID, *lastTS)
	}
	*lastTS, *lastID = e.Timestamp, e.ID
}

func types(events []generator.Event) string {
	var s []string
	for _, e := range events {
		s = append(s, fmt.Sprint(e.Type.ID))
	}
	return strings.Join(s, ",")
}

// endsFactoryTest: an endpoint status change or a reset activates the
// endpoint's SIM if it is in Factory Test, by Policy Control, after the
// endpoint's own event (emnify-api.md §8.2). It adds that to wants and
// returns the model update.
func endsFactoryTest(m *model, me *mEP, wants *[]want, desc string, update func()) func() {
	ft := me.sim != 0 && m.sims[me.sim].status == 4
	if ft {
		*wants = append(*wants, want{8, me.sim, 0, desc, true})
	}
	return func() {
		update()
		if ft {
			m.sims[me.sim].status = 1
		}
	}
}
