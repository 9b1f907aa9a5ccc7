package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/rigor-dev/rigor/ingest"
)

func newExportCmd(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "export RUN DIR",
		Short: "Write a run as a light.run_manifest.v3 run directory",
		Long: `Write the run (run id, ref or bundle digest) to the new directory DIR as a
light.run_manifest.v3 run directory: manifest.json (relative paths and
SHA-256), config.json, environment.json, stdout.log, stderr.log,
raw_metrics.jsonl, predictions.csv, test_evidence.json, guardrails.json or
failure.json, and the code files and inputs the manifest lists. Every byte is
verified on the way out. The directory is assembled under a temporary name,
checked against every rule of the Light run_artifact_check, and only then
renamed to DIR; a run that would not pass is not exported, its problems are
listed and the exit status is 3.`,
		Example: `  rigor export EXP-01__seed-42__attempt-1 out/EXP-01/seed-42`,
		Args:    cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runExport(cmd.Context(), g, args[0], args[1])
		},
	}
}

func runExport(ctx context.Context, g *globalOptions, arg, dir string) error {
	s, err := openStoreReadOnly(ctx, g)
	if err != nil {
		return err
	}
	defer s.Close()
	info, err := findRun(ctx, s, arg)
	if err != nil {
		return err
	}
	bar := newProgress(g, "export", 0)
	res, err := ingest.ExportRun(ctx, s, info.Root, dir, ingest.ExportOptions{Progress: bar.set})
	bar.done()
	var rde *ingest.RunDirError
	switch {
	case errors.Is(err, ingest.ErrTargetExists):
		return usagef("choose a directory that does not exist yet", "%v", err)
	case errors.As(err, &rde):
		return refusal(g, "export", info.Name(), rde)
	case err != nil:
		return err
	}
	if g.json {
		return writeJSON(g.stdout, map[string]any{"run": info.Name(), "root": info.Root, "dir": dir, "files": res.Files, "bytes": res.Bytes, "check": res.Check})
	}
	if !g.quiet {
		fmt.Fprintf(g.stdout, "%s -> %s (%d files, %s; passes run_artifact_check)\n", info.Name(), dir, res.Files, humanBytes(res.Bytes))
	}
	return nil
}

// refusal reports the problems of a run directory and ends with exit 3.
func refusal(g *globalOptions, verb, subject string, e *ingest.RunDirError) error {
	if g.json {
		if err := writeJSON(g.stdout, map[string]any{"ok": false, "subject": subject, "problems": e.Problems}); err != nil {
			return err
		}
	} else {
		fmt.Fprintln(g.stdout, "FAIL")
		for _, p := range e.Problems {
			fmt.Fprintf(g.stdout, "- %s\n", p)
		}
	}
	return &exitStatus{code: exitIntegrity, msg: fmt.Sprintf("%s refused: %s: %d problem(s) (listed on stdout); nothing was written", verb, subject, len(e.Problems))}
}
