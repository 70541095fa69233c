package report

import (
	"bytes"
	"errors"
	"fmt"
	"html/template"
	"image/color"
	"math"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgsvg"
)

// Colours of the charts: one for the model (or the current data), one for
// the reference, grey for baselines, and the two limit colours.
var (
	colModel     = color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff}
	colReference = color.RGBA{R: 0xff, G: 0x7f, B: 0x0e, A: 0xff}
	colBaseline  = color.RGBA{R: 0x88, G: 0x88, B: 0x88, A: 0xff}
	colWarn      = color.RGBA{R: 0xe0, G: 0xa0, B: 0x00, A: 0xff}
	colAct       = color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff}
)

// maxCurvePoints bounds the points drawn of a curve over the rows, so a
// large holdout does not make a report of megabytes; the curves are
// monotone in x, so evenly spaced points keep their shape.
const maxCurvePoints = 400

// newPlot returns a plot with the report's title and axis labels.
func newPlot(title, x, y string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = x
	p.Y.Label.Text = y
	p.Add(plotter.NewGrid())
	return p
}

// svgOf draws p as SVG of the given size in points, ready to inline in
// HTML: the XML declaration is dropped. Text inside is XML-escaped by the
// SVG writer, so names taken from data cannot inject markup.
func svgOf(p *plot.Plot, w, h vg.Length) (template.HTML, error) {
	c := vgsvg.New(w, h)
	p.Draw(draw.New(c))
	var b bytes.Buffer
	if _, err := c.WriteTo(&b); err != nil {
		return "", fmt.Errorf("write svg %q: %w", p.Title.Text, err)
	}
	s := b.String()
	i := strings.Index(s, "<svg")
	if i < 0 {
		return "", fmt.Errorf("write svg %q: no <svg> element", p.Title.Text)
	}
	s = strings.Replace(s[i:], "<svg ", `<svg role="img" aria-label="`+template.HTMLEscapeString(p.Title.Text)+`" `, 1)
	return template.HTML(s), nil
}

// thin returns at most n of the indexes 0..len-1, evenly spaced, always
// keeping the first and the last.
func thin(length, n int) []int {
	if length <= n {
		out := make([]int, length)
		for i := range out {
			out[i] = i
		}
		return out
	}
	out := make([]int, n)
	for k := range out {
		out[k] = int(math.Round(float64(k) * float64(length-1) / float64(n-1)))
	}
	return out
}

// xys pairs x and y, thinned to maxCurvePoints.
func xys(x, y []float64) plotter.XYs {
	idx := thin(len(x), maxCurvePoints)
	out := make(plotter.XYs, len(idx))
	for k, i := range idx {
		out[k] = plotter.XY{X: x[i], Y: y[i]}
	}
	return out
}

// line returns a solid (or dashed) line of pts in c.
func line(pts plotter.XYs, c color.Color, dashed bool) (*plotter.Line, error) {
	l, err := plotter.NewLine(pts)
	if err != nil {
		return nil, err
	}
	l.Color = c
	l.Width = vg.Points(1.5)
	if dashed {
		l.Width = vg.Points(1)
		l.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
	}
	return l, nil
}

// rocChart draws the ROC curve with the diagonal of random ranking.
func rocChart(fpr, tpr []float64, auc float64) (template.HTML, error) {
	p := newPlot(fmt.Sprintf("ROC curve (AUC %.4f)", auc), "false positive rate", "true positive rate")
	p.X.Min, p.X.Max, p.Y.Min, p.Y.Max = 0, 1, 0, 1
	curve, err := line(xys(fpr, tpr), colModel, false)
	if err != nil {
		return "", fmt.Errorf("roc chart: %w", err)
	}
	diag, err := line(plotter.XYs{{X: 0, Y: 0}, {X: 1, Y: 1}}, colBaseline, true)
	if err != nil {
		return "", fmt.Errorf("roc chart: %w", err)
	}
	p.Add(curve, diag)
	p.Legend.Add("model", curve)
	p.Legend.Add("random", diag)
	p.Legend.Top = false
	p.Legend.Left = false
	return svgOf(p, 320, 300)
}

// calibrationChart draws mean predicted probability against the observed
// rate per bin, with the diagonal of perfect calibration.
func calibrationChart(pred, obs []float64, ece float64) (template.HTML, error) {
	if len(pred) == 0 {
		return "", errors.New("calibration chart: no bins")
	}
	p := newPlot(fmt.Sprintf("Calibration by decile (ECE %.4f)", ece), "mean predicted probability", "observed rate")
	hi := 0.0
	for i := range pred {
		hi = math.Max(hi, math.Max(pred[i], obs[i]))
	}
	hi = math.Min(1, math.Ceil(hi*10+0.5)/10)
	p.X.Min, p.X.Max, p.Y.Min, p.Y.Max = 0, hi, 0, hi
	pts := xys(pred, obs)
	curve, err := line(pts, colModel, false)
	if err != nil {
		return "", fmt.Errorf("calibration chart: %w", err)
	}
	dots, err := plotter.NewScatter(pts)
	if err != nil {
		return "", fmt.Errorf("calibration chart: %w", err)
	}
	dots.Color = colModel
	diag, err := line(plotter.XYs{{X: 0, Y: 0}, {X: hi, Y: hi}}, colBaseline, true)
	if err != nil {
		return "", fmt.Errorf("calibration chart: %w", err)
	}
	p.Add(curve, dots, diag)
	p.Legend.Add("model", curve, dots)
	p.Legend.Add("perfect", diag)
	p.Legend.Top = true
	p.Legend.Left = true
	return svgOf(p, 320, 300)
}

// qiniChart draws the Qini curve of one arm with the line of random
// targeting from the origin to the curve's end.
func qiniChart(arm string, x, q []float64, coef float64) (template.HTML, error) {
	if len(x) < 2 {
		return "", errors.New("qini chart: fewer than two points")
	}
	p := newPlot(fmt.Sprintf("Qini curve, arm %s (Qini %.4f)", arm, coef), "rows targeted, highest predicted uplift first", "incremental responders")
	curve, err := line(xys(x, q), colModel, false)
	if err != nil {
		return "", fmt.Errorf("qini chart: %w", err)
	}
	n := len(x) - 1
	random, err := line(plotter.XYs{{X: 0, Y: 0}, {X: x[n], Y: q[n]}}, colBaseline, true)
	if err != nil {
		return "", fmt.Errorf("qini chart: %w", err)
	}
	p.Add(curve, random)
	p.Legend.Add("model", curve)
	p.Legend.Add("random", random)
	p.Legend.Top = true
	p.Legend.Left = true
	return svgOf(p, 360, 300)
}

// decileSeries is one arm's observed uplift per decile of predicted uplift.
type decileSeries struct {
	Arm    string
	Uplift []float64
}

// palette returns the i-th series colour.
func palette(i int) color.Color {
	cs := []color.Color{colModel, colReference, color.RGBA{R: 0x2c, G: 0xa0, B: 0x2c, A: 0xff},
		color.RGBA{R: 0x94, G: 0x67, B: 0xbd, A: 0xff}, color.RGBA{R: 0x8c, G: 0x56, B: 0x4b, A: 0xff}}
	return cs[i%len(cs)]
}

// groupedBars adds one bar series per values slice, side by side around
// each category, with a legend entry each.
func groupedBars(p *plot.Plot, names []string, values [][]float64, total vg.Length) error {
	width := total / vg.Length(max(1, len(values)))
	for i, v := range values {
		b, err := plotter.NewBarChart(plotter.Values(v), width)
		if err != nil {
			return err
		}
		b.Color = palette(i)
		b.LineStyle.Width = 0
		b.Offset = width * (vg.Length(i) - vg.Length(len(values)-1)/2)
		p.Add(b)
		p.Legend.Add(names[i], b)
	}
	return nil
}

// decileChart draws observed uplift per decile of predicted uplift, one
// bar series per arm.
func decileChart(series []decileSeries) (template.HTML, error) {
	if len(series) == 0 {
		return "", errors.New("decile chart: no arm")
	}
	p := newPlot("Observed uplift by decile of predicted uplift", "decile (1 = highest predicted uplift)", "treated rate − control rate")
	names := make([]string, len(series))
	values := make([][]float64, len(series))
	n := 0
	for i, s := range series {
		names[i], values[i] = s.Arm, s.Uplift
		n = max(n, len(s.Uplift))
	}
	if err := groupedBars(p, names, values, 24); err != nil {
		return "", fmt.Errorf("decile chart: %w", err)
	}
	labels := make([]string, n)
	for i := range labels {
		labels[i] = fmt.Sprint(i + 1)
	}
	p.NominalX(labels...)
	p.Legend.Top = true
	p.Legend.Left = false
	return svgOf(p, 420, 300)
}

// coefficientChart draws coefficients as horizontal bars, the first on top.
func coefficientChart(names []string, values []float64) (template.HTML, error) {
	if len(names) == 0 {
		return "", errors.New("coefficient chart: no coefficient")
	}
	p := newPlot("Largest coefficients (standardised features)", "coefficient", "")
	rev := make(plotter.Values, len(values))
	labels := make([]string, len(names))
	for i := range values {
		rev[len(values)-1-i] = values[i]
		labels[len(names)-1-i] = names[i]
	}
	b, err := plotter.NewBarChart(rev, 10)
	if err != nil {
		return "", fmt.Errorf("coefficient chart: %w", err)
	}
	b.Horizontal = true
	b.Color = colModel
	b.LineStyle.Width = 0
	p.Add(b)
	p.NominalY(labels...)
	return svgOf(p, 480, vg.Length(60+16*len(names)))
}

// distributionChart draws the reference and current shares of each bin of
// one feature.
func distributionChart(feature string, bins []string, ref, cur []float64) (template.HTML, error) {
	if len(bins) == 0 {
		return "", fmt.Errorf("distribution chart %s: no bins", feature)
	}
	p := newPlot(feature, "bin", "share of rows")
	if err := groupedBars(p, []string{"reference", "current"}, [][]float64{ref, cur}, 16); err != nil {
		return "", fmt.Errorf("distribution chart %s: %w", feature, err)
	}
	p.NominalX(bins...)
	if len(bins) > 6 {
		p.X.Tick.Label.Rotation = math.Pi / 5
		p.X.Tick.Label.XAlign = draw.XRight
		p.X.Tick.Label.YAlign = draw.YCenter
	}
	p.X.Label.Text = ""
	p.Y.Min = 0
	p.Legend.Top = true
	p.Legend.Left = false
	return svgOf(p, vg.Length(max(320, 40+36*len(bins))), 260)
}

// psiChart draws each feature's PSI as a horizontal bar with the warn and
// act limits as vertical lines.
func psiChart(features []string, psi []float64, warn, act float64) (template.HTML, error) {
	if len(features) == 0 {
		return "", errors.New("psi chart: no feature")
	}
	p := newPlot("Population stability index by feature", "PSI", "")
	rev := make(plotter.Values, len(psi))
	labels := make([]string, len(features))
	hi := act * 1.2
	for i := range psi {
		v := psi[i]
		if math.IsNaN(v) || math.IsInf(v, 0) {
			v = 0
		}
		rev[len(psi)-1-i] = v
		labels[len(features)-1-i] = features[i]
		hi = math.Max(hi, v*1.05)
	}
	b, err := plotter.NewBarChart(rev, 10)
	if err != nil {
		return "", fmt.Errorf("psi chart: %w", err)
	}
	b.Horizontal = true
	b.Color = colModel
	b.LineStyle.Width = 0
	p.Add(b)
	top := float64(len(features)) - 0.5
	for _, lim := range []struct {
		name string
		v    float64
		c    color.Color
	}{{"warn", warn, colWarn}, {"act", act, colAct}} {
		l, err := line(plotter.XYs{{X: lim.v, Y: -0.5}, {X: lim.v, Y: top}}, lim.c, true)
		if err != nil {
			return "", fmt.Errorf("psi chart: %w", err)
		}
		l.Width = vg.Points(1.5)
		p.Add(l)
		p.Legend.Add(fmt.Sprintf("%s %.2g", lim.name, lim.v), l)
	}
	p.X.Min, p.X.Max = 0, hi
	p.NominalY(labels...)
	p.Legend.Top = false
	p.Legend.Left = false
	return svgOf(p, 480, vg.Length(80+18*len(features)))
}
