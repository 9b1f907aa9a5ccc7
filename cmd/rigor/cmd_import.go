package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/rigor-dev/rigor/ingest"
)

func newImportCmd(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "import DIR",
		Short: "Check a light.run_manifest.v3 run directory and store it as a run",
		Long: `Check the run directory DIR (manifest.json and the files it names) against
every rule of the Light run_artifact_check, SHA-256 of every hashed file
included, and store it as a run: the manifest and its files become the run
bundle, the run gets the next attempt of its matrix row and seed
(runs/<row>/seed-<n>/attempt-<k>) and is indexed for 'rigor runs' and
'rigor lineage' as 'rigor run' indexes its runs. Importing the same directory
again records nothing and names the run it already is.

A directory that breaks any rule is refused with the list of problems, and
nothing is stored; the exit status is then 3. Files must be regular files
(no symbolic links), and the matrix row must be a valid rigor row name.`,
		Example: `  rigor import runs/EXP-01/EXP-01__seed-42__1`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if fi, err := os.Stat(args[0]); err != nil || !fi.IsDir() {
				return usagef("name a run directory holding manifest.json", "%s is not a directory", args[0])
			}
			return runImport(cmd.Context(), g, args[0])
		},
	}
}

func runImport(ctx context.Context, g *globalOptions, dir string) error {
	s, err := openStore(ctx, g)
	if err != nil {
		return err
	}
	defer s.Close()
	bar := newProgress(g, "import", 0)
	res, err := ingest.ImportRun(ctx, s, dir, ingest.ImportOptions{Progress: bar.setWithTotal})
	bar.done()
	var rde *ingest.RunDirError
	if errors.As(err, &rde) {
		return refusal(g, "import", dir, rde)
	}
	if err != nil {
		return err
	}
	sum := res.Summary
	if g.json {
		return writeJSON(g.stdout, map[string]any{"run_id": sum.RunID, "ref": sum.Ref, "root": sum.Root, "existing": res.Existing,
			"files": res.Files, "bytes": res.Bytes, "skipped": res.Skipped, "completion_verified": res.Check.CompletionVerified})
	}
	if g.quiet {
		fmt.Fprintln(g.stdout, sum.RunID)
		return nil
	}
	if res.Existing {
		fmt.Fprintf(g.stdout, "already recorded: %s  %s  %s\n", sum.RunID, sum.Ref, sum.Root)
		return nil
	}
	fmt.Fprintf(g.stdout, "%s  %s  %s (%d files, %s)\n", sum.RunID, sum.Ref, sum.Root, res.Files, humanBytes(res.Bytes))
	for _, p := range res.Skipped {
		fmt.Fprintf(g.stderr, "rigor: note: %s is declared but absent; the Light checker does not require it\n", p)
	}
	return nil
}
