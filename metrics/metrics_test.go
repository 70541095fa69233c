package metrics

import (
	"errors"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"go.temporal.io/sdk/client"
)

func TestMetricsRecord(t *testing.T) {
	m := New(prometheus.NewRegistry())
	m.ObserveActivity("TrainModel", time.Second, nil)
	m.ObserveActivity("TrainModel", time.Second, errors.New("boom"))
	m.AddIngested("web", 10)
	m.AddQuarantined("web", "range", 2)
	m.ObserveMove("m1", "production", "promote", "schedule")
	m.ObserveMove("m1", "production", "rollback", "monitor")
	m.ObserveMove("m1", "previous", "move", "schedule")
	m.RetrainSucceeded("m1", time.Unix(1700000000, 0))
	for _, tc := range []struct {
		name string
		c    prometheus.Collector
		want float64
	}{
		{"failures", m.ActivityFailures.WithLabelValues("TrainModel"), 1},
		{"ingested", m.RowsIngested.WithLabelValues("web"), 10},
		{"quarantined", m.RowsQuarantined.WithLabelValues("web", "range"), 2},
		{"promotions", m.Promotions.WithLabelValues("m1"), 1},
		{"rollbacks", m.Rollbacks.WithLabelValues("m1", "monitor"), 1},
		{"last retrain", m.LastRetrain.WithLabelValues("m1"), 1700000000},
	} {
		if got := value(t, tc.c); got != tc.want {
			t.Errorf("%s: got %g, want %g", tc.name, got, tc.want)
		}
	}
	if got := value(t, m.ActivityDuration.WithLabelValues("TrainModel").(prometheus.Histogram)); got != 2 {
		t.Errorf("duration observations: got %g, want 2", got)
	}
	var nilM *Metrics
	nilM.SetDrift("m", "f", "psi", 1) // must not panic
}

func TestTemporalHandler(t *testing.T) {
	reg := prometheus.NewRegistry()
	var h client.MetricsHandler = NewTemporalHandler(reg)
	tq := h.WithTags(map[string]string{"task_queue": "q"})
	tq.Counter("temporal_request").Inc(2)
	tq.Counter("temporal_request").Inc(1)
	tq.Gauge("temporal_sticky_cache_size").Update(7)
	tq.Timer("temporal_request_latency").Record(time.Second)
	// same name, other keys: dropped, not a panic
	h.WithTags(map[string]string{"other": "x"}).Counter("temporal_request").Inc(5)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, mf := range mfs {
		for _, mt := range mf.Metric {
			switch {
			case mt.Counter != nil:
				got[mf.GetName()] += mt.Counter.GetValue()
			case mt.Gauge != nil:
				got[mf.GetName()] += mt.Gauge.GetValue()
			case mt.Histogram != nil:
				got[mf.GetName()] += float64(mt.Histogram.GetSampleCount())
			}
		}
	}
	for name, want := range map[string]float64{"temporal_request": 3, "temporal_sticky_cache_size": 7, "temporal_request_latency_seconds": 1} {
		if got[name] != want {
			t.Errorf("%s: got %g, want %g (all %v)", name, got[name], want, got)
		}
	}
}

// value reads a single counter or gauge, or a histogram's sample count.
func value(t *testing.T, c prometheus.Collector) float64 {
	t.Helper()
	ch := make(chan prometheus.Metric, 1)
	c.Collect(ch)
	var m dto.Metric
	if err := (<-ch).Write(&m); err != nil {
		t.Fatal(err)
	}
	switch {
	case m.Counter != nil:
		return m.Counter.GetValue()
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	case m.Histogram != nil:
		return float64(m.Histogram.GetSampleCount())
	}
	return 0
}
