package learn

import (
	"errors"
	"fmt"
	"math"

	"github.com/promoflow/promoflow/dataset"
	"github.com/promoflow/promoflow/schema"
)

// Model is a trained propensity model, optionally with a two-model uplift
// learner, and everything needed to score new rows exactly as the training
// rows were transformed.
type Model struct {
	FormatVersion int           `json:"format_version"`
	Schema        schema.Schema `json:"schema"`
	Pipeline      *Pipeline     `json:"pipeline"`
	// Propensity predicts P(target = positive) from the features, fitted
	// on all labelled rows whatever their treatment.
	Propensity *LogReg `json:"propensity"`
	// Uplift is nil unless the schema has a treatment column.
	Uplift   *UpliftModel   `json:"uplift,omitempty"`
	Settings Settings       `json:"settings"`
	Search   []SearchResult `json:"search,omitempty"`
	// Metrics are those of the chosen setting on the validation rows
	// after a search (On = "validation") and empty otherwise, until the
	// caller stores metrics measured on held-out rows (see Evaluate).
	Metrics Metrics `json:"metrics"`
	// Dropped lists, in feature order, every feature Pearson selection
	// dropped and why; their coefficients are zero. Model files written
	// before it existed leave it empty.
	Dropped []DroppedFeature `json:"dropped_features"`
	// Fingerprint is the sha256 of the training table (see Fingerprint).
	Fingerprint string `json:"fingerprint"`
	Seed        int64  `json:"seed"`
	Rows        int    `json:"rows"` // labelled training rows
}

// DroppedFeature says why Pearson selection dropped a feature: Reason
// DropWeak when its |TargetCorr| is below the selection threshold, or
// DropCollinear when its |PairCorr| with the stronger kept feature With is
// above the correlation limit.
type DroppedFeature struct {
	Feature    string  `json:"feature"`
	Reason     string  `json:"reason"`
	TargetCorr float64 `json:"target_corr"`
	With       string  `json:"with,omitempty"`
	PairCorr   float64 `json:"pair_corr,omitempty"`
}

// UpliftModel is the T-learner: one regression on control rows and one per
// treatment arm; an arm's uplift is p_arm(x) − p_control(x).
type UpliftModel struct {
	Treatment    string     `json:"treatment"`
	Control      string     `json:"control"`
	ControlModel *LogReg    `json:"control_model"`
	Arms         []ArmModel `json:"arms"`
}

// ArmModel is the response model of one treatment arm.
type ArmModel struct {
	Arm   string  `json:"arm"`
	Model *LogReg `json:"model"`
}

// Score is a model's prediction for one row.
type Score struct {
	Propensity float64 `json:"propensity"`
	// Uplift maps each treatment arm to its predicted uplift over control;
	// nil when the model has no uplift part.
	Uplift map[string]float64 `json:"uplift,omitempty"`
}

// Score predicts one row given as column name to raw value; missing keys
// are missing values.
func (m *Model) Score(row map[string]string) (Score, error) {
	pd, nc, _ := m.Pipeline.shape()
	x := make([]float64, pd)
	cat := make([]int32, nc)
	if err := m.Pipeline.transformRow(row, x, cat); err != nil {
		return Score{}, fmt.Errorf("score: %w", err)
	}
	return m.score(x, cat), nil
}

// score predicts one transformed row.
func (m *Model) score(x []float64, cat []int32) Score {
	s := Score{Propensity: m.Propensity.prob(x, cat)}
	if m.Uplift != nil {
		pc := m.Uplift.ControlModel.prob(x, cat)
		s.Uplift = make(map[string]float64, len(m.Uplift.Arms))
		for _, a := range m.Uplift.Arms {
			s.Uplift[a.Arm] = a.Model.prob(x, cat) - pc
		}
	}
	return s
}

// ScoreTable predicts every row of tbl, row chunks in parallel, straight
// from the cells without building a design matrix.
func (m *Model) ScoreTable(tbl *dataset.Table) ([]Score, error) {
	rp, err := m.Pipeline.planRows(tbl)
	if err != nil {
		return nil, fmt.Errorf("score table: %w", err)
	}
	pd, nc, _ := m.Pipeline.shape()
	n := len(tbl.Rows)
	out := make([]Score, n)
	chunk := rowsPerChunk(n)
	nchunks := (n + chunk - 1) / chunk
	errs := make([]error, nchunks)
	sinks := make([]int, nchunks) // see rowToucher
	parallelFor(nchunks, func(ch int) {
		x := make([]float64, pd)
		cat := make([]int32, nc)
		lo, hi := ch*chunk, min(n, (ch+1)*chunk)
		rt := rowToucher{rows: tbl.Rows, cols: rp.cells}
		for i := lo; i < hi; i++ {
			rt.at(i, lo, hi)
			if err := rp.row(tbl.Rows[i], x, cat); err != nil {
				errs[ch] = fmt.Errorf("data row %d, %w", i+1, err)
				return
			}
			out[i] = m.score(x, cat)
		}
		sinks[ch] = rt.sum
	})
	if err := firstError(errs); err != nil {
		return nil, fmt.Errorf("score table: %w", err)
	}
	return out, nil
}

// armUplift returns per model arm the predicted uplift of d's rows.
func (m *Model) armUplift(d *design) [][]float64 {
	f := &fitted{control: m.Uplift.ControlModel}
	for _, a := range m.Uplift.Arms {
		f.arms = append(f.arms, a.Model)
	}
	return f.uplift(d)
}

// Metrics measures a model on labelled rows.
type Metrics struct {
	// On says which rows: "training", "validation" or "test".
	On           string  `json:"on"`
	Rows         int     `json:"rows"`
	Positives    int     `json:"positives"`
	PositiveRate float64 `json:"positive_rate"`
	ROCAUC       float64 `json:"roc_auc"`
	PRAUC        float64 `json:"pr_auc"` // average precision
	LogLoss      float64 `json:"log_loss"`
	Brier        float64 `json:"brier"`
	// AtThreshold holds accuracy, precision, recall and F1 at the model's
	// decision threshold.
	AtThreshold Confusion `json:"at_threshold"`
	// TopK measures the top 10, 20 and 30 % of rows by probability.
	TopK []TopK `json:"top_k"`
	// Calibration is by decile of predicted probability; ECE is the
	// expected calibration error over those deciles.
	Calibration []CalibrationBin `json:"calibration"`
	ECE         float64          `json:"ece"`
	// Uplift holds one entry per treatment arm of an uplift model.
	Uplift []ArmMetrics `json:"uplift,omitempty"`
}

// ArmMetrics measures one treatment arm against control.
type ArmMetrics struct {
	Arm     string `json:"arm"`
	Treated int    `json:"treated"`
	Control int    `json:"control"`
	// ObservedUplift is the treated response rate minus the control rate;
	// PredictedUplift the mean predicted uplift over the same rows.
	ObservedUplift  float64     `json:"observed_uplift"`
	PredictedUplift float64     `json:"predicted_uplift"`
	Qini            float64     `json:"qini"`
	UpliftAtK       []TopUplift `json:"uplift_at_k"`
	Deciles         []UpliftBin `json:"deciles"`
}

// TopUplift is the observed uplift in the top Fraction of rows.
type TopUplift struct {
	Fraction float64 `json:"fraction"`
	Uplift   float64 `json:"uplift"`
}

// upliftFractions are the k of the reported uplift@k.
var upliftFractions = []float64{0.1, 0.2, 0.3, 0.5}

// computeMetrics measures predictions p (and per-arm uplift u) against lb.
func computeMetrics(lb *labelled, p []float64, u [][]float64, threshold float64) Metrics {
	m := Metrics{Rows: len(p)}
	for _, y := range lb.y {
		if y == 1 {
			m.Positives++
		}
	}
	m.PositiveRate = ratio(m.Positives, m.Rows)
	m.ROCAUC = ROCAUC(lb.y, p)
	m.PRAUC = AveragePrecision(lb.y, p)
	m.LogLoss = LogLoss(lb.y, p)
	m.Brier = Brier(lb.y, p)
	m.AtThreshold = AtThreshold(lb.y, p, threshold)
	for _, k := range TopKFractions {
		m.TopK = append(m.TopK, AtTopK(lb.y, p, k))
	}
	m.Calibration, m.ECE = Calibration(lb.y, p, 10)
	for a, name := range lb.arms {
		if u == nil || u[a] == nil {
			continue
		}
		y, up, treated := armRows(lb, a, u[a])
		am := ArmMetrics{Arm: name}
		var yt, yc float64
		for i, t := range treated {
			if t {
				am.Treated++
				yt += y[i]
			} else {
				am.Control++
				yc += y[i]
			}
		}
		if am.Treated == 0 || am.Control == 0 {
			continue
		}
		am.ObservedUplift = yt/float64(am.Treated) - yc/float64(am.Control)
		am.PredictedUplift = sum(up) / float64(len(up))
		am.Qini = QiniCoefficient(y, up, treated)
		for _, k := range upliftFractions {
			am.UpliftAtK = append(am.UpliftAtK, TopUplift{Fraction: k, Uplift: UpliftAtK(y, up, treated, k)})
		}
		am.Deciles = UpliftByBin(y, up, treated, 10)
		m.Uplift = append(m.Uplift, am)
	}
	return m
}

// Evaluate measures m on the labelled rows of tbl (rows with a non-empty
// target): ROC-AUC, PR-AUC, log loss, Brier, threshold metrics and
// calibration of the propensity, and for an uplift model the Qini
// coefficient, uplift@k and uplift by decile of each arm it knows.
func Evaluate(m *Model, tbl *dataset.Table) (Metrics, error) {
	sc, err := scanTable(tbl, m.Schema, scanOptions{features: true})
	if err != nil {
		return Metrics{}, fmt.Errorf("evaluate: %w", err)
	}
	lb := sc.lb
	if n1 := sum(lb.y); n1 == 0 || n1 == float64(len(lb.y)) {
		return Metrics{}, fmt.Errorf("evaluate: %d labelled rows hold a single class; ROC-AUC is undefined", len(lb.y))
	}
	d, err := m.Pipeline.transformColumns(sc.cols, nil)
	if err != nil {
		return Metrics{}, fmt.Errorf("evaluate: %w", err)
	}
	p := m.Propensity.predict(d)
	var u [][]float64
	if m.Uplift != nil && lb.arm != nil {
		// Map the data's arms onto the model's; rows of arms the model
		// does not know take no part in the uplift metrics.
		modelArm := map[string]int{}
		for a, am := range m.Uplift.Arms {
			modelArm[am.Arm] = a
		}
		for i, a := range lb.arm {
			if a >= 0 {
				if k, ok := modelArm[lb.arms[a]]; ok {
					lb.arm[i] = k
				} else {
					lb.arm[i] = -2
				}
			}
		}
		lb.arms = make([]string, len(m.Uplift.Arms))
		for a, am := range m.Uplift.Arms {
			lb.arms[a] = am.Arm
		}
		u = m.armUplift(d)
	}
	met := computeMetrics(lb, p, u, m.Settings.Threshold)
	if math.IsNaN(met.ROCAUC) {
		return Metrics{}, errors.New("evaluate: ROC-AUC is undefined")
	}
	return met, nil
}

// Why says in one line why the feature was dropped, e.g. "weak: r with the
// target 0.0042" or "collinear with history (r 0.9710; r with the target
// 0.0210)".
func (d DroppedFeature) Why() string {
	if d.Reason == DropCollinear {
		return fmt.Sprintf("collinear with %s (r %.4f; r with the target %.4f)", d.With, d.PairCorr, d.TargetCorr)
	}
	return fmt.Sprintf("weak: r with the target %.4f", d.TargetCorr)
}
