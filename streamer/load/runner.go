package load

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/emnify-mock/emnify-mock/streamer"
)

// Defaults.
const (
	// DefaultMaxWorkers is the most requests in flight unless told, for
	// bodies small enough; larger bodies get fewer (DefaultWorkersFor).
	DefaultMaxWorkers = 512
	// inFlightBytes is what the bodies in flight may hold by default, so
	// that the process stays under 64 MB whatever --size is (measured:
	// 55 MB at --size 1000, 60 MB at --size 100, 55 MB at --size 1).
	inFlightBytes  = 8 << 20
	DefaultTimeout = 10 * time.Second
	// initialWorkers are started before the first request; more are added
	// while every worker is busy, up to MaxWorkers.
	initialWorkers = 16
)

// Options configure a run. URL, Duration and Bodies are required; the
// pacer is the recorder's.
type Options struct {
	URL        string
	Method     string
	Headers    http.Header
	Size       int // events per request: 1 an object, more an array
	Timeout    time.Duration
	MaxWorkers int
	Signer     *streamer.Signer
	Duration   time.Duration
	Bodies     *Bodies
	// Observe, if set, sees every result (for Prometheus metrics).
	Observe func(Result)
}

// Run runs the load into rec until the schedule of rec's pacer (or, at
// rate 0, Duration) is over or ctx ends, and waits for requests in flight.
// The run starts at rec's start. Latency counts from each request's intended
// instant; a request that waits for a free worker shows that wait as
// schedule lag and as latency. The caller holds rec, so it can show
// progress while the run goes on.
func Run(ctx context.Context, o Options, rec *Recorder) error {
	pacer := rec.pacer
	if o.URL == "" || pacer == nil || o.Bodies == nil || o.Duration <= 0 {
		return errors.New("load: URL, pacer, duration and bodies are required")
	}
	if o.Method == "" {
		o.Method = http.MethodPost
	}
	if o.Size <= 0 {
		o.Size = 1
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.MaxWorkers <= 0 {
		o.MaxWorkers = DefaultWorkersFor(o.Size, o.Bodies.MeanEventBytes())
	}
	client, err := newClient(o.URL, o.MaxWorkers, o.Timeout)
	if err != nil {
		return err
	}
	start := rec.start
	ticks := make(chan time.Time)
	var wg sync.WaitGroup
	workers := 0
	// work runs one worker: its requests come from next until it says stop.
	work := func(next func() (time.Time, bool)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := o.newSender(client)
			defer s.close()
			b := newBatch(rec)
			defer b.flush()
			for {
				intended, ok := next()
				if !ok {
					return
				}
				b.add(s.hit(intended))
			}
		}()
	}
	if isFast(pacer) {
		if done, err := closedLoop(ctx, o, rec, o.MaxWorkers); done {
			return err
		}
		// As fast as possible: a closed loop of MaxWorkers, each sending as
		// soon as its last request is answered; no pacer in between.
		for range o.MaxWorkers {
			work(func() (time.Time, bool) {
				now := time.Now()
				return now, ctx.Err() == nil && now.Sub(start) < o.Duration
			})
		}
		wg.Wait()
		return nil
	}
	spawn := func() {
		workers++
		work(func() (time.Time, bool) { t, ok := <-ticks; return t, ok })
	}
	for range min(initialWorkers, o.MaxWorkers) {
		spawn()
	}

	// Subtleness: the pacer sends intended instants, not "now". A tick
	// that waits for a free worker keeps its intended instant, so the wait
	// is measured (no coordinated omission).
	for i := uint64(0); ctx.Err() == nil; i++ {
		at, ok := pacer.At(i)
		if !ok {
			break
		}
		intended := start.Add(at)
		if wait := time.Until(intended); wait > 0 {
			select {
			case <-time.After(wait):
			case <-ctx.Done():
			}
		}
		select {
		case ticks <- intended:
			continue
		default:
		}
		if workers < o.MaxWorkers {
			spawn()
		}
		select {
		case ticks <- intended:
		case <-ctx.Done():
		}
	}
	close(ticks)
	wg.Wait()
	return nil
}

func isFast(p Pacer) bool {
	c, ok := p.(Constant)
	return ok && c.Per <= 0
}

// batch collects a worker's results and hands them to the recorder 64 at
// a time, or every 100ms at low rates, so progress stays live.
type batch struct {
	rec     *Recorder
	results []Result
	since   time.Time
}

func newBatch(rec *Recorder) *batch { return &batch{rec: rec, results: make([]Result, 0, 64)} }

func (b *batch) add(r Result) {
	if len(b.results) == 0 {
		b.since = r.Done
	}
	b.results = append(b.results, r)
	if len(b.results) == cap(b.results) || r.Done.Sub(b.since) > 100*time.Millisecond {
		b.flush()
	}
}

func (b *batch) flush() {
	if len(b.results) > 0 {
		b.rec.RecordAll(b.results)
		b.results = b.results[:0]
	}
}

// DefaultWorkersFor is the default bound on requests in flight for
// requests of size events of about eventBytes each: DefaultMaxWorkers for
// small bodies, fewer for large ones, so that the bodies in flight hold
// at most inFlightBytes (at least 8 workers). More workers than that gain
// nothing on a loopback target and only hold memory: 512 requests of
// 1,000 events held 630 MB.
func DefaultWorkersFor(size, eventBytes int) int {
	body := max(1, size*eventBytes)
	return min(DefaultMaxWorkers, max(8, inFlightBytes/body))
}
