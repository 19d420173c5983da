package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/emnify-mock/emnify-mock/source"
	"github.com/emnify-mock/emnify-mock/streamer"
)

const pushUsage = `Usage: emnify-mock push --to URL [flags]
       emnify-mock push --resume JOURNAL --to URL [delivery flags]

Pushes emnify events to a webhook the way emnify's Data Streamer does: one
event object per request (--size 1) or JSON arrays, at-least-once, with
retries, and every event accounted for: acknowledged by a 2xx, or written
to the dead-letter file with its attempts and last error. The events come
from a scenario, a file, a running serve's log, or the fleet churn.

` + sourceHelp + `
Surviving a crash:
  --journal FILE       the run's journal: what it was asked to send and which
                       events are settled (acknowledged, or dead-lettered).
                       Default: next to the dead letters, with .journal in
                       its name; '' for none. It is removed when the run
                       ends with every event settled, and kept when the run
                       is killed or interrupted. A push refuses to start on
                       the journal of a run that did not finish.
  --resume FILE        go on with the run of that journal: the same events
                       (same ids), sending only those not settled; the
                       journal says where the events come from, so no event
                       flag is given (a --from file must be unchanged)

` + deliveryHelp + `
Exit status: 0 when every event was acknowledged, 1 when some were dead-
lettered, the first request was refused with a 4xx, or the push was
interrupted (Ctrl-C finishes what is in flight for up to 4s and
dead-letters the rest; the events not made yet stay in the journal; a
second Ctrl-C cuts what is in flight at once and dead-letters it too; a
third exits), 2 for usage mistakes. The progress line and the summary
name the last failure (404 Not Found from URL, connection refused, ...).

Examples:
  emnify-mock push --to http://127.0.0.1:9000/webhook
  emnify-mock push --to http://127.0.0.1:9000/webhook --scenario migration --seed 7
  emnify-mock push --to http://127.0.0.1:9000/webhook --size 100 --header 'Authorization:Bearer abc'
  emnify-mock push --to http://127.0.0.1:9000/webhook --duplicate 0.1 --reorder 20 --drop 0.05
  emnify-mock push --resume emnify-mock-dead-letters.journal.ndjson --to http://127.0.0.1:9000/webhook
`

// PushCommand pushes generated events to a webhook.
type PushCommand struct {
	Stdout, Stderr io.Writer
}

// Run parses the flags and pushes.
func (c *PushCommand) Run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("push", flag.ContinueOnError)
	var d deliveryFlags
	d.register(fs)
	var sf sourceFlags
	sf.register(fs, "")
	journalFlag := fs.String("journal", "\x00", "")
	resume := fs.String("resume", "", "")
	if err := parseFlags(fs, args, pushUsage, c.Stdout); err != nil {
		return err
	}
	var spec sourceSpec
	var journal *streamer.Journal
	var settled map[int64]bool
	var err error
	if *resume != "" {
		journal, spec, settled, err = c.resume(fs, *resume)
	} else if spec, err = sf.spec(); err == nil && sf.seedChosen() && spec.churn() {
		defer fmt.Fprintf(c.Stderr, "seed %d (pass --seed %d to repeat these events)\n", spec.Seed, spec.Seed)
	}
	if err != nil {
		return err
	}
	o, err := d.options(spec.Seed, "emnify-mock push --help")
	var src source.Source
	if err == nil {
		src, err = spec.open()
	}
	if err == nil && journal == nil {
		journal, err = startJournal(*journalFlag, d.deadLetters, spec)
	}
	if err != nil {
		if journal != nil {
			journal.Close()
		}
		return err
	}
	var made error = context.Canceled // until the source is through
	_, err = deliver(ctx, o, d.deadLetters, journal, &d, c.Stdout, c.Stderr, func(send func(streamer.Item) bool) {
		var seq int64
		made = src.Each(func(e source.Event) error {
			seq++
			if settled[seq-1] {
				return nil
			}
			if !send(streamer.Item{ID: e.ID, JSON: e.JSON, Seq: seq - 1}) {
				return context.Canceled
			}
			return nil
		})
	})
	if made != nil && !errors.Is(made, context.Canceled) {
		err = errors.Join(inputOf(fmt.Errorf("reading the events: %w", made)), err)
	}
	if journal == nil {
		return err
	}
	if made == nil && !errors.Is(err, errLedger) { // every event settled
		journal.Remove()
		return err
	}
	journal.Close()
	return fmt.Errorf("%w; the events not sent yet are in the journal: emnify-mock push --resume %s --to %s", err, journal.Path, o.URL)
}

// resume opens the journal of a run that did not finish.
func (c *PushCommand) resume(fs *flag.FlagSet, path string) (*streamer.Journal, sourceSpec, map[int64]bool, error) {
	var spec sourceSpec
	hint := "emnify-mock push --help"
	for _, name := range []string{"scenario", "from", "count", "seed", "start", "sims", "journal", "max-scenario-events"} {
		if given(fs, name) {
			return nil, spec, nil, &usageError{err: fmt.Errorf("--resume takes the events from its journal: --%s cannot be given with it", name), hint: hint}
		}
	}
	j, st, err := streamer.OpenJournal(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, spec, nil, &usageError{err: fmt.Errorf("--resume: %w (a run that ended with every event settled removes its journal)", err), hint: hint}
	} else if err != nil {
		return nil, spec, nil, &inputError{msg: err.Error()}
	}
	if err := json.Unmarshal(st.Run, &spec); err != nil {
		j.Close()
		return nil, spec, nil, &inputError{msg: fmt.Sprintf("%s:1: not a push journal: %v", path, err)}
	}
	warnTorn(c.Stderr, path, st.Torn)
	fmt.Fprintf(c.Stderr, "resuming %s: %d events settled before (%d acknowledged, %d dead letters); sending the rest\n", path, st.Acked+st.Dead, st.Acked, st.Dead)
	return j, spec, st.Settled, nil
}

// startJournal creates the journal of a new run: at path, or next to the
// dead letters when path was not given ("\x00"); none for "".
func startJournal(path, deadLetters string, run sourceSpec) (*streamer.Journal, error) {
	if path == "" {
		return nil, nil
	}
	if path == "\x00" {
		path = strings.TrimSuffix(deadLetters, ".ndjson") + ".journal.ndjson"
	}
	j, err := streamer.CreateJournal(path, run)
	if errors.Is(err, os.ErrExist) {
		return nil, &usageError{err: fmt.Errorf("%s is the journal of an earlier push that did not finish", path),
			hint: fmt.Sprintf("emnify-mock push --resume %s --to URL (or delete the file to start afresh)", path)}
	}
	return j, err
}

// given says whether a flag was set on the command line.
func given(fs *flag.FlagSet, name string) bool {
	found := false
	fs.Visit(func(f *flag.Flag) { found = found || f.Name == name })
	return found
}

// warnTorn names the records a killed writer left cut short.
func warnTorn(w io.Writer, file string, lines []int) {
	for _, l := range lines {
		fmt.Fprintf(w, "warning: %s:%d: a record cut short (by a killed process?) is skipped\n", file, l)
	}
}
