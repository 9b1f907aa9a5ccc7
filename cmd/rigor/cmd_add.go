package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/spf13/cobra"

	"github.com/rigor-dev/rigor/cas"
	"github.com/rigor-dev/rigor/ingest"
)

func newAddCmd(g *globalOptions) *cobra.Command {
	var rehash bool
	c := &cobra.Command{
		Use:   "add PATH...",
		Short: "Store files as blobs and directories as trees; print their digests",
		Long: `Store each PATH: a file becomes a blob, a directory a tree (a Merkle
directory). Symlinks are stored as links and never followed; executable bits
are kept; sockets, devices and FIFOs are skipped with a warning naming each.
Prints "<digest>  <path>" per argument. Unchanged files are not read again
(the store's stat cache); --rehash reads everything.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runAdd(cmd.Context(), g, args, rehash)
		},
	}
	c.Flags().BoolVar(&rehash, "rehash", false, "read and hash every file even when the stat cache says it is unchanged")
	return c
}

type addOutput struct {
	Path     string   `json:"path"`
	Kind     string   `json:"kind"`
	Size     int64    `json:"size"`
	Digest   string   `json:"digest"`
	Files    int      `json:"files"`
	Read     int64    `json:"bytes_read"`
	Warnings []string `json:"warnings,omitempty"`
}

func runAdd(ctx context.Context, g *globalOptions, paths []string, rehash bool) error {
	// Check every argument before touching the store, so a typo stores nothing.
	for _, p := range paths {
		if _, err := os.Lstat(p); err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return usagef("check the path; nothing was stored", "%s: no such file or directory", p)
			}
			return err
		}
	}
	s, err := openStore(ctx, g)
	if err != nil {
		return err
	}
	defer s.Close()
	in := ingest.New(s, ingest.Options{})
	var outs []addOutput
	for _, p := range paths {
		bar := newProgress(g, "add "+p, 0)
		res, err := in.AddPath(ctx, p, ingest.AddOptions{
			Rehash:   rehash,
			Progress: bar.setWithTotal,
		})
		bar.done()
		if errors.Is(err, fs.ErrPermission) {
			return withHint(err, "make the file readable or leave it out; nothing of "+p+" was recorded")
		}
		if err != nil {
			return err
		}
		o := addOutput{Path: p, Kind: modeName(res.Mode), Size: res.Info.Size, Digest: res.Info.Digest.String(), Files: len(res.Files), Read: res.ReadBytes}
		if res.Mode == cas.ModeTree {
			o.Size = res.Bytes
		}
		for _, w := range res.Warnings {
			o.Warnings = append(o.Warnings, w.String())
			if !g.json {
				fmt.Fprintf(g.stderr, "rigor: warning: skipped %s\n", w.String())
			}
		}
		outs = append(outs, o)
		if !g.json {
			if g.quiet {
				fmt.Fprintln(g.stdout, o.Digest)
			} else {
				fmt.Fprintf(g.stdout, "%s  %s\n", o.Digest, p)
			}
		}
	}
	if g.json {
		return writeJSON(g.stdout, outs)
	}
	return nil
}
