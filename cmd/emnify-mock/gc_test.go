package main

import "testing"

func TestGCPercent(t *testing.T) {
	const mb = 1 << 20
	for _, c := range []struct {
		live, log, want int
	}{
		{live: 20 * mb, log: 0, want: 100},             // no log: Go's default
		{live: 20 * mb, log: 1 * mb, want: 95},         // a small log
		{live: 200 * mb, log: 185 * mb, want: 13},      // a 250k history: room for the rest, and 11 MB for the log
		{live: 112 * mb, log: 1 * mb, want: 99},        // a big fleet, few events: as usual
		{live: 2000 * mb, log: 1990 * mb, want: 6},     // mostly log
		{live: 10 * mb, log: 9 * mb, want: 100},        // room for at least 16 MB, at most 100
		{live: 100000 * mb, log: 100000 * mb, want: 6}, // never below 6: a sixteenth of the log
	} {
		if got := gcPercent(c.live, c.log); got != c.want {
			t.Errorf("gcPercent(%d MB live, %d MB log) = %d, want %d", c.live/mb, c.log/mb, got, c.want)
		}
	}
}
