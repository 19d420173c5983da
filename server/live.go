package server

import (
	"context"
	"math"
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
	var walk generator.Activity // keeps each workspace near its size
	for {
		s.mu.Lock()
		// Gaps come from the world's seeded source, like the actions.
		u := s.world.Platform.IDs.Faker().Float64()
		s.mu.Unlock()
		gap := time.Duration(-math.Log(1-u) * mean)
		select {
		case <-ctx.Done():
			return
		case <-s.clock.After(max(gap, time.Millisecond)):
		}
		s.apply(func() ([]generator.Event, error) {
			var err error
			for range maxTries {
				var events []generator.Event
				if events, err = walk.Act(s.world.Platform); err == nil {
					return events, nil
				}
			}
			return nil, err
		})
	}
}
