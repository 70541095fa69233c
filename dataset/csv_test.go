package dataset

import (
	"bytes"
	"encoding/csv"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func readAll(t *testing.T, in string, opts Options) (*Table, error) {
	t.Helper()
	return Read(strings.NewReader(in), opts)
}

func TestReadValid(t *testing.T) {
	tests := []struct {
		name   string
		in     string
		opts   Options
		header []string
		rows   [][]string
	}{
		{"comma", "a,b\n1,2\n3,4\n", Options{}, []string{"a", "b"}, [][]string{{"1", "2"}, {"3", "4"}}},
		{"semicolon sniffed", "\"a\";\"b\"\n1;\"x,y\"\n", Options{}, []string{"a", "b"}, [][]string{{"1", "x,y"}}},
		{"tie sniffs comma", "a;b,c\n1;2,3\n", Options{}, []string{"a;b", "c"}, [][]string{{"1;2", "3"}}},
		{"explicit sep", "a|b\n1|2\n", Options{Sep: '|'}, []string{"a", "b"}, [][]string{{"1", "2"}}},
		{"no trailing newline", "a,b\n1,2", Options{}, []string{"a", "b"}, [][]string{{"1", "2"}}},
		{"crlf", "a,b\r\n1,2\r\n", Options{}, []string{"a", "b"}, [][]string{{"1", "2"}}},
		{"blank lines skipped", "a,b\n\n1,2\n\r\n\n3,4\n\n", Options{}, []string{"a", "b"}, [][]string{{"1", "2"}, {"3", "4"}}},
		{"quoted newline and quotes", "a,b\n\"x\r\ny\",\"he said \"\"hi\"\"\"\n", Options{}, []string{"a", "b"}, [][]string{{"x\ny", `he said "hi"`}}},
		{"empty fields", "a,b,c\n,,\n\"\",,\"\"\n", Options{}, []string{"a", "b", "c"}, [][]string{{"", "", ""}, {"", "", ""}}},
		{"bom", "\xEF\xBB\xBFa,b\n1,2\n", Options{}, []string{"a", "b"}, [][]string{{"1", "2"}}},
		{"header only", "a,b\n", Options{}, []string{"a", "b"}, nil},
		{"utf8", "name,city\nJosé,Zürich\n", Options{}, []string{"name", "city"}, [][]string{{"José", "Zürich"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tbl, err := readAll(t, tc.in, tc.opts)
			if err != nil {
				t.Fatalf("Read: %v", err)
			}
			if !reflect.DeepEqual(tbl.Header, tc.header) {
				t.Errorf("header = %q, want %q", tbl.Header, tc.header)
			}
			if !reflect.DeepEqual(tbl.Rows, tc.rows) {
				t.Errorf("rows = %q, want %q", tbl.Rows, tc.rows)
			}
		})
	}
}

func TestReadErrors(t *testing.T) {
	tests := []struct {
		name       string
		in         string
		opts       Options
		wantErr    error
		line, col  int
		wantInText string
	}{
		{"empty file", "", Options{Name: "e.csv"}, ErrEmpty, 1, 0, "e.csv:1: empty input"},
		{"only blank lines", "\n\n", Options{}, ErrNoHeader, 2, 0, "no header"},
		{"too few fields", "a,b\n1,2\n3\n", Options{Name: "f.csv"}, ErrFieldCount, 3, 0, "f.csv:3: wrong number of fields: have 1, header has 2"},
		{"too many fields", "a,b\n1,2,3\n", Options{}, ErrFieldCount, 2, 0, "have 3"},
		{"bare quote", "a,b\n1,x\"y\n", Options{}, ErrBareQuote, 2, 2, "column 2"},
		{"text after closing quote", "a,b\n\"1\"x,2\n", Options{}, ErrQuote, 2, 1, "column 1"},
		{"unterminated quote", "a,b\n1,\"abc\n", Options{}, ErrUnterminated, 2, 2, "unterminated"},
		{"unterminated over lines", "a,b\n1,2\n3,\"x\ny\nz", Options{}, ErrUnterminated, 5, 2, ":5:"},
		{"invalid utf8", "a,b\n1,\xff\n", Options{Name: "u.csv"}, ErrInvalidUTF8, 2, 2, "u.csv:2: column 2: invalid UTF-8"},
		{"invalid utf8 in header", "a,\xc3\n", Options{}, ErrInvalidUTF8, 1, 2, "column 2"},
		{"NUL byte", "a,b\n1,x\x00y\n", Options{Name: "n.csv"}, ErrNUL, 2, 2, "n.csv:2: column 2: NUL byte"},
		{"field too long", "a,b\n1,12345\n", Options{MaxFieldBytes: 4}, ErrFieldTooLong, 2, 2, "too long"},
		{"quoted field too long", "a,b\n1,\"12\n345\"\n", Options{MaxFieldBytes: 4}, ErrFieldTooLong, 3, 2, "too long"},
		{"duplicate header", "a,b,a\n1,2,3\n", Options{}, ErrDupHeader, 1, 3, "duplicate"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := readAll(t, tc.in, tc.opts)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("Read error = %v, want %v", err, tc.wantErr)
			}
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("Read error %T is not a *ParseError", err)
			}
			if pe.Line != tc.line || pe.Column != tc.col {
				t.Errorf("error at line %d column %d, want line %d column %d", pe.Line, pe.Column, tc.line, tc.col)
			}
			if !strings.Contains(err.Error(), tc.wantInText) {
				t.Errorf("error text %q does not contain %q", err.Error(), tc.wantInText)
			}
		})
	}
}

func TestReaderLineNumbers(t *testing.T) {
	in := "a,b\n1,2\n\n\"x\ny\",3\n4,5"
	rd, err := NewReader(strings.NewReader(in), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := rd.Line(); got != 1 {
		t.Errorf("header Line() = %d, want 1", got)
	}
	var got []int
	for {
		_, err := rd.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, rd.Line())
	}
	if want := []int{2, 4, 6}; !reflect.DeepEqual(got, want) {
		t.Errorf("record lines = %v, want %v", got, want)
	}
	// EOF is sticky.
	if _, err := rd.Next(); err != io.EOF {
		t.Errorf("Next after EOF = %v, want io.EOF", err)
	}
}

func TestErrorIsSticky(t *testing.T) {
	rd, err := NewReader(strings.NewReader("a,b\n1\n2,3\n"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	_, err1 := rd.Next()
	_, err2 := rd.Next()
	if err1 == nil || err1 != err2 {
		t.Errorf("errors = %v then %v, want the same ParseError twice", err1, err2)
	}
}

func TestTableHelpers(t *testing.T) {
	tbl, err := readAll(t, "id,x\n1,a\n2,b\n3,c\n", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if j, ok := tbl.Col("x"); !ok || j != 1 {
		t.Errorf("Col(x) = %d, %v, want 1, true", j, ok)
	}
	if _, ok := tbl.Col("nope"); ok {
		t.Error("Col(nope) found a column")
	}
	col, err := tbl.Column("x")
	if err != nil || !reflect.DeepEqual(col, []string{"a", "b", "c"}) {
		t.Errorf("Column(x) = %q, %v", col, err)
	}
	if _, err := tbl.Column("nope"); err == nil {
		t.Error("Column(nope) gave no error")
	}
	sub := tbl.Subset([]int{2, 0})
	if want := [][]string{{"3", "c"}, {"1", "a"}}; !reflect.DeepEqual(sub.Rows, want) {
		t.Errorf("Subset rows = %q, want %q", sub.Rows, want)
	}
}

func TestWriteRoundTrip(t *testing.T) {
	in := &Table{Header: []string{"a", "b c", "d"}, Rows: [][]string{
		{"1", "x;y", `q"uote`},
		{"", "multi\nline", " lead"},
	}}
	for _, sep := range []rune{0, ';'} {
		var buf bytes.Buffer
		if err := in.Write(&buf, sep); err != nil {
			t.Fatal(err)
		}
		got, err := Read(&buf, Options{Sep: sep})
		if err != nil {
			t.Fatalf("sep %q: read back: %v", sep, err)
		}
		if !reflect.DeepEqual(got, in) {
			t.Errorf("sep %q: round trip = %q, want %q", sep, got, in)
		}
	}
}

func TestReadFileNamesFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bad.csv")
	if err := os.WriteFile(path, []byte("a,b\n1,2\n3\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := ReadFile(path, Options{})
	if err == nil || !strings.Contains(err.Error(), path+":3:") {
		t.Errorf("ReadFile error = %v, want it to name %s:3", err, path)
	}
	if _, err := ReadFile(filepath.Join(t.TempDir(), "missing.csv"), Options{}); err == nil {
		t.Error("ReadFile of a missing file gave no error")
	}
}

// TestSharedData reads the shared data sets when they are present.
func TestSharedData(t *testing.T) {
	dir := os.Getenv("PROMOFLOW_SHARED_DATA")
	if dir == "" {
		dir = "../../shared/data"
	}
	tests := []struct {
		file string
		rows int
		cols int
		sep  rune
	}{
		{"bank-full.csv", 45211, 17, ';'},
		{"hillstrom.csv", 64000, 12, ','},
	}
	for _, tc := range tests {
		path := filepath.Join(dir, tc.file)
		f, err := os.Open(path)
		if err != nil {
			t.Skipf("shared data absent: %v", err)
		}
		rd, err := NewReader(f, Options{Name: path})
		if err != nil {
			f.Close()
			t.Fatal(err)
		}
		if rd.Sep() != tc.sep {
			t.Errorf("%s: sniffed %q, want %q", tc.file, rd.Sep(), tc.sep)
		}
		n := 0
		for {
			if _, err = rd.Next(); err != nil {
				break
			}
			n++
		}
		f.Close()
		if err != io.EOF {
			t.Fatalf("%s: %v", tc.file, err)
		}
		if n != tc.rows || len(rd.Header()) != tc.cols {
			t.Errorf("%s: %d rows x %d cols, want %d x %d", tc.file, n, len(rd.Header()), tc.rows, tc.cols)
		}
	}
}

// FuzzReader checks that the reader never panics and agrees with
// encoding/csv on inputs both accept.
func FuzzReader(f *testing.F) {
	for _, s := range []string{
		"a,b\n1,2\n",
		"a;b\n\"x;y\";2\n",
		"a,b\n\"x\ny\",\"q\"\"\"\n",
		"a,b\n1\n",
		"a,b\n1,\"2",
		"\xEF\xBB\xBFa,b\r\n1,2\r\n",
		"a,b\n\n\n3,\xff\n",
		"",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got, err := Read(strings.NewReader(in), Options{Sep: ',', MaxFieldBytes: 1 << 10})
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("error %v (%T) is not a *ParseError", err, err)
			}
			if pe.Line < 1 {
				t.Fatalf("error %v has line %d", err, pe.Line)
			}
			return
		}
		for i, r := range got.Rows {
			if len(r) != len(got.Header) {
				t.Fatalf("row %d has %d fields, header %d", i, len(r), len(got.Header))
			}
		}
		// encoding/csv differs on BOM, leading-space and \r handling; compare
		// only on plain inputs.
		if strings.ContainsAny(in, "\r\uFEFF") {
			return
		}
		cr := csv.NewReader(strings.NewReader(in))
		want, werr := cr.ReadAll()
		if werr != nil || len(want) == 0 {
			return
		}
		all := append([][]string{got.Header}, got.Rows...)
		if !reflect.DeepEqual(all, want) {
			t.Fatalf("records %q, encoding/csv %q", all, want)
		}
	})
}
