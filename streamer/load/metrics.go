package load

import (
	"net/http"
	"strconv"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics exposes a running load test to Prometheus.
type Metrics struct {
	byCode   sync.Map // status → prometheus.Counter, so the hot path skips the label lookup
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	events   prometheus.Counter
	latency  prometheus.Histogram
	lag      prometheus.Histogram
	target   prometheus.Gauge
}

// NewMetrics registers the load test's metrics, labelled with the shard.
func NewMetrics(shard string) *Metrics {
	labels := prometheus.Labels{"shard": shard}
	m := &Metrics{reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "emnify_mock_load_requests_total", Help: "Requests sent, by HTTP status (0: no response).", ConstLabels: labels}, []string{"code"}),
		events:   prometheus.NewCounter(prometheus.CounterOpts{Name: "emnify_mock_load_events_acknowledged_total", Help: "Events in requests answered with a 2xx.", ConstLabels: labels}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "emnify_mock_load_latency_seconds", Help: "Latency from the intended send instant.",
			ConstLabels: labels, Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16)}),
		lag: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "emnify_mock_load_schedule_lag_seconds", Help: "How late requests left after their intended instant.",
			ConstLabels: labels, Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16)}),
		target: prometheus.NewGauge(prometheus.GaugeOpts{Name: "emnify_mock_load_target_rate", Help: "Requests per second asked for.", ConstLabels: labels}),
	}
	m.reg.MustRegister(m.requests, m.events, m.latency, m.lag, m.target)
	return m
}

// Observe records one result; pass it as Options.Observe.
func (m *Metrics) Observe(res Result) {
	c, ok := m.byCode.Load(res.Status)
	if !ok {
		c, _ = m.byCode.LoadOrStore(res.Status, m.requests.WithLabelValues(strconv.Itoa(res.Status)))
	}
	c.(prometheus.Counter).Inc()
	if res.Err == "" && res.Status >= 200 && res.Status < 300 {
		m.events.Add(float64(res.Events))
	}
	m.latency.Observe(res.Done.Sub(res.Intended).Seconds())
	m.lag.Observe(res.Sent.Sub(res.Intended).Seconds())
}

// SetTarget sets the target-rate gauge.
func (m *Metrics) SetTarget(rate float64) { m.target.Set(rate) }

// Handler serves /metrics.
func (m *Metrics) Handler() http.Handler { return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{}) }
