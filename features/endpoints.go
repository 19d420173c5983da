package features

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/emnify-mock/emnify-mock/generator"
)

// endpointTruth is what the platform's events say of one endpoint: its
// name (any event), its status (42, 43) and the SIM it holds (51, 50),
// each once an event says it.
type endpointTruth struct {
	ID           int64
	Name, Status string
	SIM          string // ICCID, or "null" once released
	events       []generator.Event
	statusKnown  bool
	simKnown     bool
}

func (w *world) endpointTruths() []*endpointTruth {
	byID := map[int64]*endpointTruth{}
	var order []*endpointTruth
	for _, e := range w.events {
		if e.Endpoint == nil {
			continue
		}
		t := byID[e.Endpoint.ID]
		if t == nil {
			t = &endpointTruth{ID: e.Endpoint.ID}
			byID[t.ID] = t
			order = append(order, t)
		}
		t.events = append(t.events, e)
		t.Name = e.Endpoint.Name
		switch generator.EventType(e.Type.ID) {
		case generator.TypeEndpointEnabled:
			t.Status, t.statusKnown = "Enabled", true
		case generator.TypeEndpointDisabled:
			t.Status, t.statusKnown = "Disabled", true
		case generator.TypeSIMAssigned:
			if e.SIM != nil {
				t.SIM, t.simKnown = e.SIM.ICCID, true
			}
		case generator.TypeSIMReleased:
			t.SIM, t.simKnown = "null", true
		}
	}
	return order
}

// endpointsMatch compares the consumer's view of every endpoint the
// events name (EndpointProbe) with what the events say.
func endpointsMatch(ctx context.Context, secs int) error {
	w := get(ctx)
	if w.opts.EndpointProbe == "" {
		return w.skip("the consumer shows no endpoints (verify --endpoint-probe '/devices/{endpoint.id}' compares them)")
	}
	ts := w.endpointTruths()
	if len(ts) == 0 {
		return errors.New("the events name no endpoint")
	}
	return within(secs, func() error {
		for _, t := range ts {
			path := strings.ReplaceAll(w.opts.EndpointProbe, "{endpoint.id}", fmt.Sprint(t.ID))
			for _, f := range []struct {
				field, want string
				known       bool
			}{{"name", t.Name, true}, {"status", t.Status, t.statusKnown}, {"sim", t.SIM, t.simKnown}} {
				if !f.known {
					continue
				}
				got, err := w.getJSON(path, f.field)
				if err != nil {
					return err
				}
				if got != f.want {
					return fmt.Errorf("endpoint %d: the consumer shows %s %q, the platform's events say %q%s", t.ID, f.field, got, f.want, w.timelineOf(t.events, "endpoint"))
				}
			}
		}
		return nil
	})
}
