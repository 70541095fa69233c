// Package metrics holds promoflow's Prometheus collectors for the worker:
// activity durations and failures (recorded by a Temporal worker
// interceptor), rows ingested and quarantined, per-feature drift, model
// metrics, promotions, rollbacks and the time of the last successful
// retrain, plus a Temporal SDK metrics handler. Everything is registered on
// the prometheus.Registerer passed to New; nothing is global.
package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Namespace prefixes every promoflow metric name.
const Namespace = "promoflow"

// Metrics is the set of promoflow collectors. Its methods are safe for
// concurrent use; a nil *Metrics records nothing, so code paths that run
// without a worker (CLI, tests) need no special casing.
type Metrics struct {
	ActivityDuration *prometheus.HistogramVec
	ActivityFailures *prometheus.CounterVec
	RowsIngested     *prometheus.CounterVec
	RowsQuarantined  *prometheus.CounterVec
	Drift            *prometheus.GaugeVec
	ModelMetric      *prometheus.GaugeVec
	Promotions       *prometheus.CounterVec
	Rollbacks        *prometheus.CounterVec
	LastRetrain      *prometheus.GaugeVec
}

// New creates the collectors and registers them on reg.
func New(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		ActivityDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: Namespace, Name: "activity_duration_seconds",
			Help:    "Duration of Temporal activity executions on this worker, by activity name.",
			Buckets: prometheus.ExponentialBuckets(0.005, 4, 10), // 5 ms .. ~22 min
		}, []string{"activity"}),
		ActivityFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "activity_failures_total",
			Help: "Activity executions that returned an error, by activity name.",
		}, []string{"activity"}),
		RowsIngested: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "rows_ingested_total",
			Help: "Raw rows ingested from landing files, by source.",
		}, []string{"source"}),
		RowsQuarantined: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "rows_quarantined_total",
			Help: "Rows a cleaning rule moved to quarantine, by source and rule.",
		}, []string{"source", "rule"}),
		Drift: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: Namespace, Name: "drift",
			Help: "Latest drift of a feature (or feature=\"score\") against the production model's training reference, by test (psi, ks, js).",
		}, []string{"model", "feature", "test"}),
		ModelMetric: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: Namespace, Name: "model_metric",
			Help: "Latest metric of a model's production version: realised_auc, realised_log_loss, realised_ece, auc_drop, drifted_share, breach_streak, production_version.",
		}, []string{"model", "metric"}),
		Promotions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "promotions_total",
			Help: "Moves of the production alias to a new version by promotion, by model.",
		}, []string{"model"}),
		Rollbacks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "rollbacks_total",
			Help: "Rollbacks of the production alias, by model and actor (monitor for automatic ones).",
		}, []string{"model", "actor"}),
		LastRetrain: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: Namespace, Name: "last_successful_retrain_timestamp_seconds",
			Help: "Unix time of the last DailyRetrain that completed, by model; alerts compute staleness from it.",
		}, []string{"model"}),
	}
	reg.MustRegister(m.ActivityDuration, m.ActivityFailures, m.RowsIngested, m.RowsQuarantined,
		m.Drift, m.ModelMetric, m.Promotions, m.Rollbacks, m.LastRetrain)
	return m
}

// ObserveActivity records one activity execution.
func (m *Metrics) ObserveActivity(name string, d time.Duration, err error) {
	if m == nil {
		return
	}
	m.ActivityDuration.WithLabelValues(name).Observe(d.Seconds())
	if err != nil {
		m.ActivityFailures.WithLabelValues(name).Inc()
	}
}

// AddIngested counts rows ingested from a source.
func (m *Metrics) AddIngested(source string, rows int64) {
	if m == nil || rows <= 0 {
		return
	}
	m.RowsIngested.WithLabelValues(source).Add(float64(rows))
}

// AddQuarantined counts rows of a source a rule quarantined.
func (m *Metrics) AddQuarantined(source, rule string, rows int64) {
	if m == nil || rows <= 0 {
		return
	}
	m.RowsQuarantined.WithLabelValues(source, rule).Add(float64(rows))
}

// SetDrift sets the drift gauge of one model, feature and test.
func (m *Metrics) SetDrift(model, feature, test string, value float64) {
	if m == nil {
		return
	}
	m.Drift.WithLabelValues(model, feature, test).Set(value)
}

// SetModelMetric sets a model metric gauge.
func (m *Metrics) SetModelMetric(model, metric string, value float64) {
	if m == nil {
		return
	}
	m.ModelMetric.WithLabelValues(model, metric).Set(value)
}

// ObserveMove counts a move of the production alias by its kind
// ("promote" or "rollback", as registry.AliasMove.Kind); other moves and
// aliases are ignored. Call it from the registry's Auditor so every path
// (workflow, CLI through a worker, monitor) is counted once.
func (m *Metrics) ObserveMove(model, alias, kind, actor string) {
	if m == nil || alias != "production" {
		return
	}
	switch kind {
	case "promote":
		m.Promotions.WithLabelValues(model).Inc()
	case "rollback":
		m.Rollbacks.WithLabelValues(model, actor).Inc()
	}
}

// RetrainSucceeded records when a model's retrain last completed.
func (m *Metrics) RetrainSucceeded(model string, at time.Time) {
	if m == nil {
		return
	}
	m.LastRetrain.WithLabelValues(model).Set(float64(at.UnixNano()) / 1e9)
}
