package load_test

import (
	"math"
	"testing"
	"time"

	"github.com/emnify-mock/emnify-mock/streamer/load"
)

func count(p load.Pacer) (n uint64, last time.Duration) {
	for {
		at, ok := p.At(n)
		if !ok {
			return n, last
		}
		if at < last {
			panic("intended instants go back")
		}
		last = at
		n++
	}
}

func TestPacers(t *testing.T) {
	for _, tc := range []struct {
		name  string
		p     load.Pacer
		total uint64
		at    map[uint64]time.Duration
	}{
		{"Constant", load.Constant{Per: 1000, Duration: 10 * time.Second}, 10_000, map[uint64]time.Duration{0: 0, 1: time.Millisecond, 5000: 5 * time.Second}},
		// From 0 to 1000/s over 10s: 5000 requests; the n-th at sqrt(n/50) s.
		{"RampUp", load.Linear{From: 0, To: 1000, Duration: 10 * time.Second}, 5_000, map[uint64]time.Duration{50: time.Second, 1250: 5 * time.Second}},
		{"RampDown", load.Linear{From: 1000, To: 0, Duration: 10 * time.Second}, 5_000, map[uint64]time.Duration{0: 0}},
		{"Steps", load.Steps{{Per: 100, Duration: time.Second}, {Per: 1000, Duration: time.Second}}, 1_100, map[uint64]time.Duration{100: time.Second, 600: 1500 * time.Millisecond}},
		// An outage of 2s between 100/s and a burst of 1000/s: nothing is
		// due in the gap, the 101st request opens the burst.
		{"Outage", load.Steps{{Per: 100, Duration: time.Second}, {Per: 0, Duration: 2 * time.Second}, {Per: 1000, Duration: time.Second}}, 1_100,
			map[uint64]time.Duration{99: 990 * time.Millisecond, 100: 3 * time.Second, 600: 3500 * time.Millisecond}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n, _ := count(tc.p)
			if math.Abs(float64(n)-float64(tc.total)) > 1 {
				t.Errorf("%d requests, want %d", n, tc.total)
			}
			for i, want := range tc.at {
				got, ok := tc.p.At(i)
				if !ok || (got-want).Abs() > time.Millisecond {
					t.Errorf("request %d at %s, want %s", i, got, want)
				}
			}
		})
	}
	// The ramp's rate halfway is halfway.
	if r := (load.Linear{From: 100, To: 300, Duration: 10 * time.Second}).Rate(5 * time.Second); r != 200 {
		t.Errorf("ramp rate at half time %v", r)
	}
}

func TestParsePacer(t *testing.T) {
	for _, bad := range []struct{ ramp, steps string }{{"5000", ""}, {"a:b", ""}, {"", "1000"}, {"", "1000@soon"}, {"", "0@10s,0@5s"}, {"", "-5@1s"}} {
		if _, err := load.ParsePacer(1, bad.ramp, bad.steps, time.Second); err == nil {
			t.Errorf("accepted ramp %q steps %q", bad.ramp, bad.steps)
		}
	}
	if _, err := load.ParsePacer(-1, "", "", time.Second); err == nil {
		t.Error("accepted a negative rate")
	}
	if p, err := load.ParsePacer(1, "", "500@20s,0@30s,5000@5s", time.Second); err != nil || p.Rate(30*time.Second) != 0 || p.Rate(51*time.Second) != 5000 {
		t.Errorf("an outage in steps: %v", err)
	}
}
