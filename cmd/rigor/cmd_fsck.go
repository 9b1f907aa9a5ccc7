package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/rigor-dev/rigor/cas"
)

func newFsckCmd(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "fsck",
		Short: "Re-hash every stored object; report each corrupt or missing one",
		Long: `Re-hash every object and chunk in the store, check every ref and tree entry,
and report each corrupt or missing object with the refs that reach it and its
path below them. Exit 3 when any problem is found.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runFsck(cmd.Context(), g)
		},
	}
}

type fsckProblem struct {
	Kind   string   `json:"kind"`
	Digest string   `json:"digest"`
	Chunk  string   `json:"chunk,omitempty"`
	Refs   []string `json:"refs,omitempty"`
	Path   string   `json:"path,omitempty"`
	Error  string   `json:"error"`
}

type fsckOutput struct {
	OK       bool          `json:"ok"`
	Objects  int64         `json:"objects"`
	Chunks   int64         `json:"chunks"`
	Bytes    int64         `json:"bytes"`
	Refs     int64         `json:"refs"`
	Problems []fsckProblem `json:"problems"`
}

func runFsck(ctx context.Context, g *globalOptions) error {
	s, err := openStore(ctx, g)
	if err != nil {
		return err
	}
	defer s.Close()
	bar := newProgress(g, "fsck", 0).counting()
	rep, err := s.Fsck(ctx, cas.FsckOptions{Progress: bar.setWithTotal})
	bar.done()
	if err != nil {
		return err
	}
	out := fsckOutput{OK: rep.OK(), Objects: rep.Objects, Chunks: rep.Chunks, Bytes: rep.Bytes, Refs: rep.Refs, Problems: []fsckProblem{}}
	for _, p := range rep.Problems {
		fp := fsckProblem{Kind: p.Kind.String(), Digest: p.Digest.String(), Refs: p.Refs, Path: p.Path}
		if p.Chunk != "" {
			fp.Chunk = p.Chunk.String()
		}
		if p.Err != nil {
			fp.Error = p.Err.Error()
		}
		out.Problems = append(out.Problems, fp)
	}
	if g.json {
		if err := writeJSON(g.stdout, out); err != nil {
			return err
		}
	} else {
		for _, p := range rep.Problems {
			fmt.Fprintf(g.stdout, "%s\n", p.Error())
		}
		if !g.quiet {
			fmt.Fprintf(g.stdout, "checked %d objects, %d chunks, %s, %d refs: %d problems\n",
				rep.Objects, rep.Chunks, humanBytes(rep.Bytes), rep.Refs, len(rep.Problems))
		}
	}
	if !rep.OK() {
		return &exitStatus{code: exitIntegrity}
	}
	return nil
}
