package dataset

import (
	"fmt"
	"io"
	"os"
)

// Table is a whole delimited file in memory: the header and the data rows,
// every row as long as the header.
type Table struct {
	Header []string
	Rows   [][]string
}

// Read reads every record of r into a Table.
func Read(r io.Reader, opts Options) (*Table, error) {
	rd, err := NewReader(r, opts)
	if err != nil {
		return nil, err
	}
	t := &Table{Header: rd.Header()}
	for {
		rec, err := rd.Next()
		if err == io.EOF {
			return t, nil
		}
		if err != nil {
			return nil, err
		}
		t.Rows = append(t.Rows, rec)
	}
}

// ReadFile reads the delimited file at path into a Table. Errors name the
// file (opts.Name defaults to path).
func ReadFile(path string, opts Options) (*Table, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read table: %w", err)
	}
	defer f.Close()
	if opts.Name == "" {
		opts.Name = path
	}
	return Read(f, opts)
}

// Col returns the index of the named column.
func (t *Table) Col(name string) (int, bool) {
	for i, h := range t.Header {
		if h == name {
			return i, true
		}
	}
	return -1, false
}

// Column returns the values of the named column, or an error naming it
// when the table has no such column.
func (t *Table) Column(name string) ([]string, error) {
	j, ok := t.Col(name)
	if !ok {
		return nil, fmt.Errorf("table has no column %q", name)
	}
	out := make([]string, len(t.Rows))
	for i, r := range t.Rows {
		out[i] = r[j]
	}
	return out, nil
}

// Subset returns a table sharing t's header with the rows at idx, in that
// order. Rows are shared, not copied.
func (t *Table) Subset(idx []int) *Table {
	rows := make([][]string, len(idx))
	for i, k := range idx {
		rows[i] = t.Rows[k]
	}
	return &Table{Header: t.Header, Rows: rows}
}

// Write writes the table as CSV with separator sep (',' when 0), quoting
// fields that need it.
func (t *Table) Write(w io.Writer, sep rune) error {
	cw := NewWriter(w, sep)
	if err := cw.Write(t.Header); err != nil {
		return err
	}
	for _, r := range t.Rows {
		if err := cw.Write(r); err != nil {
			return err
		}
	}
	return cw.Flush()
}
