package store_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/promoflow/promoflow/dataset"
	"github.com/promoflow/promoflow/store"
)

var day1 = time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)

var columns = []string{"customer_id", "age", "orders", "segment", "treated", "converted"}

// csvRows returns a well-formed file of n rows.
func csvRows(n int) string {
	var b strings.Builder
	b.WriteString(strings.Join(columns, ",") + "\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "c%06d,%d,%d,%s,%d,%d\n", i, 20+i%50, i%5, []string{"new", "loyal", "lapsed"}[i%3], i%2, i%7/6)
	}
	return b.String()
}

// failingSource wraps a RowSource and fails after n rows, like a stream
// that breaks in the middle of a COPY.
type failingSource struct {
	store.RowSource
	n, done int
}

var _ store.RowSource = (*failingSource)(nil)

var errInjected = errors.New("injected failure")

func (f *failingSource) Next() (int, []string, error) {
	if f.done == f.n {
		return 0, nil, errInjected
	}
	f.done++
	return f.RowSource.Next()
}

func TestIngestRetryAfterFailureMidCopyLeavesOneCopy(t *testing.T) {
	s, url := newStore(t)
	ctx := context.Background()
	key := store.FileKey{Source: "shop", Day: day1, File: "a.csv"}
	data := csvRows(5000)

	src, err := store.NewCSVSource(strings.NewReader(data), key.File, columns)
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Ingest(ctx, key, &failingSource{RowSource: src, n: 3000}, store.IngestOptions{})
	if !errors.Is(err, errInjected) {
		t.Fatalf("ingest with a failure after 3000 rows: got %v, want the injected error", err)
	}
	if got := count(t, url, `SELECT count(*) FROM raw_rows`); got != 0 {
		t.Errorf("after the failed attempt raw_rows has %d rows, want 0", got)
	}
	if got := count(t, url, `SELECT count(*) FROM ingested_files`); got != 0 {
		t.Errorf("after the failed attempt ingested_files has %d rows, want 0", got)
	}

	var progress []int64
	st, err := s.IngestCSV(ctx, key, strings.NewReader(data), columns, store.IngestOptions{
		Progress: func(n int64) { progress = append(progress, n) }, ProgressEvery: 1000})
	if err != nil {
		t.Fatalf("retry: %v", err)
	}
	if st.Rows != 5000 || st.AlreadyIngested || st.Bytes != int64(len(data)) || len(st.SHA256) != 64 {
		t.Errorf("retry stats = %+v, want 5000 rows, %d bytes, a sha256, not already ingested", st, len(data))
	}
	if want := []int64{1000, 2000, 3000, 4000, 5000}; fmt.Sprint(progress) != fmt.Sprint(want) {
		t.Errorf("progress = %v, want %v", progress, want)
	}
	// A second run of the same day inserts nothing.
	again, err := s.IngestCSV(ctx, key, strings.NewReader(data), columns, store.IngestOptions{})
	if err != nil {
		t.Fatalf("second run: %v", err)
	}
	if !again.AlreadyIngested || again.Rows != 5000 || again.SHA256 != st.SHA256 {
		t.Errorf("second run = %+v, want already ingested with 5000 rows and sha %s", again, st.SHA256)
	}
	if got := count(t, url, `SELECT count(*) FROM raw_rows`); got != 5000 {
		t.Errorf("raw_rows has %d rows, want exactly one copy of 5000", got)
	}
	var rows, bytes int64
	var header []string
	pool := stacktestPool(t, url)
	if err := pool.QueryRow(ctx, `SELECT rows, bytes, header FROM ingested_files WHERE source = 'shop' AND file = 'a.csv'`).Scan(&rows, &bytes, &header); err != nil {
		t.Fatal(err)
	}
	if rows != 5000 || bytes != int64(len(data)) || strings.Join(header, ",") != strings.Join(columns, ",") {
		t.Errorf("ingested_files = %d rows, %d bytes, header %v; want 5000, %d, %v", rows, bytes, header, len(data), columns)
	}
	// The first data record is on line 2.
	var first []string
	if err := pool.QueryRow(ctx, `SELECT fields FROM raw_rows WHERE line = 2`).Scan(&first); err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(first, ","), "c000000,20,0,new,0,0"; got != want {
		t.Errorf("line 2 = %s, want %s", got, want)
	}
}

// slowReader yields its data a little at a time and cancels a context
// once half of it was read, as if the worker died in the middle of a COPY.
type slowReader struct {
	data   string
	off    int
	cancel func()
}

func (r *slowReader) Read(p []byte) (int, error) {
	if r.off >= len(r.data) {
		return 0, io.EOF
	}
	if r.off > len(r.data)/2 && r.cancel != nil {
		r.cancel()
		r.cancel = nil
		time.Sleep(50 * time.Millisecond)
	}
	n := copy(p[:min(len(p), 4096)], r.data[r.off:])
	r.off += n
	return n, nil
}

func TestIngestResumesAfterWorkerDiesMidCopy(t *testing.T) {
	s, url := newStore(t)
	key := store.FileKey{Source: "shop", Day: day1, File: "big.csv"}
	data := csvRows(20000)
	ctx, cancel := context.WithCancel(context.Background())
	_, err := s.IngestCSV(ctx, key, &slowReader{data: data, cancel: cancel}, columns, store.IngestOptions{})
	if err == nil {
		t.Fatal("ingest whose context was cancelled mid-COPY succeeded")
	}
	if got := count(t, url, `SELECT count(*) FROM raw_rows`); got != 0 {
		t.Errorf("after the killed attempt raw_rows has %d rows, want 0", got)
	}
	st, err := s.IngestCSV(context.Background(), key, strings.NewReader(data), columns, store.IngestOptions{})
	if err != nil {
		t.Fatalf("retry: %v", err)
	}
	if st.Rows != 20000 {
		t.Errorf("retry copied %d rows, want 20000", st.Rows)
	}
	if got := count(t, url, `SELECT count(*) FROM raw_rows`); got != 20000 {
		t.Errorf("raw_rows has %d rows, want 20000", got)
	}
}

func TestIngestConcurrentSameFileOneCopy(t *testing.T) {
	s, url := newStore(t)
	key := store.FileKey{Source: "shop", Day: day1, File: "a.csv"}
	data := csvRows(3000)
	var wg sync.WaitGroup
	res := make([]store.IngestStats, 2)
	errs := make([]error, 2)
	for i := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res[i], errs[i] = s.IngestCSV(context.Background(), key, strings.NewReader(data), columns, store.IngestOptions{})
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("ingest %d: %v", i, err)
		}
	}
	if res[0].AlreadyIngested == res[1].AlreadyIngested {
		t.Errorf("already ingested = %v and %v, want exactly one of the two", res[0].AlreadyIngested, res[1].AlreadyIngested)
	}
	if got := count(t, url, `SELECT count(*) FROM raw_rows`); got != 3000 {
		t.Errorf("raw_rows has %d rows, want 3000", got)
	}
}

func TestIngestChangedFileIsRefused(t *testing.T) {
	s, url := newStore(t)
	ctx := context.Background()
	key := store.FileKey{Source: "shop", Day: day1, File: "a.csv"}
	if _, err := s.IngestCSV(ctx, key, strings.NewReader(csvRows(10)), columns, store.IngestOptions{}); err != nil {
		t.Fatal(err)
	}
	_, err := s.IngestCSV(ctx, key, strings.NewReader(csvRows(11)), columns, store.IngestOptions{})
	var ce *store.ChangedError
	if !errors.As(err, &ce) {
		t.Fatalf("ingest of changed content: got %v, want a *store.ChangedError", err)
	}
	if ce.IngestedRows != 10 || ce.Now == ce.Ingested {
		t.Errorf("changed error = %+v, want 10 rows ingested and two checksums", ce)
	}
	if got := count(t, url, `SELECT count(*) FROM raw_rows`); got != 10 {
		t.Errorf("raw_rows has %d rows, want the first 10 only", got)
	}
}

func TestIngestBadInput(t *testing.T) {
	header := strings.Join(columns, ",") + "\n"
	tests := []struct {
		name       string
		data       string
		line, col  int
		wantErr    error
		wantSubstr string
	}{
		{"empty file", "", 1, 0, dataset.ErrEmpty, "empty input"},
		{"header only", header, 2, 0, store.ErrNoRows, "no data rows"},
		{"header not the schema", "customer_id,age,orders,segment,treated,bought\nc1,30,1,new,0,1\n", 1, 6, store.ErrHeader, `missing "converted"; unexpected "bought"`},
		{"header missing a column", "customer_id,age,orders,segment,treated\nc1,30,1,new,0\n", 1, 0, store.ErrHeader, `missing "converted"`},
		{"not csv: json", `{"customer_id": "c1", "age": 30}` + "\n", 1, 1, dataset.ErrBareQuote, "bare"},
		{"not csv: binary", "\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff\x01\x02", 1, 1, dataset.ErrInvalidUTF8, "invalid UTF-8"},
		{"truncated last line", header + "c1,30,1,new,0,1\nc2,31,2,lo", 3, 0, dataset.ErrFieldCount, "wrong number of fields"},
		{"truncated quoted field", header + "c1,30,1,new,0,1\nc2,31,2,\"loy", 3, 4, dataset.ErrUnterminated, "unterminated"},
		{"invalid utf-8", header + "c1,30,1,new,0,1\nc2,31,2,l\xffyal,0,1\n", 3, 4, dataset.ErrInvalidUTF8, "invalid UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, url := newStore(t)
			key := store.FileKey{Source: "shop", Day: day1, File: "bad.csv"}
			_, err := s.IngestCSV(context.Background(), key, strings.NewReader(tt.data), columns, store.IngestOptions{})
			var ie *store.InputError
			if !errors.As(err, &ie) {
				t.Fatalf("got %v, want a *store.InputError", err)
			}
			if ie.File != "bad.csv" || ie.Line != tt.line || ie.Column != tt.col {
				t.Errorf("error at %s line %d column %d, want bad.csv line %d column %d (%v)", ie.File, ie.Line, ie.Column, tt.line, tt.col, err)
			}
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("error %v does not wrap %v", err, tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantSubstr) || !strings.Contains(err.Error(), "bad.csv") {
				t.Errorf("error %q does not name the file and say %q", err, tt.wantSubstr)
			}
			for _, table := range []string{"raw_rows", "ingested_files"} {
				if got := count(t, url, `SELECT count(*) FROM `+table); got != 0 {
					t.Errorf("%s has %d rows after bad input, want 0", table, got)
				}
			}
		})
	}
}

// brokenReader returns part of a file, then a network error.
type brokenReader struct {
	data string
	err  error
}

func (r *brokenReader) Read(p []byte) (int, error) {
	if r.data == "" {
		return 0, r.err
	}
	n := copy(p, r.data)
	r.data = r.data[n:]
	return n, nil
}

func TestIngestReadFailureIsNotInputError(t *testing.T) {
	s, url := newStore(t)
	netErr := errors.New("connection reset by peer")
	key := store.FileKey{Source: "shop", Day: day1, File: "a.csv"}
	data := csvRows(100)
	_, err := s.IngestCSV(context.Background(), key, &brokenReader{data: data[:len(data)/2], err: netErr}, columns, store.IngestOptions{})
	var ie *store.InputError
	if errors.As(err, &ie) {
		t.Fatalf("a read failure was reported as bad input: %v", err)
	}
	if !errors.Is(err, netErr) {
		t.Fatalf("got %v, want the read error wrapped", err)
	}
	if got := count(t, url, `SELECT count(*) FROM raw_rows`); got != 0 {
		t.Errorf("raw_rows has %d rows, want 0", got)
	}
}
