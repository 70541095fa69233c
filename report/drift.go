package report

import (
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"math"
	"slices"
	"time"

	"github.com/promoflow/promoflow/drift"
	"github.com/promoflow/promoflow/store"
)

// Drift is everything the drift report of one monitored day shows.
type Drift struct {
	Check    store.DriftCheck
	Features []store.DriftFeature
	// Limits draws the PSI warn and act lines; the zero value means
	// drift.DefaultConfig().
	Limits drift.Config
	// Nav are navigation links shown under the title (none in a stored
	// report).
	Nav []Link
}

// realised is the production version's metrics on the day's labels.
type realised struct {
	Rows                                     int
	AUC, LogLoss, ECE, ReferenceAUC, AUCDrop float64
}

// breach is one check over its rollback limit.
type breach struct {
	Check        string
	Value, Limit float64
}

// featureView is one feature's row and chart.
type featureView struct {
	store.DriftFeature
	KS    string
	KSP   string
	Chart chartOrNote
}

// driftView is what drift.html renders.
type driftView struct {
	Title    string
	Nav      []Link
	Check    store.DriftCheck
	Day      string
	Limits   drift.Config
	Realised *realised
	Breaches []breach
	PSI      chartOrNote
	Features []featureView
}

// WriteDrift renders the drift report of d to w.
func WriteDrift(w io.Writer, d Drift) error {
	c := d.Check
	lim := d.Limits
	if lim == (drift.Config{}) {
		lim = drift.DefaultConfig()
	}
	v := driftView{
		Title: title(c.Model, "drift on "+c.Day.Format(time.DateOnly)),
		Nav:   d.Nav, Check: c, Day: c.Day.Format(time.DateOnly), Limits: lim,
	}
	if len(c.Realised) > 0 && string(c.Realised) != "null" {
		var r realised
		if err := json.Unmarshal(c.Realised, &r); err != nil {
			return fmt.Errorf("drift report %s %s: decode realised metrics: %w", c.Model, v.Day, err)
		}
		v.Realised = &r
	}
	if len(c.Breaches) > 0 {
		if err := json.Unmarshal(c.Breaches, &v.Breaches); err != nil {
			return fmt.Errorf("drift report %s %s: decode breaches: %w", c.Model, v.Day, err)
		}
	}
	var names []string
	var psi []float64
	for _, f := range d.Features {
		fv := featureView{DriftFeature: f, KS: "–", KSP: "–"}
		if f.KSStat != nil {
			fv.KS = f4(*f.KSStat)
		}
		if f.KSP != nil {
			fv.KSP = fmt.Sprintf("%.3g", *f.KSP)
		}
		fv.Chart = chart(featureChart(f))
		v.Features = append(v.Features, fv)
		names = append(names, f.Feature)
		psi = append(psi, f.PSI)
	}
	v.PSI = chart(psiChart(names, psi, lim.PSIWarn, lim.PSIAct))
	return execute(w, driftTmpl, v)
}

// featureChart draws the reference and current shares of a feature's bins.
func featureChart(f store.DriftFeature) (svg template.HTML, err error) {
	var b drift.Bins
	if err := json.Unmarshal(f.Detail, &b); err != nil {
		return "", fmt.Errorf("decode bins of %s: %w", f.Feature, err)
	}
	if len(b.RefCounts) != len(b.CurCounts) {
		return "", fmt.Errorf("bins of %s: %d reference and %d current counts", f.Feature, len(b.RefCounts), len(b.CurCounts))
	}
	if b.RefRows == 0 && b.CurRows == 0 && slices.Max(append(b.RefCounts, 0)) == 0 && slices.Max(append(b.CurCounts, 0)) == 0 {
		return "", fmt.Errorf("%s has no rows to compare", f.Feature)
	}
	labels, err := binLabels(b)
	if err != nil {
		return "", fmt.Errorf("bins of %s: %w", f.Feature, err)
	}
	return distributionChart(f.Feature, labels, drift.Proportions(b.RefCounts), drift.Proportions(b.CurCounts))
}

// binLabels names the bins: level names of a categorical feature, and for
// a numeric one the right-closed intervals of its upper edges (the last
// bin is open).
func binLabels(b drift.Bins) ([]string, error) {
	n := len(b.RefCounts)
	if len(b.Levels) > 0 {
		if len(b.Levels) != n {
			return nil, fmt.Errorf("%d levels for %d counts", len(b.Levels), n)
		}
		return b.Levels, nil
	}
	if len(b.Edges)+1 != n {
		return nil, fmt.Errorf("%d edges for %d counts", len(b.Edges), n)
	}
	out := make([]string, n)
	for i := range out {
		switch {
		case n == 1:
			out[i] = "all"
		case i == 0:
			out[i] = "≤ " + short(b.Edges[0])
		case i == n-1:
			out[i] = "> " + short(b.Edges[n-2])
		default:
			out[i] = "(" + short(b.Edges[i-1]) + ", " + short(b.Edges[i]) + "]"
		}
	}
	return out, nil
}

// short formats a bin edge compactly.
func short(v float64) string {
	if math.Abs(v) >= 1e5 || (v != 0 && math.Abs(v) < 1e-3) {
		return fmt.Sprintf("%.3g", v)
	}
	return fmt.Sprintf("%.4g", v)
}
