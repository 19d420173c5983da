package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/emnify-mock/emnify-mock/generator"
	"github.com/emnify-mock/emnify-mock/plan"
	"github.com/emnify-mock/emnify-mock/streamer"
)

const pushUsage = `Usage: emnify-mock push --to URL [flags]

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

` + deliveryHelp + `
Exit status: 0 when every event was acknowledged, 1 when some were dead-
lettered, the first request was refused with a 4xx, or the push was
interrupted (Ctrl-C finishes what is in flight for up to 4s and
dead-letters the rest; a second Ctrl-C cuts what is in flight at once and
dead-letters it too; a third exits), 2 for usage mistakes. The progress
line and the summary name the last failure (404 Not Found from URL,
connection refused, ...).

Examples:
  emnify-mock push --to http://127.0.0.1:9000/webhook
  emnify-mock push --to http://127.0.0.1:9000/webhook --scenario migration --seed 7
  emnify-mock push --to http://127.0.0.1:9000/webhook --size 100 --header 'Authorization:Bearer abc'
  emnify-mock push --to http://127.0.0.1:9000/webhook --duplicate 0.1 --reorder 20 --drop 0.05
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
	scenario := fs.String("scenario", "", "")
	maxEvents := maxEventsFlag(fs)
	count := fs.Int("count", 100, "")
	seedFlag := fs.String("seed", "", "")
	if err := parseFlags(fs, args, pushUsage, c.Stdout); err != nil {
		return err
	}
	if err := checkMaxEvents(*maxEvents, "push"); err != nil {
		return err
	}
	hint := "emnify-mock push --help"
	seed, err := parseSeed(*seedFlag)
	if err != nil {
		return &usageError{err: err, hint: hint}
	}
	if *count < 0 {
		return &usageError{err: fmt.Errorf("--count must be 0 or more, got %d", *count), hint: hint}
	}
	o, err := d.options(seed, hint)
	if err != nil {
		return err
	}
	var events func(emit func(generator.Event) error) error
	if *scenario != "" {
		sc, err := loadScenario(*scenario, *maxEvents)
		if err != nil {
			return err
		}
		if err := checkScenario(sc, seed); err != nil { // nothing half-sent
			return err
		}
		events = func(emit func(generator.Event) error) error {
			_, err := plan.Run(sc.Plan, seed, emit)
			return err
		}
	} else {
		churn, err := generator.NewChurn(seed, generator.ChurnOptions{})
		if err != nil {
			return err
		}
		events = func(emit func(generator.Event) error) error {
			for range *count {
				if err := emit(churn.Next()); err != nil {
					return err
				}
			}
			return nil
		}
	}
	if *seedFlag == "" {
		fmt.Fprintf(c.Stderr, "seed %d (pass --seed %d to repeat these events)\n", seed, seed)
	}
	_, err = deliver(ctx, o, d.deadLetters, &d, c.Stdout, c.Stderr, func(send func(streamer.Item) bool) {
		events(func(e generator.Event) error {
			if !send(streamer.Item{ID: e.ID, JSON: e.AppendJSON(nil)}) {
				return context.Canceled
			}
			return nil
		})
	})
	return err
}
