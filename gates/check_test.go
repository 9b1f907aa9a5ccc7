package gates

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rigor-dev/rigor/spec"
	"github.com/rigor-dev/rigor/verify"
)

func TestDecodeCheckConfig(t *testing.T) {
	c, err := DecodeCheckConfig([]byte("project: p\ncode: [src]\npairs: [[a, b]]\ncommands: [{label: t, run: 'true'}]\n"), "/proj")
	if err != nil {
		t.Fatal(err)
	}
	if c.Stage != 6 || c.Passport != ".light/passport.yaml" || c.FindingsDir != ".light/findings" || c.path("src") != "/proj/src" || c.path("/abs") != "/abs" {
		t.Errorf("config = %+v", c)
	}
	if c, err := DecodeCheckConfig(nil, ""); err != nil || c.Stage != 6 {
		t.Errorf("empty config: %+v %v", c, err)
	}
	for _, bad := range []string{"leakge: {}\n", "stage: 14\n", "pairs: [[a]]\n", "commands: [{label: t}]\n", "code: src\n", "- a\n"} {
		if _, err := DecodeCheckConfig([]byte(bad), ""); !errors.Is(err, ErrCheckConfig) {
			t.Errorf("DecodeCheckConfig(%q) = %v, want ErrCheckConfig", bad, err)
		}
	}
}

func TestCheckFixedSeedPairs(t *testing.T) {
	run := func(row string, seed int64, attempt int, status, role string) verify.RunInfo {
		id := spec.RunID(row, seed, attempt)
		return verify.RunInfo{RunID: id, Summary: &spec.RunSummary{RunID: id, Row: row, Seed: spec.Seed{Role: role, Value: seed},
			Attempt: attempt, Status: status}}
	}
	runs := []verify.RunInfo{
		run("B", 1, 2, "completed", "fixed_repro"), run("B", 1, 1, "completed", "fixed_repro"),
		run("A", 7, 1, "completed", "fixed_repro"), run("A", 7, 2, "aborted", "fixed_repro"), run("A", 7, 3, "completed", "fixed_repro"),
		run("A", 7, 4, "completed", "fixed_repro"), run("A", 8, 1, "completed", "fixed_repro"),
		run("C", 1, 1, "completed", "randomness_estimation"), run("C", 1, 2, "completed", "randomness_estimation"),
		{RunID: "x"},
	}
	got := checkFixedSeedPairs(runs)
	want := [][]string{{"A__seed-7__attempt-1", "A__seed-7__attempt-3"}, {"A__seed-7__attempt-1", "A__seed-7__attempt-4"},
		{"B__seed-1__attempt-1", "B__seed-1__attempt-2"}}
	if !slices.EqualFunc(got, want, slices.Equal) {
		t.Errorf("pairs = %v, want %v", got, want)
	}
}

// TestRunCheckWithoutStore runs the sequence on a project without a store:
// the contract, code and repro steps run, the run steps are skipped, and the
// checkpoint aggregates what ran.
func TestRunCheckWithoutStore(t *testing.T) {
	dir := t.TempDir()
	contract, err := os.ReadFile(filepath.Join("testdata", "contract", "good.json"))
	if err != nil {
		t.Fatal(err)
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.WriteFile(filepath.Join(dir, "contract.json"), contract, 0o644))
	must(os.MkdirAll(filepath.Join(dir, "src"), 0o755))
	must(os.WriteFile(filepath.Join(dir, "src", "train.py"), []byte(reproBad), 0o644))
	cfg, err := DecodeCheckConfig([]byte("project: p\ncontract: contract.json\ncode: [src]\ncommands: [{label: lint, run: x}]\n"), dir)
	if err != nil {
		t.Fatal(err)
	}
	var ran []string
	runner := func(_ context.Context, label, command string) CommandGate {
		ran = append(ran, label+"="+command)
		return CommandGate{Label: label, ExitCode: 0, Output: []byte("ok")}
	}
	res, err := RunCheck(t.Context(), cfg, CheckOptions{Runner: runner, TS: "2026-07-10T00:00:00Z",
		Now: func() time.Time { return contractNow }})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range res.Steps {
		got = append(got, s.Step+":"+s.Status)
	}
	want := []string{"contract:WARN", "review:FAIL", "seeds:FAIL", "repro:FAIL", "verify:SKIP", "compare:SKIP", "command:PASS", "checkpoint:FAIL"}
	if !slices.Equal(got, want) {
		t.Errorf("steps = %v, want %v", got, want)
	}
	if !res.Failed || !slices.Equal(ran, []string{"lint=x"}) {
		t.Errorf("failed %v, ran %v", res.Failed, ran)
	}
	if res.Checkpoint.Record.Gates != "contract_findings.json,review_findings.json,seeds_findings.json,repro_findings.json,lint" {
		t.Errorf("checkpoint gates = %s", res.Checkpoint.Record.Gates)
	}
	for _, f := range []string{"contract", "review", "seeds", "repro", "checkpoint"} {
		b, err := os.ReadFile(filepath.Join(dir, ".light", "findings", f+"_findings.json"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := spec.DecodeFindings(b); err != nil {
			t.Errorf("%s findings do not validate: %v", f, err)
		}
	}
	last := res.Steps[len(res.Steps)-1]
	if !strings.Contains(last.Detail, "no passport at .light/passport.yaml") {
		t.Errorf("checkpoint detail = %s", last.Detail)
	}

	// Runs named without a store fail the verify step.
	cfg.Runs = []string{"A__seed-1__attempt-1"}
	res, err = RunCheck(t.Context(), cfg, CheckOptions{Runner: runner, Now: func() time.Time { return contractNow }})
	if err != nil {
		t.Fatal(err)
	}
	if i := slices.IndexFunc(res.Steps, func(s CheckStep) bool { return s.Step == "verify" }); i < 0 || !res.Steps[i].Critical {
		t.Errorf("steps = %+v, want a critical verify step", res.Steps)
	}
}
