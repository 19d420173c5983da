package server

import (
	"slices"
	"time"

	"github.com/emnify-mock/emnify-mock/generator"
	"github.com/emnify-mock/emnify-mock/plan"
	"github.com/emnify-mock/emnify-mock/scenarios"
	"github.com/emnify-mock/emnify-mock/server/control"
)

// The Server is the control API's State (package control serves /mock/):
// each method acts on the whole state under the server's lock.
var _ control.State = (*Server)(nil)

// Closing is closed once Close begins: followers of /mock/events stop.
func (s *Server) Closing() <-chan struct{} { return s.closing.Done() }

// Journal returns the API journal.
func (s *Server) Journal() *control.Journal { return &s.requests }

// parseScenario parses a scenario for the world as it is now (it may name
// the world's workspaces and groups), with the server's event budget.
func (s *Server) parseScenario(file string, src []byte) (*scenarios.Scenario, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	sc, err := scenarios.ParseFor(file, src, s.world)
	if err != nil {
		return nil, err
	}
	sc.Plan.MaxEvents = s.maxEvents
	return sc, nil
}

// RunScenario runs a scenario into the live world, as one change: a
// scenario that fails changes nothing. A scenario that spans time moves
// the clock on by its span; new workspaces get logins and a token.
// Isolated, it runs on a world with no names over the same platform, so
// every workspace it names is a new one, which no earlier event touched.
func (s *Server) RunScenario(file string, src []byte, isolated bool) (control.Run, error) {
	sc, err := s.parseScenario(file, src)
	if err != nil {
		return control.Run{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var events []generator.Event
	world := s.world
	if isolated {
		world = plan.Over(s.world.Platform)
	}
	sum, err := world.Run(sc.Plan, func(e generator.Event) error { events = append(events, e); return nil })
	if err != nil {
		return control.Run{}, err
	}
	from := s.log.Len()
	s.log.Append(events...)
	s.addCredentials()
	run := control.Run{Name: sc.Name, Events: sum.Events, From: from, Clock: s.clock.Now(), Advanced: max(0, sum.End.Sub(sum.Start))}
	if len(events) > 0 {
		run.First, run.Last = events[0].Timestamp, events[len(events)-1].Timestamp
	}
	return run, nil
}

// PlayScenario plays a scenario on the clock in the background (Play).
func (s *Server) PlayScenario(file string, src []byte) (control.Playing, error) {
	sc, err := s.parseScenario(file, src)
	if err != nil {
		return control.Playing{}, err
	}
	p, planned, err := s.play(sc)
	if err != nil {
		return control.Playing{}, err
	}
	return control.Playing{ID: p.id, Name: sc.Name, Events: planned.Events, Ends: planned.End}, nil
}

// AdvanceClock moves the server's clock on; played steps within the jump
// happen.
func (s *Server) AdvanceClock(d time.Duration) (time.Time, error) {
	switch c := s.clock.(type) {
	case *generator.Shifted: // serve's
		if err := c.Advance(d); err != nil {
			return time.Time{}, err
		}
	case *generator.Virtual: // tests'
		c.Advance(d)
	default:
		return time.Time{}, control.ErrFixedClock
	}
	return s.clock.Now(), nil
}

// ReadWorld calls f with the world and each workspace's application
// tokens, under the read lock.
func (s *Server) ReadWorld(f func(w *plan.World, appTokens func(org int64) []string)) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	f(s.world, func(org int64) []string {
		var out []string
		for tok, cred := range s.creds.appTokens {
			if cred.org == org {
				out = append(out, tok)
			}
		}
		slices.Sort(out) // the same order every time
		return out
	})
}
