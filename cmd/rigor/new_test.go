package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestNewProjectPytest generates a project with rigor new and runs its own
// pytest suite, which must pass as generated. It then breaks the
// train-only-fit helper in the generated code and checks that the suite
// catches it, so that the suite is known to test something.
func TestNewProjectPytest(t *testing.T) {
	py := findPython(t, "pytest", "hypothesis")
	dir := filepath.Join(t.TempDir(), "heart-study")
	stdout, stderr, code := rigorInProcess(t, "new", dir)
	if code != 0 {
		t.Fatalf("rigor new exited %d: %s%s", code, stdout, stderr)
	}
	env := pythonEnv()
	pytest := []string{"-m", "pytest", "-q", "-p", "no:cacheprovider"}

	out, err := runPython(t, dir, py, env, pytest...)
	if err != nil {
		t.Fatalf("the generated project's tests fail (%v):\n%s", err, out)
	}
	m := regexp.MustCompile(`(\d+) passed`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("pytest printed no pass count:\n%s", out)
	}
	if n, _ := strconv.Atoi(m[1]); n < 25 {
		t.Errorf("only %d tests passed, want the whole suite (25 or more):\n%s", n, out)
	}
	if strings.Contains(out, "failed") || strings.Contains(out, "error") {
		t.Errorf("pytest reports failures or errors:\n%s", out)
	}
	for _, want := range []string{"test_brier_gold", "test_fit_sees_only_training_rows"} {
		if !strings.Contains(readAll(t, filepath.Join(dir, "tests", "test_experiment_contracts.py")), "def "+want) {
			t.Errorf("the generated suite lacks %s", want)
		}
	}

	// The entry point runs as the README says, and writes the run's outputs.
	outDir := filepath.Join(t.TempDir(), "out")
	out, err = runPython(t, dir, py, env, "train.py", "--config", "configs/experiment.example.json", "--out", outDir)
	if err != nil {
		t.Fatalf("python3 train.py failed (%v):\n%s", err, out)
	}
	preds := strings.Split(strings.TrimSpace(readAll(t, filepath.Join(outDir, "predictions.csv"))), "\n")
	if preds[0] != "entity_id,fold,y_true,p" || len(preds) != 41 {
		t.Errorf("predictions.csv has header %q and %d lines, want entity_id,fold,y_true,p and 40 patients", preds[0], len(preds)-1)
	}
	if n := strings.Count(readAll(t, filepath.Join(outDir, "raw_metrics.jsonl")), "\n"); n != 5 {
		t.Errorf("raw_metrics.jsonl has %d lines, want one per fold (5)", n)
	}

	// rigor run accepts the project as generated: the config satisfies its
	// schema, the data and plan match their pins, the tests pass as the
	// run's test evidence, and the run completes.
	t.Chdir(dir)
	for _, args := range [][]string{
		{"init", "-q"},
		{"run", "--config", "configs/experiment.example.json", "--schema", "configs/experiment.schema.json",
			"--test", py + " -m pytest -q -p no:cacheprovider", "--",
			py, "train.py", "--config", "configs/experiment.example.json"},
	} {
		stdout, stderr, code := rigorInProcess(t, args...)
		if code != 0 {
			t.Fatalf("rigor %s exited %d:\n%s%s", strings.Join(args, " "), code, stdout, stderr)
		}
		if args[0] == "run" && !strings.Contains(stderr, "completed (natural_exit, exit 0), completion PASS") {
			t.Errorf("rigor run of the generated project did not complete with PASS:\n%s", stderr)
		}
	}

	// The gates its pre-commit config runs pass on it.
	for _, args := range [][]string{
		{"gate", "review", "src", "tests", "train.py"},
		{"gate", "seeds", "src"},
		{"gate", "leakage", "src"},
	} {
		stdout, stderr, code := rigorInProcess(t, args...)
		if code != 0 {
			t.Errorf("rigor %s on the generated project exited %d:\n%s%s", strings.Join(args, " "), code, stdout, stderr)
		}
	}

	// rigor check, as the generated CI runs it: gates, the tests as a gate
	// command, the recorded run verified. Its config runs "python3": make
	// that the interpreter found above.
	bin := t.TempDir()
	if err := os.Symlink(py, filepath.Join(bin, "python3")); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	stdout, stderr, code = rigorInProcess(t, "check")
	if code != 0 || !strings.Contains(stdout, "stage passes") {
		t.Errorf("rigor check on the generated project exited %d:\n%s%s", code, stdout, stderr)
	}
	for _, step := range []*regexp.Regexp{
		regexp.MustCompile(`(?m)^review +\S+ +PASS`),
		regexp.MustCompile(`(?m)^verify +1 runs? +PASS`),
		regexp.MustCompile(`(?m)^command +tests +PASS`),
	} {
		if !step.MatchString(stdout) {
			t.Errorf("rigor check printed no line matching %s:\n%s", step, stdout)
		}
	}

	// Mutation: fit on train and test together. The suite must fail, naming
	// the train-only-fit test.
	contracts := filepath.Join(dir, "src", "heart_study", "experiment_contracts.py")
	src := readAll(t, contracts)
	leaky := strings.Replace(src, "transformer.fit(x_train)", "transformer.fit(list(x_train) + list(x_test))", 1)
	if leaky == src {
		t.Fatal("experiment_contracts.py no longer calls transformer.fit(x_train); update this test")
	}
	if err := os.WriteFile(contracts, []byte(leaky), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err = runPython(t, dir, py, env, pytest...)
	if err == nil {
		t.Fatalf("the suite passes with preprocessing fitted on test rows:\n%s", out)
	}
	if !strings.Contains(out, "test_fit_sees_only_training_rows") {
		t.Errorf("the failing suite does not name test_fit_sees_only_training_rows:\n%s", out)
	}
}

func readAll(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
