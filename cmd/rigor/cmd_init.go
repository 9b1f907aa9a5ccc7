package main

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/rigor-dev/rigor/cas"
)

func newInitCmd(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "init [DIR]",
		Short: "Create an empty store (.rigor/) in DIR or the working directory",
		Long: `Create an empty store. Without arguments it creates .rigor/ in the working
directory (or the directory named by --store / RIGOR_STORE). It never clobbers
an existing store.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := g.storeDir
			switch {
			case len(args) == 1:
				dir = filepath.Join(args[0], storeDirName)
			case dir == "":
				dir = storeDirName
			}
			return runInit(cmd.Context(), g, dir)
		},
	}
}

func runInit(ctx context.Context, g *globalOptions, dir string) error {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	s, err := cas.Init(ctx, abs, cas.Options{})
	if errors.Is(err, cas.ErrStoreExists) {
		return usagef("use the existing store, or remove it first if you really mean to start over", "%s: %v", abs, err)
	}
	if err != nil {
		return err
	}
	if err := s.Close(); err != nil {
		return err
	}
	if g.json {
		return writeJSON(g.stdout, map[string]string{"store": abs})
	}
	if !g.quiet {
		fmt.Fprintf(g.stdout, "initialised empty rigor store in %s\n", abs)
	}
	return nil
}
