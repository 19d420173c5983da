package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/emnify-mock/emnify-mock/streamer"
	"github.com/emnify-mock/emnify-mock/streamer/load"
)

const loadUsage = `Usage: emnify-mock load --to URL --rate R --duration D [flags]

Finds out how many emnify events per second a webhook receiver takes. An
open-model pacer sends each request at its intended instant whatever the
receiver does (--rate is the total rate of this instance, not per worker);
latency is measured from that instant into HDR histograms, so a receiver
that falls behind shows its queueing delay. Bodies carry realistic events
with unique ids, prepared ahead.

Load:
  --to URL             the receiver (loopback only, unless --allow-remote)
  --rate R             requests per second (default 100); 0: as fast as
                       possible with --max-workers requests in flight
  --duration D         how long (default 10s)
  --ramp FROM:TO       ramp the rate linearly from FROM to TO over --duration
  --steps R@D,...      rates in steps, e.g. 1000@10s,5000@10s,10000@10s; a rate
                       of 0 is an outage, e.g. 500@20s,0@30s,5000@5s,500@20s:
                       the receiver's latency in the burst after it
  --size N             events per request: 1 an object (default), more an array
  --max-workers N      requests in flight at most (default 512, fewer for
                       large bodies so that those in flight hold at most
                       8 MB: 12 at --size 1000)
  --timeout D          per request (default 10s)
  --method M, --header 'Name:value'..., --sign-secret whsec_...
  --shard i/n          instance i of n: disjoint event ids and seeds (run n
                       instances, then 'emnify-mock report merge')
  --allow-remote       allow a target that is not a loopback address
  --min-success F      exit 1 when fewer than this share of requests got a 2xx
                       (default 0.99; 0 never fails the run)

` + sourceHelp + `  In a load, --count caps how many events are read (default 10000, at most
  100000): they are sent in turn, each time with a new id. --seed defaults
  to 1.

Reports:
  a text summary on stdout; a progress line on stderr (a terminal: live;
  otherwise every 5s)
  --json FILE          the report as JSON (vegeta's field names where they
                       mean the same, plus the raw HDR histograms)
  --report FILE.html   one self-contained page with latency and throughput
                       over time and the latency distribution
  --metrics-addr HOST:PORT  Prometheus metrics at /metrics during the run

Examples:
  emnify-mock load --to http://127.0.0.1:9000/webhook --rate 5000 --duration 10s
  emnify-mock load --to http://127.0.0.1:9000/webhook --ramp 100:5000 --duration 1m --report ramp.html
  emnify-mock load --to http://127.0.0.1:9000/webhook --rate 0 --size 1000
  emnify-mock load --to http://127.0.0.1:9000/webhook --rate 2000 --shard 0/2 --json a.json &
  emnify-mock load --to http://127.0.0.1:9000/webhook --rate 2000 --shard 1/2 --json b.json
  emnify-mock report merge a.json b.json --report total.html
`

// LoadCommand runs a load test against a webhook receiver.
type LoadCommand struct {
	Stdout, Stderr io.Writer
	// every, when set, is how often a progress line is printed when
	// stderr is not a terminal (tests); default 5s.
	every time.Duration
}

// loadFlags are load's flags.
type loadFlags struct {
	to, ramp, steps, method, secret, shard, jsonOut, htmlOut, metricsAddr string
	rate, minSuccess                                                      float64
	duration, timeout                                                     time.Duration
	size, maxWorkers                                                      int
	remote                                                                bool
	headers                                                               stringList
	source                                                                sourceFlags
}

func (f *loadFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.to, "to", "", "")
	fs.Float64Var(&f.rate, "rate", 100, "")
	fs.DurationVar(&f.duration, "duration", 10*time.Second, "")
	fs.StringVar(&f.ramp, "ramp", "", "")
	fs.StringVar(&f.steps, "steps", "", "")
	fs.IntVar(&f.size, "size", 1, "")
	f.source.register(fs, "1")
	fs.IntVar(&f.maxWorkers, "max-workers", 0, "")
	fs.DurationVar(&f.timeout, "timeout", load.DefaultTimeout, "")
	fs.StringVar(&f.method, "method", "POST", "")
	fs.Var(&f.headers, "header", "")
	fs.StringVar(&f.secret, "sign-secret", "", "")
	fs.StringVar(&f.shard, "shard", "0/1", "")
	fs.BoolVar(&f.remote, "allow-remote", false, "")
	fs.StringVar(&f.jsonOut, "json", "", "")
	fs.StringVar(&f.htmlOut, "report", "", "")
	fs.StringVar(&f.metricsAddr, "metrics-addr", "", "")
	fs.Float64Var(&f.minSuccess, "min-success", 0.99, "")
}

// Run parses the flags, runs the load and reports.
func (c *LoadCommand) Run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("load", flag.ContinueOnError)
	var f loadFlags
	f.register(fs)
	if err := parseFlags(fs, args, loadUsage, c.Stdout); err != nil {
		return err
	}
	o, pacer, shard, err := f.options()
	if err != nil {
		return err
	}
	if f.metricsAddr != "" { // observing costs CPU per request: only when asked
		stop, err := c.serveMetrics(f.metricsAddr, shard, pacer, &o)
		if err != nil {
			return err
		}
		defer stop()
	}
	rec := load.NewRecorder(time.Now(), pacer)
	plain := 5 * time.Second
	if c.every > 0 {
		plain = c.every
	}
	start := time.Now()
	stopProgress := progress(c.Stderr, plain, func() string { return progressLine(rec, pacer, start, o.Duration) })
	err = load.Run(ctx, o, rec)
	stopProgress() // no progress line after the summary
	if err != nil {
		return err
	}
	r, err := rec.Report()
	if err != nil {
		return err
	}
	if constant, ok := pacer.(load.Constant); ok {
		r.TargetRate = constant.Per
	}
	if shard != "" {
		r.Shard = shard // an unsharded run is no shard
	}
	r.WriteText(c.Stdout)
	if err := writeReports(r, f.jsonOut, f.htmlOut, "Load on "+f.to); err != nil {
		return err
	}
	if ctx.Err() != nil {
		return fmt.Errorf("interrupted after %s: the report covers the requests sent until then", time.Since(start).Round(time.Second))
	}
	if r.Success < f.minSuccess {
		why := ""
		if len(r.Errors) > 0 {
			why = " (" + r.Errors[0] + ")"
		}
		return fmt.Errorf("success %.2f%% is below --min-success %.2f%%%s", 100*r.Success, 100*f.minSuccess, why)
	}
	return nil
}

// options checks the flags and builds the load's options, its pacer, and
// the shard's name ("" unsharded). Every output is checked before
// anything is sent: a report that cannot be written must not cost a run.
func (f *loadFlags) options() (load.Options, load.Pacer, string, error) {
	bad := func(format string, a ...any) (load.Options, load.Pacer, string, error) {
		return load.Options{}, nil, "", &usageError{err: fmt.Errorf(format, a...), hint: "emnify-mock load --help"}
	}
	u, err := url.Parse(f.to)
	switch {
	case f.to == "" || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		return bad("--to must be an http:// URL of the receiver, got %q", f.to)
	case !f.remote && !streamer.Loopback(u.Hostname()):
		return bad("--to %s is not a loopback address; pass --allow-remote to load another host", u.Host)
	case f.duration <= 0:
		return bad("--duration must be positive, got %s", f.duration)
	case f.size < 1 || f.size > 10000:
		return bad("--size must be from 1 to 10000, got %d", f.size)
	case f.maxWorkers < 0:
		return bad("--max-workers must be 1 or more, got %d", f.maxWorkers)
	case f.minSuccess < 0 || f.minSuccess > 1:
		return bad("--min-success must be from 0 to 1, got %g", f.minSuccess)
	}
	for flagName, path := range map[string]string{"--json": f.jsonOut, "--report": f.htmlOut} {
		if err := writable(path); err != nil {
			return bad("%s %s: %v", flagName, path, err)
		}
	}
	pacer, err := load.ParsePacer(f.rate, f.ramp, f.steps, f.duration)
	if err != nil {
		return bad("%v", err)
	}
	duration := f.duration
	if steps, ok := pacer.(load.Steps); ok {
		duration = 0
		for _, st := range steps {
			duration += st.Duration
		}
	}
	shard, of, err := parseShard(f.shard)
	if err != nil {
		return bad("%v", err)
	}
	h, err := streamer.ParseHeaders(f.headers)
	if err != nil {
		return bad("--header: %v", err)
	}
	o := load.Options{URL: f.to, Method: strings.ToUpper(f.method), Headers: h, Size: f.size, Timeout: f.timeout,
		MaxWorkers: f.maxWorkers, Duration: duration}
	if f.secret != "" {
		if o.Signer, err = streamer.NewSigner(f.secret); err != nil {
			return bad("--sign-secret: %v", err)
		}
	}
	if o.Bodies, err = f.bodies(shard, of); err != nil {
		return load.Options{}, nil, "", err
	}
	name := ""
	if of > 1 {
		name = fmt.Sprintf("%d/%d", shard, of)
	}
	return o, pacer, name, nil
}

// bodies reads the events of the shard's source: at most --count (default
// 10,000, at most loadPool), sent in turn with new ids.
func (f *loadFlags) bodies(shard, of int) (*load.Bodies, error) {
	spec, err := f.source.spec()
	if err != nil {
		return nil, err
	}
	spec.Seed += uint64(shard)
	switch {
	case spec.Count < 0:
		spec.Count = 10_000
	case spec.Count > loadPool:
		return nil, &usageError{err: fmt.Errorf("--count in a load is at most %d (the events are held in memory and sent in turn), got %d", loadPool, spec.Count),
			hint: "emnify-mock load --help"}
	}
	src, err := spec.open()
	if err != nil {
		return nil, err
	}
	b, err := load.NewBodies(src, int(spec.Count), shard, of)
	return b, inputOf(err)
}

// serveMetrics serves Prometheus metrics of the run on addr.
func (c *LoadCommand) serveMetrics(addr, shard string, pacer load.Pacer, o *load.Options) (stop func(), err error) {
	metrics := load.NewMetrics(or(shard, "0/1"))
	metrics.SetTarget(pacer.Rate(0))
	o.Observe = metrics.Observe
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	srv := &http.Server{Handler: metrics.Handler(), ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	fmt.Fprintf(c.Stderr, "metrics at http://%s/metrics\n", ln.Addr())
	return func() { srv.Close() }, nil
}

// writable says whether a file can be created at path, without leaving
// one behind; "" is fine (no output asked for).
func writable(path string) error {
	if path == "" {
		return nil
	}
	if _, err := os.Stat(path); err == nil {
		f, err := os.OpenFile(path, os.O_WRONLY, 0)
		if err != nil {
			return err
		}
		return f.Close()
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	f.Close()
	return os.Remove(path)
}

// progressLine tells how the run is going: requests, the last second's
// rate against the target, latency, errors, time left.
func progressLine(r *load.Recorder, p load.Pacer, start time.Time, d time.Duration) string {
	n, errs, p50, p99, last := r.Live()
	target := "as fast as possible"
	if rate := p.Rate(time.Since(start)); rate > 0 {
		target = fmt.Sprintf("target %.0f/s", rate)
	}
	return fmt.Sprintf("%d requests  rate %d/s (%s)  p50 %s  p99 %s  errors %d  left %s",
		n, last, target, p50.Round(time.Microsecond), p99.Round(time.Microsecond), errs, max(0, d-time.Since(start)).Round(time.Second))
}

func writeReports(r *load.Report, jsonPath, htmlPath, title string) error {
	if jsonPath != "" {
		b, err := json.MarshalIndent(r, "", "  ")
		if err != nil {
			return err
		}
		if err := os.WriteFile(jsonPath, append(b, '\n'), 0o644); err != nil {
			return fmt.Errorf("write --json: %w", err)
		}
	}
	if htmlPath != "" {
		f, err := os.Create(htmlPath)
		if err != nil {
			return fmt.Errorf("write --report: %w", err)
		}
		defer f.Close()
		if err := r.WriteHTML(f, title); err != nil {
			return err
		}
		return f.Close()
	}
	return nil
}

// loadPool is how many events a load reads at most: they are sent in
// turn with new ids, so memory does not grow with the run.
const loadPool = 100_000

func parseShard(s string) (int, int, error) {
	a, b, ok := strings.Cut(s, "/")
	i, err1 := strconv.Atoi(a)
	n, err2 := strconv.Atoi(b)
	if !ok || err1 != nil || err2 != nil || n < 1 || i < 0 || i >= n {
		return 0, 0, fmt.Errorf("--shard must be i/n with 0 <= i < n, such as 0/4; got %q", s)
	}
	return i, n, nil
}
