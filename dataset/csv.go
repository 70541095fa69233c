// Package dataset reads delimited text files (CSV with ',' or ';' and quoted
// fields) as a stream of records or as an in-memory table. Every problem in
// the input is reported as a *ParseError naming the file, line and column.
package dataset

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"
)

// DefaultMaxFieldBytes bounds one field when Options.MaxFieldBytes is zero,
// so that a stray quote cannot make the reader swallow a whole file.
const DefaultMaxFieldBytes = 1 << 20

// Options configures a Reader.
type Options struct {
	// Sep is the field separator; 0 sniffs ';' or ',' from the header line
	// (';' when it occurs more often than ',', as the scikit-learn peer does).
	Sep rune
	// MaxFieldBytes bounds the size of one field; 0 means DefaultMaxFieldBytes.
	MaxFieldBytes int
	// Name names the input in errors (usually the file path).
	Name string
}

// Errors wrapped in a ParseError; callers may test them with errors.Is.
var (
	ErrEmpty        = errors.New("empty input")
	ErrNoHeader     = errors.New("no header line")
	ErrFieldCount   = errors.New("wrong number of fields")
	ErrBareQuote    = errors.New(`bare " in unquoted field`)
	ErrQuote        = errors.New(`extraneous or missing " in quoted field`)
	ErrUnterminated = errors.New(`unterminated quoted field at end of input`)
	ErrInvalidUTF8  = errors.New("invalid UTF-8")
	ErrNUL          = errors.New("NUL byte (text may not contain one)")
	ErrFieldTooLong = errors.New("field too long")
	ErrDupHeader    = errors.New("duplicate column name in header")
)

// ParseError reports a malformed input: where it is and what is wrong.
type ParseError struct {
	Name   string // input name from Options.Name, may be empty
	Line   int    // 1-based physical line where the problem was found
	Column int    // 1-based field number, 0 when the whole record is concerned
	Err    error  // the problem, one of the Err* values or a wrapped I/O error
}

// Error formats the error as "name:line: column c: problem".
func (e *ParseError) Error() string {
	name := e.Name
	if name == "" {
		name = "input"
	}
	if e.Column > 0 {
		return fmt.Sprintf("%s:%d: column %d: %v", name, e.Line, e.Column, e.Err)
	}
	return fmt.Sprintf("%s:%d: %v", name, e.Line, e.Err)
}

// Unwrap returns the underlying problem.
func (e *ParseError) Unwrap() error { return e.Err }

// Reader streams the records of a delimited file after its header line.
// Blank lines are skipped. Quoted fields may hold separators, doubled quotes
// and line breaks (a CRLF inside a quoted field is read as LF).
type Reader struct {
	br       *bufio.Reader
	opts     Options
	sep      byte
	maxField int
	header   []string

	phys      int // physical lines consumed so far
	lastStart int // line on which the last returned record started
	lineBuf   []byte
	recBuf    []byte
	ends      []int
	err       error // sticky error after a ParseError or EOF
}

// NewReader reads the header line of r and returns a Reader positioned at
// the first data record. An empty input, a missing header, a header with a
// duplicate name or a malformed header is a *ParseError.
func NewReader(r io.Reader, opts Options) (*Reader, error) {
	rd := &Reader{br: bufio.NewReaderSize(r, 64<<10), opts: opts, maxField: opts.MaxFieldBytes}
	if rd.maxField <= 0 {
		rd.maxField = DefaultMaxFieldBytes
	}
	// Skip a UTF-8 byte order mark: spreadsheets write one.
	if b, err := rd.br.Peek(3); err == nil && bytes.Equal(b, []byte{0xEF, 0xBB, 0xBF}) {
		_, _ = rd.br.Discard(3)
	}
	if _, err := rd.br.Peek(1); err == io.EOF {
		return nil, &ParseError{Name: opts.Name, Line: 1, Err: ErrEmpty}
	} else if err != nil {
		return nil, &ParseError{Name: opts.Name, Line: 1, Err: err}
	}
	switch {
	case opts.Sep == 0:
		rd.sep = sniff(rd.br)
	case opts.Sep == '"' || opts.Sep == '\n' || opts.Sep == '\r' || opts.Sep >= utf8.RuneSelf:
		return nil, fmt.Errorf("dataset: separator %q not supported (want a single-byte character other than quote or newline)", opts.Sep)
	default:
		rd.sep = byte(opts.Sep)
	}
	h, err := rd.readRecord()
	if err == io.EOF {
		return nil, &ParseError{Name: opts.Name, Line: rd.phys, Err: ErrNoHeader}
	}
	if err != nil {
		return nil, err
	}
	seen := make(map[string]int, len(h))
	for i, name := range h {
		if j, dup := seen[name]; dup {
			return nil, &ParseError{Name: opts.Name, Line: rd.lastStart, Column: i + 1,
				Err: fmt.Errorf("%w: %q (also column %d)", ErrDupHeader, name, j+1)}
		}
		seen[name] = i
	}
	rd.header = h
	return rd, nil
}

// sniff looks at the first physical line and picks ';' when it has more
// semicolons than commas, else ','.
func sniff(br *bufio.Reader) byte {
	b, _ := br.Peek(br.Size())
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		b = b[:i]
	}
	if bytes.Count(b, []byte{';'}) > bytes.Count(b, []byte{','}) {
		return ';'
	}
	return ','
}

// Header returns the column names of the header line.
func (r *Reader) Header() []string { return r.header }

// Sep returns the separator in use (sniffed or given).
func (r *Reader) Sep() rune { return rune(r.sep) }

// Line returns the 1-based physical line on which the last record returned
// by Next (or the header) started.
func (r *Reader) Line() int { return r.lastStart }

// Next returns the next record, a fresh slice the caller may keep. It
// returns io.EOF after the last record and a *ParseError for a malformed
// one; after an error every later call returns the same error.
func (r *Reader) Next() ([]string, error) {
	if r.err != nil {
		return nil, r.err
	}
	rec, err := r.readRecord()
	if err == nil && len(rec) != len(r.header) {
		err = &ParseError{Name: r.opts.Name, Line: r.lastStart,
			Err: fmt.Errorf("%w: have %d, header has %d", ErrFieldCount, len(rec), len(r.header))}
	}
	if err != nil {
		r.err = err
		return nil, err
	}
	return rec, nil
}

// readLine returns the next physical line including its '\n' (absent at
// the end of input). The slice is valid until the next call.
func (r *Reader) readLine() ([]byte, error) {
	line, err := r.br.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		r.lineBuf = append(r.lineBuf[:0], line...)
		for err == bufio.ErrBufferFull {
			if len(r.lineBuf) > r.maxField*(len(r.header)+1)+len(r.header)*3 {
				return nil, &ParseError{Name: r.opts.Name, Line: r.phys + 1, Err: ErrFieldTooLong}
			}
			line, err = r.br.ReadSlice('\n')
			r.lineBuf = append(r.lineBuf, line...)
		}
		line = r.lineBuf
	}
	if len(line) > 0 && err == io.EOF {
		err = nil
	}
	if err != nil {
		if err != io.EOF {
			err = &ParseError{Name: r.opts.Name, Line: r.phys + 1, Err: fmt.Errorf("read: %w", err)}
		}
		return nil, err
	}
	r.phys++
	return line, nil
}

// readRecord parses one record, skipping blank lines.
func (r *Reader) readRecord() ([]string, error) {
	var line []byte
	var err error
	for {
		line, err = r.readLine()
		if err != nil {
			return nil, err
		}
		if !isBlank(line) {
			break
		}
	}
	r.lastStart = r.phys
	r.recBuf = r.recBuf[:0]
	r.ends = r.ends[:0]
	sep := r.sep
	field := 1
	perr := func(e error) error {
		return &ParseError{Name: r.opts.Name, Line: r.phys, Column: field, Err: e}
	}
	line = trimEOL(line)
fields:
	for {
		start := len(r.recBuf)
		if len(line) == 0 || line[0] != '"' {
			// Unquoted field: up to the next separator or the end of line.
			i := bytes.IndexByte(line, sep)
			f := line
			if i >= 0 {
				f = line[:i]
			}
			if bytes.IndexByte(f, '"') >= 0 {
				return nil, perr(ErrBareQuote)
			}
			if len(f) > r.maxField {
				return nil, perr(ErrFieldTooLong)
			}
			r.recBuf = append(r.recBuf, f...)
			r.ends = append(r.ends, len(r.recBuf))
			if i < 0 {
				break fields
			}
			line = line[i+1:]
			field++
			continue fields
		}
		// Quoted field: may span lines.
		line = line[1:]
		for {
			i := bytes.IndexByte(line, '"')
			if i >= 0 {
				r.recBuf = append(r.recBuf, line[:i]...)
				if len(r.recBuf)-start > r.maxField {
					return nil, perr(ErrFieldTooLong)
				}
				line = line[i+1:]
				switch {
				case len(line) > 0 && line[0] == '"':
					r.recBuf = append(r.recBuf, '"')
					line = line[1:]
				case len(line) == 0:
					r.ends = append(r.ends, len(r.recBuf))
					break fields
				case line[0] == sep:
					line = line[1:]
					r.ends = append(r.ends, len(r.recBuf))
					field++
					continue fields
				default:
					return nil, perr(ErrQuote)
				}
			} else {
				// The field goes on past this line.
				r.recBuf = append(r.recBuf, line...)
				r.recBuf = append(r.recBuf, '\n')
				if len(r.recBuf)-start > r.maxField {
					return nil, perr(ErrFieldTooLong)
				}
				nl, err := r.readLine()
				if err == io.EOF {
					return nil, perr(ErrUnterminated)
				}
				if err != nil {
					return nil, err
				}
				line = trimEOL(nl)
			}
		}
	}
	if !utf8.Valid(r.recBuf) || bytes.IndexByte(r.recBuf, 0) >= 0 {
		prev := 0
		for i, e := range r.ends {
			if !utf8.Valid(r.recBuf[prev:e]) {
				return nil, &ParseError{Name: r.opts.Name, Line: r.lastStart, Column: i + 1, Err: ErrInvalidUTF8}
			}
			if bytes.IndexByte(r.recBuf[prev:e], 0) >= 0 {
				return nil, &ParseError{Name: r.opts.Name, Line: r.lastStart, Column: i + 1, Err: ErrNUL}
			}
			prev = e
		}
	}
	s := string(r.recBuf)
	rec := make([]string, len(r.ends))
	prev := 0
	for i, e := range r.ends {
		rec[i] = s[prev:e]
		prev = e
	}
	return rec, nil
}

// trimEOL drops a trailing "\n" or "\r\n".
func trimEOL(b []byte) []byte {
	if n := len(b); n > 0 && b[n-1] == '\n' {
		b = b[:n-1]
		if n := len(b); n > 0 && b[n-1] == '\r' {
			b = b[:n-1]
		}
	}
	return b
}

// isBlank reports whether a physical line holds nothing but its line end.
func isBlank(b []byte) bool {
	return len(trimEOL(b)) == 0
}
