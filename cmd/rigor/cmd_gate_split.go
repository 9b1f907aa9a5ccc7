package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/rigor-dev/rigor/gates"
)

type gateSplitOptions struct {
	sp     gates.SplitSpec
	cols   string
	memory string
	tmp    string
	files  stage6Files
}

func newGateSplitCmd(g *globalOptions) *cobra.Command {
	var o gateSplitOptions
	c := &cobra.Command{
		Use:   "split (--train A.csv --test B.csv | --csv F --split-col S)",
		Short: "Audit a data split for train/test leakage (duplicates, entities, target encodings)",
		Long: `Audit a data split for leakage across its splits, as the Light split_leakage
check does: rows with exactly the same feature values in two or more splits
(HIGH), rows that only share a binned fingerprint (MED), entities of
--group-col in two or more splits (HIGH), and numeric features that are a
target mean encoding computed over all splits, test rows included (HIGH,
needs --target).

The input is two files, --train and --test, or one file with a split column,
--csv and --split-col. Features are every column except the split, group and
target columns, or --cols. The CSV is streamed twice and memory stays bounded
(--memory, default 128MiB, for the hash tables; more data spills to
temporary files in --tmpdir), so a file of many gigabytes is audited in a few
hundred megabytes.

A table goes to stdout (the full result with --json). --report writes
light.findings.v1 (one gate per finding; HIGH fails critically), --sarif
SARIF 2.1.0, --json-out the full result. The exit status is 4 when a HIGH
finding is present.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runGateSplit(cmd.Context(), g, o, g.stdout)
		},
	}
	f := c.Flags()
	f.StringVar(&o.sp.Train, "train", "", "the training split (CSV)")
	f.StringVar(&o.sp.Test, "test", "", "the test split (CSV)")
	f.StringVar(&o.sp.CSV, "csv", "", "one CSV holding every split")
	f.StringVar(&o.sp.SplitCol, "split-col", "", "the split column of --csv")
	f.StringVar(&o.cols, "cols", "", "feature columns, comma-separated (default: all but split, group and target)")
	f.StringVar(&o.sp.GroupCol, "group-col", "", "entity column (patient, user) for the entity-overlap check")
	f.StringVar(&o.sp.Target, "target", "", "target column for the target-encoding check")
	f.IntVar(&o.sp.Bins, "bins", 20, "quantile bins per numeric feature in the near-duplicate fingerprint")
	f.Float64Var(&o.sp.RTol, "rtol", 1e-3, "relative tolerance of the target-encoding check")
	f.StringVar(&o.memory, "memory", "128MiB", "memory for the hash tables (KiB, MiB, GiB suffixes)")
	f.StringVar(&o.tmp, "tmpdir", "", "directory for spill files (default: the system's)")
	o.files.register(f, true)
	return c
}

func runGateSplit(ctx context.Context, g *globalOptions, o gateSplitOptions, out io.Writer) error {
	if o.cols != "" {
		for _, c := range strings.Split(o.cols, ",") {
			if c = strings.TrimSpace(c); c != "" {
				o.sp.Cols = append(o.sp.Cols, c)
			}
		}
	}
	if o.sp.Bins < 1 {
		return usagef("use a positive number of bins, such as 20", "--bins %d", o.sp.Bins)
	}
	if !(o.sp.RTol > 0) {
		return usagef("use a positive tolerance, such as 1e-3", "--rtol %g", o.sp.RTol)
	}
	budget, err := parseByteSize(o.memory)
	if err != nil || budget < 1<<20 {
		return usagef("give a size of at least 1MiB, such as 128MiB or 2GiB", "--memory %q", o.memory)
	}
	for _, p := range []string{o.sp.Train, o.sp.Test, o.sp.CSV} {
		if err := checkInputFile(p); err != nil {
			return err
		}
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		// Keep the collector close to the audit's working set (see
		// gates.SplitMemoryLimit); the process does nothing else.
		debug.SetMemoryLimit(gates.SplitMemoryLimit(budget))
	}
	a, err := gates.AuditSplit(ctx, o.sp, gates.SplitOptions{MemoryBudget: budget, TempDir: o.tmp})
	if errors.Is(err, gates.ErrSplitInput) {
		return usagef("fix the input or the column flags; nothing was written", "%v", err)
	}
	if err != nil {
		return err
	}
	if err := o.files.write(&a.Report, a); err != nil {
		return err
	}
	switch {
	case g.json:
		err = writeJSON(out, a)
	case !g.quiet:
		err = writeSplitTable(out, a)
	}
	if err != nil {
		return err
	}
	for _, r := range a.Rows {
		if r.Severity == gates.SplitHigh {
			return &exitStatus{code: exitGateFailed}
		}
	}
	return nil
}

func writeSplitTable(w io.Writer, a *gates.SplitAudit) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# split audit: %s\n\n", a.Report.Target)
	var splits []string
	for _, s := range a.Splits {
		splits = append(splits, fmt.Sprintf("%s %d", s.Label, s.Rows))
	}
	fmt.Fprintf(&b, "- rows: %d (%s)\n- features: %d\n- verdict: **%s**\n\n", a.RowsRead, strings.Join(splits, ", "), len(a.Features), a.Report.Verdict)
	if len(a.Rows) == 0 {
		b.WriteString("No leakage found across the splits.\n")
	} else {
		b.WriteString("| check | severity | columns | detail |\n|---|---|---|---|\n")
		for _, r := range a.Rows {
			cols := strings.Join(r.Columns, ",")
			if cols == "" {
				cols = "(rows)"
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", r.Check, r.Severity, cols, r.Detail)
		}
	}
	for _, n := range a.Notes {
		fmt.Fprintf(&b, "\nnote: %s\n", n)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// parseByteSize reads "128MiB", "2GiB", "512KiB", "64MB" or a plain number
// of bytes.
func parseByteSize(s string) (int64, error) {
	s = strings.TrimSpace(s)
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		m      int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"K", 1 << 10}, {"M", 1 << 20}, {"G", 1 << 30}, {"B", 1}} {
		if strings.HasSuffix(s, u.suffix) {
			s, mult = strings.TrimSuffix(s, u.suffix), u.m
			break
		}
	}
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("bad size")
	}
	return n * mult, nil
}
