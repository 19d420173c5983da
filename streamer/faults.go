package streamer

import (
	"math/rand/v2"
	"time"
)

// Faults are deliberate misbehaviours, seeded, that let a team prove its
// consumer is idempotent and order-tolerant. Probabilities are from 0 to 1.
type Faults struct {
	Duplicate     float64       // resend an acknowledged batch once
	ReorderWindow int           // shuffle batches within windows of this many
	Delay         float64       // hold a request back...
	MaxDelay      time.Duration // ...by up to this long
	Drop          float64       // fail a first attempt without sending it, so it is retried
	// Forge and Stale test a receiver's signature check (they need a
	// Signer): a first attempt is signed with a wrong key, or dated StaleBy
	// back. A receiver that checks refuses it and gets the retry, signed
	// right; one that accepts it is counted in Stats.ForgedAccepted.
	Forge float64
	Stale float64
}

// StaleBy is how far back a stale signature is dated: twice the five
// minutes of tolerance Standard Webhooks recommends.
const StaleBy = 10 * time.Minute

const (
	faultDrop  = "drop"
	faultDelay = "delay"
	faultForge = "forge"
	faultStale = "stale"
)

// before picks the fault for an attempt, if any. Drops and signature
// faults hit first attempts only: the event is then retried, never lost.
func (f Faults) before(r *rand.Rand, n int) string {
	if f.Drop > 0 && n == 1 && r.Float64() < f.Drop {
		return faultDrop
	}
	if f.Forge > 0 && n == 1 && r.Float64() < f.Forge {
		return faultForge
	}
	if f.Stale > 0 && n == 1 && r.Float64() < f.Stale {
		return faultStale
	}
	if f.Delay > 0 && f.MaxDelay > 0 && r.Float64() < f.Delay {
		return faultDelay
	}
	return ""
}

func (f Faults) delay(r *rand.Rand) time.Duration {
	return time.Duration(r.Int64N(int64(f.MaxDelay) + 1))
}

// reorderer holds batches until a window is full and releases it shuffled.
type reorderer struct {
	window int
	held   [][]Item
	r      *rand.Rand
}

func newReorderer(window int, seed uint64) *reorderer {
	return &reorderer{window: window, r: rand.New(rand.NewPCG(seed, 0xfa17))}
}

func (o *reorderer) add(b []Item) [][]Item {
	if o.window <= 1 {
		return [][]Item{b}
	}
	o.held = append(o.held, b)
	if len(o.held) < o.window {
		return nil
	}
	return o.flush()
}

func (o *reorderer) flush() [][]Item {
	out := o.held
	o.held = nil
	o.r.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}
