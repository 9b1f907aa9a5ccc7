package main

import (
	"context"
	"fmt"
	"slices"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	runexec "github.com/rigor-dev/rigor/exec"
	"github.com/rigor-dev/rigor/spec"
)

func newRunsCmd(g *globalOptions) *cobra.Command {
	var f runexec.RunFilter
	var seed int64
	c := &cobra.Command{
		Use:   "runs",
		Short: "List recorded runs: row, seed, attempt, status, completion, start, duration, root",
		Long: `List the runs recorded in the store, ordered by row, seed and attempt, from
the store's run index (no bundle is read). --row, --seed and --status filter;
--json prints every field, with full digests.`,
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
	return c
}

func runRuns(ctx context.Context, g *globalOptions, f runexec.RunFilter) error {
	s, err := openStore(ctx, g)
	if err != nil {
		return err
	}
	defer s.Close()
	runs, err := runexec.ListRuns(ctx, s, f)
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
