package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/promoflow/promoflow/dataset"
	"github.com/promoflow/promoflow/learn"
	"github.com/promoflow/promoflow/schema"
)

func init() {
	register(&command{
		name:    "fit",
		summary: "train and measure a model on a local CSV (no servers)",
		run:     runFit,
	})
}

// fitReport is the machine-readable result of promoflow fit --json.
type fitReport struct {
	Data            string               `json:"data"`
	Rows            int                  `json:"rows"`
	TrainRows       int                  `json:"train_rows"`
	TestRows        int                  `json:"test_rows"`
	Split           string               `json:"split"`
	Features        int                  `json:"features"`
	Selected        int                  `json:"selected_features"`
	Settings        learn.Settings       `json:"settings"`
	Solver          learn.Solver         `json:"solver"`
	LoadSeconds     float64              `json:"load_seconds"`
	FitSeconds      float64              `json:"fit_seconds"`
	ScoreSeconds    float64              `json:"score_seconds"`
	ScoreRowsPerSec float64              `json:"score_rows_per_second"`
	Fingerprint     string               `json:"fingerprint"`
	Metrics         learn.Metrics        `json:"metrics"`
	Search          []learn.SearchResult `json:"search,omitempty"`
	Schema          schema.Schema        `json:"schema"`
	ModelFile       string               `json:"model_file,omitempty"`
	// Uplift compares, per arm on the test rows, the predicted mean uplift
	// with the observed one and, when the data holds the generator's truth
	// columns, with the truth.
	Uplift  []fitArmUplift         `json:"uplift,omitempty"`
	Dropped []learn.DroppedFeature `json:"dropped_features,omitempty"`
	Leaks   []learn.Leak           `json:"leaks,omitempty"`
}

// fitArmUplift is one arm's mean uplift on the test rows.
type fitArmUplift struct {
	Arm                 string   `json:"arm"`
	PredictedMeanUplift float64  `json:"predicted_mean_uplift"`
	ObservedUplift      float64  `json:"observed_uplift"`
	TrueMeanUplift      *float64 `json:"true_mean_uplift,omitempty"`
	UpliftRMSE          *float64 `json:"uplift_rmse,omitempty"`
}

// fitFlags are the flags of promoflow fit.
type fitFlags struct {
	data, target, positive, treatment, control, drop, id      *string
	schemaFile, splitFile, out, threshold, allow, postOutcome *string
	searchGrid, asJSON                                        *bool
	seed                                                      *int64
	testFrac                                                  *float64
}

func newFitFlags() (*flag.FlagSet, *fitFlags) {
	fs := newFlagSet("fit", "--data FILE --target COL [flags]")
	return fs, &fitFlags{
		data:        fs.String("data", "", "CSV file to fit (`,` or `;` sniffed from the header)"),
		target:      fs.String("target", "", "target column (when no --schema)"),
		positive:    fs.String("positive", "", "target value counted as 1 (default yes/true when the column holds only those, else 1)"),
		treatment:   fs.String("treatment", "", "treatment column: fit a two-model uplift learner, one per arm vs control"),
		control:     fs.String("control", "", "control value of the treatment column"),
		drop:        fs.String("drop", "", "comma-separated columns to leave out of the features"),
		id:          fs.String("id", "", "id column (never a feature)"),
		schemaFile:  fs.String("schema", "", "schema `FILE` (JSON or YAML) instead of inferring one"),
		splitFile:   fs.String("split", "", "train/test row indices as JSON {\"train\": [...], \"test\": [...]} (0-based data rows, as the peer's --split-out)"),
		searchGrid:  fs.Bool("search", false, "grid-search C, class weights and selection threshold (default on without --split)"),
		seed:        fs.Int64("seed", 42, "seed of the split and the search"),
		testFrac:    fs.Float64("test-fraction", 0.2, "share of rows held out for testing when no --split"),
		asJSON:      fs.Bool("json", false, "print machine-readable metrics and timings"),
		out:         fs.String("out", "", "write the model to this `FILE`"),
		threshold:   fs.String("threshold", "", "decision threshold `RULE`: f1 (default), youden, top_fraction=F, cost=FP:FN or a number"),
		allow:       fs.String("allow", "", "comma-separated columns the leakage screen may flag without a warning"),
		postOutcome: fs.String("post-outcome", "", "comma-separated columns known only after the outcome (always flagged as leaks)"),
	}
}

func runFit(ctx context.Context, args []string, stdout io.Writer) error {
	fs, f := newFitFlags()
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *f.data == "" {
		fs.Usage()
		return fmt.Errorf("--data is required: %w", errUsage)
	}
	t0 := time.Now()
	tbl, err := dataset.ReadFile(*f.data, dataset.Options{})
	if err != nil {
		return err
	}
	loadSec := time.Since(t0).Seconds()
	sch, err := fitSchema(tbl, *f.schemaFile, learn.InferOptions{
		Target: *f.target, Positive: *f.positive, Treatment: *f.treatment, Control: *f.control, ID: *f.id, Drop: splitList(*f.drop),
	})
	if err != nil {
		return err
	}
	cfg, trainIdx, testIdx, splitName, err := fitSplit(f, tbl, sch)
	if err != nil {
		return err
	}
	train, test := tbl.Subset(trainIdx), tbl.Subset(testIdx)
	leaks, err := learn.ScreenLeakage(train, sch, learn.LeakOptions{PostOutcome: splitList(*f.postOutcome)})
	if err != nil {
		return err
	}
	leaks = learn.RefusedLeaks(leaks, splitList(*f.allow))
	for _, l := range leaks {
		fmt.Fprintf(fs.Output(), "warning: %s (--allow %s if it is known before the outcome)\n", l, l.Column)
	}
	m, rep, err := fitAndMeasure(train, test, sch, cfg)
	if err != nil {
		return err
	}
	rep.Data, rep.Rows, rep.Split, rep.LoadSeconds, rep.ModelFile, rep.Leaks = *f.data, len(tbl.Rows), splitName, loadSec, *f.out, leaks
	if *f.out != "" {
		b, err := json.MarshalIndent(m, "", " ")
		if err != nil {
			return err
		}
		if err := os.WriteFile(*f.out, append(b, '\n'), 0o644); err != nil {
			return fmt.Errorf("save model: %w", err)
		}
	}
	if *f.asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	return writeFitSummary(stdout, &rep, m)
}

// fitSplit is the training configuration and the train and test rows: the
// --split file's (like-for-like with the scikit-learn peer unless
// --search) or a stratified split of --test-fraction.
func fitSplit(f *fitFlags, tbl *dataset.Table, sch schema.Schema) (cfg learn.TrainConfig, train, test []int, name string, err error) {
	name = fmt.Sprintf("stratified %.0f/%.0f, seed %d", 100*(1-*f.testFrac), 100**f.testFrac, *f.seed)
	cfg = learn.TrainConfig{Seed: *f.seed}
	if cfg.Threshold, err = parseThresholdFlag(*f.threshold); err != nil {
		return cfg, nil, nil, "", err
	}
	if *f.splitFile == "" {
		if !(*f.testFrac > 0 && *f.testFrac < 1) {
			return cfg, nil, nil, "", fmt.Errorf("--test-fraction %v not in (0, 1): %w", *f.testFrac, errUsage)
		}
		train, test, err = stratifiedRows(tbl, sch, *f.testFrac, *f.seed)
		return cfg, train, test, name, err
	}
	if train, test, err = readSplit(*f.splitFile, len(tbl.Rows)); err != nil {
		return cfg, nil, nil, "", err
	}
	if !*f.searchGrid {
		// Like-for-like with the scikit-learn peer.
		cfg.Cs, cfg.ClassWeights, cfg.SelectThresholds, cfg.CorrLimit = []float64{1}, []learn.ClassWeight{{}}, []float64{0}, 1
		if *f.threshold == "" {
			cfg.Threshold = learn.FixedThreshold(0.5)
		}
	}
	return cfg, train, test, *f.splitFile, nil
}

// fitAndMeasure trains on train, times scoring test and measures the
// model on it, filling the report's model, timing and metric fields.
func fitAndMeasure(train, test *dataset.Table, sch schema.Schema, cfg learn.TrainConfig) (*learn.Model, fitReport, error) {
	t1 := time.Now()
	m, err := learn.Train(train, sch, cfg)
	if err != nil {
		return nil, fitReport{}, err
	}
	fitSec := time.Since(t1).Seconds()
	// Scoring is timed as the best of three runs: one run over a small
	// test set is dominated by first-touch page faults.
	scoreSec := math.Inf(1)
	for range 3 {
		t2 := time.Now()
		if _, err := m.ScoreTable(test); err != nil {
			return nil, fitReport{}, err
		}
		scoreSec = math.Min(scoreSec, time.Since(t2).Seconds())
	}
	met, err := learn.Evaluate(m, test)
	if err != nil {
		return nil, fitReport{}, err
	}
	met.On = "test"
	m.Metrics = met
	rep := fitReport{
		TrainRows: len(train.Rows), TestRows: len(test.Rows),
		Features: len(m.Pipeline.Features), Settings: m.Settings, Solver: m.Propensity.Solver,
		FitSeconds: fitSec, ScoreSeconds: scoreSec, Fingerprint: m.Fingerprint,
		Metrics: met, Search: m.Search, Schema: sch, Dropped: m.Dropped,
	}
	if rep.Uplift, err = fitUplift(m, met, test); err != nil {
		return nil, fitReport{}, err
	}
	if scoreSec > 0 {
		rep.ScoreRowsPerSec = float64(len(test.Rows)) / scoreSec
	}
	for _, f := range m.Pipeline.Features {
		if f.Selected {
			rep.Selected++
		}
	}
	return m, rep, nil
}

// fitUplift gives per arm the predicted and observed mean uplift on the
// test rows and, when the generator's truth columns are there, the truth.
func fitUplift(m *learn.Model, met learn.Metrics, test *dataset.Table) ([]fitArmUplift, error) {
	truth, err := learn.CompareUpliftTruth(m, test)
	if err != nil {
		return nil, err
	}
	byArm := map[string]learn.ArmTruth{}
	for _, t := range truth {
		byArm[t.Arm] = t
	}
	var out []fitArmUplift
	for _, a := range met.Uplift {
		u := fitArmUplift{Arm: a.Arm, PredictedMeanUplift: a.PredictedUplift, ObservedUplift: a.ObservedUplift}
		if t, ok := byArm[a.Arm]; ok {
			u.TrueMeanUplift, u.UpliftRMSE = &t.TrueMeanUplift, &t.RMSE
		}
		out = append(out, u)
	}
	return out, nil
}

// parseThresholdFlag reads --threshold: f1, youden, top_fraction=F,
// cost=FP:FN or a number; empty is the default rule.
func parseThresholdFlag(s string) (learn.ThresholdRule, error) {
	var r learn.ThresholdRule
	bad := fmt.Errorf("--threshold %q: want f1, youden, top_fraction=F, cost=FP:FN or a number: %w", s, errUsage)
	name, arg, hasArg := strings.Cut(s, "=")
	switch {
	case s == "":
		return r, nil
	case s == learn.ThresholdF1 || s == learn.ThresholdYouden:
		r.Rule = s
	case name == learn.ThresholdTopFraction && hasArg:
		v, err := strconv.ParseFloat(arg, 64)
		if err != nil {
			return r, bad
		}
		r.Rule, r.TopFraction = name, v
	case name == learn.ThresholdCost && hasArg:
		fp, fn, ok := strings.Cut(arg, ":")
		a, err1 := strconv.ParseFloat(fp, 64)
		b, err2 := strconv.ParseFloat(fn, 64)
		if !ok || err1 != nil || err2 != nil {
			return r, bad
		}
		r.Rule, r.FalsePositive, r.FalseNegative = name, a, b
	default:
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return r, bad
		}
		r.Rule, r.Value = learn.ThresholdFixed, v
	}
	if err := r.Validate(); err != nil {
		return r, fmt.Errorf("--threshold %q: %v: %w", s, err, errUsage)
	}
	return r, nil
}

// fitSchema reads the schema file or infers a schema.
func fitSchema(tbl *dataset.Table, file string, opts learn.InferOptions) (schema.Schema, error) {
	if file == "" {
		if opts.Target == "" {
			return schema.Schema{}, fmt.Errorf("--target or --schema is required: %w", errUsage)
		}
		return learn.InferSchema(tbl, opts)
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return schema.Schema{}, fmt.Errorf("read schema: %w", err)
	}
	var sch schema.Schema
	switch strings.ToLower(filepath.Ext(file)) {
	case ".yaml", ".yml":
		err = yaml.Unmarshal(b, &sch)
	default:
		dec := json.NewDecoder(strings.NewReader(string(b)))
		dec.DisallowUnknownFields()
		err = dec.Decode(&sch)
	}
	if err != nil {
		return schema.Schema{}, fmt.Errorf("read schema %s: %w", file, err)
	}
	if err := sch.Validate(); err != nil {
		return schema.Schema{}, fmt.Errorf("schema %s: %w", file, err)
	}
	return sch, nil
}

// readSplit reads a {"train": [...], "test": [...]} file and checks that
// the indexes are in range and disjoint.
func readSplit(file string, rows int) (train, test []int, err error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, nil, fmt.Errorf("read split: %w", err)
	}
	var s struct {
		Train []int `json:"train"`
		Test  []int `json:"test"`
	}
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, nil, fmt.Errorf("read split %s: %w", file, err)
	}
	if len(s.Train) == 0 || len(s.Test) == 0 {
		return nil, nil, fmt.Errorf("split %s: train and test must both be non-empty", file)
	}
	seen := make([]byte, rows)
	for part, idx := range [][]int{s.Train, s.Test} {
		for _, i := range idx {
			if i < 0 || i >= rows {
				return nil, nil, fmt.Errorf("split %s: row %d out of range (data has %d rows)", file, i, rows)
			}
			if seen[i] != 0 {
				return nil, nil, fmt.Errorf("split %s: row %d listed twice", file, i)
			}
			seen[i] = byte(part + 1)
		}
	}
	return s.Train, s.Test, nil
}

// stratifiedRows splits the table's rows by target (and treatment) value.
func stratifiedRows(tbl *dataset.Table, sch schema.Schema, frac float64, seed int64) (train, test []int, err error) {
	var keys []int
	for _, k := range []schema.Kind{schema.Target, schema.Treatment} {
		for _, c := range sch.OfKind(k) {
			j, ok := tbl.Col(c.Name)
			if !ok {
				return nil, nil, fmt.Errorf("%s column %q not in data", k, c.Name)
			}
			keys = append(keys, j)
		}
	}
	groups := make([]string, len(tbl.Rows))
	for i, r := range tbl.Rows {
		parts := make([]string, len(keys))
		for k, j := range keys {
			parts[k] = r[j]
		}
		groups[i] = strings.Join(parts, "\x1f")
	}
	train, test = learn.StratifiedSplit(groups, frac, seed)
	if len(train) == 0 || len(test) == 0 {
		return nil, nil, errors.New("too few rows to split into train and test")
	}
	return train, test, nil
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// writeFitSummary prints a readable report.
func writeFitSummary(w io.Writer, rep *fitReport, m *learn.Model) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	met := rep.Metrics
	s := rep.Settings
	fmt.Fprintf(tw, "data\t%s (%d rows; train %d, test %d; split %s)\n", rep.Data, rep.Rows, rep.TrainRows, rep.TestRows, rep.Split)
	fmt.Fprintf(tw, "features\t%d (%d selected)\n", rep.Features, rep.Selected)
	fmt.Fprintf(tw, "settings\tC=%g class_weight=%v select_threshold=%g corr_limit=%g impute=%s\n", s.C, s.ClassWeight, s.SelectThreshold, s.CorrLimit, s.Impute)
	fmt.Fprintf(tw, "solver\t%d iterations, %s, max|grad| %.2e (tol %g)\n", rep.Solver.Iterations, rep.Solver.Status, rep.Solver.GradNorm, rep.Solver.Tol)
	fmt.Fprintf(tw, "time\tload %.3fs, fit %.3fs, score %.3fs (%.0f rows/s)\n", rep.LoadSeconds, rep.FitSeconds, rep.ScoreSeconds, rep.ScoreRowsPerSec)
	fmt.Fprintf(tw, "test rows\t%d, positive rate %.4f\n", met.Rows, met.PositiveRate)
	fmt.Fprintf(tw, "ROC-AUC\t%.4f\n", met.ROCAUC)
	fmt.Fprintf(tw, "PR-AUC\t%.4f\n", met.PRAUC)
	fmt.Fprintf(tw, "log loss\t%.4f\n", met.LogLoss)
	fmt.Fprintf(tw, "Brier\t%.4f\n", met.Brier)
	a := met.AtThreshold
	fmt.Fprintf(tw, "at %.4f (%s)\taccuracy %.4f, precision %.4f, recall %.4f, F1 %.4f\n", a.Threshold, cmp.Or(s.ThresholdRule, learn.ThresholdFixed), a.Accuracy, a.Precision, a.Recall, a.F1)
	for _, k := range met.TopK {
		fmt.Fprintf(tw, "top %.0f%%\trecall %.4f, precision %.4f, lift %.2f\n", 100*k.Fraction, k.Recall, k.Precision, k.Lift)
	}
	fmt.Fprintf(tw, "ECE\t%.4f\n", met.ECE)
	truth := map[string]fitArmUplift{}
	for _, u := range rep.Uplift {
		truth[u.Arm] = u
	}
	for _, u := range met.Uplift {
		fmt.Fprintf(tw, "uplift %s\tqini %.4f, observed %.4f, predicted %.4f (treated %d, control %d)\n", u.Arm, u.Qini, u.ObservedUplift, u.PredictedUplift, u.Treated, u.Control)
		if t := truth[u.Arm]; t.TrueMeanUplift != nil {
			fmt.Fprintf(tw, "  truth\tmean %.4f, RMSE %.4f\n", *t.TrueMeanUplift, *t.UpliftRMSE)
		}
		for _, k := range u.UpliftAtK {
			fmt.Fprintf(tw, "  uplift@%.0f%%\t%.4f\n", 100*k.Fraction, k.Uplift)
		}
	}
	if len(rep.Search) > 0 {
		fmt.Fprintf(tw, "search\t%d settings by validation %s\n", len(rep.Search), rep.Search[0].Metric)
	}
	for _, d := range rep.Dropped {
		fmt.Fprintf(tw, "dropped %s\t%s\n", d.Feature, d.Why())
	}
	fmt.Fprintln(tw, "\ncalibration by decile\tmean predicted\tobserved")
	for i, b := range met.Calibration {
		fmt.Fprintf(tw, "  %d\t%.4f\t%.4f\n", i+1, b.MeanPredicted, b.ObservedRate)
	}
	if rep.ModelFile != "" {
		fmt.Fprintf(tw, "\nmodel\t%s (%s)\n", rep.ModelFile, m.Fingerprint)
	}
	return tw.Flush()
}
