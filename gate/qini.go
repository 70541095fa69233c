package gate

import "github.com/promoflow/promoflow/rank"

// qiniOrder is the Qini rows in order of predicted uplift, highest first:
// their row index, label and treatment, and whether a row ends a group of
// tied predictions.
type qiniOrder struct {
	rows    []int32
	y       []float64
	treated []bool
	last    []bool
}

func newQiniOrder(u []float64, treated []int8, y []float64) *qiniOrder {
	q := &qiniOrder{}
	for _, i := range rank.Descending(u) {
		if treated[i] >= 0 {
			q.rows = append(q.rows, i)
			q.y = append(q.y, y[i])
			q.treated = append(q.treated, treated[i] == 1)
		}
	}
	q.last = make([]bool, len(q.rows))
	for k, i := range q.rows {
		q.last[k] = k == len(q.rows)-1 || u[q.rows[k+1]] != u[i]
	}
	return q
}

// qiniCounts are a weighted sample's treated and control rows and their
// responders.
type qiniCounts struct{ nt, nc, yt, yc float64 }

// qiniTotals are a weighted sample's perfect Qini area and baseline.
type qiniTotals struct{ perfect, baseline float64 }

// totals computes the area under the Qini curve of the perfect ranking
// (treated responders, then non-responders, then control responders) and
// under the random-targeting line, as learn.QiniCoefficient defines them.
func (c qiniCounts) totals() qiniTotals {
	// Points after each of the three groups of the perfect ranking.
	x1, q1 := c.yt, c.yt
	x2, q2 := c.nt+c.nc-c.yc, c.yt
	x3, q3 := c.nt+c.nc, c.yt
	if c.nc > 0 {
		q3 -= c.yc * c.nt / c.nc
	}
	area := x1*q1/2 + (x2-x1)*(q1+q2)/2 + (x3-x2)*(q2+q3)/2
	return qiniTotals{perfect: area, baseline: x3 * q3 / 2}
}

// area walks q's rows, highest predicted uplift first, and returns the
// area under the Qini curve of the sample weighted by w and the sample's
// counts.
func (q *qiniOrder) area(w []uint8) (float64, qiniCounts) {
	var c qiniCounts
	var x, px, pq, area float64
	for k, i := range q.rows {
		if f := float64(w[i]); f != 0 {
			x += f
			if q.treated[k] {
				c.nt += f
				c.yt += f * q.y[k]
			} else {
				c.nc += f
				c.yc += f * q.y[k]
			}
		}
		if q.last[k] {
			v := c.yt
			if c.nc > 0 {
				v -= c.yc * c.nt / c.nc
			}
			area += (x - px) * (v + pq) / 2
			px, pq = x, v
		}
	}
	return area, c
}

// coefficient is the Qini coefficient of a curve's area: the area between
// it and the random line over the same area for the perfect ranking; 0
// when the perfect ranking is no better than random, as
// learn.QiniCoefficient.
func coefficient(area float64, tot qiniTotals) float64 {
	best := tot.perfect - tot.baseline
	if best == 0 {
		return 0
	}
	return (area - tot.baseline) / best
}
