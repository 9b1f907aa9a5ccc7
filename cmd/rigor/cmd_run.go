package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/rigor-dev/rigor/cas"
	runexec "github.com/rigor-dev/rigor/exec"
	"github.com/rigor-dev/rigor/spec"
)

type runOptions struct {
	config, schema string
	row            string
	seed           int64
	seedSet        bool
	seedRole       string
	inputs         []string
	out            string
	timeout        time.Duration
	grace          time.Duration
	test, oracle   string
	rehash         bool
}

func newRunCmd(g *globalOptions) *cobra.Command {
	var o runOptions
	c := &cobra.Command{
		Use:   "run [flags] -- PROGRAM [ARGS...]",
		Short: "Run one attempt of a matrix row and record it as an immutable run bundle",
		Long: `Run PROGRAM as one attempt of one experiment-matrix row, config and seed, and
record everything in the store as a light.run_manifest.v3 run bundle: the
validated config, the code snapshot, the environment, the inputs (by digest),
argv and environment (secrets redacted), stdout and stderr, the outputs,
test evidence, resources and, for a failed or aborted run, a failure record.

Row and seed come from the config (matrix_row, seed) when it has them; a flag
that disagrees with the config is an error, not an override. The run id is
<row>__seed-<n>__attempt-<k>, the ref runs/<row>/seed-<n>/attempt-<k>;
attempts are numbered per row and seed and never reused, even when runs start
at once. The bundle's root digest is printed on stdout at the end.

The child runs in the working directory, in its own process group, stdin from
/dev/null, with PYTHONHASHSEED and RIGOR_SEED set to the seed, RIGOR_RUN_ID,
RIGOR_MATRIX_ROW, RIGOR_ATTEMPT, RIGOR_SEED_ROLE, RIGOR_OUT (the directory for
predictions.csv, raw_metrics.jsonl, test_evidence.json, guardrails.json and
any other output) and CUBLAS_WORKSPACE_CONFIG=:4096:8 unless already set.
Its stdout and stderr stream to the terminal (stderr with --json) and into
the store. Ctrl-C or SIGTERM is forwarded to the child (a second one kills
it) and the run ends as user_cancel; --timeout sends SIGTERM, then SIGKILL
after --grace, and the run ends as timeout. A program that stops at its
iteration cap creates RIGOR_OUT/max_iterations: the run is aborted
(max_iterations), never completed.

Status: completed (exit 0, natural exit), failed (error: non-zero exit, a
signal, a suspected OOM kill) or aborted (timeout, max_iterations,
user_cancel). Completion is judged apart: PASS when the run completed and the
oracle passed (predictions.csv and raw_metrics.jsonl exist and are not empty,
every raw metric parses and none is NaN or Inf, --test passed, --oracle
exited 0), FAIL when a check failed, NOT_EVALUATED otherwise.

The exit status is 0 when the run completed and its completion is not FAIL,
130 when it was cancelled, and 1 otherwise; the run is recorded either way.`,
		Example: `  rigor run --config configs/exp01.json -- python -m src.train --config configs/exp01.json
  rigor run --row EXP-02 --seed 7 --input data=data/train.csv@v3 --timeout 2h -- ./train.sh
  rigor run --config c.yaml --schema configs/experiment.schema.json --test "pytest -q" -- python train.py`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.seedSet = cmd.Flags().Changed("seed")
			return runRun(cmd.Context(), g, o, args)
		},
	}
	// Flags after PROGRAM belong to PROGRAM, with or without "--".
	c.Flags().SetInterspersed(false)
	f := c.Flags()
	f.StringVar(&o.config, "config", "", "the matrix-row config, JSON or YAML (gives row, seed and data when it has them)")
	f.StringVar(&o.schema, "schema", "", "JSON Schema the config must satisfy")
	f.StringVar(&o.row, "row", "", "experiment-matrix row (default: the config's matrix_row)")
	f.Int64Var(&o.seed, "seed", 0, "seed, 0 to 4294967295 (default: the config's seed)")
	f.StringVar(&o.seedRole, "seed-role", "", "fixed_repro or randomness_estimation (default: the config's, else fixed_repro)")
	f.StringArrayVar(&o.inputs, "input", nil, "a data input ROLE=PATH[@REVISION], repeatable; role data needs a revision")
	f.StringVar(&o.out, "out", "", "RIGOR_OUT, the program's output directory; must be new or empty (default: a temporary directory)")
	f.DurationVar(&o.timeout, "timeout", 0, "stop the program after this long (SIGTERM, then SIGKILL after --grace); 0: no limit")
	f.DurationVar(&o.grace, "grace", 10*time.Second, "time between SIGTERM and SIGKILL when stopping the program")
	f.StringVar(&o.test, "test", "", "shell command that runs the project's tests first; its result is the test evidence")
	f.StringVar(&o.oracle, "oracle", "", "shell command run after a successful exit; it must exit 0 for completion PASS")
	f.BoolVar(&o.rehash, "rehash", false, "read every code file and input, and probe the environment, even when the store's caches vouch for them")
	return c
}

// runResultJSON is what --json prints: the run's summary, as the runs
// index keeps it, and the notes of this attempt.
type runResultJSON struct {
	spec.RunSummary
	Notes []string `json:"notes"`
}

func runRun(ctx context.Context, g *globalOptions, o runOptions, argv []string) error {
	opts := runexec.Options{
		Argv: argv, Row: o.row, SeedRole: o.seedRole, ConfigPath: o.config, SchemaPath: o.schema,
		OutDir: o.out, Timeout: o.timeout, Grace: o.grace, TestCmd: o.test, OracleCmd: o.oracle, Rehash: o.rehash,
		Stdout: g.stdout, Stderr: g.stderr,
	}
	if o.seedSet {
		opts.Seed = &o.seed
	}
	out := &lastByteWriter{w: g.stdout}
	opts.Stdout = out
	if g.json {
		opts.Stdout = g.stderr // stdout carries the JSON result
	}
	for _, s := range o.inputs {
		in, err := runexec.ParseInputSpec(s)
		if err != nil {
			return usagef("write --input ROLE=PATH[@REVISION], for example data=data/train.csv@v3", "%s", usageText(err))
		}
		opts.Inputs = append(opts.Inputs, in)
	}
	if o.timeout < 0 || o.grace < 0 {
		return usagef("give a positive duration such as 90s or 2h", "--timeout and --grace must not be negative")
	}
	if o.grace == 0 {
		opts.Grace = 10 * time.Second
	}
	dir, err := findStore(g)
	if err != nil {
		return err
	}
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	opts.Signals = sigs
	opts.OnStart = func(s runexec.Started) {
		if !g.quiet {
			fmt.Fprintf(g.stderr, "rigor: run %s started (%s)\n", s.RunID, s.Ref)
		}
	}
	open := func(ctx context.Context) (*cas.Store, error) { return openStoreAt(ctx, dir) }

	res, err := runexec.Run(ctx, open, opts)
	var re *runexec.RecordError
	switch {
	case errors.As(err, &re):
		return withHint(err, "nothing is lost: the output stays in "+re.Spool+"; fix the store problem and keep that directory")
	case errors.Is(err, runexec.ErrUsage), errors.Is(err, runexec.ErrConfigConflict):
		return usagef("see 'rigor run --help'", "%s", usageText(err))
	case err != nil:
		return err
	}
	sum := res.Summary
	if g.json {
		err = writeJSON(g.stdout, runResultJSON{RunSummary: sum, Notes: nonNilNotes(res.Notes)})
		if err != nil {
			return err
		}
	} else {
		if !g.quiet {
			for _, n := range res.Notes {
				fmt.Fprintf(g.stderr, "rigor: note: %s\n", n)
			}
			fmt.Fprintf(g.stderr, "rigor: run %s %s (%s), completion %s, %s\n",
				res.RunID, sum.Status, terminationText(sum), sum.Completion, time.Duration(sum.DurationMS)*time.Millisecond)
			fmt.Fprintf(g.stderr, "rigor: recorded as %s\n", res.Ref)
		}
		if out.last != 0 && out.last != '\n' {
			fmt.Fprintln(g.stdout) // the program's last line had no newline
		}
		fmt.Fprintln(g.stdout, res.Root)
	}
	return runExitStatus(sum)
}

// runExitStatus maps a recorded run to the exit status: 0 completed (and
// completion not FAIL), 130 cancelled, 1 otherwise. The run was reported.
func runExitStatus(sum spec.RunSummary) error {
	switch {
	case sum.Status == spec.StatusCompleted && sum.Completion != spec.CompletionFail:
		return nil
	case sum.Termination == spec.ReasonUserCancel:
		return &exitStatus{code: exitInterrupted}
	default:
		return &exitStatus{code: exitError}
	}
}

func terminationText(s spec.RunSummary) string {
	switch {
	case s.ExitCode != nil:
		return fmt.Sprintf("%s, exit %d", s.Termination, *s.ExitCode)
	case s.Signal != nil:
		return fmt.Sprintf("%s, signal %d", s.Termination, *s.Signal)
	}
	return s.Termination
}

func nonNilNotes(n []string) []string {
	if n == nil {
		return []string{}
	}
	return n
}

// usageText drops the package prefix of exec's usage errors.
func usageText(err error) string {
	msg := err.Error()
	for _, sentinel := range []error{runexec.ErrUsage, runexec.ErrConfigConflict} {
		msg = strings.TrimPrefix(msg, sentinel.Error()+": ")
	}
	return msg
}

// openStoreAt opens the store in dir with the hints of openStore.
func openStoreAt(ctx context.Context, dir string) (*cas.Store, error) {
	return openStore(ctx, &globalOptions{storeDir: dir})
}

// lastByteWriter remembers the last byte written through it, so the root
// digest can start on a line of its own.
type lastByteWriter struct {
	w    io.Writer
	last byte
}

func (l *lastByteWriter) Write(p []byte) (int, error) {
	n, err := l.w.Write(p)
	if n > 0 {
		l.last = p[n-1]
	}
	return n, err
}
