package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/rigor-dev/rigor/verify"
)

type compareOptions struct {
	rtol, atol float64
	deep       bool
}

func newCompareCmd(g *globalOptions) *cobra.Command {
	var o compareOptions
	c := &cobra.Command{
		Use:   "compare RUN_A RUN_B",
		Short: "Same-seed pair check of two runs (light.repro_comparison.v1), saying where they differ",
		Long: `Compare two runs the way the Light run_artifact_check compare mode does: both
must pass every rule, both must be completed, share seed role fixed_repro and
value, have the same identity (matrix row, config, environment, code commit,
dirty flag, diff and files, inputs) and the same compare_artifacts, and then
the artifacts they name must have the same SHA-256. The result is PASS
(same_seed_exact) or FAIL with the checker's errors; --json prints
light.repro_comparison.v1 with a "rigor" member holding the details below.

When the runs differ, compare says where: each differing identity component
and inside it the JSON path of the config, the package of the environment,
the code file or the input; and for each differing CSV or JSONL artifact a
content diff: how many rows differ, the first differing values, the largest
absolute and relative difference, and whether every difference is within
--rtol/--atol (|a-b| <= atol + rtol*|b|). Agreement within tolerance is
reported as such and never counted as exact. Exit 3 unless same_seed_exact.`,
		Example: `  rigor compare EXP-01__seed-42__attempt-1 EXP-01__seed-42__attempt-2
  rigor compare --json --rtol 1e-6 --atol 0 A B`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.rtol < 0 || o.atol < 0 {
				return usagef("tolerances are non-negative numbers", "negative tolerance")
			}
			return runCompare(cmd.Context(), g, o, args[0], args[1])
		},
	}
	c.Flags().Float64Var(&o.rtol, "rtol", verify.DefaultTolerance.RTol, "relative tolerance for numbers in CSV/JSONL artifacts")
	c.Flags().Float64Var(&o.atol, "atol", verify.DefaultTolerance.ATol, "absolute tolerance for numbers in CSV/JSONL artifacts")
	c.Flags().BoolVar(&o.deep, "deep", false, "re-hash every blob of both runs while checking them")
	return c
}

func runCompare(ctx context.Context, g *globalOptions, o compareOptions, argA, argB string) error {
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
	c, err := verify.Compare(ctx, s, a, b, verify.CompareOptions{Tolerance: verify.Tolerance{RTol: o.rtol, ATol: o.atol}, Deep: o.deep})
	if err != nil {
		return err
	}
	if g.json {
		if err := writeJSON(g.stdout, c); err != nil {
			return err
		}
	} else {
		printComparison(g.stdout, c)
	}
	if !c.SameSeedExact {
		return &exitStatus{code: exitIntegrity}
	}
	return nil
}

func printComparison(w io.Writer, c *verify.Comparison) {
	if c.SameSeedExact {
		fmt.Fprintln(w, "PASS")
	} else {
		fmt.Fprintln(w, "FAIL")
	}
	for _, e := range c.Errors {
		fmt.Fprintf(w, "- %s\n", e)
	}
	for _, p := range c.Rigor.Problems {
		fmt.Fprintf(w, "problem: %s\n", p.Error())
	}
	printIdentity(w, c.Rigor.Identity)
	for _, ad := range c.Rigor.Artifacts {
		printArtifact(w, ad)
	}
	if c.Rigor.WithinTolerance {
		fmt.Fprintln(w, "every difference is within tolerance: the runs agree numerically but are NOT exact")
	}
}

func printIdentity(w io.Writer, ids []verify.IdentityDiff) {
	for _, d := range ids {
		fmt.Fprintf(w, "identity differs: %s", d.Component)
		if len(d.Changes) == 0 && (d.First != "" || d.Second != "") {
			fmt.Fprintf(w, ": %s -> %s", d.First, d.Second)
		}
		fmt.Fprintln(w)
		for _, ch := range d.Changes {
			fmt.Fprintf(w, "  %s\n", changeText(ch.Kind, ch.Where, ch.First, ch.Second))
		}
		if d.Note != "" {
			fmt.Fprintf(w, "  (%s)\n", d.Note)
		}
	}
}

func changeText(kind, where, first, second string) string {
	switch kind {
	case "added":
		return fmt.Sprintf("+ %s: %s", where, second)
	case "removed":
		return fmt.Sprintf("- %s: %s", where, first)
	}
	return fmt.Sprintf("~ %s: %s -> %s", where, first, second)
}

func printArtifact(w io.Writer, ad verify.ArtifactDiff) {
	p := ad.PathFirst
	if p == "" {
		p = ad.PathSecond
	}
	fmt.Fprintf(w, "artifact %s (%s) %s: sha256 %s -> %s\n", ad.Name, p, ad.Kind, orDash(ad.SHA256First), orDash(ad.SHA256Second))
	if ad.Note != "" {
		fmt.Fprintf(w, "  (%s)\n", ad.Note)
	}
	cd := ad.Content
	if cd == nil {
		return
	}
	verdict := "NOT within tolerance"
	if cd.WithinTolerance {
		verdict = "within tolerance (not exact)"
	}
	fmt.Fprintf(w, "  %s: %d of %d/%d rows differ, %d values; max abs diff %.6g, max rel diff %.6g; %s (rtol %g, atol %g)\n",
		cd.Format, cd.DifferingRows, cd.RowsFirst, cd.RowsSecond, cd.DifferingValues, cd.MaxAbsDiff, cd.MaxRelDiff, verdict, cd.Tolerance.RTol, cd.Tolerance.ATol)
	for _, c := range cd.Differences {
		fmt.Fprintf(w, "  row %d, %s: %s -> %s\n", c.Row, c.Column, c.First, c.Second)
	}
	for _, s := range cd.Structural {
		if !strings.HasPrefix(s, "row ") && !strings.HasPrefix(s, "line ") {
			fmt.Fprintf(w, "  %s\n", s)
		}
	}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
