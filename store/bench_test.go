package store_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/promoflow/promoflow/internal/stacktest"
	"github.com/promoflow/promoflow/store"
)

// BenchmarkIngestCSV ingests the file named by PROMOFLOW_BENCH_CSV (or a
// generated one of 100000 rows) into an empty raw_rows table per
// iteration and reports rows/s. bench/ingest.sh compares it with psql
// \copy of the same rows into the same table.
func BenchmarkIngestCSV(b *testing.B) {
	path := os.Getenv("PROMOFLOW_BENCH_CSV")
	if path == "" {
		path = filepath.Join(b.TempDir(), "bench.csv")
		if err := os.WriteFile(path, []byte(csvRows(100000)), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	ctx := context.Background()
	url := stacktest.PGURL(b)
	s, err := store.Open(ctx, url)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	pool := stacktestPool(b, url)
	var rows int64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		if _, err := pool.Exec(ctx, `TRUNCATE raw_rows, ingested_files`); err != nil {
			b.Fatal(err)
		}
		f, err := os.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		st, err := s.IngestCSV(ctx, store.FileKey{Source: "bench", Day: day1, File: filepath.Base(path)}, f, nil, store.IngestOptions{})
		b.StopTimer()
		f.Close()
		if err != nil {
			b.Fatal(err)
		}
		rows += st.Rows
		b.StartTimer()
	}
	b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(float64(rows)/float64(b.N), "rows/op")
}
