package features

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"time"

	"github.com/emnify-mock/emnify-mock/streamer"
)

// gate stands in front of the consumer's webhook for a scenario whose
// webhook goes down: it answers 503 to every delivery until its time is
// up, then passes them on, so what queued arrives as a burst.
type gate struct {
	ts      *httptest.Server
	until   time.Time
	refused atomic.Int64
}

func newGate(target string, down time.Duration) *gate {
	g := &gate{until: time.Now().Add(down)}
	g.ts = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if time.Now().Before(g.until) {
			g.refused.Add(1)
			http.Error(w, "the webhook is down", http.StatusServiceUnavailable)
			return
		}
		req, _ := http.NewRequest(r.Method, target, bytes.NewReader(body))
		req.Header = r.Header.Clone()
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer res.Body.Close()
		w.WriteHeader(res.StatusCode)
		io.Copy(w, res.Body)
	}))
	return g
}

// webhookDown takes the consumer's webhook down for secs from now: pushes
// and data streams registered after this step meet 503 until then, retry
// with back-off (a data stream on emnify's schedule, probing every
// streamer.DefaultProbe), and deliver the backlog once it is back.
func webhookDown(ctx context.Context, secs int) error {
	w := get(ctx)
	if w.opts.StreamWebhook != "" {
		return w.skip("the webhook's outage is staged on this machine, which the platform does not reach (--stream-webhook)")
	}
	w.gate = newGate(w.url(w.opts.Webhook, "/webhook"), time.Duration(secs)*time.Second)
	w.closers = append(w.closers, w.gate.ts.Close)
	// Retries that outlast the outage, on the real clock.
	w.delivery.Retry = streamer.Policy{Attempts: 30, Initial: time.Millisecond, Max: 2 * time.Second}
	w.delivery.Probe = streamer.DefaultProbe
	return nil
}

// webhook is where this scenario's deliveries go: the consumer's
// webhook, or the gate in front of it.
func (w *world) webhook() string {
	if w.gate != nil {
		return w.gate.ts.URL
	}
	return w.url(w.opts.Webhook, "/webhook")
}

// refusedWhileDown checks that the outage happened: deliveries came while
// the webhook was down.
func refusedWhileDown(ctx context.Context) error {
	w := get(ctx)
	switch {
	case w.gate == nil:
		return errors.New(`no outage: say "the consumer's webhook is down for 30s" first`)
	case w.gate.refused.Load() == 0:
		return fmt.Errorf("no delivery came while the webhook was down (until %s)", w.gate.until.Format(time.TimeOnly))
	}
	return nil
}
