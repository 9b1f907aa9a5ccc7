package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/rigor-dev/rigor/ingest"
)

func newGetCmd(g *globalOptions) *cobra.Command {
	var out string
	var force bool
	c := &cobra.Command{
		Use:   "get DIGEST -o PATH",
		Short: "Materialise a stored blob or tree at PATH, verified while written",
		Long: `Materialise a stored blob as a file, or a tree as a directory, at PATH.
Every byte is verified against its digest; a file appears only once it has
verified. Existing targets are refused unless --force is given, and entries
whose names or symlinks would escape PATH are refused.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if out == "" {
				return usagef("name the target with -o PATH", "rigor get needs an output path")
			}
			return runGet(cmd.Context(), g, args[0], out, force)
		},
	}
	c.Flags().StringVarP(&out, "output", "o", "", "where to write the blob or tree (required)")
	c.Flags().BoolVar(&force, "force", false, "write into an existing target, replacing files of the same name")
	return c
}

func runGet(ctx context.Context, g *globalOptions, arg, out string, force bool) error {
	s, err := openStoreReadOnly(ctx, g)
	if err != nil {
		return err
	}
	defer s.Close()
	d, err := resolveDigest(ctx, s, arg)
	if err != nil {
		return err
	}
	bar := newProgress(g, "get", 0)
	err = ingest.Materialize(ctx, s, d, out, ingest.MaterializeOptions{Force: force, Progress: bar.set})
	bar.done()
	if errors.Is(err, ingest.ErrTargetExists) {
		return usagef("choose another path, or pass --force to write into it", "%v", err)
	}
	if err != nil {
		return err
	}
	if g.json {
		return writeJSON(g.stdout, map[string]string{"digest": d.String(), "path": out})
	}
	if !g.quiet {
		fmt.Fprintf(g.stdout, "%s  %s\n", d, out)
	}
	return nil
}
