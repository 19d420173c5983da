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

	"github.com/emnify-mock/emnify-mock/generator"
	"github.com/emnify-mock/emnify-mock/plan"
	"github.com/emnify-mock/emnify-mock/scenarios"
	"github.com/emnify-mock/emnify-mock/streamer"
)

const pushUsage = `Usage: emnify-mock push --to URL [flags]
       emnify-mock push --resume JOURNAL --to URL [delivery flags]

Pushes emnify events to a webhook the way emnify's Data Streamer does: one
event object per request (--size 1) or JSON arrays, at-least-once, with
retries, and every event accounted for: acknowledged by a 2xx, or written
to the dead-letter file with its attempts and last error. The events come
from a scenario, or from the fleet churn.

Events:
  --scenario S         a built-in scenario name or a file (default: fleet churn)
  --max-scenario-events N
                       refuse a scenario that could make more than N events
                       (or provision more than N SIMs and endpoints), before
                       it runs, as FILE:LINE:COLUMN (default 2000000)
  --count N            with the fleet churn, how many events (default 100)
  --seed N             random seed for events, jitter and faults (default:
                       random, printed)

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
                       events come from the journal, so --scenario, --count
                       and --seed are not given

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

// pushRun is what a push was asked to send. Its journal keeps it, the
// scenario's text included, so that a killed run is resumed with the very
// same events even if the scenario file has changed since.
type pushRun struct {
	Scenario  string `json:"scenario,omitempty"` // file name, for errors
	YAML      string `json:"scenario_yaml,omitempty"`
	Count     int    `json:"count"` // of the fleet churn, without a scenario
	Seed      uint64 `json:"seed"`
	MaxEvents int    `json:"max_scenario_events"`
}

// events returns the run's events, the same on every call.
func (p pushRun) events() (func(emit func(generator.Event) error) error, error) {
	if p.Scenario != "" {
		sc, err := scenarios.Parse(p.Scenario, []byte(p.YAML))
		if err != nil {
			return nil, &inputError{msg: err.Error()}
		}
		sc.Plan.MaxEvents = p.MaxEvents
		if err := checkScenario(sc, p.Seed); err != nil { // nothing half-sent
			return nil, err
		}
		return func(emit func(generator.Event) error) error {
			_, err := plan.Run(sc.Plan, p.Seed, emit)
			return err
		}, nil
	}
	churn, err := generator.NewChurn(p.Seed, generator.ChurnOptions{})
	if err != nil {
		return nil, err
	}
	return func(emit func(generator.Event) error) error {
		for range p.Count {
			if err := emit(churn.Next()); err != nil {
				return err
			}
		}
		return nil
	}, nil
}

// Run parses the flags and pushes.
func (c *PushCommand) Run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("push", flag.ContinueOnError)
	var d deliveryFlags
	d.register(fs)
	scenario := fs.String("scenario", "", "")
	maxEvents := maxEventsFlag(fs)
	count := fs.Int("count", 100, "")
	seedFlag := fs.String("seed", "", "")
	journalFlag := fs.String("journal", "\x00", "")
	resume := fs.String("resume", "", "")
	if err := parseFlags(fs, args, pushUsage, c.Stdout); err != nil {
		return err
	}
	hint := "emnify-mock push --help"
	var run pushRun
	var journal *streamer.Journal
	settled := map[int64]bool{}
	if *resume != "" {
		for _, name := range []string{"scenario", "count", "seed", "journal", "max-scenario-events"} {
			if given(fs, name) {
				return &usageError{err: fmt.Errorf("--resume takes the events from its journal: --%s cannot be given with it", name), hint: hint}
			}
		}
		j, st, err := streamer.OpenJournal(*resume)
		if errors.Is(err, os.ErrNotExist) {
			return &usageError{err: fmt.Errorf("--resume: %w (a run that ended with every event settled removes its journal)", err), hint: hint}
		} else if err != nil {
			return &inputError{msg: err.Error()}
		}
		if err := json.Unmarshal(st.Run, &run); err != nil {
			j.Close()
			return &inputError{msg: fmt.Sprintf("%s:1: not a push journal: %v", *resume, err)}
		}
		warnTorn(c.Stderr, *resume, st.Torn)
		journal, settled = j, st.Settled
		fmt.Fprintf(c.Stderr, "resuming %s: %d events settled before (%d acknowledged, %d dead letters); sending the rest\n", *resume, st.Acked+st.Dead, st.Acked, st.Dead)
	} else {
		if err := checkMaxEvents(*maxEvents, "push"); err != nil {
			return err
		}
		seed, err := parseSeed(*seedFlag)
		if err != nil {
			return &usageError{err: err, hint: hint}
		}
		if *count < 0 {
			return &usageError{err: fmt.Errorf("--count must be 0 or more, got %d", *count), hint: hint}
		}
		run = pushRun{Count: *count, Seed: seed, MaxEvents: *maxEvents}
		if *scenario != "" {
			file, src, err := scenarioSource(*scenario)
			if err != nil {
				return err
			}
			run.Scenario, run.YAML, run.Count = file, string(src), 0
		}
		if *seedFlag == "" {
			defer fmt.Fprintf(c.Stderr, "seed %d (pass --seed %d to repeat these events)\n", seed, seed)
		}
	}
	o, err := d.options(run.Seed, hint)
	var events func(emit func(generator.Event) error) error
	if err == nil {
		events, err = run.events()
	}
	if err == nil && journal == nil {
		journal, err = startJournal(*journalFlag, d.deadLetters, run)
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
		made = events(func(e generator.Event) error {
			seq++
			if settled[seq-1] {
				return nil
			}
			if !send(streamer.Item{ID: e.ID, JSON: e.AppendJSON(nil), Seq: seq - 1}) {
				return context.Canceled
			}
			return nil
		})
	})
	if made != nil && !errors.Is(made, context.Canceled) {
		err = errors.Join(fmt.Errorf("making the events: %w", made), err)
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

// startJournal creates the journal of a new run: at path, or next to the
// dead letters when path was not given ("\x00"); none for "".
func startJournal(path, deadLetters string, run pushRun) (*streamer.Journal, error) {
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
