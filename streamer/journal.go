package streamer

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"sync"
)

// Journal is a delivery run's record on disk: what the run was asked to
// send (its source, as the caller describes it) and which events, by their
// place in that source (Item.Seq), are settled: acknowledged, or dead with
// their dead letter synced. A run killed at any instant is resumed from it:
// the caller makes the source again (it must be deterministic) and sends
// only what is not settled. Each record is one write, so a killed process
// leaves whole lines; they are not synced, as losing one to a machine crash
// only sends its events again (at-least-once).
type Journal struct {
	mu   sync.Mutex
	f    *os.File
	Path string
}

// JournalVersion is the journal format's version; a journal of another
// version is refused rather than misread.
const JournalVersion = 1

type journalLine struct {
	Version int             `json:"version,omitempty"`
	Run     json.RawMessage `json:"run,omitempty"`
	Acked   []int64         `json:"acked,omitempty"`
	Dead    []int64         `json:"dead,omitempty"`
}

// JournalState is what a journal holds.
type JournalState struct {
	Run     json.RawMessage // the source, as CreateJournal got it
	Settled map[int64]bool  // by Seq
	Acked   int
	Dead    int
	Torn    []int // lines cut short and skipped
}

// CreateJournal starts a journal for a run described by run (marshalled
// to JSON). It refuses a file that exists (os.ErrExist): that is an
// earlier run that did not finish.
func CreateJournal(path string, run any) (*Journal, error) {
	b, err := json.Marshal(run)
	if err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	head, _ := json.Marshal(journalLine{Version: JournalVersion, Run: b})
	if _, err = f.Write(append(head, '\n')); err == nil {
		err = f.Sync()
	}
	if err != nil {
		f.Close()
		os.Remove(path)
		return nil, fmt.Errorf("write journal %s: %w", path, err)
	}
	return &Journal{f: f, Path: path}, nil
}

// OpenJournal reads a journal and opens it to go on with the run.
func OpenJournal(path string) (*Journal, JournalState, error) {
	st := JournalState{Settled: map[int64]bool{}}
	f, err := os.Open(path)
	if err != nil {
		return nil, st, err
	}
	st.Torn, err = records(f, path, func(line int, b []byte) error {
		var l journalLine
		if err := json.Unmarshal(b, &l); err != nil {
			return fmt.Errorf("%s:%d: not a journal record: %v", path, line, err)
		}
		switch {
		case line == 1 && (l.Version != JournalVersion || l.Run == nil):
			return fmt.Errorf("%s:1: not a version %d emnify-mock journal", path, JournalVersion)
		case line > 1 && (l.Version != 0 || l.Run != nil):
			return fmt.Errorf("%s:%d: a second journal header", path, line)
		}
		if line == 1 {
			st.Run = l.Run
		}
		for _, seq := range l.Acked {
			st.Settled[seq] = true
			st.Acked++
		}
		for _, seq := range l.Dead {
			st.Settled[seq] = true
			st.Dead++
		}
		return nil
	})
	f.Close()
	if err == nil && st.Run == nil {
		err = fmt.Errorf("%s: an empty journal", path)
	}
	if err != nil {
		return nil, st, err
	}
	af, err := openAppend(path)
	if err != nil {
		return nil, st, err
	}
	return &Journal{f: af, Path: path}, st, nil
}

// settle notes that items are acknowledged or dead. A nil journal notes
// nothing.
func (j *Journal) settle(items []Item, acked bool) error {
	if j == nil {
		return nil
	}
	var b bytes.Buffer
	b.WriteString(`{"dead":[`)
	if acked {
		b.Reset()
		b.WriteString(`{"acked":[`)
	}
	for i, it := range items {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.FormatInt(it.Seq, 10))
	}
	b.WriteString("]}\n")
	j.mu.Lock()
	defer j.mu.Unlock()
	if _, err := j.f.Write(b.Bytes()); err != nil {
		return fmt.Errorf("write journal %s: %w", j.Path, err)
	}
	return nil
}

// Close closes the journal and keeps it, to resume from.
func (j *Journal) Close() error { return j.f.Close() }

// Remove closes the journal and deletes it: the run is over and every
// event it was asked for is settled.
func (j *Journal) Remove() error {
	j.f.Close()
	return os.Remove(j.Path)
}
