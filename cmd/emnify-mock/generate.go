package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"

	"github.com/emnify-mock/emnify-mock/plan"
	"github.com/emnify-mock/emnify-mock/scenarios"
	"github.com/emnify-mock/emnify-mock/source"
)

const generateUsage = `Usage: emnify-mock generate [flags]

Writes emnify device-status events, exactly as the platform's REST API and
Data Streamer carry them: the events of a YAML scenario (a built-in name or
a file; see 'emnify-mock scenarios list'), of a file or a running serve, or
of the fleet churn, a seeded random walk over a fleet of two workspaces:
registrations, factory tests, activations, suspensions, assignments,
releases, resets, migrations and deletions, all eleven event types in orders
the platform allows. Events come in timestamp order on a virtual clock. The
same seed and flags give the same bytes.

A scenario is checked before anything is written: a mistake in it, or a
step the platform would refuse, is reported as FILE:LINE:COLUMN with exit
status 2 and nothing on stdout.

` + sourceHelp + `
Output:
  --format F           ndjson (one event per line, default) or json (one array)
  --out FILE           write to FILE instead of stdout

Examples:
  emnify-mock generate --count 20 --seed 7
  emnify-mock generate --count 100000 --seed 7 --out events.ndjson
  emnify-mock generate --format json --count 50 | jq '.[].event_type.description'
  emnify-mock generate --scenario migration --seed 7
  emnify-mock generate --scenario ./my-fleet.yaml --out events.ndjson
  emnify-mock generate --from http://127.0.0.1:8080 --out served.ndjson
`

// GenerateCommand writes a generated event stream.
type GenerateCommand struct {
	Stdout, Stderr io.Writer
}

// Run parses the flags and writes the events.
func (c *GenerateCommand) Run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("generate", flag.ContinueOnError)
	var sf sourceFlags
	sf.register(fs, "")
	format := fs.String("format", "ndjson", "")
	out := fs.String("out", "", "")
	if err := parseFlags(fs, args, generateUsage, c.Stdout); err != nil {
		return err
	}
	if *format != "ndjson" && *format != "json" {
		return &usageError{err: fmt.Errorf("--format must be ndjson or json, got %q", *format), hint: "emnify-mock generate --help"}
	}
	spec, err := sf.spec()
	if err != nil {
		return err
	}
	src, err := spec.open() // before anything is written
	if err != nil {
		return err
	}
	if sf.seedChosen() && !spec.served() && spec.From == "" {
		fmt.Fprintf(c.Stderr, "seed %d (pass --seed %d to repeat this stream)\n", spec.Seed, spec.Seed)
	}
	w := c.Stdout
	if *out != "" {
		f, err := os.Create(*out)
		if err != nil {
			return fmt.Errorf("open output: %w", err)
		}
		defer f.Close()
		w = f
	}
	if err := writeEvents(ctx, w, src, *format == "json"); err != nil {
		return inputOf(err)
	}
	if f, ok := w.(*os.File); ok && *out != "" {
		if err := f.Close(); err != nil {
			return fmt.Errorf("close output: %w", err)
		}
	}
	return nil
}

// writeEvents streams the source's events; memory stays flat whatever
// their number. On cancellation it stops early but still closes a JSON
// array, so what was written parses.
func writeEvents(ctx context.Context, w io.Writer, src source.Source, array bool) error {
	bw := bufio.NewWriterSize(w, 256<<10)
	if array {
		bw.WriteByte('[')
	}
	var n int64
	err := src.Each(func(e source.Event) error {
		if n&1023 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		if array && n > 0 {
			bw.WriteByte(',')
		}
		bw.Write(e.JSON)
		n++
		if !array {
			if err := bw.WriteByte('\n'); err != nil {
				return fmt.Errorf("write events: %w", err)
			}
		}
		return nil
	})
	if array {
		bw.WriteString("]\n")
	}
	if ferr := bw.Flush(); ferr != nil && err == nil {
		err = fmt.Errorf("write events: %w", ferr)
	}
	if errors.Is(err, context.Canceled) {
		return fmt.Errorf("interrupted after %d events: %w", n, err)
	}
	return err
}

// parseSeed reads --seed; an empty value draws a random seed.
func parseSeed(s string) (uint64, error) {
	if s == "" {
		var b [8]byte
		if _, err := rand.Read(b[:]); err != nil {
			return 0, fmt.Errorf("draw a seed: %w", err)
		}
		return binary.LittleEndian.Uint64(b[:]) >> 1, nil
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("--seed must be a whole number from 0 to 18446744073709551615, got %q", s)
	}
	return n, nil
}

// checkScenario dry-runs a scenario for a sink that cannot take events
// back (a file, a webhook): one the platform refuses is bad input, found
// before any event goes out.
func checkScenario(sc *scenarios.Scenario, seed uint64) error {
	if _, err := plan.DryRun(sc.Plan, seed); err != nil {
		return &inputError{msg: err.Error()}
	}
	return nil
}
