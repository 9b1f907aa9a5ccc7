package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"runtime"
	"strings"

	"github.com/spf13/cobra"

	"github.com/rigor-dev/rigor/gates"
	"github.com/rigor-dev/rigor/spec"
)

func newGateCmd(g *globalOptions) *cobra.Command {
	c := &cobra.Command{
		Use:   "gate",
		Short: "Run a gate: static checks of Python code, execution contracts",
		Long: `Run one of rigor's gates. Each prints its findings and exits 4 when a finding
blocks (a gate with status fail and severity critical).

  review   the delivery scan: secrets, eval/exec, os.system, shell=True, SQL
           built from strings, bare except, float ==, swallowed NaN, leakage
  seeds    seeding of every framework in use, by what the code does
  leakage  the data-flow leakage analysis alone
  contract an experiment execution contract`,
	}
	c.AddCommand(
		newGateContractCmd(g),
		newGateScanCmd(g, "leakage"),
		newGateReproCmd(g),
		newGateScanCmd(g, "review"),
		newGateScanCmd(g, "seeds"),
		newGateSplitCmd(g),
	)
	return c
}

// gateScanOptions are the flags of 'rigor gate review|seeds|leakage'.
type gateScanOptions struct {
	sarif  string // "-": stdout
	report string
	jobs   int
	target string
}

var gateScanHelp = map[string]struct{ short, long string }{
	"review": {"Scan Python code for unsafe code, float ==, swallowed NaN and leakage", `Scan Python files and notebooks the way review_gate does, with rigor's
analyses behind each class. Critical (exit 4): HARDCODED-SECRET, EVAL-EXEC,
OS-SYSTEM, SHELL-TRUE, SQL-CONCAT, DATA-LEAKAGE (kinds preprocessing, overlap,
test-in-training). Warnings: BARE-EXCEPT, FLOAT-EQ, NAN-SWALLOW, DATA-LEAKAGE
(kinds group, time), SYNTAX-ERROR, READ-ERROR.`},
	"seeds": {"Check that every framework's randomness is seeded", `Check the seeding of the frameworks the code imports (random, numpy, torch,
tensorflow, jax) by what the code does: default_rng() without a seed, a
Generator's manual_seed, use_deterministic_algorithms(False) or a seed from the
clock seed nothing; transformers.set_seed, lightning's seed_everything and
keras.utils.set_random_seed count for what they cover; helpers in the scanned
code are followed. A missing mechanism is critical (exit 4), or a warning when
seeding is delegated to a helper outside the scanned code. It also warns about
PYTHONHASHSEED set inside the script (too late: run the script with
"rigor run", which sets it before Python starts), cudnn.benchmark=True with
deterministic mode, seeding only on one branch or behind a flag, and
estimators or splitters with randomness and no random_state.`},
	"leakage": {"Find data leakage by following the data through the code", `Follow the data through assignments, unpacking, subscripts, attributes and
calls (functions and classes of every scanned file included), and report:
statistics fitted on rows that reach the test side (scalers, imputers,
encoders, PCA, selectors, vectorizers; pandas mean, quantile, rank) before the
split or outside the CV fold; oversampling or augmentation before the split,
and models evaluated on rows they were trained on; fits, early stopping,
searches and model choice on the test set (all exit 4); splits that ignore an
entity column the code uses, and shuffled splits of time-ordered data
(warnings). Each finding names the fit, the split and the path of the data.`},
}

func newGateScanCmd(g *globalOptions, which string) *cobra.Command {
	var o gateScanOptions
	help := gateScanHelp[which]
	c := &cobra.Command{
		Use:   which + " PATH...",
		Short: help.short,
		Long: help.long + `

PATHs are .py files, .ipynb notebooks (read cell by cell; locations name the
cell: nb.ipynb:cell 3:12:5) and directories, walked for both (hidden
directories, __pycache__ and virtual environments skipped). Files are scanned
in parallel.

Output: one line per finding, "file:line:col: RULE severity: issue (fix:
...)", then a summary; --json prints the light.findings.v1 report instead,
--sarif prints SARIF 2.1.0 for code-scanning tools (--sarif=FILE writes it to
FILE), --report FILE also writes the light.findings.v1 report to FILE. A line
ending in "# rigor: ignore[RULE]" is not reported for RULE.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.sarif == "-" && g.json {
				return usagef("choose one: --json for light.findings.v1, --sarif for SARIF", "--json and --sarif both print to stdout")
			}
			for _, p := range args {
				if _, err := os.Stat(p); errors.Is(err, fs.ErrNotExist) && !strings.HasSuffix(p, ".py") && !strings.HasSuffix(p, ".ipynb") {
					return usagef("name .py files, .ipynb notebooks or directories", "%s: no such file or directory", p)
				}
			}
			return runGateScan(cmd.Context(), g, which, o, args, g.stdout)
		},
	}
	f := c.Flags()
	f.StringVar(&o.sarif, "sarif", "", "print SARIF 2.1.0 instead of text (--sarif=FILE: write it to FILE)")
	f.Lookup("sarif").NoOptDefVal = "-"
	f.StringVar(&o.report, "report", "", "also write the light.findings.v1 report to this file")
	f.IntVar(&o.jobs, "jobs", 0, "files scanned at once (default: the number of CPUs)")
	f.StringVar(&o.target, "target", "", `the report's target (default "code_diff")`)
	return c
}

func runGateScan(ctx context.Context, g *globalOptions, which string, o gateScanOptions, paths []string, out io.Writer) error {
	srcs, err := gates.Load(ctx, paths)
	if err != nil {
		return err
	}
	opts := gates.Options{Concurrency: o.jobs, Target: o.target}
	if opts.Concurrency <= 0 {
		opts.Concurrency = runtime.GOMAXPROCS(0)
	}
	var res *gates.Result
	switch which {
	case "review":
		res, err = gates.Review(ctx, srcs, opts)
	case "seeds":
		res, err = gates.Seeds(ctx, srcs, opts)
	default:
		res, err = gates.Leakage(ctx, srcs, opts)
	}
	if err != nil {
		return err
	}
	enc, err := res.Report.Encode()
	if err != nil {
		return err
	}
	if o.report != "" {
		if err := os.WriteFile(o.report, append(enc, '\n'), 0o644); err != nil {
			return err
		}
	}
	var sarif []byte
	if o.sarif != "" {
		sarif, err = json.MarshalIndent(res.Report.SARIF(spec.SARIFOptions{ToolName: "rigor",
			InformationURI: "https://github.com/rigor-dev/rigor", RuleHelp: gates.RuleHelp}), "", "  ")
		if err != nil {
			return err
		}
		sarif = append(sarif, '\n')
		if o.sarif != "-" {
			if err := os.WriteFile(o.sarif, sarif, 0o644); err != nil {
				return err
			}
		}
	}
	switch {
	case g.json:
		tree, err := spec.ParseJSON(enc)
		if err != nil {
			return err
		}
		err = writeJSON(out, tree)
		if err != nil {
			return err
		}
	case o.sarif == "-":
		if _, err := out.Write(sarif); err != nil {
			return err
		}
	default:
		if err := writeGateText(out, g.quiet, res); err != nil {
			return err
		}
	}
	if res.Report.Verdict == spec.VerdictFail {
		return &exitStatus{code: exitGateFailed}
	}
	return nil
}

// writeGateText prints one line per finding and, unless quiet, the
// evidence under each, the seed audit and the summary.
func writeGateText(w io.Writer, quiet bool, res *gates.Result) error {
	var b strings.Builder
	for _, f := range res.Findings {
		fmt.Fprintf(&b, "%s: %s %s: %s", f.Loc, f.Rule, f.Severity, f.Issue)
		if f.Fix != "" {
			fmt.Fprintf(&b, " (fix: %s)", f.Fix)
		}
		b.WriteByte('\n')
		if !quiet && f.Evidence != "" {
			fmt.Fprintf(&b, "    %s\n", f.Evidence)
		}
	}
	if !quiet {
		if a := res.Seeds; a != nil && a.HasRandomness {
			fmt.Fprintf(&b, "frameworks: %s; gpu: %v; dataloader: %v\n", strings.Join(a.Frameworks, ", "), a.UsesGPU, a.UsesDataLoader)
			fmt.Fprintf(&b, "required: %s\nset: %s\n", strings.Join(a.Required, ", "), strings.Join(a.Set, ", "))
		}
		fmt.Fprintf(&b, "%s; verdict %s\n", res.Report.Summary, res.Report.Verdict)
	}
	_, err := io.WriteString(w, b.String())
	return err
}
