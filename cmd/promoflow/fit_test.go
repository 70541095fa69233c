package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/promoflow/promoflow/learn"
)

func TestGenerateThenFit(t *testing.T) {
	dir := t.TempDir()
	csv := filepath.Join(dir, "d.csv")
	ctx := context.Background()
	var out bytes.Buffer
	if err := runGenerate(ctx, []string{"--rows", "4000", "--seed", "3", "--out", csv}, &out); err != nil {
		t.Fatal(err)
	}
	model := filepath.Join(dir, "m.json")
	truth := "customer_id,day,true_propensity,true_uplift,true_uplift_mens_e_mail,true_uplift_womens_e_mail"
	args := []string{"--data", csv, "--target", "visit", "--treatment", "segment", "--control", "No E-Mail", "--drop", truth, "--json", "--out", model}
	out.Reset()
	if err := runFit(ctx, args, &out); err != nil {
		t.Fatal(err)
	}
	var rep fitReport
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("--json output: %v\n%s", err, out.String())
	}
	if rep.TrainRows+rep.TestRows != 4000 || rep.Metrics.ROCAUC < 0.55 || len(rep.Metrics.Uplift) != 2 {
		t.Errorf("report = %+v", rep)
	}
	b, err := os.ReadFile(model)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := learn.Load(b); err != nil {
		t.Errorf("saved model does not load: %v", err)
	}
	// The same rows through a split file and the readable summary.
	split := filepath.Join(dir, "split.json")
	if err := os.WriteFile(split, []byte(`{"train":[0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31,32,33,34,35,36,37,38,39],"test":[40,41,42,43,44,45,46,47,48,49,50,51,52,53,54,55,56,57,58,59]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if err := runFit(ctx, []string{"--data", csv, "--target", "visit", "--drop", truth, "--split", split}, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "ROC-AUC") || !strings.Contains(out.String(), "C=1 ") {
		t.Errorf("summary:\n%s", out.String())
	}
}

func TestFitRejects(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.csv")
	if err := os.WriteFile(bad, []byte("a;b\n1;2\n3\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	err := runFit(context.Background(), []string{"--data", bad, "--target", "b"}, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "bad.csv:3") {
		t.Errorf("malformed CSV error = %v, want it to name bad.csv:3", err)
	}
	split := filepath.Join(dir, "s.json")
	os.WriteFile(split, []byte(`{"train":[0],"test":[5]}`), 0o644)
	good := filepath.Join(dir, "good.csv")
	os.WriteFile(good, []byte("a,b\n1,0\n2,1\n"), 0o644)
	err = runFit(context.Background(), []string{"--data", good, "--target", "b", "--split", split}, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "out of range") {
		t.Errorf("bad split error = %v", err)
	}
}
