package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/emnify-mock/emnify-mock/streamer/load"
)

const reportUsage = `Usage: emnify-mock report merge FILE.json... [--json OUT] [--report OUT.html]

Merges the JSON reports of the shards of one load test (emnify-mock load
--shard i/n --json FILE): counts add up and the HDR histograms merge
exactly, so the percentiles are those of the whole run.

Examples:
  emnify-mock report merge a.json b.json c.json --report total.html
`

// ReportCommand merges load reports.
type ReportCommand struct {
	Stdout, Stderr io.Writer
}

// Run merges the reports.
func (c *ReportCommand) Run(ctx context.Context, args []string) error {
	hint := "emnify-mock report --help"
	if len(args) == 0 || args[0] != "merge" {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
			fmt.Fprint(c.Stdout, reportUsage)
			return flag.ErrHelp
		}
		return &usageError{err: errors.New("report needs a command: merge"), hint: hint}
	}
	fs := flag.NewFlagSet("report merge", flag.ContinueOnError)
	jsonOut := fs.String("json", "", "")
	htmlOut := fs.String("report", "", "")
	files, err := parseWithFiles(fs, args[1:], reportUsage, c.Stdout)
	if err != nil {
		return err
	}
	if len(files) == 0 {
		return &usageError{err: errors.New("merge needs at least one report file"), hint: hint}
	}
	var reports []*load.Report
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return &usageError{err: err, hint: hint}
		}
		var r load.Report
		if err := json.Unmarshal(b, &r); err != nil || r.Histogram == "" {
			return &inputError{msg: fmt.Sprintf("%s: not a load report of emnify-mock (%v)", f, err)}
		}
		reports = append(reports, &r)
	}
	m, err := load.Merge(reports...)
	if err != nil {
		return err
	}
	m.WriteText(c.Stdout)
	return writeReports(m, *jsonOut, *htmlOut, fmt.Sprintf("Load test, %d shards merged", len(reports)))
}
