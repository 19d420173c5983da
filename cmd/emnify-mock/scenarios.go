package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/emnify-mock/emnify-mock/plan"
	"github.com/emnify-mock/emnify-mock/scenarios"
)

const scenariosUsage = `Usage: emnify-mock scenarios <list|show|validate> [flags] [args]

Scenarios describe fleets and what happens to them, in YAML; the language is
documented in scenarios/README.md. Built-in scenarios are embedded in the
binary; any command that takes a scenario also takes a file.

Commands:
  list                 the built-in scenarios, one line each
  show NAME            print a built-in scenario's YAML (a starting point for your own)
  validate FILE...     parse each file and run it dry; report FILE:LINE:COLUMN errors

Flags (validate):
  --seed N             seed for the dry run (default 1); choose and pick depend on it
  --max-scenario-events N
                       refuse a scenario that could make more than N events
                       (or provision more than N SIMs and endpoints), before
                       it runs, as FILE:LINE:COLUMN (default 2000000)

Examples:
  emnify-mock scenarios list
  emnify-mock scenarios show migration > my-migration.yaml
  emnify-mock scenarios validate my-migration.yaml
  emnify-mock generate --scenario my-migration.yaml --seed 7
`

// ScenariosCommand lists, shows and validates scenarios.
type ScenariosCommand struct {
	Stdout, Stderr io.Writer
}

// Run dispatches to list, show or validate.
func (c *ScenariosCommand) Run(ctx context.Context, args []string) error {
	hint := "emnify-mock scenarios --help"
	if len(args) == 0 {
		return &usageError{err: errors.New("scenarios needs a command: list, show or validate"), hint: hint}
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		fmt.Fprint(c.Stdout, scenariosUsage)
		return flag.ErrHelp
	case "list":
		if len(args) > 1 {
			return &usageError{err: fmt.Errorf("list takes no arguments, got %q", args[1]), hint: hint}
		}
		tw := tabwriter.NewWriter(c.Stdout, 0, 4, 2, ' ', 0)
		for _, name := range scenarios.Names() {
			sc, err := scenarios.Load(name)
			if err != nil {
				return err
			}
			fmt.Fprintf(tw, "%s\t%s\n", name, sc.Description)
		}
		return tw.Flush()
	case "show":
		if len(args) != 2 {
			return &usageError{err: errors.New("show takes one scenario name"), hint: "emnify-mock scenarios list"}
		}
		src, ok := scenarios.Builtin(args[1])
		if !ok {
			return &usageError{err: fmt.Errorf("no built-in scenario %q", args[1]), hint: "emnify-mock scenarios list"}
		}
		_, err := c.Stdout.Write(src)
		return err
	case "validate":
		return c.validate(args[1:])
	}
	return &usageError{err: fmt.Errorf("unknown scenarios command %q", args[0]), hint: hint}
}

func (c *ScenariosCommand) validate(args []string) error {
	fs := flag.NewFlagSet("scenarios validate", flag.ContinueOnError)
	seedFlag := fs.String("seed", "1", "")
	maxEvents := maxEventsFlag(fs)
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(c.Stdout, scenariosUsage)
			return err
		}
		return &usageError{err: err, hint: "emnify-mock scenarios --help"}
	}
	seed, err := parseSeed(*seedFlag)
	if err != nil {
		return &usageError{err: err, hint: "emnify-mock scenarios --help"}
	}
	if err := checkMaxEvents(*maxEvents, "scenarios"); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return &usageError{err: errors.New("validate needs at least one file"), hint: "emnify-mock scenarios validate my-scenario.yaml"}
	}
	var bad []string
	var report []string
	for _, file := range fs.Args() {
		src, err := os.ReadFile(file)
		if err != nil {
			bad = append(bad, fmt.Sprintf("%s: %v", file, err))
			continue
		}
		sc, sum, err := scenarios.Check(file, src, seed, *maxEvents)
		if err != nil {
			bad = append(bad, err.Error())
			continue
		}
		report = append(report, fmt.Sprintf("%s: ok, scenario %s, %d events", file, sc.Name, sum.Events))
	}
	if len(bad) > 0 {
		return &inputError{msg: strings.Join(bad, "\n")}
	}
	for _, line := range report {
		fmt.Fprintln(c.Stdout, line)
	}
	return nil
}

// scenarioSource finds a scenario by built-in name or file; a file wins
// when both exist.
func scenarioSource(arg string) (file string, src []byte, err error) {
	if file, src, err = scenarios.Source(arg); err != nil {
		return "", nil, &usageError{err: err, hint: "emnify-mock scenarios list"}
	}
	return file, src, nil
}

// maxEventsFlag adds --max-scenario-events to a command that runs
// scenarios; check its value with checkMaxEvents.
func maxEventsFlag(fs *flag.FlagSet) *int {
	return fs.Int("max-scenario-events", plan.DefaultMaxEvents, "")
}

func checkMaxEvents(n int, command string) error {
	if n < 1 {
		return &usageError{err: fmt.Errorf("--max-scenario-events must be 1 or more, got %d", n), hint: "emnify-mock " + command + " --help"}
	}
	return nil
}
