package generator

import (
	"container/heap"
	"time"
)

// Sequencer holds events until the clock has passed them and hands them
// out in timestamp order. Actions stamp their events at or after the clock,
// but the target half of a migration lies a second ahead, and events of
// later actions may come before it.
type Sequencer struct {
	q   eventQueue
	seq uint64
}

// Push queues events.
func (s *Sequencer) Push(events []Event) {
	for _, e := range events {
		s.seq++
		heap.Push(&s.q, queued{ev: e, seq: s.seq})
	}
}

// Pop returns the earliest event if it is not after now.
func (s *Sequencer) Pop(now time.Time) (Event, bool) {
	if len(s.q) == 0 || s.q[0].ev.Timestamp.After(now) {
		return Event{}, false
	}
	return heap.Pop(&s.q).(queued).ev, true
}

// Drain returns the earliest event whatever the time.
func (s *Sequencer) Drain() (Event, bool) {
	if len(s.q) == 0 {
		return Event{}, false
	}
	return heap.Pop(&s.q).(queued).ev, true
}

type queued struct {
	ev  Event
	seq uint64
}

// eventQueue orders events by timestamp, then by the order they were made.
type eventQueue []queued

func (q eventQueue) Len() int { return len(q) }
func (q eventQueue) Less(i, j int) bool {
	if !q[i].ev.Timestamp.Equal(q[j].ev.Timestamp) {
		return q[i].ev.Timestamp.Before(q[j].ev.Timestamp)
	}
	return q[i].seq < q[j].seq
}
func (q eventQueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *eventQueue) Push(x any)   { *q = append(*q, x.(queued)) }
func (q *eventQueue) Pop() any {
	old := *q
	x := old[len(old)-1]
	*q = old[:len(old)-1]
	return x
}
