package generator_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/emnify-mock/emnify-mock/fixtures"
	"github.com/emnify-mock/emnify-mock/generator"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

var update = flag.Bool("update", false, "rewrite golden files")

func stream(tb testing.TB, seed uint64, n int) []byte {
	tb.Helper()
	c, err := generator.NewChurn(seed, generator.ChurnOptions{})
	if err != nil {
		tb.Fatal(err)
	}
	var b []byte
	for range n {
		e := c.Next()
		b = append(e.AppendJSON(b), '\n')
	}
	return b
}

func TestChurn_SameSeedSameBytes(t *testing.T) {
	a, b := stream(t, 7, 5000), stream(t, 7, 5000)
	if !bytes.Equal(a, b) {
		t.Fatal("two streams with seed 7 differ")
	}
	if c := stream(t, 8, 5000); bytes.Equal(a, c) {
		t.Fatal("seeds 7 and 8 gave the same stream")
	}
}

// TestChurn_Golden pins the first events of seed 1; run with -update after
// a deliberate change to the generator.
func TestChurn_Golden(t *testing.T) {
	got := stream(t, 1, 40)
	path := filepath.Join("testdata", t.Name()+".golden.ndjson")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("stream differs from %s (rerun with -update if the change is meant)", path)
	}
}

func TestChurn_StreamIsOrderedAndCoversEveryType(t *testing.T) {
	c, err := generator.NewChurn(3, generator.ChurnOptions{})
	if err != nil {
		t.Fatal(err)
	}
	schema := shippedSchema(t)
	counts := map[generator.EventType]int{}
	sources := map[int64]bool{}
	var last generator.Event
	for i := range 20_000 {
		e := c.Next()
		counts[e.EventType()]++
		if err := fixtures.Conforms(e.AppendJSON(nil)); err != nil {
			t.Fatalf("event %d does not conform to the docs: %v\n%s", i, err, e.AppendJSON(nil))
		}
		if doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(e.AppendJSON(nil))); err != nil || schema.Validate(doc) != nil {
			t.Fatalf("event %d is not valid under the shipped schema: %v %v\n%s", i, err, schema.Validate(doc), e.AppendJSON(nil))
		}
		if e.Timestamp.Before(last.Timestamp) {
			t.Fatalf("event %d at %s comes after %s", i, e.Timestamp, last.Timestamp)
		}
		if e.EventType() == generator.TypeSIMMigration {
			var d generator.MigrationDetail
			if err := json.Unmarshal(e.Detail, &d); err != nil {
				t.Fatal(err)
			}
			if d.Type == "target" {
				if !sources[e.ID] {
					t.Fatalf("target migration %d before its source", e.ID)
				}
				continue
			}
			sources[e.ID] = true
		}
		if i > 0 && e.ID <= last.ID {
			t.Fatalf("event id %d after %d", e.ID, last.ID)
		}
		if digits := len(itoa(e.ID)); digits != 15 {
			t.Fatalf("event id %d has %d digits, want 15", e.ID, digits)
		}
		last = e
	}
	for _, typ := range generator.DeviceStatusTypes {
		if counts[typ] < 20 {
			t.Errorf("%v: %d events in 20,000", typ, counts[typ])
		}
	}
	t.Logf("events by type: %v; refused attempts: %d", counts, c.Refused())
}

func itoa(n int64) string { b, _ := json.Marshal(n); return string(b) }

// BenchmarkGenerate measures generating and encoding events, the work of
// `emnify-mock generate`. Compare with BenchmarkBaselineMarshal in the same
// run: go test -run '^$' -bench . ./generator
func BenchmarkGenerate(b *testing.B) {
	c, err := generator.NewChurn(1, generator.ChurnOptions{})
	if err != nil {
		b.Fatal(err)
	}
	var buf []byte
	b.ReportAllocs()
	for b.Loop() {
		e := c.Next()
		buf = e.AppendJSON(buf[:0])
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// eventMirror is the event as a plain struct with json tags: what a
// straightforward implementation would hand to encoding/json.
type eventMirror struct {
	Timestamp    string                 `json:"timestamp"`
	Alert        bool                   `json:"alert"`
	Description  string                 `json:"description"`
	ID           int64                  `json:"id"`
	Type         generator.Lookup       `json:"event_type"`
	Source       generator.Lookup       `json:"event_source"`
	Severity     generator.Lookup       `json:"event_severity"`
	Organisation generator.OrgRef       `json:"organisation"`
	User         *generator.UserRef     `json:"user,omitempty"`
	Endpoint     *generator.EndpointRef `json:"endpoint,omitempty"`
	SIM          *generator.SIMRef      `json:"sim,omitempty"`
	IMSI         *generator.IMSIRef     `json:"imsi,omitempty"`
	Detail       json.RawMessage        `json:"detail,omitempty"`
}

// BenchmarkBaselineMarshal marshals one pre-built event with encoding/json:
// the baseline for BenchmarkGenerate.
func BenchmarkBaselineMarshal(b *testing.B) {
	w := mustWorld(b, 1)
	s := w.sim(b, generator.SIMSuspended)
	w.endpoint(b, s, generator.EndpointEnabled, true)
	e := ok(b)(w.p.ActivateSIM(w.user, s))[0]
	m := eventMirror{
		Timestamp: e.Timestamp.Format(generator.TimestampLayout), Description: e.Description, ID: e.ID,
		Type: e.Type, Source: e.Source, Severity: e.Severity, Organisation: e.Organisation,
		User: e.User, Endpoint: e.Endpoint, SIM: e.SIM, IMSI: e.IMSI, Detail: e.Detail,
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := json.Marshal(&m); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// shippedSchema compiles fixtures.Schema with an independent validator.
func shippedSchema(tb testing.TB) *jsonschema.Schema {
	tb.Helper()
	c := jsonschema.NewCompiler()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(fixtures.Schema()))
	if err == nil {
		err = c.AddResource("event.schema.json", doc)
	}
	s, err2 := c.Compile("event.schema.json")
	if err != nil || err2 != nil {
		tb.Fatal(err, err2)
	}
	return s
}
