package main

import (
	"context"
	"fmt"
	"slices"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/rigor-dev/rigor/spec"
	"github.com/rigor-dev/rigor/verify"
)

func newRunsCmd(g *globalOptions) *cobra.Command {
	var f verify.RunFilter
	var seed int64
	c := &cobra.Command{
		Use:   "runs",
		Short: "List recorded runs: row, seed, attempt, status, completion, start, duration, root",
		Long: `List the runs recorded in the store, ordered by row, seed and attempt, from
the store's run index (no bundle is read). --row, --seed and --status filter;
--input keeps the runs that used a given content (a blake3: or sha256: digest,
as 'rigor lineage' prints) as an input; --json prints every field, with full
digests.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if cmd.Flags().Changed("seed") {
				f.Seed = &seed
			}
			if f.Status != "" && !slices.Contains(spec.RunStatuses, f.Status) {
				return usagef("use completed, failed or aborted", "unknown status %q", f.Status)
			}
			return runRuns(cmd.Context(), g, f)
		},
	}
	c.Flags().StringVar(&f.Row, "row", "", "only runs of this matrix row")
	c.Flags().Int64Var(&seed, "seed", 0, "only runs with this seed")
	c.Flags().StringVar(&f.Status, "status", "", "only runs with this status: completed, failed or aborted")
	c.Flags().StringVar(&f.Input, "input", "", "only runs that used this content (blake3:… or sha256:…) as an input")
	return c
}

func runRuns(ctx context.Context, g *globalOptions, f verify.RunFilter) error {
	defer relaxGC()()
	s, err := openStoreReadOnly(ctx, g)
	if err != nil {
		return err
	}
	defer s.Close()
	runs, err := verify.ListRuns(ctx, s, f)
	if err != nil {
		return err
	}
	if g.json {
		if runs == nil {
			runs = []spec.RunSummary{}
		}
		return writeJSON(g.stdout, runs)
	}
	if len(runs) == 0 {
		if !g.quiet {
			fmt.Fprintln(g.stderr, "rigor: no runs recorded")
		}
		return nil
	}
	tw := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ROW\tSEED\tATTEMPT\tSTATUS\tTERMINATION\tCOMPLETION\tSTARTED\tDURATION\tROOT")
	for _, r := range runs {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Row, r.Seed.Value, r.Attempt, r.Status, r.Termination,
			r.Completion, r.StartedAt, durationText(r.DurationMS), shortDigest(r.Root.String()))
	}
	return tw.Flush()
}

// durationText rounds a duration for a table: 850ms, 12.3s, 4m5s.
func durationText(ms int64) string {
	d := time.Duration(ms) * time.Millisecond
	switch {
	case d < time.Second:
		return d.String()
	case d < time.Minute:
		return d.Round(100 * time.Millisecond).String()
	default:
		return d.Round(time.Second).String()
	}
}

// shortDigest keeps 16 hex digits: enough for 'rigor show' to resolve.
func shortDigest(d string) string {
	if len(d) > len("blake3:")+16 {
		return d[:len("blake3:")+16]
	}
	return d
}
