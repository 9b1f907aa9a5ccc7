package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"text/tabwriter"

	digest "github.com/opencontainers/go-digest"
	"github.com/spf13/cobra"

	"github.com/rigor-dev/rigor/cas"
	runexec "github.com/rigor-dev/rigor/exec"
	"github.com/rigor-dev/rigor/spec"
	"github.com/rigor-dev/rigor/verify"
)

type rerunOptions struct {
	workdir    string
	keep       bool
	cleanEnv   bool
	strictEnv  bool
	all        bool
	row        string
	rtol, atol float64
}

// Verdicts of a rerun.
const (
	verdictExact         = "EXACT"          // same_seed_exact: identity and outputs identical
	verdictExactOutputs  = "EXACT_OUTPUTS"  // outputs identical; only the environment record differs
	verdictDiverged      = "DIVERGED"       // a compared artifact differs
	verdictNotComparable = "NOT_COMPARABLE" // the pair cannot be compared (a run did not complete...)
)

func newRerunCmd(g *globalOptions) *cobra.Command {
	var o rerunOptions
	c := &cobra.Command{
		Use:   "rerun RUN | rerun --all --row ROW",
		Short: "Reproduce a run from its bundle alone and say where it first diverges",
		Long: `Reproduce RUN (a run id, ref or root digest) from what its bundle recorded,
and nothing else: in a fresh directory (--workdir, else a temporary one,
removed afterwards unless --keep) rigor lays out the code tree the run saw
(the recorded commit with its dirty changes, every file checked against the
SHA-256 the manifest records), each input restored from the store by digest
(never read from its original place), the config as it was written, at the
same relative places, and runs the recorded argv with the recorded
environment variables. Variables the record redacted (credentials) must be
set in rigor's environment: rerun names the missing ones and refuses to
start. The rerun is a new attempt of the same row and seed whose manifest
names the original (reproducibility.pair_id, comparison_role "rerun").

Before the program starts, the environment is probed and compared with the
recorded one (packages, CPU model and flags, GPUs, driver, CUDA, thread
settings); any drift is shown up front, and --strict-env refuses to run. The
repro level is recorded in the rerun's manifest, as
light.experiment_execution_contract.v1 names them: SAME_ENV_REPEAT when the
environment record is identical, CLEAN_ENV_RERUN with --clean-env (a fresh
virtual environment built with the recorded interpreter from the recorded
requirements*.txt, else from the recorded package versions), CROSS_PLATFORM
when the platform (OS, CPU, GPU) differs; none when the environment drifted
otherwise.

The two runs are then compared by the rules of 'rigor compare'. The verdict
is EXACT (same_seed_exact), EXACT_OUTPUTS (the compared artifacts are
identical and only the environment record differs), DIVERGED or
NOT_COMPARABLE. When they diverge, rerun shows the first divergence: which
artifact, its first differing row and column (CSV) or line and key (JSONL),
the first differing byte, the largest absolute and relative difference, and
what differed in the environment between the two runs. --json prints the
report with the light.repro_comparison.v1 comparison and the
reproducibility evidence for an execution contract.

--all --row ROW reruns every completed fixed_repro run of ROW (not reruns)
and prints one table. Exit 3 when a pair is not exact (EXACT and
EXACT_OUTPUTS count as exact), when --strict-env found the environment
drifted (nothing is run then), or when a restored file does not match its
record; exit 2 when a credential the record redacted is not set.`,
		Example: `  rigor rerun EXP-01__seed-42__attempt-1
  rigor rerun --keep --workdir /tmp/repro runs/EXP-01/seed-42/attempt-1
  rigor rerun --clean-env --strict-env EXP-01__seed-42__attempt-1
  rigor rerun --all --row EXP-01`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.rtol < 0 || o.atol < 0 {
				return usagef("tolerances are non-negative numbers", "negative tolerance")
			}
			if o.all {
				if len(args) != 0 || o.row == "" {
					return usagef("write rigor rerun --all --row ROW", "--all reruns the runs of one row: give --row and no RUN")
				}
				return runRerunAll(cmd.Context(), g, o)
			}
			if o.row != "" {
				return usagef("write rigor rerun --all --row ROW, or rigor rerun RUN", "--row goes with --all")
			}
			if len(args) != 1 {
				return usagef("name one run: rigor rerun RUN (list them with 'rigor runs')", "rerun takes one RUN")
			}
			return runRerun(cmd.Context(), g, o, args[0])
		},
	}
	f := c.Flags()
	f.StringVar(&o.workdir, "workdir", "", "directory to rerun in; must be new or empty (default: a temporary directory)")
	f.BoolVar(&o.keep, "keep", false, "keep the work directory afterwards")
	f.BoolVar(&o.cleanEnv, "clean-env", false, "rebuild a fresh Python virtual environment from the recorded lock")
	f.BoolVar(&o.strictEnv, "strict-env", false, "refuse to run when the environment differs from the recorded one")
	f.BoolVar(&o.all, "all", false, "rerun every completed fixed_repro run of --row")
	f.StringVar(&o.row, "row", "", "the matrix row of --all")
	f.Float64Var(&o.rtol, "rtol", verify.DefaultTolerance.RTol, "relative tolerance reported for numbers in CSV/JSONL artifacts")
	f.Float64Var(&o.atol, "atol", verify.DefaultTolerance.ATol, "absolute tolerance reported for numbers in CSV/JSONL artifacts")
	return c
}

// rerunReport is what rerun prints with --json, one per rerun.
type rerunReport struct {
	Schema       string             `json:"schema"`
	Original     runexec.RunName    `json:"original"`
	Rerun        runexec.RunName    `json:"rerun"`
	RerunStatus  string             `json:"rerun_status"`
	Level        string             `json:"repro_level"`
	LevelNote    string             `json:"repro_level_note"`
	CleanEnv     bool               `json:"clean_env"`
	Verdict      string             `json:"verdict"`
	OutputsExact bool               `json:"outputs_exact"`
	Divergences  []divergence       `json:"divergences"`
	EnvDrift     []spec.EnvChange   `json:"env_drift"`
	Comparison   *verify.Comparison `json:"comparison"`
	// Reproducibility is the evidence for an execution contract's
	// reproducibility section.
	Reproducibility spec.ContractRepro `json:"reproducibility"`
	Workdir         string             `json:"workdir,omitempty"`
	Notes           []string           `json:"notes"`
	termination     string
}

// divergence locates where one compared artifact first differs.
type divergence struct {
	Artifact string `json:"artifact"`
	Path     string `json:"path"`
	Change   string `json:"change"`
	Format   string `json:"format,omitempty"`
	// Row is the first differing CSV data row or JSONL line (1-based);
	// Column the CSV column or the JSON path of the JSONL key.
	Row    int64  `json:"row,omitempty"`
	Column string `json:"column,omitempty"`
	First  string `json:"first,omitempty"`
	Second string `json:"second,omitempty"`
	// ByteOffset is the first differing byte of the files.
	ByteOffset    *int64   `json:"byte_offset,omitempty"`
	MaxAbsDiff    *float64 `json:"max_abs_diff,omitempty"`
	MaxRelDiff    *float64 `json:"max_rel_diff,omitempty"`
	DifferingRows int64    `json:"differing_rows,omitempty"`
	RowsFirst     int64    `json:"rows_first,omitempty"`
	RowsSecond    int64    `json:"rows_second,omitempty"`
	Note          string   `json:"note,omitempty"`
}

func runRerun(ctx context.Context, g *globalOptions, o rerunOptions, arg string) error {
	dir, err := findStore(g)
	if err != nil {
		return err
	}
	rep, err := rerunOne(ctx, g, o, dir, arg, o.workdir)
	if err != nil {
		return rerunError(g, err)
	}
	if g.json {
		if err := writeJSON(g.stdout, rep); err != nil {
			return err
		}
	} else {
		printRerun(g.stdout, rep)
	}
	return rerunExit(rep.termination, rep.OutputsExact)
}

func rerunExit(termination string, exact bool) error {
	switch {
	case termination == spec.ReasonUserCancel:
		return &exitStatus{code: exitInterrupted}
	case !exact:
		return &exitStatus{code: exitIntegrity}
	}
	return nil
}

// rerunError maps the errors of a rerun that did not run to what the user
// can do about them.
func rerunError(g *globalOptions, err error) error {
	var de *runexec.EnvDriftError
	var re *runexec.RecordError
	switch {
	case errors.As(err, &de):
		if !g.json {
			for _, c := range de.Drift {
				fmt.Fprintf(g.stderr, "rigor:   %s\n", driftText(c))
			}
		}
		return &exitStatus{code: exitIntegrity, msg: "--strict-env: " + err.Error() + "; nothing was run"}
	case errors.Is(err, runexec.ErrBundleMismatch):
		return &exitStatus{code: exitIntegrity, msg: err.Error()}
	case errors.As(err, &re):
		return withHint(err, "nothing is lost: the output stays in "+re.Spool+"; fix the store problem and keep that directory")
	case errors.Is(err, runexec.ErrRunNotFound), errors.Is(err, runexec.ErrNotRun), errors.Is(err, cas.ErrNotFound), errors.Is(err, cas.ErrBadDigest):
		return usagef("name a run by run id, ref or bundle digest; list them with 'rigor runs'", "%v", err)
	case errors.Is(err, cas.ErrAmbiguous):
		return usagef("give more hex digits to make the prefix unique", "%v", err)
	case errors.Is(err, runexec.ErrMissingSecrets):
		return usagef("export each named variable (its value is never recorded) and run rerun again", "%s", strings.TrimPrefix(err.Error(), "exec: "))
	case errors.Is(err, runexec.ErrWorkdir):
		return usagef("give --workdir a new or empty directory", "%s", strings.TrimPrefix(err.Error(), "exec: "))
	}
	return err
}

// rerunOne reruns the run arg names and compares the two runs.
func rerunOne(ctx context.Context, g *globalOptions, o rerunOptions, storeDir, arg, workdir string) (*rerunReport, error) {
	open := func(ctx context.Context) (*cas.Store, error) { return openStoreAt(ctx, storeDir) }
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	var out io.Writer = g.stderr // stdout is the report's
	if g.quiet {
		out = io.Discard
	}
	ro := runexec.RerunOptions{
		Workdir: workdir, Keep: o.keep, CleanEnv: o.cleanEnv, StrictEnv: o.strictEnv,
		Stdout: out, Stderr: out, Signals: sigs,
		OnStart: func(st runexec.RerunStarted) {
			if !g.quiet {
				printRerunStart(g.stderr, st)
			}
		},
	}
	res, err := runexec.Rerun(ctx, open, arg, ro)
	if err != nil {
		return nil, err
	}
	if !g.quiet {
		for _, n := range append(res.Notes, res.Rerun.Notes...) {
			fmt.Fprintf(g.stderr, "rigor: note: %s\n", n)
		}
	}
	s, err := open(ctx)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	first := verify.RunInfo{RunID: res.Original.RunID, Ref: res.Original.Ref, Root: res.Original.Root}
	second := verify.RunInfo{RunID: res.Rerun.RunID, Ref: res.Rerun.Ref, Root: res.Rerun.Root}
	c, err := verify.Compare(ctx, s, first, second, verify.CompareOptions{Tolerance: verify.Tolerance{RTol: o.rtol, ATol: o.atol}})
	if err != nil {
		return nil, err
	}
	rep := &rerunReport{
		Schema: "rigor.rerun.v1", Original: res.Original,
		Rerun:       runexec.RunName{RunID: res.Rerun.RunID, Ref: res.Rerun.Ref, Root: res.Rerun.Root},
		RerunStatus: res.Rerun.Summary.Status, termination: res.Rerun.Summary.Termination,
		Level: res.Info.Level, LevelNote: res.Info.LevelNote, CleanEnv: res.Info.CleanEnv,
		EnvDrift: res.Drift, Comparison: c, Workdir: res.Workdir, Notes: nonNilNotes(res.Notes),
		Divergences: []divergence{},
	}
	if rep.EnvDrift == nil {
		rep.EnvDrift = []spec.EnvChange{}
	}
	rep.Verdict, rep.OutputsExact = rerunVerdict(c)
	order := res.Rerun.Manifest.Reproducibility.CompareArtifacts
	ads := slices.Clone(c.Rigor.Artifacts)
	slices.SortStableFunc(ads, func(a, b verify.ArtifactDiff) int { return indexOr(order, a.Name) - indexOr(order, b.Name) })
	for _, ad := range ads {
		d, err := divergenceOf(ctx, s, res.Original.Root, res.Rerun.Root, ad)
		if err != nil {
			return nil, err
		}
		rep.Divergences = append(rep.Divergences, d)
	}
	locator := "rigor compare " + res.Original.RunID + " " + res.Rerun.RunID
	rep.Reproducibility = spec.RerunContractRepro(rep.Level, rep.OutputsExact, c.SameSeedExact, res.Original.RunID, res.Rerun.RunID, locator)
	return rep, nil
}

func indexOr(list []string, s string) int {
	if i := slices.Index(list, s); i >= 0 {
		return i
	}
	return len(list)
}

// rerunVerdict judges a comparison of a run with its rerun.
func rerunVerdict(c *verify.Comparison) (string, bool) {
	if c.SameSeedExact {
		return verdictExact, true
	}
	if len(c.Rigor.Artifacts) > 0 {
		return verdictDiverged, false
	}
	onlyEnv := slices.Equal(c.IdentityDifference, []string{"environment"})
	for _, e := range c.Errors {
		onlyEnv = onlyEnv && strings.HasPrefix(e, "run identity differs")
	}
	if onlyEnv {
		return verdictExactOutputs, true
	}
	return verdictNotComparable, false
}

// divergenceOf locates the first difference of one artifact.
func divergenceOf(ctx context.Context, s *cas.Store, rootA, rootB digest.Digest, ad verify.ArtifactDiff) (divergence, error) {
	d := divergence{Artifact: ad.Name, Path: ad.PathFirst, Change: ad.Kind, Note: ad.Note}
	if d.Path == "" {
		d.Path = ad.PathSecond
	}
	if ad.PathFirst != "" && ad.PathSecond != "" {
		off, err := runexec.FirstByteDiff(ctx, s, rootA, ad.PathFirst, rootB, ad.PathSecond)
		if err != nil {
			return d, err
		}
		if off >= 0 {
			d.ByteOffset = &off
		}
	}
	cd := ad.Content
	if cd == nil {
		return d, nil
	}
	d.Format, d.DifferingRows, d.RowsFirst, d.RowsSecond = cd.Format, cd.DifferingRows, cd.RowsFirst, cd.RowsSecond
	numeric := cd.MaxAbsDiff > 0
	for _, c := range cd.Differences {
		numeric = numeric || c.AbsDiff != nil
	}
	if numeric {
		abs, rel := cd.MaxAbsDiff, cd.MaxRelDiff
		d.MaxAbsDiff, d.MaxRelDiff = &abs, &rel
	}
	if len(cd.Differences) > 0 {
		first := cd.Differences[0]
		d.Row, d.Column, d.First, d.Second = first.Row, first.Column, first.First, first.Second
	} else if cd.RowsFirst != cd.RowsSecond {
		d.Row = cd.RowsCompared + 1
		d.Note = fmt.Sprintf("the first run has %d rows, the rerun %d", cd.RowsFirst, cd.RowsSecond)
	}
	return d, nil
}

func printRerunStart(w io.Writer, st runexec.RerunStarted) {
	fmt.Fprintf(w, "rigor: rerun of %s as %s in %s\n", st.Original, st.RunID, st.Dir)
	if len(st.Drift) == 0 {
		fmt.Fprintf(w, "rigor: the environment is identical to the recorded one (%s)\n", orDash(st.Info.Level))
		return
	}
	fmt.Fprintf(w, "rigor: the environment differs from the recorded one (%s): level %s (%s)\n",
		strings.Join(spec.DriftCategories(st.Drift), ", "), orDash(st.Info.Level), st.Info.LevelNote)
	for i, c := range st.Drift {
		if i == 20 {
			fmt.Fprintf(w, "rigor:   ... and %d more\n", len(st.Drift)-i)
			break
		}
		fmt.Fprintf(w, "rigor:   %s\n", driftText(c))
	}
}

func driftText(c spec.EnvChange) string {
	return c.Category + " " + changeText(c.Kind, c.Where, c.First, c.Second)
}

func printRerun(w io.Writer, r *rerunReport) {
	fmt.Fprintf(w, "original  %s (%s)\n", r.Original.RunID, r.Original.Root)
	fmt.Fprintf(w, "rerun     %s (%s), %s\n", r.Rerun.RunID, r.Rerun.Root, r.RerunStatus)
	fmt.Fprintf(w, "level     %s (%s)\n", orDash(r.Level), r.LevelNote)
	fmt.Fprintf(w, "verdict   %s\n", r.Verdict)
	for i, d := range r.Divergences {
		label := "first divergence"
		if i > 0 {
			label = "also diverged"
		}
		fmt.Fprintf(w, "%s: %s\n", label, divergenceText(d))
		if d.MaxAbsDiff != nil {
			fmt.Fprintf(w, "  %s: %d of %d/%d rows differ; max abs diff %.6g, max rel diff %.6g\n",
				d.Format, d.DifferingRows, d.RowsFirst, d.RowsSecond, *d.MaxAbsDiff, *d.MaxRelDiff)
		}
		if d.Note != "" {
			fmt.Fprintf(w, "  (%s)\n", d.Note)
		}
	}
	if len(r.Divergences) > 0 || len(r.EnvDrift) > 0 {
		if len(r.EnvDrift) == 0 {
			fmt.Fprintln(w, "environment: identical in both runs (the program itself is nondeterministic: clock, unseeded RNG, thread races?)")
		} else {
			fmt.Fprintf(w, "environment: differs between the two runs (%s):\n", strings.Join(spec.DriftCategories(r.EnvDrift), ", "))
			for _, c := range r.EnvDrift {
				fmt.Fprintf(w, "  %s\n", driftText(c))
			}
		}
	}
	if r.Comparison.SameSeedExact {
		fmt.Fprintln(w, "compare   PASS (same_seed_exact)")
	} else {
		fmt.Fprintln(w, "compare   FAIL")
		for _, e := range r.Comparison.Errors {
			fmt.Fprintf(w, "- %s\n", e)
		}
	}
	if r.Workdir != "" {
		fmt.Fprintf(w, "workdir   %s\n", r.Workdir)
	}
}

// divergenceText is one line: the artifact and where it first differs.
func divergenceText(d divergence) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s (%s)", d.Artifact, orDash(d.Path))
	if d.Change != spec.ChangeChanged {
		fmt.Fprintf(&b, " %s", d.Change)
	}
	if d.Row > 0 {
		unit, col := "row", "column"
		if d.Format == verify.FormatJSONL {
			unit, col = "line", "key"
		}
		fmt.Fprintf(&b, " %s %d", unit, d.Row)
		if d.Column != "" {
			fmt.Fprintf(&b, ", %s %s: %s -> %s", col, d.Column, d.First, d.Second)
		}
	}
	if d.ByteOffset != nil {
		fmt.Fprintf(&b, "; first differing byte at offset %d", *d.ByteOffset)
	}
	return b.String()
}

func runRerunAll(ctx context.Context, g *globalOptions, o rerunOptions) error {
	dir, err := findStore(g)
	if err != nil {
		return err
	}
	runs, err := rerunCandidates(ctx, dir, o.row)
	if err != nil {
		return err
	}
	if len(runs) == 0 {
		return usagef("list the row's runs with 'rigor runs --row "+o.row+"'", "row %s has no completed fixed_repro run to rerun", o.row)
	}
	type failed struct {
		Run   string `json:"run"`
		Error string `json:"error"`
	}
	all := struct {
		Schema string         `json:"schema"`
		Row    string         `json:"row"`
		Exact  bool           `json:"exact"`
		Reruns []*rerunReport `json:"reruns"`
		Errors []failed       `json:"errors"`
	}{Schema: "rigor.rerun_all.v1", Row: o.row, Exact: true, Reruns: []*rerunReport{}, Errors: []failed{}}
	cancelled := false
	for _, id := range runs {
		wd := ""
		if o.workdir != "" {
			wd = filepath.Join(o.workdir, id)
		}
		rep, err := rerunOne(ctx, g, o, dir, id, wd)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			all.Errors = append(all.Errors, failed{Run: id, Error: rerunError(g, err).Error()})
			all.Exact = false
			continue
		}
		all.Reruns = append(all.Reruns, rep)
		all.Exact = all.Exact && rep.OutputsExact
		if rep.termination == spec.ReasonUserCancel {
			cancelled = true
			break
		}
	}
	if g.json {
		if err := writeJSON(g.stdout, all); err != nil {
			return err
		}
	} else {
		tw := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ORIGINAL\tRERUN\tLEVEL\tVERDICT\tFIRST DIVERGENCE")
		for _, r := range all.Reruns {
			first := "-"
			if len(r.Divergences) > 0 {
				first = divergenceText(r.Divergences[0])
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.Original.RunID, r.Rerun.RunID, orDash(r.Level), r.Verdict, first)
		}
		for _, f := range all.Errors {
			fmt.Fprintf(tw, "%s\t-\t-\tERROR\t%s\n", f.Run, f.Error)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	if cancelled {
		return &exitStatus{code: exitInterrupted}
	}
	if !all.Exact {
		return &exitStatus{code: exitIntegrity}
	}
	return nil
}

// rerunCandidates lists the completed fixed_repro runs of row that are not
// reruns themselves.
func rerunCandidates(ctx context.Context, storeDir, row string) ([]string, error) {
	s, err := openStoreAt(ctx, storeDir)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	sums, err := verify.ListRuns(ctx, s, verify.RunFilter{Row: row, Status: spec.StatusCompleted})
	if err != nil {
		return nil, err
	}
	var out []string
	for _, sum := range sums {
		if sum.Seed.Role != "fixed_repro" {
			continue
		}
		_, m, err := runexec.ReadManifest(ctx, s, sum.Root)
		if err != nil {
			return nil, err
		}
		if m.Reproducibility.ComparisonRole == spec.ComparisonRoleRerun {
			continue
		}
		out = append(out, sum.RunID)
	}
	return out, nil
}
