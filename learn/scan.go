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
	s, err := newTableScan(tbl, sch, opts.features)
	if err != nil {
		return nil, err
	}
	s.scanBlocks(opts.fingerprint)
	sc := &scanned{lb: s.lb, cols: s.cols}
	if opts.fingerprint {
		sc.fingerprint = s.fingerprint()
	}
	for b := range s.blocks {
		if err := s.blocks[b].labelErr; err != nil {
			return nil, err
		}
	}
	treatLevels := s.mergeLevelCodes()
	total := s.closeGaps()
	s.finishColumns(total)
	if total == 0 {
		return nil, fmt.Errorf("target column %q: no labelled rows", s.target)
	}
	if s.treat != nil {
		if err := s.lb.setArms(s.treat[:total], treatLevels, opts.needArms); err != nil {
			return nil, err
		}
	}
	return sc, nil
}

// tableScan is one scan of a table: what it reads and where the blocks
// write it. Every block writes its labelled rows from its own offset;
// unlabelled rows leave gaps that are closed once all blocks are done.
type tableScan struct {
	tbl    *dataset.Table
	target string // target column name
	plan   scanPlan
	lb     *labelled
	cols   *columns // nil unless features were asked for
	// treat, dense and codes are written per row at the block's offsets:
	// treatment level codes (nil without a treatment), and per feature
	// column its values (numeric and flag) or level codes (categorical).
	treat  []int32
	dense  [][]float64
	codes  [][]int32
	blocks []blockScan
}

// newTableScan finds the target, treatment and, when features is set, the
// feature columns of sch in tbl and allocates the scan's output.
func newTableScan(tbl *dataset.Table, sch schema.Schema, features bool) (*tableScan, error) {
	tc := sch.OfKind(schema.Target)
	if len(tc) != 1 {
		return nil, fmt.Errorf("schema: want exactly one target column, have %d", len(tc))
	}
	s := &tableScan{tbl: tbl, target: tc[0].Name, plan: scanPlan{trj: -1, pos: tc[0].PositiveLabel()}, lb: &labelled{}}
	var ok bool
	if s.plan.tj, ok = tbl.Col(s.target); !ok {
		return nil, fmt.Errorf("target column %q not in data", s.target)
	}
	if tr := sch.OfKind(schema.Treatment); len(tr) == 1 {
		s.lb.treat, s.lb.control = tr[0].Name, tr[0].Control
		if s.lb.control == "" {
			return nil, fmt.Errorf("treatment column %q: no control value declared", s.lb.treat)
		}
		if s.plan.trj, ok = tbl.Col(s.lb.treat); !ok {
			return nil, fmt.Errorf("treatment column %q not in data", s.lb.treat)
		}
		s.plan.treat = s.lb.treat
	}
	if features {
		s.planFeatures(sch)
	}
	s.allocate()
	return s, nil
}

// planFeatures lists the feature columns to parse. A missing column, or no
// feature column at all, is kept in cols.err and no column is parsed.
func (s *tableScan) planFeatures(sch schema.Schema) {
	cols := &columns{}
	for _, c := range sch.Columns {
		if !c.Kind.IsFeature() {
			continue
		}
		j, ok := s.tbl.Col(c.Name)
		if !ok && cols.err == nil {
			cols.err = fmt.Errorf("feature column %q not in data", c.Name)
		}
		cols.cols = append(cols.cols, c)
		s.plan.idx = append(s.plan.idx, j)
	}
	if cols.err == nil && len(cols.cols) == 0 {
		cols.err = errors.New("schema declares no feature columns")
	}
	if cols.err == nil {
		s.plan.cols = cols.cols
	}
	s.cols = cols
}

// allocate makes the outputs of one row per table row.
func (s *tableScan) allocate() {
	n := len(s.tbl.Rows)
	s.lb.rows = make([]int, n)
	s.lb.y = make([]float64, n)
	if s.plan.trj >= 0 {
		s.treat = make([]int32, n)
	}
	if s.plan.cols == nil {
		return
	}
	s.dense = make([][]float64, len(s.plan.cols))
	s.codes = make([][]int32, len(s.plan.cols))
	for k, c := range s.plan.cols {
		if c.Kind == schema.Categorical {
			s.codes[k] = make([]int32, n)
		} else {
			s.dense[k] = make([]float64, n)
		}
	}
}

// scanBlocks scans every block of rows, spread over the cores.
func (s *tableScan) scanBlocks(fingerprint bool) {
	n := len(s.tbl.Rows)
	nblocks := (n + scanBlock - 1) / scanBlock
	s.blocks = make([]blockScan, nblocks)
	parallelFor(nblocks, func(b int) {
		s.scanBlock(b, fingerprint)
	})
}

// scanBlock reads the rows of block b, writing its labelled rows from the
// block's offset, and hashes them when fingerprint is set.
func (s *tableScan) scanBlock(b int, fingerprint bool) {
	bs := &s.blocks[b]
	plan, lb, rows, treat, dense, codes := &s.plan, s.lb, s.tbl.Rows, s.treat, s.dense, s.codes
	bs.dicts = make([]levelDict, len(plan.cols))
	bs.featErr = make([]error, len(plan.cols))
	var hs *blockHasher
	if fingerprint {
		hs = newBlockHasher()
	}
	lo, hi := b*scanBlock, min(len(rows), (b+1)*scanBlock)
	out := lo
	rt := rowToucher{rows: rows}
	for r := lo; r < hi; r++ {
		rt.at(r, lo, hi)
		row := rows[r]
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
		// The feature cells, parsed here: a function called per row
		// would add some 40 instructions to each (BenchmarkScanTable).
		for k := range plan.cols {
			cell := row[plan.idx[k]]
			c := &plan.cols[k]
			var x float64
			var err error
			switch c.Kind {
			case schema.Categorical:
				codes[k][out] = bs.dicts[k].code(cell)
				continue
			case schema.Flag:
				x, err = parseFlag(cell)
			default:
				x, err = parseNumber(cell)
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
}

// fingerprint combines the blocks' digests into Fingerprint(tbl).
func (s *tableScan) fingerprint() string {
	sums := make([][sha256.Size]byte, len(s.blocks))
	for b := range s.blocks {
		sums[b] = s.blocks[b].sum
	}
	return fingerprintOf(s.tbl.Header, sums)
}

// mergeLevelCodes gives the treatment and every categorical column the
// sorted union of the blocks' levels, maps each block's codes onto it in
// place and returns the treatment's levels.
func (s *tableScan) mergeLevelCodes() (treatLevels []string) {
	var treatRemap [][]int32
	if s.treat != nil {
		treatLevels, treatRemap = mergeLevels(s.blocks, func(bs *blockScan) *levelDict { return &bs.treat })
	}
	catRemap := make([][][]int32, len(s.plan.cols))
	if s.cols != nil && s.plan.cols != nil {
		s.cols.levels = make([][]string, len(s.plan.cols))
		for k, c := range s.plan.cols {
			if c.Kind == schema.Categorical {
				s.cols.levels[k], catRemap[k] = mergeLevels(s.blocks, func(bs *blockScan) *levelDict { return &bs.dicts[k] })
			}
		}
	}
	parallelFor(len(s.blocks), func(b int) {
		lo, hi := b*scanBlock, b*scanBlock+s.blocks[b].n
		if s.treat != nil {
			remapCodes(s.treat[lo:hi], treatRemap[b])
		}
		for k := range catRemap {
			if catRemap[k] != nil {
				remapCodes(s.codes[k][lo:hi], catRemap[k][b])
			}
		}
	})
	return treatLevels
}

// closeGaps moves the blocks' labelled rows together, block by block in
// order, and returns their number.
func (s *tableScan) closeGaps() int {
	lb := s.lb
	total := 0
	for b := range s.blocks {
		lo, m := b*scanBlock, s.blocks[b].n
		if total != lo {
			copy(lb.rows[total:], lb.rows[lo:lo+m])
			copy(lb.y[total:], lb.y[lo:lo+m])
			if s.treat != nil {
				copy(s.treat[total:], s.treat[lo:lo+m])
			}
			for k := range s.plan.cols {
				if s.dense[k] != nil {
					copy(s.dense[k][total:], s.dense[k][lo:lo+m])
				} else {
					copy(s.codes[k][total:], s.codes[k][lo:lo+m])
				}
			}
		}
		total += m
	}
	lb.rows, lb.y = lb.rows[:total:total], lb.y[:total:total]
	return total
}

// finishColumns trims the feature columns to the total labelled rows and
// keeps the first bad cell column by column, as a column-wise parse would
// find it.
func (s *tableScan) finishColumns(total int) {
	cols := s.cols
	if cols == nil || s.plan.cols == nil {
		return
	}
	cols.n = total
	cols.dense = make([][]float64, len(s.plan.cols))
	cols.codes = make([][]int32, len(s.plan.cols))
	for k := range s.plan.cols {
		if s.dense[k] != nil {
			cols.dense[k] = s.dense[k][:total:total]
		} else {
			cols.codes[k] = s.codes[k][:total:total]
		}
	}
	for k := range s.plan.cols {
		if cols.err != nil {
			break
		}
		for b := range s.blocks {
			if err := s.blocks[b].featErr[k]; err != nil {
				cols.err = err
				break
			}
		}
	}
}

// setArms sets each labelled row's arm from its treatment level code
// (levels sorted, one of them control). With needArms, data without
// control or without treated rows is an error.
func (lb *labelled) setArms(treat []int32, levels []string, needArms bool) error {
	lb.arm = make([]int, len(treat))
	nControl := 0
	armOf := make([]int, len(levels))
	for i, l := range levels {
		if l == lb.control {
			armOf[i] = -1
			continue
		}
		armOf[i] = len(lb.arms)
		lb.arms = append(lb.arms, l)
	}
	for i, c := range treat {
		lb.arm[i] = armOf[c]
		if armOf[c] < 0 {
			nControl++
		}
	}
	if nControl == 0 && needArms {
		return fmt.Errorf("treatment column %q: no row has the control value %q", lb.treat, lb.control)
	}
	if len(lb.arms) == 0 && needArms {
		return fmt.Errorf("treatment column %q: no treated rows besides control %q", lb.treat, lb.control)
	}
	return nil
}
