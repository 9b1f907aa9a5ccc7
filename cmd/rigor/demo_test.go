package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// demoSteps are the steps of scripts/demo.sh, in order, with the exit
// status each must have.
var demoSteps = []struct {
	id   string
	want string
	cmd  []string // the rigor command the step needs
}{
	{"init", "0", []string{"init"}},
	{"run-42-a", "0", []string{"run"}},
	{"run-42-b", "0", []string{"run"}},
	{"run-7", "0", []string{"run"}},
	{"runs", "0", []string{"runs"}},
	{"show", "0", []string{"show"}},
	{"verify", "0", []string{"verify"}},
	{"compare", "0", []string{"compare"}},
	{"diff", "0", []string{"diff"}},
	{"lineage", "0", []string{"lineage"}},
	{"gate-review", "0", []string{"gate", "review"}},
	{"gate-seeds", "0", []string{"gate", "seeds"}},
	{"gate-leakage", "0", []string{"gate", "leakage"}},
	{"gate-leakage-leaky", "4", []string{"gate", "leakage"}},
	{"gate-split", "0", []string{"gate", "split"}},
	{"gate-repro", "0", []string{"gate", "repro"}},
	{"contract-draft", "0", []string{"gate", "contract"}},
	{"gate-contract", "0", []string{"gate", "contract"}},
	{"checkpoint", "0", []string{"checkpoint"}},
	{"check", "0", []string{"check"}},
	{"export", "0", []string{"export"}},
}

// demoLimit is the longest scripts/demo.sh may take, its build of rigor
// aside: issue #9 asks for the demo "under 2 minutes".
const demoLimit = 2 * time.Minute

// TestDemo clones the repository as committed, builds rigor there as
// "make build" does, runs scripts/demo.sh with that binary, as "make demo"
// does, and checks the outcome of every step: its exit status, what its
// output says, and what it left on disk, and that the script took less
// than demoLimit (the clone and the build are not counted). It needs git,
// Go and Python 3.
func TestDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("the demo builds rigor in a clone and records runs: not in -short")
	}
	py := findPython(t)
	git, err := exec.LookPath("git")
	if err != nil {
		t.Skip("git is not installed; the demo test clones the repository")
	}
	root := repoRoot(t)
	if _, err := os.Stat(filepath.Join(root, ".git")); err != nil {
		t.Skipf("%s is not a git clone; the demo test clones the repository", root)
	}
	tmp := t.TempDir()
	clone := filepath.Join(tmp, "rigor")
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Minute)
	defer cancel()
	if out, err := exec.CommandContext(ctx, git, "clone", "-q", root, clone).CombinedOutput(); err != nil {
		t.Fatalf("git clone: %v\n%s", err, out)
	}

	// The build first, outside the time limit: with RIGOR set the script
	// uses that binary and builds nothing.
	bin := filepath.Join(clone, "bin", "rigor")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/rigor")
	build.Dir = clone
	start := time.Now()
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build in the clone: %v\n%s", err, out)
	}
	t.Logf("go build took %v", time.Since(start).Round(time.Millisecond))

	demo := filepath.Join(tmp, "demo")
	cmd := exec.CommandContext(ctx, "bash", "scripts/demo.sh")
	cmd.Dir = clone
	cmd.Env = pythonEnv("DEMO_DIR="+demo, "PYTHON="+py, "RIGOR="+bin)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start = time.Now()
	err = cmd.Run()
	took := time.Since(start)
	t.Logf("scripts/demo.sh took %v", took.Round(time.Millisecond))
	if err != nil {
		t.Fatalf("scripts/demo.sh: %v\n%s", err, out.String())
	}
	if took >= demoLimit {
		t.Errorf("scripts/demo.sh took %v, not under the %v that issue #9 allows the demo (the clone and the build of rigor before it not counted)",
			took.Round(time.Millisecond), demoLimit)
	}
	text := out.String()
	if !strings.HasSuffix(text, "demo: ok\n") {
		t.Errorf("the demo does not end with its summary and \"demo: ok\":\n%s", text)
	}
	if strings.Contains(text, "== build rigor") {
		t.Errorf("the demo built rigor again although RIGOR named a binary:\n%s", text)
	}

	// Every step ran and exited as it should; a step is skipped only when
	// the rigor the demo ran lacks its command.
	rows := strings.Split(strings.TrimSpace(readAll(t, filepath.Join(demo, "steps.tsv"))), "\n")[1:]
	if len(rows) != len(demoSteps) {
		t.Fatalf("steps.tsv has %d steps, want %d:\n%s", len(rows), len(demoSteps), strings.Join(rows, "\n"))
	}
	ran := map[string]bool{}
	for i, s := range demoSteps {
		f := strings.Split(rows[i], "\t")
		if len(f) != 3 || f[0] != s.id {
			t.Fatalf("step %d is %q, want %s", i, rows[i], s.id)
		}
		if f[1] == "skip" {
			if hasCommand(t, bin, s.cmd) {
				t.Errorf("step %s was skipped, but rigor has %q", s.id, strings.Join(s.cmd, " "))
			} else {
				t.Logf("step %s skipped: rigor %s has not landed", s.id, strings.Join(s.cmd, " "))
			}
			continue
		}
		if f[1] != s.want || f[2] != s.want {
			t.Errorf("step %s: expected %s, got %s (want %s)", s.id, f[1], f[2], s.want)
		}
		ran[s.id] = true
	}
	log := func(id string) string { return readAll(t, filepath.Join(demo, "logs", id+".log")) }
	contains := func(id string, wants ...string) {
		t.Helper()
		if !ran[id] {
			return
		}
		l := log(id)
		for _, w := range wants {
			if !strings.Contains(l, w) {
				t.Errorf("step %s: output lacks %q:\n%s", id, w, l)
			}
		}
	}
	a1, a2, s7 := "EXP-01__seed-42__attempt-1", "EXP-01__seed-42__attempt-2", "EXP-01__seed-7__attempt-1"
	contains("init", "initialised empty rigor store")
	contains("run-42-a", a1+" completed (natural_exit, exit 0), completion PASS")
	contains("run-42-b", a2+" completed (natural_exit, exit 0), completion PASS")
	contains("run-7", s7+" completed (natural_exit, exit 0), completion PASS")
	// The same seed prints the same per-fold scores; another seed does not.
	folds := func(id string) string {
		for _, l := range strings.Split(log(id), "\n") {
			if strings.Contains(l, "brier per fold") {
				return l
			}
		}
		t.Errorf("step %s printed no per-fold scores", id)
		return ""
	}
	if f42, f42b, f7 := folds("run-42-a"), folds("run-42-b"), folds("run-7"); f42 != f42b || f42 == f7 {
		t.Errorf("per-fold scores: seed 42 %q and %q, seed 7 %q; want the first two equal and the third different", f42, f42b, f7)
	}
	if ran["runs"] && strings.Count(log("runs"), "completed") != 3 {
		t.Errorf("rigor runs does not list three completed runs:\n%s", log("runs"))
	}
	contains("show", "run          "+a1, "seed         42 (fixed_repro)", "predictions: predictions.csv")
	contains("verify", a1+": ok", a2+": ok", s7+": ok")
	contains("compare", "PASS")
	contains("diff", "$.value: 42 -> 7", "artifact predictions (predictions.csv) changed", "artifact raw_metrics (raw_metrics.jsonl) changed")
	contains("lineage", a1, a2, s7)
	contains("gate-leakage-leaky", "leak")
	contains("gate-split", "verdict: **pass**")
	contains("gate-repro", "verdict: **pass**")
	contains("contract-draft", "wrote contract.json: the contract of "+a1)
	contains("gate-contract", "advancement: **ALLOW_WITH_LIMITATIONS**", "| run_evidence | pass |", "| declared_decision | pass |")
	contains("checkpoint", "stage status written: delivered", "| contract.json | warn |", "| same_seed_exact | pass |")
	contains("check", "stage passes", "compare     1 pairs", "verify      3 runs")
	if ran["checkpoint"] {
		passport := readAll(t, filepath.Join(demo, "project", ".light", "passport.yaml"))
		for _, w := range []string{"status: delivered", "result: WARN", "state_revision: 2", "same_seed_exact"} {
			if !strings.Contains(passport, w) {
				t.Errorf("the passport lacks %q after the checkpoint:\n%s", w, passport)
			}
		}
	}
	for _, g := range []string{"contract", "review", "seeds", "leakage", "split", "repro", "checkpoint"} {
		if ran["gate-"+g] && !strings.Contains(readAll(t, filepath.Join(demo, "findings", g+".json")), `"light.findings.v1"`) {
			t.Errorf("gate %s wrote no light.findings.v1 report to findings/%s.json", g, g)
		}
	}
	if ran["gate-leakage-leaky"] && !strings.Contains(log("gate-leakage-leaky"), "train.py") {
		t.Errorf("the leakage gate does not name leaky/train.py:\n%s", log("gate-leakage-leaky"))
	}

	// What the demo left: the store, and an exported run whose predictions
	// are exactly what the example writes when run directly with seed 42.
	if _, err := os.Stat(filepath.Join(demo, "project", ".rigor", "format")); err != nil {
		t.Errorf("no store in the demo project: %v", err)
	}
	if ran["export"] {
		export := filepath.Join(demo, "export", a1)
		for _, name := range []string{"manifest.json", "config.json", "environment.json", "predictions.csv", "raw_metrics.jsonl"} {
			if _, err := os.Stat(filepath.Join(export, name)); err != nil {
				t.Errorf("export lacks %s: %v", name, err)
			}
		}
		direct := filepath.Join(tmp, "direct")
		if out, err := runPython(t, filepath.Join(demo, "project"), py, pythonEnv("PYTHONHASHSEED=42"),
			"train.py", "--config", "configs/exp-01.json", "--out", direct); err != nil {
			t.Fatalf("train.py run directly: %v\n%s", err, out)
		}
		for _, name := range []string{"predictions.csv", "raw_metrics.jsonl"} {
			if readAll(t, filepath.Join(export, name)) != readAll(t, filepath.Join(direct, name)) {
				t.Errorf("exported %s differs from a direct run of the example with seed 42", name)
			}
		}
	}
	summary := readAll(t, filepath.Join(demo, "summary.txt"))
	for _, w := range []string{demo + "/project/.rigor", demo + "/logs"} {
		if !strings.Contains(summary, w) {
			t.Errorf("the summary does not say where %s is:\n%s", w, summary)
		}
	}
}

// hasCommand reports whether the rigor binary has the (sub)command.
func hasCommand(t *testing.T, bin string, cmd []string) bool {
	t.Helper()
	out, _ := exec.CommandContext(t.Context(), bin, append(slices.Clone(cmd), "--help")...).Output()
	return strings.Contains(string(out), "\n  rigor "+strings.Join(cmd, " ")+" ")
}
