package main

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/rigor-dev/rigor/verify"
)

func newDiffCmd(g *globalOptions) *cobra.Command {
	var o compareOptions
	c := &cobra.Command{
		Use:   "diff RUN_A RUN_B",
		Short: "Structured diff of any two runs: config, code, environment, inputs, outputs, metrics",
		Long: `Show how two runs differ (any two: two seeds, two rows, two attempts): the
config by JSON path, the code by file, the environment by package and
version (and JSON path), the inputs by role and path, the outputs by artifact
(CSV and JSONL ones with a row-level content diff) and the raw metrics by key
(the last value of each key in raw_metrics.jsonl). diff judges nothing: it
exits 0 whether or not the runs differ. --json prints rigor.run_diff.v1.`,
		Example: `  rigor diff EXP-01__seed-1__attempt-1 EXP-01__seed-2__attempt-1`,
		Args:    cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.rtol < 0 || o.atol < 0 {
				return usagef("tolerances are non-negative numbers", "negative tolerance")
			}
			return runDiff(cmd.Context(), g, o, args[0], args[1])
		},
	}
	c.Flags().Float64Var(&o.rtol, "rtol", verify.DefaultTolerance.RTol, "relative tolerance for numbers")
	c.Flags().Float64Var(&o.atol, "atol", verify.DefaultTolerance.ATol, "absolute tolerance for numbers")
	return c
}

func runDiff(ctx context.Context, g *globalOptions, o compareOptions, argA, argB string) error {
	s, err := openStoreReadOnly(ctx, g)
	if err != nil {
		return err
	}
	defer s.Close()
	a, err := findRun(ctx, s, argA)
	if err != nil {
		return err
	}
	b, err := findRun(ctx, s, argB)
	if err != nil {
		return err
	}
	d, err := verify.Diff(ctx, s, a, b, verify.CompareOptions{Tolerance: verify.Tolerance{RTol: o.rtol, ATol: o.atol}})
	if err != nil {
		return err
	}
	if g.json {
		return writeJSON(g.stdout, d)
	}
	printRunDiff(g.stdout, d)
	return nil
}

func printRunDiff(w io.Writer, d *verify.RunDiff) {
	fmt.Fprintf(w, "--- %s\n+++ %s\n", d.First, d.Second)
	for _, p := range d.Problems {
		fmt.Fprintf(w, "problem: %s\n", p.Error())
	}
	if len(d.Identity)+len(d.Outputs)+len(d.Metrics) == 0 {
		fmt.Fprintln(w, "no differences")
		return
	}
	printIdentity(w, d.Identity)
	for _, ad := range d.Outputs {
		printArtifact(w, ad)
	}
	if len(d.Metrics) > 0 {
		fmt.Fprintln(w, "metrics (last value of each key):")
	}
	for _, m := range d.Metrics {
		line := "  " + changeText(m.Kind, m.Key, m.First, m.Second)
		if m.AbsDiff != nil {
			line += fmt.Sprintf(" (abs %.6g, rel %.6g)", *m.AbsDiff, *m.RelDiff)
		}
		fmt.Fprintln(w, line)
	}
}
