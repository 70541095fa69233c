package serve

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the service's Prometheus metrics.
type metrics struct {
	requests   *prometheus.CounterVec
	latency    *prometheus.HistogramVec
	version    *prometheus.GaugeVec
	swaps      *prometheus.CounterVec
	pollErrors *prometheus.CounterVec
	scored     *prometheus.CounterVec
	logDropped prometheus.Counter
	logWritten prometheus.Counter
	logFailed  prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "promoflow_serve_requests_total", Help: "API requests by route, model and HTTP status code.",
		}, []string{"route", "model", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "promoflow_serve_request_duration_seconds",
			Help:    "API request latency by route, model and HTTP status code.",
			Buckets: []float64{0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5},
		}, []string{"route", "model", "code"}),
		version: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "promoflow_serve_model_version", Help: "Model version being served.",
		}, []string{"model"}),
		swaps: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "promoflow_serve_model_swaps_total", Help: "Swaps to another model version after an alias move.",
		}, []string{"model"}),
		pollErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "promoflow_serve_model_load_errors_total", Help: "Failed alias reads or version loads (the old version keeps serving).",
		}, []string{"model"}),
		scored: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "promoflow_serve_scored_customers_total", Help: "Customers scored.",
		}, []string{"model"}),
		logDropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "promoflow_serve_scoring_log_dropped_total", Help: "Scoring log rows dropped because the log queue was full.",
		}),
		logWritten: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "promoflow_serve_scoring_log_written_total", Help: "Scoring log rows written to PostgreSQL.",
		}),
		logFailed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "promoflow_serve_scoring_log_failed_total", Help: "Scoring log rows lost to a failed write.",
		}),
	}
	for _, c := range []prometheus.Collector{m.requests, m.latency, m.version, m.swaps, m.pollErrors, m.scored, m.logDropped, m.logWritten, m.logFailed} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register metrics: %w", err)
		}
	}
	return m, nil
}
