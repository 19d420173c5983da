package generator

import (
	"math/rand/v2"
	"testing"
	"time"
)

// TestAppendTime: the written-out timestamp is time.AppendFormat's, at
// instants all over the range, in any zone.
func TestAppendTime(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	zone := time.FixedZone("x", -5*3600)
	for i := range 100_000 {
		at := time.Unix(r.Int64N(253402300799), r.Int64N(1e9)) // years 1970-9999
		if i%2 == 1 {
			at = at.In(zone)
		}
		want := `"` + at.UTC().Format(TimestampLayout) + `"`
		if got := string(appendTime(nil, at)); got != want {
			t.Fatalf("%v: %s, want %s", at, got, want)
		}
	}
	for _, at := range []time.Time{{}, time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC)} {
		if got, want := string(appendTime(nil, at)), `"`+at.Format(TimestampLayout)+`"`; got != want {
			t.Errorf("%v: %s, want %s", at, got, want)
		}
	}
}
