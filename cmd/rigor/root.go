package main

import (
	"io"

	"github.com/spf13/cobra"
)

// globalOptions are the flags every command shares, and the streams it writes to.
type globalOptions struct {
	storeDir string // --store, or RIGOR_STORE; empty: find .rigor/ walking up
	json     bool
	quiet    bool

	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
}

func newRootCmd(g *globalOptions) *cobra.Command {
	root := &cobra.Command{
		Use:   "rigor",
		Short: "Reproducible, auditable evidence for ML experiment runs",
		Long: `rigor records experiment runs in a content-addressed store (.rigor/) so that
they can be verified, compared, traced and moved by digest.

The store is the nearest .rigor/ directory found walking up from the working
directory, as git finds .git; --store or RIGOR_STORE names another.

` + exitCodeHelp,
		SilenceErrors: true,
		SilenceUsage:  true,
	}
	root.SetOut(g.stdout)
	root.SetErr(g.stderr)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return usagef("see 'rigor "+c.Name()+" --help'", "%s", err.Error())
	})
	pf := root.PersistentFlags()
	pf.StringVar(&g.storeDir, "store", "", "store directory (default: nearest .rigor/ walking up; env RIGOR_STORE)")
	pf.BoolVar(&g.json, "json", false, "machine-readable JSON output")
	pf.BoolVarP(&g.quiet, "quiet", "q", false, "print only what was asked for; no progress")

	// Commands, one file each (cmd_<verb>.go). Keep this list sorted.
	root.AddCommand(
		newAddCmd(g),
		newCatCmd(g),
		newCheckCmd(g),
		newCheckpointCmd(g),
		newCompareCmd(g),
		newDiffCmd(g),
		newExportCmd(g),
		newFsckCmd(g),
		newGateCmd(g),
		newGcCmd(g),
		newGetCmd(g),
		newImportCmd(g),
		newInitCmd(g),
		newLineageCmd(g),
		newLsCmd(g),
		newNewCmd(g),
		newPullCmd(g),
		newPushCmd(g),
		newRefCmd(g),
		newRemoteCmd(g),
		newRerouteCmd(g),
		newRerunCmd(g),
		newRunCmd(g),
		newRunsCmd(g),
		newServeCmd(g),
		newShowCmd(g),
		newSnapshotCmd(g),
		newVerifyCmd(g),
	)
	for _, c := range root.Commands() {
		if c.Long == "" {
			c.Long = c.Short
		}
		c.Long += "\n\n" + exitCodeHelp
	}
	return root
}
