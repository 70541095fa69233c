package learn

// touchBatch is the number of rows whose memory is loaded together.
const touchBatch = 32

// rowToucher loads the memory of a table's rows ahead of their parsing, so
// that cache misses are waited for together instead of one after the
// other inside branchy parsing code: at the start of every batch it loads
// the field arrays of the next batch and, at the same time, the cell bytes
// of this one (whose field arrays the previous step loaded). Loaded values
// go into a meaningless sum so that the loads are not optimised away.
type rowToucher struct {
	rows [][]string
	cols []int // the cells read; nil means all
	sum  int
}

// at is called for every row index i of [lo, hi) in order.
func (rt *rowToucher) at(i, lo, hi int) {
	if (i-lo)%touchBatch != 0 {
		return
	}
	if i == lo {
		rt.fields(rt.rows[lo:min(hi, lo+touchBatch)])
	}
	rt.fields(rt.rows[min(hi, i+touchBatch):min(hi, i+2*touchBatch)])
	rt.cells(rt.rows[i:min(hi, i+touchBatch)])
}

// fields loads the string headers of rows.
func (rt *rowToucher) fields(rows [][]string) {
	t := 0
	if rt.cols == nil {
		for _, r := range rows {
			// A string header is 16 bytes: every third one reaches
			// every 64-byte line of the row's field array.
			for j := 0; j < len(r); j += 3 {
				t += len(r[j])
			}
			t += len(r[len(r)-1])
		}
	} else {
		for _, r := range rows {
			for _, j := range rt.cols {
				t += len(r[j])
			}
		}
	}
	rt.sum += t
}

// cells loads the first byte of each cell of rows.
func (rt *rowToucher) cells(rows [][]string) {
	t := 0
	if rt.cols == nil {
		for _, r := range rows {
			for _, f := range r {
				if len(f) > 0 {
					t += int(f[0])
				}
			}
		}
	} else {
		for _, r := range rows {
			for _, j := range rt.cols {
				if f := r[j]; len(f) > 0 {
					t += int(f[0])
				}
			}
		}
	}
	rt.sum += t
}
