package generator

import "time"

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
		s.q.push(queued{ev: e, seq: s.seq})
	}
}

// Pop returns the earliest event if it is not after now.
func (s *Sequencer) Pop(now time.Time) (Event, bool) {
	if len(s.q) == 0 || s.q[0].ev.Timestamp.After(now) {
		return Event{}, false
	}
	return s.q.pop(), true
}

// Drain returns the earliest event whatever the time.
func (s *Sequencer) Drain() (Event, bool) {
	if len(s.q) == 0 {
		return Event{}, false
	}
	return s.q.pop(), true
}

type queued struct {
	ev  Event
	seq uint64
}

// eventQueue is a binary heap of events by timestamp, then by the order
// they were made. Written out rather than with container/heap, whose
// interface boxed every event on its way in and out (two allocations per
// generated event).
type eventQueue []queued

func (q eventQueue) less(i, j int) bool {
	if !q[i].ev.Timestamp.Equal(q[j].ev.Timestamp) {
		return q[i].ev.Timestamp.Before(q[j].ev.Timestamp)
	}
	return q[i].seq < q[j].seq
}

func (q *eventQueue) push(x queued) {
	*q = append(*q, x)
	h := *q
	for i := len(h) - 1; i > 0; {
		parent := (i - 1) / 2
		if !h.less(i, parent) {
			break
		}
		h[i], h[parent] = h[parent], h[i]
		i = parent
	}
}

func (q *eventQueue) pop() Event {
	h := *q
	top := h[0].ev
	last := len(h) - 1
	h[0] = h[last]
	h[last] = queued{} // let go of the event's references
	h = h[:last]
	for i := 0; ; {
		least, l, r := i, 2*i+1, 2*i+2
		if l < len(h) && h.less(l, least) {
			least = l
		}
		if r < len(h) && h.less(r, least) {
			least = r
		}
		if least == i {
			break
		}
		h[i], h[least] = h[least], h[i]
		i = least
	}
	*q = h
	return top
}
