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
	"time"

	"github.com/emnify-mock/emnify-mock/generator"
	"github.com/emnify-mock/emnify-mock/plan"
	"github.com/emnify-mock/emnify-mock/scenarios"
)

const generateUsage = `Usage: emnify-mock generate [flags]

Writes emnify device-status events, exactly as the platform's REST API and
Data Streamer carry them. With --scenario, the events of a YAML scenario (a
built-in name or a file; see 'emnify-mock scenarios list'). Without it, a
seeded random walk over a fleet of two workspaces (a "fleet churn"):
registrations, factory tests, activations, suspensions, assignments,
releases, resets, migrations and deletions, all eleven event types in orders
the platform allows. Events come in timestamp order on a virtual clock. The
same seed and flags give the same bytes.

A scenario is checked before anything is written: a mistake in it, or a
step the platform would refuse, is reported as FILE:LINE:COLUMN with exit
status 2 and nothing on stdout.

Flags:
  --scenario S     a built-in scenario name or a scenario file
  --max-scenario-events N
                   refuse a scenario that could make more than N events (or
                   provision more than N SIMs and endpoints), before it runs,
                   as FILE:LINE:COLUMN (default 2000000)
  --count N        number of events (default 1000; with --scenario, all of them)
  --seed N         random seed; without it one is chosen and printed to stderr
  --format F       ndjson (one event per line, default) or json (one array)
  --out FILE       write to FILE instead of stdout
  --start TIME     virtual start instant, RFC 3339 (default 2025-01-06T08:00:00Z;
                   a scenario's own start wins)
  --sims N         SIMs per workspace of the fleet churn (default 40)

Examples:
  emnify-mock generate --count 20 --seed 7
  emnify-mock generate --count 100000 --seed 7 --out events.ndjson
  emnify-mock generate --format json --count 50 | jq '.[].event_type.description'
  emnify-mock generate --scenario migration --seed 7
  emnify-mock generate --scenario ./my-fleet.yaml --out events.ndjson
`

// GenerateCommand writes a generated event stream.
type GenerateCommand struct {
	Stdout, Stderr io.Writer
}

// Run parses the flags and writes the events.
func (c *GenerateCommand) Run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("generate", flag.ContinueOnError)
	count := fs.Int64("count", 1000, "")
	seedFlag := fs.String("seed", "", "")
	format := fs.String("format", "ndjson", "")
	out := fs.String("out", "", "")
	start := fs.String("start", generator.DefaultStart.Format(time.RFC3339), "")
	sims := fs.Int("sims", 40, "")
	scenario := fs.String("scenario", "", "")
	maxEvents := maxEventsFlag(fs)
	if err := parseFlags(fs, args, generateUsage, c.Stdout); err != nil {
		return err
	}
	if err := checkMaxEvents(*maxEvents, "generate"); err != nil {
		return err
	}
	bad := func(format string, a ...any) error {
		return &usageError{err: fmt.Errorf(format, a...), hint: "emnify-mock generate --help"}
	}
	if *count < 0 {
		return bad("--count must be 0 or more, got %d", *count)
	}
	if *format != "ndjson" && *format != "json" {
		return bad("--format must be ndjson or json, got %q", *format)
	}
	if *sims < 1 || *sims > 100_000 {
		return bad("--sims must be from 1 to 100000, got %d", *sims)
	}
	t0, err := time.Parse(time.RFC3339, *start)
	if err != nil {
		return bad("--start must be an RFC 3339 instant such as 2025-01-06T08:00:00Z, got %q", *start)
	}
	seed, err := parseSeed(*seedFlag)
	if err != nil {
		return bad("%v", err)
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var src eventSource
	if *scenario != "" {
		if set["sims"] {
			return bad("--sims applies to the fleet churn, not to --scenario")
		}
		sc, err := loadScenario(*scenario, *maxEvents)
		if err != nil {
			return err
		}
		if set["start"] {
			sc.Plan.Start = t0
		}
		if err := checkScenario(sc, seed); err != nil { // before anything is written
			return err
		}
		if !set["count"] {
			*count = -1
		}
		src = func(emit func(generator.Event) error) error {
			_, err := plan.Run(sc.Plan, seed, emit)
			return err
		}
	} else {
		churn, err := generator.NewChurn(seed, generator.ChurnOptions{Start: t0, SIMs: *sims})
		if err != nil {
			return err
		}
		src = func(emit func(generator.Event) error) error {
			for {
				if err := emit(churn.Next()); err != nil {
					return err
				}
			}
		}
	}
	if *seedFlag == "" {
		fmt.Fprintf(c.Stderr, "seed %d (pass --seed %d to repeat this stream)\n", seed, seed)
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
	if err := writeEvents(ctx, w, src, *count, *format == "json"); err != nil {
		return err
	}
	if f, ok := w.(*os.File); ok && *out != "" {
		if err := f.Close(); err != nil {
			return fmt.Errorf("close output: %w", err)
		}
	}
	return nil
}

// eventSource hands events to emit until it runs out or emit fails.
type eventSource func(emit func(generator.Event) error) error

// errEnough stops a source once --count events are written.
var errEnough = errors.New("enough events")

// writeEvents streams up to count events (all of them when count is -1);
// memory stays flat whatever the count. On cancellation it stops early but
// still closes a JSON array, so what was written parses.
func writeEvents(ctx context.Context, w io.Writer, src eventSource, count int64, array bool) error {
	bw := bufio.NewWriterSize(w, 256<<10)
	var buf []byte
	if array {
		bw.WriteByte('[')
	}
	var n int64
	err := src(func(e generator.Event) error {
		if n == count {
			return errEnough
		}
		if n&1023 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		buf = buf[:0]
		if array && n > 0 {
			buf = append(buf, ',')
		}
		buf = e.AppendJSON(buf)
		if !array {
			buf = append(buf, '\n')
		}
		n++
		if _, err := bw.Write(buf); err != nil {
			return fmt.Errorf("write events: %w", err)
		}
		return nil
	})
	if errors.Is(err, errEnough) {
		err = nil
	}
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
