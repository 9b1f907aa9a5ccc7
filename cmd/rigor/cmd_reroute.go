package main

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"os"

	"github.com/spf13/cobra"

	"github.com/rigor-dev/rigor/gates"
	"github.com/rigor-dev/rigor/spec"
)

type rerouteOptions struct {
	findings string
	stage    int
	passport string
}

func newRerouteCmd(g *globalOptions) *cobra.Command {
	var o rerouteOptions
	c := &cobra.Command{
		Use:   "reroute --findings F --stage N [--passport P]",
		Short: "Suggest a root-cause back edge for a failed stage (7→6 for results that do not reproduce); never writes one",
		Long: `Suggest where a failed stage's root cause lies, as the Light orchestrator's
reroute does. Only a failing report gets suggestions: each blocking gate's
name, rules and issues are matched against the trigger stage's routes. From
stage 7 (result analysis), reproducibility signals (reproduc, repro, bug,
seed, 种子, 复现) route to stage 6 (experiment coding), hypothesis signals
(hypothesis, support, 假设, 支撑, 效应, 显著) to stage 5; from stage 8 the
route is 8→7; stage 6 has no outgoing route (manual). The action is rework
while the root stage has used fewer than 2 revision rounds (read from
--passport when given), known_limitation after.

rigor never writes a back edge: a 7→6 edge needs a real downstream root cause
and the user's authorization. Prints the suggestions (light.reroute.v1 with
--json). The exit status is 0 whatever is suggested.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.findings == "" {
				return usagef("name the failed stage's findings: --findings F", "--findings is required")
			}
			if o.stage < 1 || o.stage > 13 {
				return usagef("give the stage that failed, 1 to 13, e.g. --stage 7", "--stage %d", o.stage)
			}
			return runReroute(cmd.Context(), g, o, g.stdout)
		},
	}
	c.Flags().StringVar(&o.findings, "findings", "", "the failed stage's light.findings.v1 report")
	c.Flags().IntVar(&o.stage, "stage", 0, "the stage that failed (the trigger)")
	c.Flags().StringVar(&o.passport, "passport", "", "the Light passport, for revision rounds and skills (optional)")
	return c
}

func runReroute(_ context.Context, g *globalOptions, o rerouteOptions, out io.Writer) error {
	b, err := readInputFile(o.findings, 256<<20)
	if err != nil {
		return err
	}
	r, err := spec.DecodeFindings(b)
	if err != nil {
		return usagef("give a light.findings.v1 report", "%s: %v", o.findings, err)
	}
	var opts gates.RerouteOptions
	if o.passport != "" {
		pb, err := os.ReadFile(o.passport)
		if errors.Is(err, fs.ErrNotExist) {
			return usagef("check the path, or leave --passport out", "%s: no such file", o.passport)
		}
		if err != nil {
			return err
		}
		p, err := gates.ParsePassport(pb)
		if err != nil {
			return usagef("fix the passport YAML", "%s: %v", o.passport, err)
		}
		opts.Rounds, opts.Skill = p.RevisionRounds, p.Skill
	}
	rr := gates.SuggestReroute(r, o.stage, opts)
	if g.json {
		return writeJSON(out, rr)
	}
	return gates.WriteRerouteText(out, rr)
}
