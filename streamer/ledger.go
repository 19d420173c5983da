package streamer

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"sync"

	"github.com/emnify-mock/emnify-mock/generator"
)

// DeadLetter is one event that could not be delivered, as the dead-letter
// file (NDJSON) holds it: the event as it would have been sent, and why.
type DeadLetter struct {
	Event      json.RawMessage `json:"event"`
	Attempts   int             `json:"attempts"`
	LastStatus int             `json:"last_status"`
	LastError  string          `json:"last_error"`
	Target     string          `json:"target"`
	DeadAt     string          `json:"dead_at"`
}

// Ledger accounts for every outcome: it counts the acknowledged events and
// writes one dead-letter record per undelivered event. It is safe for
// concurrent use; Close flushes it.
type Ledger struct {
	mu     sync.Mutex
	w      *bufio.Writer
	target string
	clock  generator.Clock
	acked  map[int64]int // event id → acknowledgements, when Track is set
	err    error
	// Track keeps the ids of acknowledged events (for tests and replays
	// that must show nothing is lost).
	Track bool
}

// NewLedger writes dead letters to w (nil: count only).
func NewLedger(w io.Writer, target string, clock generator.Clock) *Ledger {
	l := &Ledger{target: target, clock: clock, acked: map[int64]int{}}
	if w != nil {
		l.w = bufio.NewWriter(w)
	}
	if l.clock == nil {
		l.clock = generator.Real{}
	}
	return l
}

// Record takes one outcome.
func (l *Ledger) Record(o Outcome) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if o.Acked {
		if l.Track {
			for _, it := range o.Items {
				l.acked[it.ID]++
			}
		}
		return
	}
	if l.w == nil {
		return
	}
	for _, it := range o.Items {
		b, err := json.Marshal(DeadLetter{Event: it.JSON, Attempts: o.Attempts, LastStatus: o.Status, LastError: o.Err,
			Target: l.target, DeadAt: l.clock.Now().UTC().Format(generator.TimestampLayout)})
		if err == nil {
			_, err = l.w.Write(append(b, '\n'))
		}
		if err != nil && l.err == nil {
			l.err = fmt.Errorf("write dead letter: %w", err)
		}
	}
}

// Acked returns, when Track is set, how often each event was acknowledged.
func (l *Ledger) Acked() map[int64]int {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make(map[int64]int, len(l.acked))
	for k, v := range l.acked {
		out[k] = v
	}
	return out
}

// Close flushes the dead letters and reports the first write error.
func (l *Ledger) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.w != nil {
		if err := l.w.Flush(); err != nil && l.err == nil {
			l.err = fmt.Errorf("write dead letters: %w", err)
		}
	}
	return l.err
}

// ReadDeadLetters reads a dead-letter file back as items to send again,
// with the same event ids. A bad line is an error that names it.
func ReadDeadLetters(r io.Reader, name string) ([]Item, []DeadLetter, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	var items []Item
	var letters []DeadLetter
	for line := 1; sc.Scan(); line++ {
		if len(sc.Bytes()) == 0 {
			continue
		}
		var d DeadLetter
		if err := json.Unmarshal(sc.Bytes(), &d); err != nil {
			return nil, nil, fmt.Errorf("%s:%d: not a dead-letter record: %v", name, line, err)
		}
		var id struct {
			ID *int64 `json:"id"`
		}
		if err := json.Unmarshal(d.Event, &id); err != nil || id.ID == nil {
			return nil, nil, fmt.Errorf("%s:%d: the record's event has no id", name, line)
		}
		items = append(items, Item{ID: *id.ID, JSON: d.Event})
		letters = append(letters, d)
	}
	if err := sc.Err(); err != nil {
		return nil, nil, fmt.Errorf("read %s: %w", name, err)
	}
	return items, letters, nil
}
