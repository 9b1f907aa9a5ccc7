package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/rigor-dev/rigor/cas"
	"github.com/rigor-dev/rigor/gates"
	"github.com/rigor-dev/rigor/spec"
)

type checkOptions struct {
	config string
	ts     string
	write  bool
	sarif  string
}

func newCheckCmd(g *globalOptions) *cobra.Command {
	var o checkOptions
	c := &cobra.Command{
		Use:   "check [--config rigor-check.yaml] [--ts TS --write]",
		Short: "Run the stage-6 gate sequence from rigor-check.yaml and print one table (what CI calls)",
		Long: `Run the Light toolkit's stage-6 sequence, in order, from one config file
(rigor-check.yaml in the working directory, or --config):

  contract    the execution contract, bound to the stored runs when there is
              a store (rigor gate contract --runs)
  review      the delivery scan of the code (rigor gate review)
  seeds       seeding of every framework the code uses (rigor gate seeds)
  repro       the stage-6 repro gate, with the split audit (rigor gate repro)
  verify      every recorded run, or the runs the config names (rigor verify)
  compare     every fixed-seed pair: the first completed fixed_repro attempt
              of a row and seed against each later one, or the config's pairs
              (rigor compare)
  command     each gate command of the config, run with sh -c
  checkpoint  all of the above aggregated into the passport's stage record
              (rigor checkpoint; written with --write, which needs --ts)

Every step runs even after a failure, and each writes its light.findings.v1
report to findings_dir (default .light/findings). The config (YAML; paths
relative to its directory; every key optional):

  project: tidepool
  stage: 6
  contract: contract.json
  bind_runs: true
  code: [src]
  repro_spec: repro.json        # default: built from project, code, leakage
  leakage: {train: data/train.csv, test: data/test.csv, group_col: site}
  runs: [EXP-01__seed-42__attempt-1]
  pairs: [[EXP-01__seed-42__attempt-1, EXP-01__seed-42__attempt-2]]
  commands: [{label: tests, run: "pytest -q"}]
  passport: .light/passport.yaml
  findings_dir: .light/findings

Prints one table (step, target, status, detail; --json for the steps as
JSON); --sarif writes every finding as SARIF 2.1.0 for code scanning. The exit
status is 4 when a critical step fails.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.write && o.ts == "" {
				return usagef("add --ts with the ISO-8601 time of the evidence, e.g. --ts \"$(date -Iseconds)\"", "--write needs --ts")
			}
			return runCheck(cmd.Context(), g, o, g.stdout)
		},
	}
	c.Flags().StringVar(&o.config, "config", gates.CheckConfigName, "the check config (YAML)")
	c.Flags().StringVar(&o.ts, "ts", "", "the evidence timestamp of the checkpoint (ISO-8601), taken on trust")
	c.Flags().BoolVar(&o.write, "write", false, "write the checkpoint into the passport")
	c.Flags().StringVar(&o.sarif, "sarif", "", "write all findings as SARIF 2.1.0 to this file")
	return c
}

func runCheck(ctx context.Context, g *globalOptions, o checkOptions, out io.Writer) error {
	b, err := readInputFile(o.config, 1<<20)
	if err != nil {
		if errors.As(err, new(*usageError)) && o.config == gates.CheckConfigName {
			return usagef("write "+gates.CheckConfigName+" (see rigor check --help) or name one with --config", "%s: no such file", o.config)
		}
		return err
	}
	cfg, err := gates.DecodeCheckConfig(b, filepath.Dir(o.config))
	if err != nil {
		return usagef("fix the config; see rigor check --help for its keys", "%s: %v", o.config, err)
	}
	opts := gates.CheckOptions{TS: o.ts, Write: o.write, Runner: runGateCommand}
	s, err := openStore(ctx, g)
	switch {
	case err == nil:
		defer s.Close()
		opts.Store = s
	case errors.Is(err, cas.ErrNotStore):
		// No store: the run steps are skipped, or fail when runs are named.
	default:
		return err
	}
	res, err := gates.RunCheck(ctx, cfg, opts)
	if err != nil {
		return err
	}
	if o.sarif != "" {
		bs, err := marshalIndent(res.Checkpoint.Report.SARIF(spec.SARIFOptions{ToolName: "rigor", RuleHelp: gates.RuleHelp}))
		if err != nil {
			return err
		}
		if err := writeStage6File(o.sarif, bs); err != nil {
			return err
		}
	}
	if g.json {
		err = writeJSON(out, res)
	} else {
		err = writeCheckTable(out, res)
	}
	if err != nil {
		return err
	}
	if res.Failed {
		return &exitStatus{code: exitGateFailed}
	}
	return nil
}

func writeCheckTable(w io.Writer, res *gates.CheckResult) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "STEP\tTARGET\tSTATUS\tDETAIL")
	for _, s := range res.Steps {
		status := s.Status
		if s.Critical {
			status += " (critical)"
		}
		target := s.Target
		if target == "" {
			target = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", s.Step, target, status, strings.ReplaceAll(s.Detail, "\n", " "))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	verdict := "stage passes"
	if res.Failed {
		verdict = "stage fails: a critical step failed"
	}
	_, err := fmt.Fprintf(w, "\n%s (findings in each step's file; rigor checkpoint --help explains the record)\n", verdict)
	return err
}
