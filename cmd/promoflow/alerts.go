package main

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"text/tabwriter"
	"time"
)

func init() {
	register(&command{name: "alerts", summary: "list Prometheus alerts (--wait NAME: until it fires)", run: runAlerts})
}

// promAlert is one alert of Prometheus' /api/v1/alerts.
type promAlert struct {
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
	State       string            `json:"state"`
	ActiveAt    time.Time         `json:"activeAt"`
	Value       string            `json:"value"`
}

func runAlerts(ctx context.Context, args []string, stdout io.Writer) error {
	fs := newFlagSet("alerts", "[--wait NAME --timeout D]")
	url := fs.String("prometheus", cmp.Or(os.Getenv("PROMOFLOW_PROMETHEUS_URL"), "http://127.0.0.1:9190"), "Prometheus base URL (env PROMOFLOW_PROMETHEUS_URL)")
	wait := fs.String("wait", "", "wait until an alert of this name is firing")
	timeout := fs.Duration("timeout", time.Minute, "how long --wait waits")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	deadline := time.Now().Add(*timeout)
	for {
		alerts, err := fetchAlerts(ctx, *url)
		if err != nil {
			return err
		}
		firing := false
		for _, a := range alerts {
			firing = firing || (a.Labels["alertname"] == *wait && a.State == "firing")
		}
		if *wait == "" || firing {
			return printAlerts(stdout, alerts)
		}
		if time.Now().After(deadline) {
			_ = printAlerts(stdout, alerts)
			return fmt.Errorf("alert %s did not fire within %s", *wait, *timeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

func fetchAlerts(ctx context.Context, base string) ([]promAlert, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/api/v1/alerts", nil)
	if err != nil {
		return nil, fmt.Errorf("alerts from %s: %w", base, err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("alerts from %s: %w", base, err)
	}
	defer resp.Body.Close()
	var body struct {
		Status string `json:"status"`
		Data   struct {
			Alerts []promAlert `json:"alerts"`
		} `json:"data"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 16<<20)).Decode(&body); err != nil {
		return nil, fmt.Errorf("alerts from %s: decode: %w", base, err)
	}
	if resp.StatusCode != http.StatusOK || body.Status != "success" {
		return nil, fmt.Errorf("alerts from %s: %s", base, resp.Status)
	}
	return body.Data.Alerts, nil
}

func printAlerts(w io.Writer, alerts []promAlert) error {
	tw := tabwriter.NewWriter(w, 0, 2, 2, ' ', 0)
	fmt.Fprintln(tw, "ALERT\tSTATE\tSINCE\tSUMMARY")
	for _, a := range alerts {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", a.Labels["alertname"], a.State, a.ActiveAt.UTC().Format(time.RFC3339), a.Annotations["summary"])
	}
	return tw.Flush()
}
