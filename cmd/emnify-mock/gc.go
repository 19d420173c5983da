package main

import (
	"context"
	"os"
	"runtime/debug"
	"runtime/metrics"
	"time"
)

// The event log is most of a long-running serve's heap, and it never
// becomes garbage: it only grows. With the GC's default target (collect
// when the heap has doubled since the last collection's live heap) the
// process holds up to twice the log for garbage that is not there: a 250k
// event history took 1.75 KB of RSS per event under reads, 1.0 KB with the
// target that serve sets each second: room for the rest of the heap as
// usual and for 1/16 of the log (bench/serve-memory.sh). The log holds no
// pointers, so the extra collections mark only the rest. GOGC in the
// environment wins.

// keepGCHeadroom adjusts the GC target until ctx ends; logBytes tells how
// many bytes the event log holds.
func keepGCHeadroom(ctx context.Context, logBytes func() int) {
	if _, set := os.LookupEnv("GOGC"); set {
		return
	}
	live := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	last := 100
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		metrics.Read(live)
		if live[0].Value.Kind() != metrics.KindUint64 {
			return
		}
		if pct := gcPercent(int(live[0].Value.Uint64()), logBytes()); pct != last {
			debug.SetGCPercent(pct)
			last = pct
		}
	}
}

// gcPercent is the GC target (as GOGC) for a live heap of which logBytes
// are the event log: room for all of the rest and for a sixteenth of the
// log, at least 16 MB, at most Go's default (100).
func gcPercent(live, logBytes int) int {
	logBytes = min(max(logBytes, 0), live)
	room := max(live-logBytes+logBytes/16, 16<<20)
	return min(100, 100*room/max(live, 1))
}
