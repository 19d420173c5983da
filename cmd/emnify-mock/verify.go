package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
	"sync/atomic"

	"github.com/cucumber/godog"

	"github.com/emnify-mock/emnify-mock/features"
)

const verifyUsage = `Usage: emnify-mock verify --consumer URL [flags] [PATH...]

Runs Gherkin features against your running consumer: for each scenario it
starts the mock emnify platform in-process, delivers the events to your
consumer (pushed, with faults, or registered as a data stream, or polled),
and checks what your consumer shows against the platform's event log.
Without PATH it runs the shipped features; with PATH, your .feature files
or folders.

Your consumer's contract (see examples/consumer for a reference one), each
part movable or optional with the flags below:
  POST /webhook        takes emnify events: one object or a JSON array
                       (--webhook, --webhook-header, --sign-secret)
  GET  <probe>         a SIM as JSON with "status" and "workspace" (--probe)
  GET  <endpoint-probe> optional: a device as JSON with "name", "status"
                       (Enabled, Disabled) and "sim" (the ICCID it holds, or
                       null); without --endpoint-probe its checks are skipped
  GET  /stats          JSON with "events": how many distinct events it
                       applied (--stats; without one the count checks skip)
  POST /admin/poll     {"api": URL, "application_token": T}: catch up from
                       GET /api/v1/event (only the polling features need it;
                       --poll-trigger, or none if it polls on its own)
A consumer with its own paths, a token on its webhook and its own poller:
  emnify-mock verify --consumer http://127.0.0.1:9000 \
    --webhook /hooks/emnify --webhook-header 'Authorization: Bearer s3cret' \
    --probe '/api/devices/sim/{sim.iccid}' --stats '' \
    --poll-trigger '' --mock-addr 127.0.0.1:8099

Flags:
  --consumer URL       base URL of the consumer (required)
  --webhook PATH|URL   where events are pushed and streamed: a path of the
                       consumer, or a full URL (default /webhook)
  --webhook-header 'K: V'
                       send this header with every delivery, pushed or
                       streamed (repeatable), e.g. the token your webhook
                       checks
  --sign-secret whsec_...
                       sign pushed deliveries with Standard Webhooks headers
                       (emnify's data streams do not sign)
  --probe TEMPLATE     path of a SIM, with {sim.iccid} (default /sims/{sim.iccid})
  --endpoint-probe TEMPLATE
                       path of an endpoint, with {endpoint.id}, e.g.
                       /endpoints/{endpoint.id} (the reference consumer's);
                       default none: the endpoint checks are skipped, noted
  --stats PATH         the consumer's event count (default /stats); '' when
                       it has none: the steps that count are skipped, noted
  --poll-trigger PATH|URL
                       what makes the consumer poll (default /admin/poll);
                       '' when it polls on its own schedule: give it the
                       platform's URL (--mock-addr) and token
                       features-app-token, and the checks wait for its view
  --mock-addr HOST:PORT  start each scenario's platform there (default: a new
                       loopback port each time), for a consumer whose own
                       poller is configured with that URL and the
                       application token features-app-token
  --platform URL       run every scenario on an emnify-mock serve that is
                       already running (a container, a CI service, a shared
                       test cluster) instead of in-process: each scenario runs
                       through its control API in workspaces of its own, the
                       data stream is registered and the consumer polls
                       through its emnify API. Steps that need to configure
                       the platform (rate limits, 429s on purpose, the churn)
                       are skipped with a note. The consumer must reach URL,
                       and the serve must reach the consumer for data streams
                       (serve --allow-remote-webhooks off loopback).
  --stream-webhook URL the consumer's webhook as the platform reaches it, for
                       data streams, when that differs from --consumer's
                       (e.g. http://consumer:9000/webhook in a compose
                       network; default: --consumer URL + /webhook)
  --poll-api URL       the --platform as the consumer reaches it, for the
                       polling features (e.g. http://mock:8080 in a compose
                       network; default: the --platform URL)
  --control-token T    the serve's control token, if it has one (default
                       $EMNIFY_MOCK_CONTROL_TOKEN)
  --format F           pretty (default), progress, junit or cucumber (JSON)
  --tags EXPR          run only matching scenarios (default '~@perf': the
                       measurements tagged @perf run only when asked, e.g.
                       --tags @perf). The shipped scenarios are tagged by how
                       events reach the consumer: @push, @datastream, @poll,
                       and @ratelimit where the platform answers 429; e.g.
                       --tags '@push && ~@perf' for a consumer without polling
  --list-steps         print every step with an example, and exit

Examples:
  go run ./examples/consumer/cmd/consumer --addr 127.0.0.1:9000 &
  emnify-mock verify --consumer http://127.0.0.1:9000
  emnify-mock verify --consumer http://127.0.0.1:9000 --format junit > report.xml
  emnify-mock verify --consumer http://127.0.0.1:9000 ./my-features
  emnify-mock verify --consumer http://127.0.0.1:9000 --platform http://127.0.0.1:8080
`

// VerifyCommand runs features against a consumer.
type VerifyCommand struct {
	Stdout, Stderr io.Writer
}

// Run parses the flags and runs the suite.
func (c *VerifyCommand) Run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("verify", flag.ContinueOnError)
	consumer := fs.String("consumer", "", "")
	probe := fs.String("probe", "/sims/{sim.iccid}", "")
	endpointProbe := fs.String("endpoint-probe", "", "")
	webhook := fs.String("webhook", "/webhook", "")
	var headers stringList
	fs.Var(&headers, "webhook-header", "")
	signSecret := fs.String("sign-secret", "", "")
	stats := fs.String("stats", "/stats", "")
	pollTrigger := fs.String("poll-trigger", "/admin/poll", "")
	mockAddr := fs.String("mock-addr", "", "")
	platform := fs.String("platform", "", "")
	streamHook := fs.String("stream-webhook", "", "")
	pollAPI := fs.String("poll-api", "", "")
	controlToken := fs.String("control-token", os.Getenv("EMNIFY_MOCK_CONTROL_TOKEN"), "")
	format := fs.String("format", "pretty", "")
	tags := fs.String("tags", "~@perf", "")
	list := fs.Bool("list-steps", false, "")
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	hint := "emnify-mock verify --help"
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(c.Stdout, verifyUsage)
			return err
		}
		return &usageError{err: err, hint: hint}
	}
	if *list {
		for _, s := range features.Steps {
			fmt.Fprintf(c.Stdout, "%s\n    %s\n", s.Pattern, s.Example)
		}
		return nil
	}
	switch {
	case *consumer == "":
		return &usageError{err: errors.New("--consumer URL is required"), hint: hint}
	case !strings.HasPrefix(*consumer, "http://") && !strings.HasPrefix(*consumer, "https://"):
		return &usageError{err: fmt.Errorf("--consumer must be an http:// URL, got %q", *consumer), hint: hint}
	case !strings.Contains(*probe, "{sim.iccid}"):
		return &usageError{err: fmt.Errorf("--probe must contain {sim.iccid}, got %q", *probe), hint: hint}
	case *endpointProbe != "" && !strings.Contains(*endpointProbe, "{endpoint.id}"):
		return &usageError{err: fmt.Errorf("--endpoint-probe must contain {endpoint.id}, got %q", *endpointProbe), hint: hint}
	case *mockAddr != "" && !validHostPort(*mockAddr):
		return &usageError{err: fmt.Errorf("--mock-addr must be HOST:PORT, got %q", *mockAddr), hint: hint}
	case *platform != "" && *mockAddr != "":
		return &usageError{err: errors.New("--platform runs the scenarios on a running serve; --mock-addr places an in-process one: give one of them"), hint: hint}
	case *streamHook != "" && !strings.HasPrefix(*streamHook, "http://") && !strings.HasPrefix(*streamHook, "https://"):
		return &usageError{err: fmt.Errorf("--stream-webhook must be an http:// URL, got %q", *streamHook), hint: hint}
	case *pollAPI != "" && *platform == "":
		return &usageError{err: errors.New("--poll-api is the --platform as the consumer reaches it: give --platform too"), hint: hint}
	case *platform != "" && !strings.HasPrefix(*platform, "http://") && !strings.HasPrefix(*platform, "https://"):
		return &usageError{err: fmt.Errorf("--platform must be an http:// URL, got %q", *platform), hint: hint}
	}
	switch *format {
	case "pretty", "progress", "junit", "cucumber":
	default:
		return &usageError{err: fmt.Errorf("--format must be pretty, progress, junit or cucumber, got %q", *format), hint: hint}
	}
	out := &stepLocations{w: c.Stdout}
	defer out.Flush()
	o := godog.Options{Format: *format, Tags: *tags, Strict: true, Output: out, Paths: fs.Args(), NoColors: !isTerminal(c.Stdout)}
	if len(o.Paths) == 0 {
		o.FS, o.Paths = features.Shipped, []string{"."}
	} else {
		for _, p := range o.Paths {
			if _, err := os.Stat(p); err != nil {
				return &usageError{err: fmt.Errorf("feature path: %w", err), hint: hint}
			}
		}
	}
	if *platform != "" {
		if err := features.CheckPlatform(*platform, *controlToken); err != nil {
			return err
		}
	}
	fo := features.Options{Consumer: *consumer, Probe: *probe, EndpointProbe: *endpointProbe, MockAddr: *mockAddr,
		Platform: *platform, ControlToken: *controlToken, StreamWebhook: *streamHook, PollAPI: *pollAPI, Notes: c.Stderr,
		Webhook: *webhook, WebhookHeaders: headers, SignSecret: *signSecret,
		Stats: *stats, NoStats: *stats == "", PollTrigger: *pollTrigger, NoPollTrigger: *pollTrigger == ""}
	if err := fo.Check(); err != nil {
		return &usageError{err: err, hint: hint}
	}
	steps := features.InitializeScenario(fo)
	var ran atomic.Int64
	suite := godog.TestSuite{
		Name: "emnify-mock verify",
		ScenarioInitializer: func(sc *godog.ScenarioContext) {
			sc.Before(func(ctx context.Context, _ *godog.Scenario) (context.Context, error) { ran.Add(1); return ctx, nil })
			steps(sc)
		},
		Options: &o,
	}
	failed := suite.Run() != 0
	switch {
	case ran.Load() == 0: // nothing verified is no pass
		return &usageError{err: fmt.Errorf("no scenario matches --tags %q in %s: nothing was verified", *tags, strings.Join(o.Paths, " ")), hint: hint}
	case failed:
		return errors.New("the consumer failed the features (see the report above)")
	}
	return nil
}

// stepLocations drops the "# steps.go:145 -> features.platformRuns" that
// godog's pretty format puts after every step: it names where the step
// library registers its steps, which tells a consumer's author nothing.
// The feature file's own locations stay.
type stepLocations struct {
	w       io.Writer
	partial []byte
}

var stepLocation = regexp.MustCompile(`\s*(?:\x1b\[[0-9;]*m)?# [\w.-]+\.go:\d+ -> \S+?(?:\x1b\[[0-9;]*m)?$`)

func (s *stepLocations) Write(p []byte) (int, error) {
	s.partial = append(s.partial, p...)
	for {
		i := bytes.IndexByte(s.partial, '\n')
		if i < 0 {
			return len(p), nil
		}
		line := stepLocation.ReplaceAll(s.partial[:i], nil)
		if _, err := s.w.Write(append(line, '\n')); err != nil {
			return len(p), err
		}
		s.partial = s.partial[i+1:]
	}
}

// Flush writes what is left after the last newline.
func (s *stepLocations) Flush() {
	if len(s.partial) > 0 {
		s.w.Write(stepLocation.ReplaceAll(s.partial, nil))
		s.partial = nil
	}
}
