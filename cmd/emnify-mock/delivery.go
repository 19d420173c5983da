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
	policy, err := streamer.ParsePolicy(d.retry, d.attempts, d.initialDelay, d.maxDelay)
	if err != nil {
		return o, bad("--%v", err)
	}
	o.Retry = policy
	if o.Headers, err = streamer.ParseHeaders(d.headers); err != nil {
		return o, bad("--header: %v", err)
	}
	if d.signSecret != "" {
		signer, err := streamer.NewSigner(d.signSecret)
		if err != nil {
			return o, bad("--sign-secret: %v", err)
		}
		o.Signer = signer
	}
	if err := o.Validate(); err != nil {
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
	dead := &streamer.DeadLetterFile{Path: deadPath}
	ledger := streamer.NewLedger(dead, o.URL, nil)
	ledger.Journal(journal)
	t := &tally{url: o.URL, retry4xx: d.retry4xx, faults: map[string]int{}}
	in := make(chan streamer.Item, 1024)
	go func() {
		produce(func(it streamer.Item) bool {
			in <- it // the streamer reads until in is closed, so this never blocks for good
			t.queued()
			return runCtx.Err() == nil
		})
		close(in)
	}()
	stopProgress := progress(stderr, 5*time.Second, t.line)
	for r := range s.Deliver(runCtx, in) {
		if r.Outcome != nil {
			ledger.Record(*r.Outcome)
			t.outcome(*r.Outcome)
		} else if err := t.attempt(*r.Attempt); err != nil {
			stopRun(err)
			abortNow()
		}
	}
	stopProgress()
	st := s.Stats()
	lerr := errors.Join(ledger.Err(), dead.Close())
	held, cerr := streamer.CountRecords(deadPath)
	if lerr == nil {
		lerr = cerr
	}
	t.summary(stdout, st, deadPath, held, d.jsonOut)
	if lerr != nil {
		return st, fmt.Errorf("%w: %v", errLedger, lerr)
	}
	return st, deliveryError(ctx, runCtx, st, t.failure(), deadPath)
}

// deliveryError says why a delivery did not deliver everything, or nil.
func deliveryError(ctx, runCtx context.Context, st streamer.Stats, failure, deadPath string) error {
	stopped := context.Cause(runCtx)
	switch {
	case stopped != nil && ctx.Err() == nil: // the first answer stopped it
		return fmt.Errorf("%w; %d events are in %s", stopped, st.Dead, deadPath)
	case ctx.Err() != nil:
		return fmt.Errorf("interrupted: %d events acknowledged, %d not delivered, in %s (emnify-mock replay --dead-letters %s --to URL)", st.Acked, st.Dead, deadPath, deadPath)
	case st.Dead > 0:
		return fmt.Errorf("%d events could not be delivered (last failure: %s); they are in %s (emnify-mock replay --dead-letters %s --to URL)", st.Dead, failure, deadPath, deadPath)
	case st.ForgedAccepted > 0:
		return fmt.Errorf("the receiver acknowledged %d requests whose signature it should have refused (wrong key, or dated %s back)", st.ForgedAccepted, streamer.StaleBy)
	}
	return nil
}

// tally follows a delivery's results for the progress line and the
// summary: counts, the last failure, the faults injected.
type tally struct {
	url      string
	retry4xx bool

	mu                                    sync.Mutex
	sent, requests, acked, retrying, dead int64
	answered                              bool
	lastFailure                           string
	faults                                map[string]int
}

func (t *tally) queued() {
	t.mu.Lock()
	t.sent++
	t.mu.Unlock()
}

func (t *tally) outcome(o streamer.Outcome) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if o.Acked {
		t.acked += int64(len(o.Items))
	} else {
		t.dead += int64(len(o.Items))
	}
}

// attempt takes a request's result; an error when it is the first answer
// and says the target is wrong (a 4xx other than 408 and 429).
func (t *tally) attempt(a streamer.Attempt) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.requests++
	if a.N == 2 {
		t.retrying++
	}
	if a.Fault != "" {
		t.faults[a.Fault]++
		return nil
	}
	if a.Status < 200 || a.Status > 299 {
		t.lastFailure = a.Err // no answer: connection refused, timeout, ...
		if a.Status != 0 {
			t.lastFailure = fmt.Sprintf("%d %s from %s", a.Status, http.StatusText(a.Status), t.url)
		}
	}
	first := !t.answered
	t.answered = true
	if first && a.Status >= 400 && a.Status < 500 && a.Status != 408 && a.Status != 429 && !t.retry4xx {
		return fmt.Errorf("the first request got %d %s from %s: a wrong URL, method or token? Nothing more was sent (--retry-4xx retries it)",
			a.Status, http.StatusText(a.Status), t.url)
	}
	return nil
}

func (t *tally) failure() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.lastFailure
}

func (t *tally) line() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	line := fmt.Sprintf("queued %d  requests %d  acknowledged %d  retrying %d  dead %d", t.sent, t.requests, t.acked, t.retrying, t.dead)
	if t.lastFailure != "" {
		line += "  last failure: " + t.lastFailure
	}
	return line
}

// summary prints the delivery's summary, as text or JSON.
func (t *tally) summary(w io.Writer, st streamer.Stats, deadPath string, held int, asJSON bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if asJSON {
		b, _ := json.Marshal(struct {
			streamer.Stats
			Faults      map[string]int `json:"faults_injected"`
			DeadLetters string         `json:"dead_letters_file,omitempty"`
			Held        int            `json:"dead_letters_in_file"`
			Seconds     float64        `json:"duration_seconds"`
		}{st, t.faults, map[bool]string{true: deadPath}[held > 0], held, st.Duration.Seconds()})
		fmt.Fprintln(w, string(b))
		return
	}
	fmt.Fprintf(w, "events %d  requests %d  acknowledged %d  retried %d  duplicates sent %d  dead letters %d  in %s\n",
		st.Events, st.Requests, st.Acked, st.Retried, st.Duplicates, st.Dead, st.Duration.Round(time.Millisecond))
	if held > int(st.Dead) {
		fmt.Fprintf(w, "%s now holds %d dead letters (%d from earlier runs)\n", deadPath, held, held-int(st.Dead))
	}
	if len(t.faults) > 0 {
		fmt.Fprintf(w, "faults injected: %d dropped first attempts, %d delayed requests, %d forged and %d stale signatures (seeded: --seed repeats them)\n",
			t.faults["drop"], t.faults["delay"], t.faults["forge"], t.faults["stale"])
	}
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
