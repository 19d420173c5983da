package streamer

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"time"
)

// Policy says how often and when a failed delivery is tried again.
// Schedule, when set, gives the wait before each retry (with ±10% jitter);
// otherwise the wait before retry n is drawn from [0, min(Max, Initial·2ⁿ⁻¹))
// ("full jitter").
type Policy struct {
	Attempts int // all tries, the first included; at least 1
	Initial  time.Duration
	Max      time.Duration
	Schedule []time.Duration
}

// Presets are the named retry policies. emnify does not publish its retry
// schedule (emnify-api.md §5.2), so "emnify" is a plausible bounded
// exponential back-off; "svix" is Svix's published schedule; "standard-
// webhooks" follows the spec's advice of exponential back-off with jitter.
var Presets = map[string]Policy{
	"emnify":            {Attempts: 6, Initial: 10 * time.Second, Max: 10 * time.Minute},
	"svix":              {Attempts: 8, Schedule: []time.Duration{5 * time.Second, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour, 5 * time.Hour, 10 * time.Hour, 10 * time.Hour}},
	"standard-webhooks": {Attempts: 8, Initial: 5 * time.Second, Max: time.Hour},
	"none":              {Attempts: 1},
}

// PresetNames lists the presets, sorted.
func PresetNames() string {
	var names []string
	for k := range Presets {
		names = append(names, k)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

// Validate checks a policy.
func (p Policy) Validate() error {
	switch {
	case p.Attempts < 1:
		return fmt.Errorf("retry attempts must be 1 or more, got %d", p.Attempts)
	case p.Schedule == nil && p.Attempts > 1 && (p.Initial <= 0 || p.Max < p.Initial):
		return fmt.Errorf("retry delays must satisfy 0 < initial (%s) <= max (%s)", p.Initial, p.Max)
	}
	return nil
}

// Delay returns the wait before retry n (n = 1 after the first failure).
func (p Policy) Delay(n int, r *rand.Rand) time.Duration {
	if p.Schedule != nil {
		d := p.Schedule[min(n, len(p.Schedule))-1]
		return d + time.Duration((r.Float64()*0.2-0.1)*float64(d))
	}
	ceil := p.Initial << min(n-1, 40)
	if ceil <= 0 || ceil > p.Max {
		ceil = p.Max
	}
	return time.Duration(r.Int64N(int64(ceil) + 1))
}
