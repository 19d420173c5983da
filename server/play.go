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
	ctx    context.Context // done once stopped
	cancel context.CancelFunc
	done   chan struct{} // closed when its goroutine ends

	started bool // its goroutine runs: a replayed player's starts at Resume

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

// Play starts playing a scenario (a file's name and its source) from now
// on and returns what a run of it now would make. A scenario that cannot
// run now (a dry run says so) is refused and changes nothing. GET
// /mock/scenarios shows its progress.
func (s *Server) Play(file string, src []byte) (control.Playing, error) {
	var playing control.Playing
	rec := record{Kind: kindPlay, File: file}
	rec.setBody(src)
	err := s.change(rec, func() (err error) {
		playing, err = s.PlayScenario(file, src)
		return err
	})
	return playing, err
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
	p := &player{id: s.players.lastID, name: sc.Name, play: s.world.Play(sc.Plan), ctx: ctx, cancel: cancel, done: make(chan struct{}), state: "running"}
	s.players.byID[p.id] = p
	if !s.replaying { // a replayed player steps as its journal says, and goes on at Resume
		s.startPlayer(p, nil)
	}
	return p, planned, nil
}

// startPlayer starts the player's goroutine. Call with mu held.
func (s *Server) startPlayer(p *player, due <-chan time.Time) {
	p.started = true
	go s.runPlayer(p, due)
}

// runPlayer steps the player whenever due fires (at once when due is nil)
// until it is done or stopped; each step is one change.
func (s *Server) runPlayer(p *player, due <-chan time.Time) {
	defer close(p.done)
	for {
		if due != nil {
			select {
			case <-due:
			case <-p.ctx.Done():
				return
			}
		}
		var done bool
		if err := s.change(record{Kind: kindStep, Player: p.id}, func() error {
			s.mu.Lock()
			due, done = s.step(p, true)
			s.mu.Unlock()
			return nil
		}); err != nil {
			s.logger.Printf("scenario %s stopped: %v", p.name, err)
			return
		}
		if done {
			return
		}
	}
}

// step plays the player's next segment, if it is still running, and says
// when the one after is due (with wait) or that it is done. Call with mu
// held.
func (s *Server) step(p *player, wait bool) (due <-chan time.Time, done bool) {
	if p.state != "running" {
		return nil, true
	}
	events, d, done, err := p.play.Step()
	s.log.Append(events...)
	s.addCredentials() // for workspaces the scenario made
	p.events += len(events)
	switch {
	case err != nil:
		p.state, p.err = "failed", err.Error()
		s.logger.Printf("scenario %s stopped: %v", p.name, err)
		return nil, true
	case done:
		p.state = "finished"
		return nil, true
	}
	p.next = s.clock.Now().Add(d)
	if wait {
		// The wait starts before the lock is let go: a clock jump made by
		// whoever saw p.next then always wakes it.
		due = s.clock.After(d)
	}
	return due, false
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
