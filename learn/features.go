package learn

import (
	"fmt"
	"math"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/promoflow/promoflow/dataset"
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

// design is a transformed data set: dense features row-major plus, for each
// categorical column, the index of the one active one-hot feature.
type design struct {
	n, pd, nc, p int
	x            []float64 // n*pd
	cat          []int32   // n*nc, absolute feature indexes in [pd, p)
}

// shape returns the number of dense features, of categorical columns and
// of all features.
func (pl *Pipeline) shape() (pd, nc, p int) {
	for _, c := range pl.Columns {
		switch c.Kind {
		case schema.Numeric, schema.Flag:
			pd++
			if c.MissingFlag {
				pd++
			}
		case schema.Categorical:
			nc++
			p += len(c.Levels) + 1
		}
	}
	return pd, nc, p + pd
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

// parseNumber reads a numeric cell; empty and NaN cells are missing.
func parseNumber(s string) (float64, error) {
	if s == "" {
		return math.NaN(), nil
	}
	if v, ok := fastFloat(s); ok {
		return v, nil
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		t := strings.TrimSpace(s)
		if t == "" {
			return math.NaN(), nil
		}
		if v, err = strconv.ParseFloat(t, 64); err != nil {
			return 0, fmt.Errorf("%q is not a number", s)
		}
	}
	if math.IsInf(v, 0) {
		return 0, fmt.Errorf("%q is out of range", s)
	}
	return v, nil
}

// pow10 holds the powers of ten that float64 represents exactly.
var pow10 = [...]float64{1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15}

// fastFloat parses plain decimals ([+-]digits[.digits], at most 15
// digits) exactly as strconv does, but faster: the digits fit a float64
// exactly and so does the power of ten, so one IEEE division rounds
// correctly (Clinger's fast path). Anything else reports false.
func fastFloat(s string) (float64, bool) {
	i, neg := 0, false
	switch s[0] {
	case '-':
		neg, i = true, 1
	case '+':
		i = 1
	}
	var mant uint64
	digits, frac, dot := 0, 0, false
	for ; i < len(s); i++ {
		ch := s[i]
		switch {
		case ch >= '0' && ch <= '9':
			mant = mant*10 + uint64(ch-'0')
			digits++
			if dot {
				frac++
			}
			if digits > 15 {
				return 0, false
			}
		case ch == '.' && !dot:
			dot = true
		default:
			return 0, false
		}
	}
	if digits == 0 {
		return 0, false
	}
	v := float64(mant) / pow10[frac]
	if neg {
		v = -v
	}
	return v, true
}

// parseFlag reads a 0/1 cell: 0/1, true/false, yes/no, y/n (any case).
func parseFlag(s string) (float64, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "":
		return math.NaN(), nil
	case "1", "true", "yes", "y", "t":
		return 1, nil
	case "0", "false", "no", "n", "f":
		return 0, nil
	}
	v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err == nil && (v == 0 || v == 1) {
		return v, nil
	}
	return 0, fmt.Errorf("%q is not a 0/1 flag", s)
}

// cellError names the data row and column of a bad cell.
func cellError(row int, col string, err error) error {
	return fmt.Errorf("data row %d, column %q: %w", row+1, col, err)
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

// newDesign allocates an empty design of n rows for the pipeline.
func (pl *Pipeline) newDesign(n int) *design {
	pd, nc, p := pl.shape()
	return &design{n: n, pd: pd, nc: nc, p: p, x: make([]float64, n*pd), cat: make([]int32, n*nc)}
}

// offsets returns, for column k of the pipeline, its first dense feature
// (or -1) and its categorical slot and first one-hot feature (or -1).
func (pl *Pipeline) offsets(k int) (dense, slot, first int) {
	pd, _, _ := pl.shape()
	dense, slot, first = 0, 0, pd
	for i := 0; i < k; i++ {
		c := pl.Columns[i]
		switch c.Kind {
		case schema.Numeric, schema.Flag:
			dense++
			if c.MissingFlag {
				dense++
			}
		case schema.Categorical:
			slot++
			first += len(c.Levels) + 1
		}
	}
	if pl.Columns[k].Kind == schema.Categorical {
		return -1, slot, first
	}
	return dense, -1, -1
}

// value transforms one parsed cell into its value feature and missing flag.
func (c *ColumnTransform) value(v float64) (x, missing float64) {
	if math.IsNaN(v) {
		v, missing = c.Impute, 1
	}
	if c.Kind == schema.Numeric {
		v = (v - c.Mean) / c.Scale
	}
	return v, missing
}

// designOf builds the design of the labelled rows at positions pos of cols
// (all when pos is nil), row chunks in parallel. remap maps each
// categorical column's codes onto the pipeline's levels; other codes are
// unknown levels.
func (pl *Pipeline) designOf(cols *columns, pos []int, remap [][]int32) *design {
	n := len(pos)
	if pos == nil {
		n = cols.n
	}
	d := pl.newDesign(n)
	chunk := rowsPerChunk(n)
	nchunks := (n + chunk - 1) / chunk
	parallelFor(nchunks, func(ch int) {
		lo, hi := ch*chunk, min(n, (ch+1)*chunk)
		for k := range pl.Columns {
			c := &pl.Columns[k]
			off, slot, first := pl.offsets(k)
			if c.Kind == schema.Categorical {
				codes, rm, unknown := cols.codes[k], remap[k], int32(len(c.Levels))
				for i := lo; i < hi; i++ {
					src := i
					if pos != nil {
						src = pos[i]
					}
					code := rm[codes[src]]
					if code < 0 {
						code = unknown
					}
					d.cat[i*d.nc+slot] = int32(first) + code
				}
				continue
			}
			v := cols.dense[k]
			for i := lo; i < hi; i++ {
				src := i
				if pos != nil {
					src = pos[i]
				}
				x, miss := c.value(v[src])
				d.x[i*d.pd+off] = x
				if c.MissingFlag {
					d.x[i*d.pd+off+1] = miss
				}
			}
		}
	})
	return d
}

// transformColumns builds the design of the labelled rows at positions
// pos of cols (all when nil) with the fitted pipeline, whose columns are
// those of cols. Values the pipeline did not see in training map to the
// unknown feature.
func (pl *Pipeline) transformColumns(cols *columns, pos []int) (*design, error) {
	if cols.err != nil {
		return nil, cols.err
	}
	remap := make([][]int32, len(pl.Columns))
	for k := range pl.Columns {
		c := &pl.Columns[k]
		if c.Kind != schema.Categorical {
			continue
		}
		remap[k] = make([]int32, len(cols.levels[k]))
		for i, l := range cols.levels[k] {
			remap[k][i] = -1
			if j, ok := slices.BinarySearch(c.Levels, l); ok {
				remap[k][i] = int32(j)
			}
		}
	}
	return pl.designOf(cols, pos, remap), nil
}

// rowPlan reads the feature cells of a table's rows with a fitted pipeline,
// for scoring straight from the strings.
type rowPlan struct {
	pl    *Pipeline
	cols  []rowColumn
	cells []int // the table columns read, in table order
}

// rowColumn is where one pipeline column comes from and goes to.
type rowColumn struct {
	j, off, slot, first int
	levels              levelIndex // categorical columns
}

// planRows maps the pipeline's columns onto tbl's.
func (pl *Pipeline) planRows(tbl *dataset.Table) (*rowPlan, error) {
	rp := &rowPlan{pl: pl, cols: make([]rowColumn, len(pl.Columns))}
	for k := range pl.Columns {
		c := &pl.Columns[k]
		j, ok := tbl.Col(c.Name)
		if !ok {
			return nil, fmt.Errorf("feature column %q not in data", c.Name)
		}
		rc := rowColumn{j: j}
		rc.off, rc.slot, rc.first = pl.offsets(k)
		if c.Kind == schema.Categorical {
			rc.levels = newLevelIndex(c.Levels)
		}
		rp.cols[k] = rc
		rp.cells = append(rp.cells, j)
	}
	slices.Sort(rp.cells)
	return rp, nil
}

// row writes the features of one table row into x (dense part) and cat
// (one-hot indexes); a bad cell is an error naming its column.
func (rp *rowPlan) row(r []string, x []float64, cat []int32) error {
	for k := range rp.cols {
		rc := &rp.cols[k]
		c := &rp.pl.Columns[k]
		s := r[rc.j]
		var v float64
		var err error
		switch c.Kind {
		case schema.Categorical:
			cat[rc.slot] = int32(rc.first) + rc.levels.find(s)
			continue
		case schema.Flag:
			v, err = parseFlag(s)
		default:
			v, err = parseNumber(s)
		}
		if err != nil {
			return fmt.Errorf("column %q: %w", c.Name, err)
		}
		x[rc.off], v = c.value(v)
		if c.MissingFlag {
			x[rc.off+1] = v
		}
	}
	return nil
}

// levelIndex finds values among a column's sorted training levels: a few
// levels are compared in turn (cheaper than hashing), many through a map.
type levelIndex struct {
	levels []string
	index  map[string]int32
}

func newLevelIndex(levels []string) levelIndex {
	li := levelIndex{levels: levels}
	if len(levels) > linearLevels {
		li.index = make(map[string]int32, len(levels))
		for i, l := range levels {
			li.index[l] = int32(i)
		}
	}
	return li
}

// find returns the index of s among the levels, or the number of levels
// (the unknown feature) when s is not one of them.
func (li *levelIndex) find(s string) int32 {
	if li.index != nil {
		if i, ok := li.index[s]; ok {
			return i
		}
		return int32(len(li.levels))
	}
	for i, l := range li.levels {
		if l == s {
			return int32(i)
		}
	}
	return int32(len(li.levels))
}

// firstError returns the first non-nil error, so that the error reported
// does not depend on goroutine timing.
func firstError(errs []error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// transformRow writes the features of one row given by name into x (dense
// part) and cat (one-hot indexes).
func (pl *Pipeline) transformRow(row map[string]string, x []float64, cat []int32) error {
	di, ci := 0, 0
	pd, _, _ := pl.shape()
	first := pd
	for k := range pl.Columns {
		c := &pl.Columns[k]
		s := row[c.Name]
		switch c.Kind {
		case schema.Categorical:
			code := len(c.Levels)
			if i, ok := slices.BinarySearch(c.Levels, s); ok {
				code = i
			}
			cat[ci] = int32(first + code)
			ci++
			first += len(c.Levels) + 1
		default:
			parse := parseNumber
			if c.Kind == schema.Flag {
				parse = parseFlag
			}
			v, err := parse(s)
			if err != nil {
				return fmt.Errorf("column %q: %w", c.Name, err)
			}
			val, miss := c.value(v)
			x[di] = val
			di++
			if c.MissingFlag {
				x[di] = miss
				di++
			}
		}
	}
	return nil
}

// parallelFor runs f(0..n-1) on up to GOMAXPROCS goroutines.
func parallelFor(n int, f func(i int)) {
	workers := min(runtime.GOMAXPROCS(0), n)
	if workers <= 1 {
		for i := 0; i < n; i++ {
			f(i)
		}
		return
	}
	var wg sync.WaitGroup
	next := make(chan int, n)
	for i := 0; i < n; i++ {
		next <- i
	}
	close(next)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				f(i)
			}
		}()
	}
	wg.Wait()
}
