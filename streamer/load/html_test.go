package load_test

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/emnify-mock/emnify-mock/streamer/load"
)

// TestReport_HTML renders a report: the page parses, holds three plots with
// the run's data, and needs nothing from the network.
func TestReport_HTML(t *testing.T) {
	start := time.Unix(1_700_000_000, 0)
	rec := load.NewRecorder(start, load.Constant{Per: 100, Duration: 5 * time.Second})
	for i := range 500 {
		in := start.Add(time.Duration(i) * 10 * time.Millisecond)
		rec.Record(load.Result{Intended: in, Sent: in, Done: in.Add(time.Duration(2+i%40) * time.Millisecond), Status: 200, Events: 1})
	}
	r, err := rec.Report()
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := r.WriteHTML(&buf, "Load on http://127.0.0.1:9000/hook"); err != nil {
		t.Fatal(err)
	}
	page := buf.String()
	dec := xml.NewDecoder(strings.NewReader(page))
	dec.Strict = true
	dec.AutoClose = nil
	for {
		_, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("the page does not parse: %v", err)
		}
	}
	for _, want := range []string{"500 at", "<polyline", "Latency over time", "Throughput over time", "Latency distribution", fmt.Sprintf("%.2f ms", float64(r.Latencies.P99)/1e6)} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	if n := strings.Count(page, "<svg"); n != 3 {
		t.Errorf("%d plots, want 3", n)
	}
	if strings.Contains(page, "http://") && !strings.Contains(page, "http://www.w3.org/2000/svg") || strings.Contains(page, "<script") {
		t.Error("the page loads something from elsewhere")
	}
	var text bytes.Buffer
	r.WriteText(&text)
	if !strings.Contains(text.String(), "Requests      [total, rate, throughput]         500") {
		t.Errorf("text report:\n%s", text.String())
	}
}

// TestReport_HTMLOutageIsAGap: seconds without requests break the latency
// lines instead of drawing them down to 0 ms.
func TestReport_HTMLOutageIsAGap(t *testing.T) {
	start := time.Unix(1_700_000_000, 0)
	rec := load.NewRecorder(start, load.Steps{{Per: 100, Duration: 2 * time.Second}, {Per: 0, Duration: 2 * time.Second}, {Per: 100, Duration: 2 * time.Second}})
	for i := range 400 {
		in := start.Add(time.Duration(i) * 10 * time.Millisecond)
		if i >= 200 {
			in = in.Add(2 * time.Second) // after the outage
		}
		rec.Record(load.Result{Intended: in, Sent: in, Done: in.Add(5 * time.Millisecond), Status: 200, Events: 1})
	}
	r, _ := rec.Report()
	var buf bytes.Buffer
	if err := r.WriteHTML(&buf, "outage"); err != nil {
		t.Fatal(err)
	}
	latency := buf.String()[strings.Index(buf.String(), "Latency over time"):strings.Index(buf.String(), "Throughput over time")]
	if n := strings.Count(latency, "<polyline"); n != 4 {
		t.Errorf("%d latency lines, want p50 and p99 each in two runs around the gap", n)
	}
	if strings.Contains(latency, "NaN") {
		t.Error("NaN in the SVG")
	}
}

// TestReport_HTMLSaysTheGeneratorFellBehind: the page says in words what
// the text summary says when sends left late.
func TestReport_HTMLSaysTheGeneratorFellBehind(t *testing.T) {
	start := time.Unix(1_700_000_000, 0)
	rec := load.NewRecorder(start, load.Constant{Per: 100, Duration: time.Second})
	for i := range 100 {
		in := start.Add(time.Duration(i) * 10 * time.Millisecond)
		late := in.Add(time.Duration(i) * time.Millisecond) // ever later: up to 99 ms
		rec.Record(load.Result{Intended: in, Sent: late, Done: late.Add(time.Millisecond), Status: 200, Events: 1})
	}
	r, _ := rec.Report()
	var buf bytes.Buffer
	if err := r.WriteHTML(&buf, "behind"); err != nil {
		t.Fatal(err)
	}
	if r.GeneratorNote() == "" || !strings.Contains(buf.String(), "the generator fell behind") {
		t.Errorf("no note on the page; the text summary's note: %q", r.GeneratorNote())
	}
	buf.Reset()
	r.LateSends = 0
	if err := r.WriteHTML(&buf, "on time"); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(buf.String(), "fell behind") {
		t.Error("a note on the page of a run without late sends")
	}
}
