package plan

import (
	"errors"
	"iter"
	"time"

	"github.com/emnify-mock/emnify-mock/generator"
)

// Player plays a plan on a world that other changes share: the plan runs
// in segments, each one change (Do) from one wait of the plan to the next,
// at the clock's present. Between segments the world is free for other
// changes, which may make a later segment fail; a failed segment changes
// nothing and ends the play. Groups the plan declares are the player's
// own, so two players of plans with the same group names never act on
// each other's members; groups of earlier runs on the world are visible.
//
// A Player is driven by one caller, under whatever lock guards the world:
// Step runs the next segment; the caller waits on the clock in between.
type Player struct {
	w    *World
	next func() (segment, bool)
	stop func()
	run  *run
	err  error
	done bool
}

type segment struct {
	events []generator.Event
	wait   time.Duration
	err    error
}

// errStopped ends a play that its caller left.
var errStopped = errors.New("play stopped")

// Play returns a player of the plan on the world. Call Stop when done
// with it before it has ended.
func (w *World) Play(plan *Plan) *Player {
	pl := &Player{w: w}
	r := w.newRun(plan, map[string]*group{})
	var pending []generator.Event
	r.emit = func(e generator.Event) error { pending = append(pending, e); return nil }
	pl.run = r
	seq := func(yield func(segment) bool) {
		r.pace = func(d time.Duration) error {
			events := pending
			pending = nil
			if !yield(segment{events: events, wait: d}) {
				return errStopped
			}
			return nil
		}
		err := r.all()
		if errors.Is(err, errStopped) {
			return
		}
		yield(segment{events: pending, err: err})
	}
	pl.next, pl.stop = iter.Pull(iter.Seq[segment](seq))
	return pl
}

// Step runs the next segment as one change: it returns the segment's
// events and how long the plan waits before the next, or done once the
// plan has ended (with err when a segment was refused: nothing of that
// segment happened).
func (pl *Player) Step() (events []generator.Event, wait time.Duration, done bool, err error) {
	if pl.done {
		return nil, 0, true, pl.err
	}
	var seg segment
	var more bool
	events, err = pl.w.Platform.Do(func() ([]generator.Event, error) {
		seg, more = pl.next()
		return seg.events, seg.err
	})
	if !more || seg.wait == 0 || err != nil {
		pl.done, pl.err = true, err
		pl.stop()
		return events, 0, true, err
	}
	return events, seg.wait, false, nil
}

// Summary tells what the play has made so far.
func (pl *Player) Summary() Summary { return pl.run.sum }

// Stop ends the play; its segments so far stay.
func (pl *Player) Stop() {
	pl.done = true
	pl.stop()
}
