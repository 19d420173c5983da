// Package load finds out how many emnify events per second a webhook
// receiver takes: an open-model pacer schedules each request at its
// intended instant, bounded workers send realistic events with unique ids,
// and latency is measured from the intended instant into HDR histograms,
// so a slow receiver shows its queueing delay instead of hiding it
// (no coordinated omission).
package load

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// A Pacer says when the n-th request (from 0) is due, as an offset from
// the start; ok is false when the run has no n-th request.
type Pacer interface {
	At(n uint64) (at time.Duration, ok bool)
	// Rate returns the intended rate (requests per second) at offset t.
	Rate(t time.Duration) float64
}

// Constant sends Per requests per second for Duration; a Per of 0 means
// as fast as possible (every request is due at once).
type Constant struct {
	Per      float64
	Duration time.Duration
}

var _ Pacer = Constant{}

// At returns n/Per.
func (c Constant) At(n uint64) (time.Duration, bool) {
	if c.Per <= 0 {
		return 0, true // "as fast as possible": the caller stops at Duration
	}
	at := time.Duration(float64(n) / c.Per * float64(time.Second))
	return at, at < c.Duration
}

// Rate returns Per.
func (c Constant) Rate(time.Duration) float64 { return c.Per }

// Linear ramps the rate from From to To over Duration. The n-th request is
// due when the integral of the rate reaches n: From·t + (To−From)·t²/(2D) = n.
type Linear struct {
	From, To float64
	Duration time.Duration
}

var _ Pacer = Linear{}

// At solves the integral for t.
func (l Linear) At(n uint64) (time.Duration, bool) {
	d := l.Duration.Seconds()
	a := (l.To - l.From) / (2 * d)
	x := float64(n)
	var t float64
	if math.Abs(a) < 1e-12 {
		if l.From <= 0 {
			return 0, false
		}
		t = x / l.From
	} else {
		disc := l.From*l.From + 4*a*x
		if disc < 0 {
			return 0, false
		}
		t = (-l.From + math.Sqrt(disc)) / (2 * a)
	}
	at := time.Duration(t * float64(time.Second))
	return at, t < d && at >= 0
}

// Rate interpolates between From and To.
func (l Linear) Rate(t time.Duration) float64 {
	f := min(max(t.Seconds()/l.Duration.Seconds(), 0), 1)
	return l.From + (l.To-l.From)*f
}

// Steps runs one pacer after another: "rates in steps". A step of rate 0
// sends nothing for its duration: an outage, after which the next step can
// be the burst.
type Steps []Constant

var _ Pacer = Steps{}

// At finds the step the n-th request falls in.
func (s Steps) At(n uint64) (time.Duration, bool) {
	var offset time.Duration
	for _, st := range s {
		in := uint64(st.Per * st.Duration.Seconds())
		if n < in {
			at, _ := st.At(n)
			return offset + at, true
		}
		n -= in
		offset += st.Duration
	}
	return 0, false
}

// Rate returns the rate of the step at t.
func (s Steps) Rate(t time.Duration) float64 {
	for _, st := range s {
		if t < st.Duration {
			return st.Per
		}
		t -= st.Duration
	}
	return 0
}

// ParsePacer builds a pacer from the command line: --rate R with
// --duration D, --ramp FROM:TO over D, or --steps R1@D1,R2@D2.
func ParsePacer(rate float64, ramp, steps string, d time.Duration) (Pacer, error) {
	switch {
	case steps != "":
		var s Steps
		total := 0.0
		for _, part := range strings.Split(steps, ",") {
			r, dur, ok := strings.Cut(part, "@")
			per, err1 := strconv.ParseFloat(r, 64)
			dd, err2 := time.ParseDuration(dur)
			if !ok || err1 != nil || err2 != nil || per < 0 || dd <= 0 {
				return nil, fmt.Errorf("--steps wants RATE@DURATION,... such as 1000@10s,5000@10s; got %q", part)
			}
			s = append(s, Constant{Per: per, Duration: dd}) // 0@D: silence, an outage
			total += per * dd.Seconds()
		}
		if total < 1 {
			return nil, fmt.Errorf("--steps %q sends nothing", steps)
		}
		return s, nil
	case ramp != "":
		f, t, ok := strings.Cut(ramp, ":")
		from, err1 := strconv.ParseFloat(f, 64)
		to, err2 := strconv.ParseFloat(t, 64)
		if !ok || err1 != nil || err2 != nil || from < 0 || to < 0 || from+to == 0 {
			return nil, fmt.Errorf("--ramp wants FROM:TO requests per second, such as 100:5000; got %q", ramp)
		}
		return Linear{From: from, To: to, Duration: d}, nil
	}
	if rate < 0 {
		return nil, fmt.Errorf("--rate must be 0 (as fast as possible) or more, got %v", rate)
	}
	return Constant{Per: rate, Duration: d}, nil
}
