package learn

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"testing"

	"github.com/promoflow/promoflow/dataset"
)

// fnv1a64 is FNV-1a written out from its definition (offset basis
// 14695981039346656037, prime 1099511628211), independent of hash/fnv.
func fnv1a64(b []byte) uint64 {
	h := uint64(14695981039346656037)
	for _, c := range b {
		h ^= uint64(c)
		h *= 1099511628211
	}
	return h
}

func holdoutTable(n int) *dataset.Table {
	tbl := &dataset.Table{Header: []string{"id", "x"}}
	for i := range n {
		tbl.Rows = append(tbl.Rows, []string{fmt.Sprintf("c%d", i), fmt.Sprint(i % 7)})
	}
	return tbl
}

func TestSplitHoldout(t *testing.T) {
	tbl := holdoutTable(2000)
	for _, fraction := range []float64{0, 0.2, 0.5} {
		train, holdout := SplitHoldout(tbl, fraction)
		var wantTrain, wantHoldout [][]string
		for _, row := range tbl.Rows {
			b := []byte(row[0] + "\x00" + row[1] + "\x00")
			if fnv1a64(b)&0xffffffff < uint64(fraction*0xffffffff) {
				wantHoldout = append(wantHoldout, row)
			} else {
				wantTrain = append(wantTrain, row)
			}
		}
		if !slices.EqualFunc(train.Rows, wantTrain, slices.Equal) || !slices.EqualFunc(holdout.Rows, wantHoldout, slices.Equal) {
			t.Errorf("fraction %g: %d train, %d holdout rows; want %d and %d by the FNV-1a rule",
				fraction, len(train.Rows), len(holdout.Rows), len(wantTrain), len(wantHoldout))
		}
		if !slices.Equal(train.Header, tbl.Header) || !slices.Equal(holdout.Header, tbl.Header) {
			t.Errorf("fraction %g: headers %v / %v, want %v", fraction, train.Header, holdout.Header, tbl.Header)
		}
		// 2000 rows: the holdout share is within 4 standard errors of fraction.
		share := float64(len(holdout.Rows)) / float64(len(tbl.Rows))
		if se := 4 * 0.0112; share < fraction-se || share > fraction+se {
			t.Errorf("fraction %g: holdout share %g", fraction, share)
		}
	}
}

// TestSplitHoldoutIsStable checks a row lands on the same side whatever
// table it arrives in.
func TestSplitHoldoutIsStable(t *testing.T) {
	all := holdoutTable(500)
	_, holdout := SplitHoldout(all, 0.3)
	part := &dataset.Table{Header: all.Header, Rows: all.Rows[100:300]}
	_, partHoldout := SplitHoldout(part, 0.3)
	var want [][]string
	for _, row := range holdout.Rows {
		if slices.ContainsFunc(part.Rows, func(r []string) bool { return slices.Equal(r, row) }) {
			want = append(want, row)
		}
	}
	if !slices.EqualFunc(partHoldout.Rows, want, slices.Equal) {
		t.Errorf("holdout of rows 100..299: %d rows, want the %d of the full table's holdout among them", len(partHoldout.Rows), len(want))
	}
}

func TestTrainingKey(t *testing.T) {
	sum := sha256.Sum256([]byte("sha256:ab\x00{\"c\":1}\x00code\x00"))
	if got, want := TrainingKey("sha256:ab", []byte(`{"c":1}`), "code"), hex.EncodeToString(sum[:]); got != want {
		t.Errorf("TrainingKey = %s, want %s", got, want)
	}
	tests := []struct {
		name string
		a, b [3]string
	}{
		{"a part moved between fields", [3]string{"ab", "c", "d"}, [3]string{"a", "bc", "d"}},
		{"other code", [3]string{"fp", "{}", "v1"}, [3]string{"fp", "{}", "v2"}},
		{"other config", [3]string{"fp", `{"c":1}`, "v1"}, [3]string{"fp", `{"c":2}`, "v1"}},
	}
	for _, tt := range tests {
		if TrainingKey(tt.a[0], []byte(tt.a[1]), tt.a[2]) == TrainingKey(tt.b[0], []byte(tt.b[1]), tt.b[2]) {
			t.Errorf("%s: %q and %q share a key", tt.name, tt.a, tt.b)
		}
	}
}
