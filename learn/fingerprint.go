package learn

import (
	"crypto/sha256"
	"encoding/hex"
	"hash"

	"github.com/promoflow/promoflow/dataset"
)

// fingerprintChunk is the number of rows hashed together by Fingerprint.
const fingerprintChunk = 1 << 16

// Fingerprint returns "sha256:<hex>" identifying the table's content: the
// sha256 of the header followed by the sha256 digests of each block of
// 65536 rows, fields and rows delimited by ASCII unit and record
// separators, so the value does not depend on quoting or separator. Blocks
// are hashed in parallel.
func Fingerprint(tbl *dataset.Table) string {
	nchunks := (len(tbl.Rows) + fingerprintChunk - 1) / fingerprintChunk
	sums := make([][sha256.Size]byte, nchunks)
	parallelFor(nchunks, func(c int) {
		h := newBlockHasher()
		for _, r := range tbl.Rows[c*fingerprintChunk : min(len(tbl.Rows), (c+1)*fingerprintChunk)] {
			h.add(r)
		}
		h.sum(&sums[c])
	})
	return fingerprintOf(tbl.Header, sums)
}

// appendRecord appends fields joined by 0x1f and ended by 0x1e.
func appendRecord(buf []byte, rec []string) []byte {
	for i, f := range rec {
		if i > 0 {
			buf = append(buf, 0x1f)
		}
		buf = append(buf, f...)
	}
	return append(buf, 0x1e)
}

// blockHasher hashes the records of one fingerprint block.
type blockHasher struct {
	h   hash.Hash
	buf []byte
}

func newBlockHasher() *blockHasher {
	return &blockHasher{h: sha256.New(), buf: make([]byte, 0, 64<<10)}
}

// add appends one record to the block.
func (b *blockHasher) add(rec []string) {
	b.buf = appendRecord(b.buf, rec)
	if len(b.buf) > 60<<10 {
		b.h.Write(b.buf)
		b.buf = b.buf[:0]
	}
}

// sum writes the block's digest to out.
func (b *blockHasher) sum(out *[sha256.Size]byte) {
	b.h.Write(b.buf)
	b.h.Sum(out[:0])
}

// fingerprintOf combines the header and the block digests.
func fingerprintOf(header []string, sums [][sha256.Size]byte) string {
	h := sha256.New()
	h.Write(appendRecord(nil, header))
	for _, s := range sums {
		h.Write(s[:])
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}
