package server

import (
	"context"
	"math"
	"math/rand/v2"
	"time"

	"github.com/emnify-mock/emnify-mock/generator"
)

// maxTries bounds how many random actions one live instant tries before
// it gives up: the walk proposes actions the state machines refuse.
const maxTries = 100

// Live runs the fleet's daily life until ctx ends: about perSecond state
// changes a second, at random instants (a Poisson process on the server's
// clock), each through the platform's state machines on behalf of a user
// or application token of a workspace, its events appended as an API
// call's are, and so pushed to data streams. A refused action is
// replaced by another at once, so every instant changes something. Live
// acts on whatever world the server holds, also after a restore.
func (s *Server) Live(ctx context.Context, perSecond float64) {
	if perSecond <= 0 {
		return
	}
	mean := float64(time.Second) / perSecond
	for {
		// The gaps come from a source of their own: the world's seeded
		// source changes only with the world, in the journal's order.
		gap := time.Duration(-math.Log(1-rand.Float64()) * mean)
		select {
		case <-ctx.Done():
			return
		case <-s.clock.After(max(gap, time.Millisecond)):
		}
		s.change(record{Kind: kindLive}, func() error { s.liveInstant(); return nil })
	}
}

// liveInstant is one instant of the living fleet: a random action, or
// another if the state machines refuse it, up to maxTries; s.walk keeps
// each workspace near its size.
func (s *Server) liveInstant() {
	s.apply(func() ([]generator.Event, error) {
		var err error
		for range maxTries {
			var events []generator.Event
			if events, err = s.walk.Act(s.world.Platform); err == nil {
				return events, nil
			}
		}
		return nil, err
	})
}
