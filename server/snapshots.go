package server

import (
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/emnify-mock/emnify-mock/generator"
	"github.com/emnify-mock/emnify-mock/server/internal/wire"
)

// MaxSnapshots is how many snapshots are kept besides the state at start:
// each holds a copy of the world, so they are bounded; taking one more
// evicts the oldest, and restoring an evicted one says so.
const MaxSnapshots = 32

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
	return nil, notFound("Snapshot", strconv.Itoa(id))
}

func (s *Server) handleMockSnapshot(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ss := &s.snapshots
	ss.lastID++
	ss.kept = append(ss.kept, &snapshot{id: ss.lastID, taken: s.clock.Now(), events: s.log.Len(), st: s.save()})
	if len(ss.kept) > MaxSnapshots {
		ss.evicted = ss.kept[0].id
		ss.kept[0] = nil
		ss.kept = ss.kept[1:]
	}
	wire.WriteJSON(w, http.StatusCreated, wire.Bare, map[string]int{"id": ss.lastID})
}

func (s *Server) handleMockSnapshots(w http.ResponseWriter, r *http.Request) {
	type entry struct {
		ID     int    `json:"id"`
		Taken  string `json:"taken"`
		Events int    `json:"events"`
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := []entry{}
	for _, sn := range append([]*snapshot{s.snapshots.start}, s.snapshots.kept...) {
		out = append(out, entry{sn.id, sn.taken.UTC().Format(generator.TimestampLayout), sn.events})
	}
	wire.WriteJSON(w, http.StatusOK, wire.Bare, out)
}

func (s *Server) handleMockRestore(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sn, apiErr := s.snapshotOf(r)
	if apiErr != nil {
		wire.WriteError(w, apiErr)
		return
	}
	s.load(sn.st)
	wire.NoContent(w, wire.Bare)
}

func (s *Server) handleMockDeleteSnapshot(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sn, apiErr := s.snapshotOf(r)
	if apiErr != nil {
		wire.WriteError(w, apiErr)
		return
	}
	if sn.id == 0 {
		wire.WriteError(w, validation("snapshot 0 is the state at start, which POST /mock/reset restores; it cannot be deleted"))
		return
	}
	ss := &s.snapshots
	for i, k := range ss.kept {
		if k == sn {
			ss.kept = append(ss.kept[:i:i], ss.kept[i+1:]...)
			break
		}
	}
	wire.NoContent(w, wire.Bare)
}

func (s *Server) snapshotOf(r *http.Request) (*snapshot, *wire.Error) {
	id, err := strconv.Atoi(varsOf(r)["id"])
	if err != nil {
		return nil, notFound("Snapshot", varsOf(r)["id"])
	}
	return s.snapshots.get(id)
}

func (s *Server) handleMockReset(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.load(s.snapshots.start.st)
	s.requests.clear()
	wire.NoContent(w, wire.Bare)
}
