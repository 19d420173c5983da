package load

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/emnify-mock/emnify-mock/streamer"
)

// Defaults.
const (
	DefaultMaxWorkers = 512
	DefaultTimeout    = 10 * time.Second
	// initialWorkers are started before the first request; more are added
	// while every worker is busy, up to MaxWorkers.
	initialWorkers = 16
)

// Options configure a run. URL, Pacer, Duration and Bodies are required.
type Options struct {
	URL        string
	Method     string
	Headers    http.Header
	Size       int // events per request: 1 an object, more an array
	Timeout    time.Duration
	MaxWorkers int
	Signer     *streamer.Signer
	Pacer      Pacer
	Duration   time.Duration
	Bodies     *Bodies
	// Observe, if set, sees every result (for Prometheus metrics).
	Observe func(Result)
	Client  *http.Client
}

// Run runs the load until the pacer's schedule (or, at rate 0, Duration)
// is over or ctx ends, and waits for requests in flight. Latency counts
// from each request's intended instant; a request that waits for a free
// worker shows that wait as schedule lag and as latency.
func Run(ctx context.Context, o Options) (*Recorder, error) {
	if o.URL == "" || o.Pacer == nil || o.Bodies == nil || o.Duration <= 0 {
		return nil, errors.New("load: URL, pacer, duration and bodies are required")
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
		o.MaxWorkers = DefaultMaxWorkers
	}
	if o.Client == nil {
		o.Client = &http.Client{
			Timeout:       o.Timeout,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
			Transport: &http.Transport{
				MaxIdleConnsPerHost: o.MaxWorkers, DialContext: (&net.Dialer{Timeout: o.Timeout}).DialContext,
				DisableCompression: true, // webhook answers are small; no gzip negotiation
			},
		}
	}
	start := time.Now()
	rec := NewRecorder(start, o.Pacer)
	ticks := make(chan time.Time)
	var wg sync.WaitGroup
	workers := 0
	spawn := func() {
		workers++
		wg.Add(1)
		go func() {
			defer wg.Done()
			b := newBatch(rec)
			defer b.flush()
			for intended := range ticks {
				b.add(o.hit(intended))
			}
		}()
	}
	if isFast(o.Pacer) {
		// As fast as possible: a closed loop of MaxWorkers, each sending as
		// soon as its last request is answered; no pacer in between.
		for range o.MaxWorkers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				b := newBatch(rec)
				defer b.flush()
				for ctx.Err() == nil && time.Since(start) < o.Duration {
					b.add(o.hit(time.Now()))
				}
			}()
		}
		wg.Wait()
		return rec, nil
	}
	for range min(initialWorkers, o.MaxWorkers) {
		spawn()
	}

	// Subtleness: the pacer sends intended instants, not "now". A tick
	// that waits for a free worker keeps its intended instant, so the wait
	// is measured (no coordinated omission).
	for i := uint64(0); ctx.Err() == nil; i++ {
		at, ok := o.Pacer.At(i)
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
	return rec, nil
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

// hit sends one request and returns its result.
func (o *Options) hit(intended time.Time) Result {
	body, release := o.Bodies.Body(o.Size)
	defer release()
	res := Result{Intended: intended, Events: o.Size, BytesOut: len(body)}
	req, err := http.NewRequest(o.Method, o.URL, bytes.NewReader(body))
	if err == nil {
		for k, v := range o.Headers {
			req.Header[k] = v
		}
		req.Header.Set("Content-Type", "application/json")
		if o.Signer != nil {
			o.Signer.SignRequest(req.Header, body)
		}
		res.Sent = time.Now()
		var resp *http.Response
		resp, err = o.Client.Do(req)
		if err == nil {
			n, _ := io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			res.Status, res.BytesIn = resp.StatusCode, int(n)
		}
	}
	res.Done = time.Now()
	if res.Sent.IsZero() {
		res.Sent = res.Done
	}
	if err != nil {
		res.Err = err.Error()
	}
	if o.Observe != nil {
		o.Observe(res)
	}
	return res
}
