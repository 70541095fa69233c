package learn

import (
	"fmt"
	"math"

	"github.com/promoflow/promoflow/schema"
)

// Imputation strategies for numeric and flag columns.
const (
	ImputeMedian = "median"
	ImputeMean   = "mean"
)

// ColumnTransform is the fitted transform of one feature column.
//
// Numeric columns become (x-Mean)/Scale with missing values replaced by
// Impute first; Scale is the population standard deviation (ddof=0) of the
// imputed training values, or 1 for a constant column, as in scikit-learn's
// StandardScaler. Flag columns become 0/1 (missing = Impute, not scaled).
// When the training data had missing values, MissingFlag adds a 0/1
// "<name>[missing]" feature. Categorical columns become one 0/1 feature per
// training level ("<name>=<level>", levels sorted) plus "<name>[unknown]" for
// any value not seen in training.
type ColumnTransform struct {
	Name        string      `json:"name"`
	Kind        schema.Kind `json:"kind"`
	Impute      float64     `json:"impute,omitempty"`
	MissingFlag bool        `json:"missing_flag,omitempty"`
	Mean        float64     `json:"mean,omitempty"`
	Scale       float64     `json:"scale,omitempty"`
	Levels      []string    `json:"levels,omitempty"`
}

// Feature is one column of the design matrix.
type Feature struct {
	Name string `json:"name"`
	// Selected is false when Pearson selection dropped the feature; its
	// coefficients are then zero.
	Selected bool `json:"selected"`
	// TargetCorr is the Pearson correlation of the feature with the target
	// on the training rows.
	TargetCorr float64 `json:"target_corr"`
}

// Pipeline is the fitted feature transform: it turns a row of raw strings
// into the numeric features the regression sees. It is saved in the model so
// scoring applies exactly the training transform.
type Pipeline struct {
	Impute  string            `json:"impute"`
	Columns []ColumnTransform `json:"columns"`
	// Features lists every design column: first the values and missing
	// flags of numeric and flag columns, then the one-hot columns.
	Features []Feature `json:"features"`
}

// shape returns the number of dense features, of categorical columns and
// of all features.
func (pl *Pipeline) shape() (pd, nc, p int) {
	pd, nc, onehot := countFeatures(pl.Columns)
	return pd, nc, onehot + pd
}

// countFeatures counts what cols make of the design: dense features
// (numeric and flag values and their missing flags), categorical columns,
// and one-hot features (a column's levels plus its [unknown] level).
func countFeatures(cols []ColumnTransform) (dense, categorical, onehot int) {
	for _, c := range cols {
		switch c.Kind {
		case schema.Numeric, schema.Flag:
			dense++
			if c.MissingFlag {
				dense++
			}
		case schema.Categorical:
			categorical++
			onehot += len(c.Levels) + 1
		}
	}
	return dense, categorical, onehot
}

// featureNames lists the design columns in order.
func (pl *Pipeline) featureNames() []string {
	var dense, cats []string
	for _, c := range pl.Columns {
		switch c.Kind {
		case schema.Numeric, schema.Flag:
			dense = append(dense, c.Name)
			if c.MissingFlag {
				dense = append(dense, c.Name+"[missing]")
			}
		case schema.Categorical:
			for _, l := range c.Levels {
				cats = append(cats, c.Name+"="+l)
			}
			cats = append(cats, c.Name+"[unknown]")
		}
	}
	return append(dense, cats...)
}

// fitPipeline fits the feature transform on the labelled rows at
// positions pos of cols (all of them when pos is nil) and returns it with
// the design matrix of those rows. Selection is not applied (every feature
// is selected).
func fitPipeline(cols *columns, pos []int, impute string) (*Pipeline, *design, error) {
	if impute == "" {
		impute = ImputeMedian
	}
	if impute != ImputeMedian && impute != ImputeMean {
		return nil, nil, fmt.Errorf("impute %q: want %q or %q", impute, ImputeMedian, ImputeMean)
	}
	if cols.err != nil {
		return nil, nil, cols.err
	}
	pl := &Pipeline{Impute: impute, Columns: make([]ColumnTransform, len(cols.cols))}
	remap := make([][]int32, len(cols.cols))
	parallelFor(len(cols.cols), func(k int) {
		c := cols.cols[k]
		ct := ColumnTransform{Name: c.Name, Kind: c.Kind}
		switch c.Kind {
		case schema.Numeric, schema.Flag:
			v := cols.dense[k]
			if pos != nil {
				v = gather(v, pos)
			}
			ct.Impute, ct.MissingFlag = imputeValue(v, impute, c.Kind)
			if c.Kind == schema.Numeric {
				ct.Mean, ct.Scale = meanStd(v, ct.Impute)
			}
		case schema.Categorical:
			ct.Levels, remap[k] = presentLevels(cols.levels[k], cols.codes[k], pos)
		}
		pl.Columns[k] = ct
	})
	for _, name := range pl.featureNames() {
		pl.Features = append(pl.Features, Feature{Name: name, Selected: true})
	}
	return pl, pl.designOf(cols, pos, remap), nil
}

// gather returns v at positions pos.
func gather(v []float64, pos []int) []float64 {
	out := make([]float64, len(pos))
	for i, p := range pos {
		out[i] = v[p]
	}
	return out
}

// presentLevels returns the levels that occur at positions pos of codes
// (all when pos is nil), still sorted, and the map from codes to them.
func presentLevels(levels []string, codes []int32, pos []int) ([]string, []int32) {
	remap := make([]int32, len(levels))
	if pos == nil {
		// Every level of the columns occurs in some labelled row.
		for i := range remap {
			remap[i] = int32(i)
		}
		return levels, remap
	}
	seen := make([]bool, len(levels))
	for _, p := range pos {
		seen[codes[p]] = true
	}
	var out []string
	for i, l := range levels {
		remap[i] = -1
		if seen[i] {
			remap[i] = int32(len(out))
			out = append(out, l)
		}
	}
	return out, remap
}

// imputeValue returns the fill value for missing cells and whether any
// cell was missing. A column with no values at all imputes 0.
func imputeValue(v []float64, how string, kind schema.Kind) (float64, bool) {
	present := make([]float64, 0, len(v))
	for _, x := range v {
		if !math.IsNaN(x) {
			present = append(present, x)
		}
	}
	missing := len(present) < len(v)
	if len(present) == 0 {
		return 0, missing
	}
	if kind == schema.Flag {
		// The mode: a flag stays 0 or 1.
		var ones int
		for _, x := range present {
			if x == 1 {
				ones++
			}
		}
		if 2*ones > len(present) {
			return 1, missing
		}
		return 0, missing
	}
	if how == ImputeMean {
		var s float64
		for _, x := range present {
			s += x
		}
		return s / float64(len(present)), missing
	}
	return median(present), missing
}

// median returns the median of v (the mean of the two middle values when
// the count is even, like numpy), reordering v.
func median(v []float64) float64 {
	n := len(v)
	k := n / 2
	hi := quickselect(v, k)
	if n%2 == 1 {
		return hi
	}
	// The largest value below position k is the max of v[:k].
	lo := v[0]
	for _, x := range v[1:k] {
		lo = math.Max(lo, x)
	}
	return (lo + hi) / 2
}

// quickselect partially sorts v so that v[k] is the k-th smallest value and
// everything before it is no larger, and returns v[k].
func quickselect(v []float64, k int) float64 {
	lo, hi := 0, len(v)-1
	for lo < hi {
		// Median of three as pivot keeps sorted input linear.
		mid := lo + (hi-lo)/2
		if v[mid] < v[lo] {
			v[mid], v[lo] = v[lo], v[mid]
		}
		if v[hi] < v[lo] {
			v[hi], v[lo] = v[lo], v[hi]
		}
		if v[hi] < v[mid] {
			v[hi], v[mid] = v[mid], v[hi]
		}
		pivot := v[mid]
		i, j := lo, hi
		for i <= j {
			for v[i] < pivot {
				i++
			}
			for v[j] > pivot {
				j--
			}
			if i <= j {
				v[i], v[j] = v[j], v[i]
				i++
				j--
			}
		}
		switch {
		case k <= j:
			hi = j
		case k >= i:
			lo = i
		default:
			return v[k]
		}
	}
	return v[k]
}

// meanStd returns the mean and population standard deviation of v with
// missing values replaced by fill; a zero deviation becomes 1.
func meanStd(v []float64, fill float64) (mean, std float64) {
	var s float64
	for _, x := range v {
		if math.IsNaN(x) {
			x = fill
		}
		s += x
	}
	mean = s / float64(len(v))
	var ss float64
	for _, x := range v {
		if math.IsNaN(x) {
			x = fill
		}
		ss += (x - mean) * (x - mean)
	}
	std = math.Sqrt(ss / float64(len(v)))
	if std == 0 || math.IsNaN(std) {
		std = 1
	}
	return mean, std
}
