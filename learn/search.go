package learn

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Metric names for model selection. Accuracy, recall and F1 are taken at
// the threshold the rule chooses for each setting on validation.
const (
	MetricROCAUC   = "roc_auc"
	MetricPRAUC    = "pr_auc"
	MetricLogLoss  = "log_loss"
	MetricBrier    = "brier"
	MetricAccuracy = "accuracy"
	MetricRecall   = "recall"
	MetricF1       = "f1"
	MetricQini     = "qini" // mean Qini coefficient over arms; uplift models only
	// MetricRecallAtPrefix followed by an integer K in 1..99, e.g.
	// "recall_at_20", is the recall among the top K % of rows by
	// probability.
	MetricRecallAtPrefix = "recall_at_"
)

// ValidMetric reports whether name is a selection metric Train accepts;
// uplift says whether the data has a treatment column (qini needs one).
// The empty name is the default, roc_auc.
func ValidMetric(name string, uplift bool) error {
	switch name {
	case "", MetricROCAUC, MetricPRAUC, MetricLogLoss, MetricBrier, MetricAccuracy, MetricRecall, MetricF1:
		return nil
	case MetricQini:
		if !uplift {
			return errors.New("metric qini needs a treatment column")
		}
		return nil
	}
	if _, ok := recallAtFraction(name); ok {
		return nil
	}
	return fmt.Errorf("unknown metric %q (want %s, %s, %s, %s, %s, %s, %s, %s or %sK with K in 1..99)", name,
		MetricROCAUC, MetricPRAUC, MetricLogLoss, MetricBrier, MetricAccuracy, MetricRecall, MetricF1, MetricQini, MetricRecallAtPrefix)
}

// recallAtFraction parses "recall_at_K" into K/100.
func recallAtFraction(name string) (float64, bool) {
	rest, ok := strings.CutPrefix(name, MetricRecallAtPrefix)
	if !ok {
		return 0, false
	}
	k, err := strconv.Atoi(rest)
	if err != nil || k < 1 || k > 99 || strconv.Itoa(k) != rest {
		return 0, false
	}
	return float64(k) / 100, true
}

// metricScore returns the value of metric on a validation set, oriented
// so that higher is better; threshold is the setting's decision threshold.
func metricScore(metric string, y, p []float64, threshold float64, lb *labelled, u [][]float64) float64 {
	switch metric {
	case MetricPRAUC:
		return AveragePrecision(y, p)
	case MetricLogLoss:
		return -LogLoss(y, p)
	case MetricBrier:
		return -Brier(y, p)
	case MetricAccuracy:
		return AtThreshold(y, p, threshold).Accuracy
	case MetricRecall:
		return AtThreshold(y, p, threshold).Recall
	case MetricF1:
		return AtThreshold(y, p, threshold).F1
	case MetricQini:
		var s float64
		for a := range lb.arms {
			yy, uu, tt := armRows(lb, a, u[a])
			s += QiniCoefficient(yy, uu, tt)
		}
		return s / float64(len(lb.arms))
	}
	if k, ok := recallAtFraction(metric); ok {
		return AtTopK(y, p, k).Recall
	}
	return ROCAUC(y, p)
}

// armRows picks the rows of arm a and of control with their labels and
// predicted uplift.
func armRows(lb *labelled, a int, u []float64) (y, up []float64, treated []bool) {
	for i, g := range lb.arm {
		if g == a || g == -1 {
			y = append(y, lb.y[i])
			up = append(up, u[i])
			treated = append(treated, g == a)
		}
	}
	return y, up, treated
}

// search scores every grid point on a validation split and returns the
// best setting, with the decision threshold its rule chose there, all
// scores and its validation metrics (taken at that threshold).
func search(cols *columns, lb *labelled, cfg TrainConfig, grid []Settings) (Settings, []SearchResult, Metrics, error) {
	trPos, vaPos := StratifiedSplit(lb.strata(), cfg.ValidationFraction, cfg.Seed)
	if len(trPos) == 0 || len(vaPos) == 0 {
		return Settings{}, nil, Metrics{}, fmt.Errorf("model selection: %d labelled rows are too few to split", len(lb.y))
	}
	tr, va := lb.subset(trPos), lb.subset(vaPos)
	if n1 := sum(va.y); n1 == 0 || n1 == float64(len(va.y)) {
		return Settings{}, nil, Metrics{}, fmt.Errorf("model selection: validation split has a single class")
	}
	pl, d, err := fitPipeline(cols, trPos, cfg.Impute)
	if err != nil {
		return Settings{}, nil, Metrics{}, err
	}
	dv, err := pl.transformColumns(cols, vaPos)
	if err != nil {
		return Settings{}, nil, Metrics{}, err
	}
	corr := newCorrelations(d, tr.y)
	withArms := cfg.Metric == MetricQini
	results := make([]SearchResult, 0, len(grid))
	bestIdx, bestScore := -1, math.Inf(-1)
	var bestP []float64
	var bestU [][]float64
	for i, s := range grid {
		f, err := fitSetting(d, corr, tr, s, withArms)
		if err != nil {
			return Settings{}, nil, Metrics{}, fmt.Errorf("setting C=%g class weight %v threshold %g: %w", s.C, s.ClassWeight, s.SelectThreshold, err)
		}
		p := f.propensity.predict(dv)
		var u [][]float64
		if withArms {
			u = f.uplift(dv)
		}
		s.Threshold = ChooseThreshold(va.y, p, cfg.Threshold)
		sc := metricScore(cfg.Metric, va.y, p, s.Threshold, va, u)
		nsel := 0
		for _, a := range f.active {
			if a {
				nsel++
			}
		}
		results = append(results, SearchResult{Settings: s, Metric: cfg.Metric, Score: orient(cfg.Metric, sc), Features: nsel})
		if bestIdx < 0 || sc > bestScore {
			bestIdx, bestScore, bestP, bestU = i, sc, p, u
		}
	}
	best := results[bestIdx].Settings
	met := computeMetrics(va, bestP, bestU, best.Threshold)
	met.On = "validation"
	return best, results, met, nil
}

// orient turns a higher-is-better score into the metric's own value.
func orient(metric string, s float64) float64 {
	if metric == MetricLogLoss || metric == MetricBrier {
		return -s
	}
	return s
}
