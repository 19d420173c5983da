// Package eventlog is the mock platform's one append-only event log: each
// event stored once as the JSON the API returns, with the indexes that the
// event lists' filters, sorts and pages read, and the data streams'
// cursors.
package eventlog

import (
	"slices"
	"sync"
	"unsafe"

	"github.com/emnify-mock/emnify-mock/generator"
)

// Log is the one append-only event log: every event, whether a scenario or
// an API call made it, is appended once, and every read (the event routes,
// the control API) goes through it.
//
// To stay small (well under 1 KB per event) it keeps each event once, as
// the JSON the API returns, in large byte chunks, plus a fixed-size record
// of the fields that filters and sorts need and posting lists (indexes of
// records) per organisation, organisation and type, endpoint, SIM and user.
// Records are in append order, which is id order: API calls append in the
// order they happen, and history is sorted by id before it is appended.
type Log struct {
	mu     sync.RWMutex
	chunks [][]byte
	recs   []rec

	byOrg      map[int64][]int32
	byOrgAlert map[int64][]int32 // alerts only, for streams that filter on them
	byOrgType  map[orgType][]int32
	byEndpoint map[int64][]int32
	bySIM      map[int64][]int32
	byUser     map[int64][]int32

	// Values that q filters name, mapped to the ids they stand for.
	simByNumber   map[string][]int64 // iccid, iccid_with_luhn, imsi
	endpointByKey map[string][]int64 // endpoint name, ip_address, imei

	changed chan struct{} // closed and replaced on every append

	// With gated set (Gate), the readers that push (Since, Entries) see
	// only the first published events: those on disk (serve --data-dir).
	gated     bool
	published int
}

type orgType struct {
	org int64
	typ int
}

type rec struct {
	chunk, off, n      uint32
	id, ts             int64 // ts in Unix milliseconds
	org, user, ep, sim int64
	typ                int16
	src, sev           int8
	alert              bool
}

const chunkSize = 1 << 20

// NewLog returns an empty log.
func NewLog() *Log {
	return &Log{
		byOrg: map[int64][]int32{}, byOrgAlert: map[int64][]int32{}, byOrgType: map[orgType][]int32{},
		byEndpoint: map[int64][]int32{}, bySIM: map[int64][]int32{}, byUser: map[int64][]int32{},
		simByNumber: map[string][]int64{}, endpointByKey: map[string][]int64{},
		changed: make(chan struct{}),
	}
}

// Append adds events to the log.
func (l *Log) Append(events ...generator.Event) {
	if len(events) == 0 {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	var buf []byte
	for i := range events {
		e := &events[i]
		buf = e.AppendJSON(buf[:0])
		r := rec{id: e.ID, ts: e.Timestamp.UnixMilli(), org: e.Organisation.ID, typ: int16(e.Type.ID),
			src: int8(e.Source.ID), sev: int8(e.Severity.ID), alert: e.Alert}
		r.chunk, r.off, r.n = l.store(buf)
		idx := int32(len(l.recs))
		l.byOrg[r.org] = append(l.byOrg[r.org], idx)
		l.byOrgType[orgType{r.org, e.Type.ID}] = append(l.byOrgType[orgType{r.org, e.Type.ID}], idx)
		if e.Alert {
			l.byOrgAlert[r.org] = append(l.byOrgAlert[r.org], idx)
		}
		if e.User != nil {
			r.user = e.User.ID
			l.byUser[r.user] = append(l.byUser[r.user], idx)
		}
		if e.Endpoint != nil {
			r.ep = e.Endpoint.ID
			for _, k := range []string{e.Endpoint.Name, e.Endpoint.IPAddress, e.Endpoint.IMEI} {
				addID(l.endpointByKey, k, r.ep)
			}
		} else {
			r.ep = e.FiledUnder
		}
		if r.ep != 0 {
			l.byEndpoint[r.ep] = append(l.byEndpoint[r.ep], idx)
		}
		if e.SIM != nil {
			r.sim = e.SIM.ID
			l.bySIM[r.sim] = append(l.bySIM[r.sim], idx)
			addID(l.simByNumber, e.SIM.ICCID, r.sim)
			addID(l.simByNumber, generator.WithLuhn(e.SIM.ICCID), r.sim)
			if e.IMSI != nil {
				addID(l.simByNumber, e.IMSI.IMSI, r.sim)
			}
		}
		l.recs = append(l.recs, r)
	}
	close(l.changed)
	l.changed = make(chan struct{})
}

func addID(m map[string][]int64, k string, id int64) {
	if k == "" {
		return
	}
	for _, x := range m[k] {
		if x == id {
			return
		}
	}
	m[k] = append(m[k], id)
}

// store copies b into the current chunk, starting a new one when full.
func (l *Log) store(b []byte) (chunk, off, n uint32) {
	last := len(l.chunks) - 1
	if last < 0 || len(l.chunks[last])+len(b) > cap(l.chunks[last]) {
		l.chunks = append(l.chunks, make([]byte, 0, max(chunkSize, len(b))))
		last++
	}
	off = uint32(len(l.chunks[last]))
	l.chunks[last] = append(l.chunks[last], b...)
	return uint32(last), off, uint32(len(b))
}

// raw returns a record's JSON; callers must not modify it.
func (l *Log) raw(r *rec) []byte { return l.chunks[r.chunk][r.off : r.off+r.n] }

// State is a saved log: views of its arrays, every one capped at its
// length, so neither the log nor a later restore ever appends into what a
// saved state reads. Saving costs the number of index keys, not events.
type State struct {
	chunks [][]byte
	recs   []rec

	byOrg, byOrgAlert, byEndpoint, bySIM, byUser map[int64][]int32
	byOrgType                                    map[orgType][]int32
	simByNumber, endpointByKey                   map[string][]int64
}

func capped[K comparable, V any](m map[K][]V) map[K][]V {
	out := make(map[K][]V, len(m))
	for k, list := range m {
		out[k] = list[:len(list):len(list)]
	}
	return out
}

func (l *Log) Save() State {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return State{chunks: l.cappedChunks(), recs: l.recs[:len(l.recs):len(l.recs)],
		byOrg: capped(l.byOrg), byOrgAlert: capped(l.byOrgAlert), byEndpoint: capped(l.byEndpoint), bySIM: capped(l.bySIM), byUser: capped(l.byUser),
		byOrgType: capped(l.byOrgType), simByNumber: capped(l.simByNumber), endpointByKey: capped(l.endpointByKey)}
}

// cappedChunks returns the chunk list with the last chunk capped at its
// end, so later appends start a new chunk. Call with mu held.
func (l *Log) cappedChunks() [][]byte {
	out := slices.Clone(l.chunks)
	if n := len(out); n > 0 {
		out[n-1] = out[n-1][:len(out[n-1]):len(out[n-1])]
	}
	return out
}

// load makes a saved log current and wakes its readers; the saved one
// stays reusable.
func (l *Log) Load(st State) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.chunks = slices.Clone(st.chunks)
	l.recs = st.recs
	l.byOrg, l.byOrgAlert, l.byEndpoint, l.bySIM, l.byUser = capped(st.byOrg), capped(st.byOrgAlert), capped(st.byEndpoint), capped(st.bySIM), capped(st.byUser)
	l.byOrgType, l.simByNumber, l.endpointByKey = capped(st.byOrgType), capped(st.simByNumber), capped(st.endpointByKey)
	l.published = min(l.published, len(l.recs))
	close(l.changed)
	l.changed = make(chan struct{})
}

// Gate makes Since and Entries stop at what Publish last allowed, so that
// nothing is pushed out of the process before it is on disk. Call before
// the log is read.
func (l *Log) Gate() {
	l.mu.Lock()
	l.gated, l.published = true, len(l.recs)
	l.mu.Unlock()
}

// Publish lets the readers that push see the first n events (at most the
// log's length), and wakes them.
func (l *Log) Publish(n int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.published = min(n, len(l.recs))
	close(l.changed)
	l.changed = make(chan struct{})
}

// visible is how far Since and Entries read. Call with mu held.
func (l *Log) visible() int {
	if l.gated {
		return l.published
	}
	return len(l.recs)
}

// Len returns how many events the log holds.
func (l *Log) Len() int {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return len(l.recs)
}

// Bytes is about how much memory the log holds: the JSON of every event
// (also of those only a saved state still holds) and the records.
func (l *Log) Bytes() int {
	l.mu.RLock()
	defer l.mu.RUnlock()
	n := cap(l.recs) * int(unsafe.Sizeof(rec{}))
	for _, c := range l.chunks {
		n += len(c)
	}
	return n
}

// Changed returns a channel closed at the next append; a reader that has
// seen everything waits on it.
func (l *Log) Changed() <-chan struct{} {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.changed
}

// Since returns the JSON of the events from position i on, in log order,
// and the position after them.
func (l *Log) Since(i int) ([][]byte, int) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	var out [][]byte
	for end := l.visible(); i < end; i++ {
		out = append(out, l.raw(&l.recs[i]))
	}
	return out, i
}

// Entry is a logged event as the Data Streamer reads it.
type Entry struct {
	Pos   int // position in the log
	ID    int64
	Org   int64
	Type  int
	Alert bool
	JSON  []byte // do not modify
}

// Entries returns up to max entries from position from on, in log order,
// and the position after the last one read.
func (l *Log) Entries(from, max int) ([]Entry, int) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	var out []Entry
	i := from
	for end := l.visible(); i < end && len(out) < max; i++ {
		r := &l.recs[i]
		out = append(out, Entry{Pos: i, ID: r.id, Org: r.org, Type: int(r.typ), Alert: r.alert, JSON: l.raw(r)})
	}
	return out, i
}

// Count returns how many events of the organisation from position from on
// have one of the types (any type when none is given) and, with alertOnly,
// are alerts: what a data stream still owes. It reads the indexes, so it
// costs in proportion to the types (or, with alertOnly, to the alerts
// since from), not to the log.
func (l *Log) Count(org int64, types []int, alertOnly bool, from int) int {
	l.mu.RLock()
	defer l.mu.RUnlock()
	since := func(list []int32) []int32 {
		i, _ := slices.BinarySearch(list, int32(from))
		return list[i:]
	}
	if alertOnly {
		n := 0
		for _, i := range since(l.byOrgAlert[org]) {
			if len(types) == 0 || slices.Contains(types, int(l.recs[i].typ)) {
				n++
			}
		}
		return n
	}
	if len(types) == 0 {
		return len(since(l.byOrg[org]))
	}
	n := 0
	for _, t := range slices.Compact(slices.Sorted(slices.Values(types))) {
		n += len(since(l.byOrgType[orgType{org, t}]))
	}
	return n
}
