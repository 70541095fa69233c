package learn

import (
	"fmt"
	"math"
	"slices"

	"github.com/promoflow/promoflow/dataset"
	"github.com/promoflow/promoflow/schema"
)

// design is a transformed data set: dense features row-major plus, for each
// categorical column, the index of the one active one-hot feature.
type design struct {
	n, pd, nc, p int
	x            []float64 // n*pd
	cat          []int32   // n*nc, absolute feature indexes in [pd, p)
}

// subset returns the design rows at positions pos.
func (d *design) subset(pos []int) *design {
	s := &design{n: len(pos), pd: d.pd, nc: d.nc, p: d.p, x: make([]float64, len(pos)*d.pd), cat: make([]int32, len(pos)*d.nc)}
	for k, i := range pos {
		copy(s.x[k*d.pd:(k+1)*d.pd], d.x[i*d.pd:(i+1)*d.pd])
		copy(s.cat[k*d.nc:(k+1)*d.nc], d.cat[i*d.nc:(i+1)*d.nc])
	}
	return s
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
	dense, slot, first = countFeatures(pl.Columns[:k])
	first += pd
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
