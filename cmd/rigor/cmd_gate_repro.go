package main

import (
	"context"
	"io"

	"github.com/spf13/cobra"

	"github.com/rigor-dev/rigor/gates"
	"github.com/rigor-dev/rigor/spec"
)

type gateReproOptions struct {
	spec  string
	files stage6Files
}

func newGateReproCmd(g *globalOptions) *cobra.Command {
	var o gateReproOptions
	c := &cobra.Command{
		Use:   "repro --spec FILE",
		Short: "Run the stage-6 repro gate: leakage and seeding (critical), float asserts and unsafe code (warn)",
		Long: `Run the Light stage-6 repro gate on a repro spec (JSON): the code to scan,
inline ("code", named by "code_name") or as files ("code_files"), and
optionally a data split to audit ("leakage": {"train", "test"} or {"csv",
"split_col"}, with "cols", "group_col", "target", "bins", "rtol").

Four gates: leakage (a statistic fitted across the split in the code, or rows,
entities or a target encoding shared by the splits: critical), reproducible
(a seeding mechanism the code's frameworks need is missing: critical),
float_assert (float ==, swallowed NaN: warn) and unsafe_scan (secrets, shell,
eval, SQL built from strings, bare except: warn). Only leakage and
reproducible can fail the verdict.

A Markdown summary goes to stdout (the full result with --json). --report
writes the light.findings.v1 findings, --sarif SARIF 2.1.0, --json-out the
full result. Paths in the spec are relative to the working directory. The
exit status is 4 when the verdict is fail.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.spec == "" {
				return usagef("name the repro spec: rigor gate repro --spec repro_spec.json", "--spec is required")
			}
			return runGateRepro(cmd.Context(), g, o, g.stdout)
		},
	}
	c.Flags().StringVar(&o.spec, "spec", "", "the repro spec (JSON)")
	o.files.register(c.Flags(), true)
	return c
}

func runGateRepro(ctx context.Context, g *globalOptions, o gateReproOptions, out io.Writer) error {
	b, err := readInputFile(o.spec, 64<<20)
	if err != nil {
		return err
	}
	rs, err := spec.DecodeReproSpec(b)
	if err != nil {
		return usagef("fix the repro spec (project, code, code_name, code_files, leakage); nothing was checked", "%s: %v", o.spec, err)
	}
	r, err := gates.Repro(ctx, rs, gates.ReproOptions{})
	if err != nil {
		return err
	}
	if err := o.files.write(&r.Findings, r); err != nil {
		return err
	}
	switch {
	case g.json:
		err = writeJSON(out, r)
	case !g.quiet:
		err = gates.WriteReproMarkdown(out, r)
	}
	if err != nil {
		return err
	}
	if r.Findings.Verdict == spec.VerdictFail {
		return &exitStatus{code: exitGateFailed}
	}
	return nil
}
