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
	f, err := os.Open(file)
	if err != nil {
		return &usageError{err: fmt.Errorf("--dead-letters: %w", err), hint: hint}
	}
	items, _, torn, err := streamer.ReadDeadLetters(f, file)
	f.Close()
	if err != nil {
		return &inputError{msg: err.Error()}
	}
	warnTorn(c.Stderr, file, torn)
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
	st, err := deliver(ctx, o, next, nil, &d, c.Stdout, c.Stderr, func(send func(streamer.Item) bool) {
		for _, it := range items {
			send(it) // all of them: after an interruption they come back as dead letters
		}
	})
	if st.Dead > 0 {
		if rerr := os.Rename(next, file); rerr != nil {
			return fmt.Errorf("keep the dead letters: %w", rerr)
		}
		return fmt.Errorf("%d of %d events failed again; they are in %s", st.Dead, len(items), file)
	}
	if st.Acked == int64(len(items)) {
		os.Remove(file)
	}
	return err
}
