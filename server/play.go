package server

import (
	"context"
	"errors"
	"time"

	"github.com/emnify-mock/emnify-mock/generator"
	"github.com/emnify-mock/emnify-mock/scenarios"
)

// Play runs a scenario live, in the background: from now on, each step
// happens when the scenario's timing says on the server's clock, and its
// events are appended as it happens (and so pushed to data streams).
// While the scenario waits, the API serves as usual; a call that changes
// what the scenario acts on may make a later step fail, which stops the
// scenario with a log line. The scenario is dry-run first on a copy, so
// one that cannot run is refused at once and changes nothing. A restore,
// a reset or Close stops it. It returns the dry run's summary.
func (s *Server) Play(sc *scenarios.Scenario) (generator.Summary, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	planned, err := s.runOn(s.world.Clone(), sc, nil)
	if err != nil {
		return planned, err
	}
	world, ctx := s.world, s.playing.ctx
	s.played.Add(1)
	go func() {
		defer s.played.Done()
		s.mu.Lock()
		defer s.mu.Unlock()
		if ctx.Err() != nil {
			return
		}
		// The scenario acts on the world's virtual clock, set to the
		// server's present at every step; between steps API calls stamp
		// their events with the server's clock.
		follow := func() {
			world.Clock.Set(s.clock.Now())
			world.Platform.Clock = world.Clock
		}
		follow()
		pace := func(d time.Duration) error {
			world.Platform.Clock = s.clock
			s.addCredentials() // for workspaces the scenario made
			s.mu.Unlock()
			select {
			case <-s.clock.After(d):
			case <-ctx.Done():
			}
			s.mu.Lock()
			if err := ctx.Err(); err != nil {
				return err
			}
			follow()
			return nil
		}
		_, err := world.RunPaced(sc.Plan, func(e generator.Event) error { s.log.Append(e); return nil }, pace)
		world.Platform.Clock = s.clock
		if ctx.Err() == nil {
			s.addCredentials()
		}
		if err != nil && !errors.Is(err, context.Canceled) {
			s.logger.Printf("scenario %s stopped: %v", sc.Name, err)
		}
	}()
	return planned, nil
}

// plays is what stops the scenarios being played on one world.
type plays struct {
	ctx    context.Context
	cancel context.CancelFunc
}

func newPlays() *plays {
	ctx, cancel := context.WithCancel(context.Background())
	return &plays{ctx: ctx, cancel: cancel}
}
