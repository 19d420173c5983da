package generator

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

// TestAppendTime: the written-out timestamp is time.AppendFormat's, at
// instants all over the range, in any zone.
func TestAppendTime(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	zone := time.FixedZone("x", -5*3600)
	for i := range 100_000 {
		at := time.Unix(r.Int64N(253402300799), r.Int64N(1e9)) // years 1970-9999
		if i%2 == 1 {
			at = at.In(zone)
		}
		want := `"` + at.UTC().Format(TimestampLayout) + `"`
		if got := string(appendTime(nil, at)); got != want {
			t.Fatalf("%v: %s, want %s", at, got, want)
		}
	}
	for _, at := range []time.Time{{}, time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC)} {
		if got, want := string(appendTime(nil, at)), `"`+at.Format(TimestampLayout)+`"`; got != want {
			t.Errorf("%v: %s, want %s", at, got, want)
		}
	}
}

// TestKeepTx_LetsGoOfALargeJournal: the journal kept for the next change
// is small whatever the last change touched.
func TestKeepTx_LetsGoOfALargeJournal(t *testing.T) {
	p := &Platform{}
	big := &tx{saved: map[any]bool{}}
	for i := range 5000 {
		s := &SIM{ID: int64(i)}
		big.sims = append(big.sims, savedSIM{s, *s})
		big.undo = append(big.undo, inverse{sim: int32(len(big.sims))})
		big.saved[s] = true
	}
	p.keepTx(big)
	if cap(p.spareTx.undo) > 1<<10 || cap(p.spareTx.sims) > 1<<10 || len(p.spareTx.saved) > 0 {
		t.Errorf("kept a journal of %d entries (%d saved)", cap(p.spareTx.undo), len(p.spareTx.saved))
	}
	small := &tx{saved: map[any]bool{}, undo: make([]inverse, 3, 16)}
	p.keepTx(small)
	if p.spareTx != small || len(small.undo) != 0 || cap(small.undo) != 16 || small.undo[:3][0].fn != nil {
		t.Error("a small journal is not kept emptied for reuse")
	}
}

// TestPadded: identities are written as fmt's %0*d would, also past the
// width.
func TestPadded(t *testing.T) {
	for _, n := range []uint64{0, 7, 42, 999_999, 1_000_000, 123_456_789_012, 1<<64 - 1} {
		for _, width := range []int{0, 2, 6, 9, 12} {
			if got, want := padded("8988", n, width, "x"), fmt.Sprintf("8988%0*dx", width, n); got != want {
				t.Errorf("padded(%d, %d): %s, want %s", n, width, got, want)
			}
		}
	}
}

// TestRecycle: a platform writes the next action's events where the last
// ones were handed back, and events handed back that the caller still
// holds are not touched until then.
func TestRecycle(t *testing.T) {
	c, err := NewChurn(1, ChurnOptions{})
	if err != nil {
		t.Fatal(err)
	}
	p := c.Platform()
	var sims []*SIM
	for _, w := range p.Workspaces() {
		for _, s := range w.SIMs() {
			if s.Status == SIMActivated {
				sims = append(sims, s)
			}
		}
	}
	if len(sims) < 2 {
		t.Fatal("the churn has fewer than two activated SIMs")
	}
	first, err := p.Do(func() ([]Event, error) { return p.SuspendSIM(Actor{}, sims[0]) })
	if err != nil {
		t.Fatal(err)
	}
	kept := first[0]
	p.Recycle(first)
	second, err := p.Do(func() ([]Event, error) { return p.SuspendSIM(Actor{}, sims[1]) })
	if err != nil {
		t.Fatal(err)
	}
	if &second[:1][0] != &first[:1][0] {
		t.Error("the second action did not write its events where the first's were handed back")
	}
	if kept.SIM.ID != sims[0].ID || second[0].SIM.ID != sims[1].ID {
		t.Errorf("events: %d then %d, want %d then %d", kept.SIM.ID, second[0].SIM.ID, sims[0].ID, sims[1].ID)
	}
}
