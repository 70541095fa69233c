package stacktest

import (
	"bytes"
	"context"
	"io"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
)

// TestPostgresRoundTrip writes rows to a table in a fresh schema and reads
// them back from the real server.
func TestPostgresRoundTrip(t *testing.T) {
	pool := PGPool(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := pool.Exec(ctx, "CREATE TABLE round_trip (id int PRIMARY KEY, name text NOT NULL)"); err != nil {
		t.Fatal(err)
	}
	want := map[int]string{1: "bank", 2: "hillstrom", 3: "ünïcode; 'quoted'"}
	for id, name := range want {
		if _, err := pool.Exec(ctx, "INSERT INTO round_trip (id, name) VALUES ($1, $2)", id, name); err != nil {
			t.Fatal(err)
		}
	}
	rows, err := pool.Query(ctx, "SELECT id, name FROM round_trip")
	if err != nil {
		t.Fatal(err)
	}
	got := map[int]string{}
	for rows.Next() {
		var id int
		var name string
		if err := rows.Scan(&id, &name); err != nil {
			t.Fatal(err)
		}
		got[id] = name
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("got %d rows, want %d", len(got), len(want))
	}
	for id, name := range want {
		if got[id] != name {
			t.Errorf("row %d = %q, want %q", id, got[id], name)
		}
	}
}

// TestMinIORoundTrip puts an object into a fresh bucket and reads it back.
func TestMinIORoundTrip(t *testing.T) {
	c := MinIO(t)
	bucket := Bucket(t, c)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	body := bytes.Repeat([]byte("promoflow,"), 10000)
	info, err := c.PutObject(ctx, bucket, "a/b/object.csv", bytes.NewReader(body), int64(len(body)), minio.PutObjectOptions{ContentType: "text/csv"})
	if err != nil {
		t.Fatal(err)
	}
	if info.Size != int64(len(body)) {
		t.Errorf("put size = %d, want %d", info.Size, len(body))
	}
	obj, err := c.GetObject(ctx, bucket, "a/b/object.csv", minio.GetObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer obj.Close()
	got, err := io.ReadAll(obj)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, body) {
		t.Errorf("read back %d bytes differing from the %d written", len(got), len(body))
	}
}
