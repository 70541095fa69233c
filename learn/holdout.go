package learn

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"hash/fnv"
	"math"

	"github.com/promoflow/promoflow/dataset"
)

// SplitHoldout puts a row in the holdout by a hash of its content (64-bit
// FNV-1a of its fields, each ended by a NUL byte; the row is held out when
// the hash's low 32 bits are under fraction·(2³²−1)), so the same row is
// held out on every day and by every version: production never trained on
// the rows the gate judges it with either. Both tables keep tbl's header
// and row order.
func SplitHoldout(tbl *dataset.Table, fraction float64) (train, holdout *dataset.Table) {
	train = &dataset.Table{Header: tbl.Header}
	holdout = &dataset.Table{Header: tbl.Header}
	cut := uint64(fraction * float64(math.MaxUint32))
	for _, row := range tbl.Rows {
		h := fnv.New64a()
		for _, f := range row {
			h.Write([]byte(f))
			h.Write([]byte{0})
		}
		if h.Sum64()&math.MaxUint32 < cut {
			holdout.Rows = append(holdout.Rows, row)
		} else {
			train.Rows = append(train.Rows, row)
		}
	}
	return train, holdout
}

// TrainingKey identifies a training step by what determines its result:
// the fingerprint of the exact training rows, the recorded configuration
// and the code. It is the hex sha256 of the three, each ended by a NUL
// byte.
func TrainingKey(fingerprint string, cfg json.RawMessage, code string) string {
	h := sha256.New()
	for _, part := range []string{fingerprint, string(cfg), code} {
		h.Write([]byte(part))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))
}
