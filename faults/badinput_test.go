package faults

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/minio/minio-go/v7"
	"go.temporal.io/sdk/temporal"

	"github.com/promoflow/promoflow/activities"
	"github.com/promoflow/promoflow/clean"
	"github.com/promoflow/promoflow/config"
	"github.com/promoflow/promoflow/learn"
	"github.com/promoflow/promoflow/registry"
	"github.com/promoflow/promoflow/store"
	"github.com/promoflow/promoflow/synth"
	"github.com/promoflow/promoflow/workflows"
)

// outcomeTable collects one row per bad input tried and logs them as a
// table when the test ends.
type outcomeTable struct {
	title string
	rows  [][3]string
}

func (o *outcomeTable) add(input, want, got string) {
	got = strings.ReplaceAll(got, "\n", " ")
	if len(got) > 160 {
		got = got[:157] + "..."
	}
	o.rows = append(o.rows, [3]string{input, want, got})
}

func (o *outcomeTable) log(t *testing.T) {
	t.Helper()
	var b bytes.Buffer
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "INPUT\tWANT\tGOT\n")
	for _, r := range o.rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", r[0], r[1], r[2])
	}
	tw.Flush()
	t.Logf("%s: %d cases\n%s", o.title, len(o.rows), b.String())
}

// errText is an error's message, or "ok".
func errText(err error) string {
	if err == nil {
		return "ok"
	}
	return err.Error()
}

// badInputEnv is a fresh schema, bucket, task queue and model on whatever
// stack the environment names; bad inputs change nothing outside it.
func badInputEnv(t *testing.T) *testEnv {
	t.Helper()
	requireFaultsRun(t)
	return newTestEnv(t, false)
}

// csvCase is one file offered to ingest.
type csvCase struct {
	name string
	body []byte
	// rows is how many rows must be ingested; -1 means the file must be
	// refused with an input error and leave nothing behind.
	rows int64
	// quarantined is how many of them cleaning must quarantine.
	quarantined int64
}

func csvCases() []csvCase {
	header := strings.Join(synth.Schema().Names(), ",")
	good := synth.Generate(synth.Config{Rows: 3, Seed: 9})
	var goodBuf bytes.Buffer
	if err := good.Write(&goodBuf, ','); err != nil {
		panic(err)
	}
	row := func(i int) string { return strings.Join(good.Rows[i], ",") }
	hist, _ := good.Col(synth.ColHistory)
	rec, _ := good.Col(synth.ColRecency)
	with := func(i, col int, v string) string {
		r := append([]string(nil), good.Rows[i]...)
		r[col] = v
		return strings.Join(r, ",")
	}
	lines := func(ls ...string) []byte { return []byte(strings.Join(ls, "\n") + "\n") }
	return []csvCase{
		{"control: 3 good rows", goodBuf.Bytes(), 3, 0},
		{"control: CRLF line ends", bytes.ReplaceAll(goodBuf.Bytes(), []byte("\n"), []byte("\r\n")), 3, 0},
		{"wrong header (recency→recent)", lines(strings.Replace(header, "recency", "recent", 1), row(0)), -1, 0},
		{"header with an extra column", lines(header+",extra", row(0)+",1"), -1, 0},
		{"header with a duplicate column", lines(header+",recency", row(0)+",1"), -1, 0},
		{"row with an extra field", lines(header, row(0), row(1)+",surplus"), -1, 0},
		{"row with a missing field", lines(header, row(0), row(1)[:strings.LastIndex(row(1), ",")]), -1, 0},
		{"bare quote in a field", lines(header, with(0, rec, `7"`)), -1, 0},
		{"unterminated quoted field", lines(header, row(0), with(1, rec, `"7`)), -1, 0},
		{"text after a closing quote", lines(header, with(0, rec, `"7"x`)), -1, 0},
		{"invalid UTF-8 in a field", lines(header, with(0, rec, "\xff\xfe")), -1, 0},
		{"NUL byte in a field", lines(header, with(0, rec, "7\x00")), -1, 0},
		{"NaN in history", lines(header, row(0), with(1, hist, "NaN")), 2, 1},
		{"+Inf and -Inf in history", lines(header, row(0), with(1, hist, "+Inf"), with(2, hist, "-Inf")), 3, 2},
		{"1e400 in history", lines(header, row(0), with(1, hist, "1e400")), 2, 1},
		{"huge field (2 MiB)", lines(header, with(0, rec, strings.Repeat("9", 2<<20))), -1, 0},
		{"header only, no rows", lines(header), -1, 0},
		{"blank lines only", []byte("\n\n\n"), -1, 0},
		{"0-byte file", nil, -1, 0},
		{"binary garbage", []byte("\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03\xff\xfe\x00\x01"), -1, 0},
		{"SQL in a field", lines(header, with(0, rec, "1'); DROP TABLE raw_rows; --")), 1, 1},
	}
}

// TestBadCSV offers every malformed CSV variant to the IngestFile activity
// (as the worker runs it) and to `promoflow data ingest`, and logs a table
// of what each got. A refused file must fail with a non-retryable
// InvalidInput error and leave no row behind; a well-formed file with bad
// values must be ingested whole and have those rows quarantined.
func TestBadCSV(t *testing.T) {
	e := badInputEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	dir := t.TempDir()
	m, err := config.Load(e.env["PROMOFLOW_CONFIG_DIR"], e.model)
	if err != nil {
		t.Fatal(err)
	}
	d := &activities.Ingest{
		Store: e.store, LocalDir: dir,
		Columns: func(string) ([]string, error) { return m.Schema().Names(), nil },
	}
	cl := &activities.Clean{Store: e.store, Config: func(string) (clean.Config, error) { return m.Clean, nil }}
	cleanYAML := filepath.Join(dir, "clean.json")
	cj, err := json.Marshal(m.Clean)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cleanYAML, cj, 0o644); err != nil {
		t.Fatal(err)
	}
	tbl := &outcomeTable{title: "malformed CSV through IngestFile"}
	cli := &outcomeTable{title: "malformed CSV through `promoflow data ingest`"}
	for i, c := range csvCases() {
		day := time.Date(2026, 1, 1+i, 0, 0, 0, 0, time.UTC).Format(time.DateOnly)
		path := filepath.Join(dir, fmt.Sprintf("case-%02d.csv", i))
		if err := os.WriteFile(path, c.body, 0o644); err != nil {
			t.Fatal(err)
		}
		want := fmt.Sprintf("%d rows, %d quarantined", c.rows, c.quarantined)
		if c.rows < 0 {
			want = "InvalidInput, nothing stored"
		}
		res, err := d.IngestFile(ctx, workflows.IngestInput{Source: e.model, Day: day, Key: path})
		got := errText(err)
		var ae *temporal.ApplicationError
		var ie *store.InputError
		switch {
		case c.rows < 0 && err == nil:
			t.Errorf("%s: ingested %d rows, want it refused", c.name, res.Rows)
		case c.rows < 0 && !(errors.As(err, &ae) && ae.NonRetryable() && ae.Type() == "InvalidInput" && errors.As(err, &ie)):
			t.Errorf("%s: error %v, want a non-retryable InvalidInput wrapping *store.InputError", c.name, err)
		case c.rows >= 0 && err != nil:
			t.Errorf("%s: %v, want %d rows ingested", c.name, err, c.rows)
		case c.rows >= 0:
			cr, err := cl.CleanDay(ctx, workflows.CleanInput{Model: e.model, Source: e.model, Day: day})
			if err != nil {
				t.Errorf("%s: clean: %v", c.name, err)
				break
			}
			got = fmt.Sprintf("ok: %d rows, %d quarantined %v", res.Rows, cr.Quarantined, cr.ByRule)
			if res.Rows != c.rows || cr.Quarantined != c.quarantined {
				t.Errorf("%s: %d rows with %d quarantined, want %d with %d", c.name, res.Rows, cr.Quarantined, c.rows, c.quarantined)
			}
		}
		if ae != nil {
			got = fmt.Sprintf("[%s] %s", ae.Type(), ie)
		}
		if n, files := e.rawRows(t, day); c.rows < 0 && (n != 0 || files != 0) {
			t.Errorf("%s: refused but %d rows in %d files stored", c.name, n, files)
		}
		tbl.add(c.name, want, got)

		r := e.runCLI(t, ctx, "data", "ingest", "-source", e.model+"-cli", "-day", day, "-config", cleanYAML, path)
		if (r.code == 0) != (c.rows >= 0) {
			t.Errorf("%s: promoflow data ingest exited %d: %s", c.name, r.code, r.output)
		}
		cli.add(c.name, map[bool]string{true: "exit 0", false: "exit 1"}[c.rows >= 0], fmt.Sprintf("exit %d: %s", r.code, lastLine(r.output)))
	}

	// Paths and keys that try to leave the landing area.
	for _, key := range []string{"/etc/passwd", "file:///etc/passwd", filepath.Join(dir, "..", "x.csv"),
		"landing/" + e.model + "/2026-01-01/../../../etc.csv", "landing/other/2026-01-01/part-0.csv"} {
		_, err := d.IngestFile(ctx, workflows.IngestInput{Source: e.model, Day: "2026-01-01", Key: key})
		var ae *temporal.ApplicationError
		if err == nil || !errors.As(err, &ae) || ae.Type() != "InvalidInput" {
			t.Errorf("key %q: %v, want InvalidInput", key, err)
		}
		tbl.add("key "+key, "InvalidInput", errText(err))
	}
	tbl.log(t)
	cli.log(t)
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}

// TestBadModelFiles feeds learn.Load broken model files and registry.Load
// a tampered, truncated and missing artifact; the registry must also
// refuse to promote a tampered version.
func TestBadModelFiles(t *testing.T) {
	e := badInputEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	models := e.registerVersions(t, ctx, 1)
	good, err := json.Marshal(models[1])
	if err != nil {
		t.Fatal(err)
	}
	edit := func(f func(m map[string]any)) []byte {
		var m map[string]any
		if err := json.Unmarshal(good, &m); err != nil {
			t.Fatal(err)
		}
		f(m)
		b, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	prop := func(m map[string]any) map[string]any { return m["propensity"].(map[string]any) }
	tbl := &outcomeTable{title: "model files through learn.Load"}
	cases := []struct {
		name string
		data []byte
		ok   bool
	}{
		{"control: the trained model", good, true},
		{"format_version 2", edit(func(m map[string]any) { m["format_version"] = 2 }), false},
		{"format_version 0", edit(func(m map[string]any) { m["format_version"] = 0 }), false},
		{"format other", edit(func(m map[string]any) { m["format"] = "sklearn-pickle" }), false},
		{"unknown field", edit(func(m map[string]any) { m["backdoor"] = true }), false},
		{"coefficient dropped", edit(func(m map[string]any) { c := prop(m)["coef"].([]any); prop(m)["coef"] = c[1:] }), false},
		{"pipeline missing", edit(func(m map[string]any) { delete(m, "pipeline") }), false},
		{"schema emptied", edit(func(m map[string]any) { m["schema"] = map[string]any{} }), false},
		{"truncated at half", good[:len(good)/2], false},
		{"truncated by one byte", good[:len(good)-1], false},
		{"trailing data", append(append([]byte(nil), good...), []byte(` {}`)...), false},
		{"coefficient 1e400", bytes.Replace(good, []byte(`"intercept":`), []byte(`"intercept":1e400,"x":`), 1), false},
		{"empty", nil, false},
		{"not JSON", []byte("PK\x03\x04 zip file"), false},
		{"JSON null", []byte("null"), false},
	}
	for _, c := range cases {
		_, err := learn.Load(c.data)
		if (err == nil) != c.ok {
			t.Errorf("%s: learn.Load error %v, want ok=%v", c.name, err, c.ok)
		}
		tbl.add(c.name, map[bool]string{true: "loads", false: "error"}[c.ok], errText(err))
	}
	tbl.log(t)

	reg := &outcomeTable{title: "stored artifacts through registry.Load and Promote"}
	bucket := e.env["PROMOFLOW_MINIO_BUCKET"]
	key := registry.ObjectKey(e.model, 1, registry.ModelArtifact)
	put := func(b []byte) {
		if _, err := e.mc.PutObject(ctx, bucket, key, bytes.NewReader(b), int64(len(b)), minio.PutObjectOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	artifacts := []struct {
		name   string
		change func()
	}{
		{"one coefficient digit changed", func() { put(bytes.Replace(good, []byte(`"intercept":`), []byte(`"intercept":1`), 1)) }},
		{"truncated artifact", func() { put(good[:len(good)/2]) }},
		{"same size, one byte flipped", func() { b := bytes.Clone(good); b[len(b)/2] ^= 1; put(b) }},
		{"artifact deleted", func() {
			if err := e.mc.RemoveObject(ctx, bucket, key, minio.RemoveObjectOptions{}); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, a := range artifacts {
		a.change()
		_, _, err := e.reg.Load(ctx, e.model, 1)
		var ie *registry.IntegrityError
		if !errors.As(err, &ie) {
			t.Errorf("%s: registry.Load error %v, want *registry.IntegrityError", a.name, err)
		}
		reg.add(a.name+": Load", "IntegrityError", errText(err))
		_, err = e.reg.Promote(ctx, registry.MoveRequest{Model: e.model, To: 1, Actor: "faults", Reason: "promote a tampered version"})
		if !errors.As(err, &ie) {
			t.Errorf("%s: Promote error %v, want *registry.IntegrityError", a.name, err)
		}
		reg.add(a.name+": Promote", "IntegrityError, alias unset", errText(err))
		put(good)
	}
	if _, err := e.reg.Resolve(ctx, e.model, registry.Production); !errors.Is(err, registry.ErrNotFound) {
		t.Errorf("production after refused promotions: %v, want unset", err)
	}
	reg.log(t)
}

// TestBadAPIRequests sends oversized and malformed requests, unknown and
// path-like model names and SQL metacharacters to the scoring service over
// real HTTP and logs what each got.
func TestBadAPIRequests(t *testing.T) {
	e := badInputEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	e.registerVersions(t, ctx, 1)
	if _, err := e.reg.Promote(ctx, registry.MoveRequest{Model: e.model, To: 1, Actor: "faults", Reason: "bad input test"}); err != nil {
		t.Fatal(err)
	}
	_, hs := e.newServer(t, time.Hour)
	client := hs.Client()
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	scoreURL := "/v1/models/" + e.model + "/score"
	valid := `{"customers":[{"customer_id":"a","recency":3,"history":120.5,"channel":"Web","zip_code":"Urban","newbie":true}]}`
	many := `{"customers":[` + strings.Repeat(`{},`, 10_000) + `{}]}`
	cases := []struct {
		name, method, path, token, body string
		want                            int
	}{
		{"control: one valid customer", "POST", scoreURL, scoreToken, valid, 200},
		{"no token", "POST", scoreURL, "", valid, 401},
		{"wrong token", "POST", scoreURL, "guess", valid, 401},
		{"body of 2 MiB", "POST", scoreURL, scoreToken, `{"customers":[{"customer_id":"` + strings.Repeat("x", 2<<20) + `"}]}`, 413},
		{"10,001 customers", "POST", scoreURL, scoreToken, many, 400},
		{"empty body", "POST", scoreURL, scoreToken, "", 400},
		{"malformed JSON", "POST", scoreURL, scoreToken, `{"customers":[{"recency":3,}]}`, 400},
		{"JSON cut short", "POST", scoreURL, scoreToken, valid[:40], 400},
		{"two JSON objects", "POST", scoreURL, scoreToken, valid + valid, 400},
		{"unknown top-level field", "POST", scoreURL, scoreToken, `{"customers":[],"admin":true}`, 400},
		{"no customers", "POST", scoreURL, scoreToken, `{"customers":[]}`, 400},
		{"customers not an array", "POST", scoreURL, scoreToken, `{"customers":"all"}`, 400},
		{"null customer", "POST", scoreURL, scoreToken, `{"customers":[null]}`, 400},
		{"unknown column", "POST", scoreURL, scoreToken, strings.Replace(valid, `"newbie"`, `"password"`, 1), 400},
		{"number as string", "POST", scoreURL, scoreToken, strings.Replace(valid, `"recency":3`, `"recency":"3"`, 1), 400},
		{"number 1e999", "POST", scoreURL, scoreToken, strings.Replace(valid, `"recency":3`, `"recency":1e999`, 1), 400},
		{"flag 2", "POST", scoreURL, scoreToken, strings.Replace(valid, `"newbie":true`, `"newbie":2`, 1), 400},
		{"invalid UTF-8 in JSON", "POST", scoreURL, scoreToken, strings.Replace(valid, `"Web"`, "\"W\xffb\"", 1), 200},
		{"SQL in a category", "POST", scoreURL, scoreToken, strings.Replace(valid, `"Web"`, `"Web'); DROP TABLE scoring_log; --"`, 1), 200},
		{"unknown model", "POST", "/v1/models/nosuchmodel/score", scoreToken, valid, 404},
		{"path-like model ../x (raw)", "POST", "/v1/models/../x/score", scoreToken, valid, 0},
		{"path-like model ..%2Fx (escaped)", "POST", "/v1/models/" + url.PathEscape("../x") + "/score", scoreToken, valid, 404},
		{"model with SQL metacharacters", "POST", "/v1/models/" + url.PathEscape("x'; DROP TABLE runs; --") + "/score", scoreToken, valid, 404},
		{"reload an unknown model", "POST", "/v1/models/nosuchmodel/reload", scoreToken, "", 404},
		{"GET on the score route", "GET", scoreURL, scoreToken, "", 405},
	}
	tbl := &outcomeTable{title: "scoring API requests"}
	for _, c := range cases {
		req, err := http.NewRequestWithContext(ctx, c.method, hs.URL+c.path, strings.NewReader(c.body))
		if err != nil {
			t.Fatal(err)
		}
		if c.path != req.URL.Path && !strings.Contains(c.path, "%") {
			req.URL.Opaque = c.path // send the path as written, unclean
		}
		if c.token != "" {
			req.Header.Set("Authorization", "Bearer "+c.token)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		var b bytes.Buffer
		b.ReadFrom(resp.Body)
		resp.Body.Close()
		got := fmt.Sprintf("%d %s", resp.StatusCode, strings.TrimSpace(b.String()))
		want := fmt.Sprint(c.want)
		switch {
		case c.want == 0:
			// Whatever the router answers, it must not score.
			want = "not 200"
			if resp.StatusCode == http.StatusOK {
				t.Errorf("%s: scored: %s", c.name, got)
			}
		case resp.StatusCode != c.want:
			t.Errorf("%s: %s, want status %d", c.name, got, c.want)
		}
		if resp.StatusCode >= 400 && resp.StatusCode != 405 && resp.StatusCode != 404 && !json.Valid(b.Bytes()) {
			t.Errorf("%s: error body is not JSON: %q", c.name, b.String())
		}
		tbl.add(c.name, want, got)
	}
	tbl.log(t)
}

// TestHostileNamesAndReasons sends path-like and SQL-laden model names
// through the registry, the configuration and `promoflow promote`, and
// checks that a reason and an actor full of SQL metacharacters are stored
// verbatim in the audit log (and that the tables they name still exist).
func TestHostileNamesAndReasons(t *testing.T) {
	e := badInputEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	e.registerVersions(t, ctx, 1)
	e.startWorker(t)
	const sqlReason = `'; DROP TABLE runs; --`
	const sqlActor = `o'brien"); DELETE FROM audit_log; --`
	names := []string{"../x", "..", "x/../../y", `x'; DROP TABLE runs; --`, "Upper", "", strings.Repeat("a", 64), "nosuchmodel"}
	tbl := &outcomeTable{title: "hostile model names"}
	for _, n := range names {
		_, err := e.reg.Resolve(ctx, n, registry.Production)
		if err == nil {
			t.Errorf("registry.Resolve(%q) succeeded", n)
		}
		tbl.add(fmt.Sprintf("registry.Resolve %q", n), "error", errText(err))
		_, err = config.Load(e.env["PROMOFLOW_CONFIG_DIR"], n)
		if err == nil {
			t.Errorf("config.Load(%q) succeeded", n)
		}
		tbl.add(fmt.Sprintf("config.Load %q", n), "error", errText(err))
		if n == "" {
			continue
		}
		r := e.runCLI(t, ctx, "promote", n, "--version", "1", "--reason", sqlReason, "--force", "--actor", sqlActor)
		if r.code == 0 {
			t.Errorf("promoflow promote %q succeeded: %s", n, r.output)
		}
		tbl.add(fmt.Sprintf("promoflow promote %q", n), "exit 1", fmt.Sprintf("exit %d: %s", r.code, lastLine(r.output)))
	}

	r := e.runCLI(t, ctx, "promote", e.model, "--version", "1", "--reason", sqlReason, "--force", "--actor", sqlActor)
	if r.code != 0 {
		t.Fatalf("promote with a SQL reason: exit %d: %s", r.code, r.output)
	}
	tbl.add("promoflow promote --reason "+sqlReason, "exit 0, stored verbatim", fmt.Sprintf("exit %d: %s", r.code, lastLine(r.output)))
	audit, err := e.store.ListAudit(ctx, e.model)
	if err != nil {
		t.Fatal(err)
	}
	if len(audit) != 1 || audit[0].Reason != "forced: "+sqlReason || audit[0].Actor != sqlActor {
		t.Errorf("audit log %+v, want one entry with reason %q and actor %q", audit, "forced: "+sqlReason, sqlActor)
	} else {
		tbl.add("audit log entry", "reason and actor verbatim", fmt.Sprintf("reason %q actor %q", audit[0].Reason, audit[0].Actor))
	}
	if _, err := e.store.ListRuns(ctx, "", 1); err != nil {
		t.Errorf("runs table after a SQL reason: %v", err)
	}
	tbl.log(t)
}
