package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/rigor-dev/rigor/gates"
	"github.com/rigor-dev/rigor/spec"
)

// gateContractOptions are the flags of 'rigor gate contract'.
type gateContractOptions struct {
	spec  string
	runs  bool
	files stage6Files
}

func newGateContractCmd(g *globalOptions) *cobra.Command {
	var o gateContractOptions
	c := &cobra.Command{
		Use:   "contract --spec FILE",
		Short: "Check an experiment execution contract (light.experiment_execution_contract.v1), fail-closed",
		Long: `Check a light.experiment_execution_contract.v1 document against every rule of
the Light execution-contract gate: six gates in order (experiment_spec,
run_status, environment_cache, repro_level, remote_execution_authorization,
declared_decision), fail-closed: a missing, placeholder, mistyped or UNKNOWN
value never passes, timestamps need a time zone and may not lie more than five
minutes past as_of, the DAG must be acyclic, the run must fit the budget, remote
or paid execution needs the user's approval, and the declared decision must
agree with the gates before it.

The status is FAIL (advancement BLOCK) when a gate fails critically, WARN
(ALLOW_WITH_LIMITATIONS) when a gate warns, PASS (ALLOW) otherwise. A Markdown
summary goes to stdout (the full report with --json). --report writes the
light.findings.v1 findings, --json-out the full
light.experiment_execution_contract.report.v1, --sarif the findings as SARIF
2.1.0.

--runs binds the contract to the store, as a seventh gate, run_evidence, judged
before the declared decision: run_status.run_id must name a stored run (run id,
ref or digest) whose bundle verifies and whose recorded status, termination,
exit code, attempt, matrix row and completion are those claimed; its recorded
wall time must fit the budget and agree with resources.walltime_minutes; every
evidence and guardrail item claimed must be in the bundle; and every same-seed
pair must name its runs (first_run, second_run, or a comparison_locator written
by rigor compare --json) and, if it claims same_seed_exact, compare exact. A
disagreement fails the gate, naming the run and the field.

The exit status is 4 when the status is FAIL.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.spec == "" {
				return usagef("name the contract: rigor gate contract --spec contract.json", "--spec is required")
			}
			return runGateContract(cmd.Context(), g, o, g.stdout)
		},
	}
	c.Flags().StringVar(&o.spec, "spec", "", "the contract (JSON)")
	c.Flags().BoolVar(&o.runs, "runs", false, "check the contract's claims against the runs in the store")
	o.files.register(c.Flags(), true)
	return c
}

func runGateContract(ctx context.Context, g *globalOptions, o gateContractOptions, out io.Writer) error {
	c, err := readContract(o.spec)
	if err != nil {
		return err
	}
	var opts gates.ContractOptions
	if o.runs {
		s, err := openStore(ctx, g)
		if err != nil {
			return err
		}
		ev, err := gates.BindRuns(ctx, s, c, gates.BindOptions{})
		s.Close()
		if err != nil {
			return err
		}
		opts.Evidence = append(opts.Evidence, ev)
	}
	r := gates.CheckContract(c, opts)
	if err := o.files.write(&r.Findings, r); err != nil {
		return err
	}
	if g.json {
		err = printEncoded(out, r)
	} else if !g.quiet {
		err = gates.WriteContractMarkdown(out, r)
	}
	if err != nil {
		return err
	}
	if r.Status == spec.ContractFail {
		return &exitStatus{code: exitGateFailed}
	}
	return nil
}

// readContract reads and decodes the contract named on the command line.
func readContract(path string) (*spec.Contract, error) {
	b, err := readInputFile(path, 64<<20)
	if err != nil {
		return nil, err
	}
	c, err := spec.DecodeContract(b)
	if err != nil {
		return nil, usagef("fix the contract: a light.experiment_execution_contract.v1 JSON object; nothing was checked",
			"%s: %v", path, err)
	}
	return c, nil
}

// readInputFile reads a file named on the command line, at most limit
// bytes. A missing or oversized file is a usage error.
func readInputFile(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, usagef("check the path", "%s: no such file", path)
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if int64(len(b)) > limit {
		return nil, usagef("this is not the file you meant", "%s: larger than %d bytes", path, limit)
	}
	return b, nil
}

// checkInputFile checks that a file named on the command line exists; ""
// is fine (not given).
func checkInputFile(path string) error {
	if path == "" {
		return nil
	}
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return usagef("check the path", "%s: no such file", path)
	} else if err != nil {
		return err
	}
	return nil
}

// stage6Files are the output files the stage-6 gate commands share:
// --report (light.findings.v1), --sarif and, for commands with a full
// report, --json-out.
type stage6Files struct {
	report  string
	sarif   string
	jsonOut string
}

func (f *stage6Files) register(fl *pflag.FlagSet, full bool) {
	fl.StringVar(&f.report, "report", "", "write the light.findings.v1 findings to this file")
	fl.StringVar(&f.sarif, "sarif", "", "write the findings as SARIF 2.1.0 to this file")
	if full {
		fl.StringVar(&f.jsonOut, "json-out", "", "write the full report to this file")
	}
}

// stage6Encoder is a report with a canonical encoding of its own.
type stage6Encoder interface{ Encode() ([]byte, error) }

// printEncoded prints e's canonical encoding indented, keys sorted.
func printEncoded(out io.Writer, e stage6Encoder) error {
	b, err := e.Encode()
	if err != nil {
		return err
	}
	tree, err := spec.ParseJSON(b)
	if err != nil {
		return err
	}
	return writeJSON(out, tree)
}

// write writes the files asked for. findings is validated on the way
// (Encode), so no invalid light.findings.v1 leaves rigor; full may be nil.
func (f *stage6Files) write(findings *spec.Report, full any) error {
	if f.report != "" {
		b, err := findings.Encode()
		if err != nil {
			return err
		}
		if err := writeStage6File(f.report, append(b, '\n')); err != nil {
			return err
		}
	}
	if f.sarif != "" {
		b, err := marshalIndent(findings.SARIF(spec.SARIFOptions{ToolName: "rigor"}))
		if err != nil {
			return err
		}
		if err := writeStage6File(f.sarif, b); err != nil {
			return err
		}
	}
	if f.jsonOut != "" && full != nil {
		var b []byte
		var err error
		if e, ok := full.(stage6Encoder); ok {
			b, err = e.Encode()
			b = append(b, '\n')
		} else {
			b, err = marshalIndent(full)
		}
		if err != nil {
			return err
		}
		if err := writeStage6File(f.jsonOut, b); err != nil {
			return err
		}
	}
	return nil
}

func marshalIndent(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// writeStage6File writes data to path through a temporary file in the same
// directory and a rename, so a reader never sees half a report.
func writeStage6File(path string, data []byte) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return withHint(err, "the output directory must exist and be writable")
	}
	name := tmp.Name()
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		os.Remove(name)
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		os.Remove(name)
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(name)
		return err
	}
	if err := os.Chmod(name, 0o644); err != nil {
		os.Remove(name)
		return err
	}
	if err := os.Rename(name, path); err != nil {
		os.Remove(name)
		return err
	}
	return nil
}
