// Command emnify-mock is a local twin of the emnify IoT platform's
// device-status events: it generates them from scenarios, serves them
// through a mock of the emnify REST API, pushes them to webhooks as the
// Data Streamer does, load-tests webhook receivers, and runs Gherkin
// features against a consumer. main wires the subcommands, one per file.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
)

// Version is set at build time with -ldflags "-X main.Version=..."; left
// empty, version() reads it from the build: the module's version for
// 'go install ...@v1.2.3', the commit for a build from a checkout.
var Version = ""

func version() string {
	if Version != "" {
		return Version
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	v, rev, dirty := bi.Main.Version, "", ""
	for _, s := range bi.Settings {
		switch {
		case s.Key == "vcs.revision" && len(s.Value) >= 12:
			rev = s.Value[:12]
		case s.Key == "vcs.modified" && s.Value == "true":
			dirty = "-dirty"
		}
	}
	switch {
	case v != "" && v != "(devel)":
		return v
	case rev != "":
		return "devel-" + rev + dirty
	}
	return "devel"
}

const usage = `emnify-mock is a local twin of the emnify IoT platform's device-status events.

Usage:
  emnify-mock <command> [flags]

Commands:
  serve      run the mock emnify REST API (the main job)
  push       push events to a webhook as emnify's Data Streamer does
  replay     send the events of a dead-letter file again
  verify     run Gherkin features against your consumer
  load       load-test a webhook receiver with an open-model pacer
  report     merge the JSON reports of load-test shards
  generate   write realistic emnify events as NDJSON or a JSON array
  scenarios  list, show and validate YAML scenarios
  check      check events against emnify's documented shapes; print the JSON Schema
  version    print the version (also: emnify-mock --version)

Run 'emnify-mock <command> --help' for a command's flags and examples.

Examples:
  emnify-mock serve
  emnify-mock generate --count 20 --seed 7
  emnify-mock generate --count 1000000 --format json --out events.json
  emnify-mock generate --scenario factory-test-activation --seed 7
  emnify-mock scenarios list
`

// command is one subcommand: it parses its own flags and does its work.
type command interface {
	Run(ctx context.Context, args []string) error
}

// usageError is a mistake in how the tool was called; main answers it with
// a hint and exit status 2.
type usageError struct {
	err  error
	hint string
}

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

// inputError is bad input that names its own place, as scenario errors
// do ("FILE:LINE:COLUMN: ..."); main prints it bare, so editors can jump
// to it, and exits with status 2.
type inputError struct{ msg string }

func (e *inputError) Error() string { return e.msg }

func main() {
	ctx, cancel := context.WithCancel(context.Background())
	abort := make(chan struct{})
	sig := make(chan os.Signal, 3)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-sig
		cancel() // finish what is in flight, record the rest, stop
		<-sig
		close(abort) // cut what is in flight now; it is recorded too
		<-sig
		os.Exit(130) // a third: at once
	}()
	os.Exit(run(withAbort(ctx, abort), os.Args[1:], os.Stdout, os.Stderr))
}

type abortKey struct{}

// withAbort carries the channel a second signal closes: commands that
// wait on work in flight after the first (push, replay) stop waiting.
func withAbort(ctx context.Context, abort <-chan struct{}) context.Context {
	return context.WithValue(ctx, abortKey{}, abort)
}

// abortOf returns the channel a second signal closes, or nil (never).
func abortOf(ctx context.Context) <-chan struct{} {
	ch, _ := ctx.Value(abortKey{}).(<-chan struct{})
	return ch
}

// run dispatches to a command and turns its error into a message and an
// exit status: 0 ok, 1 failure, 2 usage mistake.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var cmd command
	switch args[0] {
	case "generate":
		cmd = &GenerateCommand{Stdout: stdout, Stderr: stderr}
	case "serve":
		cmd = &ServeCommand{Stdout: stdout, Stderr: stderr}
	case "push":
		cmd = &PushCommand{Stdout: stdout, Stderr: stderr}
	case "replay":
		cmd = &ReplayCommand{Stdout: stdout, Stderr: stderr}
	case "load":
		cmd = &LoadCommand{Stdout: stdout, Stderr: stderr}
	case "report":
		cmd = &ReportCommand{Stdout: stdout, Stderr: stderr}
	case "verify":
		cmd = &VerifyCommand{Stdout: stdout, Stderr: stderr}
	case "scenarios":
		cmd = &ScenariosCommand{Stdout: stdout, Stderr: stderr}
	case "check":
		cmd = &CheckCommand{Stdout: stdout, Stderr: stderr}
	case "version", "--version", "-version":
		fmt.Fprintln(stdout, "emnify-mock", version())
		return 0
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "Error: unknown command %q\nTry: emnify-mock --help\n", args[0])
		return 2
	}
	err := cmd.Run(ctx, args[1:])
	var ue *usageError
	var ie *inputError
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &ie):
		fmt.Fprintln(stderr, ie.msg)
		return 2
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "Error: %v\nTry: %s\n", err, ue.hint)
		return 2
	default:
		fmt.Fprintf(stderr, "Error: %v\n", err)
		return 1
	}
}

// parseFlags parses a command's flags; --help prints the usage to stdout,
// anything wrong becomes a usageError that points at --help.
func parseFlags(fs *flag.FlagSet, args []string, help string, stdout io.Writer) error {
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	err := fs.Parse(args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		fmt.Fprint(stdout, help)
		return err
	case err != nil:
		return &usageError{err: err, hint: "emnify-mock " + fs.Name() + " --help"}
	case fs.NArg() > 0:
		return &usageError{err: fmt.Errorf("unexpected argument %q", fs.Arg(0)), hint: "emnify-mock " + fs.Name() + " --help"}
	}
	return nil
}

// parseWithFiles parses flags that may come before, between or after file
// arguments, and returns the files.
func parseWithFiles(fs *flag.FlagSet, args []string, help string, stdout io.Writer) ([]string, error) {
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	var files []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				fmt.Fprint(stdout, help)
				return nil, err
			}
			return nil, &usageError{err: err, hint: "emnify-mock " + fs.Name() + " --help"}
		}
		if fs.NArg() == 0 {
			return files, nil
		}
		files, args = append(files, fs.Arg(0)), fs.Args()[1:]
	}
}
