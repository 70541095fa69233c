package learn

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"strings"

	"github.com/promoflow/promoflow/dataset"
	"github.com/promoflow/promoflow/schema"
)

// A table's rows are separate allocations, and a training table is usually
// a shuffled subset of a bigger one, so reading it is bound by memory
// latency rather than by parsing. scanTable therefore reads every row once,
// in blocks of scanBlock rows spread over the cores: it hashes the row for
// the fingerprint, reads target and treatment, and parses the feature cells
// into columns that fitting and validation then reuse.

// scanBlock is the number of rows one goroutine scans at a time; it is the
// fingerprint's block so that one pass both hashes and parses, and being a
// row count it keeps results independent of the number of cores.
const scanBlock = fingerprintChunk

// scanOptions says what scanTable extracts besides the labels.
type scanOptions struct {
	needArms    bool // data without control or treated rows is an error
	features    bool // parse the feature columns of the labelled rows
	fingerprint bool // compute Fingerprint(tbl) on the way
}

// scanned is the result of one pass over a table.
type scanned struct {
	lb          *labelled
	cols        *columns // nil unless features were asked for
	fingerprint string   // "" unless asked for
}

// columns holds the feature columns (in schema order) of a table's labelled
// rows, parsed once and shared by fitting, validation and evaluation.
type columns struct {
	n      int // labelled rows
	cols   []schema.Column
	dense  [][]float64 // numeric and flag columns: value per labelled row, NaN = missing
	codes  [][]int32   // categorical columns: index into levels per labelled row
	levels [][]string  // categorical columns: distinct values, sorted
	// err is the first bad cell (column by column) or missing column; it
	// is reported when the columns are used, after the label checks.
	err error
}

// scanPlan is what a block needs to know about the table's columns.
type scanPlan struct {
	tj, trj int    // target and treatment column (-1: none)
	pos     string // positive target value
	treat   string // treatment column name
	cols    []schema.Column
	idx     []int // table column per feature column
}

// blockScan is one block's share of the result. Its labelled rows are
// written at the block's own offset of the shared output (block*scanBlock)
// and moved together afterwards.
type blockScan struct {
	n        int // labelled rows in the block
	treat    levelDict
	dicts    []levelDict // per categorical feature column
	labelErr error
	featErr  []error // per feature column, the block's first bad cell
	sum      [sha256.Size]byte
	touched  int // see rowToucher
}

// scanTable reads the labels of tbl's rows (rows with an empty target are
// skipped) and, as opts asks, the feature columns of the labelled rows and
// the table's fingerprint, in one pass.
func scanTable(tbl *dataset.Table, sch schema.Schema, opts scanOptions) (*scanned, error) {
	tc := sch.OfKind(schema.Target)
	if len(tc) != 1 {
		return nil, fmt.Errorf("schema: want exactly one target column, have %d", len(tc))
	}
	target := tc[0]
	plan := scanPlan{trj: -1, pos: target.PositiveLabel()}
	var ok bool
	if plan.tj, ok = tbl.Col(target.Name); !ok {
		return nil, fmt.Errorf("target column %q not in data", target.Name)
	}
	lb := &labelled{}
	if tr := sch.OfKind(schema.Treatment); len(tr) == 1 {
		lb.treat, lb.control = tr[0].Name, tr[0].Control
		if lb.control == "" {
			return nil, fmt.Errorf("treatment column %q: no control value declared", lb.treat)
		}
		if plan.trj, ok = tbl.Col(lb.treat); !ok {
			return nil, fmt.Errorf("treatment column %q not in data", lb.treat)
		}
		plan.treat = lb.treat
	}
	var cols *columns
	if opts.features {
		cols = &columns{}
		for _, c := range sch.Columns {
			if !c.Kind.IsFeature() {
				continue
			}
			j, ok := tbl.Col(c.Name)
			if !ok && cols.err == nil {
				cols.err = fmt.Errorf("feature column %q not in data", c.Name)
			}
			cols.cols = append(cols.cols, c)
			plan.idx = append(plan.idx, j)
		}
		if cols.err == nil && len(cols.cols) == 0 {
			cols.err = errors.New("schema declares no feature columns")
		}
		if cols.err == nil {
			plan.cols = cols.cols
		}
	}

	// Every block writes its labelled rows from its own offset; unlabelled
	// rows leave gaps that are closed once all blocks are done.
	n := len(tbl.Rows)
	lb.rows = make([]int, n)
	lb.y = make([]float64, n)
	var treat []int32
	if plan.trj >= 0 {
		treat = make([]int32, n)
	}
	var dense [][]float64
	var codes [][]int32
	if plan.cols != nil {
		dense = make([][]float64, len(plan.cols))
		codes = make([][]int32, len(plan.cols))
		for k, c := range plan.cols {
			if c.Kind == schema.Categorical {
				codes[k] = make([]int32, n)
			} else {
				dense[k] = make([]float64, n)
			}
		}
	}
	nblocks := (n + scanBlock - 1) / scanBlock
	blocks := make([]blockScan, nblocks)
	parallelFor(nblocks, func(b int) {
		bs := &blocks[b]
		bs.dicts = make([]levelDict, len(plan.cols))
		bs.featErr = make([]error, len(plan.cols))
		var hs *blockHasher
		if opts.fingerprint {
			hs = newBlockHasher()
		}
		lo, hi := b*scanBlock, min(n, (b+1)*scanBlock)
		out := lo
		rt := rowToucher{rows: tbl.Rows}
		for r := lo; r < hi; r++ {
			rt.at(r, lo, hi)
			row := tbl.Rows[r]
			if hs != nil {
				hs.add(row)
			}
			v := strings.TrimSpace(row[plan.tj])
			if v == "" {
				continue
			}
			lb.rows[out] = r
			lb.y[out] = 0
			if v == plan.pos {
				lb.y[out] = 1
			}
			if treat != nil {
				a := row[plan.trj]
				if a == "" && bs.labelErr == nil {
					bs.labelErr = cellError(r, plan.treat, errors.New("empty treatment"))
				}
				treat[out] = bs.treat.code(a)
			}
			for k := range plan.cols {
				s := row[plan.idx[k]]
				c := &plan.cols[k]
				var x float64
				var err error
				switch c.Kind {
				case schema.Categorical:
					codes[k][out] = bs.dicts[k].code(s)
					continue
				case schema.Flag:
					x, err = parseFlag(s)
				default:
					x, err = parseNumber(s)
				}
				if err != nil && bs.featErr[k] == nil {
					bs.featErr[k] = cellError(r, c.Name, err)
				}
				dense[k][out] = x
			}
			out++
		}
		bs.n = out - lo
		bs.touched = rt.sum
		if hs != nil {
			hs.sum(&bs.sum)
		}
	})

	sc := &scanned{lb: lb, cols: cols}
	if opts.fingerprint {
		sums := make([][sha256.Size]byte, nblocks)
		for b := range blocks {
			sums[b] = blocks[b].sum
		}
		sc.fingerprint = fingerprintOf(tbl.Header, sums)
	}
	for b := range blocks {
		if err := blocks[b].labelErr; err != nil {
			return nil, err
		}
	}

	// Level codes: the sorted union of the blocks' levels, and each
	// block's codes mapped onto it, in place.
	var treatLevels []string
	var treatRemap [][]int32
	if treat != nil {
		treatLevels, treatRemap = mergeLevels(blocks, func(bs *blockScan) *levelDict { return &bs.treat })
	}
	catRemap := make([][][]int32, len(plan.cols))
	if cols != nil && plan.cols != nil {
		cols.levels = make([][]string, len(plan.cols))
		for k, c := range plan.cols {
			if c.Kind == schema.Categorical {
				cols.levels[k], catRemap[k] = mergeLevels(blocks, func(bs *blockScan) *levelDict { return &bs.dicts[k] })
			}
		}
	}
	parallelFor(nblocks, func(b int) {
		lo, hi := b*scanBlock, b*scanBlock+blocks[b].n
		if treat != nil {
			remapCodes(treat[lo:hi], treatRemap[b])
		}
		for k := range catRemap {
			if catRemap[k] != nil {
				remapCodes(codes[k][lo:hi], catRemap[k][b])
			}
		}
	})

	// Close the gaps left by unlabelled rows, block by block in order.
	total := 0
	for b := range blocks {
		lo, m := b*scanBlock, blocks[b].n
		if total != lo {
			copy(lb.rows[total:], lb.rows[lo:lo+m])
			copy(lb.y[total:], lb.y[lo:lo+m])
			if treat != nil {
				copy(treat[total:], treat[lo:lo+m])
			}
			for k := range plan.cols {
				if dense[k] != nil {
					copy(dense[k][total:], dense[k][lo:lo+m])
				} else {
					copy(codes[k][total:], codes[k][lo:lo+m])
				}
			}
		}
		total += m
	}
	lb.rows, lb.y = lb.rows[:total:total], lb.y[:total:total]
	if cols != nil && plan.cols != nil {
		cols.n = total
		cols.dense = make([][]float64, len(plan.cols))
		cols.codes = make([][]int32, len(plan.cols))
		for k := range plan.cols {
			if dense[k] != nil {
				cols.dense[k] = dense[k][:total:total]
			} else {
				cols.codes[k] = codes[k][:total:total]
			}
		}
		// The first bad cell column by column, as a column-wise parse
		// would find it.
		for k := range plan.cols {
			if cols.err != nil {
				break
			}
			for b := range blocks {
				if err := blocks[b].featErr[k]; err != nil {
					cols.err = err
					break
				}
			}
		}
	}

	if total == 0 {
		return nil, fmt.Errorf("target column %q: no labelled rows", target.Name)
	}
	if treat != nil {
		lb.arm = make([]int, total)
		nControl := 0
		armOf := make([]int, len(treatLevels))
		for i, l := range treatLevels {
			if l == lb.control {
				armOf[i] = -1
				continue
			}
			armOf[i] = len(lb.arms)
			lb.arms = append(lb.arms, l)
		}
		for i, c := range treat[:total] {
			lb.arm[i] = armOf[c]
			if armOf[c] < 0 {
				nControl++
			}
		}
		if nControl == 0 && opts.needArms {
			return nil, fmt.Errorf("treatment column %q: no row has the control value %q", lb.treat, lb.control)
		}
		if len(lb.arms) == 0 && opts.needArms {
			return nil, fmt.Errorf("treatment column %q: no treated rows besides control %q", lb.treat, lb.control)
		}
	}
	return sc, nil
}
