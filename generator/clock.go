package generator

import (
	"container/heap"
	"fmt"
	"strings"
	"sync"
	"time"
)

// Clock tells the time and wakes sleepers. Real follows the wall clock;
// Virtual moves only when told, so a test can run a day of scenario or
// hours of retry back-off in milliseconds and never sleep.
type Clock interface {
	Now() time.Time
	// After returns a channel that receives the time once d has passed.
	After(d time.Duration) <-chan time.Time
}

// Real is the wall clock.
type Real struct{}

var _ Clock = Real{}

// Now returns the current time.
func (Real) Now() time.Time { return time.Now() }

// After waits on the wall clock.
func (Real) After(d time.Duration) <-chan time.Time { return time.After(d) }

// Virtual is a clock that stands still until Advance or Set moves it. It is
// safe for concurrent use.
type Virtual struct {
	mu     sync.Mutex
	now    time.Time
	timers timerHeap
	seq    uint64 // orders timers that fall due together
}

var _ Clock = (*Virtual)(nil)

// NewVirtual returns a virtual clock showing start.
func NewVirtual(start time.Time) *Virtual { return &Virtual{now: start} }

// Now returns the clock's time.
func (v *Virtual) Now() time.Time {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.now
}

// After returns a channel that receives the clock's time once it has been
// advanced by at least d. A d of zero or less fires at once.
func (v *Virtual) After(d time.Duration) <-chan time.Time {
	ch := make(chan time.Time, 1)
	v.mu.Lock()
	defer v.mu.Unlock()
	if d <= 0 {
		ch <- v.now
		return ch
	}
	v.seq++
	heap.Push(&v.timers, timer{at: v.now.Add(d), ch: ch, seq: v.seq})
	return ch
}

// Advance moves the clock forward by d (negative d is ignored) and fires
// every timer that falls due, in order.
func (v *Virtual) Advance(d time.Duration) {
	if d < 0 {
		d = 0
	}
	v.mu.Lock()
	v.setLocked(v.now.Add(d))
	v.mu.Unlock()
}

// Set moves the clock to t if t is later than now.
func (v *Virtual) Set(t time.Time) {
	v.mu.Lock()
	v.setLocked(t)
	v.mu.Unlock()
}

// Next returns when the earliest pending timer fires; ok is false when no
// timer is pending. A driver can Set the clock there to skip idle time.
func (v *Virtual) Next() (at time.Time, ok bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if len(v.timers) == 0 {
		return time.Time{}, false
	}
	return v.timers[0].at, true
}

func (v *Virtual) setLocked(t time.Time) {
	if t.After(v.now) {
		v.now = t
	}
	for len(v.timers) > 0 && !v.timers[0].at.After(v.now) {
		tm := heap.Pop(&v.timers).(timer)
		tm.ch <- tm.at // buffered, never blocks
	}
}

type timer struct {
	at  time.Time
	ch  chan time.Time
	seq uint64
}

type timerHeap []timer

func (h timerHeap) Len() int { return len(h) }
func (h timerHeap) Less(i, j int) bool {
	if !h[i].at.Equal(h[j].at) {
		return h[i].at.Before(h[j].at)
	}
	return h[i].seq < h[j].seq
}
func (h timerHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *timerHeap) Push(x any)   { *h = append(*h, x.(timer)) }
func (h *timerHeap) Pop() any {
	old := *h
	t := old[len(old)-1]
	*h = old[:len(old)-1]
	return t
}

// Shifted is the wall clock moved forward by an offset that Advance grows:
// a running server's clock that a test can push ahead (to expire tokens,
// or to bring a played scenario's next step) without waiting. A wait ends
// when the wall clock gets there or when Advance jumps past it. It is safe
// for concurrent use.
type Shifted struct {
	mu      sync.Mutex
	offset  time.Duration
	waiting map[*shiftedWait]bool
	held    time.Time // the wall clock stands here while a Hold lasts
}

type shiftedWait struct {
	at   time.Time // on the shifted clock
	ch   chan time.Time
	wall *time.Timer
}

var _ Clock = (*Shifted)(nil)

// Now returns the wall-clock time plus the offset.
func (s *Shifted) Now() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.wall().Add(s.offset)
}

// After fires once d has passed on the wall clock, or once Advance has
// moved the clock past now+d, whichever comes first.
func (s *Shifted) After(d time.Duration) <-chan time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	w := &shiftedWait{at: s.wall().Add(s.offset + d), ch: make(chan time.Time, 1)}
	if s.waiting == nil {
		s.waiting = map[*shiftedWait]bool{}
	}
	s.waiting[w] = true
	w.wall = time.AfterFunc(d, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.fire(w)
	})
	return w.ch
}

// fire ends a wait once. Call with mu held.
func (s *Shifted) fire(w *shiftedWait) {
	if s.waiting[w] {
		delete(s.waiting, w)
		w.wall.Stop()
		w.ch <- s.wall().Add(s.offset) // buffered, never blocks
	}
}

// NewShifted returns the wall clock moved by offset, which may be
// negative: a server whose history ends now starts in the past.
func NewShifted(offset time.Duration) *Shifted { return &Shifted{offset: offset} }

// MaxShift is how far ahead of the wall clock a Shifted clock may go:
// beyond it, times stop being representable the way the API writes them.
const MaxShift = 100 * 365 * 24 * time.Hour

// Advance moves the clock forward by d, ending the waits it jumps past. It
// refuses to move more than MaxShift ahead of the wall clock.
func (s *Shifted) Advance(d time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if d <= 0 {
		return nil
	}
	if d > MaxShift || s.offset > MaxShift-d {
		return fmt.Errorf("the clock may run at most %s ahead of the wall clock; it is %s ahead", FormatDuration(MaxShift), FormatDuration(s.offset))
	}
	s.offset += d
	now := s.wall().Add(s.offset)
	for w := range s.waiting {
		if !w.at.After(now) {
			s.fire(w)
		}
	}
	return nil
}

// wall is the wall clock, or where a Hold stopped it. Call with mu held.
func (s *Shifted) wall() time.Time {
	if !s.held.IsZero() {
		return s.held
	}
	return time.Now()
}

// Hold stops the wall clock at wall (zero: now) until release is called,
// and returns that instant. A change made under a hold reads one instant
// however long it takes, and a server that replays its journal (serve
// --data-dir) holds the clock at each change's recorded instant, so that
// the change comes out the same. Waits still end on the real wall clock.
// A hold while another lasts changes nothing: its release does nothing.
func (s *Shifted) Hold(wall time.Time) (at time.Time, release func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.held.IsZero() {
		return s.held, func() {}
	}
	if wall.IsZero() {
		wall = time.Now().Round(0) // no monotonic reading: a replayed instant has none
	}
	s.held = wall
	return wall, func() {
		s.mu.Lock()
		s.held = time.Time{}
		s.mu.Unlock()
	}
}

// Offset returns how far the clock is ahead of the wall clock.
func (s *Shifted) Offset() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.offset
}

// Instant is a virtual clock on which every wait ends at once and moves
// the clock forward by its length: hours of retry back-off run in
// microseconds, and Now tells how much virtual time they took. It is safe
// for concurrent use.
type Instant struct {
	mu  sync.Mutex
	now time.Time
}

var _ Clock = (*Instant)(nil)

// NewInstant returns an instant clock showing start.
func NewInstant(start time.Time) *Instant { return &Instant{now: start} }

// Now returns the clock's time.
func (c *Instant) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// After moves the clock forward by d and fires at once.
func (c *Instant) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	if d > 0 {
		c.now = c.now.Add(d)
	}
	t := c.now
	c.mu.Unlock()
	ch := make(chan time.Time, 1)
	ch <- t
	return ch
}

// advance moves a clock that can be moved on by d.
func advance(c Clock, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	switch c := c.(type) {
	case *Virtual:
		c.Advance(d)
	case *Shifted:
		return c.Advance(d)
	case *Instant:
		<-c.After(d)
	}
	return nil
}

// FormatDuration writes a duration as scenarios spell it: "1h", "2h30m",
// "90s", not "1h0m0s".
func FormatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}
