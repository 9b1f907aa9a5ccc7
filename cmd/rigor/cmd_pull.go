package main

import (
	"github.com/spf13/cobra"
)

func newPullCmd(g *globalOptions) *cobra.Command {
	var force, plain bool
	c := &cobra.Command{
		Use:   "pull NAME [RUN|REF...]",
		Short: "Fetch runs (default: every run) from a remote store or OCI registry, only what is missing here",
		Long: `Fetch runs from the remote NAME ('rigor remote add'), or from a URL given in
its place: every run it has (a registry: every tag holding a rigor run), or
those named by run id or ref.

Only objects this store lacks are fetched. Everything received is verified
before it becomes visible: each blob against its BLAKE3 digest as it is
stored (from a registry, against its SHA-256 too), each tree once its
entries are present; the run's ref and index entries are written last. A
corrupt or inconsistent remote fails the pull with exit 3 and leaves no
trace of the run. An interrupted pull, run again, fetches only the rest.

Runs are immutable: a run this store has with another root is a conflict,
reported by name and left alone (exit 1) unless --force replaces it.`,
		Example: `  rigor pull origin
  rigor pull origin EXP-01__seed-42__attempt-1
  rigor pull /mnt/shared/project`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runTransfer(cmd.Context(), g, "pull", args[0], args[1:], force, plain)
		},
	}
	c.Flags().BoolVar(&force, "force", false, "replace runs this store has with another root")
	c.Flags().BoolVar(&plain, "plain-http", false, "reach a registry given by URL over http://")
	return c
}
