package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"

	"github.com/emnify-mock/emnify-mock/fixtures"
	"github.com/emnify-mock/emnify-mock/source"
)

const checkUsage = `Usage: emnify-mock check [--schema] [--max N] [FILE...]

Checks events against the example events of emnify's device-status
documentation: the same keys in the same order, the same JSON types, null
where the platform writes null, keys left out only where the platform
leaves them out. Use it on the hand-made fixtures of your own tests, or on
what your pipeline stores, to find events the platform would never send.
A FILE holds NDJSON, a JSON array, or JSON objects one after another; no
FILE or - reads standard input. Exit status 1 if any event does not
conform.

Flags:
  --schema   print the JSON Schema (draft 2020-12) of the events instead,
             for validators in any language (key order is not expressible
             there: check tells it)
  --max N    report at most N events that do not conform (default 20)

Examples:
  emnify-mock check fixtures/docs-examples/*.json
  emnify-mock generate --count 1000 | emnify-mock check
  emnify-mock check --schema > emnify-event.schema.json
`

// CheckCommand checks events against the docs' shapes.
type CheckCommand struct {
	Stdout, Stderr io.Writer
	Stdin          io.Reader // default os.Stdin
}

// Run checks the files, or prints the schema.
func (c *CheckCommand) Run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	schema := fs.Bool("schema", false, "")
	maxBad := fs.Int("max", 20, "")
	files, err := parseWithFiles(fs, args, checkUsage, c.Stdout)
	if err != nil {
		return err
	}
	if *schema {
		_, err := c.Stdout.Write(fixtures.Schema())
		return err
	}
	if len(files) == 0 {
		files = []string{"-"}
	}
	var sum checkSummary
	for _, name := range files {
		if err := c.checkFile(name, &sum, *maxBad); err != nil {
			return err
		}
	}
	fmt.Fprintf(c.Stdout, "%d events checked, %d conform", sum.events, sum.events-sum.bad)
	if sum.bad > 0 {
		fmt.Fprintf(c.Stdout, ", %d do not", sum.bad)
	}
	fmt.Fprintln(c.Stdout)
	if len(sum.byType) > 0 {
		types := make([]string, 0, len(sum.byType))
		for t := range sum.byType {
			types = append(types, t)
		}
		sort.Strings(types)
		for _, t := range types {
			fmt.Fprintf(c.Stdout, "  event type %s: %d do not conform\n", t, sum.byType[t])
		}
	}
	if sum.bad > 0 {
		return fmt.Errorf("%d of %d events do not conform to emnify's documented shapes", sum.bad, sum.events)
	}
	return nil
}

type checkSummary struct {
	events, bad int
	byType      map[string]int // event type id → events that do not conform
}

// checkFile checks every event of one file; a file that is not JSON is
// an input error at its line and column.
func (c *CheckCommand) checkFile(name string, sum *checkSummary, maxBad int) error {
	var r io.Reader
	if name == "-" {
		r, name = c.Stdin, "stdin"
		if r == nil {
			r = os.Stdin
		}
	} else {
		f, err := os.Open(name)
		if err != nil {
			return &usageError{err: err, hint: "emnify-mock check --help"}
		}
		defer f.Close()
		r = f
	}
	found := 0
	err := source.ReadJSON(r, name, func(raw json.RawMessage, line int) error {
		found++
		sum.events++
		err := conforms(raw)
		if err == nil {
			return nil
		}
		sum.bad++
		var head struct {
			ID   json.RawMessage `json:"id"`
			Type struct {
				ID json.RawMessage `json:"id"`
			} `json:"event_type"`
		}
		json.Unmarshal(raw, &head)
		if sum.byType == nil {
			sum.byType = map[string]int{}
		}
		typ := or(string(head.Type.ID), "?")
		sum.byType[typ]++
		if sum.bad <= maxBad {
			fmt.Fprintf(c.Stderr, "%s:%d: event %s (type %s): %v\n", name, line, or(string(head.ID), "?"), typ, err)
		} else if sum.bad == maxBad+1 {
			fmt.Fprintf(c.Stderr, "(more events that do not conform are counted, not shown; --max N shows more)\n")
		}
		return nil
	})
	if err != nil {
		return &inputError{msg: err.Error()}
	}
	if found == 0 {
		return &inputError{msg: fmt.Sprintf("%s: no events in it (expected NDJSON, a JSON array, or JSON objects one after another)", name)}
	}
	return nil
}

// conforms is fixtures.Conforms, with a plainer word for what is not an
// object at all.
func conforms(raw json.RawMessage) error {
	kind := "number"
	switch raw[0] {
	case '{':
		return fixtures.Conforms(raw)
	case '[':
		kind = "array"
	case '"':
		kind = "string"
	case 't', 'f':
		kind = "boolean"
	case 'n':
		kind = "null"
	}
	return fmt.Errorf("a JSON %s, not an event object", kind)
}

// or returns s, or def when s is empty.
func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
