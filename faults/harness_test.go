package faults

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/minio/minio-go/v7"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/promoflow/promoflow/internal/stacktest"
	"github.com/promoflow/promoflow/registry"
	"github.com/promoflow/promoflow/store"
	"github.com/promoflow/promoflow/synth"
	"github.com/promoflow/promoflow/workflows"
)

// repoRoot is the module root; go test runs in the package folder.
var repoRoot = func() string {
	wd, err := os.Getwd()
	if err != nil {
		panic(err)
	}
	return filepath.Dir(wd)
}()

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// faultStack is a stack instance the test may stop and start: never the
// shared default one.
type faultStack struct {
	dir string
	// env is what the stack's env file says, plus the ports stack.sh needs
	// to start a server again where it was.
	env map[string]string
}

// requireFaultsRun skips a test unless the fault suite runs
// (PROMOFLOW_FAULTS=1, set by scripts/test-faults.sh). The bad-input tests
// need only the stack the environment names, not a stack of their own.
func requireFaultsRun(t testing.TB) {
	t.Helper()
	if testing.Short() {
		t.Skip("fault suite test")
	}
	if os.Getenv("PROMOFLOW_FAULTS") != "1" {
		t.Skip("part of the fault suite: run scripts/test-faults.sh (make test-faults)")
	}
}

// requireFaultStack returns the fault stack, or skips the test when the
// environment does not name one (PROMOFLOW_FAULTS=1 and a
// PROMOFLOW_STACK_DIR other than the repository's .stack). It points
// stacktest's variables at that stack for the rest of the test.
func requireFaultStack(t *testing.T) *faultStack {
	t.Helper()
	requireFaultsRun(t)
	dir := os.Getenv("PROMOFLOW_STACK_DIR")
	if dir == "" {
		t.Fatal("PROMOFLOW_FAULTS=1 needs PROMOFLOW_STACK_DIR naming the fault stack's state folder")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		t.Fatal(err)
	}
	if abs == filepath.Join(repoRoot, ".stack") {
		t.Fatalf("refusing to inject faults into the shared default stack %s: use scripts/test-faults.sh", abs)
	}
	env, err := readEnvFile(filepath.Join(abs, "env"))
	if err != nil {
		t.Fatalf("fault stack: %v (is it up? scripts/test-faults.sh starts it)", err)
	}
	if env["PROMOFLOW_TEMPORAL_ADDRESS"] == "127.0.0.1:7233" {
		t.Fatalf("fault stack %s uses the default Temporal port 7233: refusing, it may be the shared stack", abs)
	}
	for k, v := range env {
		t.Setenv(k, v)
	}
	ports := map[string]string{
		"PROMOFLOW_TEMPORAL_PORT":      port(env["PROMOFLOW_TEMPORAL_ADDRESS"]),
		"PROMOFLOW_TEMPORAL_UI_PORT":   port(env["PROMOFLOW_TEMPORAL_UI"]),
		"PROMOFLOW_MINIO_PORT":         port(env["PROMOFLOW_MINIO_ENDPOINT"]),
		"PROMOFLOW_MINIO_CONSOLE_PORT": port(env["PROMOFLOW_MINIO_CONSOLE"]),
		"PROMOFLOW_PG_PORT":            port(env["PROMOFLOW_PG_URL"]),
		"PROMOFLOW_STACK_DIR":          abs,
	}
	for k, v := range ports {
		if v == "" {
			t.Fatalf("fault stack env file lacks what %s is derived from", k)
		}
		env[k] = v
	}
	return &faultStack{dir: abs, env: env}
}

// readEnvFile parses the `export K=V` lines stack.sh writes.
func readEnvFile(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read stack env: %w", err)
	}
	defer f.Close()
	env := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "export ")
		if !ok {
			continue
		}
		if k, v, ok := strings.Cut(line, "="); ok {
			env[k] = v
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read stack env %s: %w", path, err)
	}
	return env, nil
}

// port returns the port of host:port, http://host:port or a URL.
func port(addr string) string {
	if !strings.Contains(addr, "://") {
		addr = "tcp://" + addr
	}
	u, err := url.Parse(addr)
	if err != nil {
		return ""
	}
	return u.Port()
}

// stack runs scripts/stack.sh stop|start NAME on the fault stack.
func (s *faultStack) stack(t *testing.T, verb, name string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(repoRoot, "scripts", "stack.sh"), verb, name)
	cmd.Env = os.Environ()
	for k, v := range s.env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	start := time.Now()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("stack.sh %s %s: %v\n%s", verb, name, err, out)
	}
	t.Logf("stack.sh %s %s took %s", verb, name, time.Since(start).Round(10*time.Millisecond))
}

// stop takes a server away; the test's cleanup brings it back even when
// the test fails, so the next test finds the whole stack.
func (s *faultStack) stop(t *testing.T, name string) {
	t.Helper()
	t.Cleanup(func() { s.stack(t, "start", name) })
	s.stack(t, "stop", name)
}

// start brings a server back (a no-op when it runs).
func (s *faultStack) start(t *testing.T, name string) { t.Helper(); s.stack(t, "start", name) }

// binDir holds the promoflow binary built for this test binary's run.
var (
	binDir   string
	binOnce  sync.Once
	binPath  string
	binBuild error
)

// promoflowBinary builds cmd/promoflow once into a temporary folder.
func promoflowBinary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "promoflow-faults-bin-")
		if err != nil {
			binBuild = err
			return
		}
		binDir = dir
		binPath = filepath.Join(dir, "promoflow")
		cmd := exec.Command("go", "build", "-o", binPath, "./cmd/promoflow")
		cmd.Dir = repoRoot
		if out, err := cmd.CombinedOutput(); err != nil {
			binBuild = fmt.Errorf("go build ./cmd/promoflow: %w\n%s", err, out)
		}
	})
	if binBuild != nil {
		t.Fatal(binBuild)
	}
	return binPath
}

// testEnv is one test's own corner of a stack: schema, bucket, task queue,
// model configuration and landing folder, and the environment a promoflow
// process needs to work there.
type testEnv struct {
	model string
	env   map[string]string
	pool  *pgxpool.Pool
	store *store.Store
	mc    *minio.Client
	reg   *registry.Registry
	tc    client.Client
}

// newTestEnv prepares a fresh schema, bucket and task queue on the stack
// the environment points at and a model configured on synth's data.
func newTestEnv(t *testing.T, approval bool) *testEnv {
	t.Helper()
	e := &testEnv{model: stacktest.Unique("f-")}
	mc := stacktest.MinIO(t)
	bucket := stacktest.Bucket(t, mc)
	pgURL := stacktest.PGURL(t)
	cfgDir := t.TempDir()
	stacktest.WriteModelConfig(t, cfgDir, e.model, approval)
	e.env = map[string]string{
		"PROMOFLOW_TEMPORAL_ADDRESS":   stacktest.TemporalAddress(t),
		"PROMOFLOW_TEMPORAL_NAMESPACE": "default",
		"PROMOFLOW_TASK_QUEUE":         stacktest.Unique("faults-"),
		"PROMOFLOW_PG_URL":             pgURL,
		"PROMOFLOW_MINIO_ENDPOINT":     stacktest.Env(t, "PROMOFLOW_MINIO_ENDPOINT"),
		"PROMOFLOW_MINIO_ACCESS_KEY":   stacktest.Env(t, "PROMOFLOW_MINIO_ACCESS_KEY"),
		"PROMOFLOW_MINIO_SECRET_KEY":   stacktest.Env(t, "PROMOFLOW_MINIO_SECRET_KEY"),
		"PROMOFLOW_MINIO_BUCKET":       bucket,
		"PROMOFLOW_METRICS_ADDR":       "",
		"PROMOFLOW_CONFIG_DIR":         cfgDir,
		"PROMOFLOW_ACTOR":              "faults",
	}
	e.mc = mc
	e.pool = stacktest.PGPoolURL(t, pgURL)
	e.store = store.New(e.pool)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := e.store.Migrate(ctx); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	e.reg = registry.New(mc, bucket)
	tc, err := client.Dial(client.Options{HostPort: e.env["PROMOFLOW_TEMPORAL_ADDRESS"], Logger: quietLogger{}})
	if err != nil {
		t.Fatalf("dial temporal: %v", err)
	}
	t.Cleanup(tc.Close)
	e.tc = tc
	return e
}

// environ is the process environment of a promoflow child.
func (e *testEnv) environ() []string {
	var out []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PROMOFLOW_") {
			out = append(out, kv)
		}
	}
	for k, v := range e.env {
		out = append(out, k+"="+v)
	}
	return out
}

// land generates days of synthetic data, uploads each day's file to the
// landing area and returns the days and each day's row count.
func (e *testEnv) land(t *testing.T, gen synth.Config) (days []string, rows map[string]int64) {
	t.Helper()
	files, err := synth.WriteDays(t.TempDir(), gen)
	if err != nil {
		t.Fatal(err)
	}
	rows = map[string]int64{}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for _, f := range files {
		day := filepath.Base(filepath.Dir(f))
		key := "landing/" + e.model + "/" + day + "/part-0.csv"
		if _, err := e.mc.FPutObject(ctx, e.env["PROMOFLOW_MINIO_BUCKET"], key, f, minio.PutObjectOptions{ContentType: "text/csv"}); err != nil {
			t.Fatalf("land %s: %v", key, err)
		}
		n, err := countLines(f)
		if err != nil {
			t.Fatal(err)
		}
		days = append(days, day)
		rows[day] = n - 1
	}
	return days, rows
}

func countLines(path string) (int64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, fmt.Errorf("count lines: %w", err)
	}
	return int64(bytes.Count(b, []byte{'\n'})), nil
}

// workerProc is `promoflow worker` running as a child process.
type workerProc struct {
	cmd  *exec.Cmd
	done chan struct{}
	err  error
	log  string
}

// startWorker runs `promoflow worker` on the test's task queue; the test's
// cleanup kills it if it still runs.
func (e *testEnv) startWorker(t *testing.T) *workerProc {
	t.Helper()
	bin := promoflowBinary(t)
	logf, err := os.CreateTemp(t.TempDir(), "worker-*.log")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "worker")
	cmd.Env = e.environ()
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		logf.Close()
		t.Fatalf("start worker: %v", err)
	}
	w := &workerProc{cmd: cmd, done: make(chan struct{}), log: logf.Name()}
	go func() {
		w.err = cmd.Wait()
		logf.Close()
		close(w.done)
	}()
	t.Cleanup(func() {
		w.signal(syscall.SIGKILL)
		<-w.done
		if t.Failed() {
			if b, err := os.ReadFile(w.log); err == nil {
				t.Logf("worker pid %d log (tail):\n%s", cmd.Process.Pid, tail(string(b), 40))
			}
		}
	})
	t.Logf("worker started: pid %d, task queue %s", cmd.Process.Pid, e.env["PROMOFLOW_TASK_QUEUE"])
	return w
}

func (w *workerProc) signal(sig syscall.Signal) {
	select {
	case <-w.done:
	default:
		_ = syscall.Kill(-w.cmd.Process.Pid, sig)
	}
}

// kill SIGKILLs the worker and waits until it is gone.
func (w *workerProc) kill(t *testing.T) {
	t.Helper()
	w.signal(syscall.SIGKILL)
	select {
	case <-w.done:
	case <-time.After(30 * time.Second):
		t.Fatalf("worker pid %d did not die after SIGKILL", w.cmd.Process.Pid)
	}
	t.Logf("worker pid %d killed (%v)", w.cmd.Process.Pid, w.err)
}

// stop ends the worker gracefully (SIGTERM) and waits.
func (w *workerProc) stop(t *testing.T) {
	t.Helper()
	w.signal(syscall.SIGTERM)
	select {
	case <-w.done:
	case <-time.After(30 * time.Second):
		t.Fatalf("worker pid %d did not stop after SIGTERM", w.cmd.Process.Pid)
	}
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// startDaily starts DailyRetrain for the test's model and day.
func (e *testEnv) startDaily(t *testing.T, ctx context.Context, day string) client.WorkflowRun {
	t.Helper()
	in := workflows.DailyInput{Model: e.model, Day: day}
	run, err := e.tc.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID: workflows.DailyWorkflowID(e.model, day), TaskQueue: e.env["PROMOFLOW_TASK_QUEUE"],
	}, workflows.DailyRetrainWorkflow, in)
	if err != nil {
		t.Fatalf("start DailyRetrain %s: %v", day, err)
	}
	t.Logf("started workflow %s", run.GetID())
	return run
}

// waitStep polls the workflow's step query until it answers want.
func (e *testEnv) waitStep(t *testing.T, ctx context.Context, id, want string) {
	t.Helper()
	last := ""
	for {
		v, err := e.tc.QueryWorkflow(ctx, id, "", workflows.QueryStep)
		var step string
		if err == nil && v.Get(&step) == nil {
			if step != last {
				t.Logf("  step: %s", step)
				last = step
			}
			if step == want {
				return
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("workflow %s never reached step %q (last %q): %v", id, want, last, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// activityAttempts returns, per activity type, the highest attempt that
// ran in the workflow's history.
func (e *testEnv) activityAttempts(t *testing.T, ctx context.Context, id string) map[string]int32 {
	t.Helper()
	types := map[int64]string{}
	out := map[string]int32{}
	it := e.tc.GetWorkflowHistory(ctx, id, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			t.Fatalf("history of %s: %v", id, err)
		}
		if a := ev.GetActivityTaskScheduledEventAttributes(); a != nil {
			types[ev.GetEventId()] = a.GetActivityType().GetName()
		}
		if a := ev.GetActivityTaskStartedEventAttributes(); a != nil {
			name := types[a.GetScheduledEventId()]
			out[name] = max(out[name], a.GetAttempt())
		}
	}
	return out
}

// rawRows counts the raw rows and ingested file records of a source's day.
func (e *testEnv) rawRows(t *testing.T, day string) (rows, files int64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	d, err := store.ParseDay(day)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.pool.QueryRow(ctx, `SELECT count(*) FROM raw_rows WHERE source = $1 AND day = $2`, e.model, d).Scan(&rows); err != nil {
		t.Fatalf("count raw rows: %v", err)
	}
	if err := e.pool.QueryRow(ctx, `SELECT count(*) FROM ingested_files WHERE source = $1 AND day = $2`, e.model, d).Scan(&files); err != nil {
		t.Fatalf("count ingested files: %v", err)
	}
	return rows, files
}

// versions lists the committed versions, verifying each one's checksums.
func (e *testEnv) versions(t *testing.T) []int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	nums, err := e.reg.VersionNumbers(ctx, e.model)
	if err != nil && !errors.Is(err, registry.ErrNotFound) {
		t.Fatalf("versions of %s: %v", e.model, err)
	}
	for _, v := range nums {
		if err := e.reg.Verify(ctx, e.model, v); err != nil {
			t.Errorf("version %d is visible but does not verify: %v", v, err)
		}
	}
	return nums
}

// quietLogger drops the Temporal SDK's log lines: a fault test provokes
// connection errors on purpose.
type quietLogger struct{}

func (quietLogger) Debug(string, ...any) {}
func (quietLogger) Info(string, ...any)  {}
func (quietLogger) Warn(string, ...any)  {}
func (quietLogger) Error(string, ...any) {}

// startOpts starts a workflow on the test's task queue.
func startOpts(e *testEnv, id string) client.StartWorkflowOptions {
	return client.StartWorkflowOptions{ID: id, TaskQueue: e.env["PROMOFLOW_TASK_QUEUE"]}
}
