// Package source says where events come from: the fleet churn, a
// scenario, a file of events, or the log of a running emnify-mock serve.
// Every source streams, so memory stays flat however many events it
// gives, and Take caps any of them: generate, push and load read events
// the same way, and --count means the same in each.
package source

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"

	"github.com/emnify-mock/emnify-mock/generator"
	"github.com/emnify-mock/emnify-mock/plan"
)

// Event is one event as the platform carries it: its id and its JSON,
// which the receiver owns.
type Event struct {
	ID   int64
	JSON []byte
}

// A Source gives events in order.
type Source interface {
	// Each calls f with every event until the source runs out (nil), f
	// returns an error (that error), or the source fails.
	Each(f func(Event) error) error
}

// Churn is the fleet churn: an endless seeded random walk over a fleet's
// state machines (generator.Churn).
type Churn struct {
	Seed    uint64
	Options generator.ChurnOptions
}

// Each gives the churn's events; it runs out only when f stops it.
func (c Churn) Each(f func(Event) error) error {
	churn, err := generator.NewChurn(c.Seed, c.Options)
	if err != nil {
		return err
	}
	for {
		e := churn.Next()
		if err := f(Event{ID: e.ID, JSON: e.JSON()}); err != nil {
			return err
		}
	}
}

// Scenario is the events of a scenario's plan run from a seed.
type Scenario struct {
	Plan *plan.Plan
	Seed uint64
}

// Each runs the plan.
func (s Scenario) Each(f func(Event) error) error {
	_, err := plan.Run(s.Plan, s.Seed, func(e generator.Event) error {
		return f(Event{ID: e.ID, JSON: e.JSON()})
	})
	return err
}

// errEnough stops a source once Take has its events.
var errEnough = errors.New("enough events")

// Take gives at most n events of src (all of them when n < 0).
func Take(src Source, n int64) Source {
	if n < 0 {
		return src
	}
	return take{src, n}
}

type take struct {
	src Source
	n   int64
}

func (t take) Each(f func(Event) error) error {
	if t.n == 0 {
		return nil
	}
	var given int64
	err := t.src.Each(func(e Event) error {
		if err := f(e); err != nil {
			return err
		}
		if given++; given == t.n {
			return errEnough
		}
		return nil
	})
	if errors.Is(err, errEnough) {
		return nil
	}
	return err
}

// Pull turns a source into a function that returns its next event, io.EOF
// once it has run out, or the error it failed with. stop releases the
// source early.
func Pull(src Source) (next func() (Event, error), stop func()) {
	seq := func(yield func(Event, error) bool) {
		err := src.Each(func(e Event) error {
			if !yield(e, nil) {
				return errEnough
			}
			return nil
		})
		if err == nil {
			err = io.EOF
		}
		if !errors.Is(err, errEnough) {
			yield(Event{}, err)
		}
	}
	pull, stop := iter.Pull2(iter.Seq2[Event, error](seq))
	return func() (Event, error) {
		e, err, ok := pull()
		if !ok {
			return Event{}, io.EOF
		}
		return e, err
	}, stop
}

// idOf reads an event's id.
func idOf(raw []byte) (int64, error) {
	var head struct {
		ID *int64 `json:"id"`
	}
	if err := json.Unmarshal(raw, &head); err != nil || head.ID == nil {
		return 0, fmt.Errorf("not an event with a whole-number id")
	}
	return *head.ID, nil
}
