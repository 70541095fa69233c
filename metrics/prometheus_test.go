package metrics_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/promoflow/promoflow/metrics"
)

const prometheusBin = "/usr/bin/prometheus"

// TestDriftAlertFiresInPrometheus runs a real Prometheus on loopback with
// deploy/prometheus's alert rules, scraping a server that exposes the
// metrics package with a high drift gauge, and waits for PromoflowDriftHigh
// to fire.
func TestDriftAlertFiresInPrometheus(t *testing.T) {
	if _, err := os.Stat(prometheusBin); err != nil {
		if os.Getenv("PROMOFLOW_REQUIRE_STACK") == "1" {
			t.Fatalf("%s absent but PROMOFLOW_REQUIRE_STACK=1: %v", prometheusBin, err)
		}
		t.Skipf("%s absent: %v", prometheusBin, err)
	}
	reg := prometheus.NewRegistry()
	m := metrics.New(reg)
	m.SetDrift("m1", "age", "psi", 0.4)
	m.SetDrift("m1", "income", "psi", 0.01)
	target := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	defer target.Close()

	rules, err := filepath.Abs("../deploy/prometheus/rules/promoflow.yml")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cfg := fmt.Sprintf(`global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files: [%q]
scrape_configs:
  - job_name: promoflow-worker
    static_configs:
      - targets: [%q]
`, rules, target.Listener.Addr().String())
	cfgPath := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, prometheusBin,
		"--config.file="+cfgPath, "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr, "--log.level=warn")
	log, err := os.Create(filepath.Join(dir, "prometheus.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatalf("start prometheus: %v", err)
	}
	defer func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			out, _ := os.ReadFile(filepath.Join(dir, "prometheus.log"))
			t.Logf("prometheus log:\n%s", out)
		}
	}()

	deadline := time.Now().Add(60 * time.Second)
	var last string
	for time.Now().Before(deadline) {
		firing, seen, err := driftAlert(ctx, "http://"+addr+"/api/v1/alerts")
		if err == nil && firing {
			return
		}
		last = fmt.Sprintf("err=%v alerts=%v", err, seen)
		time.Sleep(500 * time.Millisecond)
	}
	t.Fatalf("PromoflowDriftHigh not firing for model m1 feature age within 60s; last: %s", last)
}

// driftAlert reports whether PromoflowDriftHigh fires for m1/age, and every
// alert seen as alertname/feature=state.
func driftAlert(ctx context.Context, url string) (bool, []string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return false, nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false, nil, err
	}
	defer resp.Body.Close()
	var body struct {
		Data struct {
			Alerts []struct {
				Labels map[string]string `json:"labels"`
				State  string            `json:"state"`
			} `json:"alerts"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return false, nil, fmt.Errorf("decode alerts: %w", err)
	}
	var seen []string
	firing := false
	for _, a := range body.Data.Alerts {
		seen = append(seen, a.Labels["alertname"]+"/"+a.Labels["feature"]+"="+a.State)
		if a.Labels["alertname"] == "PromoflowDriftHigh" && a.Labels["feature"] == "age" && a.Labels["model"] == "m1" && a.State == "firing" {
			firing = true
		}
		if a.Labels["alertname"] == "PromoflowDriftHigh" && a.Labels["feature"] == "income" {
			return false, seen, fmt.Errorf("drift alert for income at PSI 0.01")
		}
	}
	return firing, seen, nil
}

// freeAddr returns a loopback address with a port free right now.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}
