// Package streamer is emnify's Data Streamer in miniature: it pushes events
// to a webhook with the platform's semantics (one object per request, or
// JSON arrays of up to Size events), retries with capped exponential
// back-off, and accounts for every event: acknowledged by a 2xx, or handed
// back as a dead letter with its attempts and last error. Delivery is
// at-least-once and unordered across batches, as emnify states for its own
// sinks.
package streamer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emnify-mock/emnify-mock/generator"
)

// Defaults.
const (
	DefaultMethod  = http.MethodPost
	DefaultSize    = 1
	DefaultLinger  = 200 * time.Millisecond
	DefaultTimeout = 10 * time.Second
	DefaultWorkers = 16
	// ShutdownGrace is how long requests in flight may finish after the
	// context is cancelled; then they are cut and dead-lettered.
	ShutdownGrace = 4 * time.Second
)

// Item is one event to deliver: its id, its JSON, and its place in the
// run's source (for a Journal).
type Item struct {
	ID   int64
	JSON []byte
	Seq  int64
}

// Options configure a delivery. URL is required.
type Options struct {
	URL     string
	Method  string      // POST, PUT or PATCH
	Headers http.Header // added to every request
	Size    int         // 1: one event object per request; more: arrays
	Linger  time.Duration
	Timeout time.Duration // per attempt
	Retry   Policy
	Workers int
	Signer  *Signer
	Faults  Faults
	Clock   generator.Clock // for back-off waits; default the real clock
	Seed    uint64          // jitter and faults
	Client  *http.Client
	// Abort, when closed, cuts requests in flight at once instead of
	// after the grace (a second Ctrl-C): they are dead-lettered.
	Abort <-chan struct{}
	Grace time.Duration // after cancellation; default ShutdownGrace
	// Probe, when set, is how often a batch waiting longer than that for
	// its retry is sent meanwhile as a probe (one at a time per streamer;
	// not counted as a retry). An acknowledged probe delivers its batch
	// and wakes every batch waiting to retry: a target that comes back is
	// delivered to within Probe, not after the rest of a back-off that can
	// be minutes long. DefaultProbe is what serve and push use.
	Probe time.Duration
}

// DefaultProbe: a target back from an outage gets deliveries within about
// this long.
const DefaultProbe = 2 * time.Second

// Outcome is the end of one batch: acknowledged or dead.
type Outcome struct {
	Items    []Item
	Acked    bool
	Attempts int
	Status   int    // last HTTP status, 0 if none
	Err      string // last error, for dead letters
}

// Attempt is one request, for progress displays and logs.
type Attempt struct {
	Items   int
	N       int // 1 for the first try
	Status  int
	Err     string
	Latency time.Duration
	Fault   string // the fault injected, if any
	Probe   bool   // sent while waiting to retry (Options.Probe)
}

// Stats sum up a delivery.
type Stats struct {
	Events     int64 `json:"events"`
	Requests   int64 `json:"requests"`
	Acked      int64 `json:"acknowledged"`
	Retried    int64 `json:"retried"`
	Duplicates int64 `json:"duplicates_sent"`
	Dead       int64 `json:"dead_letters"`
	// ForgedAccepted counts requests with a forged or stale signature
	// (Faults.Forge, Faults.Stale) that the receiver acknowledged.
	ForgedAccepted int64         `json:"forged_accepted"`
	Duration       time.Duration `json:"duration_ns"`
}

// Streamer delivers items to one webhook. It lives as long as its
// target: Deliver may be called again once the previous delivery's
// results are drained, so a data stream keeps one engine (and its
// connections) for its life.
type Streamer struct {
	o       Options
	gone    atomic.Bool // the target answered 410: deliver nothing more
	stats   Stats
	mu      sync.Mutex // guards stats
	probing atomic.Bool
	waiting atomic.Int32  // batches waiting to retry
	upMu    sync.Mutex    // guards up
	up      chan struct{} // closed when an attempt succeeds while batches wait
	results chan<- Result // the delivery in progress
}

// Result is one thing a delivery reports: a request sent (Attempt), or a
// batch settled (Outcome), acknowledged or dead. Exactly one is set.
type Result struct {
	Attempt *Attempt
	Outcome *Outcome
}

// New checks the options and fills defaults.
func New(o Options) (*Streamer, error) {
	o, err := o.withDefaults()
	if err != nil {
		return nil, err
	}
	if o.Client == nil {
		o.Client = NewClient(o.Timeout, o.Workers)
	}
	return &Streamer{o: o}, nil
}

// Validate checks the options as New would.
func (o Options) Validate() error {
	_, err := o.withDefaults()
	return err
}

func (o Options) withDefaults() (Options, error) {
	if o.URL == "" {
		return o, errors.New("streamer: a target URL is required")
	}
	if o.Method == "" {
		o.Method = DefaultMethod
	}
	switch o.Method {
	case http.MethodPost, http.MethodPut, http.MethodPatch:
	default:
		return o, fmt.Errorf("streamer: method must be POST, PUT or PATCH, got %q", o.Method)
	}
	if o.Size <= 0 {
		o.Size = DefaultSize
	}
	if o.Linger <= 0 {
		o.Linger = DefaultLinger
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.Retry.Attempts == 0 {
		o.Retry = Presets["emnify"]
	}
	if err := o.Retry.Validate(); err != nil {
		return o, fmt.Errorf("streamer: %w", err)
	}
	if o.Workers <= 0 {
		o.Workers = DefaultWorkers
	}
	if o.Clock == nil {
		o.Clock = generator.Real{}
	}
	if (o.Faults.Forge > 0 || o.Faults.Stale > 0) && o.Signer == nil {
		return o, errors.New("streamer: forged or stale signatures need a signer")
	}
	return o, nil
}

// NewClient returns the HTTP client deliveries use: redirects are not
// followed (3xx is a failure, as Standard Webhooks advises), no proxy is
// taken from the environment (HTTP_PROXY would send loopback deliveries
// elsewhere), and idle connections, up to twice the workers, close after
// 90s. Share one among
// streamers to one target: each client keeps its own connections.
func NewClient(timeout time.Duration, workers int) *http.Client {
	return &http.Client{
		Timeout:       timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Transport: &http.Transport{
			MaxIdleConnsPerHost: workers * 2, IdleConnTimeout: 90 * time.Second,
			DialContext: (&net.Dialer{Timeout: timeout}).DialContext,
		},
	}
}

// Deliver delivers every item read from in until in is closed, and
// returns the results as they happen; the channel closes when every item
// has its outcome, and Stats then sums the delivery up. The caller must
// drain the channel: the delivery waits for it.
// When ctx is cancelled, requests in flight may finish for up to
// ShutdownGrace; everything else, including what is still read from in
// until the producer closes it, is handed back as a dead letter
// ("interrupted"): no item is ever dropped without an outcome.
func (s *Streamer) Deliver(ctx context.Context, in <-chan Item) <-chan Result {
	results := make(chan Result, 2*s.o.Workers)
	s.mu.Lock()
	s.stats = Stats{}
	s.mu.Unlock()
	s.gone.Store(false)
	s.results = results
	go func() {
		defer close(results)
		s.run(ctx, in)
	}()
	return results
}

// Stats sums up the last delivery, once its results are drained.
func (s *Streamer) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats
}

func (s *Streamer) run(ctx context.Context, in <-chan Item) {
	start := time.Now()
	// Requests get their own context, cut ShutdownGrace after ctx.
	reqCtx, cut := context.WithCancel(context.Background())
	defer cut()
	go func() {
		select {
		case <-ctx.Done():
			grace := s.o.Grace
			if grace <= 0 {
				grace = ShutdownGrace
			}
			t := time.NewTimer(grace)
			defer t.Stop()
			select {
			case <-t.C:
				cut()
			case <-s.o.Abort:
				cut()
			case <-reqCtx.Done():
			}
		case <-reqCtx.Done():
		}
	}()

	var work chan []Item
	if s.o.Size > 1 || s.o.Faults.ReorderWindow > 1 {
		work = make(chan []Item, s.o.Workers)
		go s.batch(in, work)
	}
	var wg sync.WaitGroup
	for w := range s.o.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(s.o.Seed, uint64(w)+1))
			if work == nil { // one event per request, in order: nothing to batch
				for it := range in {
					s.count(func(st *Stats) { st.Events++ })
					s.deliver(ctx, reqCtx, r, []Item{it})
				}
				return
			}
			for items := range work {
				s.deliver(ctx, reqCtx, r, items)
			}
		}()
	}
	wg.Wait()
	s.count(func(st *Stats) { st.Duration = time.Since(start) })
}

// batch groups items into batches of up to Size, flushing a partial batch
// after Linger, and applies the reorder fault. It reads until in is
// closed; after cancellation the workers dead-letter what it passes on.
func (s *Streamer) batch(in <-chan Item, work chan<- []Item) {
	defer close(work)
	reorder := newReorderer(s.o.Faults.ReorderWindow, s.o.Seed)
	emit := func(b []Item) {
		for _, out := range reorder.add(b) {
			work <- out
		}
	}
	defer func() {
		for _, out := range reorder.flush() {
			work <- out
		}
	}()
	var cur []Item
	var timer *time.Timer
	var linger <-chan time.Time
	flush := func() {
		if len(cur) > 0 {
			emit(cur)
			cur = nil
		}
		if timer != nil {
			timer.Stop()
			linger = nil
		}
	}
	defer flush()
	for {
		select {
		case it, ok := <-in:
			if !ok {
				return
			}
			s.count(func(st *Stats) { st.Events++ })
			cur = append(cur, it)
			if len(cur) >= s.o.Size {
				flush()
			} else if linger == nil {
				timer = time.NewTimer(s.o.Linger)
				linger = timer.C
			}
		case <-linger:
			linger = nil
			flush()
		}
	}
}

func (s *Streamer) count(f func(*Stats)) {
	s.mu.Lock()
	f(&s.stats)
	s.mu.Unlock()
}

// body encodes a batch: the object itself for Size 1, else an array.
func (s *Streamer) body(items []Item) []byte {
	if s.o.Size == 1 {
		return items[0].JSON
	}
	n := 2
	for _, it := range items {
		n += len(it.JSON) + 1
	}
	b := make([]byte, 0, n)
	b = append(b, '[')
	for i, it := range items {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, it.JSON...)
	}
	return append(b, ']')
}

// messageID names a delivery for signing and deduplication; it is the same
// on every retry.
func messageID(items []Item) string {
	if len(items) == 1 {
		return "msg_" + strconv.FormatInt(items[0].ID, 10)
	}
	return fmt.Sprintf("msg_%d_%d", items[0].ID, len(items))
}

// deliver tries one batch until it is acknowledged, the policy gives up,
// the target is gone, or ctx ends.
func (s *Streamer) deliver(ctx, reqCtx context.Context, r *rand.Rand, items []Item) {
	body := s.body(items)
	out := Outcome{Items: items}
	finish := func() {
		s.count(func(st *Stats) {
			if out.Acked {
				st.Acked += int64(len(items))
			} else {
				st.Dead += int64(len(items))
			}
		})
		s.results <- Result{Outcome: &out}
	}
	defer finish()
	for n := 1; ; n++ {
		if s.gone.Load() {
			out.Err = "target answered 410 Gone: delivery stopped"
			return
		}
		if n > 1 || ctx.Err() != nil {
			if ctx.Err() != nil {
				out.Err = "interrupted before delivery: " + lastOr(out.Err, "not sent")
				return
			}
			s.count(func(st *Stats) { st.Retried++ })
		}
		out.Attempts = n
		wait, status, err := s.attempt(reqCtx, r, items, body, n, true, false)
		out.Status = status
		if err == nil {
			out.Acked, out.Err = true, ""
			if s.o.Faults.Duplicate > 0 && r.Float64() < s.o.Faults.Duplicate {
				s.count(func(st *Stats) { st.Duplicates += int64(len(items)) })
				s.attempt(reqCtx, r, items, body, n, false, false) // at-least-once: the same id again
			}
			return
		}
		out.Err = err.Error()
		if status == http.StatusGone {
			s.gone.Store(true)
			return
		}
		if n >= s.o.Retry.Attempts {
			return
		}
		asked := wait > 0 // Retry-After: no probe before it is over
		if !asked {
			wait = s.o.Retry.Delay(n, r)
		}
		acked, status, interrupted := s.sleep(ctx, reqCtx, r, items, body, n, wait, !asked)
		if interrupted {
			out.Err = "interrupted while waiting to retry; last error: " + out.Err
			return
		}
		if acked {
			out.Acked, out.Err, out.Status = true, "", status
			return
		}
	}
}

// sleep waits d before retry n+1 of a batch. With probes on, the batch
// is sent every Probe meanwhile by one waiting batch at a time; the wait
// ends early when a probe (or any request) is acknowledged. acked says the
// batch itself was delivered by its probe.
func (s *Streamer) sleep(ctx, reqCtx context.Context, r *rand.Rand, items []Item, body []byte, n int, d time.Duration, mayProbe bool) (acked bool, status int, interrupted bool) {
	s.waiting.Add(1)
	defer s.waiting.Add(-1)
	deadline := s.o.Clock.Now().Add(d)
	for {
		left := deadline.Sub(s.o.Clock.Now())
		if left <= 0 {
			return false, 0, false
		}
		probe := mayProbe && s.o.Probe > 0 && left > s.o.Probe
		if probe {
			left = s.o.Probe
		}
		var recovered <-chan struct{}
		if mayProbe { // not before a Retry-After is over
			recovered = s.recovered()
		}
		select {
		case <-s.o.Clock.After(left):
		case <-recovered:
			return false, 0, false
		case <-ctx.Done():
			return false, 0, true
		}
		if probe && s.probing.CompareAndSwap(false, true) {
			_, status, err := s.attempt(reqCtx, r, items, body, n, false, true)
			s.probing.Store(false)
			if err == nil {
				return true, status, false
			}
		}
	}
}

// recovered returns a channel closed by the next acknowledged request.
func (s *Streamer) recovered() <-chan struct{} {
	s.upMu.Lock()
	defer s.upMu.Unlock()
	if s.up == nil {
		s.up = make(chan struct{})
	}
	return s.up
}

// wake tells the batches waiting to retry that the target answers again.
func (s *Streamer) wake() {
	if s.waiting.Load() == 0 {
		return
	}
	s.upMu.Lock()
	if s.up != nil {
		close(s.up)
		s.up = nil
	}
	s.upMu.Unlock()
}

func lastOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// attempt sends a batch once, with faults injected if asked. It returns
// the wait the server asked for (Retry-After on 429 and 503), the status,
// and an error unless 2xx.
func (s *Streamer) attempt(ctx context.Context, r *rand.Rand, items []Item, body []byte, n int, faults, probe bool) (time.Duration, int, error) {
	s.count(func(st *Stats) { st.Requests++ })
	fault := ""
	if faults {
		fault = s.o.Faults.before(r, n)
	}
	report := func(status int, err error, lat time.Duration) {
		a := Attempt{Items: len(items), N: n, Status: status, Latency: lat, Fault: fault, Probe: probe}
		if err != nil {
			a.Err = err.Error()
		}
		s.results <- Result{Attempt: &a}
	}
	if fault == faultDrop {
		err := errors.New("dropped by fault injection (drop-then-retry)")
		report(0, err, 0)
		return 0, 0, err
	}
	if fault == faultDelay {
		select {
		case <-s.o.Clock.After(s.o.Faults.delay(r)):
		case <-ctx.Done():
		}
	}
	req, err := http.NewRequestWithContext(ctx, s.o.Method, s.o.URL, bytes.NewReader(body))
	if err != nil {
		return 0, 0, err
	}
	for k, v := range s.o.Headers {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", "application/json")
	if s.o.Signer != nil {
		signer, at := s.o.Signer, s.o.Clock.Now()
		switch fault {
		case faultForge:
			signer = signer.forged()
		case faultStale:
			at = at.Add(-StaleBy)
		}
		signer.set(req.Header, messageID(items), at, body)
	}
	t0 := time.Now()
	res, err := s.o.Client.Do(req)
	lat := time.Since(t0)
	if err != nil {
		report(0, err, lat)
		return 0, 0, fmt.Errorf("request: %w", err)
	}
	io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
	res.Body.Close()
	if res.StatusCode >= 200 && res.StatusCode < 300 {
		if fault == faultForge || fault == faultStale {
			s.count(func(st *Stats) { st.ForgedAccepted++ })
		}
		s.wake()
		report(res.StatusCode, nil, lat)
		return 0, res.StatusCode, nil
	}
	err = fmt.Errorf("HTTP %d", res.StatusCode)
	report(res.StatusCode, err, lat)
	var wait time.Duration
	if res.StatusCode == http.StatusTooManyRequests || res.StatusCode == http.StatusServiceUnavailable {
		wait = retryAfter(res.Header.Get("Retry-After"), s.o.Clock.Now())
	}
	return wait, res.StatusCode, err
}

// retryAfter reads seconds or an HTTP date; 0 when absent or unreadable.
func retryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(v); err == nil && n >= 0 {
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}
