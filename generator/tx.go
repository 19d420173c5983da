package generator

import (
	"math/rand/v2"
	"net/netip"
	"time"
)

// Every change to a Platform is a transaction: Do applies an operation
// completely or not at all. The operation may call any number of actions;
// when it returns an error, every change it made (to SIMs, endpoints,
// workspaces, batches, identities and the event stamps) is undone from a
// journal, so a composite change (a PATCH with several fields, a migration,
// a whole scenario) never leaves half of itself behind. A dry run is the
// same operation, always undone: its verdict is the real run's.
//
// The journal records an inverse for each mutation, once per entity for
// field changes, so it grows with what the operation touches, not with the
// size of the world.

// tx is the change in progress. One is reused from change to change (a
// change per generated event: its map and journal were most of the
// garbage of generate).
type tx struct {
	at    time.Time // the instant the change happens at; a scenario run moves it
	undo  []inverse
	saved map[any]bool // entities whose fields are journaled already
	sims  []savedSIM
	eps   []savedEndpoint

	// What every change may move, as it was before: identities with
	// their random state, the event stamps, the workspace list.
	ids       Identities
	pcg       rand.PCG
	lastStamp time.Time
	lastID    int64
	nws       int
}

// Do applies op as one change at the clock's present: it returns op's
// events, or op's error and no change at all. Inside op, the platform's
// actions and Now see the change's instant. A Do inside op is part of the
// enclosing change.
func (p *Platform) Do(op func() ([]Event, error)) ([]Event, error) {
	return p.DoAt(time.Time{}, op)
}

// DoAt is Do at a given instant (zero: the clock's present).
func (p *Platform) DoAt(at time.Time, op func() ([]Event, error)) ([]Event, error) {
	return p.transact(at, false, op)
}

// DryRun runs op as Do would and then undoes it, whatever op returned: its
// events and error are exactly what Do would give now.
func (p *Platform) DryRun(op func() ([]Event, error)) ([]Event, error) {
	return p.transact(time.Time{}, true, op)
}

func (p *Platform) transact(at time.Time, dry bool, op func() ([]Event, error)) (events []Event, err error) {
	if p.tx != nil { // nested: part of the enclosing change
		return op()
	}
	if at.IsZero() {
		at = p.clock.Now()
	}
	start := at.UTC()
	p.tx, p.spareTx = p.spareTx, nil
	if p.tx == nil {
		p.tx = &tx{saved: map[any]bool{}}
	}
	p.tx.at = start
	p.journalStart()
	defer func() {
		t := p.tx
		p.tx = nil
		defer p.keepTx(t)
		if v := recover(); v != nil {
			t.rollback(p)
			panic(v)
		}
		if err != nil || dry {
			t.rollback(p)
			return
		}
		// A change that moved its instant on (a scenario run that spans
		// time) leaves the clock that much later: the clock never shows a
		// time before the last change.
		err = advance(p.clock, t.at.Sub(start))
	}()
	return op()
}

// inverse undoes one mutation: a function, or, for the entities changed
// most, a SIM's or an endpoint's fields as they were (sim or ep: an index
// from 1 into tx.sims or tx.eps), kept without a closure each.
type inverse struct {
	fn      func()
	sim, ep int32
}

type savedSIM struct {
	at  *SIM
	was SIM
}

type savedEndpoint struct {
	at  *Endpoint
	was Endpoint
}

func (t *tx) rollback(p *Platform) {
	for i := len(t.undo) - 1; i >= 0; i-- {
		switch u := t.undo[i]; {
		case u.fn != nil:
			u.fn()
		case u.sim > 0:
			s := &t.sims[u.sim-1]
			*s.at = s.was
		case u.ep > 0:
			e := &t.eps[u.ep-1]
			*e.at = e.was
		}
	}
	fake := p.IDs.fake
	*p.IDs = t.ids
	p.IDs.fake = fake
	*fake.Rand.(*rand.PCG) = t.pcg
	p.lastStamp, p.lastID = t.lastStamp, t.lastID
	clear(p.workspaces[t.nws:])
	p.workspaces = p.workspaces[:t.nws]
}

// keepTx keeps a finished change's tx for the next, emptied; after a
// large change (a scenario provisioning a fleet) it keeps none of its
// journal, which would hold hundreds of bytes per entity changed.
func (p *Platform) keepTx(t *tx) {
	const keep = 1 << 10
	if cap(t.undo) > keep || len(t.saved) > keep || cap(t.sims) > keep || cap(t.eps) > keep {
		t.undo, t.saved, t.sims, t.eps = nil, map[any]bool{}, nil, nil
	}
	clear(t.undo) // let go of what the inverses hold
	clear(t.sims)
	clear(t.eps)
	t.undo, t.sims, t.eps = t.undo[:0], t.sims[:0], t.eps[:0]
	if len(t.saved) > 64 { // clearing a map costs what it ever held: a large change's would tax every small one after it
		t.saved = map[any]bool{}
	} else {
		clear(t.saved)
	}
	p.spareTx = t
}

// Clock returns the platform's clock.
func (p *Platform) Clock() Clock { return p.clock }

// Now returns the instant of the change in progress, or the clock's
// present outside one.
func (p *Platform) Now() time.Time {
	if p.tx != nil {
		return p.tx.at
	}
	return p.clock.Now().UTC()
}

// MoveTo moves the change in progress to a later instant (an earlier one
// is ignored): a scenario run waits inside one change. Once the change
// commits, the clock is moved on by as much.
func (p *Platform) MoveTo(t time.Time) {
	if p.tx != nil && t.After(p.tx.at) {
		p.tx.at = t.UTC()
	}
}

// onUndo journals an inverse; outside a change there is nothing to undo.
func (p *Platform) onUndo(f func()) {
	if p.tx != nil {
		p.tx.undo = append(p.tx.undo, inverse{fn: f})
	}
}

// journalStart keeps what every change may move: identities with their
// random state, the event stamps, the workspace list (rollback puts them
// back after the inverses).
func (p *Platform) journalStart() {
	t := p.tx
	t.ids, t.pcg = *p.IDs, *p.IDs.fake.Rand.(*rand.PCG)
	t.lastStamp, t.lastID, t.nws = p.lastStamp, p.lastID, len(p.workspaces)
}

// Save journals an entity's fields before the first change to them in
// the change in progress. With SetKey it lets state kept beside the
// platform (the plan package's names and groups) be part of a change.
func Save[T any](p *Platform, x *T) {
	if p.tx == nil || p.tx.saved[x] {
		return
	}
	p.tx.saved[x] = true
	switch e := any(x).(type) {
	case *SIM:
		p.tx.sims = append(p.tx.sims, savedSIM{e, *e})
		p.tx.undo = append(p.tx.undo, inverse{sim: int32(len(p.tx.sims))})
	case *Endpoint:
		p.tx.eps = append(p.tx.eps, savedEndpoint{e, *e})
		p.tx.undo = append(p.tx.undo, inverse{ep: int32(len(p.tx.eps))})
	default:
		old := *x
		p.onUndo(func() { *x = old })
	}
}

// SetKey sets m[k] as part of the change in progress.
func SetKey[K comparable, V any](p *Platform, m map[K]V, k K, v V) {
	old, had := m[k]
	m[k] = v
	p.onUndo(func() {
		if had {
			m[k] = old
		} else {
			delete(m, k)
		}
	})
}

func deleteKey[K comparable, V any](p *Platform, m map[K]V, k K) {
	old, had := m[k]
	if !had {
		return
	}
	delete(m, k)
	p.onUndo(func() { m[k] = old })
}

// The workspace's member lists change by insertion and removal, each
// journaled with its inverse, so undoing costs what the change cost.

// insertJournaled inserts x into a list kept in id order.
func insertJournaled[T identified](p *Platform, list *[]T, x T) {
	*list = insertByID(*list, x)
	p.onUndo(func() { *list = removeByID(*list, x) })
}

// removeJournaled removes x from a list kept in id order.
func removeJournaled[T identified](p *Platform, list *[]T, x T) {
	*list = removeByID(*list, x)
	p.onUndo(func() { *list = insertByID(*list, x) })
}

// appendTo appends to a list that only grows within a change.
func appendTo[T any](p *Platform, list *[]T, x T) {
	n := len(*list)
	*list = append(*list, x)
	p.onUndo(func() {
		clear((*list)[n:])
		*list = (*list)[:n]
	})
}

func (p *Platform) removeBatchFrom(w *Workspace, b *Batch) {
	for i, x := range w.batches {
		if x == b {
			w.batches = append(w.batches[:i:i], w.batches[i+1:]...)
			p.onUndo(func() { w.batches = insertAt(w.batches, i, b) })
			return
		}
	}
}

func insertAt[T any](list []T, i int, x T) []T {
	out := make([]T, 0, len(list)+1)
	out = append(out, list[:i]...)
	out = append(out, x)
	return append(out, list[i:]...)
}

// IP addresses: each allocation, choice and release undone by its inverse.

func (p *Platform) allocateIP(w *Workspace) (netip.Addr, error) {
	space := w.IPSpace
	cursor := space.cursor
	ip, err := space.Allocate()
	if err == nil {
		p.onUndo(func() { space.Release(ip); space.cursor = cursor })
	}
	return ip, err
}

func (p *Platform) takeIP(w *Workspace, ip netip.Addr) bool {
	space := w.IPSpace
	if !space.Take(ip) {
		return false
	}
	p.onUndo(func() { space.Release(ip) })
	return true
}

func (p *Platform) releaseIP(w *Workspace, ip netip.Addr) {
	space := w.IPSpace
	if space.Release(ip) {
		p.onUndo(func() { space.Take(ip) })
	}
}
