package server

import (
	"fmt"
	"net/http"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/emnify-mock/emnify-mock/server/control"
	"github.com/emnify-mock/emnify-mock/server/internal/wire"
)

// MaxSnapshots is how many snapshots are kept besides the state at start:
// each holds a copy of the world, so they are bounded; taking one more
// evicts the oldest, and restoring an evicted one says so.
const MaxSnapshots = control.MaxSnapshots

// snapshots are saved states by id; id 0 is the state at start, which
// reset restores and which is never evicted.
type snapshots struct {
	start   *snapshot
	kept    []*snapshot // oldest first, at most MaxSnapshots
	lastID  int
	evicted int // ids up to this were evicted
}

type snapshot struct {
	id     int
	taken  time.Time // on the server's clock
	events int       // the log's length
	st     *state
}

func (ss *snapshots) get(id int) (*snapshot, *wire.Error) {
	if id == 0 {
		return ss.start, nil
	}
	for _, sn := range ss.kept {
		if sn.id == id {
			return sn, nil
		}
	}
	if id > 0 && id <= ss.evicted {
		return nil, &wire.Error{Status: http.StatusNotFound, Code: 1401, Token: "InvalidReference",
			Message: fmt.Sprintf("Snapshot %d was evicted: the %d most recent are kept", id, MaxSnapshots)}
	}
	return nil, wire.NotFound("Snapshot", strconv.Itoa(id))
}

// TakeSnapshot saves the whole state and returns its id; past
// MaxSnapshots the oldest kept one is evicted.
func (s *Server) TakeSnapshot() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	ss := &s.snapshots
	ss.lastID++
	ss.kept = append(ss.kept, &snapshot{id: ss.lastID, taken: s.clock.Now(), events: s.log.Len(), st: s.save(nil)})
	if len(ss.kept) > MaxSnapshots {
		ss.evicted = ss.kept[0].id
		ss.kept[0] = nil
		ss.kept = ss.kept[1:]
	}
	return ss.lastID
}

// Snapshots lists the saved states, the state at start (0) first.
func (s *Server) Snapshots() []control.Snapshot {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []control.Snapshot
	for _, sn := range append([]*snapshot{s.snapshots.start}, s.snapshots.kept...) {
		out = append(out, control.Snapshot{ID: sn.id, Taken: sn.taken, Events: sn.events})
	}
	return out
}

// RestoreSnapshot makes a saved state current, all of it; played
// scenarios stop.
func (s *Server) RestoreSnapshot(id int) error {
	s.mu.RLock()
	sn, apiErr := s.snapshots.get(id)
	s.mu.RUnlock()
	if apiErr != nil {
		return apiErr
	}
	return s.restore(sn.st, func() {})
}

// restore makes a saved state current and then calls also, under the
// lock; the world is made before the lock is taken (state.fresh).
func (s *Server) restore(st *state, also func()) error {
	world, err := st.fresh()
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.load(st, world)
	also()
	s.mu.Unlock()
	if st.world == nil {
		// Building a world passes through far more memory than it then
		// holds, and the world it replaced is garbage now: give both back
		// (serve does the same once started), or a large fleet's process
		// stays four times its size after a reset.
		go debug.FreeOSMemory()
	}
	return nil
}

// DeleteSnapshot forgets a saved state; the state at start stays.
func (s *Server) DeleteSnapshot(id int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	sn, apiErr := s.snapshots.get(id)
	if apiErr != nil {
		return apiErr
	}
	if sn.id == 0 {
		return wire.Validation("snapshot 0 is the state at start, which POST /mock/reset restores; it cannot be deleted")
	}
	ss := &s.snapshots
	for i, k := range ss.kept {
		if k == sn {
			ss.kept = append(ss.kept[:i:i], ss.kept[i+1:]...)
			break
		}
	}
	return nil
}

// Reset goes back to the state at start, all of it, and clears the API
// journal.
func (s *Server) Reset() error {
	return s.restore(s.snapshots.start.st, s.requests.Clear)
}
