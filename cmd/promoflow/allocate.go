package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/promoflow/promoflow/allocate"
	"github.com/promoflow/promoflow/control"
	"github.com/promoflow/promoflow/dataset"
	"github.com/promoflow/promoflow/learn"
	"github.com/promoflow/promoflow/registry"
	"github.com/promoflow/promoflow/schema"
	"github.com/promoflow/promoflow/score"
)

func init() {
	register(&command{name: "allocate", summary: "choose offers for customers within a budget (uplift MCKP)", run: runAllocate})
}

const allocateSynopsis = `(--model M | --model-file model.json) --data customers.csv --budget B --arms "Mens E-Mail:1.0,Womens E-Mail:1.0" [flags]`

func runAllocate(ctx context.Context, args []string, stdout io.Writer) error {
	cfg := control.FromEnv()
	fs := newFlagSet("allocate", allocateSynopsis)
	model := fs.String("model", "", "model whose production version scores the customers")
	modelFile := fs.String("model-file", "", "score offline with this model file instead of the registry")
	data := fs.String("data", "", "CSV of customers with the model's feature columns (required)")
	budget := fs.Float64("budget", 0, "budget to spend (required)")
	armSpec := fs.String("arms", "", `offer arms with their cost, "name:cost,..." (required)`)
	capSpec := fs.String("caps", "", `most customers per arm, "name:n,..."`)
	valueSpec := fs.String("values", "", `revenue per incremental conversion per arm, "name:v,..." (default: count conversions)`)
	tierSpec := fs.String("tiers", "", `offer amount by expected gain, "min_gain:amount,..." ascending`)
	minGain := fs.Float64("min-gain", 0, "least expected gain for which an offer is made")
	seed := fs.Int64("seed", 1, "seed of the random baseline")
	out := fs.String("out", "", "write the assignments as CSV to this file")
	asJSON := fs.Bool("json", false, "print the plan as JSON")
	fs.StringVar(&cfg.MinIOEndpoint, "minio", cfg.MinIOEndpoint, "MinIO host:port")
	fs.StringVar(&cfg.Bucket, "bucket", cfg.Bucket, "MinIO bucket of the registry")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if (*model == "") == (*modelFile == "") || *data == "" || *armSpec == "" || !(*budget > 0) {
		fs.Usage()
		return fmt.Errorf("need one of --model or --model-file, and --data, --budget > 0 and --arms: %w", errUsage)
	}
	arms, err := parseArms(*armSpec, *capSpec)
	if err != nil {
		return err
	}
	values, err := parseArmValues(*valueSpec, arms)
	if err != nil {
		return err
	}
	tiers, err := parseTiers(*tierSpec)
	if err != nil {
		return err
	}
	m, source, err := allocationModel(ctx, cfg, *model, *modelFile)
	if err != nil {
		return err
	}
	tbl, err := dataset.ReadFile(*data, dataset.Options{})
	if err != nil {
		return err
	}
	scores, err := m.ScoreTable(tbl)
	if err != nil {
		return fmt.Errorf("score %s with %s: %w", *data, source, err)
	}
	customers, err := allocate.FromScores(customerIDs(m, tbl), scores, arms, values)
	if err != nil {
		return fmt.Errorf("allocate with %s: %w", source, err)
	}
	plan, err := allocate.Solve(allocate.Problem{Arms: arms, Customers: customers, Budget: *budget, MinGain: *minGain, Tiers: tiers, Seed: *seed})
	if err != nil {
		return err
	}
	if *out != "" {
		if err := writeAssignments(*out, plan.Assignments); err != nil {
			return err
		}
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(struct {
			Model string `json:"model"`
			*allocate.Plan
		}{source, plan})
	}
	fmt.Fprintf(stdout, "%d customers scored with %s\n\n", len(customers), source)
	return plan.Report.WriteText(stdout)
}

// customerIDs names the table's customers by the model's id column, or
// "row N" when the schema has none.
func customerIDs(m *learn.Model, tbl *dataset.Table) []string {
	ids := make([]string, len(tbl.Rows))
	idCol := -1
	if c := m.Schema.OfKind(schema.ID); len(c) > 0 {
		idCol, _ = tbl.Col(c[0].Name)
	}
	for i, r := range tbl.Rows {
		if idCol >= 0 {
			ids[i] = r[idCol]
		} else {
			ids[i] = "row " + strconv.Itoa(i+1)
		}
	}
	return ids
}

// allocationModel loads the model file or the model's production version
// without the arms its gate disabled.
func allocationModel(ctx context.Context, cfg control.Config, model, file string) (*learn.Model, string, error) {
	if file != "" {
		data, err := os.ReadFile(file)
		if err != nil {
			return nil, "", fmt.Errorf("read model file: %w", err)
		}
		m, err := learn.Load(data)
		if err != nil {
			return nil, "", fmt.Errorf("%s: %w", file, err)
		}
		return m, file, nil
	}
	reg, err := cfg.Registry()
	if err != nil {
		return nil, "", err
	}
	v, err := reg.Resolve(ctx, model, registry.Production)
	if err != nil {
		return nil, "", err
	}
	m, disabled, err := score.LoadVersion(ctx, reg, model, v)
	if err != nil {
		return nil, "", err
	}
	source := fmt.Sprintf("%s v%d (production)", model, v)
	if len(disabled) > 0 {
		source = fmt.Sprintf("%s v%d (production; disabled arms, never offered: %s)", model, v, strings.Join(disabled, ", "))
	}
	return m, source, nil
}

// namedNumbers parses "name:x,name:y"; arm names may hold spaces but not
// ':' or ','.
func namedNumbers(flagName, spec string) ([]string, []float64, error) {
	var names []string
	var vals []float64
	for _, item := range splitList(spec) {
		i := strings.LastIndex(item, ":")
		if i <= 0 {
			return nil, nil, fmt.Errorf("--%s: %q is not name:number", flagName, item)
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(item[i+1:]), 64)
		if err != nil {
			return nil, nil, fmt.Errorf("--%s: %q: %w", flagName, item, err)
		}
		names = append(names, strings.TrimSpace(item[:i]))
		vals = append(vals, v)
	}
	return names, vals, nil
}

func parseArms(armSpec, capSpec string) ([]allocate.Arm, error) {
	names, costs, err := namedNumbers("arms", armSpec)
	if err != nil {
		return nil, err
	}
	arms := make([]allocate.Arm, len(names))
	index := map[string]int{}
	for i, n := range names {
		arms[i] = allocate.Arm{Name: n, Cost: costs[i]}
		index[n] = i
	}
	capNames, caps, err := namedNumbers("caps", capSpec)
	if err != nil {
		return nil, err
	}
	for i, n := range capNames {
		a, ok := index[n]
		if !ok || caps[i] < 0 || caps[i] != float64(int(caps[i])) {
			return nil, fmt.Errorf("--caps: %q is not an arm of --arms with a whole non-negative cap", n)
		}
		arms[a].Cap = int(caps[i])
	}
	return arms, nil
}

func parseArmValues(spec string, arms []allocate.Arm) ([]float64, error) {
	names, vals, err := namedNumbers("values", spec)
	if err != nil || len(names) == 0 {
		return nil, err
	}
	out := make([]float64, len(arms))
	for i := range out {
		out[i] = 1
	}
	for i, n := range names {
		found := false
		for a := range arms {
			if arms[a].Name == n {
				out[a], found = vals[i], true
			}
		}
		if !found {
			return nil, fmt.Errorf("--values: %q is not an arm of --arms", n)
		}
	}
	return out, nil
}

func parseTiers(spec string) ([]allocate.Tier, error) {
	var tiers []allocate.Tier
	for _, item := range splitList(spec) {
		a, b, ok := strings.Cut(item, ":")
		g, err1 := strconv.ParseFloat(strings.TrimSpace(a), 64)
		amt, err2 := strconv.ParseFloat(strings.TrimSpace(b), 64)
		if !ok || err1 != nil || err2 != nil {
			return nil, fmt.Errorf("--tiers: %q is not min_gain:amount", item)
		}
		tiers = append(tiers, allocate.Tier{MinGain: g, Amount: amt})
	}
	return tiers, nil
}

func writeAssignments(path string, as []allocate.Assignment) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("write assignments: %w", err)
	}
	w := dataset.NewWriter(f, ',')
	w.Write([]string{"customer_id", "arm", "cost", "uplift", "gain", "amount"})
	for _, a := range as {
		w.Write([]string{a.ID, a.Arm, strconv.FormatFloat(a.Cost, 'g', -1, 64), strconv.FormatFloat(a.Uplift, 'g', 6, 64),
			strconv.FormatFloat(a.Gain, 'g', 6, 64), strconv.FormatFloat(a.Amount, 'g', -1, 64)})
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return fmt.Errorf("write assignments %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write assignments %s: %w", path, err)
	}
	return nil
}
