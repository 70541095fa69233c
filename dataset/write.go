package dataset

import (
	"encoding/csv"
	"fmt"
	"io"
)

// Writer writes records as delimited text that Reader reads back unchanged.
type Writer struct {
	cw *csv.Writer
}

// NewWriter returns a Writer using separator sep (',' when 0).
func NewWriter(w io.Writer, sep rune) *Writer {
	cw := csv.NewWriter(w)
	if sep != 0 {
		cw.Comma = sep
	}
	return &Writer{cw: cw}
}

// Write writes one record.
func (w *Writer) Write(rec []string) error {
	if err := w.cw.Write(rec); err != nil {
		return fmt.Errorf("write csv: %w", err)
	}
	return nil
}

// Flush writes buffered data and reports any write error.
func (w *Writer) Flush() error {
	w.cw.Flush()
	if err := w.cw.Error(); err != nil {
		return fmt.Errorf("write csv: %w", err)
	}
	return nil
}
