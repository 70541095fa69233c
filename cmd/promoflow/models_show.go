package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/promoflow/promoflow/registry"
	"github.com/promoflow/promoflow/schema"
)

func modelsShow(ctx context.Context, args []string, stdout io.Writer) error {
	f := newModelsFlags("show", "MODEL[@ALIAS|/VERSION] [--json]")
	pos, err := f.parse(args, 1, 1)
	if err != nil {
		return err
	}
	ref, err := registry.ParseRef(pos[0])
	if err != nil {
		return err
	}
	reg, err := f.registry()
	if err != nil {
		return err
	}
	v, err := reg.ResolveRef(ctx, ref)
	if err != nil {
		return err
	}
	info, err := reg.Describe(ctx, ref.Model, v)
	if err != nil {
		return err
	}
	verifyErr := reg.Verify(ctx, ref.Model, v)
	integrity := "ok"
	if verifyErr != nil {
		integrity = "FAILED: " + verifyErr.Error()
	}
	if f.json {
		if err := printJSON(stdout, struct {
			Manifest  *registry.Manifest               `json:"manifest"`
			Added     map[string]registry.ArtifactInfo `json:"added_artifacts"`
			Aliases   []string                         `json:"aliases"`
			Verdict   json.RawMessage                  `json:"verdict,omitempty"`
			Integrity string                           `json:"integrity"`
		}{info.Manifest, info.Added, info.Aliases, info.Verdict, integrity}); err != nil {
			return err
		}
	} else if err := printVersion(stdout, info, integrity); err != nil {
		return err
	}
	if verifyErr != nil {
		return fmt.Errorf("%s v%d must not be served or promoted: %w", ref.Model, v, verifyErr)
	}
	return nil
}

func printVersion(w io.Writer, info *registry.VersionInfo, integrity string) error {
	m := info.Manifest
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "model\t%s\n", m.Model)
	fmt.Fprintf(tw, "version\t%d\n", m.Version)
	fmt.Fprintf(tw, "aliases\t%s\n", strings.Join(info.Aliases, " "))
	fmt.Fprintf(tw, "created\t%s\n", m.CreatedAt.UTC().Format(time.RFC3339))
	fmt.Fprintf(tw, "code\t%s\n", m.CodeVersion)
	fmt.Fprintf(tw, "workflow\t%s (run %s)\n", m.WorkflowID, m.RunID)
	fmt.Fprintf(tw, "parent\t%s\n", orDash(m.Parent))
	dw := m.DataWindow
	fmt.Fprintf(tw, "data\t%s..%s", dw.From, dw.To)
	if len(dw.Days) > 0 {
		fmt.Fprintf(tw, ", %d days", len(dw.Days))
	}
	fmt.Fprintf(tw, ", %d rows", dw.Rows)
	for _, k := range slices.Sorted(maps.Keys(dw.Counts)) {
		fmt.Fprintf(tw, ", %s %d", k, dw.Counts[k])
	}
	fmt.Fprintln(tw)
	if dw.Fingerprint != "" {
		fmt.Fprintf(tw, "fingerprint\t%s\n", dw.Fingerprint)
	}
	fmt.Fprintf(tw, "seed\t%d\n", m.Seed)
	fmt.Fprintf(tw, "integrity\t%s\n", integrity)
	if err := tw.Flush(); err != nil {
		return err
	}

	fmt.Fprintln(w, "\nmetrics:")
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, k := range slices.Sorted(maps.Keys(m.Metrics)) {
		fmt.Fprintf(tw, "  %s\t%.6g\n", k, m.Metrics[k])
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(m.DroppedFeatures) > 0 {
		fmt.Fprintln(w, "\ndropped features:")
		tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		for _, d := range m.DroppedFeatures {
			fmt.Fprintf(tw, "  %s\t%s\n", d.Feature, d.Why())
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}

	fmt.Fprintln(w, "\nschema:")
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, c := range m.Schema.Columns {
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", c.Name, c.Kind, columnDetail(c))
	}
	if err := tw.Flush(); err != nil {
		return err
	}

	if err := printArtifacts(w, info); err != nil {
		return err
	}
	if len(info.Verdict) > 0 {
		fmt.Fprintf(w, "\nverdict:\n  %s\n", strings.TrimSpace(string(info.Verdict)))
	}
	return nil
}

// printArtifacts lists a version's artifacts: the registered ones, then
// those added later with when.
func printArtifacts(w io.Writer, info *registry.VersionInfo) error {
	m := info.Manifest
	fmt.Fprintln(w, "\nartifacts:")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  NAME\tSIZE\tSHA256\tADDED")
	for _, name := range slices.Sorted(maps.Keys(m.Artifacts)) {
		a := m.Artifacts[name]
		fmt.Fprintf(tw, "  %s\t%d\t%s\t%s\n", name, a.Size, a.SHA256, "-")
	}
	for _, name := range slices.Sorted(maps.Keys(info.Added)) {
		a := info.Added[name]
		added := "-"
		if a.AddedAt != nil {
			added = a.AddedAt.UTC().Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "  %s\t%d\t%s\t%s\n", name, a.Size, a.SHA256, added)
	}
	return tw.Flush()
}

// columnDetail shows a column's declaration beyond name and kind.
func columnDetail(c schema.Column) string {
	data, err := json.Marshal(c)
	if err != nil {
		return ""
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		return ""
	}
	delete(m, "name")
	delete(m, "kind")
	if len(m) == 0 {
		return ""
	}
	out, _ := json.Marshal(m) // a map of JSON values always encodes
	return string(out)
}

func modelsDiff(ctx context.Context, args []string, stdout io.Writer) error {
	f := newModelsFlags("diff", "MODEL/A MODEL/B [--json]")
	pos, err := f.parse(args, 2, 2)
	if err != nil {
		return err
	}
	refA, err := registry.ParseRef(pos[0])
	if err != nil {
		return err
	}
	refB, err := registry.ParseRef(pos[1])
	if err != nil {
		return err
	}
	if refA.Model != refB.Model {
		return fmt.Errorf("diff compares versions of one model, not %s and %s", refA.Model, refB.Model)
	}
	reg, err := f.registry()
	if err != nil {
		return err
	}
	a, err := reg.ResolveRef(ctx, refA)
	if err != nil {
		return err
	}
	b, err := reg.ResolveRef(ctx, refB)
	if err != nil {
		return err
	}
	// The model file's format belongs to the training code; until it
	// offers a coefficient reader, diff compares metrics and schema.
	d, err := reg.Diff(ctx, refA.Model, a, b, nil)
	if err != nil {
		return err
	}
	if f.json {
		return printJSON(stdout, d)
	}
	fmt.Fprintf(stdout, "%s v%d → v%d\n", d.Model, a, b)
	fmt.Fprintf(stdout, "data: %s..%s (%d rows) → %s..%s (%d rows)\n\n",
		d.A.DataWindow.From, d.A.DataWindow.To, d.A.DataWindow.Rows, d.B.DataWindow.From, d.B.DataWindow.To, d.B.DataWindow.Rows)
	if err := printDeltas(stdout, "METRIC", a, b, d.Metrics); err != nil {
		return err
	}
	fmt.Fprintln(stdout, "\nschema:")
	if d.Schema.Empty() {
		fmt.Fprintln(stdout, "  unchanged")
	}
	for _, c := range d.Schema.Added {
		fmt.Fprintf(stdout, "  + %s %s %s\n", c.Name, c.Kind, columnDetail(c))
	}
	for _, c := range d.Schema.Removed {
		fmt.Fprintf(stdout, "  - %s %s %s\n", c.Name, c.Kind, columnDetail(c))
	}
	for _, c := range d.Schema.Changed {
		fmt.Fprintf(stdout, "  ~ %s: %s %s → %s %s\n", c.Name, c.A.Kind, columnDetail(c.A), c.B.Kind, columnDetail(c.B))
	}
	if d.Coefficients != nil {
		fmt.Fprintln(stdout)
		return printDeltas(stdout, "COEFFICIENT", a, b, d.Coefficients)
	}
	return nil
}

func printDeltas(w io.Writer, title string, a, b int, ds []registry.Delta) error {
	num := func(p *float64, sign bool) string {
		switch {
		case p == nil:
			return "-"
		case sign:
			return fmt.Sprintf("%+.6g", *p)
		default:
			return fmt.Sprintf("%.6g", *p)
		}
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "%s\tv%d\tv%d\tDELTA\n", title, a, b)
	for _, d := range ds {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", d.Name, num(d.A, false), num(d.B, false), num(d.Delta, true))
	}
	return tw.Flush()
}
