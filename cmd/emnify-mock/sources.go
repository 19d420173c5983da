package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/emnify-mock/emnify-mock/generator"
	"github.com/emnify-mock/emnify-mock/plan"
	"github.com/emnify-mock/emnify-mock/scenarios"
	"github.com/emnify-mock/emnify-mock/source"
)

// sourceHelp documents the flags every command that reads events shares.
const sourceHelp = `Events (the same flags in generate, push and load):
  --scenario S         a built-in scenario name or a scenario file
  --from F             a file of events (NDJSON, a JSON array, or objects one
                       after another, as generate writes them; - for stdin),
                       or the URL of a running emnify-mock serve, whose log
                       is read from the start through GET /mock/events (its
                       control token from EMNIFY_MOCK_CONTROL_TOKEN)
                       Without either: the fleet churn, an endless seeded
                       random walk over two workspaces.
  --count N            at most N events of any source (default: all of a
                       scenario or file; 1000 of the churn)
  --seed N             random seed of the churn or the scenario
  --start TIME         virtual start instant, RFC 3339 (default
                       2025-01-06T08:00:00Z; a scenario's own start wins
                       unless this is given)
  --sims N             SIMs per workspace of the churn (default 40)
  --max-scenario-events N
                       refuse a scenario that could make more than N events
                       (or provision more than N SIMs and endpoints), before
                       it runs, as FILE:LINE:COLUMN (default 2000000)
`

// churnCount is how many churn events --count means when not given: the
// churn never runs out.
const churnCount = 1000

// sourceFlags are the flags of sourceHelp.
type sourceFlags struct {
	fs                          *flag.FlagSet
	command                     string
	scenario, from, seed, start string
	count                       int64
	sims, maxEvents             int
}

// register adds the flags; seed is --seed's default ("" draws one).
func (f *sourceFlags) register(fs *flag.FlagSet, seed string) {
	f.fs, f.command = fs, fs.Name()
	fs.StringVar(&f.scenario, "scenario", "", "")
	fs.StringVar(&f.from, "from", "", "")
	fs.Int64Var(&f.count, "count", -1, "")
	fs.StringVar(&f.seed, "seed", seed, "")
	fs.StringVar(&f.start, "start", "", "")
	fs.IntVar(&f.sims, "sims", 0, "")
	fs.IntVar(&f.maxEvents, "max-scenario-events", plan.DefaultMaxEvents, "")
}

// spec checks the flags and says what to read.
func (f *sourceFlags) spec() (sourceSpec, error) {
	hint := "emnify-mock " + f.command + " --help"
	bad := func(format string, a ...any) error { return &usageError{err: fmt.Errorf(format, a...), hint: hint} }
	if err := checkMaxEvents(f.maxEvents, f.command); err != nil {
		return sourceSpec{}, err
	}
	seed, err := parseSeed(f.seed)
	if err != nil {
		return sourceSpec{}, bad("%v", err)
	}
	p := sourceSpec{Count: f.count, Seed: seed, SIMs: f.sims, MaxEvents: f.maxEvents, From: f.from}
	switch {
	case f.count < -1 || f.count == -1 && given(f.fs, "count"):
		return p, bad("--count must be 0 or more, got %d", f.count)
	case f.scenario != "" && f.from != "":
		return p, bad("--scenario and --from are two sources: give one")
	case f.sims != 0 && (f.scenario != "" || f.from != ""):
		return p, bad("--sims applies to the fleet churn, not to --scenario or --from")
	case f.sims < 0 || f.sims > 100_000:
		return p, bad("--sims must be from 1 to 100000, got %d", f.sims)
	case f.start != "" && f.from != "":
		return p, bad("--start applies to the churn or a scenario, not to --from")
	}
	if f.start != "" {
		if p.Start, err = time.Parse(time.RFC3339, f.start); err != nil {
			return p, bad("--start must be an RFC 3339 instant such as 2025-01-06T08:00:00Z, got %q", f.start)
		}
	}
	if f.scenario != "" {
		if p.Scenario, p.YAML, err = readScenario(f.scenario); err != nil {
			return p, err
		}
	}
	if f.from != "" && !p.served() && f.from != "-" {
		st, err := os.Stat(f.from)
		if err != nil {
			return p, bad("--from: %v", err)
		}
		p.FromSize, p.FromModified = st.Size(), st.ModTime().UTC()
	}
	return p, nil
}

// seedChosen says whether the seed was drawn rather than given.
func (f *sourceFlags) seedChosen() bool { return f.seed == "" }

func readScenario(arg string) (file, yaml string, err error) {
	file, src, err := scenarioSource(arg)
	return file, string(src), err
}

// sourceSpec is what to read, whole enough to read the same events again
// (a push journal keeps it, the scenario's text included).
type sourceSpec struct {
	Scenario     string    `json:"scenario,omitempty"` // file name, for errors
	YAML         string    `json:"scenario_yaml,omitempty"`
	From         string    `json:"from,omitempty"`
	FromSize     int64     `json:"from_size,omitempty"`
	FromModified time.Time `json:"from_modified,omitzero"`
	Count        int64     `json:"count"` // -1: the default
	Seed         uint64    `json:"seed"`
	Start        time.Time `json:"start,omitzero"`
	SIMs         int       `json:"sims,omitempty"`
	MaxEvents    int       `json:"max_scenario_events"`
}

func (p sourceSpec) served() bool {
	return strings.HasPrefix(p.From, "http://") || strings.HasPrefix(p.From, "https://")
}

// churn says whether the source is the fleet churn.
func (p sourceSpec) churn() bool { return p.Scenario == "" && p.From == "" }

// open returns the source, capped by Count. A scenario is dry-run first:
// one the platform refuses is bad input, found before any event goes out.
func (p sourceSpec) open() (source.Source, error) {
	count := p.Count
	var src source.Source
	switch {
	case p.Scenario != "":
		sc, err := scenarios.Parse(p.Scenario, []byte(p.YAML))
		if err != nil {
			return nil, &inputError{msg: err.Error()}
		}
		sc.Plan.MaxEvents = p.MaxEvents
		if !p.Start.IsZero() {
			sc.Plan.Start = p.Start
		}
		if err := checkScenario(sc, p.Seed); err != nil {
			return nil, err
		}
		src = source.Scenario{Plan: sc.Plan, Seed: p.Seed}
	case p.served():
		src = source.Served{URL: p.From, Token: os.Getenv("EMNIFY_MOCK_CONTROL_TOKEN")}
	case p.From != "":
		if p.From != "-" && !p.FromModified.IsZero() {
			st, err := os.Stat(p.From)
			if err != nil {
				return nil, fmt.Errorf("--from: %w", err)
			}
			if st.Size() != p.FromSize || !st.ModTime().UTC().Equal(p.FromModified) {
				return nil, fmt.Errorf("--from %s has changed since the run began (size or time): its events may not be the same", p.From)
			}
		}
		src = source.File{Path: p.From}
	default:
		src = source.Churn{Seed: p.Seed, Options: generator.ChurnOptions{Start: p.Start, SIMs: p.SIMs}}
		if count < 0 {
			count = churnCount
		}
	}
	return source.Take(src, count), nil
}

// inputOf turns a source's error into what main reports: bad input at its
// place, or a plain error.
func inputOf(err error) error {
	var se *source.Error
	if errors.As(err, &se) {
		return &inputError{msg: err.Error()}
	}
	return err
}
