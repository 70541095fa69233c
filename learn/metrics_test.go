package learn

import (
	"math"
	"slices"
	"testing"
)

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol }

func TestROCAUC(t *testing.T) {
	tests := []struct {
		name string
		y, p []float64
		want float64
	}{
		// Pairs (pos, neg): (0.8,0.1) (0.8,0.4) (0.35,0.1) (0.35,0.4):
		// 3 of 4 ordered correctly.
		{"no ties", []float64{0, 0, 1, 1}, []float64{0.1, 0.4, 0.35, 0.8}, 0.75},
		// A tied pair counts 1/2: pairs (0.5 vs 0.5)=.5, (0.5 vs 0.2)=1,
		// (0.9 vs 0.5)=1, (0.9 vs 0.2)=1 → 3.5/4.
		{"tie counts half", []float64{1, 0, 1, 0}, []float64{0.5, 0.5, 0.9, 0.2}, 0.875},
		{"all tied", []float64{1, 0, 1, 0}, []float64{0.3, 0.3, 0.3, 0.3}, 0.5},
		{"perfect", []float64{0, 1}, []float64{0.2, 0.9}, 1},
		{"reversed", []float64{1, 0}, []float64{0.2, 0.9}, 0},
	}
	for _, tc := range tests {
		if got := ROCAUC(tc.y, tc.p); !near(got, tc.want, 1e-12) {
			t.Errorf("%s: ROCAUC = %v, want %v", tc.name, got, tc.want)
		}
	}
	if got := ROCAUC([]float64{1, 1}, []float64{0.1, 0.2}); !math.IsNaN(got) {
		t.Errorf("one class: ROCAUC = %v, want NaN", got)
	}
}

func TestAveragePrecision(t *testing.T) {
	tests := []struct {
		name string
		y, p []float64
		want float64
	}{
		// scikit-learn docs example: average_precision_score([0,0,1,1],
		// [0.1,0.4,0.35,0.8]) = 0.8333...: thresholds 0.8 (P=1, R=.5),
		// 0.4 (P=.5, R=.5), 0.35 (P=2/3, R=1) → .5·1 + 0 + .5·2/3.
		{"sklearn example", []float64{0, 0, 1, 1}, []float64{0.1, 0.4, 0.35, 0.8}, 5.0 / 6},
		// All tied: one threshold, P = 2/4, R = 1 → 0.5.
		{"all tied", []float64{1, 0, 1, 0}, []float64{0.3, 0.3, 0.3, 0.3}, 0.5},
	}
	for _, tc := range tests {
		if got := AveragePrecision(tc.y, tc.p); !near(got, tc.want, 1e-12) {
			t.Errorf("%s: AveragePrecision = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestLossesAndThreshold(t *testing.T) {
	y := []float64{1, 0, 1, 0}
	p := []float64{0.9, 0.2, 0.4, 0.6}
	// −(ln .9 + ln .8 + ln .4 + ln .4)/4
	wantLL := -(math.Log(0.9) + math.Log(0.8) + math.Log(0.4) + math.Log(0.4)) / 4
	if got := LogLoss(y, p); !near(got, wantLL, 1e-12) {
		t.Errorf("LogLoss = %v, want %v", got, wantLL)
	}
	// (.01 + .04 + .36 + .36)/4
	if got := Brier(y, p); !near(got, 0.1925, 1e-12) {
		t.Errorf("Brier = %v, want 0.1925", got)
	}
	// p >= .5: rows 0 (TP) and 3 (FP); row 2 FN, row 1 TN.
	c := AtThreshold(y, p, 0.5)
	if c.TP != 1 || c.FP != 1 || c.FN != 1 || c.TN != 1 {
		t.Fatalf("confusion = %+v, want one of each", c)
	}
	if !near(c.Accuracy, 0.5, 1e-12) || !near(c.Precision, 0.5, 1e-12) || !near(c.Recall, 0.5, 1e-12) || !near(c.F1, 0.5, 1e-12) {
		t.Errorf("rates = %+v, want 0.5 each", c)
	}
	if got := LogLoss([]float64{1}, []float64{0}); !near(got, -math.Log(1e-15), 1e-9) {
		t.Errorf("LogLoss of a certain miss = %v, want clipped %v", got, -math.Log(1e-15))
	}
}

func TestCalibration(t *testing.T) {
	// Sorted by p: bin 1 = {.1 (y0), .2 (y1)}, bin 2 = {.7 (y1), .9 (y1)}.
	y := []float64{1, 1, 0, 1}
	p := []float64{0.2, 0.9, 0.1, 0.7}
	bins, ece := Calibration(y, p, 2)
	if len(bins) != 2 {
		t.Fatalf("%d bins, want 2", len(bins))
	}
	if !near(bins[0].MeanPredicted, 0.15, 1e-12) || !near(bins[0].ObservedRate, 0.5, 1e-12) {
		t.Errorf("bin 1 = %+v, want mean .15 observed .5", bins[0])
	}
	if !near(bins[1].MeanPredicted, 0.8, 1e-12) || !near(bins[1].ObservedRate, 1, 1e-12) {
		t.Errorf("bin 2 = %+v, want mean .8 observed 1", bins[1])
	}
	// ECE = ½·|.5−.15| + ½·|1−.8| = .175 + .1
	if !near(ece, 0.275, 1e-12) {
		t.Errorf("ECE = %v, want 0.275", ece)
	}
}

func TestQini(t *testing.T) {
	// Rows by predicted uplift: T responder, T non-responder, C responder,
	// C non-responder.
	y := []float64{1, 0, 1, 0}
	tr := []bool{true, true, false, false}
	u := []float64{0.4, 0.3, 0.2, 0.1}
	// Qini points q = Y_t − Y_c·N_t/N_c after each row:
	// k=1: 1 (N_c = 0); k=2: 1; k=3: 1 − 1·2/1 = −1; k=4: 1 − 1·2/2 = 0.
	x, q := QiniCurve(y, u, tr)
	wantX, wantQ := []float64{0, 1, 2, 3, 4}, []float64{0, 1, 1, -1, 0}
	for i := range wantX {
		if x[i] != wantX[i] || !near(q[i], wantQ[i], 1e-12) {
			t.Fatalf("Qini curve = %v %v, want %v %v", x, q, wantX, wantQ)
		}
	}
	// Area (trapezoids) = .5 + 1 + 0 − .5 = 1; random line ends at 0, area
	// 0. Perfect order: T responder (1), then the two zeros tied, then the
	// C responder: points (1, 1), (3, 1 − 0·2/1 = 1), (4, 0): area
	// .5 + 2 + .5 = 3. Qini coefficient = (1 − 0)/(3 − 0) = 1/3.
	if got := QiniCoefficient(y, u, tr); !near(got, 1.0/3, 1e-12) {
		t.Errorf("QiniCoefficient = %v, want 1/3", got)
	}
	// Ties in u: one group of all rows → the curve goes straight from
	// (0,0) to (4,0), area 0 → coefficient 0.
	if got := QiniCoefficient(y, []float64{1, 1, 1, 1}, tr); !near(got, 0, 1e-12) {
		t.Errorf("QiniCoefficient with all ties = %v, want 0", got)
	}
}

func TestUpliftAtKAndBins(t *testing.T) {
	y := []float64{1, 1, 0, 0, 1, 0}
	tr := []bool{true, false, false, true, true, false}
	u := []float64{0.9, 0.1, 0.8, 0.2, 0.5, 0.4}
	tests := []struct {
		k, want float64
	}{
		// Top 3 by u: rows 0 (T,1), 2 (C,0), 4 (T,1): 2/2 − 0/1 = 1.
		{0.5, 1},
		// Top 4 adds row 5 (C,0): 2/2 − 0/2 = 1.
		{4.0 / 6, 1},
		// All rows: treated 0,3,4 → 2/3; control 1,2,5 → 1/3.
		{1, 1.0 / 3},
	}
	for _, tc := range tests {
		if got := UpliftAtK(y, u, tr, tc.k); !near(got, tc.want, 1e-12) {
			t.Errorf("UpliftAtK(%v) = %v, want %v", tc.k, got, tc.want)
		}
	}
	// Bins of 2 by u: {0 (T1), 2 (C0)}, {4 (T1), 5 (C0)}, {3 (T0), 1 (C1)}.
	bins := UpliftByBin(y, u, tr, 3)
	want := []float64{1, 1, -1}
	for i, b := range bins {
		if !near(b.Uplift, want[i], 1e-12) || b.Treated != 1 || b.Control != 1 {
			t.Errorf("bin %d = %+v, want uplift %v with 1 treated and 1 control", i, b, want[i])
		}
	}
}

func TestROCCurve(t *testing.T) {
	tests := []struct {
		name     string
		y, p     []float64
		fpr, tpr []float64
	}{
		// Ranked 0.9(+) 0.8(−) 0.7(+) 0.1(−): after each row the rates are
		// (0, ½), (½, ½), (½, 1), (1, 1).
		{"distinct", []float64{1, 0, 1, 0}, []float64{0.9, 0.8, 0.7, 0.1}, []float64{0, 0, 0.5, 0.5, 1}, []float64{0, 0.5, 0.5, 1, 1}},
		// A tie of one positive and one negative moves diagonally at once.
		{"tied", []float64{1, 0, 0}, []float64{0.5, 0.5, 0.2}, []float64{0, 0.5, 1}, []float64{0, 1, 1}},
		{"one class", []float64{1, 1}, []float64{0.3, 0.6}, []float64{0, 0, 0}, []float64{0, 0.5, 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fpr, tpr := ROCCurve(tt.y, tt.p)
			if !slices.Equal(fpr, tt.fpr) || !slices.Equal(tpr, tt.tpr) {
				t.Errorf("ROCCurve = %v, %v; want %v, %v", fpr, tpr, tt.fpr, tt.tpr)
			}
		})
	}
}

func TestAtTopK(t *testing.T) {
	tests := []struct {
		name string
		y, p []float64
		k    float64
		want TopK
	}{
		// thresholdRows: the top 1 row (0.9) is positive; 5 of 10 rows are.
		{"top 10%", thresholdY, thresholdP, 0.1, TopK{Fraction: 0.1, Recall: 0.2, Precision: 1, Lift: 2}},
		// 0.9, 0.8, 0.7 are all positive.
		{"top 30%", thresholdY, thresholdP, 0.3, TopK{Fraction: 0.3, Recall: 0.6, Precision: 1, Lift: 2}},
		// 0.9 … 0.5: three positives of five rows.
		{"top 50%", thresholdY, thresholdP, 0.5, TopK{Fraction: 0.5, Recall: 0.6, Precision: 0.6, Lift: 1.2}},
		// Tied scores are taken in row order: row 0 (negative) first.
		{"ties in row order", []float64{0, 1, 1, 0}, []float64{0.5, 0.5, 0.5, 0.1}, 0.25, TopK{Fraction: 0.25}},
		{"ties, two rows", []float64{0, 1, 1, 0}, []float64{0.5, 0.5, 0.5, 0.1}, 0.5, TopK{Fraction: 0.5, Recall: 0.5, Precision: 0.5, Lift: 1}},
		// int(0.1·4) = 0 rows: every rate 0.
		{"empty top", []float64{0, 1, 1, 0}, []float64{0.5, 0.5, 0.5, 0.1}, 0.1, TopK{Fraction: 0.1}},
	}
	for _, tc := range tests {
		got := AtTopK(tc.y, tc.p, tc.k)
		if !near(got.Recall, tc.want.Recall, 1e-12) || !near(got.Precision, tc.want.Precision, 1e-12) ||
			!near(got.Lift, tc.want.Lift, 1e-12) || got.Fraction != tc.want.Fraction {
			t.Errorf("%s: AtTopK = %+v, want %+v", tc.name, got, tc.want)
		}
	}
}

// TestSelectionMetrics checks the threshold and top-k selection metrics
// on thresholdRows.
func TestSelectionMetrics(t *testing.T) {
	tests := []struct {
		metric    string
		threshold float64
		want      float64
	}{
		// At 0.3: TP 5, FP 3, FN 0, TN 2.
		{MetricAccuracy, 0.3, 0.7},
		{MetricRecall, 0.3, 1},
		{MetricF1, 0.3, 10.0 / 13},
		// At 0.7: TP 3, FP 0, FN 2, TN 5.
		{MetricAccuracy, 0.7, 0.8},
		{MetricRecall, 0.7, 0.6},
		{MetricF1, 0.7, 0.75},
		// Top 3 rows hold 3 of the 5 positives, the top 2 two.
		{"recall_at_30", 0.5, 0.6},
		{"recall_at_25", 0.5, 0.4},
		{MetricLogLoss, 0.5, -LogLoss(thresholdY, thresholdP)},
	}
	for _, tc := range tests {
		if got := metricScore(tc.metric, thresholdY, thresholdP, tc.threshold, nil, nil); !near(got, tc.want, 1e-12) {
			t.Errorf("metricScore(%s at %v) = %v, want %v", tc.metric, tc.threshold, got, tc.want)
		}
	}
}
