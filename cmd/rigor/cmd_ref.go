package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	digest "github.com/opencontainers/go-digest"
	"github.com/spf13/cobra"

	"github.com/rigor-dev/rigor/cas"
)

func newRefCmd(g *globalOptions) *cobra.Command {
	c := &cobra.Command{
		Use:   "ref",
		Short: "List, set and delete refs (named pointers that keep objects alive)",
		Long: `Refs name stored objects; gc keeps everything a ref reaches. Runs are refs
under runs/ and are immutable: this command never changes them.`,
	}
	var force bool
	set := &cobra.Command{
		Use:   "set NAME DIGEST",
		Short: "Point NAME at an object (refuses to move an existing ref without --force)",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runRefSet(cmd.Context(), g, args[0], args[1], force)
		},
	}
	set.Flags().BoolVar(&force, "force", false, "move NAME if it already points elsewhere")
	list := &cobra.Command{
		Use:   "list [PREFIX]",
		Short: "List refs, optionally only those under PREFIX",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			prefix := ""
			if len(args) == 1 {
				prefix = args[0]
			}
			return runRefList(cmd.Context(), g, prefix)
		},
	}
	del := &cobra.Command{
		Use:   "delete NAME",
		Short: "Delete a ref (the objects stay until gc)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runRefDelete(cmd.Context(), g, args[0])
		},
	}
	c.AddCommand(set, list, del)
	return c
}

func refusedRunRef(name string) error {
	if strings.HasPrefix(name, "runs/") {
		return usagef("runs are immutable; record a new attempt with 'rigor run'", "ref %q names a run", name)
	}
	return nil
}

func refNameError(name string, err error) error {
	if errors.Is(err, cas.ErrBadRefName) {
		return usagef("use slash-separated names such as baselines/exp-01, without empty parts or '..'", "bad ref name %q: %v", name, err)
	}
	return err
}

func runRefSet(ctx context.Context, g *globalOptions, name, arg string, force bool) error {
	if err := refusedRunRef(name); err != nil {
		return err
	}
	s, err := openStore(ctx, g)
	if err != nil {
		return err
	}
	defer s.Close()
	d, err := resolveDigest(ctx, s, arg)
	if err != nil {
		return err
	}
	old, err := s.GetRef(ctx, name)
	switch {
	case errors.Is(err, cas.ErrRefNotFound):
		old = ""
	case err != nil:
		return refNameError(name, err)
	case old == d:
		return nil
	case !force:
		return usagef("pass --force to move it", "ref %q already points at %s", name, old)
	}
	if err := s.SetRef(ctx, name, old, d); err != nil {
		return refNameError(name, err)
	}
	if !g.quiet && !g.json {
		fmt.Fprintf(g.stdout, "%s  %s\n", d, name)
	}
	if g.json {
		return writeJSON(g.stdout, map[string]string{"name": name, "digest": d.String()})
	}
	return nil
}

func runRefList(ctx context.Context, g *globalOptions, prefix string) error {
	s, err := openStore(ctx, g)
	if err != nil {
		return err
	}
	defer s.Close()
	type ref struct {
		Name   string `json:"name"`
		Digest string `json:"digest"`
	}
	refs := []ref{}
	err = s.ListRefs(ctx, prefix, func(name string, d digest.Digest) error {
		refs = append(refs, ref{name, d.String()})
		return nil
	})
	if err != nil {
		return err
	}
	if g.json {
		return writeJSON(g.stdout, refs)
	}
	for _, r := range refs {
		fmt.Fprintf(g.stdout, "%s  %s\n", r.Digest, r.Name)
	}
	return nil
}

func runRefDelete(ctx context.Context, g *globalOptions, name string) error {
	if err := refusedRunRef(name); err != nil {
		return err
	}
	s, err := openStore(ctx, g)
	if err != nil {
		return err
	}
	defer s.Close()
	old, err := s.GetRef(ctx, name)
	if errors.Is(err, cas.ErrRefNotFound) {
		return usagef("list refs with 'rigor ref list'", "no ref %q", name)
	}
	if err != nil {
		return refNameError(name, err)
	}
	return s.DeleteRef(ctx, name, old)
}
