package control

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/promoflow/promoflow/clean"
	"github.com/promoflow/promoflow/internal/stacktest"
	"github.com/promoflow/promoflow/schema"
	"github.com/promoflow/promoflow/store"
)

// TestIngestLocal ingests two local files of a day on the real PostgreSQL
// and cleans the day: a row out of range is quarantined, a second ingest
// of the same file writes nothing, and a malformed file comes back as the
// store's own error naming its line, without a Temporal wrapper.
func TestIngestLocal(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	st := store.New(stacktest.PGPool(t))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	lo, hi := 0.0, 120.0
	clean := clean.Config{Schema: schema.Schema{Columns: []schema.Column{
		{Name: "customer_id", Kind: schema.ID},
		{Name: "age", Kind: schema.Numeric, Min: &lo, Max: &hi},
		{Name: "converted", Kind: schema.Target},
	}}}
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	a := write("a.csv", "customer_id,age,converted\nc1,30,1\nc2,40,0\n")
	b := write("b.csv", "customer_id,age,converted\nc3,200,1\n")
	source := stacktest.Unique("local-")
	in := LocalIngest{Source: source, Day: "2026-11-01", Files: []string{a, b, a}, Clean: clean}
	var seen []string
	res, err := IngestLocal(ctx, st, in, func(path string, s store.IngestStats) {
		seen = append(seen, filepath.Base(path)+map[bool]string{true: " again", false: ""}[s.AlreadyIngested])
	})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(seen, ", "), "a.csv, b.csv, a.csv again"; got != want {
		t.Errorf("files reported %q, want %q", got, want)
	}
	if res.RowsIn != 3 || res.Clean != 2 || res.Quarantined != 1 {
		t.Errorf("clean = %d in, %d clean, %d quarantined; want 3, 2, 1", res.RowsIn, res.Clean, res.Quarantined)
	}

	bad := write("bad.csv", "customer_id,age,converted\nc4,\"50,1\n")
	_, err = IngestLocal(ctx, st, LocalIngest{Source: source, Day: "2026-11-02", Files: []string{bad}, Clean: clean}, func(string, store.IngestStats) {})
	var ie *store.InputError
	if !errors.As(err, &ie) || strings.Contains(err.Error(), "\n") || strings.Contains(err.Error(), "ApplicationError") {
		t.Errorf("malformed file: %v, want one line of *store.InputError", err)
	}
}
