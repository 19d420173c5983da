package server

import (
	"context"
	"slices"
	"time"

	"github.com/emnify-mock/emnify-mock/generator"
	"github.com/emnify-mock/emnify-mock/plan"
	"github.com/emnify-mock/emnify-mock/scenarios"
	"github.com/emnify-mock/emnify-mock/server/control"
)

// A played scenario runs in the background on the server's clock: each
// segment of it (the steps between two waits) is one change of the world,
// made under the state's lock with its events appended at once, while the
// API answers as usual in between. A call that changes what the scenario
// acts on may make a later segment fail: that segment changes nothing, the
// player's state says "failed" with the error, and the log line says so.
// A restore, a reset or Close stops every player.

// player is one played scenario.
type player struct {
	id     int
	name   string
	play   *plan.Player
	cancel context.CancelFunc
	done   chan struct{}

	// Guarded by the server's mu.
	state  string // running, finished, failed, stopped
	events int
	next   time.Time // when the next segment is due, while running
	err    string
}

type players struct {
	byID   map[int]*player
	lastID int
}

// view shows the player. Call with the server's mu held.
func (p *player) view() control.Player {
	v := control.Player{ID: p.id, Name: p.name, State: p.state, Events: p.events, Error: p.err}
	if p.state == "running" && !p.next.IsZero() {
		v.Next = p.next.UTC().Format(generator.TimestampLayout)
	}
	return v
}

// Play starts playing a scenario from now on and returns what a run of it
// now would make. A scenario that cannot run now (a dry run says so) is
// refused and changes nothing. GET /mock/scenarios shows its progress.
func (s *Server) Play(sc *scenarios.Scenario) (plan.Summary, error) {
	_, planned, err := s.play(sc)
	return planned, err
}

func (s *Server) play(sc *scenarios.Scenario) (*player, plan.Summary, error) {
	// The dry run works on a copy, so the API keeps answering while a big
	// scenario is checked; the world may change before the play starts,
	// which its later segments meet anyway.
	s.mu.RLock()
	probe := s.world.Clone()
	s.mu.RUnlock()
	planned, err := probe.DryRun(sc.Plan)
	if err != nil {
		return nil, planned, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ctx, cancel := context.WithCancel(context.Background())
	s.players.lastID++
	p := &player{id: s.players.lastID, name: sc.Name, play: s.world.Play(sc.Plan), cancel: cancel, done: make(chan struct{}), state: "running"}
	s.players.byID[p.id] = p
	go s.runPlayer(ctx, p)
	return p, planned, nil
}

func (s *Server) runPlayer(ctx context.Context, p *player) {
	defer close(p.done)
	for {
		s.mu.Lock()
		if ctx.Err() != nil {
			s.mu.Unlock()
			return
		}
		events, wait, done, err := p.play.Step()
		s.log.Append(events...)
		s.addCredentials() // for workspaces the scenario made
		p.events += len(events)
		switch {
		case err != nil:
			p.state, p.err = "failed", err.Error()
			s.logger.Printf("scenario %s stopped: %v", p.name, err)
		case done:
			p.state = "finished"
		default:
			p.next = s.clock.Now().Add(wait)
		}
		// The wait starts before the lock is let go: a clock jump made by
		// whoever saw p.next then always wakes it.
		var due <-chan time.Time
		if !done {
			due = s.clock.After(wait)
		}
		s.mu.Unlock()
		if done {
			return
		}
		select {
		case <-due:
		case <-ctx.Done():
			return
		}
	}
}

// stopPlays stops every player. Call with mu held for writing: a player
// steps only under mu after checking its context, so none steps again.
func (s *Server) stopPlays() {
	for _, p := range s.players.byID {
		p.cancel()
		if p.state == "running" {
			p.state = "stopped"
			p.play.Stop()
		}
	}
}

// Players returns the played scenarios, in id order.
func (s *Server) Players() []control.Player {
	s.mu.RLock()
	out := []control.Player{}
	for _, p := range s.players.byID {
		out = append(out, p.view())
	}
	s.mu.RUnlock()
	slices.SortFunc(out, func(a, b control.Player) int { return a.ID - b.ID })
	return out
}
