package report

import (
	"cmp"
	"fmt"
	"html/template"
	"io"
	"math"
	"slices"
	"time"

	"github.com/promoflow/promoflow/gate"
	"github.com/promoflow/promoflow/learn"
	"github.com/promoflow/promoflow/registry"
	"github.com/promoflow/promoflow/store"
)

// Training is everything the training report of one version shows. Only
// Manifest and Model are required; a missing part is reported as missing.
type Training struct {
	Manifest *registry.Manifest
	Model    *learn.Model
	// Holdout are the version's metrics on the holdout rows (nil when they
	// could not be measured; HoldoutNote then says why).
	Holdout     *learn.Metrics
	HoldoutNote string
	// Rows are the holdout's labelled rows scored by the version, for the
	// ROC curve and, of uplift models, the Qini curve of every arm.
	Rows *gate.Paired
	// Verdict is the gate's verdict on the version; nil before judgement.
	Verdict *gate.Verdict
	// Days are the data-quality counts of the training window's days.
	Days []store.DayStatus
	// TopCoefficients is how many coefficients to show (default 20).
	TopCoefficients int
	// Nav are navigation links shown under the title (none in the stored
	// report.html).
	Nav []Link
}

// Link is one navigation link of a page.
type Link struct {
	Text string
	Href string
}

// metricRow is one line of the metrics table.
type metricRow struct {
	Name                string
	Holdout, Validation string
}

// coefRow is one coefficient of the propensity model.
type coefRow struct {
	Feature string
	Value   float64
	Corr    float64
}

// dayRow is one training day's data quality.
type dayRow struct {
	Day         string
	Files       int
	Rows        int64
	Clean       int64
	Quarantined int64
	Share       float64
	Cleaned     bool
	ByRule      string
}

// trainingView is what training.html renders.
type trainingView struct {
	Title       string
	Nav         []Link
	M           *registry.Manifest
	Settings    learn.Settings
	Metrics     []metricRow
	HoldoutNote string
	ROC         chartOrNote
	Calibration chartOrNote
	Uplift      bool
	Qini        []chartOrNote // one per arm
	Deciles     *chartOrNote
	Arms        []learn.ArmMetrics
	Coef        chartOrNote
	Coefs       []coefRow
	CoefTotal   int
	Dropped     []learn.DroppedFeature
	Days        []dayRow
	Verdict     *gate.Verdict
	Failed      []string
}

// WriteTraining renders the training report of t to w.
func WriteTraining(w io.Writer, t Training) error {
	if t.Manifest == nil || t.Model == nil {
		return fmt.Errorf("training report: manifest and model are required")
	}
	m := t.Manifest
	v := trainingView{
		Title:    title(fmt.Sprintf("%s v%d", m.Model, m.Version), "training report"),
		Nav:      t.Nav,
		M:        m,
		Settings: t.Model.Settings,
		Verdict:  t.Verdict,
	}
	v.Metrics = metricRows(t.Holdout, t.Model.Metrics, t.Model.Settings.ThresholdRule)
	v.HoldoutNote = t.HoldoutNote
	if t.Holdout == nil && v.HoldoutNote == "" {
		v.HoldoutNote = "holdout metrics were not measured"
	}
	v.ROC = chart(rocOf(t))
	v.Calibration = chart(calibrationOf(t))
	if t.Model.Uplift != nil {
		v.Uplift = true
		v.Qini = qiniCharts(t.Rows)
		if t.Holdout != nil {
			v.Arms = t.Holdout.Uplift
		}
		var series []decileSeries
		for _, a := range v.Arms {
			s := decileSeries{Arm: a.Arm}
			for _, d := range a.Deciles {
				s.Uplift = append(s.Uplift, d.Uplift)
			}
			series = append(series, s)
		}
		d := chart(decileChart(series))
		v.Deciles = &d
	}
	v.Coefs, v.CoefTotal = topCoefficients(t.Model, cmp.Or(t.TopCoefficients, 20))
	v.Dropped = t.Model.Dropped
	names := make([]string, len(v.Coefs))
	values := make([]float64, len(v.Coefs))
	for i, c := range v.Coefs {
		names[i], values[i] = c.Feature, c.Value
	}
	v.Coef = chart(coefficientChart(names, values))
	v.Days = dayRows(t.Days)
	if t.Verdict != nil {
		v.Failed = t.Verdict.Failed()
	}
	return execute(w, trainingTmpl, v)
}

// metricRows lists the headline metrics on the holdout and on the
// validation rows of the search.
func metricRows(holdout *learn.Metrics, validation learn.Metrics, rule string) []metricRow {
	type get func(m *learn.Metrics) string
	num := func(f func(m *learn.Metrics) float64) get { return func(m *learn.Metrics) string { return f4(f(m)) } }
	type def struct {
		name string
		f    get
	}
	rows := []def{
		{"rows", func(m *learn.Metrics) string { return fmt.Sprint(m.Rows) }},
		{"positive rate", func(m *learn.Metrics) string { return pct(m.PositiveRate) }},
		{"ROC-AUC", num(func(m *learn.Metrics) float64 { return m.ROCAUC })},
		{"PR-AUC", num(func(m *learn.Metrics) float64 { return m.PRAUC })},
		{"log loss", num(func(m *learn.Metrics) float64 { return m.LogLoss })},
		{"Brier", num(func(m *learn.Metrics) float64 { return m.Brier })},
		{"expected calibration error", num(func(m *learn.Metrics) float64 { return m.ECE })},
		{"threshold (" + cmp.Or(rule, learn.ThresholdFixed) + ")", num(func(m *learn.Metrics) float64 { return m.AtThreshold.Threshold })},
		{"accuracy", num(func(m *learn.Metrics) float64 { return m.AtThreshold.Accuracy })},
		{"precision", num(func(m *learn.Metrics) float64 { return m.AtThreshold.Precision })},
		{"recall", num(func(m *learn.Metrics) float64 { return m.AtThreshold.Recall })},
		{"F1", num(func(m *learn.Metrics) float64 { return m.AtThreshold.F1 })},
	}
	// topK reads field f of the k-th top-fraction metric, "–" when absent.
	topK := func(k int, f func(t learn.TopK) float64) get {
		return func(m *learn.Metrics) string {
			if k >= len(m.TopK) {
				return "–"
			}
			return f4(f(m.TopK[k]))
		}
	}
	for k, frac := range learn.TopKFractions {
		rows = append(rows,
			def{fmt.Sprintf("recall in the top %.0f %%", 100*frac), topK(k, func(t learn.TopK) float64 { return t.Recall })},
			def{fmt.Sprintf("lift in the top %.0f %%", 100*frac), topK(k, func(t learn.TopK) float64 { return t.Lift })})
	}
	out := make([]metricRow, len(rows))
	for i, r := range rows {
		out[i] = metricRow{Name: r.name, Holdout: "–", Validation: "–"}
		if holdout != nil {
			out[i].Holdout = r.f(holdout)
		}
		if validation.Rows > 0 {
			out[i].Validation = r.f(&validation)
		}
	}
	return out
}

// rocOf draws the ROC curve of the scored holdout rows.
func rocOf(t Training) (template.HTML, error) {
	if t.Rows == nil || len(t.Rows.Y) == 0 {
		return "", fmt.Errorf("no scored holdout rows")
	}
	fpr, tpr := learn.ROCCurve(t.Rows.Y, t.Rows.Challenger)
	return rocChart(fpr, tpr, learn.ROCAUC(t.Rows.Y, t.Rows.Challenger))
}

// calibrationOf draws the holdout's calibration bins.
func calibrationOf(t Training) (template.HTML, error) {
	if t.Holdout == nil || len(t.Holdout.Calibration) == 0 {
		return "", fmt.Errorf("no holdout calibration bins")
	}
	var pred, obs []float64
	for _, b := range t.Holdout.Calibration {
		pred = append(pred, b.MeanPredicted)
		obs = append(obs, b.ObservedRate)
	}
	return calibrationChart(pred, obs, t.Holdout.ECE)
}

// qiniCharts draws the Qini curve of every arm of the scored rows; rows
// of other arms take no part in an arm's curve.
func qiniCharts(r *gate.Paired) []chartOrNote {
	if r == nil || len(r.Arms) == 0 {
		return []chartOrNote{{Note: "no scored holdout rows with treatment"}}
	}
	out := make([]chartOrNote, len(r.Arms))
	for j, a := range r.Arms {
		var y, u []float64
		var treated []bool
		for i, tr := range a.Treated {
			if tr < 0 {
				continue
			}
			y = append(y, r.Y[i])
			u = append(u, a.ChallengerUplift[i])
			treated = append(treated, tr == 1)
		}
		x, q := learn.QiniCurve(y, u, treated)
		out[j] = chart(qiniChart(a.Arm, x, q, learn.QiniCoefficient(y, u, treated)))
	}
	return out
}

// topCoefficients returns the n propensity coefficients largest in
// absolute value, largest first (ties by feature name), and how many
// features there are.
func topCoefficients(m *learn.Model, n int) ([]coefRow, int) {
	if m.Propensity == nil || m.Pipeline == nil {
		return nil, 0
	}
	var rows []coefRow
	for i, c := range m.Propensity.Coef {
		r := coefRow{Feature: fmt.Sprintf("feature %d", i), Value: c, Corr: math.NaN()}
		if i < len(m.Pipeline.Features) {
			f := m.Pipeline.Features[i]
			r.Feature, r.Corr = f.Name, f.TargetCorr
		}
		rows = append(rows, r)
	}
	total := len(rows)
	slices.SortStableFunc(rows, func(a, b coefRow) int {
		return cmp.Or(cmp.Compare(math.Abs(b.Value), math.Abs(a.Value)), cmp.Compare(a.Feature, b.Feature))
	})
	return rows[:min(n, len(rows))], total
}

// dayRows orders the training days oldest first.
func dayRows(days []store.DayStatus) []dayRow {
	out := make([]dayRow, 0, len(days))
	for _, d := range days {
		r := dayRow{Day: d.Day.Format(time.DateOnly), Files: d.Files, Rows: d.Rows, Clean: d.Clean,
			Quarantined: d.Quarantined, Cleaned: d.Cleaned, Share: math.NaN()}
		if n := d.Clean + d.Quarantined; n > 0 {
			r.Share = float64(d.Quarantined) / float64(n)
		}
		rules := make([]string, 0, len(d.ByRule))
		for rule, n := range d.ByRule {
			rules = append(rules, fmt.Sprintf("%s %d", rule, n))
		}
		slices.Sort(rules)
		r.ByRule = joinOr(rules, "–")
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b dayRow) int { return cmp.Compare(a.Day, b.Day) })
	return out
}
