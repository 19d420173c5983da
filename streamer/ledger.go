package streamer

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
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

// Ledger accounts for every outcome: it counts the acknowledged events,
// writes one dead-letter record per undelivered event, and tells the run
// journal, when there is one, which events are settled. It is safe for
// concurrent use.
type Ledger struct {
	mu      sync.Mutex
	w       io.Writer
	target  string
	clock   generator.Clock
	acked   map[int64]int // event id → acknowledgements, when Track is set
	err     error
	journal *Journal
	// Track keeps the ids of acknowledged events (for tests and replays
	// that must show nothing is lost).
	Track bool
}

// NewLedger writes dead letters to w (nil: count only). The records of one
// outcome go to w in one Write, so a process killed at any instant leaves
// whole lines; a DeadLetterFile also syncs each Write before it returns.
func NewLedger(w io.Writer, target string, clock generator.Clock) *Ledger {
	l := &Ledger{w: w, target: target, clock: clock, acked: map[int64]int{}}
	if l.clock == nil {
		l.clock = generator.Real{}
	}
	return l
}

// Journal makes the ledger note every settled event (acknowledged, or dead
// once its dead letter is on disk) in j, by Item.Seq.
func (l *Ledger) Journal(j *Journal) { l.journal = j }

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
		l.note(l.journal.settle(o.Items, true))
		return
	}
	if l.w != nil {
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		at := l.clock.Now().UTC().Format(generator.TimestampLayout)
		for _, it := range o.Items {
			enc.Encode(DeadLetter{Event: it.JSON, Attempts: o.Attempts, LastStatus: o.Status, LastError: o.Err, Target: l.target, DeadAt: at})
		}
		if _, err := l.w.Write(buf.Bytes()); err != nil {
			l.note(fmt.Errorf("write dead letters: %w", err))
			return // not settled: a resumed run sends them again
		}
	}
	l.note(l.journal.settle(o.Items, false))
}

func (l *Ledger) note(err error) {
	if err != nil && l.err == nil {
		l.err = err
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

// Err reports the first write error.
func (l *Ledger) Err() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.err
}

// DeadLetterFile appends dead-letter records to a file it creates on the
// first write, so a delivery without dead letters leaves no file behind.
// It never truncates: the records of earlier runs stay. Each Write is
// synced before it returns, so an event counts as dead only once its
// record is on disk.
type DeadLetterFile struct {
	Path string
	f    *os.File
	err  error
}

// Write appends b and syncs it.
func (d *DeadLetterFile) Write(b []byte) (int, error) {
	if d.f == nil && d.err == nil {
		d.f, d.err = openAppend(d.Path)
	}
	if d.err != nil {
		return 0, d.err
	}
	n, err := d.f.Write(b)
	if err == nil {
		err = d.f.Sync()
	}
	return n, err
}

// Close closes the file, if it was opened.
func (d *DeadLetterFile) Close() error {
	if d.f == nil {
		return nil
	}
	return d.f.Close()
}

// openAppend opens a record file for appending. A file whose last line was
// torn (a process killed mid-write by an older version, a full disk) gets
// a newline first, so the next record starts a line of its own.
func openAppend(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	if st, err := f.Stat(); err == nil && st.Size() > 0 {
		last := make([]byte, 1)
		r, err := os.Open(path)
		if err == nil {
			_, err = r.ReadAt(last, st.Size()-1)
			r.Close()
		}
		if err == nil && last[0] != '\n' {
			_, err = f.Write([]byte{'\n'})
		}
		if err != nil {
			f.Close()
			return nil, err
		}
	}
	return f, nil
}

// CountRecords returns how many records (non-empty lines) a file holds; 0
// when it does not exist.
func CountRecords(path string) (int, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	defer f.Close()
	n, start := 0, true
	r := bufio.NewReaderSize(f, 64<<10)
	for {
		b, err := r.ReadByte()
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, err
		}
		if b != '\n' && start {
			n++
		}
		start = b == '\n'
	}
}

// records reads a file of JSON lines and calls f with each line and its
// number. A last line cut short (no newline, not whole JSON), or such a
// line sealed by a later append, is skipped: torn is its line number, for
// a warning. Any other bad line is an error f returns.
func records(r io.Reader, name string, f func(line int, b []byte) error) (torn []int, err error) {
	br := bufio.NewReaderSize(r, 64<<10)
	for line := 1; ; line++ {
		b, rerr := br.ReadBytes('\n')
		if rerr != nil && rerr != io.EOF {
			return torn, fmt.Errorf("read %s: %w", name, rerr)
		}
		trimmed := bytes.TrimSpace(b)
		if len(trimmed) > 0 {
			var probe json.RawMessage
			if jerr := json.Unmarshal(trimmed, &probe); jerr != nil && isCutShort(jerr) {
				torn = append(torn, line)
			} else if err := f(line, trimmed); err != nil {
				return torn, err
			}
		}
		if rerr == io.EOF {
			return torn, nil
		}
	}
}

// isCutShort says whether a JSON error is the end of a record that was
// never finished.
func isCutShort(err error) bool {
	var syn *json.SyntaxError
	return errors.As(err, &syn) && syn.Error() == "unexpected end of JSON input"
}

// EachDeadLetter reads a dead-letter file and calls f with each record's
// event as an item to send again, with the same id. A bad line is an error
// that names it; a record cut short by a killed process is skipped, and
// its line is in torn. Memory stays flat however long the file.
func EachDeadLetter(r io.Reader, name string, f func(Item, DeadLetter) error) (torn []int, err error) {
	return records(r, name, func(line int, b []byte) error {
		var d DeadLetter
		if err := json.Unmarshal(b, &d); err != nil {
			return fmt.Errorf("%s:%d: not a dead-letter record: %v", name, line, err)
		}
		var id struct {
			ID *int64 `json:"id"`
		}
		if err := json.Unmarshal(d.Event, &id); err != nil || id.ID == nil {
			return fmt.Errorf("%s:%d: the record's event has no id", name, line)
		}
		return f(Item{ID: *id.ID, JSON: d.Event}, d)
	})
}
