package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"

	"github.com/spf13/cobra"

	"github.com/rigor-dev/rigor/cas"
	"github.com/rigor-dev/rigor/verify"
)

type verifyOptions struct {
	remote     string
	all        bool
	deep       bool
	sha256     bool
	sample     float64
	sampleSeed uint64
	seedSet    bool
}

func newVerifyCmd(g *globalOptions) *cobra.Command {
	var o verifyOptions
	c := &cobra.Command{
		Use:   "verify [RUN...] [--all] [--deep | --sample PERCENT [--sample-seed N]]",
		Short: "Check stored runs: every Light run-artifact rule and every object they reach",
		Long: `Check each named run (a run id, a ref runs/<row>/seed-<n>/attempt-<k>, or the
digest of a run bundle), or every recorded run with --all:

  - every rule of the Light run_artifact_check on its manifest.json and the
    SHA-256 of every file the manifest lists, with the checker's messages;
  - every object the run reaches exists, with the size its tree records;
  - the BLAKE3 digests and sizes rigor's manifest records are the files';
  - its entries in the store's run and lineage indexes.

--deep re-reads every blob and re-hashes it with BLAKE3 against its digest.
The manifest's SHA-256 sums are checked against those recorded when the files
were stored (from the same bytes, which --deep proves unchanged); --sha256
recomputes them from the bytes as well, at about a third of the speed.
--sample PERCENT re-hashes that share of the blobs instead:
the blobs whose digests fall in a window chosen by --sample-seed (random when
not given, and reported). Successive seeds move the window on, so runs with
seeds 0, 1, 2… cover every blob in ceil(100/PERCENT) runs.

Every problem is reported, one per line, with its kind, the run and the path
inside it; exit 3 when there is any.`,
		Example: `  rigor verify EXP-01__seed-42__attempt-1
  rigor verify --all --deep
  rigor verify --all --sample 10 --sample-seed "$CI_BUILD_NUMBER"`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.remote != "" {
				return runVerifyRemote(cmd.Context(), g, o.remote, args)
			}
			o.seedSet = cmd.Flags().Changed("sample-seed")
			switch {
			case len(args) == 0 && !o.all:
				return usagef("name runs (run id, ref or digest) or pass --all", "rigor verify needs a run or --all")
			case len(args) > 0 && o.all:
				return usagef("drop the run names or --all", "--all verifies every run; do not also name runs")
			case o.deep && cmd.Flags().Changed("sample"):
				return usagef("--deep re-hashes everything; --sample a share", "--deep and --sample are exclusive")
			case o.sample < 0 || o.sample > 100 || (cmd.Flags().Changed("sample") && o.sample == 0):
				return usagef("give a percentage above 0 and at most 100", "--sample %v is not a percentage", o.sample)
			case o.seedSet && o.sample == 0:
				return usagef("add --sample PERCENT", "--sample-seed needs --sample")
			}
			return runVerify(cmd.Context(), g, o, args)
		},
	}
	c.Flags().BoolVar(&o.all, "all", false, "verify every recorded run")
	c.Flags().StringVar(&o.remote, "remote", "", "check instead that each run's whole closure is on remote NAME, without downloading it (no RUN: every local run)")
	c.Flags().BoolVar(&o.deep, "deep", false, "re-hash every blob from its stored bytes")
	c.Flags().BoolVar(&o.sha256, "sha256", false, "recompute the SHA-256 of every file the manifest lists from its bytes")
	c.Flags().Float64Var(&o.sample, "sample", 0, "re-hash this percentage of the blobs (chosen by --sample-seed)")
	c.Flags().Uint64Var(&o.sampleSeed, "sample-seed", 0, "which window of the digest space --sample re-hashes (default random)")
	return c
}

type verifyOutput struct {
	OK       bool            `json:"ok"`
	Problems int             `json:"problems"`
	Runs     []verify.Report `json:"runs"`
}

func runVerify(ctx context.Context, g *globalOptions, o verifyOptions, args []string) error {
	s, err := openStoreReadOnly(ctx, g)
	if err != nil {
		return err
	}
	defer s.Close()
	var runs []verify.RunInfo
	if o.all {
		if runs, err = verify.AllRuns(ctx, s); err != nil {
			return err
		}
		if len(runs) == 0 && !g.quiet && !g.json {
			fmt.Fprintln(g.stderr, "rigor: no runs recorded")
		}
	}
	for _, a := range args {
		info, err := findRun(ctx, s, a)
		if err != nil {
			return err
		}
		runs = append(runs, info)
	}
	if o.sample > 0 && !o.seedSet {
		o.sampleSeed = rand.Uint64N(1 << 32)
	}
	out := verifyOutput{OK: true, Runs: []verify.Report{}}
	for i := range runs {
		info := runs[i]
		bar := newProgress(g, "verify "+info.Name(), 0)
		opts := verify.Options{Deep: o.deep, SHA256: o.sha256, Sample: o.sample, SampleSeed: o.sampleSeed, Index: s, Progress: bar.setWithTotal}
		if info.RunID != "" {
			opts.Recorded = &info
		}
		rep, err := verify.Run(ctx, s, info.Root, opts)
		bar.done()
		if err != nil {
			return err
		}
		out.Runs = append(out.Runs, rep)
		out.Problems += len(rep.Problems)
		out.OK = out.OK && rep.OK
		if g.json {
			continue
		}
		for _, p := range rep.Problems {
			fmt.Fprintln(g.stdout, p.Error())
		}
		if !g.quiet {
			fmt.Fprintln(g.stdout, verifySummary(rep))
		}
	}
	if g.json {
		if err := writeJSON(g.stdout, out); err != nil {
			return err
		}
	}
	if !out.OK {
		return &exitStatus{code: exitIntegrity}
	}
	return nil
}

func verifySummary(rep verify.Report) string {
	verdict := "ok"
	if !rep.OK {
		verdict = fmt.Sprintf("%d problem(s)", len(rep.Problems))
	}
	how := "sums from the index"
	switch {
	case rep.Deep:
		how = "deep"
	case rep.Sample != nil:
		how = fmt.Sprintf("sample %g%% seed %d (next %d): %d blobs", rep.Sample.Percent, rep.Sample.Seed, rep.Sample.NextSeed, rep.Sample.Objects)
	}
	completion := ""
	if rep.Check != nil && rep.Check.CompletionVerified {
		completion = ", completion verified"
	}
	return fmt.Sprintf("%s: %s (%d objects, %s, %d re-hashed, %s%s)", rep.Run, verdict, rep.Objects, humanBytes(rep.Bytes), rep.Hashed, how, completion)
}

// findRun resolves a run argument, mapping "no such run" to a usage error.
func findRun(ctx context.Context, s *cas.Store, arg string) (verify.RunInfo, error) {
	info, err := verify.FindRun(ctx, s, arg)
	switch {
	case errors.Is(err, verify.ErrRunNotFound):
		return info, usagef("name a run by run id, ref or bundle digest; list them with 'rigor runs'", "%v", err)
	case errors.Is(err, verify.ErrAmbiguous):
		return info, usagef("give more hex digits to make the prefix unique", "%v", err)
	}
	return info, err
}
