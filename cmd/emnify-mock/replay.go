package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/emnify-mock/emnify-mock/streamer"
)

const replayUsage = `Usage: emnify-mock replay --dead-letters FILE --to URL [flags]

Sends the events of a dead-letter file again, with their original ids (so a
consumer that dedupes by id sees a resend, not a new event). The file is
drained: when the replay ends it holds only the events that failed again
(and is removed if none did).

Flags:
  --dead-letters FILE  the file to replay (and drain)
  --seed N             seed of the faults and of the back-off's jitter (default 1)

` + deliveryHelp + `
Examples:
  emnify-mock replay --dead-letters emnify-mock-dead-letters.ndjson --to http://127.0.0.1:9000/webhook
`

// errStop ends a reading early.
var errStop = errors.New("stop")

// ReplayCommand resends dead letters.
type ReplayCommand struct {
	Stdout, Stderr io.Writer
}

// Run reads the dead letters and delivers them.
func (c *ReplayCommand) Run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("replay", flag.ContinueOnError)
	var d deliveryFlags
	d.register(fs)
	seedFlag := fs.String("seed", "1", "")
	if err := parseFlags(fs, args, replayUsage, c.Stdout); err != nil {
		return err
	}
	seed, err := parseSeed(*seedFlag)
	if err != nil {
		return &usageError{err: err, hint: "emnify-mock replay --help"}
	}
	hint := "emnify-mock replay --help"
	file := d.deadLetters
	// A first reading checks the whole file, so that a bad record is
	// found before anything is sent; the second sends, in constant memory.
	each := func(f func(streamer.Item) error) ([]int, error) { return eachDeadLetter(file, f) }
	var n int64
	torn, err := each(func(streamer.Item) error { n++; return nil })
	if err != nil {
		return err
	}
	warnTorn(c.Stderr, file, torn)
	checked, err := os.Stat(file)
	if err != nil {
		return err
	}
	o, err := d.options(seed, hint)
	if err != nil {
		return err
	}
	// What fails again goes to a new file that then replaces the old one,
	// so a crash mid-replay loses nothing; a .next left by such a crash
	// holds events the old file still has.
	next := file + ".next"
	if err := os.Remove(next); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	var sendErr error
	st, err := deliver(ctx, o, next, nil, &d, c.Stdout, c.Stderr, func(send func(streamer.Item) bool) {
		var sent int64
		_, sendErr = each(func(it streamer.Item) error {
			if sent == n { // records added since the check stay for the next replay
				return errStop
			}
			sent++
			send(it) // all of them: after an interruption they come back as dead letters
			return nil
		})
	})
	if sendErr != nil && !errors.Is(sendErr, errStop) {
		return fmt.Errorf("%w (nothing was lost: %s is unchanged)", sendErr, file)
	}
	if now, serr := os.Stat(file); serr != nil || now.Size() != checked.Size() {
		return fmt.Errorf("%s changed during the replay (another push?): it is left as it was, so its events go again with the next replay; %d failed again and are in %s", file, st.Dead, next)
	}
	if st.Dead > 0 {
		if rerr := os.Rename(next, file); rerr != nil {
			return fmt.Errorf("keep the dead letters: %w", rerr)
		}
		return fmt.Errorf("%d of %d events failed again; they are in %s", st.Dead, n, file)
	}
	if st.Acked == n {
		os.Remove(file)
	}
	return err
}

// eachDeadLetter reads a dead-letter file, calling f with each event.
func eachDeadLetter(file string, f func(streamer.Item) error) ([]int, error) {
	r, err := os.Open(file)
	if err != nil {
		return nil, &usageError{err: fmt.Errorf("--dead-letters: %w", err), hint: "emnify-mock replay --help"}
	}
	defer r.Close()
	torn, err := streamer.EachDeadLetter(r, file, func(it streamer.Item, _ streamer.DeadLetter) error { return f(it) })
	if err != nil {
		return torn, &inputError{msg: err.Error()}
	}
	return torn, nil
}
