package generator_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/emnify-mock/emnify-mock/fixtures"
	"github.com/emnify-mock/emnify-mock/generator"
)

// TestEvent_MatchesDocsExamples makes, for each of the docs' 13 example
// events, an event of the same kind and checks that its JSON has the same
// keys in the same order at every level, the same JSON types, null where the
// example has null, the same type/source/severity, and a description that
// fits the example's template.
func TestEvent_MatchesDocsExamples(t *testing.T) {
	examples := fixtures.DocsExamples()
	if got, want := len(examples), 13; got != want {
		t.Fatalf("got %d docs examples, want %d", got, want)
	}
	for _, ex := range examples {
		t.Run(ex.Name, func(t *testing.T) {
			w := mustWorld(t, 42)
			e := makeLike(t, w, ex.Name)
			got := e.AppendJSON(nil)
			if !json.Valid(got) {
				t.Fatalf("invalid JSON: %s", got)
			}
			if gs, ws := shape(t, got), shape(t, ex.JSON); gs != ws {
				t.Errorf("shape differs\n got: %s\nwant: %s\nevent: %s", gs, ws, got)
			}
			var want, have struct {
				Description string          `json:"description"`
				Type        json.RawMessage `json:"event_type"`
				Source      json.RawMessage `json:"event_source"`
				Severity    json.RawMessage `json:"event_severity"`
				Alert       bool            `json:"alert"`
			}
			json.Unmarshal(ex.JSON, &want)
			json.Unmarshal(got, &have)
			for _, f := range []struct{ name, got, want string }{
				{"event_type", compact(have.Type), compact(want.Type)},
				{"event_source", compact(have.Source), compact(want.Source)},
				{"event_severity", compact(have.Severity), compact(want.Severity)},
				{"alert", fmt.Sprint(have.Alert), fmt.Sprint(want.Alert)},
			} {
				if f.got != f.want {
					t.Errorf("%s: got %s, want %s", f.name, f.got, f.want)
				}
			}
			if re := template(want.Description); !re.MatchString(have.Description) {
				t.Errorf("description %q does not fit the docs' %q", have.Description, want.Description)
			}
		})
	}
}

// makeLike performs the action that yields the named docs example.
func makeLike(t *testing.T, w *world, name string) generator.Event {
	t.Helper()
	p := w.p
	var events []generator.Event
	want := generator.EventType(0)
	switch {
	case strings.HasPrefix(name, "01-"): // Suspended -> Activated by a user
		s := w.sim(t, generator.SIMSuspended)
		w.endpoint(t, s, generator.EndpointEnabled, true)
		events, want = ok(t)(p.ActivateSIM(w.user, s)), generator.TypeSIMActivation
	case strings.HasPrefix(name, "02-"): // Policy Control after the test volume
		s := w.sim(t, generator.SIMFactoryTest)
		w.endpoint(t, s, generator.EndpointEnabled, true)
		ok(t)(p.ReportTestUsage(s, 60*1024, 0))
		events, want = ok(t)(p.ReportTestUsage(s, 60*1024, 0)), generator.TypeSIMActivation
	case strings.HasPrefix(name, "03-"):
		s := w.sim(t, generator.SIMActivated)
		w.endpoint(t, s, generator.EndpointEnabled, true)
		events, want = ok(t)(p.SuspendSIM(w.user, s)), generator.TypeSIMSuspension
	case strings.HasPrefix(name, "04-"):
		s := w.sim(t, generator.SIMSuspended)
		events, want = ok(t)(p.DeleteSIM(w.user, s)), generator.TypeSIMDeletion
	case strings.HasPrefix(name, "05-"):
		ep := w.endpoint(t, w.sim(t, generator.SIMActivated), generator.EndpointDisabled, true)
		events, want = ok(t)(p.EnableEndpoint(w.user, ep)), generator.TypeEndpointEnabled
	case strings.HasPrefix(name, "06-"):
		ep := w.endpoint(t, w.sim(t, generator.SIMActivated), generator.EndpointEnabled, true)
		events, want = ok(t)(p.DisableEndpoint(w.user, ep)), generator.TypeEndpointDisabled
	case strings.HasPrefix(name, "07-"):
		s := w.sim(t, generator.SIMIssued)
		w.endpoint(t, s, generator.EndpointEnabled, true)
		events, want = ok(t)(p.StartFactoryTest(w.user, s)), generator.TypeSIMFactoryTest
	case strings.HasPrefix(name, "08-"):
		b, err := p.NewBatch(w.w1, 1)
		if err != nil {
			t.Fatal(err)
		}
		events, want = ok(t)(p.RegisterBatch(w.user, w.w1, b, generator.SIMIssued)), generator.TypeSIMRegistration
	case strings.HasPrefix(name, "09-"):
		ep := w.endpoint(t, w.sim(t, generator.SIMActivated), generator.EndpointEnabled, true)
		events, want = ok(t)(p.ReleaseSIM(w.user, ep)), generator.TypeSIMReleased
	case strings.HasPrefix(name, "10-"):
		ep := w.endpoint(t, nil, generator.EndpointDisabled, true)
		events, want = ok(t)(p.AssignSIM(w.user, ep, w.sim(t, generator.SIMActivated))), generator.TypeSIMAssigned
	case strings.HasPrefix(name, "11-"): // app token, endpoint without IMEI
		ep := w.endpoint(t, w.sim(t, generator.SIMActivated), generator.EndpointEnabled, false)
		events, want = ok(t)(p.ResetConnectivity(w.token, ep)), generator.TypeResetConnectivity
	case strings.HasPrefix(name, "12-"), strings.HasPrefix(name, "13-"):
		sims := []*generator.SIM{w.sim(t, generator.SIMActivated), w.sim(t, generator.SIMSuspended)}
		events = ok(t)(p.MigrateSIMs(w.user, sims, w.w2, true))
		n := len(events) - 2 // source, then target
		if strings.HasPrefix(name, "13-") {
			n++
		}
		return events[n]
	default:
		t.Fatalf("no recipe for docs example %s", name)
	}
	last := events[len(events)-1]
	if last.EventType() != want {
		t.Fatalf("last event is %v, want %v", last.EventType(), want)
	}
	return last
}

func shape(t *testing.T, data []byte) string {
	t.Helper()
	s, err := fixtures.Shape(data)
	if err != nil {
		t.Fatalf("shape of %s: %v", data, err)
	}
	return s
}

var (
	emailRe  = regexp.MustCompile(`\S+@\S+`)
	digitsRe = regexp.MustCompile(`[0-9]+`)
)

// template turns a docs description into a pattern: numbers and e-mail
// addresses vary, everything else is literal.
func template(desc string) *regexp.Regexp {
	s := emailRe.ReplaceAllString(desc, "\x00")
	s = regexp.QuoteMeta(s)
	s = digitsRe.ReplaceAllString(s, `[0-9]+`)
	s = strings.ReplaceAll(s, "\x00", `\S+@\S+`)
	return regexp.MustCompile("^" + s + "$")
}

func compact(raw json.RawMessage) string {
	var b bytes.Buffer
	json.Compact(&b, raw)
	return b.String()
}

func TestEvent_RoundTrip(t *testing.T) {
	c, err := generator.NewChurn(3, generator.ChurnOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for range 2000 {
		e := c.Next()
		b := e.AppendJSON(nil)
		var back generator.Event
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatalf("decode %s: %v", b, err)
		}
		if again := back.AppendJSON(nil); !bytes.Equal(again, b) {
			t.Fatalf("round trip changed the event\n got: %s\nwant: %s", again, b)
		}
	}
}

func TestEvent_DocsExamplesDecodeAndReencode(t *testing.T) {
	for _, ex := range fixtures.DocsExamples() {
		var e generator.Event
		if err := json.Unmarshal(ex.JSON, &e); err != nil {
			t.Fatalf("%s: %v", ex.Name, err)
		}
		if got, want := string(e.AppendJSON(nil)), compact(ex.JSON); got != want {
			t.Errorf("%s: re-encoded\n got: %s\nwant: %s", ex.Name, got, want)
		}
	}
}
