package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emnify-mock/emnify-mock/streamer"
)

// deliveryFlags are the flags push and replay share.
type deliveryFlags struct {
	to, method, retry, deadLetters, signSecret string
	size, workers, attempts                    int
	timeout, initialDelay, maxDelay, maxDelayF time.Duration
	headers                                    stringList
	duplicate, drop, delayP, forge, stale      float64
	reorder                                    int
	jsonOut, retry4xx                          bool
}

const deliveryHelp = `Delivery:
  --to URL             the webhook to deliver to (required)
  --size N             1 sends one event object per request (default); more
                       sends JSON arrays of up to N events, as emnify's bulk
                       webhooks do (its default is 3000)
  --method M           POST (default), PUT or PATCH
  --header 'Name:value'  add a header to every request; repeatable
  --timeout D          per request (default 10s)
  --workers N          requests in flight at once (default 16)
  --retry PRESET       emnify (default), svix, standard-webhooks or none
  --attempts N, --initial-delay D, --max-delay D
                       override the preset: capped exponential back-off with
                       full jitter; Retry-After is honoured on 429 and 503,
                       3xx counts as failure, 410 stops delivery
  --retry-4xx          retry when the very first request gets a 4xx other than
                       408 or 429; by default that stops the run at once with
                       the answer (a wrong URL or token, not a passing fault;
                       how emnify treats 4xx is not documented)
  --dead-letters FILE  where undelivered events go, one NDJSON record each,
                       synced before the event counts as dead (default
                       emnify-mock-dead-letters.ndjson; created only if
                       needed, appended to, never emptied)
  --sign-secret whsec_...  sign with Standard Webhooks headers
  --json               print the summary as JSON

Faults, seeded by --seed, to prove a consumer idempotent and order-tolerant:
  --duplicate P        resend an acknowledged request with probability P
  --reorder N          shuffle requests within windows of N
  --delay P --max-delay-fault D   hold a request back up to D with probability P
  --drop P             fail a first attempt unsent with probability P (it is retried)
and to prove its signature check (with --sign-secret):
  --forge P            sign a first attempt with a wrong key, with probability P
  --stale P            date a first attempt's signature 10 minutes back
                       A receiver that checks answers non-2xx and gets the
                       retry, signed right; every forged or stale request it
                       acknowledges is counted, and the command exits 1.
`

func (d *deliveryFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&d.to, "to", "", "")
	fs.IntVar(&d.size, "size", 1, "")
	fs.StringVar(&d.method, "method", "POST", "")
	fs.Var(&d.headers, "header", "")
	fs.DurationVar(&d.timeout, "timeout", streamer.DefaultTimeout, "")
	fs.IntVar(&d.workers, "workers", streamer.DefaultWorkers, "")
	fs.StringVar(&d.retry, "retry", "emnify", "")
	fs.IntVar(&d.attempts, "attempts", 0, "")
	fs.DurationVar(&d.initialDelay, "initial-delay", 0, "")
	fs.DurationVar(&d.maxDelay, "max-delay", 0, "")
	fs.StringVar(&d.deadLetters, "dead-letters", "emnify-mock-dead-letters.ndjson", "")
	fs.StringVar(&d.signSecret, "sign-secret", "", "")
	fs.BoolVar(&d.jsonOut, "json", false, "")
	fs.BoolVar(&d.retry4xx, "retry-4xx", false, "")
	fs.Float64Var(&d.duplicate, "duplicate", 0, "")
	fs.IntVar(&d.reorder, "reorder", 0, "")
	fs.Float64Var(&d.delayP, "delay", 0, "")
	fs.DurationVar(&d.maxDelayF, "max-delay-fault", time.Second, "")
	fs.Float64Var(&d.drop, "drop", 0, "")
	fs.Float64Var(&d.forge, "forge", 0, "")
	fs.Float64Var(&d.stale, "stale", 0, "")
}

// options checks the flags and builds the streamer's options.
func (d *deliveryFlags) options(seed uint64, hint string) (streamer.Options, error) {
	bad := func(format string, a ...any) error {
		return &usageError{err: fmt.Errorf(format, a...), hint: hint}
	}
	o := streamer.Options{URL: d.to, Method: strings.ToUpper(d.method), Size: d.size, Timeout: d.timeout, Workers: d.workers, Seed: seed, Probe: streamer.DefaultProbe,
		Faults: streamer.Faults{Duplicate: d.duplicate, ReorderWindow: d.reorder, Delay: d.delayP, MaxDelay: d.maxDelayF, Drop: d.drop, Forge: d.forge, Stale: d.stale}}
	switch {
	case d.to == "":
		return o, bad("--to URL is required")
	case !strings.HasPrefix(d.to, "http://") && !strings.HasPrefix(d.to, "https://"):
		return o, bad("--to must be an http:// or https:// URL, got %q", d.to)
	case d.size < 1 || d.size > 10000:
		return o, bad("--size must be from 1 to 10000 (emnify's range), got %d", d.size)
	case d.workers < 1:
		return o, bad("--workers must be 1 or more, got %d", d.workers)
	}
	for _, p := range []struct {
		name string
		v    float64
	}{{"duplicate", d.duplicate}, {"delay", d.delayP}, {"drop", d.drop}, {"forge", d.forge}, {"stale", d.stale}} {
		if p.v < 0 || p.v > 1 {
			return o, bad("--%s is a probability from 0 to 1, got %v", p.name, p.v)
		}
	}
	if (d.forge > 0 || d.stale > 0) && d.signSecret == "" {
		return o, bad("--forge and --stale test a signature check: give --sign-secret too")
	}
	policy, ok := streamer.Presets[d.retry]
	if !ok {
		return o, bad("--retry must be one of %s, got %q", streamer.PresetNames(), d.retry)
	}
	if d.attempts > 0 || d.initialDelay > 0 || d.maxDelay > 0 {
		policy.Schedule = nil
		if d.attempts > 0 {
			policy.Attempts = d.attempts
		}
		if d.initialDelay > 0 {
			policy.Initial = d.initialDelay
		}
		if d.maxDelay > 0 {
			policy.Max = d.maxDelay
		}
		if policy.Initial == 0 {
			policy.Initial = time.Second
		}
		if policy.Max < policy.Initial {
			policy.Max = policy.Initial
		}
	}
	if err := policy.Validate(); err != nil {
		return o, bad("%v", err)
	}
	o.Retry = policy
	o.Headers = http.Header{}
	for _, h := range d.headers {
		name, value, ok := strings.Cut(h, ":")
		if !ok || strings.TrimSpace(name) == "" {
			return o, bad("--header must be 'Name:value' as emnify's data streams take it, got %q", h)
		}
		o.Headers.Add(strings.TrimSpace(name), strings.TrimSpace(value))
	}
	if d.signSecret != "" {
		signer, err := streamer.NewSigner(d.signSecret)
		if err != nil {
			return o, bad("--sign-secret: %v", err)
		}
		o.Signer = signer
	}
	if _, err := streamer.New(o); err != nil {
		return o, bad("%v", err)
	}
	return o, nil
}

// errLedger: an outcome could not be recorded, so the run's journal must
// stay.
var errLedger = errors.New("the dead letters or the journal could not be written")

// deliver runs the streamer over the items produce sends, shows progress
// (live on a terminal, every 5s elsewhere), appends dead letters to
// deadPath, notes settled items in the journal (nil: none), and prints the
// summary.
// Every item sent gets an outcome, even after ctx is done (then a dead
// letter); a producer that makes items stops making them when send
// reports false, one that replays items sends them all.
func deliver(ctx context.Context, o streamer.Options, deadPath string, journal *streamer.Journal, d *deliveryFlags, stdout, stderr io.Writer,
	produce func(send func(streamer.Item) bool)) (streamer.Stats, error) {
	// The run stops on a signal (ctx), or on a first answer that says the
	// target is wrong; a second signal, or that answer, also cuts what is in
	// flight at once. Either way every event gets its record.
	runCtx, stopRun := context.WithCancelCause(ctx)
	defer stopRun(nil)
	abort := make(chan struct{})
	abortNow := sync.OnceFunc(func() { close(abort) })
	go func() {
		select {
		case <-abortOf(ctx):
			abortNow()
		case <-abort: // the run is over
		}
	}()
	defer abortNow()
	o.Abort = abort
	s, err := streamer.New(o)
	if err != nil {
		return streamer.Stats{}, err
	}
	var failMu sync.Mutex
	var lastFailure string
	var answered atomic.Bool
	dead := &streamer.DeadLetterFile{Path: deadPath}
	ledger := streamer.NewLedger(dead, o.URL, nil)
	ledger.Journal(journal)
	var sent, requests, acked, retrying, deadN atomic.Int64
	var faultMu sync.Mutex
	faults := map[string]int{}
	s.OnResult = func(out streamer.Outcome) {
		ledger.Record(out)
		if out.Acked {
			acked.Add(int64(len(out.Items)))
		} else {
			deadN.Add(int64(len(out.Items)))
		}
	}
	s.OnTry = func(a streamer.Attempt) {
		if a.N == 2 {
			retrying.Add(1)
		}
		requests.Add(1)
		if failed := a.Status < 200 || a.Status > 299; failed && a.Fault == "" {
			why := a.Err // no answer: connection refused, timeout, ...
			if a.Status != 0 {
				why = fmt.Sprintf("%d %s from %s", a.Status, http.StatusText(a.Status), o.URL)
			}
			failMu.Lock()
			lastFailure = why
			failMu.Unlock()
		}
		first := answered.CompareAndSwap(false, true)
		if first && a.Fault == "" && a.Status >= 400 && a.Status < 500 && a.Status != 408 && a.Status != 429 && !d.retry4xx {
			stopRun(fmt.Errorf("the first request got %d %s from %s: a wrong URL, method or token? Nothing more was sent (--retry-4xx retries it)",
				a.Status, http.StatusText(a.Status), o.URL))
			abortNow()
		}
		if a.Fault != "" {
			faultMu.Lock()
			faults[a.Fault]++
			faultMu.Unlock()
		}
	}
	in := make(chan streamer.Item, 1024)
	go func() {
		produce(func(it streamer.Item) bool {
			in <- it // the streamer reads until in is closed, so this never blocks for good
			sent.Add(1)
			return runCtx.Err() == nil
		})
		close(in)
	}()
	failure := func() string {
		failMu.Lock()
		defer failMu.Unlock()
		return lastFailure
	}
	stopProgress := progress(stderr, 5*time.Second, func() string {
		line := fmt.Sprintf("queued %d  requests %d  acknowledged %d  retrying %d  dead %d", sent.Load(), requests.Load(), acked.Load(), retrying.Load(), deadN.Load())
		if f := failure(); f != "" {
			line += "  last failure: " + f
		}
		return line
	})
	st := s.Run(runCtx, in)
	stopProgress()
	lerr := errors.Join(ledger.Err(), dead.Close())
	held, cerr := streamer.CountRecords(deadPath)
	if lerr == nil {
		lerr = cerr
	}
	if d.jsonOut {
		b, _ := json.Marshal(struct {
			streamer.Stats
			Faults      map[string]int `json:"faults_injected"`
			DeadLetters string         `json:"dead_letters_file,omitempty"`
			Held        int            `json:"dead_letters_in_file"`
			Seconds     float64        `json:"duration_seconds"`
		}{st, faults, map[bool]string{true: deadPath}[held > 0], held, st.Duration.Seconds()})
		fmt.Fprintln(stdout, string(b))
	} else {
		fmt.Fprintf(stdout, "events %d  requests %d  acknowledged %d  retried %d  duplicates sent %d  dead letters %d  in %s\n",
			st.Events, st.Requests, st.Acked, st.Retried, st.Duplicates, st.Dead, st.Duration.Round(time.Millisecond))
		if held > int(st.Dead) {
			fmt.Fprintf(stdout, "%s now holds %d dead letters (%d from earlier runs)\n", deadPath, held, held-int(st.Dead))
		}
		if len(faults) > 0 {
			fmt.Fprintf(stdout, "faults injected: %d dropped first attempts, %d delayed requests, %d forged and %d stale signatures (seeded: --seed repeats them)\n",
				faults["drop"], faults["delay"], faults["forge"], faults["stale"])
		}
	}
	stopped := context.Cause(runCtx)
	switch {
	case lerr != nil:
		return st, fmt.Errorf("%w: %v", errLedger, lerr)
	case stopped != nil && ctx.Err() == nil: // the first answer stopped it
		return st, fmt.Errorf("%w; %d events are in %s", stopped, st.Dead, deadPath)
	case ctx.Err() != nil:
		return st, fmt.Errorf("interrupted: %d events acknowledged, %d not delivered, in %s (emnify-mock replay --dead-letters %s --to URL)", st.Acked, st.Dead, deadPath, deadPath)
	case st.Dead > 0:
		return st, fmt.Errorf("%d events could not be delivered (last failure: %s); they are in %s (emnify-mock replay --dead-letters %s --to URL)", st.Dead, failure(), deadPath, deadPath)
	case st.ForgedAccepted > 0:
		return st, fmt.Errorf("the receiver acknowledged %d requests whose signature it should have refused (wrong key, or dated %s back)", st.ForgedAccepted, streamer.StaleBy)
	}
	return st, nil
}

// progress shows a status line until stopped: redrawn in place every
// 200ms on a terminal; elsewhere (a CI log, a file) printed as a plain
// line every plain, or not at all when plain is 0. stop returns once the
// last line is out.
func progress(w io.Writer, plain time.Duration, line func() string) (stop func()) {
	term := isTerminal(w)
	every := plain
	if term {
		every = 200 * time.Millisecond
	}
	if every <= 0 {
		return func() {}
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				if term {
					fmt.Fprintf(w, "\r\033[K%s", line())
				} else {
					fmt.Fprintln(w, line())
				}
			case <-done:
				if term {
					fmt.Fprintf(w, "\r\033[K")
				}
				return
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
