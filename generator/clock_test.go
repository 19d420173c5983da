package generator_test

import (
	"testing"
	"time"

	"github.com/emnify-mock/emnify-mock/generator"
)

func TestVirtual_AfterFiresOnAdvance(t *testing.T) {
	c := generator.NewVirtual(t0)
	hour := c.After(time.Hour)
	minute := c.After(time.Minute)
	c.Advance(30 * time.Second)
	select {
	case <-minute:
		t.Fatal("fired after 30s of a 1m timer")
	default:
	}
	if at, ok := c.Next(); !ok || !at.Equal(t0.Add(time.Minute)) {
		t.Fatalf("Next = %v, %v; want %v", at, ok, t0.Add(time.Minute))
	}
	c.Advance(24 * time.Hour)
	if got := <-minute; !got.Equal(t0.Add(time.Minute)) {
		t.Errorf("minute timer got %v", got)
	}
	if got := <-hour; !got.Equal(t0.Add(time.Hour)) {
		t.Errorf("hour timer got %v", got)
	}
	if got, want := c.Now(), t0.Add(24*time.Hour+30*time.Second); !got.Equal(want) {
		t.Errorf("Now = %v, want %v", got, want)
	}
	c.Set(t0) // never backwards
	if got, want := c.Now(), t0.Add(24*time.Hour+30*time.Second); !got.Equal(want) {
		t.Errorf("after Set to the past, Now = %v, want %v", got, want)
	}
}

// TestShifted_AdvanceEndsWaits: a wait ends when Advance jumps past it,
// or on the wall clock; one not yet reached keeps waiting.
func TestShifted_AdvanceEndsWaits(t *testing.T) {
	var c generator.Shifted
	hour, day := c.After(time.Hour), c.After(24*time.Hour)
	short := c.After(10 * time.Millisecond)
	c.Advance(2 * time.Hour)
	select {
	case got := <-hour:
		if time.Until(got) < 2*time.Hour-time.Minute {
			t.Errorf("fired at %v: not on the shifted clock", got)
		}
	case <-time.After(time.Second):
		t.Fatal("Advance past the hour did not end its wait")
	}
	select {
	case <-day:
		t.Fatal("a wait of a day ended after 2h")
	case <-short: // the wall clock ends this one (or Advance did)
	case <-time.After(5 * time.Second):
		t.Fatal("a 10ms wait never ended")
	}
	c.Advance(23 * time.Hour)
	select {
	case <-day:
	case <-time.After(time.Second):
		t.Fatal("Advance past the day did not end its wait")
	}
}
