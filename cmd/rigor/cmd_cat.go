package main

import (
	"context"
	"io"

	"github.com/spf13/cobra"
)

func newCatCmd(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "cat DIGEST",
		Short: "Write a stored object's bytes to stdout, verified while read",
		Long: `Write a stored object's bytes to stdout. The bytes are verified against the
digest while they stream; corrupt content ends the command with an error (and
the bytes already written must not be trusted). For a tree, the canonical
tree encoding is written; 'rigor ls' lists it.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runCat(cmd.Context(), g, args[0])
		},
	}
}

func runCat(ctx context.Context, g *globalOptions, arg string) error {
	s, err := openStoreReadOnly(ctx, g)
	if err != nil {
		return err
	}
	defer s.Close()
	d, err := resolveDigest(ctx, s, arg)
	if err != nil {
		return err
	}
	rc, err := s.Open(ctx, d)
	if err != nil {
		return err
	}
	defer rc.Close()
	_, err = io.Copy(g.stdout, rc)
	return err
}
