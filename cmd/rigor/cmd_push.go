package main

import (
	"github.com/spf13/cobra"
)

func newPushCmd(g *globalOptions) *cobra.Command {
	var force, plain bool
	c := &cobra.Command{
		Use:   "push NAME [RUN|REF...]",
		Short: "Send runs (default: every run) to a remote store or OCI registry, only what it lacks",
		Long: `Send runs to the remote NAME ('rigor remote add'), or to a URL given in its
place: every run of this store, or those named by run id or ref.

As git does, rigor walks each run's Merkle DAG, asks the remote which objects
it lacks and sends only those, then updates the remote's refs (a registry:
pushes each run's manifest under its tag). Content shared by many runs goes
once. An interrupted push, run again, sends only what did not arrive.

Runs are immutable: a run the remote has with another root is a conflict,
reported by name and left alone (exit 1) unless --force replaces it. The
other runs are sent all the same.

On a terminal a progress bar shows the bytes moved; --json prints a summary
(each run's status, objects and bytes sent and skipped).`,
		Example: `  rigor push origin
  rigor push origin EXP-01__seed-42__attempt-1 runs/EXP-02/seed-1/attempt-3
  rigor push oci://127.0.0.1:5000/runs --plain-http`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runTransfer(cmd.Context(), g, "push", args[0], args[1:], force, plain)
		},
	}
	c.Flags().BoolVar(&force, "force", false, "replace runs the remote has with another root")
	c.Flags().BoolVar(&plain, "plain-http", false, "reach a registry given by URL over http://")
	return c
}
