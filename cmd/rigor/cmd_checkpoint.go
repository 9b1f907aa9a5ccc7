package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"strings"

	"github.com/spf13/cobra"

	"github.com/rigor-dev/rigor/gates"
	"github.com/rigor-dev/rigor/spec"
)

type checkpointOptions struct {
	passport string
	stage    int
	findings []string
	gateCmds []string
	ts       string
	write    bool
	out      string
	files    stage6Files
}

func newCheckpointCmd(g *globalOptions) *cobra.Command {
	var o checkpointOptions
	c := &cobra.Command{
		Use:   "checkpoint --stage N (--findings F... | --gate LABEL=CMD...) [--ts TS --write]",
		Short: "Aggregate a stage's findings into one gate record and write it into the Light passport",
		Long: `Aggregate a stage's evidence as the Light orchestrator's run_checkpoint does:
each --findings file (light.findings.v1) becomes one gate named after the file,
with the file's verdict and worst severity; each --gate LABEL=CMD runs CMD with
sh -c and becomes a gate that passes when CMD exits 0 and fails critically
otherwise. The aggregate is one light.findings.v1 report (producer
orchestrator) and a gate record: result PASS, WARN or FAIL, an evidence hash
over the gates' outcomes at --ts, and the gate names.

With --write (which needs --ts, taken on trust as the evidence time) the
record is written into the stage's entry of the passport (--passport, default
.light/passport.yaml): status gate_failed or delivered, the gate as a flow map,
evidence_state, next_action, updated, state_revision + 1 and a new state_hash,
keeping the file's YAML style. The result must validate as passport v3, or
nothing is written. Without --write nothing is written (a dry run), but the
stage must exist. A missing passport is skipped with a note.

--report writes the aggregate findings, --sarif them as SARIF, --out the
Markdown summary. The exit status is 4 when the aggregate fails.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(o.findings) == 0 && len(o.gateCmds) == 0 {
				return usagef("give at least one --findings FILE or --gate LABEL=CMD", "nothing to aggregate")
			}
			if o.write && o.ts == "" {
				return usagef("add --ts with the ISO-8601 time of the evidence, e.g. --ts 2026-07-02T18:10:00+08:00", "--write needs --ts")
			}
			if o.stage < 1 || o.stage > 13 {
				return usagef("stages are numbered 1 to 13", "--stage %d", o.stage)
			}
			return runCheckpoint(cmd.Context(), g, o, g.stdout)
		},
	}
	f := c.Flags()
	f.StringVar(&o.passport, "passport", ".light/passport.yaml", "the Light passport")
	f.StringVar(&o.passport, "file", ".light/passport.yaml", "the Light passport (run_checkpoint's name for --passport)")
	f.Lookup("file").Hidden = true
	f.IntVar(&o.stage, "stage", 0, "the stage to checkpoint (required)")
	f.StringArrayVar(&o.findings, "findings", nil, "a light.findings.v1 file (repeatable; several may follow one flag as a comma list)")
	f.StringArrayVar(&o.gateCmds, "gate", nil, "a gate command LABEL=CMD, run with sh -c (repeatable)")
	f.StringVar(&o.ts, "ts", "", "the evidence timestamp (ISO-8601), taken on trust")
	f.BoolVar(&o.write, "write", false, "write the record into the passport (default: a dry run)")
	f.StringVar(&o.out, "out", "", "also write the Markdown summary to this file")
	o.files.register(f, false)
	_ = c.MarkFlagRequired("stage")
	return c
}

// checkpointOutput is what --json prints.
type checkpointOutput struct {
	Stage    int          `json:"stage"`
	Record   recordJSON   `json:"gate_record"`
	Status   string       `json:"status,omitempty"`
	Written  bool         `json:"written"`
	Passport string       `json:"passport"`
	Revision int64        `json:"state_revision,omitempty"`
	Hash     string       `json:"state_hash,omitempty"`
	Warnings []string     `json:"warnings,omitempty"`
	Findings *spec.Report `json:"findings"`
}

type recordJSON struct {
	Type          string `json:"type"`
	Result        string `json:"result"`
	Notes         string `json:"notes"`
	Evidence      string `json:"evidence"`
	EvidenceState string `json:"evidence_state"`
	Fresh         bool   `json:"fresh"`
	Gates         string `json:"gates"`
}

func runCheckpoint(ctx context.Context, g *globalOptions, o checkpointOptions, out io.Writer) error {
	var reports []gates.CheckpointFindings
	for _, arg := range o.findings {
		for _, path := range strings.Split(arg, ",") {
			if path = strings.TrimSpace(path); path == "" {
				continue
			}
			b, err := readInputFile(path, 256<<20)
			if err != nil {
				return err
			}
			r, err := spec.DecodeFindings(b)
			if err != nil {
				return usagef("give light.findings.v1 reports, as rigor gate ... --report writes them", "%s: %v", path, err)
			}
			reports = append(reports, gates.CheckpointFindings{Name: gates.FindingsName(path), Report: r})
		}
	}
	var cmds []gates.CommandGate
	for _, gc := range o.gateCmds {
		label, command, ok := strings.Cut(gc, "=")
		if !ok || strings.TrimSpace(label) == "" || strings.TrimSpace(command) == "" {
			return usagef("write --gate LABEL=CMD, e.g. --gate tests='pytest -q'", "--gate %q", gc)
		}
		cmds = append(cmds, runGateCommand(ctx, strings.TrimSpace(label), command))
		if err := ctx.Err(); err != nil {
			return err
		}
	}
	cp := gates.AggregateCheckpoint(o.stage, reports, cmds, o.ts, o.passport)
	res := checkpointOutput{Stage: o.stage, Passport: o.passport, Findings: &cp.Report, Record: recordJSON(cp.Record)}
	pb, err := os.ReadFile(o.passport)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		fmt.Fprintf(g.stderr, "rigor: note: %s does not exist; nothing written back\n", o.passport)
	case err != nil:
		return err
	default:
		p, err := gates.ParsePassport(pb)
		if err != nil {
			return usagef("fix the passport YAML", "%s: %v", o.passport, err)
		}
		wb, err := p.ApplyCheckpoint(cp, gates.WriteBackOptions{Write: o.write})
		if errors.Is(err, gates.ErrStageNotFound) {
			return usagef("append the stage to the passport first (passport.py append-stage)", "%s: %v", o.passport, err)
		}
		if errors.Is(err, gates.ErrPassport) {
			return withHint(fmt.Errorf("%s: %w", o.passport, err), "fix the passport; it was not changed")
		}
		if err != nil {
			return err
		}
		res.Status, res.Revision, res.Hash, res.Warnings = wb.Status, wb.Revision, wb.StateHash, wb.Warnings
		if o.write {
			nb, err := p.Encode()
			if err != nil {
				return err
			}
			if err := writeStage6File(o.passport, nb); err != nil {
				return err
			}
			res.Written = true
		}
	}
	if err := o.files.write(&cp.Report, nil); err != nil {
		return err
	}
	var md bytes.Buffer
	if err := gates.WriteCheckpointMarkdown(&md, cp, res.Status); err != nil {
		return err
	}
	if o.out != "" {
		if err := writeStage6File(o.out, md.Bytes()); err != nil {
			return err
		}
	}
	switch {
	case g.json:
		err = writeJSON(out, res)
	case !g.quiet:
		_, err = out.Write(md.Bytes())
	}
	if err != nil {
		return err
	}
	if cp.Report.Verdict == spec.VerdictFail {
		return &exitStatus{code: exitGateFailed}
	}
	return nil
}

// runGateCommand runs one --gate command with sh -c, capturing its output.
func runGateCommand(ctx context.Context, label, command string) gates.CommandGate {
	var buf bytes.Buffer
	cmd := exec.CommandContext(ctx, "sh", "-c", command)
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &stderr
	err := cmd.Run()
	out := append(buf.Bytes(), stderr.Bytes()...)
	var ee *exec.ExitError
	switch {
	case err == nil:
		return gates.CommandGate{Label: label, Output: out}
	case errors.As(err, &ee):
		return gates.CommandGate{Label: label, ExitCode: ee.ExitCode(), Output: out}
	default:
		return gates.CommandGate{Label: label, ExitCode: -1, Output: out, Err: err.Error()}
	}
}
