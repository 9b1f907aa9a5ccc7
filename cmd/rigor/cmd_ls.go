package main

import (
	"context"
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/rigor-dev/rigor/cas"
)

func newLsCmd(g *globalOptions) *cobra.Command {
	var recursive bool
	c := &cobra.Command{
		Use:   "ls DIGEST",
		Short: "List a stored tree: mode, size, digest and name of each entry",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runLs(cmd.Context(), g, args[0], recursive)
		},
	}
	c.Flags().BoolVarP(&recursive, "recursive", "r", false, "list every entry below the tree, with slash paths")
	return c
}

func modeName(m cas.Mode) string {
	switch m {
	case cas.ModeFile:
		return "file"
	case cas.ModeExec:
		return "exec"
	case cas.ModeSymlink:
		return "symlink"
	case cas.ModeTree:
		return "tree"
	}
	return fmt.Sprintf("mode(%d)", m)
}

type lsEntry struct {
	Path   string `json:"path"`
	Kind   string `json:"kind"`
	Size   int64  `json:"size"`
	Digest string `json:"digest"`
}

func runLs(ctx context.Context, g *globalOptions, arg string, recursive bool) error {
	s, err := openStoreReadOnly(ctx, g)
	if err != nil {
		return err
	}
	defer s.Close()
	d, err := resolveDigest(ctx, s, arg)
	if err != nil {
		return err
	}
	info, err := s.Stat(ctx, d)
	if err != nil {
		return err
	}
	if info.Kind != cas.KindTree {
		return usagef("use 'rigor cat' to print a blob", "%s is a blob, not a tree", d)
	}
	var entries []lsEntry
	if recursive {
		err = s.Walk(ctx, d, func(p string, e cas.Entry) error {
			if p == "" {
				return nil
			}
			entries = append(entries, lsEntry{Path: p, Kind: modeName(e.Mode), Size: e.Size, Digest: e.Digest.String()})
			return nil
		})
	} else {
		var t cas.Tree
		t, err = s.ReadTree(ctx, d)
		for _, e := range t.Entries {
			entries = append(entries, lsEntry{Path: e.Name, Kind: modeName(e.Mode), Size: e.Size, Digest: e.Digest.String()})
		}
	}
	if err != nil {
		return err
	}
	if g.json {
		if entries == nil {
			entries = []lsEntry{}
		}
		return writeJSON(g.stdout, entries)
	}
	tw := tabwriter.NewWriter(g.stdout, 0, 0, 2, ' ', 0)
	for _, e := range entries {
		name := e.Path
		if e.Kind == "tree" {
			name += "/"
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\n", e.Kind, e.Size, e.Digest, name)
	}
	return tw.Flush()
}
