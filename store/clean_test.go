package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/promoflow/promoflow/clean"
	"github.com/promoflow/promoflow/schema"
	"github.com/promoflow/promoflow/store"
)

func ptr(v float64) *float64 { return &v }

// shopConfig is the cleaning configuration the tests share.
var shopConfig = clean.Config{
	Schema: schema.Schema{Columns: []schema.Column{
		{Name: "customer_id", Kind: schema.ID},
		{Name: "age", Kind: schema.Numeric, Required: true, Min: ptr(18), Max: ptr(100)},
		{Name: "orders", Kind: schema.Numeric, Min: ptr(0)},
		{Name: "segment", Kind: schema.Categorical, Levels: []string{"new", "loyal", "lapsed"}},
		{Name: "treated", Kind: schema.Treatment, Levels: []string{"0", "1"}, Control: "0"},
		{Name: "converted", Kind: schema.Target},
	}},
	MaxRowsPerCustomerDay: 3,
	Limits:                []clean.Limit{{Column: "orders", Max: 20}},
}

// fileA holds one row per rule; fileB has its columns in another order.
const fileA = `customer_id,age,orders,segment,treated,converted
c1,30,1,new,0,1
c2,abc,1,new,0,0
c3,NaN,1,new,0,0
c4,,1,new,0,0
c5,10,1,new,0,0
c6,30,1,vip,0,0
c7,30,50,new,0,0
c1,31,1,new,1,0
c9,30,1,new,0,0
c9,30,1,new,0,0
c9,30,2,new,0,0
c9,30,3,new,0,0
,30,1,new,0,0
c10,40,,loyal,1,1
`

const fileB = `converted,treated,segment,orders,age,customer_id
0,1,lapsed,2,33,c1
1,0,"lapsed",4,50,c11
`

func ingest(t *testing.T, s *store.Store, day time.Time, file, data string) {
	t.Helper()
	key := store.FileKey{Source: "shop", Day: day, File: file}
	if _, err := s.IngestCSV(context.Background(), key, strings.NewReader(data), shopConfig.Schema.Names(), store.IngestOptions{}); err != nil {
		t.Fatalf("ingest %s: %v", file, err)
	}
}

func TestCleanRulesAndInvariant(t *testing.T) {
	s, url := newStore(t)
	ctx := context.Background()
	ingest(t, s, day1, "a.csv", fileA)
	ingest(t, s, day1, "b.csv", fileB)

	res, err := s.Clean(ctx, "shop", day1, shopConfig, nil)
	if err != nil {
		t.Fatalf("clean: %v", err)
	}
	// 14 rows in a.csv, 2 in b.csv; clean: c1 (a.csv line 2), c10, c11.
	if res.RowsIn != 16 || res.Clean != 3 || res.Quarantined != 13 || res.Skipped {
		t.Errorf("clean = %d in, %d clean, %d quarantined, skipped %v; want 16, 3, 13, false", res.RowsIn, res.Clean, res.Quarantined, res.Skipped)
	}
	wantRules := map[clean.Rule]int64{"type": 1, "nan": 1, "required": 2, "range": 1, "level": 1, "scalper": 5, "duplicate": 2}
	if fmt.Sprint(res.ByRule) != fmt.Sprint(wantRules) {
		t.Errorf("by rule = %v, want %v", res.ByRule, wantRules)
	}

	pool := stacktestPool(t, url)
	type qrow struct {
		file string
		line int
		rule string
		col  string
		raw  string
	}
	rows, err := pool.Query(ctx, `SELECT file, line, rule, col, raw FROM quarantine ORDER BY file, line`)
	if err != nil {
		t.Fatal(err)
	}
	var got []qrow
	for rows.Next() {
		var q qrow
		if err := rows.Scan(&q.file, &q.line, &q.rule, &q.col, &q.raw); err != nil {
			t.Fatal(err)
		}
		got = append(got, q)
	}
	want := []qrow{
		{"a.csv", 3, "type", "age", "c2,abc,1,new,0,0"},
		{"a.csv", 4, "nan", "age", "c3,NaN,1,new,0,0"},
		{"a.csv", 5, "required", "age", "c4,,1,new,0,0"},
		{"a.csv", 6, "range", "age", "c5,10,1,new,0,0"},
		{"a.csv", 7, "level", "segment", "c6,30,1,vip,0,0"},
		{"a.csv", 8, "scalper", "orders", "c7,30,50,new,0,0"},
		{"a.csv", 9, "duplicate", "customer_id", "c1,31,1,new,1,0"},
		{"a.csv", 10, "scalper", "customer_id", "c9,30,1,new,0,0"},
		{"a.csv", 11, "scalper", "customer_id", "c9,30,1,new,0,0"},
		{"a.csv", 12, "scalper", "customer_id", "c9,30,2,new,0,0"},
		{"a.csv", 13, "scalper", "customer_id", "c9,30,3,new,0,0"},
		{"a.csv", 14, "required", "customer_id", ",30,1,new,0,0"},
		{"b.csv", 2, "duplicate", "customer_id", "0,1,lapsed,2,33,c1"},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("quarantine =\n%v\nwant\n%v", got, want)
	}
	var rowsIn, clean, quar int64
	if err := pool.QueryRow(ctx, `SELECT rows_in, clean, quarantined FROM clean_runs WHERE source = 'shop' AND day = $1`, day1).Scan(&rowsIn, &clean, &quar); err != nil {
		t.Fatal(err)
	}
	if rowsIn != 16 || clean != 3 || quar != 13 {
		t.Errorf("clean_runs = %d, %d, %d; want 16, 3, 13", rowsIn, clean, quar)
	}

	var raw []byte
	if err := pool.QueryRow(ctx, `SELECT summary FROM dq_summary WHERE source = 'shop' AND day = $1`, day1).Scan(&raw); err != nil {
		t.Fatal(err)
	}
	var sum store.DQSummary
	if err := json.Unmarshal(raw, &sum); err != nil {
		t.Fatal(err)
	}
	age := sum.Columns[1]
	// age is empty on 1 of 16 rows; the clean ages are 30, 40 and 50.
	if age.Name != "age" || age.Nulls != 1 || age.NullShare != 1.0/16 || age.Count != 3 || *age.Min != 30 || *age.Max != 50 || *age.Mean != 40 {
		t.Errorf("age summary = %+v (min %v max %v mean %v), want 1 null (share 1/16), 3 values, min 30, max 50, mean 40", age, *age.Min, *age.Max, *age.Mean)
	}
	if sum.ByRule["scalper"] != 5 || sum.Files["a.csv"] != 14 || sum.Files["b.csv"] != 2 {
		t.Errorf("summary rules %v files %v, want 5 scalper rows, 14 and 2 rows per file", sum.ByRule, sum.Files)
	}

	// The same files and config again: nothing is rewritten.
	again, err := s.Clean(ctx, "shop", day1, shopConfig, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !again.Skipped || again.Clean != 3 || again.Quarantined != 13 || fmt.Sprint(again.ByRule) != fmt.Sprint(wantRules) {
		t.Errorf("re-run = %+v, want skipped with the same counts", again)
	}

	// A late file for the day: the day is cleaned again from scratch.
	ingest(t, s, day1, "c.csv", "customer_id,age,orders,segment,treated,converted\nc12,60,0,new,0,0\nc11,61,0,new,0,0\n")
	late, err := s.Clean(ctx, "shop", day1, shopConfig, nil)
	if err != nil {
		t.Fatal(err)
	}
	if late.Skipped || late.RowsIn != 18 || late.Clean != 4 || late.Quarantined != 14 {
		t.Errorf("after a late file = %+v, want 18 in, 4 clean, 14 quarantined", late)
	}
	if got := count(t, url, `SELECT count(*) FROM clean_rows`) + count(t, url, `SELECT count(*) FROM quarantine`); got != 18 {
		t.Errorf("clean + quarantine tables hold %d rows, want 18", got)
	}
}

func TestCleanWithoutFiles(t *testing.T) {
	s, _ := newStore(t)
	_, err := s.Clean(context.Background(), "shop", day1, shopConfig, nil)
	if !errors.Is(err, store.ErrNoFiles) {
		t.Errorf("clean of a day without files: got %v, want ErrNoFiles", err)
	}
}

func TestLoadClean(t *testing.T) {
	s, _ := newStore(t)
	ctx := context.Background()
	day2 := day1.AddDate(0, 0, 1)
	ingest(t, s, day1, "b.csv", fileB)
	ingest(t, s, day1, "a.csv", fileA)
	ingest(t, s, day2, "a.csv", "customer_id,age,orders,segment,treated,converted\nc1,44,0,new,0,1\n")
	if _, _, err := s.LoadClean(ctx, "shop", day1, day2); !errors.Is(err, store.ErrNoCleanData) {
		t.Errorf("load before cleaning: got %v, want ErrNoCleanData", err)
	}
	for _, d := range []time.Time{day1, day2} {
		if _, err := s.Clean(ctx, "shop", d, shopConfig, nil); err != nil {
			t.Fatal(err)
		}
	}
	tab, fp, err := s.LoadClean(ctx, "shop", day1, day2)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(tab.Header, ","), strings.Join(shopConfig.Schema.Names(), ","); got != want {
		t.Errorf("header = %s, want %s", got, want)
	}
	var got []string
	for _, r := range tab.Rows {
		got = append(got, strings.Join(r, ","))
	}
	// Ordered by day, file, line; b.csv's columns are mapped to the schema.
	want := []string{"c1,30,1,new,0,1", "c10,40,,loyal,1,1", "c11,50,4,lapsed,0,1", "c1,44,0,new,0,1"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("rows = %v, want %v", got, want)
	}
	_, fp2, err := s.LoadClean(ctx, "shop", day1, day2)
	if err != nil {
		t.Fatal(err)
	}
	one, fp1, err := s.LoadClean(ctx, "shop", day1, day1)
	if err != nil {
		t.Fatal(err)
	}
	if fp != fp2 || len(fp) != 64 {
		t.Errorf("fingerprints of the same window: %s and %s, want equal sha256s", fp, fp2)
	}
	if fp1 == fp || len(one.Rows) != 3 {
		t.Errorf("one-day window: %d rows, fingerprint %s; want 3 rows and a fingerprint other than %s", len(one.Rows), fp1, fp)
	}
}

func TestStatus(t *testing.T) {
	s, _ := newStore(t)
	ctx := context.Background()
	day2 := day1.AddDate(0, 0, 1)
	ingest(t, s, day1, "a.csv", fileA)
	ingest(t, s, day1, "b.csv", fileB)
	ingest(t, s, day2, "a.csv", "customer_id,age,orders,segment,treated,converted\nc1,44,0,new,0,1\n")
	if _, err := s.Clean(ctx, "shop", day1, shopConfig, nil); err != nil {
		t.Fatal(err)
	}
	st, err := s.Status(ctx, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(st) != 2 {
		t.Fatalf("status has %d days, want 2: %+v", len(st), st)
	}
	if d := st[0]; !d.Day.Equal(day2) || d.Files != 1 || d.Rows != 1 || d.Cleaned {
		t.Errorf("newest day = %+v, want %s, 1 file, 1 row, not cleaned", d, day2)
	}
	if d := st[1]; !d.Day.Equal(day1) || d.Files != 2 || d.Rows != 16 || !d.Cleaned || d.Clean != 3 || d.Quarantined != 13 || d.ByRule["scalper"] != 5 {
		t.Errorf("first day = %+v, want 2 files, 16 rows, 3 clean, 13 quarantined, 5 scalper", d)
	}
	one, err := s.Status(ctx, "shop", 1)
	if err != nil || len(one) != 1 {
		t.Errorf("status limited to 1: %v, %v", one, err)
	}
}
