// Command loadgen measures promoflow's scoring service on loopback: it
// registers two trained versions of a synthetic model in a scratch bucket
// of the stack's MinIO, serves them with package serve behind a real TCP
// listener (scoring log to a scratch PostgreSQL schema when
// PROMOFLOW_PG_URL is set), and sends single-customer score requests at a
// fixed rate (open loop: latency includes queueing). It runs once steady
// and once while production moves between the versions, then times batch
// scoring (learn.ScoreTable) and prints a table.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/promoflow/promoflow/learn"
	"github.com/promoflow/promoflow/registry"
	"github.com/promoflow/promoflow/serve"
	"github.com/promoflow/promoflow/store"
	"github.com/promoflow/promoflow/synth"
)

const model = "bench"

func main() {
	rate := flag.Int("rate", 2000, "requests per second")
	dur := flag.Duration("duration", 10*time.Second, "length of each run")
	swapEvery := flag.Duration("swap-every", time.Second, "alias move interval in the swap run")
	batchRows := flag.Int("batch-rows", 200000, "rows for the batch scoring timing")
	flag.Parse()
	ctx := context.Background()

	mc, err := minio.New(os.Getenv("PROMOFLOW_MINIO_ENDPOINT"), &minio.Options{
		Creds: credentials.NewStaticV4(os.Getenv("PROMOFLOW_MINIO_ACCESS_KEY"), os.Getenv("PROMOFLOW_MINIO_SECRET_KEY"), ""),
	})
	check(err)
	// A t-* bucket: the worker's MinIO user may make only those besides its own.
	bucket := fmt.Sprintf("t-bench-serve-%d", os.Getpid())
	check(mc.MakeBucket(ctx, bucket, minio.MakeBucketOptions{}))
	defer removeBucket(mc, bucket)
	reg := registry.New(mc, bucket)
	var versions []int
	var m1 *learn.Model
	for seed := int64(1); seed <= 2; seed++ {
		m, err := learn.Train(synth.Generate(synth.Config{Rows: 20000, Seed: seed}), synth.Schema(),
			learn.TrainConfig{Seed: seed, Cs: []float64{1}, ClassWeights: []learn.ClassWeight{{}}, SelectThresholds: []float64{0}, CorrLimit: 1})
		check(err)
		data, err := json.Marshal(m)
		check(err)
		man, err := reg.Register(ctx, registry.RegisterRequest{Model: model, RunID: fmt.Sprintf("bench-%d", seed), Schema: m.Schema,
			Artifacts: map[string][]byte{registry.ModelArtifact: data}})
		check(err)
		versions = append(versions, man.Version)
		if m1 == nil {
			m1 = m
		}
	}
	promote := func(v int) {
		_, err := reg.Promote(ctx, registry.MoveRequest{Model: model, To: v, Actor: "loadgen", Reason: "bench"})
		check(err)
	}
	promote(versions[0])

	cfg := serve.Config{Registry: reg, Models: []string{model}, Poll: 200 * time.Millisecond,
		Tokens: mustTokens("bench:bench-token:score"), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	logging := "off"
	if url := os.Getenv("PROMOFLOW_PG_URL"); url != "" {
		st, drop := scratchStore(ctx, url)
		defer drop()
		cfg.Store = st
		logging = "on (COPY batches)"
	}
	srv, err := serve.New(cfg, nil)
	check(err)
	runCtx, stop := context.WithCancel(ctx)
	runDone := make(chan error, 1)
	go func() { runDone <- srv.Run(runCtx) }()
	for !srv.Ready() {
		time.Sleep(10 * time.Millisecond)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	check(err)
	hs := &http.Server{Handler: srv.Handler()}
	go hs.Serve(ln)
	url := "http://" + ln.Addr().String() + "/v1/models/" + model + "/score"

	load(url, *rate, 2*time.Second, nil) // warm-up: connections, heap, caches
	steady := load(url, *rate, *dur, nil)
	var swaps atomic.Int64
	swapping := load(url, *rate, *dur, func(stop <-chan struct{}) {
		t := time.NewTicker(*swapEvery)
		defer t.Stop()
		for k := 1; ; k++ {
			select {
			case <-stop:
				return
			case <-t.C:
				promote(versions[k%2])
				swaps.Add(1)
			}
		}
	})
	hs.Close()
	stop()
	check(<-runDone)

	tbl := synth.Generate(synth.Config{Rows: *batchRows, Seed: 9})
	best := time.Duration(1 << 62)
	for i := 0; i < 3; i++ {
		t0 := time.Now()
		_, err := m1.ScoreTable(tbl)
		check(err)
		best = min(best, time.Since(t0))
	}

	fmt.Printf("serve bench: single-customer POST /v1/models/%s/score on loopback, open loop, scoring log %s\n", model, logging)
	fmt.Printf("%-26s %8s %9s %8s %8s %8s %8s %7s\n", "run", "target/s", "achieved/s", "ok", "errors", "p50 ms", "p99 ms", "max ms")
	steady.print("steady", *rate)
	swapping.print(fmt.Sprintf("swapping (%d alias moves)", swaps.Load()), *rate)
	goal := "OK"
	if steady.p(0.99) >= 5*time.Millisecond || swapping.p(0.99) >= 5*time.Millisecond || swapping.errors+steady.errors > 0 {
		goal = "BELOW GOAL"
	}
	fmt.Printf("goal p99 < 5 ms at %d req/s, no errors: %s\n", *rate, goal)
	fmt.Printf("batch scoring (learn.ScoreTable, %d rows, best of 3): %.0f rows/s\n", *batchRows, float64(*batchRows)/best.Seconds())
}

// result is the outcome of one load run.
type result struct {
	lat      []time.Duration
	errors   int
	versions map[int]int
	elapsed  time.Duration
}

func (r *result) p(q float64) time.Duration {
	if len(r.lat) == 0 {
		return 0
	}
	return r.lat[min(len(r.lat)-1, int(q*float64(len(r.lat))))]
}

func (r *result) print(name string, rate int) {
	fmt.Printf("%-26s %8d %9.0f %8d %8d %8.2f %8.2f %7.2f\n", name, rate, float64(len(r.lat)+r.errors)/r.elapsed.Seconds(),
		len(r.lat), r.errors, ms(r.p(0.5)), ms(r.p(0.99)), ms(r.p(1)))
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// load sends rate requests per second for dur, each at its scheduled time
// whatever the previous ones did; side runs alongside until the end.
func load(url string, rate int, dur time.Duration, side func(stop <-chan struct{})) *result {
	tr := &http.Transport{MaxIdleConns: 512, MaxIdleConnsPerHost: 512, IdleConnTimeout: time.Minute}
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	defer tr.CloseIdleConnections()
	bodies := make([][]byte, 64)
	chans := []string{"Phone", "Web", "Multichannel"}
	for i := range bodies {
		bodies[i], _ = json.Marshal(map[string]any{"customers": []any{map[string]any{
			"customer_id": fmt.Sprintf("c%d", i), "recency": 1 + i%12, "history": 20 + 17*i, "channel": chans[i%3],
			"zip_code": "Urban", "newbie": i%2 == 0}}})
	}
	stop := make(chan struct{})
	var sideDone sync.WaitGroup
	if side != nil {
		sideDone.Add(1)
		go func() { defer sideDone.Done(); side(stop) }()
	}
	n := int(float64(rate) * dur.Seconds())
	lat := make([]time.Duration, n)
	ok := make([]bool, n)
	var wg sync.WaitGroup
	start := time.Now()
	interval := time.Second / time.Duration(rate)
	for i := 0; i < n; i++ {
		at := start.Add(time.Duration(i) * interval)
		if d := time.Until(at); d > 0 {
			time.Sleep(d)
		}
		wg.Add(1)
		go func(i int, at time.Time) {
			defer wg.Done()
			req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(bodies[i%len(bodies)]))
			req.Header.Set("Authorization", "Bearer bench-token")
			resp, err := client.Do(req)
			if err != nil {
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			lat[i] = time.Since(at)
			ok[i] = resp.StatusCode == http.StatusOK
		}(i, at)
	}
	wg.Wait()
	elapsed := time.Since(start)
	close(stop)
	sideDone.Wait()
	r := &result{elapsed: elapsed}
	for i := range lat {
		if ok[i] {
			r.lat = append(r.lat, lat[i])
		} else {
			r.errors++
		}
	}
	slices.Sort(r.lat)
	return r
}

func mustTokens(spec string) serve.Tokens {
	t, err := serve.ParseTokens(spec)
	check(err)
	return t
}

// scratchStore migrates a fresh schema for the scoring log and returns a
// function dropping it. The schema is made with PROMOFLOW_PG_ADMIN_URL
// (the app's role may not create schemas) and owned by the app's role.
func scratchStore(ctx context.Context, url string) (*store.Store, func()) {
	schema := fmt.Sprintf("bench_serve_%d", os.Getpid())
	pcfg, err := pgxpool.ParseConfig(url)
	check(err)
	admin, err := pgxpool.New(ctx, os.Getenv("PROMOFLOW_PG_ADMIN_URL"))
	check(err)
	_, err = admin.Exec(ctx, "CREATE SCHEMA "+schema+" AUTHORIZATION "+pgx.Identifier{pcfg.ConnConfig.User}.Sanitize())
	check(err)
	pcfg.ConnConfig.RuntimeParams["search_path"] = schema
	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	check(err)
	st := store.New(pool)
	_, err = st.Migrate(ctx)
	check(err)
	return st, func() {
		var n int64
		if err := pool.QueryRow(ctx, "SELECT count(*) FROM scoring_log").Scan(&n); err == nil {
			fmt.Printf("scoring_log rows written: %d\n", n)
		}
		pool.Close()
		admin.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE")
		admin.Close()
	}
}

func removeBucket(mc *minio.Client, bucket string) {
	ctx := context.Background()
	for obj := range mc.ListObjects(ctx, bucket, minio.ListObjectsOptions{Recursive: true}) {
		if obj.Err == nil {
			mc.RemoveObject(ctx, bucket, obj.Key, minio.RemoveObjectOptions{})
		}
	}
	mc.RemoveBucket(ctx, bucket)
}

func check(err error) {
	if err != nil {
		log.Fatal(err)
	}
}
