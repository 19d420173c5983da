package server

import (
	"fmt"
	"maps"
	"strings"

	"github.com/emnify-mock/emnify-mock/eventlog"
	"github.com/emnify-mock/emnify-mock/generator"
	"github.com/emnify-mock/emnify-mock/plan"
	"github.com/emnify-mock/emnify-mock/server/internal/wire"
	"github.com/emnify-mock/emnify-mock/streams"
)

// The mocked platform's state is one value, owned by the Server under
// s.mu: the world (changed only through generator.Platform.Do), the event
// log, the credentials, and every data stream's configuration, position
// and counters. A snapshot saves all of it at once and a restore or reset
// puts all of it back at once, so nothing that reads the log (data
// streams, followers, the timeline) falls out of step with it. Scenarios
// being played are stopped by a restore: their progress is not part of a
// snapshot.

// state is a saved copy of the platform's state. Its world is a copy, or
// for the state at start of a server given Options.Rebuild, nil: the
// world is then made again when restored.
type state struct {
	world   *plan.World
	rebuild func() (*plan.World, error)
	log     eventlog.State
	creds   credentials
	streams streams.State
}

// credentials map the strings clients log in with to who they are, by
// id, so they hold across restores of the world.
type credentials struct {
	appTokens map[string]credential
	logins    map[string]credential // username (lower case)
}

type credential struct {
	org, user, token int64 // user or token is 0
}

func (c credentials) clone() credentials {
	return credentials{appTokens: maps.Clone(c.appTokens), logins: maps.Clone(c.logins)}
}

// save copies the state; rebuild, when set, stands for the world instead
// of a copy. Call with s.mu held.
func (s *Server) save(rebuild func() (*plan.World, error)) *state {
	st := &state{rebuild: rebuild, log: s.log.Save(), creds: s.creds.clone(), streams: s.dataStreams.Save()}
	if rebuild == nil {
		st.world = s.world.Clone()
	}
	return st
}

// fresh makes the world that restoring st makes current: a copy of its
// world, or the world at start built again. A saved state never changes,
// so this needs no lock, and a large world is built without holding up
// the requests meanwhile. It fails only when the world at start cannot
// be built again.
func (st *state) fresh() (*plan.World, error) {
	if st.world != nil {
		return st.world.Clone(), nil
	}
	w, err := st.rebuild()
	if err != nil {
		return nil, wire.Internal(fmt.Sprintf("the world at start could not be made again: %v", err))
	}
	return w, nil
}

// load makes a saved state current, with world from st.fresh. Call with
// s.mu held for writing.
func (s *Server) load(st *state, world *plan.World) {
	s.stopPlays()
	s.lockouts.clear()
	world.Platform.ContinueAfter(s.world.Platform)
	s.world = world
	s.log.Load(st.log)
	s.creds = st.creds.clone()
	s.dataStreams.Load(st.streams)
}

// addCredentials gives every user a login and every workspace's tokens an
// application-token string. Call with the write lock held.
func (s *Server) addCredentials() {
	have := map[int64]bool{}
	for _, c := range s.creds.appTokens {
		have[c.token] = true
	}
	for _, ws := range s.world.Platform.Workspaces() {
		for _, u := range ws.Users {
			if _, ok := s.creds.logins[strings.ToLower(u.Username)]; !ok { // a person logs in where they were first
				s.creds.logins[strings.ToLower(u.Username)] = credential{org: ws.ID, user: u.ID}
			}
		}
		for _, t := range ws.Tokens {
			if !have[t.ID] {
				s.creds.appTokens[s.mintAppToken(ws, t)] = credential{org: ws.ID, token: t.ID}
			}
		}
	}
}

// workspace returns the current world's workspace by id, or nil.
func (s *Server) workspace(id int64) *generator.Workspace {
	for _, ws := range s.world.Platform.Workspaces() {
		if ws.ID == id {
			return ws
		}
	}
	return nil
}
