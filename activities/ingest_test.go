package activities_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/promoflow/promoflow/activities"
	"github.com/promoflow/promoflow/clean"
	"github.com/promoflow/promoflow/internal/stacktest"
	"github.com/promoflow/promoflow/schema"
	"github.com/promoflow/promoflow/store"
	"github.com/promoflow/promoflow/workflows"
)

const day = "2026-03-02"

func ptr(v float64) *float64 { return &v }

var shopSchema = schema.Schema{Columns: []schema.Column{
	{Name: "customer_id", Kind: schema.ID},
	{Name: "age", Kind: schema.Numeric, Required: true, Min: ptr(18), Max: ptr(100)},
	{Name: "orders", Kind: schema.Numeric, Min: ptr(0)},
	{Name: "converted", Kind: schema.Target},
}}

// shopCSV is a file of n rows; every tenth row has an age out of range.
func shopCSV(n int) string {
	var b strings.Builder
	b.WriteString("customer_id,age,orders,converted\n")
	for i := range n {
		age := 20 + i%60
		if i%10 == 9 {
			age = 150
		}
		fmt.Fprintf(&b, "c%d,%d,%d,%d\n", i, age, i%4, i%2)
	}
	return b.String()
}

// dataSteps are the ingest and clean activities on one store.
type dataSteps struct {
	ingest *activities.Ingest
	clean  *activities.Clean
}

// register puts both activity groups on env.
func (d *dataSteps) register(env *testsuite.TestActivityEnvironment) {
	env.RegisterActivity(d.ingest)
	env.RegisterActivity(d.clean)
}

// newData returns the ingest and clean activities on a fresh schema,
// reading local files below dir.
func newData(t *testing.T, dir string) *dataSteps {
	t.Helper()
	ctx := context.Background()
	s, err := store.Open(ctx, stacktest.PGURL(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	if _, err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return &dataSteps{
		ingest: &activities.Ingest{
			Store:          s,
			LocalDir:       dir,
			Columns:        func(string) ([]string, error) { return shopSchema.Names(), nil },
			HeartbeatEvery: 1000,
		},
		clean: &activities.Clean{
			Store: s,
			Config: func(model string) (clean.Config, error) {
				if model != "uplift" {
					return clean.Config{}, fmt.Errorf("unknown model %q", model)
				}
				return clean.Config{Schema: shopSchema, MaxRowsPerCustomerDay: 5}, nil
			},
		},
	}
}

func writeFile(t *testing.T, dir, name, data string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// ingest runs IngestFile and fails the test on an error.
func ingest(t *testing.T, env *testsuite.TestActivityEnvironment, d *activities.Ingest, in workflows.IngestInput) workflows.IngestResult {
	t.Helper()
	v, err := env.ExecuteActivity(d.IngestFile, in)
	if err != nil {
		t.Fatalf("IngestFile: %v", err)
	}
	var r workflows.IngestResult
	if err := v.Get(&r); err != nil {
		t.Fatal(err)
	}
	return r
}

func TestIngestAndCleanLocalFile(t *testing.T) {
	dir := t.TempDir()
	d := newData(t, dir)
	path := writeFile(t, dir, "orders.csv", shopCSV(4500))

	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	d.register(env)
	var beats []int64
	env.SetOnActivityHeartbeatListener(func(_ *activity.Info, details converter.EncodedValues) {
		var n int64
		if err := details.Get(&n); err == nil {
			beats = append(beats, n)
		}
	})
	r := ingest(t, env, d.ingest, workflows.IngestInput{Source: "shop", Day: day, Key: path})
	if r.File != "orders.csv" || r.Rows != 4500 || r.AlreadyIngested || len(r.SHA256) != 64 {
		t.Errorf("ingest = %+v, want orders.csv, 4500 rows, a sha256", r)
	}
	// The SDK throttles heartbeats; the first one always goes out.
	if len(beats) == 0 || beats[0] != 1000 {
		t.Errorf("heartbeats = %v, want the first after 1000 rows", beats)
	}

	// A retried activity whose previous attempt heartbeated mid-file.
	env.SetHeartbeatDetails(int64(3000))
	again := ingest(t, env, d.ingest, workflows.IngestInput{Source: "shop", Day: day, Key: "file://" + path})
	if !again.AlreadyIngested || again.Rows != 4500 {
		t.Errorf("second ingest = %+v, want already ingested with 4500 rows", again)
	}

	v, err := env.ExecuteActivity(d.clean.CleanDay, workflows.CleanInput{Model: "uplift", Source: "shop", Day: day})
	if err != nil {
		t.Fatalf("CleanDay: %v", err)
	}
	var cr workflows.CleanResult
	if err := v.Get(&cr); err != nil {
		t.Fatal(err)
	}
	// Every tenth row has age 150 > max 100.
	if cr.RowsIn != 4500 || cr.Quarantined != 450 || cr.Clean != 4050 || cr.ByRule["range"] != 450 {
		t.Errorf("clean = %+v, want 4500 in, 4050 clean, 450 quarantined by range", cr)
	}
}

func appError(t *testing.T, err error) *temporal.ApplicationError {
	t.Helper()
	var ae *temporal.ApplicationError
	if !errors.As(err, &ae) {
		t.Fatalf("got %v, want an application error", err)
	}
	return ae
}

func TestIngestBadFilesAreNonRetryable(t *testing.T) {
	dir := t.TempDir()
	d := newData(t, dir)
	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	d.register(env)
	tests := []struct {
		name, data, wantType, wantMsg string
	}{
		{"empty.csv", "", "InvalidInput", "empty.csv: line 1: empty input"},
		{"header.csv", "customer_id,age,orders,bought\nc1,30,1,0\n", "InvalidInput", `header.csv: line 1, column 4: header does not match the schema: missing "converted"; unexpected "bought"`},
		{"binary.csv", "\x89PNG\r\n\x1a\n\x00\x00", "InvalidInput", "binary.csv: line 1, column 1: invalid UTF-8"},
		{"truncated.csv", "customer_id,age,orders,converted\nc1,30,1,0\nc2,3", "InvalidInput", "truncated.csv: line 3: wrong number of fields"},
		{"utf8.csv", "customer_id,age,orders,converted\nc1,30,1,0\nc\xff2,31,1,0\n", "InvalidInput", "utf8.csv: line 3, column 1: invalid UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeFile(t, dir, tt.name, tt.data)
			_, err := env.ExecuteActivity(d.ingest.IngestFile, workflows.IngestInput{Source: "shop", Day: day, Key: path})
			ae := appError(t, err)
			if ae.Type() != tt.wantType || !ae.NonRetryable() {
				t.Errorf("error type %q non-retryable %v, want %q non-retryable", ae.Type(), ae.NonRetryable(), tt.wantType)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("error %q does not say %q", err, tt.wantMsg)
			}
		})
	}
	st, err := d.ingest.Store.Status(context.Background(), "", 0)
	if err != nil || len(st) != 0 {
		t.Errorf("after bad files status = %+v, %v; want nothing ingested", st, err)
	}

	// The same key with other content.
	path := writeFile(t, dir, "changed.csv", shopCSV(10))
	ingest(t, env, d.ingest, workflows.IngestInput{Source: "shop", Day: day, Key: path})
	writeFile(t, dir, "changed.csv", shopCSV(11))
	_, err = env.ExecuteActivity(d.ingest.IngestFile, workflows.IngestInput{Source: "shop", Day: day, Key: path})
	if ae := appError(t, err); ae.Type() != "FileChanged" || !ae.NonRetryable() {
		t.Errorf("changed file: type %q non-retryable %v, want FileChanged non-retryable", ae.Type(), ae.NonRetryable())
	}
}

func TestIngestRefusesBadKeys(t *testing.T) {
	dir := t.TempDir()
	d := newData(t, dir)
	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	d.register(env)
	for _, in := range []workflows.IngestInput{
		{Source: "shop", Day: day, Key: "/etc/passwd"},
		{Source: "shop", Day: day, Key: filepath.Join(dir, "..", "x.csv")},
		{Source: "shop", Day: "2026-13-01", Key: filepath.Join(dir, "x.csv")},
		{Source: "shop", Day: day, Key: filepath.Join(dir, "missing.csv")},
		{Source: "shop", Day: day, Key: "landing/other/" + day + "/x.csv"},
	} {
		_, err := env.ExecuteActivity(d.ingest.IngestFile, in)
		if ae := appError(t, err); ae.Type() != "InvalidInput" || !ae.NonRetryable() {
			t.Errorf("%+v: type %q non-retryable %v, want InvalidInput non-retryable", in, ae.Type(), ae.NonRetryable())
		}
	}
	_, err := env.ExecuteActivity(d.clean.CleanDay, workflows.CleanInput{Model: "uplift", Source: "shop", Day: day})
	if ae := appError(t, err); ae.Type() != "NoData" || !ae.NonRetryable() {
		t.Errorf("clean without files: type %q, want NoData non-retryable", ae.Type())
	}
}

func TestIngestFromMinIO(t *testing.T) {
	mc := stacktest.MinIO(t)
	bucket := stacktest.Bucket(t, mc)
	d := newData(t, "")
	d.ingest.MinIO, d.ingest.Bucket = mc, bucket
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	put := func(key, data string) {
		if _, err := mc.PutObject(ctx, bucket, key, strings.NewReader(data), int64(len(data)), minio.PutObjectOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	dir := activities.LandingDir("shop", day)
	put(dir+"b.csv", shopCSV(20))
	put(dir+"a.csv", shopCSV(30))
	put(dir+"notes.txt", "not data")
	put(activities.LandingDir("shop", "2026-03-03")+"a.csv", shopCSV(5))
	put(dir+"bad.csv", "customer_id,age,orders,converted\nc1,30,1,0\nc2,31,\"1")

	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	d.register(env)
	v, err := env.ExecuteActivity(d.ingest.ListLanding, "shop", day)
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	if err := v.Get(&keys); err != nil {
		t.Fatal(err)
	}
	if want := []string{dir + "a.csv", dir + "b.csv", dir + "bad.csv"}; fmt.Sprint(keys) != fmt.Sprint(want) {
		t.Errorf("landing = %v, want %v", keys, want)
	}
	r := ingest(t, env, d.ingest, workflows.IngestInput{Source: "shop", Day: day, Key: dir + "a.csv"})
	if r.Rows != 30 || r.File != "a.csv" {
		t.Errorf("ingest a.csv = %+v, want 30 rows", r)
	}
	_, err = env.ExecuteActivity(d.ingest.IngestFile, workflows.IngestInput{Source: "shop", Day: day, Key: dir + "bad.csv"})
	if ae := appError(t, err); ae.Type() != "InvalidInput" || !strings.Contains(err.Error(), "bad.csv: line 3, column 3") {
		t.Errorf("bad.csv: %v (type %q), want InvalidInput at line 3, column 3", err, ae.Type())
	}
	_, err = env.ExecuteActivity(d.ingest.IngestFile, workflows.IngestInput{Source: "shop", Day: day, Key: dir + "gone.csv"})
	if ae := appError(t, err); ae.Type() != "InvalidInput" || !ae.NonRetryable() {
		t.Errorf("missing object: type %q, want InvalidInput", ae.Type())
	}
}
