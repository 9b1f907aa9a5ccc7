package gates

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/rigor-dev/rigor/spec"
)

// CheckpointProducer is the producer of a checkpoint's findings.
const CheckpointProducer = "orchestrator"

// StageGates are the canonical gates of each stage (the orchestrator's
// STAGE_GATES). They are informational: the checkpoint does not require the
// aggregated findings to contain them.
var StageGates = map[int][]string{6: {LeakageGate, "reproducible"}}

// CheckpointFindings is one findings report given to the checkpoint.
type CheckpointFindings struct {
	// Name is the gate name it becomes: the file's base name
	// ("repro_findings.json").
	Name   string
	Report *spec.Report
}

// CommandGate is the outcome of one gate command (--gate LABEL=CMD), run by
// the caller: the library starts no processes.
type CommandGate struct {
	Label    string
	ExitCode int
	// Output is the command's stdout followed by its stderr.
	Output []byte
	// Err says why the command could not be run or waited for; the gate
	// then fails.
	Err string
}

// Checkpoint is the aggregate of one stage: its light.findings.v1 report
// and the gate record written into the passport.
type Checkpoint struct {
	Stage  int
	TS     string
	Report spec.Report
	Record spec.GateRecord
}

// AggregateCheckpoint aggregates a stage's evidence as run_checkpoint does
// (spec §4.2):
//
//   - each findings report becomes one gate named after it, whose status is
//     the report's verdict, whose severity is its worst severity, and whose
//     findings are all of the report's, with rule "<producer>:<gate>";
//   - each command becomes a gate named after its label: pass/info with the
//     note "exit=0 sha=<8 hex of SHA-256 of the output>" when it exited 0,
//     fail/critical with one subprocess_gate finding otherwise.
//
// The report's producer is "orchestrator" and its target the passport
// path. The gate record's result is the verdict upper-cased; its evidence
// is [spec.EvidenceDigest] at ts; it is fresh unless ts is "" or
// "unstamped" (ts is taken on trust: the checkpoint never reads the
// clock).
func AggregateCheckpoint(stage int, reports []CheckpointFindings, cmds []CommandGate, ts, target string) *Checkpoint {
	if ts == "" {
		ts = spec.Unstamped
	}
	var gates []spec.Gate
	for _, f := range reports {
		r := f.Report
		g := spec.Gate{Gate: f.Name, Status: spec.GateStatus(r.Verdict), Severity: r.WorstSeverity(), Findings: []spec.Finding{}}
		for _, ig := range r.Gates {
			for _, x := range ig.Findings {
				x.Rule = r.Producer + ":" + ig.Gate
				g.Findings = append(g.Findings, x)
			}
		}
		g.Note = fmt.Sprintf("from %s: %d findings", r.Producer, len(g.Findings))
		gates = append(gates, g)
	}
	for _, c := range cmds {
		sum := sha256.Sum256(c.Output)
		short := hex.EncodeToString(sum[:])[:8]
		if c.Err == "" && c.ExitCode == 0 {
			gates = append(gates, spec.Gate{Gate: c.Label, Status: spec.GatePass, Severity: spec.SeverityInfo,
				Findings: []spec.Finding{}, Note: "exit=0 sha=" + short})
			continue
		}
		issue := fmt.Sprintf("the gate command exited %d", c.ExitCode)
		if c.Err != "" {
			issue = "the gate command could not run: " + c.Err
		}
		gates = append(gates, spec.Gate{Gate: c.Label, Status: spec.GateFail, Severity: spec.SeverityCritical,
			Note: fmt.Sprintf("exit=%d sha=%s", c.ExitCode, short),
			Findings: []spec.Finding{{Loc: c.Label, Issue: issue, Fix: "run the command, fix what it reports, and checkpoint again",
				Evidence: checkpointTail(string(c.Output), 400), Rule: "subprocess_gate"}}})
	}
	rep := spec.Report{Schema: spec.FindingsSchema, Producer: CheckpointProducer, Target: target, Gates: gates, FreshEvidence: true,
		Summary: fmt.Sprintf("stage %d gate aggregation (should cover %s)", stage, strings.Join(StageGates[stage], "/"))}
	if len(StageGates[stage]) == 0 {
		rep.Summary = fmt.Sprintf("stage %d gate aggregation", stage)
	}
	if rep.Gates == nil {
		rep.Gates = []spec.Gate{}
	}
	rep.Verdict = spec.ComputeVerdict(gates)
	names := make([]string, 0, len(gates))
	for _, g := range gates {
		names = append(names, g.Gate)
	}
	gateList := strings.Join(names, ",")
	if gateList == "" {
		gateList = "(none)"
	}
	result := strings.ToUpper(string(rep.Verdict))
	state := "VERIFIED"
	if rep.Verdict == spec.VerdictFail {
		state = "FAILED"
	}
	rec := spec.GateRecord{
		Type:          "confirm",
		Result:        result,
		Notes:         fmt.Sprintf("run_checkpoint 聚合 %d 闸门，%d 项 critical fail；证据@%s", len(gates), len(rep.Blocking()), ts),
		Evidence:      "sha256:" + spec.EvidenceDigest(gates, stage) + "@" + ts,
		EvidenceState: state,
		Fresh:         ts != spec.Unstamped,
		Gates:         gateList,
	}
	return &Checkpoint{Stage: stage, TS: ts, Report: rep, Record: rec}
}

// FindingsName is the gate name of a findings file: its base name.
func FindingsName(path string) string { return filepath.Base(path) }

func checkpointTail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}

// WriteCheckpointMarkdown writes the human summary of a checkpoint: the
// verdict, the gate record with its evidence pointer, and the gates.
func WriteCheckpointMarkdown(w interface{ Write([]byte) (int, error) }, cp *Checkpoint, status string) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# checkpoint: stage %d\n\n", cp.Stage)
	fmt.Fprintf(&b, "- result: **%s**\n", cp.Record.Result)
	if cp.Record.Result == "FAIL" {
		fmt.Fprintf(&b, "- blocks advancement (阻断推进): %s\n", strings.Join(cp.Report.Blocking(), ", "))
	}
	fmt.Fprintf(&b, "- evidence pointer (证据指针): %s\n- evidence state: %s; fresh: %v\n", cp.Record.Evidence, cp.Record.EvidenceState, cp.Record.Fresh)
	if status != "" {
		fmt.Fprintf(&b, "- stage status written: %s\n", status)
	}
	b.WriteString("\n")
	writeStage6Table(&b, cp.Report.Gates)
	if g := StageGates[cp.Stage]; len(g) > 0 {
		fmt.Fprintf(&b, "\nStage %d's canonical gates are %s; the checkpoint aggregates whatever it is given.\n", cp.Stage, strings.Join(g, " and "))
	}
	_, err := w.Write([]byte(b.String()))
	return err
}
