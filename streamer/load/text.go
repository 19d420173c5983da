package load

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"time"
)

// WriteText writes the summary people read at the end of a run.
func (r *Report) WriteText(w io.Writer) {
	d := func(ns int64) string { return time.Duration(ns).Round(time.Microsecond).String() }
	codes := make([]string, 0, len(r.StatusCodes))
	for c, n := range r.StatusCodes {
		codes = append(codes, fmt.Sprintf("%s:%d", c, n))
	}
	sort.Strings(codes)
	fmt.Fprintf(w, "Requests      [total, rate, throughput]         %d, %.2f/s, %.2f/s\n", r.Requests, r.Rate, r.Throughput)
	if r.TargetRate > 0 {
		fmt.Fprintf(w, "Target rate   [requested, achieved]             %.2f/s, %.2f/s (%+.2f%%)\n", r.TargetRate, r.Rate, (r.Rate/r.TargetRate-1)*100)
	}
	fmt.Fprintf(w, "Events        [total, per second]               %d, %.2f/s\n", r.Events, r.EventsPerSecond)
	fmt.Fprintf(w, "Duration      [total, attack, wait]             %s, %s, %s\n", (r.Duration + r.Wait).Round(time.Millisecond), r.Duration.Round(time.Millisecond), r.Wait.Round(time.Millisecond))
	l := r.Latencies
	fmt.Fprintf(w, "Latencies     [min, mean, 50, 90, 95, 99, 99.9, max]  %s, %s, %s, %s, %s, %s, %s, %s\n", d(l.Min), d(l.Mean), d(l.P50), d(l.P90), d(l.P95), d(l.P99), d(l.P999), d(l.Max))
	s := r.ScheduleLag
	fmt.Fprintf(w, "Schedule lag  [50, 99, max, late sends]         %s, %s, %s, %d\n", d(s.P50), d(s.P99), d(s.Max), r.LateSends)
	fmt.Fprintf(w, "Bytes         [in total, out total, out mean]   %d, %d, %.0f\n", r.BytesIn.Total, r.BytesOut.Total, r.BytesOut.Mean)
	fmt.Fprintf(w, "Success       [ratio]                           %.2f%%\n", r.Success*100)
	fmt.Fprintf(w, "Status codes  [code:count]                      %s\n", strings.Join(codes, "  "))
	if len(r.Errors) > 0 {
		fmt.Fprintln(w, "Error set:")
		for _, e := range r.Errors {
			fmt.Fprintln(w, e)
		}
	}
	fmt.Fprintln(w, "Latency is measured from each request's intended instant; schedule lag is how late it left.")
	if note := r.GeneratorNote(); note != "" {
		fmt.Fprintln(w, note)
	}
}

// GeneratorNote says when the generator itself fell behind enough to be a
// large part of the latency (more than 1% of sends late and a schedule-lag
// p99 of a quarter of the latency p99 or more), so a reader does not blame
// the receiver for it; "" otherwise.
func (r *Report) GeneratorNote() string {
	if r.Requests == 0 || r.LateSends*100 <= r.Requests || r.ScheduleLag.P99*4 < r.Latencies.P99 {
		return ""
	}
	return fmt.Sprintf("Note: the generator fell behind: %d of %d sends left late, schedule-lag p99 %s against latency p99 %s;"+
		" part of the latency is the generator's. More --max-workers, fewer events per process (--shard), or another machine for it.",
		r.LateSends, r.Requests, time.Duration(r.ScheduleLag.P99).Round(time.Microsecond), time.Duration(r.Latencies.P99).Round(time.Microsecond))
}
