package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/promoflow/promoflow/control"
	"github.com/promoflow/promoflow/registry"
)

func init() {
	register(&command{
		name:    "models",
		summary: "list, show, diff and garbage-collect registered model versions; alias history",
		run:     runModels,
	})
}

// modelsCommands are the subcommands of `promoflow models`.
var modelsCommands = []struct {
	name, synopsis string
	run            func(ctx context.Context, args []string, stdout io.Writer) error
}{
	{"ls", "[MODEL] [--json]", modelsLs},
	{"show", "MODEL[@ALIAS|/VERSION] [--json]", modelsShow},
	{"diff", "MODEL/A MODEL/B [--json]", modelsDiff},
	{"history", "MODEL [--alias production] [--at TIME] [--json]", modelsHistory},
	{"gc", "MODEL --keep N --window 720h [--dry-run] [--json]", modelsGC},
}

func runModels(ctx context.Context, args []string, stdout io.Writer) error {
	fs := newFlagSet("models", "<ls|show|diff|history|gc> [args] [flags]")
	fs.Usage = func() {
		w := fs.Output()
		fmt.Fprintln(w, "usage: promoflow models <subcommand> [args] [flags]\n\nsubcommands:")
		for _, c := range modelsCommands {
			fmt.Fprintf(w, "  models %-8s %s\n", c.name, c.synopsis)
		}
		fmt.Fprintln(w, "\nA version is MODEL (the latest), MODEL/N or MODEL@ALIAS.")
		fmt.Fprint(w, "\n"+control.EnvHelp)
	}
	if len(args) == 0 {
		fs.Usage()
		return errUsage
	}
	for _, c := range modelsCommands {
		if c.name == args[0] {
			return c.run(ctx, args[1:], stdout)
		}
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	fs.Usage()
	return fmt.Errorf("unknown subcommand %q: %w", args[0], errUsage)
}

// modelsFlags is the flag set every models subcommand shares: --json and
// the MinIO endpoint and bucket.
type modelsFlags struct {
	fs   *flag.FlagSet
	cfg  control.Config
	json bool
}

func newModelsFlags(name, synopsis string) *modelsFlags {
	f := &modelsFlags{fs: newFlagSet("models "+name, synopsis), cfg: control.FromEnv()}
	f.fs.BoolVar(&f.json, "json", false, "print JSON instead of a table")
	f.fs.StringVar(&f.cfg.MinIOEndpoint, "minio", f.cfg.MinIOEndpoint, "MinIO host:port")
	f.fs.StringVar(&f.cfg.Bucket, "bucket", f.cfg.Bucket, "MinIO bucket")
	usage := f.fs.Usage
	f.fs.Usage = func() {
		usage()
		fmt.Fprint(f.fs.Output(), "\n"+control.EnvHelp)
	}
	return f
}

// parse accepts flags before, between and after the positional arguments
// (`models history churn --alias staging`) and checks their number.
func (f *modelsFlags) parse(args []string, minArgs, maxArgs int) ([]string, error) {
	var pos []string
	for {
		if err := parseFlags(f.fs, args); err != nil {
			return nil, err
		}
		if f.fs.NArg() == 0 {
			break
		}
		pos = append(pos, f.fs.Arg(0))
		args = f.fs.Args()[1:]
	}
	if len(pos) < minArgs || len(pos) > maxArgs {
		f.fs.Usage()
		return nil, errUsage
	}
	return pos, nil
}

func (f *modelsFlags) registry() (*registry.Registry, error) {
	return f.cfg.Registry()
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func modelsLs(ctx context.Context, args []string, stdout io.Writer) error {
	f := newModelsFlags("ls", "[MODEL] [--json]")
	pos, err := f.parse(args, 0, 1)
	if err != nil {
		return err
	}
	reg, err := f.registry()
	if err != nil {
		return err
	}
	if len(pos) == 1 {
		return lsVersions(ctx, reg, pos[0], f.json, stdout)
	}
	models, err := reg.Models(ctx)
	if err != nil {
		return err
	}
	type row struct {
		Model    string         `json:"model"`
		Versions int            `json:"versions"`
		Latest   int            `json:"latest"`
		Aliases  map[string]int `json:"aliases"`
	}
	rows := make([]row, 0, len(models))
	for _, m := range models {
		nums, err := reg.VersionNumbers(ctx, m)
		if err != nil {
			return err
		}
		aliases, err := reg.Aliases(ctx, m)
		if err != nil {
			return err
		}
		r := row{Model: m, Versions: len(nums), Aliases: map[string]int{}}
		if len(nums) > 0 {
			r.Latest = nums[len(nums)-1]
		}
		for _, a := range aliases {
			r.Aliases[a.Alias] = a.Version
		}
		rows = append(rows, r)
	}
	if f.json {
		return printJSON(stdout, rows)
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "MODEL\tVERSIONS\tLATEST\tALIASES")
	for _, r := range rows {
		var as []string
		for _, name := range slices.Sorted(maps.Keys(r.Aliases)) {
			as = append(as, fmt.Sprintf("%s=%d", name, r.Aliases[name]))
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\n", r.Model, r.Versions, orDash(r.Latest), strings.Join(as, " "))
	}
	return tw.Flush()
}

func lsVersions(ctx context.Context, reg *registry.Registry, model string, asJSON bool, stdout io.Writer) error {
	versions, err := reg.Versions(ctx, model)
	if err != nil {
		return err
	}
	aliases, err := reg.Aliases(ctx, model)
	if err != nil {
		return err
	}
	byVersion := map[int][]string{}
	for _, a := range aliases {
		byVersion[a.Version] = append(byVersion[a.Version], a.Alias)
	}
	if asJSON {
		type row struct {
			*registry.Manifest
			Aliases []string `json:"aliases"`
		}
		rows := make([]row, 0, len(versions))
		for _, m := range versions {
			rows = append(rows, row{Manifest: m, Aliases: byVersion[m.Version]})
		}
		return printJSON(stdout, rows)
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "VERSION\tCREATED\tDATA\tROWS\tPARENT\tMETRICS\tALIASES")
	for _, m := range versions {
		fmt.Fprintf(tw, "%d\t%s\t%s..%s\t%d\t%s\t%s\t%s\n", m.Version, m.CreatedAt.UTC().Format(time.RFC3339),
			m.DataWindow.From, m.DataWindow.To, m.DataWindow.Rows, orDash(m.Parent), formatMetrics(m.Metrics),
			strings.Join(byVersion[m.Version], " "))
	}
	return tw.Flush()
}

func formatMetrics(metrics map[string]float64) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(metrics)) {
		parts = append(parts, fmt.Sprintf("%s=%.4g", k, metrics[k]))
	}
	return strings.Join(parts, " ")
}

func orDash(n int) string {
	if n == 0 {
		return "-"
	}
	return strconv.Itoa(n)
}

// timeLayouts are the forms --at accepts; without an offset the time is UTC.
var timeLayouts = []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02 15:04:05", "2006-01-02 15:04", "2006-01-02"}

func parseTime(s string) (time.Time, error) {
	for _, layout := range timeLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("time %q: want RFC 3339 or yyyy-mm-dd[ hh:mm[:ss]] (UTC)", s)
}

func modelsHistory(ctx context.Context, args []string, stdout io.Writer) error {
	f := newModelsFlags("history", "MODEL [--alias production] [--at TIME] [--json]")
	alias := f.fs.String("alias", registry.Production, "alias whose history to show")
	at := f.fs.String("at", "", "show only the version the alias held at this time (RFC 3339, or yyyy-mm-dd hh:mm in UTC)")
	pos, err := f.parse(args, 1, 1)
	if err != nil {
		return err
	}
	reg, err := f.registry()
	if err != nil {
		return err
	}
	model := pos[0]
	if *at != "" {
		t, err := parseTime(*at)
		if err != nil {
			return err
		}
		v, ok, err := reg.At(ctx, model, *alias, t)
		if err != nil {
			return err
		}
		if f.json {
			return printJSON(stdout, struct {
				Model   string    `json:"model"`
				Alias   string    `json:"alias"`
				At      time.Time `json:"at"`
				Version int       `json:"version"`
				Set     bool      `json:"set"`
			}{model, *alias, t, v, ok})
		}
		if !ok {
			_, err := fmt.Fprintf(stdout, "%s@%s was not set at %s\n", model, *alias, t.UTC().Format(time.RFC3339))
			return err
		}
		_, err = fmt.Fprintf(stdout, "%s@%s at %s: v%d\n", model, *alias, t.UTC().Format(time.RFC3339), v)
		return err
	}
	hist, err := reg.History(ctx, model, *alias)
	if err != nil {
		return err
	}
	if f.json {
		return printJSON(stdout, hist)
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SEQ\tMOVED AT\tKIND\tFROM\tTO\tBY\tWORKFLOW\tREASON")
	for _, m := range hist {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%d\t%s\t%s\t%s\n", m.Seq, m.MovedAt.UTC().Format(time.RFC3339), m.Kind,
			orDash(m.Previous), m.Version, m.MovedBy, orEmpty(m.WorkflowID), m.Reason)
	}
	return tw.Flush()
}

func orEmpty(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func modelsGC(ctx context.Context, args []string, stdout io.Writer) error {
	f := newModelsFlags("gc", "MODEL --keep N --window 720h [--dry-run] [--json]")
	var policy registry.GCPolicy
	f.fs.IntVar(&policy.Keep, "keep", 10, "keep the newest N versions")
	f.fs.DurationVar(&policy.Window, "window", 720*time.Hour, "keep versions an alias pointed to within this window")
	f.fs.BoolVar(&policy.DryRun, "dry-run", false, "only show what would be removed")
	pos, err := f.parse(args, 1, 1)
	if err != nil {
		return err
	}
	reg, err := f.registry()
	if err != nil {
		return err
	}
	rep, err := reg.GC(ctx, pos[0], policy)
	if err != nil {
		return err
	}
	if f.json {
		return printJSON(stdout, rep)
	}
	removed := "removed"
	if rep.DryRun {
		removed = "would remove"
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "VERSION\tACTION\tWHY")
	for _, k := range rep.Kept {
		fmt.Fprintf(tw, "%d\tkeep\t%s\n", k.Version, strings.Join(k.Reasons, ", "))
	}
	for _, v := range rep.Removed {
		fmt.Fprintf(tw, "%d\t%s\t\n", v, removed)
	}
	for _, v := range rep.Incomplete {
		fmt.Fprintf(tw, "%d\tleave\tnever committed\n", v)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err = fmt.Fprintf(stdout, "%s: %d kept, %d %s\n", rep.Model, len(rep.Kept), len(rep.Removed), removed)
	return err
}
