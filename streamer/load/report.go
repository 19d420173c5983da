package load

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"sort"
	"strconv"
	"sync"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

// Histogram bounds: 1µs to 10 minutes, 3 significant digits.
const (
	histMin    = int64(time.Microsecond)
	histMax    = int64(10 * time.Minute)
	histDigits = 3
)

func newHist() *hdr.Histogram { return hdr.New(histMin, histMax, histDigits) }

// Result is one request of a run.
type Result struct {
	Intended time.Time // when the pacer wanted it sent
	Sent     time.Time
	Done     time.Time
	Status   int
	Err      string
	Events   int
	BytesOut int
	BytesIn  int
}

// Latencies are in nanoseconds, with vegeta's key names.
type Latencies struct {
	Total int64 `json:"total"`
	Mean  int64 `json:"mean"`
	P50   int64 `json:"50th"`
	P90   int64 `json:"90th"`
	P95   int64 `json:"95th"`
	P99   int64 `json:"99th"`
	P999  int64 `json:"99.9th"`
	Max   int64 `json:"max"`
	Min   int64 `json:"min"`
}

// Bytes are totals and means, as vegeta reports them.
type Bytes struct {
	Total uint64  `json:"total"`
	Mean  float64 `json:"mean"`
}

// Second is one second of the run, for the plots.
type Second struct {
	T        int     `json:"t"` // seconds since the start
	Requests int     `json:"requests"`
	OK       int     `json:"ok"`
	Events   int     `json:"events"`
	P50      int64   `json:"p50"`
	P99      int64   `json:"p99"`
	Target   float64 `json:"target_rate"`
}

// Report sums up a run. The top-level fields that mean what vegeta's mean
// carry its names (requests, rate, throughput, duration, latencies,
// status_codes, errors, success, bytes_in, bytes_out, earliest, latest,
// end, wait); the rest are ours. Histograms are HdrHistogram's compressed
// encoding in base64, so reports of several shards merge exactly.
type Report struct {
	Latencies   Latencies      `json:"latencies"`
	BytesIn     Bytes          `json:"bytes_in"`
	BytesOut    Bytes          `json:"bytes_out"`
	Earliest    time.Time      `json:"earliest"`
	Latest      time.Time      `json:"latest"`
	End         time.Time      `json:"end"`
	Duration    time.Duration  `json:"duration"`
	Wait        time.Duration  `json:"wait"`
	Requests    uint64         `json:"requests"`
	Rate        float64        `json:"rate"`
	Throughput  float64        `json:"throughput"`
	Success     float64        `json:"success"`
	StatusCodes map[string]int `json:"status_codes"`
	Errors      []string       `json:"errors"`

	Events          uint64    `json:"events"`
	EventsPerSecond float64   `json:"events_per_second"`
	TargetRate      float64   `json:"target_rate,omitempty"`
	ScheduleLag     Latencies `json:"schedule_lag"`
	LateSends       uint64    `json:"late_sends"`
	Timeline        []Second  `json:"timeline"`
	Histogram       string    `json:"latency_histogram"`
	LagHistogram    string    `json:"schedule_lag_histogram"`
	Shard           string    `json:"shard,omitempty"`
	Shards          int       `json:"shards,omitempty"`
	// RunIDs name the runs a report sums up, one per shard: merging the
	// same report twice would count it twice, so Merge refuses it.
	RunIDs []string `json:"run_ids,omitempty"`
}

// lateAfter is how far behind its intended instant a send counts as late.
const lateAfter = time.Millisecond

// openSeconds is how many recent seconds keep a histogram: results of a
// second can still arrive a little later (requests that waited).
const openSeconds = 4

// Recorder gathers results into histograms. Memory stays flat however long
// the run: two histograms for the whole run, histograms for the last few
// seconds only, and for older seconds just their counts and percentiles.
type Recorder struct {
	mu       sync.Mutex
	start    time.Time
	pacer    Pacer
	lat, lag *hdr.Histogram
	seconds  []Second               // the timeline; percentiles set when a second closes
	open     map[int]*hdr.Histogram // latency of the seconds still open
	spare    []*hdr.Histogram
	codes    map[string]int
	errors   map[string]int
	r        Report
}

// NewRecorder starts recording a run that starts at start.
func NewRecorder(start time.Time, p Pacer) *Recorder {
	id := make([]byte, 8)
	rand.Read(id)
	return &Recorder{start: start, pacer: p, lat: newHist(), lag: newHist(), open: map[int]*hdr.Histogram{}, codes: map[string]int{}, errors: map[string]int{},
		r: Report{RunIDs: []string{hex.EncodeToString(id)}}}
}

// Record adds one result.
func (rc *Recorder) Record(res Result) { rc.RecordAll([]Result{res}) }

// RecordAll adds results under one lock: workers hand in batches, so they
// do not queue on the lock at high rates.
func (rc *Recorder) RecordAll(results []Result) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	for i := range results {
		rc.record(&results[i])
	}
}

func (rc *Recorder) record(res *Result) {
	lat := res.Done.Sub(res.Intended)
	lag := res.Sent.Sub(res.Intended)
	ok := res.Err == "" && res.Status >= 200 && res.Status < 300
	rc.lat.RecordValue(clamp(lat))
	rc.lag.RecordValue(clamp(lag))
	r := &rc.r
	r.Requests++
	if ok {
		r.Success++
		r.Events += uint64(res.Events)
	}
	if lag > lateAfter {
		r.LateSends++
	}
	r.BytesOut.Total += uint64(res.BytesOut)
	r.BytesIn.Total += uint64(res.BytesIn)
	if r.Earliest.IsZero() || res.Intended.Before(r.Earliest) {
		r.Earliest = res.Intended
	}
	if res.Intended.After(r.Latest) {
		r.Latest = res.Intended
	}
	if res.Done.After(r.End) {
		r.End = res.Done
	}
	rc.codes[strconv.Itoa(res.Status)]++
	if res.Err != "" && (len(rc.errors) < 20 || rc.errors[res.Err] > 0) {
		rc.errors[res.Err]++
	}
	s := max(int(res.Intended.Sub(rc.start)/time.Second), 0)
	for len(rc.seconds) <= s {
		rc.seconds = append(rc.seconds, Second{T: len(rc.seconds)})
	}
	sec := &rc.seconds[s]
	sec.Requests++
	if ok {
		sec.OK++
		sec.Events += res.Events
	}
	if h := rc.second(s); h != nil {
		h.RecordValue(clamp(lat))
	}
}

// second returns the open histogram of second s, closing seconds that are
// too old; nil if s itself is closed already (its latency still counts in
// the run's histogram).
func (rc *Recorder) second(s int) *hdr.Histogram {
	if h, ok := rc.open[s]; ok {
		return h
	}
	for t, h := range rc.open {
		if t <= s-openSeconds {
			rc.close(t, h)
		}
	}
	if len(rc.seconds) > s+openSeconds {
		return nil // long closed
	}
	var h *hdr.Histogram
	if n := len(rc.spare); n > 0 {
		h, rc.spare = rc.spare[n-1], rc.spare[:n-1]
	} else {
		h = newHist()
	}
	rc.open[s] = h
	return h
}

func (rc *Recorder) close(t int, h *hdr.Histogram) {
	rc.seconds[t].P50, rc.seconds[t].P99 = h.ValueAtQuantile(50), h.ValueAtQuantile(99)
	delete(rc.open, t)
	h.Reset()
	rc.spare = append(rc.spare, h)
}

func clamp(d time.Duration) int64 { return min(max(int64(d), histMin), histMax) }

// Live returns what the last whole second and the run so far look like,
// for progress lines.
func (rc *Recorder) Live() (requests uint64, errors uint64, p50, p99 time.Duration, lastRate int) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if n := len(rc.seconds); n >= 2 {
		lastRate = rc.seconds[n-2].Requests
	}
	return rc.r.Requests, rc.r.Requests - uint64(rc.r.Success), time.Duration(rc.lat.ValueAtQuantile(50)), time.Duration(rc.lat.ValueAtQuantile(99)), lastRate
}

// Report finishes the run's report.
func (rc *Recorder) Report() (*Report, error) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	r := rc.r
	r.StatusCodes, r.Errors = rc.codes, []string{}
	for e := range rc.errors {
		r.Errors = append(r.Errors, e)
	}
	sort.Strings(r.Errors)
	for t, h := range rc.open {
		rc.close(t, h)
	}
	for i, sec := range rc.seconds {
		if rc.pacer != nil {
			sec.Target = rc.pacer.Rate(time.Duration(i)*time.Second + time.Second/2)
		}
		r.Timeline = append(r.Timeline, sec)
	}
	var err error
	if r.Histogram, err = encode(rc.lat); err == nil {
		r.LagHistogram, err = encode(rc.lag)
	}
	finish(&r, rc.lat, rc.lag)
	return &r, err
}

// finish derives the summary numbers from the counts and histograms.
func finish(r *Report, lat, lag *hdr.Histogram) {
	r.Latencies, r.ScheduleLag = latencies(lat), latencies(lag)
	if r.Requests > 0 {
		r.Success = r.Success / float64(r.Requests)
		r.BytesIn.Mean = float64(r.BytesIn.Total) / float64(r.Requests)
		r.BytesOut.Mean = float64(r.BytesOut.Total) / float64(r.Requests)
	}
	r.Duration = r.Latest.Sub(r.Earliest)
	r.Wait = r.End.Sub(r.Latest)
	if r.Duration > 0 {
		r.Rate = float64(r.Requests) / r.Duration.Seconds()
	}
	if total := r.Duration + r.Wait; total > 0 {
		r.Throughput = r.Success * float64(r.Requests) / total.Seconds()
		r.EventsPerSecond = float64(r.Events) / total.Seconds()
	}
}

func latencies(h *hdr.Histogram) Latencies {
	if h.TotalCount() == 0 {
		return Latencies{}
	}
	return Latencies{
		Total: int64(h.Mean() * float64(h.TotalCount())), Mean: int64(h.Mean()),
		P50: h.ValueAtQuantile(50), P90: h.ValueAtQuantile(90), P95: h.ValueAtQuantile(95),
		P99: h.ValueAtQuantile(99), P999: h.ValueAtQuantile(99.9), Max: h.Max(), Min: h.Min(),
	}
}

func encode(h *hdr.Histogram) (string, error) {
	b, err := h.Encode(hdr.V2CompressedEncodingCookieBase)
	if err != nil {
		return "", fmt.Errorf("encode histogram: %w", err)
	}
	return base64.StdEncoding.EncodeToString(b), nil
}

func decode(s string) (*hdr.Histogram, error) {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, err
	}
	return hdr.Decode(b)
}

// Merge combines the reports of several shards of one run: counts add up,
// histograms merge exactly, the timeline adds second by second.
func Merge(reports ...*Report) (*Report, error) {
	if len(reports) == 0 {
		return nil, fmt.Errorf("nothing to merge")
	}
	lat, lag := newHist(), newHist()
	m := &Report{StatusCodes: map[string]int{}, Errors: []string{}, Shards: len(reports)}
	seenErr, seenRun := map[string]bool{}, map[string]int{}
	var success float64
	for i, r := range reports {
		for _, id := range r.RunIDs {
			if j, ok := seenRun[id]; ok {
				return nil, fmt.Errorf("report %d holds run %s, as report %d does: a shard merged twice would count twice", i+1, id, j)
			}
			seenRun[id] = i + 1
			m.RunIDs = append(m.RunIDs, id)
		}
		for _, p := range []struct {
			enc string
			to  *hdr.Histogram
		}{{r.Histogram, lat}, {r.LagHistogram, lag}} {
			h, err := decode(p.enc)
			if err != nil {
				return nil, fmt.Errorf("report %d: histogram: %w", i+1, err)
			}
			p.to.Merge(h)
		}
		m.Requests += r.Requests
		success += r.Success * float64(r.Requests)
		m.Events += r.Events
		m.LateSends += r.LateSends
		m.BytesIn.Total += r.BytesIn.Total
		m.BytesOut.Total += r.BytesOut.Total
		m.TargetRate += r.TargetRate
		if m.Earliest.IsZero() || r.Earliest.Before(m.Earliest) {
			m.Earliest = r.Earliest
		}
		if r.Latest.After(m.Latest) {
			m.Latest = r.Latest
		}
		if r.End.After(m.End) {
			m.End = r.End
		}
		for k, v := range r.StatusCodes {
			m.StatusCodes[k] += v
		}
		for _, e := range r.Errors {
			if !seenErr[e] {
				seenErr[e] = true
				m.Errors = append(m.Errors, e)
			}
		}
		for _, s := range r.Timeline {
			for len(m.Timeline) <= s.T {
				m.Timeline = append(m.Timeline, Second{T: len(m.Timeline)})
			}
			t := &m.Timeline[s.T]
			t.Requests += s.Requests
			t.OK += s.OK
			t.Events += s.Events
			t.Target += s.Target
			t.P50, t.P99 = max(t.P50, s.P50), max(t.P99, s.P99) // per-second histograms are not kept: an upper bound
		}
	}
	m.Success = success
	var err error
	if m.Histogram, err = encode(lat); err == nil {
		m.LagHistogram, err = encode(lag)
	}
	finish(m, lat, lag)
	return m, err
}
