package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/rigor-dev/rigor/cas"
)

func newGcCmd(g *globalOptions) *cobra.Command {
	var grace time.Duration
	var dryRun bool
	c := &cobra.Command{
		Use:   "gc",
		Short: "Delete what no ref reaches and reclaim its disk space (pack files, Badger's value log)",
		Long: `Delete every object no ref reaches (runs are refs; so are names set with
rigor ref set'), then the chunks no object uses, and reclaim their space:
pack files left with no live chunk are removed, packs more than half garbage
are rewritten, and Badger's value log is compacted. Objects stored less than --grace ago survive even when
unreachable, so a concurrent 'rigor add' or 'rigor run' that has not named its
result yet loses nothing; --grace 0 collects everything unreachable now.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if grace < 0 {
				return usagef("give a duration such as 24h or 0", "--grace must not be negative")
			}
			return runGc(cmd.Context(), g, cas.GCOptions{Grace: grace, DryRun: dryRun})
		},
	}
	c.Flags().DurationVar(&grace, "grace", 24*time.Hour, "keep unreachable objects younger than this")
	c.Flags().BoolVarP(&dryRun, "dry-run", "n", false, "report what would be deleted; delete nothing")
	return c
}

func runGc(ctx context.Context, g *globalOptions, opts cas.GCOptions) error {
	s, err := openStore(ctx, g)
	if err != nil {
		return err
	}
	defer s.Close()
	rep, err := s.GC(ctx, opts)
	if err != nil {
		return err
	}
	if g.json {
		return writeJSON(g.stdout, map[string]any{
			"dry_run": opts.DryRun, "objects_kept": rep.ObjectsKept, "objects_deleted": rep.ObjectsDeleted,
			"chunks_kept": rep.ChunksKept, "chunks_deleted": rep.ChunksDeleted, "bytes_deleted": rep.BytesDeleted,
			"disk_before": rep.DiskBefore, "disk_after": rep.DiskAfter,
			"packs_deleted": rep.PacksDeleted, "packs_rewritten": rep.PacksRewritten,
		})
	}
	if !g.quiet {
		verb := "deleted"
		if opts.DryRun {
			verb = "would delete"
		}
		fmt.Fprintf(g.stdout, "%s %d objects and %d chunks (%s); kept %d objects and %d chunks; store %s -> %s\n",
			verb, rep.ObjectsDeleted, rep.ChunksDeleted, humanBytes(rep.BytesDeleted), rep.ObjectsKept, rep.ChunksKept,
			humanBytes(rep.DiskBefore), humanBytes(rep.DiskAfter))
	}
	return nil
}
