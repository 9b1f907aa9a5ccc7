package gates

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/rigor-dev/rigor/spec"
)

// goldenUpdate reports whether golden files are to be rewritten: -update
// (when a test of the package defines it) or RIGOR_UPDATE_GOLDEN=1.
func goldenUpdate() bool {
	if f := flag.Lookup("update"); f != nil && f.Value.String() == "true" {
		return true
	}
	return os.Getenv("RIGOR_UPDATE_GOLDEN") == "1"
}

func cleanReport() *spec.Report {
	r := SplitReport(nil, "clean.csv")
	return &r
}

func leakReport() *spec.Report {
	r := SplitReport([]SplitRow{{Check: CheckExactDuplicate, Severity: SplitHigh, Columns: []string{},
		Detail: "12 rows (6 unique feature combinations) have exactly the same feature values in two or more splits"}}, "d.csv")
	return &r
}

const checkpointTS = "2026-06-15T10:00"

func TestCheckpointAggregate(t *testing.T) {
	both := AggregateCheckpoint(6, []CheckpointFindings{{"clean.json", cleanReport()}, {"leak_findings.json", leakReport()}}, nil, checkpointTS, ".light/passport.yaml")
	if err := both.Report.Validate(); err != nil {
		t.Fatal(err)
	}
	if both.Report.Verdict != spec.VerdictFail || both.Report.Producer != "orchestrator" || both.Report.Target != ".light/passport.yaml" {
		t.Errorf("report = %s %s %s", both.Report.Verdict, both.Report.Producer, both.Report.Target)
	}
	leak := both.Report.Gates[1]
	if leak.Gate != "leak_findings.json" || leak.Status != spec.GateFail || leak.Severity != spec.SeverityCritical ||
		len(leak.Findings) != 1 || leak.Findings[0].Rule != "data-engineering:exact_duplicate_across_split" || leak.Note != "from data-engineering: 1 findings" {
		t.Errorf("leak gate = %+v", leak)
	}
	rec := both.Record
	wantEv := "sha256:" + spec.EvidenceDigest(both.Report.Gates, 6) + "@" + checkpointTS
	if rec.Type != "confirm" || rec.Result != "FAIL" || rec.Evidence != wantEv || !rec.Fresh || rec.EvidenceState != "FAILED" ||
		rec.Gates != "clean.json,leak_findings.json" || !strings.Contains(rec.Notes, "2 闸门，1 项 critical fail") {
		t.Errorf("record = %+v", rec)
	}

	clean := AggregateCheckpoint(6, []CheckpointFindings{{"clean.json", cleanReport()}}, nil, checkpointTS, "p")
	if clean.Report.Verdict != spec.VerdictPass || clean.Record.Result != "PASS" || clean.Record.EvidenceState != "VERIFIED" {
		t.Errorf("clean alone = %s %+v", clean.Report.Verdict, clean.Record)
	}
	if clean.Record.Evidence == rec.Evidence {
		t.Error("the evidence hash does not change with the gate set")
	}

	out := []byte("12 passed\n")
	cmds := AggregateCheckpoint(6, nil, []CommandGate{{Label: "tests", ExitCode: 0, Output: out}, {Label: "lint", ExitCode: 3, Output: []byte("E1 bad")}}, "", "p")
	sum := sha256.Sum256(out)
	ok, bad := cmds.Report.Gates[0], cmds.Report.Gates[1]
	if ok.Status != spec.GatePass || ok.Severity != spec.SeverityInfo || ok.Note != "exit=0 sha="+hex.EncodeToString(sum[:])[:8] {
		t.Errorf("exit 0 gate = %+v", ok)
	}
	if !bad.Blocks() || bad.Findings[0].Rule != "subprocess_gate" || bad.Findings[0].Loc != "lint" || !strings.Contains(bad.Findings[0].Issue, "exited 3") {
		t.Errorf("exit 3 gate = %+v", bad)
	}
	if cmds.Record.Fresh || !strings.HasSuffix(cmds.Record.Evidence, "@unstamped") {
		t.Errorf("unstamped record = %+v", cmds.Record)
	}
	none := AggregateCheckpoint(6, nil, nil, checkpointTS, "p")
	if none.Record.Gates != "(none)" || none.Report.Verdict != spec.VerdictPass {
		t.Errorf("empty checkpoint = %+v", none.Record)
	}
	var md bytes.Buffer
	if err := WriteCheckpointMarkdown(&md, both, "gate_failed"); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"FAIL", "证据指针", "阻断推进", "leak_findings.json"} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("markdown lacks %q:\n%s", want, md.String())
		}
	}
}

func loadPassport(t *testing.T) ([]byte, *Passport) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "checkpoint", "passport.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := ParsePassport(b)
	if err != nil {
		t.Fatal(err)
	}
	return b, p
}

func TestPassportRoundTripAndValidate(t *testing.T) {
	src, p := loadPassport(t)
	out, err := p.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out, src) {
		t.Errorf("an untouched passport does not encode to its own bytes:\n%s", out)
	}
	if w, err := p.Validate(true); err != nil || len(w) > 0 {
		t.Errorf("fixture: warnings %v, error %v", w, err)
	}
	for name, edit := range map[string][2]string{
		"stale hash":    {"next_action: run the stage 6 gates", "next_action: run the gates"},
		"bad stage":     {"current_stage: 6", "current_stage: 31"},
		"missing key":   {"pipeline: core-13\n", ""},
		"bad status":    {"status: in_progress", "status: running"},
		"forward edge":  {"    revision_rounds: 0\n", "    revision_rounds: 0\n    back_edges:\n      - {from: 5, to: 6, root_cause: x, evidence_ptr: y, round: 1, by: user, at: t, authorization_id: a}\n"},
		"duplicate key": {"pipeline: core-13\n", "pipeline: core-13\npipeline: core-14\n"},
		"not a mapping": {"", "- just\n- a list\n"},
	} {
		t.Run(name, func(t *testing.T) {
			text := strings.Replace(string(src), edit[0], edit[1], 1)
			if name == "not a mapping" {
				text = edit[1]
			}
			p, err := ParsePassport([]byte(text))
			if err == nil {
				_, err = p.Validate(true)
			}
			if !errors.Is(err, ErrPassport) {
				t.Errorf("error = %v, want ErrPassport", err)
			}
		})
	}
	if r, ok := p.RevisionRounds(6); !ok || r != 1 || p.Skill(6) != "light-experiment-coding" || p.HasStage(7) {
		t.Errorf("RevisionRounds(6) = %d %v, skill %q", r, ok, p.Skill(6))
	}
}

func TestCheckpointWriteBack(t *testing.T) {
	leakCP := AggregateCheckpoint(6, []CheckpointFindings{{"clean.json", cleanReport()}, {"leak_findings.json", leakReport()}}, nil, checkpointTS+"+02:00", ".light/passport.yaml")

	t.Run("dry run", func(t *testing.T) {
		src, p := loadPassport(t)
		wb, err := p.ApplyCheckpoint(leakCP, WriteBackOptions{})
		if err != nil || wb.Status != "" {
			t.Fatalf("dry run: %+v %v", wb, err)
		}
		if out, _ := p.Encode(); !bytes.Equal(out, src) {
			t.Error("a dry run changed the passport")
		}
	})
	t.Run("unknown stage", func(t *testing.T) {
		_, p := loadPassport(t)
		cp := *leakCP
		cp.Stage = 7
		for _, write := range []bool{false, true} {
			if _, err := p.ApplyCheckpoint(&cp, WriteBackOptions{Write: write}); !errors.Is(err, ErrStageNotFound) {
				t.Errorf("write=%v: error = %v, want ErrStageNotFound", write, err)
			}
		}
	})
	t.Run("fail", func(t *testing.T) {
		src, p := loadPassport(t)
		wb, err := p.ApplyCheckpoint(leakCP, WriteBackOptions{Write: true, BaseDir: t.TempDir()})
		if err != nil {
			t.Fatal(err)
		}
		out, _ := p.Encode()
		if wb.Status != "gate_failed" || wb.Revision != 5 {
			t.Errorf("write-back = %+v", wb)
		}
		text := string(out)
		for _, want := range []string{
			"status: gate_failed",
			"gate: {type: confirm, result: FAIL, notes: \"run_checkpoint 聚合 2 闸门，1 项 critical fail；证据@2026-06-15T10:00+02:00\", evidence: \"" + leakCP.Record.Evidence + "\", evidence_state: FAILED, fresh: true, gates: \"clean.json,leak_findings.json\"}",
			"evidence_state: FAILED\nnext_action: inspect blocking evidence at stage 6, generate a reroute suggestion, and stop for user authorization\n",
			"updated: 2026-06-15T10:00+02:00\n", "state_revision: 5\n",
			"# Passport of a small test project; rigor's checkpoint must keep this comment.\n",
			"output: runs/summary.json # written by rigor check\n",
		} {
			if !strings.Contains(text, want) {
				t.Errorf("written passport lacks %q:\n%s", want, text)
			}
		}
		// Stage 5 is untouched, byte for byte.
		s5 := func(s string) string { return s[strings.Index(s, "  - stage: 5"):strings.Index(s, "  - stage: 6")] }
		if s5(text) != s5(string(src)) {
			t.Errorf("stage 5 changed:\n%s", s5(text))
		}
		q, err := ParsePassport(out)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := q.Validate(true); err != nil {
			t.Errorf("written passport does not validate with its hash: %v", err)
		}
		golden := filepath.Join("testdata", "checkpoint", "passport.fail.golden.yaml")
		if goldenUpdate() {
			os.WriteFile(golden, out, 0o644)
		}
		if want, err := os.ReadFile(golden); err != nil || !bytes.Equal(out, want) {
			t.Errorf("written passport differs from %s (%v); RIGOR_UPDATE_GOLDEN=1 rewrites it:\n%s", golden, err, out)
		}
	})
	t.Run("pass delivers", func(t *testing.T) {
		base := t.TempDir()
		for _, f := range []string{"plan/target-chain.json", "plan/failure_tree_report.json", "runs/summary.json"} {
			os.MkdirAll(filepath.Join(base, filepath.Dir(f)), 0o755)
			os.WriteFile(filepath.Join(base, f), []byte(f+" content\n"), 0o644)
		}
		_, p := loadPassport(t)
		cp := AggregateCheckpoint(6, []CheckpointFindings{{"clean.json", cleanReport()}}, nil, checkpointTS+"+02:00", "p")
		wb, err := p.ApplyCheckpoint(cp, WriteBackOptions{Write: true, BaseDir: base})
		if err != nil {
			t.Fatal(err)
		}
		out, _ := p.Encode()
		text := string(out)
		fp, _ := InputsFingerprint(base, []string{"plan/target-chain.json", "plan/failure_tree_report.json"})
		for _, want := range []string{"status: delivered", "evidence_state: VERIFIED", "artifacts: [runs/summary.json]",
			"inputs_fingerprint: " + fp, "next_action: stage 6 checkpoint verified"} {
			if !strings.Contains(text, want) {
				t.Errorf("delivered passport lacks %q:\n%s", want, text)
			}
		}
		if wb.Status != "delivered" || !strings.HasPrefix(fp, "sha256:") {
			t.Errorf("write-back %+v, fingerprint %s", wb, fp)
		}
		// The fields land in the documented order within the stage.
		i, j, k := strings.Index(text, "artifacts: [runs/summary.json]"), strings.Index(text, "inputs_fingerprint:"), strings.Index(text, "gate: {type: confirm, result: PASS")
		if !(strings.Index(text, "output: runs/summary.json") < i && i < j && j < k) {
			t.Errorf("fields out of order:\n%s", text)
		}
	})
	t.Run("invalid result is refused and undone", func(t *testing.T) {
		src, _ := loadPassport(t)
		text := strings.Replace(string(src), "delivery_status: IN_PROGRESS", "delivery_status: SHIPPED", 1)
		p, err := ParsePassport([]byte(text))
		if err != nil {
			t.Fatal(err)
		}
		before, _ := p.Encode()
		if _, err := p.ApplyCheckpoint(leakCP, WriteBackOptions{Write: true}); !errors.Is(err, ErrPassport) || !strings.Contains(err.Error(), "delivery_status") {
			t.Errorf("error = %v, want ErrPassport naming delivery_status", err)
		}
		if out, _ := p.Encode(); !bytes.Equal(out, before) {
			t.Error("a refused write-back changed the passport")
		}
	})
}

func TestInputsFingerprint(t *testing.T) {
	base := t.TempDir()
	os.WriteFile(filepath.Join(base, "a"), []byte("A"), 0o644)
	os.WriteFile(filepath.Join(base, "b"), []byte("B"), 0o644)
	f1, _ := InputsFingerprint(base, []string{"b", "a", "a"})
	f2, _ := InputsFingerprint(base, []string{"a", "b"})
	if f1 != f2 {
		t.Error("order or duplicates change the fingerprint")
	}
	os.WriteFile(filepath.Join(base, "b"), []byte("B2"), 0o644)
	if f3, _ := InputsFingerprint(base, []string{"a", "b"}); f3 == f2 {
		t.Error("content does not change the fingerprint")
	}
	if f4, _ := InputsFingerprint(base, []string{"a", "gone"}); !slices.Contains([]int{71}, len(f4)) {
		t.Errorf("fingerprint %q is not sha256:<64 hex>", f4)
	}
}
