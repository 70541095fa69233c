package allocate

import (
	"fmt"
	"io"
	"text/tabwriter"
)

// WriteText prints the report as a small table: the plan per arm, then the
// plan against the baselines with the plan's gain as a multiple of theirs.
func (r Report) WriteText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "budget\t%.2f\t\n", r.Budget)
	fmt.Fprintf(tw, "spend\t%.2f\t\n", r.Spend)
	fmt.Fprintf(tw, "offers\t%d\t\n", r.Offers)
	fmt.Fprintf(tw, "expected incremental conversions\t%.3f\t\n", r.Conversions)
	fmt.Fprintf(tw, "expected incremental value\t%.3f\t\n", r.Gain)
	fmt.Fprintf(tw, "upper bound (LP relaxation)\t%.3f\t\n", r.UpperBound)
	fmt.Fprintln(tw, "\t\t")
	fmt.Fprintln(tw, "arm\toffers\tspend\tconversions\t")
	for _, a := range r.PerArm {
		fmt.Fprintf(tw, "%s\t%d\t%.2f\t%.3f\t\n", a.Arm, a.Offers, a.Spend, a.Conversions)
	}
	fmt.Fprintln(tw, "\t\t")
	fmt.Fprintln(tw, "strategy\toffers\tspend\tconversions\tvalue\tplan/strategy\t")
	row := func(name string, o Outcome) {
		ratio := "-"
		if o.Gain > 0 {
			ratio = fmt.Sprintf("%.2fx", r.Gain/o.Gain)
		}
		fmt.Fprintf(tw, "%s\t%d\t%.2f\t%.3f\t%.3f\t%s\t\n", name, o.Offers, o.Spend, o.Conversions, o.Gain, ratio)
	}
	row("uplift plan (greedy MCKP)", r.Outcome)
	row("random offers", r.Random)
	row("top propensity", r.Propensity)
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write allocation report: %w", err)
	}
	return nil
}
