package metrics

import (
	"errors"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.temporal.io/sdk/client"
)

// TemporalHandler implements the Temporal SDK's client.MetricsHandler over
// client_golang, so the SDK's own metrics (task latencies, poll counts,
// sticky cache, ...) are exposed next to promoflow's. Pass it as
// client.Options.MetricsHandler. Prometheus needs a fixed label set per
// metric name: a name first seen with one set of tag keys keeps it, and a
// later use of the name with other keys is dropped rather than failing.
type TemporalHandler struct {
	reg  prometheus.Registerer
	tags map[string]string
	vecs *temporalVecs
}

type temporalVecs struct {
	mu   sync.Mutex
	byID map[string]any // metric name → *CounterVec, *GaugeVec or *HistogramVec
	keys map[string][]string
}

// NewTemporalHandler returns a handler registering the SDK's metrics on reg,
// named with the SDK's names (e.g. temporal_request) — the SDK already
// prefixes them.
func NewTemporalHandler(reg prometheus.Registerer) *TemporalHandler {
	return &TemporalHandler{reg: reg, vecs: &temporalVecs{byID: map[string]any{}, keys: map[string][]string{}}}
}

var _ client.MetricsHandler = (*TemporalHandler)(nil)

// WithTags returns a handler whose metrics carry tags on top of h's.
func (h *TemporalHandler) WithTags(tags map[string]string) client.MetricsHandler {
	merged := maps.Clone(h.tags)
	if merged == nil {
		merged = map[string]string{}
	}
	maps.Copy(merged, tags)
	return &TemporalHandler{reg: h.reg, tags: merged, vecs: h.vecs}
}

// Counter returns the counter named name with h's tags.
func (h *TemporalHandler) Counter(name string) client.MetricsCounter {
	v, labels := h.vec(name, func(n string, keys []string) prometheus.Collector {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Name: n, Help: "Temporal SDK counter " + n + "."}, keys)
	})
	cv, ok := v.(*prometheus.CounterVec)
	if !ok {
		return client.MetricsNopHandler.Counter(name)
	}
	c := cv.With(labels)
	return counterFunc(func(d int64) { c.Add(float64(d)) })
}

// Gauge returns the gauge named name with h's tags.
func (h *TemporalHandler) Gauge(name string) client.MetricsGauge {
	v, labels := h.vec(name, func(n string, keys []string) prometheus.Collector {
		return prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: n, Help: "Temporal SDK gauge " + n + "."}, keys)
	})
	gv, ok := v.(*prometheus.GaugeVec)
	if !ok {
		return client.MetricsNopHandler.Gauge(name)
	}
	g := gv.With(labels)
	return gaugeFunc(g.Set)
}

// Timer returns a histogram in seconds named name with h's tags.
func (h *TemporalHandler) Timer(name string) client.MetricsTimer {
	v, labels := h.vec(name, func(n string, keys []string) prometheus.Collector {
		return prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: n + "_seconds", Help: "Temporal SDK timer " + n + ".",
			Buckets: prometheus.ExponentialBuckets(0.001, 4, 10),
		}, keys)
	})
	hv, ok := v.(*prometheus.HistogramVec)
	if !ok {
		return client.MetricsNopHandler.Timer(name)
	}
	o := hv.With(labels)
	return timerFunc(func(d time.Duration) { o.Observe(d.Seconds()) })
}

// vec returns the collector of name, creating and registering it with h's
// tag keys on first use; nil when name is taken with other keys.
func (h *TemporalHandler) vec(name string, mk func(name string, keys []string) prometheus.Collector) (any, prometheus.Labels) {
	name = strings.NewReplacer(".", "_", "-", "_").Replace(name)
	keys := slices.Sorted(maps.Keys(h.tags))
	labels := prometheus.Labels(maps.Clone(h.tags))
	if labels == nil {
		labels = prometheus.Labels{}
	}
	h.vecs.mu.Lock()
	defer h.vecs.mu.Unlock()
	if v, ok := h.vecs.byID[name]; ok {
		if !slices.Equal(h.vecs.keys[name], keys) {
			return nil, nil
		}
		return v, labels
	}
	c := mk(name, keys)
	if err := h.reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if !errors.As(err, &are) {
			h.vecs.byID[name] = nil
			h.vecs.keys[name] = keys
			return nil, nil
		}
		c = are.ExistingCollector
	}
	h.vecs.byID[name], h.vecs.keys[name] = c, keys
	return c, labels
}

type counterFunc func(int64)

func (f counterFunc) Inc(d int64) { f(d) }

type gaugeFunc func(float64)

func (f gaugeFunc) Update(v float64) { f(v) }

type timerFunc func(time.Duration)

func (f timerFunc) Record(d time.Duration) { f(d) }
