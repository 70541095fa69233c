package store_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/promoflow/promoflow/internal/stacktest"
	"github.com/promoflow/promoflow/store"
)

// newStore opens a store on a fresh schema and migrates it.
func newStore(t *testing.T) (*store.Store, string) {
	t.Helper()
	url := stacktest.PGURL(t)
	s := openStore(t, url)
	if _, err := s.Migrate(context.Background()); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	return s, url
}

func openStore(t *testing.T, url string) *store.Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := store.Open(ctx, url)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(s.Close)
	return s
}

// count runs a count(*) query.
func count(t *testing.T, url, query string, args ...any) int64 {
	t.Helper()
	pool := stacktestPool(t, url)
	var n int64
	if err := pool.QueryRow(context.Background(), query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

func TestMigrationsAreOrderedAndNamed(t *testing.T) {
	ms, err := store.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) == 0 {
		t.Fatal("no embedded migrations")
	}
	for i, m := range ms {
		if m.Version != i+1 {
			t.Errorf("migration %d has version %d, want %d (no gaps)", i, m.Version, i+1)
		}
		if m.Name == "" || m.SQL == "" {
			t.Errorf("migration %d: empty name or body", m.Version)
		}
	}
}

func TestMigrateTwiceAndConcurrently(t *testing.T) {
	url := stacktest.PGURL(t)
	ms, err := store.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	// Two workers start at once on an empty schema.
	a, b := openStore(t, url), openStore(t, url)
	var wg sync.WaitGroup
	applied := make([][]int, 2)
	errs := make([]error, 2)
	for i, s := range []*store.Store{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			applied[i], errs[i] = s.Migrate(context.Background())
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("migrate %d: %v", i, err)
		}
	}
	if got := len(applied[0]) + len(applied[1]); got != len(ms) {
		t.Errorf("the two workers applied %d and %d migrations, want %d in all", len(applied[0]), len(applied[1]), len(ms))
	}
	again, err := a.Migrate(context.Background())
	if err != nil {
		t.Fatalf("migrate again: %v", err)
	}
	if len(again) != 0 {
		t.Errorf("second migrate applied %v, want nothing", again)
	}
	if got := count(t, url, `SELECT count(*) FROM schema_migrations`); got != int64(len(ms)) {
		t.Errorf("schema_migrations has %d rows, want %d", got, len(ms))
	}
}

// stacktestPool opens a pool on the test's schema for checks behind the
// store's back.
func stacktestPool(t testing.TB, url string) *pgxpool.Pool {
	t.Helper()
	pool, err := pgxpool.New(context.Background(), url)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(pool.Close)
	return pool
}
