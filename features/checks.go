package features

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/emnify-mock/emnify-mock/generator"
)

// The Then steps: what the consumer did, checked against the platform's
// event log, with failures that show the entity's timeline.

func allAcked(ctx context.Context) error {
	w := get(ctx)
	if w.stats.Events == 0 {
		return errors.New("nothing was pushed")
	}
	for _, o := range w.acked {
		if !o.Acked {
			return fmt.Errorf("%d of %d events were not acknowledged; first: event %d after %d attempts: %s",
				w.stats.Dead, w.stats.Events, o.Items[0].ID, o.Attempts, o.Err)
		}
	}
	return nil
}

func rateAtLeast(ctx context.Context, rate int) error {
	w := get(ctx)
	got := float64(w.stats.Acked) / w.stats.Duration.Seconds()
	if got < float64(rate) {
		return fmt.Errorf("the consumer took %.0f events per second (%d in %s), want at least %d", got, w.stats.Acked, w.stats.Duration, rate)
	}
	return nil
}

func fastEnough(ctx context.Context, ms int) error {
	w := get(ctx)
	if limit := time.Duration(ms) * time.Millisecond; w.slowest >= limit {
		return fmt.Errorf("the slowest delivery took %s, want under %s (%d requests)", w.slowest, limit, w.stats.Requests)
	}
	return nil
}

// truth is what a correct consumer knows of a SIM after every event, each
// once, in log order.
type truth struct {
	ICCID     string
	ID        int64 // the SIM's id, once an event names it
	Status    string
	Workspace int64
	events    []generator.Event
}

func (w *world) truths() []*truth {
	byICCID := map[string]*truth{}
	var order []*truth
	at := func(iccid string) *truth {
		t := byICCID[iccid]
		if t == nil {
			t = &truth{ICCID: iccid}
			byICCID[iccid] = t
			order = append(order, t)
		}
		return t
	}
	for _, e := range w.events {
		if e.EventType() == generator.TypeSIMMigration {
			var d generator.MigrationDetail
			json.Unmarshal(e.Detail, &d)
			for _, s := range d.SIMs {
				t := at(s.ICCID)
				t.events = append(t.events, e)
				if d.Type == "target" {
					t.Workspace = d.TargetWorkspace.ID
				}
			}
			continue
		}
		if e.SIM == nil {
			continue
		}
		t := at(e.SIM.ICCID)
		t.ID = e.SIM.ID
		t.events = append(t.events, e)
		t.Workspace = e.Organisation.ID
		if status, ok := generator.EventType(e.Type.ID).SIMStatusAfter(); ok {
			t.Status = status.String()
		}
	}
	return order
}

// fill replaces {sim.iccid}, {sim.id}, {sim.status}, {sim.workspace} (the first SIM
// the events name), {endpoint.id} (the first endpoint they name),
// {events.count} and {count.N} (events of type N).
func (w *world) fill(s string) string {
	ts := w.truths()
	repl := []string{"{events.count}", fmt.Sprint(len(w.events))}
	for _, e := range w.events {
		if e.Endpoint != nil {
			repl = append(repl, "{endpoint.id}", fmt.Sprint(e.Endpoint.ID))
			break
		}
	}
	if len(ts) > 0 {
		repl = append(repl, "{sim.iccid}", ts[0].ICCID, "{sim.id}", fmt.Sprint(ts[0].ID), "{sim.status}", ts[0].Status, "{sim.workspace}", fmt.Sprint(ts[0].Workspace))
	}
	s = strings.NewReplacer(repl...).Replace(s)
	return regexp.MustCompile(`\{count\.(\d+)\}`).ReplaceAllStringFunc(s, func(m string) string {
		n := 0
		for _, e := range w.events {
			if fmt.Sprint(e.Type.ID) == m[7:len(m)-1] {
				n++
			}
		}
		return fmt.Sprint(n)
	})
}

// getJSON fetches a consumer URL and returns a field by dotted path.
func (w *world) getJSON(path, field string) (string, error) {
	res, err := http.Get(w.consumer + path)
	if err != nil {
		return "", err
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 {
		return "", fmt.Errorf("GET %s: HTTP %d %s", path, res.StatusCode, bytes.TrimSpace(b))
	}
	got, err := jsonField(b, field)
	if err != nil {
		return "", fmt.Errorf("GET %s: %v in %s", path, err, b)
	}
	return got, nil
}

// within retries check until it passes or the time is up.
func within(secs int, check func() error) error {
	deadline := time.Now().Add(time.Duration(secs) * time.Second)
	for {
		err := check()
		if err == nil || time.Now().After(deadline) {
			return err
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func jsonIs(ctx context.Context, secs int, path, field, want string) error {
	w := get(ctx)
	path, want = w.fill(path), w.fill(want)
	return within(secs, func() error {
		got, err := w.getJSON(path, field)
		if err != nil {
			return err
		}
		if got != want {
			return fmt.Errorf("GET %s: %q is %q, want %q%s", path, field, got, want, w.timelineFor(path))
		}
		return nil
	})
}

func viewMatches(ctx context.Context, secs int) error {
	w := get(ctx)
	ts := w.truths()
	if len(ts) == 0 {
		return errors.New("the events name no SIM")
	}
	return within(secs, func() error {
		for _, t := range ts {
			path := strings.ReplaceAll(w.opts.Probe, "{sim.iccid}", t.ICCID)
			for _, f := range []struct{ field, want string }{{"status", t.Status}, {"workspace", fmt.Sprint(t.Workspace)}} {
				if f.want == "" {
					continue
				}
				got, err := w.getJSON(path, f.field)
				if err != nil {
					return err
				}
				if got != f.want {
					return fmt.Errorf("SIM %s: the consumer shows %s %q, the platform's events say %q%s", t.ICCID, f.field, got, f.want, w.timeline(t))
				}
			}
		}
		return nil
	})
}

func countedOnce(ctx context.Context, secs int) error {
	w := get(ctx)
	if w.opts.NoStats {
		return w.skip("the consumer has no event count (verify --stats '')")
	}
	return within(secs, func() error {
		s, err := w.getJSON(w.statsPath(), "events")
		if err != nil {
			return err
		}
		total, _ := strconv.Atoi(s)
		if got := total - w.counted; got != len(w.events) {
			return fmt.Errorf("the consumer counted %d events, the platform emitted %d (%d requests, %d sent twice on purpose)",
				got, len(w.events), w.stats.Requests, w.stats.Duplicates)
		}
		return nil
	})
}

// timeline shows a SIM's events in log order and in the order the consumer
// acknowledged them: what a failure message needs.
func (w *world) timeline(t *truth) string { return w.timelineOf(t.events, "SIM") }

// timelineOf shows an entity's events in log order and in the order the
// consumer acknowledged them.
func (w *world) timelineOf(events []generator.Event, what string) string {
	var b strings.Builder
	b.WriteString("\n  the platform's events for this " + what + ", in order:")
	for _, e := range events {
		fmt.Fprintf(&b, "\n    %d  %s  %s", e.ID, e.Timestamp.Format(generator.TimestampLayout), e.Description)
	}
	if len(w.acked) > 0 {
		b.WriteString("\n  as delivered (acknowledgement order):")
		w.mu.Lock()
		n := 0
		for _, o := range w.acked {
			for _, it := range o.Items {
				for _, e := range events {
					if e.ID == it.ID {
						n++
						fmt.Fprintf(&b, "\n    %d. %d  %s (attempts %d, acknowledged %v)", n, e.ID, e.Type.Description, o.Attempts, o.Acked)
					}
				}
			}
		}
		w.mu.Unlock()
	}
	return b.String()
}

func (w *world) timelineFor(path string) string {
	for _, t := range w.truths() {
		if strings.Contains(path, t.ICCID) {
			return w.timeline(t)
		}
	}
	return ""
}

func (w *world) statsPath() string {
	if w.opts.Stats == "" {
		return "/stats"
	}
	return "/" + strings.TrimPrefix(w.opts.Stats, "/")
}
