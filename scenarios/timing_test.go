package scenarios_test

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emnify-mock/emnify-mock/generator"
	"github.com/emnify-mock/emnify-mock/scenarios"
)

const timing = `name: timing
description: pins at, after, every, repeat and for
start: 2025-03-01T00:00:00Z
workspaces:
  - name: w
    sims:
      - group: s
        count: 3
        status: activated
        endpoint: {}
steps:
  - do: suspend
    target: s
    at: 1h
    every: 10s
  - do: activate
    target: s[0]
    after: 30m
  - repeat: 3
    every: 1h
    steps:
      - do: reset-connectivity
        target: s[1]
  - for: 1h
    every: 10m
    after: 1d
    steps:
      - do: reset-connectivity
        target: s[2]
`

func TestRun_Timing(t *testing.T) {
	sc, err := scenarios.Parse("timing.yaml", []byte(timing))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	if _, err := sc.Run(1, func(e generator.Event) error {
		got = append(got, e.Timestamp.Format("02T15:04:05.000")+" "+strconv.Itoa(e.Type.ID))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"01T01:00:00.000 9", "01T01:00:10.000 9", "01T01:00:20.000 9", // at 1h, every 10s
		"01T01:30:20.000 8",                                              // after 30m
		"01T01:30:20.001 68", "01T02:30:20.000 68", "01T03:30:20.000 68", // repeat 3, every 1h
		"02T03:30:20.000 68", "02T03:40:20.000 68", "02T03:50:20.000 68", // for 1h every 10m, after 1d
		"02T04:00:20.000 68", "02T04:10:20.000 68", "02T04:20:20.000 68",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestRun_JitterAndPickFollowTheSeed(t *testing.T) {
	src := strings.Replace(timing, "    every: 10s\n", "    every: 10s\n    jitter: 5s\n", 1)
	src = strings.Replace(src, "    target: s[0]\n", "    target: s\n    pick: 1\n", 1)
	sc, err := scenarios.Parse("jitter.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	run := func(seed uint64) (out []time.Time, sims []int64) {
		if _, err := sc.Run(seed, func(e generator.Event) error {
			out = append(out, e.Timestamp)
			if e.Type.ID == 8 {
				sims = append(sims, e.SIM.ID)
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		return out, sims
	}
	a, simsA := run(1)
	b, _ := run(1)
	if len(simsA) != 1 {
		t.Fatalf("pick 1 activated %d SIMs", len(simsA))
	}
	for i := range a {
		if !a[i].Equal(b[i]) {
			t.Fatalf("seed 1 twice: event %d at %s and %s", i, a[i], b[i])
		}
	}
	if gap := a[1].Sub(a[0]); gap < 10*time.Second || gap >= 15*time.Second {
		t.Errorf("gap with every 10s, jitter 5s is %s", gap)
	}
}

// TestRun_EveryIsStartToStart: every is the period from one iteration's
// start to the next, whatever the iteration takes ("suspend, activate 30
// minutes later, every hour" suspends on the hour); an iteration longer
// than the period is followed by the next one at once.
func TestRun_EveryIsStartToStart(t *testing.T) {
	for _, c := range []struct {
		name, inner string
		want        []string // the suspensions
	}{
		{"shorter than the period", "30m", []string{"00:00", "01:00", "02:00", "03:00"}},
		{"longer than the period", "90m", []string{"00:00", "01:30", "03:00"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			src := `name: hourly
description: an iteration that takes time
start: 2025-03-01T00:00:00Z
workspaces:
  - name: w
    sims:
      - group: s
        count: 1
        status: activated
steps:
  - for: 4h
    every: 1h
    steps:
      - do: suspend
        target: s
      - do: activate
        target: s
        after: ` + c.inner + "\n"
			sc, err := scenarios.Parse("hourly.yaml", []byte(src))
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			if _, err := sc.Run(1, func(e generator.Event) error {
				if e.Type.ID == 9 {
					got = append(got, e.Timestamp.Format("15:04"))
				}
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			if strings.Join(got, " ") != strings.Join(c.want, " ") {
				t.Errorf("suspensions at %v, want %v", got, c.want)
			}
		})
	}
}
