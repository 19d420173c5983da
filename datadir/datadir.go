// Package datadir keeps a serve's state on disk (serve --data-dir): a
// lock, a description of the world at start, and a journal of every change
// made since, appended and synced with group commit.
//
// Layout of a data directory (format 1; not a compatibility promise across
// versions of emnify-mock: a directory records the version that made it,
// and another version replays it only if it comes out the same):
//
//	lock            held (flock) by the serve using the directory
//	meta.json       format, version, how the world was built, the JWT key
//	scenarios/      copies of the scenario files the world was built from
//	journal.ndjson  one JSON object per line, one line per change, in the
//	                order the changes happened
//
// The journal is the state: a restart builds the world from meta.json and
// replays the journal. It is written with one write per line; a line is
// acknowledged once synced. A line torn by a crash (no acknowledgement can
// have covered it) is cut off when the directory is opened again.
package datadir

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
)

// Format is the layout version this package writes and reads.
const Format = 1

// MaxRecord is the longest journal line read back: a request body (1 MB)
// with its JSON escaping.
const MaxRecord = 8 << 20

// Dir is an open data directory.
type Dir struct {
	path string
	lock *os.File

	mu      sync.Mutex
	cond    *sync.Cond
	f       *os.File // the journal, opened for appending
	written uint64   // lines appended
	synced  uint64   // lines written and synced
	buf     []byte   // lines appended and not yet written
	spare   []byte   // the buffer being written, reused
	pending []func() // called once the lines appended so far are synced
	err     error    // the first write or sync error: nothing more is accepted
	closed  bool
	done    chan struct{} // the syncer has stopped

	// Torn is how many bytes of a torn last line were cut off at Open.
	Torn int64
}

// Open opens (making it if need be) the data directory at path and locks
// it: a second serve on the same directory is refused.
func Open(path string) (*Dir, error) {
	if err := os.MkdirAll(filepath.Join(path, "scenarios"), 0o700); err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	lock, err := os.OpenFile(filepath.Join(path, "lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	if err := flock(lock); err != nil {
		lock.Close()
		return nil, fmt.Errorf("data dir %s is in use by another emnify-mock serve (%v)", path, err)
	}
	d := &Dir{path: path, lock: lock, done: make(chan struct{})}
	d.cond = sync.NewCond(&d.mu)
	name := filepath.Join(path, "journal.ndjson")
	if d.Torn, err = cutTornLine(name); err != nil {
		lock.Close()
		return nil, err
	}
	if d.f, err = os.OpenFile(name, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600); err != nil {
		lock.Close()
		return nil, fmt.Errorf("data dir: %w", err)
	}
	go d.syncer()
	return d, nil
}

// Path returns the directory's path.
func (d *Dir) Path() string { return d.path }

// cutTornLine truncates the journal after its last complete line and says
// how many bytes it cut.
func cutTornLine(name string) (int64, error) {
	f, err := os.OpenFile(name, os.O_RDWR, 0)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("data dir: %w", err)
	}
	defer f.Close()
	size, err := f.Seek(0, io.SeekEnd)
	if err != nil || size == 0 {
		return 0, err
	}
	// Read back from the end to the last newline.
	buf := make([]byte, 64<<10)
	end := size
	for end > 0 {
		n := min(int64(len(buf)), end)
		if _, err := f.ReadAt(buf[:n], end-n); err != nil {
			return 0, fmt.Errorf("data dir: read %s: %w", name, err)
		}
		if i := bytes.LastIndexByte(buf[:n], '\n'); i >= 0 {
			end = end - n + int64(i) + 1
			break
		}
		end -= n
	}
	if end == size {
		return 0, nil
	}
	if err := f.Truncate(end); err != nil {
		return 0, fmt.Errorf("data dir: cut the torn last line of %s: %w", name, err)
	}
	return size - end, f.Sync()
}

// ReadMeta reads meta.json into v; found is false in a new directory.
func (d *Dir) ReadMeta(v any) (found bool, err error) {
	b, err := os.ReadFile(filepath.Join(d.path, "meta.json"))
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("data dir: %w", err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return false, fmt.Errorf("data dir %s: meta.json: %w", d.path, err)
	}
	return true, nil
}

// WriteMeta writes meta.json whole (a crash leaves the old one or the new
// one, never half).
func (d *Dir) WriteMeta(v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return d.writeFile("meta.json", append(b, '\n'))
}

// WriteFile writes a file under the directory whole, e.g. a scenario copy
// ("scenarios/NAME"), and returns its path.
func (d *Dir) WriteFile(name string, b []byte) (string, error) {
	return filepath.Join(d.path, name), d.writeFile(name, b)
}

func (d *Dir) writeFile(name string, b []byte) error {
	final := filepath.Join(d.path, name)
	tmp := final + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, final)
	}
	if err == nil {
		err = syncDir(filepath.Dir(final))
	}
	if err != nil {
		return fmt.Errorf("data dir: write %s: %w", name, err)
	}
	return nil
}

func syncDir(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}

// Records calls each with every journal line, in order, without its
// newline; it stops at the first error each returns.
func (d *Dir) Records(each func(line []byte) error) error {
	f, err := os.Open(filepath.Join(d.path, "journal.ndjson"))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), MaxRecord)
	for n := 1; sc.Scan(); n++ {
		if err := each(sc.Bytes()); err != nil {
			return fmt.Errorf("%s:%d: %w", filepath.Join(d.path, "journal.ndjson"), n, err)
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("data dir: read journal: %w", err)
	}
	return nil
}

// Append writes one journal line (line must hold no newline) with one
// write and returns at once; wait returns once the line is synced, and
// synced, if not nil, is called then, in the order of the lines. After a
// write or sync error every Append fails: the journal no longer follows
// the state.
func (d *Dir) Append(line []byte, synced func()) (wait func() error, err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.err != nil {
		return nil, d.err
	}
	if d.closed {
		return nil, errors.New("data dir: closed")
	}
	d.buf = append(append(d.buf, line...), '\n')
	d.written++
	seq := d.written
	if synced != nil {
		d.pending = append(d.pending, synced)
	}
	d.cond.Broadcast()
	return func() error {
		d.mu.Lock()
		defer d.mu.Unlock()
		for d.synced < seq && d.err == nil {
			d.cond.Wait()
		}
		if d.synced >= seq {
			return nil
		}
		return d.err
	}, nil
}

// syncer syncs what has been written, as one sync for every line written
// meanwhile (group commit), and wakes their waiters.
func (d *Dir) syncer() {
	defer close(d.done)
	d.mu.Lock()
	defer d.mu.Unlock()
	for {
		for d.written == d.synced && !d.closed && d.err == nil {
			d.cond.Wait()
		}
		if d.err != nil || d.written == d.synced {
			return // closed with nothing left, or broken
		}
		target, calls, buf := d.written, d.pending, d.buf
		d.pending, d.buf = nil, d.spare[:0]
		d.mu.Unlock()
		_, err := d.f.Write(buf)
		if err == nil {
			err = d.f.Sync()
		}
		if err == nil {
			for _, call := range calls {
				call()
			}
		}
		d.mu.Lock()
		d.spare = buf
		if err != nil {
			d.err = fmt.Errorf("data dir: write journal: %w", err)
		} else {
			d.synced = target
		}
		d.cond.Broadcast()
	}
}

// Close syncs what is written, closes the journal and lets the lock go.
func (d *Dir) Close() error {
	d.mu.Lock()
	d.closed = true
	d.cond.Broadcast()
	d.mu.Unlock()
	<-d.done
	err := d.f.Close()
	if cerr := d.lock.Close(); err == nil {
		err = cerr
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.err != nil {
		return d.err
	}
	return err
}
