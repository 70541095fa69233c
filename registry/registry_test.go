package registry_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/promoflow/promoflow/internal/stacktest"
	"github.com/promoflow/promoflow/registry"
	"github.com/promoflow/promoflow/schema"
)

// hookStore wraps the real client; beforePut runs before every PutObject
// and can fail it or hold it back.
type hookStore struct {
	registry.ObjectStore
	beforePut func(key string) error
}

var _ registry.ObjectStore = (*hookStore)(nil)

func (h *hookStore) PutObject(ctx context.Context, bucket, key string, r io.Reader, size int64, opts minio.PutObjectOptions) (minio.UploadInfo, error) {
	if h.beforePut != nil {
		if err := h.beforePut(key); err != nil {
			return minio.UploadInfo{}, err
		}
	}
	return h.ObjectStore.PutObject(ctx, bucket, key, r, size, opts)
}

// auditorFunc adapts a function to registry.Auditor.
type auditorFunc func(ctx context.Context, m registry.AliasMove) error

func (f auditorFunc) RecordAliasMove(ctx context.Context, m registry.AliasMove) error {
	return f(ctx, m)
}

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

type fixture struct {
	ctx    context.Context
	client *minio.Client
	bucket string
	reg    *registry.Registry
	clock  *clock
}

func newFixture(t *testing.T, opts ...registry.Option) *fixture {
	t.Helper()
	c := stacktest.MinIO(t)
	b := stacktest.Bucket(t, c)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	clk := &clock{t: time.Date(2026, 11, 1, 8, 0, 0, 0, time.UTC)}
	reg := registry.New(c, b, opts...)
	reg.Now = clk.Now
	return &fixture{ctx: ctx, client: c, bucket: b, reg: reg, clock: clk}
}

// withStore returns a second registry over the same bucket and clock whose
// writes go through s.
func (f *fixture) withStore(s registry.ObjectStore) *registry.Registry {
	reg := registry.New(s, f.bucket)
	reg.Now = f.clock.Now
	return reg
}

func request(model, runID string) registry.RegisterRequest {
	return registry.RegisterRequest{
		Model:       model,
		RunID:       runID,
		WorkflowID:  "daily-retrain-" + model,
		CodeVersion: "test",
		DataWindow:  registry.DataWindow{From: "2026-10-01", To: "2026-10-30", Rows: 1000},
		Schema: schema.Schema{Columns: []schema.Column{
			{Name: "age", Kind: schema.Numeric},
			{Name: "bought", Kind: schema.Target},
		}},
		Metrics: map[string]float64{"auc": 0.75},
		Artifacts: map[string][]byte{
			"model.json":   []byte(`{"coef":{"age":0.5},"run":"` + runID + `"}`),
			"metrics.json": []byte(`{"auc":0.75}`),
			"zz.bin":       bytes.Repeat([]byte{7}, 4096),
			"abc.txt":      []byte("abc"),
		},
	}
}

func (f *fixture) register(t *testing.T, model, runID string) *registry.Manifest {
	t.Helper()
	m, err := f.reg.Register(f.ctx, request(model, runID))
	if err != nil {
		t.Fatalf("Register(%s, %s): %v", model, runID, err)
	}
	return m
}

func (f *fixture) corrupt(t *testing.T, model string, version int, artifact string) {
	t.Helper()
	data := []byte(`{"coef":{"age":99}}`)
	if _, err := f.client.PutObject(f.ctx, f.bucket, registry.ObjectKey(model, version, artifact), bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{}); err != nil {
		t.Fatalf("corrupt %s v%d %s: %v", model, version, artifact, err)
	}
}

func move(model, alias string, to int) registry.MoveRequest {
	return registry.MoveRequest{Model: model, Alias: alias, To: to, Actor: "tester", Reason: "test"}
}

func TestRegisterAndLoad(t *testing.T) {
	f := newFixture(t)
	req := request("churn", "run-1")
	m, err := f.reg.Register(f.ctx, req)
	if err != nil {
		t.Fatalf("Register: %v", err)
	}
	if m.Version != 1 || m.Model != "churn" || m.RunID != "run-1" || !m.CreatedAt.Equal(f.clock.Now()) {
		t.Errorf("manifest = %+v, want churn v1 run-1 created %v", m, f.clock.Now())
	}
	got, arts, err := f.reg.Load(f.ctx, "churn", 1)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	for name, want := range req.Artifacts {
		if !bytes.Equal(arts[name], want) {
			t.Errorf("artifact %s = %q, want %q", name, arts[name], want)
		}
	}
	// The sha256 of "abc" from FIPS 180-2, appendix B.1.
	const abcSHA = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
	if a := got.Artifacts["abc.txt"]; a.SHA256 != abcSHA || a.Size != 3 {
		t.Errorf("abc.txt recorded as %+v, want sha256 %s, 3 bytes", a, abcSHA)
	}
	if got.Artifacts["zz.bin"].Size != 4096 {
		t.Errorf("zz.bin size = %d, want 4096", got.Artifacts["zz.bin"].Size)
	}
	if got.Metrics["auc"] != 0.75 || got.DataWindow.Rows != 1000 || len(got.Schema.Columns) != 2 {
		t.Errorf("loaded manifest = %+v, want the request's metrics, window and schema", got)
	}
	m2 := f.register(t, "churn", "run-2")
	if m2.Version != 2 {
		t.Errorf("second version = %d, want 2", m2.Version)
	}
	models, err := f.reg.Models(f.ctx)
	if err != nil || !slices.Equal(models, []string{"churn"}) {
		t.Errorf("Models = %v, %v; want [churn]", models, err)
	}
	if _, _, err := f.reg.Load(f.ctx, "churn", 3); !errors.Is(err, registry.ErrNotFound) {
		t.Errorf("Load(v3) error = %v, want ErrNotFound", err)
	}
}

func TestRegisterRejectsBadInput(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		name  string
		edit  func(*registry.RegisterRequest)
		field string
	}{
		{"parent dir", func(r *registry.RegisterRequest) { r.Model = "../x" }, "model"},
		{"slash", func(r *registry.RegisterRequest) { r.Model = "a/b" }, "model"},
		{"sql", func(r *registry.RegisterRequest) { r.Model = "x';drop table runs;--" }, "model"},
		{"upper case", func(r *registry.RegisterRequest) { r.Model = "Churn" }, "model"},
		{"empty", func(r *registry.RegisterRequest) { r.Model = "" }, "model"},
		{"too long", func(r *registry.RegisterRequest) { r.Model = strings.Repeat("a", 64) }, "model"},
		{"run id with slash", func(r *registry.RegisterRequest) { r.RunID = "../../x" }, "run id"},
		{"no model.json", func(r *registry.RegisterRequest) { delete(r.Artifacts, "model.json") }, "artifacts"},
		{"artifact path", func(r *registry.RegisterRequest) { r.Artifacts["../evil"] = nil }, "artifact"},
		{"manifest artifact", func(r *registry.RegisterRequest) { r.Artifacts["manifest.json"] = nil }, "artifact"},
		{"NaN metric", func(r *registry.RegisterRequest) { r.Metrics["auc"] = math.NaN() }, "metric auc"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := request("churn", "run-1")
			tt.edit(&req)
			_, err := f.reg.Register(f.ctx, req)
			var ve *registry.ValidationError
			if !errors.As(err, &ve) || ve.Field != tt.field {
				t.Errorf("Register error = %v, want *ValidationError on %q", err, tt.field)
			}
		})
	}
	if models, err := f.reg.Models(f.ctx); err != nil || len(models) != 0 {
		t.Errorf("Models after rejected registrations = %v, %v; want none", models, err)
	}
}

func objectExists(f *fixture, key string) (bool, error) {
	_, err := f.client.StatObject(f.ctx, f.bucket, key, minio.StatObjectOptions{})
	if minio.ToErrorResponse(err).Code == minio.NoSuchKey {
		return false, nil
	}
	return err == nil, err
}

func TestConcurrentAllocationGivesDistinctNumbers(t *testing.T) {
	f := newFixture(t)
	const n = 16
	got := make([]int, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			m, err := f.reg.Register(f.ctx, request("churn", fmt.Sprintf("run-%d", i)))
			errs[i] = err
			if err == nil {
				got[i] = m.Version
			}
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("Register run-%d: %v", i, err)
		}
	}
	slices.Sort(got)
	want := make([]int, n)
	for i := range want {
		want[i] = i + 1
	}
	if !slices.Equal(got, want) {
		t.Errorf("allocated versions = %v, want each of 1..%d once", got, n)
	}
	nums, err := f.reg.VersionNumbers(f.ctx, "churn")
	if err != nil || !slices.Equal(nums, want) {
		t.Errorf("VersionNumbers = %v, %v; want %v", nums, err, want)
	}
}

func TestRegisterIsIdempotentByRunID(t *testing.T) {
	f := newFixture(t)
	first := f.register(t, "churn", "run-a")
	again := f.register(t, "churn", "run-a")
	if again.Version != first.Version || !again.CreatedAt.Equal(first.CreatedAt) {
		t.Errorf("retried Register = v%d created %v, want v%d created %v", again.Version, again.CreatedAt, first.Version, first.CreatedAt)
	}

	// Eight attempts of one run at once still make one version.
	const n = 8
	versions := make([]int, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			m, err := f.reg.Register(f.ctx, request("churn", "run-b"))
			errs[i] = err
			if err == nil {
				versions[i] = m.Version
			}
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("attempt %d: %v", i, err)
		}
		if versions[i] != versions[0] {
			t.Errorf("attempt %d got v%d, attempt 0 got v%d", i, versions[i], versions[0])
		}
	}
	nums, err := f.reg.VersionNumbers(f.ctx, "churn")
	if err != nil || len(nums) != 2 {
		t.Errorf("VersionNumbers = %v, %v; want two versions", nums, err)
	}
	if err := f.reg.Verify(f.ctx, "churn", versions[0]); err != nil {
		t.Errorf("Verify v%d: %v", versions[0], err)
	}
}

func TestRegisterRetryAfterFailedUpload(t *testing.T) {
	errInjected := errors.New("injected failure")
	for _, failAt := range []string{".claim", "runs/run-x.json", "metrics.json", "model.json", "zz.bin", "manifest.json"} {
		t.Run(failAt, func(t *testing.T) {
			f := newFixture(t)
			f.register(t, "churn", "run-0") // v1, so the failed run allocates v2
			var failed bool
			broken := f.withStore(&hookStore{ObjectStore: f.client, beforePut: func(key string) error {
				if strings.HasSuffix(key, "/"+failAt) && !failed {
					failed = true
					return errInjected
				}
				return nil
			}})
			if _, err := broken.Register(f.ctx, request("churn", "run-x")); !errors.Is(err, errInjected) {
				t.Fatalf("Register through failing store: error = %v, want the injected failure", err)
			}
			// Readers see nothing of the failed attempt.
			if nums, err := f.reg.VersionNumbers(f.ctx, "churn"); err != nil || !slices.Equal(nums, []int{1}) {
				t.Errorf("VersionNumbers after failure = %v, %v; want [1]", nums, err)
			}
			if vs, err := f.reg.Versions(f.ctx, "churn"); err != nil || len(vs) != 1 {
				t.Errorf("Versions after failure = %d, %v; want 1", len(vs), err)
			}
			if _, _, err := f.reg.Load(f.ctx, "churn", 2); !errors.Is(err, registry.ErrNotFound) {
				t.Errorf("Load(v2) after failure: error = %v, want ErrNotFound", err)
			}

			m, err := f.reg.Register(f.ctx, request("churn", "run-x"))
			if err != nil {
				t.Fatalf("retried Register: %v", err)
			}
			if m.Version != 2 {
				t.Errorf("retry registered v%d, want v2 (the number the failed attempt claimed, or the next)", m.Version)
			}
			if nums, err := f.reg.VersionNumbers(f.ctx, "churn"); err != nil || !slices.Equal(nums, []int{1, 2}) {
				t.Errorf("VersionNumbers after retry = %v, %v; want [1 2]", nums, err)
			}
			if err := f.reg.Verify(f.ctx, "churn", 2); err != nil {
				t.Errorf("Verify v2: %v", err)
			}
			rep, err := f.reg.GC(f.ctx, "churn", registry.GCPolicy{Keep: 10, DryRun: true})
			if err != nil || len(rep.Incomplete) != 0 {
				t.Errorf("incomplete versions after retry = %v, %v; want none", rep.Incomplete, err)
			}
		})
	}
}

func TestCorruptionIsDetected(t *testing.T) {
	f := newFixture(t)
	f.register(t, "churn", "run-1")
	f.register(t, "churn", "run-2")
	if _, err := f.reg.MoveAlias(f.ctx, move("churn", registry.Production, 1)); err != nil {
		t.Fatalf("MoveAlias to v1: %v", err)
	}
	f.corrupt(t, "churn", 2, "model.json")

	_, _, err := f.reg.Load(f.ctx, "churn", 2)
	var ie *registry.IntegrityError
	if !errors.As(err, &ie) || ie.Version != 2 || ie.Artifact != "model.json" {
		t.Fatalf("Load corrupt v2: error = %v, want *IntegrityError on model.json of v2", err)
	}
	if _, err := f.reg.MoveAlias(f.ctx, move("churn", registry.Production, 2)); !errors.As(err, &ie) {
		t.Errorf("MoveAlias to corrupt v2: error = %v, want *IntegrityError", err)
	}
	if v, err := f.reg.Resolve(f.ctx, "churn", registry.Production); err != nil || v != 1 {
		t.Errorf("production after refused move = v%d, %v; want v1", v, err)
	}

	// A missing artifact is caught too.
	if err := f.client.RemoveObject(f.ctx, f.bucket, registry.ObjectKey("churn", 1, "zz.bin"), minio.RemoveObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.reg.LoadAlias(f.ctx, "churn", registry.Production); !errors.As(err, &ie) || ie.Reason != "missing" {
		t.Errorf("LoadAlias with zz.bin removed: error = %v, want *IntegrityError 'missing'", err)
	}
}

// barrier holds back n callers until all have arrived (or a timeout).
func barrier(n int) func() {
	var mu sync.Mutex
	arrived := 0
	all := make(chan struct{})
	return func() {
		mu.Lock()
		arrived++
		if arrived == n {
			close(all)
		}
		mu.Unlock()
		select {
		case <-all:
		case <-time.After(20 * time.Second):
		}
	}
}

func TestConcurrentAliasMovesOneWins(t *testing.T) {
	for _, tt := range []struct {
		name    string
		initial int // 0: the alias does not exist yet (If-None-Match *)
	}{{"create", 0}, {"replace", 1}} {
		t.Run(tt.name, func(t *testing.T) {
			const n = 16
			f := newFixture(t)
			for i := range n + 1 {
				f.register(t, "churn", fmt.Sprintf("run-%d", i))
			}
			if tt.initial > 0 {
				if _, err := f.reg.MoveAlias(f.ctx, move("churn", registry.Production, tt.initial)); err != nil {
					t.Fatal(err)
				}
			}
			// Every mover reads the alias before any writes it, so all
			// but one must lose the conditional write itself.
			wait := barrier(n)
			racing := f.withStore(&hookStore{ObjectStore: f.client, beforePut: func(key string) error {
				if strings.HasSuffix(key, "/aliases/production.json") {
					wait()
				}
				return nil
			}})
			moves := make([]registry.AliasMove, n)
			errs := make([]error, n)
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() {
					moves[i], errs[i] = racing.MoveAlias(f.ctx, move("churn", registry.Production, i+2))
				})
			}
			wg.Wait()
			winner := -1
			for i, err := range errs {
				var ce *registry.ConflictError
				switch {
				case err == nil:
					if winner >= 0 {
						t.Errorf("moves to v%d and v%d both won", winner+2, i+2)
					}
					winner = i
				case !errors.As(err, &ce):
					t.Errorf("losing move to v%d: error = %v, want *ConflictError", i+2, err)
				}
			}
			if winner < 0 {
				t.Fatal("no move won")
			}
			for i, err := range errs {
				var ce *registry.ConflictError
				if errors.As(err, &ce) && ce.Current != winner+2 {
					t.Errorf("conflict for v%d names current v%d, want the winner v%d", i+2, ce.Current, winner+2)
				}
			}
			if v, err := f.reg.Resolve(f.ctx, "churn", registry.Production); err != nil || v != winner+2 {
				t.Errorf("production = v%d, %v; want the winner v%d", v, err, winner+2)
			}
			hist, err := f.reg.History(f.ctx, "churn", registry.Production)
			wantLen := 1
			if tt.initial > 0 {
				wantLen = 2
			}
			if err != nil || len(hist) != wantLen || hist[len(hist)-1].Version != winner+2 || hist[len(hist)-1].Previous != tt.initial {
				t.Errorf("history = %+v, %v; want %d moves ending %d→%d", hist, err, wantLen, tt.initial, winner+2)
			}
		})
	}
}

func TestExpectVersion(t *testing.T) {
	f := newFixture(t)
	f.register(t, "churn", "run-1")
	f.register(t, "churn", "run-2")
	zero, one := 0, 1
	req := move("churn", registry.Staging, 1)
	req.ExpectVersion = &zero
	if _, err := f.reg.MoveAlias(f.ctx, req); err != nil {
		t.Fatalf("create staging expecting unset: %v", err)
	}
	req = move("churn", registry.Staging, 2)
	req.ExpectVersion = &zero
	var ce *registry.ConflictError
	if _, err := f.reg.MoveAlias(f.ctx, req); !errors.As(err, &ce) || ce.Current != 1 || ce.Expected == nil || *ce.Expected != 0 {
		t.Errorf("move expecting unset when at v1: error = %v, want *ConflictError current 1 expected 0", err)
	}
	req.ExpectVersion = &one
	if _, err := f.reg.MoveAlias(f.ctx, req); err != nil {
		t.Errorf("move expecting v1: %v", err)
	}
}

func TestHistoryAndAt(t *testing.T) {
	f := newFixture(t)
	for i := range 3 {
		f.register(t, "churn", fmt.Sprintf("run-%d", i))
	}
	day := func(d, h int) time.Time { return time.Date(2026, 11, d, h, 0, 0, 0, time.UTC) }
	steps := []struct {
		at time.Time
		to int
	}{{day(1, 8), 1}, {day(1, 10), 2}, {day(3, 9), 3}}
	for _, s := range steps {
		f.clock.Set(s.at)
		if _, err := f.reg.MoveAlias(f.ctx, move("churn", registry.Production, s.to)); err != nil {
			t.Fatal(err)
		}
	}
	hist, err := f.reg.History(f.ctx, "churn", registry.Production)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, h := range hist {
		got = append(got, fmt.Sprintf("%d:%d→%d@%s by %s", h.Seq, h.Previous, h.Version, h.MovedAt.Format("02T15"), h.MovedBy))
	}
	want := []string{"1:0→1@01T08 by tester", "2:1→2@01T10 by tester", "3:2→3@03T09 by tester"}
	if !slices.Equal(got, want) {
		t.Errorf("history = %v, want %v", got, want)
	}
	tests := []struct {
		at     time.Time
		want   int
		wantOK bool
	}{
		{day(1, 7), 0, false},
		{day(1, 8), 1, true},
		{day(1, 9), 1, true},
		{day(2, 9), 2, true},
		{day(3, 9), 3, true},
		{day(30, 0), 3, true},
	}
	for _, tt := range tests {
		v, ok, err := f.reg.At(f.ctx, "churn", registry.Production, tt.at)
		if err != nil || v != tt.want || ok != tt.wantOK {
			t.Errorf("At(%v) = %d, %t, %v; want %d, %t", tt.at, v, ok, err, tt.want, tt.wantOK)
		}
	}
}

func TestMoveIsIdempotentAndAudited(t *testing.T) {
	var mu sync.Mutex
	var audited []registry.AliasMove
	failAudit := true
	f := newFixture(t, registry.WithAuditor(auditorFunc(func(_ context.Context, m registry.AliasMove) error {
		mu.Lock()
		defer mu.Unlock()
		if failAudit {
			failAudit = false
			return errors.New("audit log down")
		}
		audited = append(audited, m)
		return nil
	})))
	f.register(t, "churn", "run-1")
	req := move("churn", registry.Production, 1)
	req.MoveID = "wf-1:activity-7"
	first, err := f.reg.MoveAlias(f.ctx, req)
	if err == nil || first.Version != 1 {
		t.Fatalf("move with failing auditor = %+v, %v; want the committed move and an error", first, err)
	}
	again, err := f.reg.MoveAlias(f.ctx, req)
	if err != nil {
		t.Fatalf("retried move: %v", err)
	}
	if again.Seq != 1 || again.MoveID != req.MoveID {
		t.Errorf("retried move = %+v, want the first move (seq 1)", again)
	}
	if len(audited) != 1 || audited[0].MoveID != req.MoveID || audited[0].MovedBy != "tester" || audited[0].Reason != "test" {
		t.Errorf("audited = %+v, want the one move", audited)
	}
	if hist, err := f.reg.History(f.ctx, "churn", registry.Production); err != nil || len(hist) != 1 {
		t.Errorf("history = %+v, %v; want one move", hist, err)
	}
}

func TestPromoteAndRollback(t *testing.T) {
	f := newFixture(t)
	for i := range 4 {
		f.register(t, "churn", fmt.Sprintf("run-%d", i))
	}
	promote := func(to int) {
		t.Helper()
		if _, err := f.reg.Promote(f.ctx, registry.MoveRequest{Model: "churn", To: to, Actor: "gate", Reason: "passed"}); err != nil {
			t.Fatalf("Promote v%d: %v", to, err)
		}
	}
	state := func() string {
		t.Helper()
		aliases, err := f.reg.Aliases(f.ctx, "churn")
		if err != nil {
			t.Fatal(err)
		}
		var s []string
		for _, a := range aliases {
			s = append(s, fmt.Sprintf("%s=%d", a.Alias, a.Version))
		}
		return strings.Join(s, " ")
	}
	promote(1)
	if got := state(); got != "production=1" {
		t.Errorf("after promoting v1: %s, want production=1", got)
	}
	promote(2)
	promote(4) // v3 failed the gate and was never promoted
	if got := state(); got != "previous=2 production=4" {
		t.Errorf("after promoting v2, v4: %s, want previous=2 production=4", got)
	}

	rollback := func() registry.AliasMove {
		t.Helper()
		m, err := f.reg.Rollback(f.ctx, registry.RollbackRequest{Model: "churn", Actor: "oncall", Reason: "auc dropped"})
		if err != nil {
			t.Fatalf("Rollback: %v", err)
		}
		return m
	}
	if m := rollback(); m.Version != 2 || m.Previous != 4 {
		t.Errorf("rollback = %d→%d, want 4→2", m.Previous, m.Version)
	}
	// previous (2) is production now; v1 is the last earlier production
	// version, never the ungated v3.
	if m := rollback(); m.Version != 1 {
		t.Errorf("second rollback went to v%d, want v1", m.Version)
	}

	// A corrupt candidate is skipped.
	promote(4)
	promote(2) // previous=4, production history: 1 2 4 2 1 4 2
	f.corrupt(t, "churn", 4, "model.json")
	if m := rollback(); m.Version != 1 {
		t.Errorf("rollback with corrupt v4 went to v%d, want v1", m.Version)
	}
	to := 3
	if m, err := f.reg.Rollback(f.ctx, registry.RollbackRequest{Model: "churn", To: &to, Actor: "oncall", Reason: "manual"}); err != nil || m.Version != 3 {
		t.Errorf("rollback to v3 = %+v, %v", m, err)
	}
}

func TestAddArtifact(t *testing.T) {
	f := newFixture(t)
	f.register(t, "churn", "run-1")
	verdict := []byte(`{"passed":true}`)
	if err := f.reg.AddArtifact(f.ctx, "churn", 1, registry.VerdictArtifact, verdict); err != nil {
		t.Fatalf("AddArtifact verdict: %v", err)
	}
	if err := f.reg.AddArtifact(f.ctx, "churn", 1, registry.VerdictArtifact, verdict); err != nil {
		t.Errorf("adding the same verdict again: %v, want no error", err)
	}
	if err := f.reg.AddArtifact(f.ctx, "churn", 1, registry.VerdictArtifact, []byte(`{"passed":false}`)); !errors.Is(err, registry.ErrImmutable) {
		t.Errorf("changing the verdict: error = %v, want ErrImmutable", err)
	}
	if err := f.reg.AddArtifact(f.ctx, "churn", 1, "model.json", []byte(`{}`)); !errors.Is(err, registry.ErrImmutable) {
		t.Errorf("replacing model.json: error = %v, want ErrImmutable", err)
	}
	if err := f.reg.AddArtifact(f.ctx, "churn", 9, "report.html", []byte(`<p>`)); !errors.Is(err, registry.ErrNotFound) {
		t.Errorf("adding to a missing version: error = %v, want ErrNotFound", err)
	}
	info, err := f.reg.Describe(f.ctx, "churn", 1)
	if err != nil {
		t.Fatalf("Describe: %v", err)
	}
	if string(info.Verdict) != string(verdict) || info.Added[registry.VerdictArtifact].Size != int64(len(verdict)) {
		t.Errorf("Describe = verdict %s, added %+v; want the verdict", info.Verdict, info.Added)
	}
	f.corrupt(t, "churn", 1, registry.VerdictArtifact)
	var ie *registry.IntegrityError
	if _, err := f.reg.Artifact(f.ctx, "churn", 1, registry.VerdictArtifact); !errors.As(err, &ie) {
		t.Errorf("reading a corrupt added artifact: error = %v, want *IntegrityError", err)
	}
}

func TestDiff(t *testing.T) {
	f := newFixture(t)
	f.register(t, "churn", "run-1")
	req := request("churn", "run-2")
	req.Metrics = map[string]float64{"auc": 0.8, "logloss": 0.4}
	req.Schema.Columns = append(req.Schema.Columns, schema.Column{Name: "region", Kind: schema.Categorical})
	req.Schema.Columns[0].Kind = schema.Flag
	req.Artifacts["model.json"] = []byte(`{"coef":{"age":0.25,"region=n":1}}`)
	if _, err := f.reg.Register(f.ctx, req); err != nil {
		t.Fatal(err)
	}
	coef := func(data []byte) (map[string]float64, error) {
		switch {
		case bytes.Contains(data, []byte(`"age":0.5`)):
			return map[string]float64{"age": 0.5}, nil
		case bytes.Contains(data, []byte(`"age":0.25`)):
			return map[string]float64{"age": 0.25, "region=n": 1}, nil
		}
		return nil, fmt.Errorf("unexpected model %s", data)
	}
	d, err := f.reg.Diff(f.ctx, "churn", 1, 2, coef)
	if err != nil {
		t.Fatalf("Diff: %v", err)
	}
	if got, want := fmtDeltas(d.Metrics), "auc:0.75→0.8(0.05) logloss:-→0.4(-)"; got != want {
		t.Errorf("metric deltas = %s, want %s", got, want)
	}
	if got, want := fmtDeltas(d.Coefficients), "age:0.5→0.25(-0.25) region=n:-→1(-)"; got != want {
		t.Errorf("coefficient deltas = %s, want %s", got, want)
	}
	if len(d.Schema.Added) != 1 || d.Schema.Added[0].Name != "region" || len(d.Schema.Removed) != 0 ||
		len(d.Schema.Changed) != 1 || d.Schema.Changed[0].Name != "age" || d.Schema.Changed[0].B.Kind != schema.Flag {
		t.Errorf("schema diff = %+v, want region added and age changed to flag", d.Schema)
	}
}

func fmtDeltas(ds []registry.Delta) string {
	f := func(p *float64) string {
		if p == nil {
			return "-"
		}
		return fmt.Sprintf("%.4g", *p)
	}
	var s []string
	for _, d := range ds {
		s = append(s, fmt.Sprintf("%s:%s→%s(%s)", d.Name, f(d.A), f(d.B), f(d.Delta)))
	}
	return strings.Join(s, " ")
}

func TestGC(t *testing.T) {
	f := newFixture(t)
	day := func(d int) time.Time { return time.Date(2026, 10, d, 9, 0, 0, 0, time.UTC) }
	for i := 1; i <= 8; i++ {
		f.clock.Set(day(i))
		f.register(t, "churn", fmt.Sprintf("run-%d", i))
	}
	// production: v1 on Oct 1, v3 on Oct 3 (in production at the cutoff),
	// v5 on Oct 20 (within the window); staging v2 now.
	for _, s := range []struct {
		d, v  int
		alias string
	}{{1, 1, registry.Production}, {3, 3, registry.Production}, {20, 5, registry.Production}, {21, 2, registry.Staging}} {
		f.clock.Set(day(s.d))
		if _, err := f.reg.MoveAlias(f.ctx, move("churn", s.alias, s.v)); err != nil {
			t.Fatal(err)
		}
	}
	f.clock.Set(day(25))
	policy := registry.GCPolicy{Keep: 2, Window: 10 * 24 * time.Hour, DryRun: true} // cutoff Oct 15
	rep, err := f.reg.GC(f.ctx, "churn", policy)
	if err != nil {
		t.Fatalf("GC dry run: %v", err)
	}
	var kept []int
	for _, k := range rep.Kept {
		kept = append(kept, k.Version)
	}
	if !slices.Equal(kept, []int{2, 3, 5, 7, 8}) || !slices.Equal(rep.Removed, []int{1, 4, 6}) {
		t.Fatalf("GC dry run kept %v removed %v; want kept [2 3 5 7 8] removed [1 4 6] (report %+v)", kept, rep.Removed, rep)
	}
	if nums, _ := f.reg.VersionNumbers(f.ctx, "churn"); len(nums) != 8 {
		t.Errorf("dry run removed versions: %v left", nums)
	}
	policy.DryRun = false
	if _, err := f.reg.GC(f.ctx, "churn", policy); err != nil {
		t.Fatalf("GC: %v", err)
	}
	if nums, err := f.reg.VersionNumbers(f.ctx, "churn"); err != nil || !slices.Equal(nums, []int{2, 3, 5, 7, 8}) {
		t.Errorf("versions after GC = %v, %v; want [2 3 5 7 8]", nums, err)
	}
	for obj := range f.client.ListObjects(f.ctx, f.bucket, minio.ListObjectsOptions{Prefix: "models/churn/versions/4/", Recursive: true}) {
		t.Errorf("object of removed v4 left: %s (%v)", obj.Key, obj.Err)
	}
	if ok, err := objectExists(f, "models/churn/runs/run-4.json"); err != nil || ok {
		t.Errorf("run index of removed v4 still there (%t, %v)", ok, err)
	}
	if m := f.register(t, "churn", "run-9"); m.Version != 9 {
		t.Errorf("version after GC = %d, want 9", m.Version)
	}
	if _, err := f.reg.GC(f.ctx, "churn", registry.GCPolicy{Keep: 0}); err == nil {
		t.Error("GC with Keep 0: no error")
	}
}
