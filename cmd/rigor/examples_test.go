package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/rigor-dev/rigor/gates"
	"github.com/rigor-dev/rigor/scaffold"
)

// rowConfig is the part of an example's row config the tests read.
type rowConfig struct {
	Row        string `json:"matrix_row"`
	FrozenPlan string `json:"frozen_plan_sha256"`
	Seed       struct {
		Role  string `json:"role"`
		Value int64  `json:"value"`
	} `json:"seed"`
	Data struct {
		Path   string `json:"path"`
		SHA256 string `json:"sha256"`
	} `json:"data"`
	Evaluation struct {
		Folds int `json:"folds"`
	} `json:"evaluation"`
}

func readConfig(t *testing.T, path string) rowConfig {
	t.Helper()
	var c rowConfig
	if err := json.Unmarshal([]byte(readAll(t, path)), &c); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return c
}

func sha256File(t *testing.T, path string) string {
	t.Helper()
	sum := sha256.Sum256([]byte(readAll(t, path)))
	return hex.EncodeToString(sum[:])
}

// copyDir copies the regular files of src into dst, recursively.
func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			if d.Name() == "__pycache__" || d.Name() == ".rigor" {
				return filepath.SkipDir
			}
			return os.MkdirAll(target, 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestExampleConfigsPinTheirInputs checks every example's row configs: the
// schema is the scaffold's, and data.sha256 and frozen_plan_sha256 are the
// files' (for the scikit-learn data, which is generated, see
// TestSklearnExample).
func TestExampleConfigsPinTheirInputs(t *testing.T) {
	root := repoRoot(t)
	files, err := scaffold.Render(scaffold.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var schema string
	for _, f := range files {
		if f.Path == "configs/experiment.schema.json" {
			schema = string(f.Data)
		}
	}
	plans := map[string]string{"stdlib": "stdlib/PLAN.md", "sklearn": "sklearn/PLAN.md", "leaky": "sklearn/PLAN.md"}
	for dir, plan := range plans {
		ex := filepath.Join(root, "examples", dir)
		if readAll(t, filepath.Join(ex, "configs", "experiment.schema.json")) != schema {
			t.Errorf("examples/%s/configs/experiment.schema.json differs from the scaffold's", dir)
		}
		configs, _ := filepath.Glob(filepath.Join(ex, "configs", "exp-*.json"))
		if len(configs) == 0 {
			t.Errorf("examples/%s has no row config", dir)
		}
		for _, c := range configs {
			cfg := readConfig(t, c)
			if got, want := cfg.FrozenPlan, sha256File(t, filepath.Join(root, "examples", plan)); got != want {
				t.Errorf("%s: frozen_plan_sha256 %s, want %s (sha256 of examples/%s)", c, got, want, plan)
			}
			if dir == "stdlib" {
				if got, want := cfg.Data.SHA256, sha256File(t, filepath.Join(ex, cfg.Data.Path)); got != want {
					t.Errorf("%s: data.sha256 %s, want %s", c, got, want)
				}
			}
		}
	}
}

// TestExamplePassport checks that the stdlib example's Light passport is
// valid, state_hash included, so that the demo's checkpoint can write to it.
func TestExamplePassport(t *testing.T) {
	p, err := gates.ParsePassport([]byte(readAll(t, filepath.Join(repoRoot(t), "examples", "stdlib", ".light", "passport.yaml"))))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Validate(true); err != nil {
		t.Errorf("examples/stdlib/.light/passport.yaml: %v", err)
	}
	if !p.HasStage(6) {
		t.Errorf("examples/stdlib/.light/passport.yaml has no stage 6")
	}
}

// checkOutputs checks a run's outputs: one prediction per entity, with a
// probability, and one metrics object per fold.
func checkOutputs(t *testing.T, out string, entities, folds int) {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(readAll(t, filepath.Join(out, "predictions.csv"))), "\n")
	header := strings.Split(lines[0], ",")
	if header[0] != "patient_id" || header[len(header)-1] != "p" {
		t.Errorf("predictions.csv header %q, want patient_id first and p last", lines[0])
	}
	seen := map[string]bool{}
	for _, l := range lines[1:] {
		f := strings.Split(l, ",")
		if seen[f[0]] {
			t.Errorf("predictions.csv lists %s twice", f[0])
		}
		seen[f[0]] = true
		if p, err := strconv.ParseFloat(f[len(f)-1], 64); err != nil || p < 0 || p > 1 {
			t.Errorf("predictions.csv: %q has no probability", l)
		}
	}
	if len(seen) != entities {
		t.Errorf("predictions.csv has %d patients, want %d", len(seen), entities)
	}
	metrics := strings.Split(strings.TrimSpace(readAll(t, filepath.Join(out, "raw_metrics.jsonl"))), "\n")
	if len(metrics) != folds {
		t.Fatalf("raw_metrics.jsonl has %d lines, want one per fold (%d)", len(metrics), folds)
	}
	tested := 0
	for i, l := range metrics {
		var m struct {
			Fold      int     `json:"fold"`
			Brier     float64 `json:"brier"`
			TestCount int     `json:"n_test_entities"`
		}
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("raw_metrics.jsonl line %d: %v", i+1, err)
		}
		if m.Fold != i || m.Brier < 0 || m.Brier > 1 {
			t.Errorf("raw_metrics.jsonl line %d = %s", i+1, l)
		}
		tested += m.TestCount
	}
	if tested != entities {
		t.Errorf("the folds test %d patients in all, want each of the %d once", tested, entities)
	}
}

// TestStdlibExample runs examples/stdlib with Python's standard library
// only (-I -S: no site-packages, no user paths), checks its outputs, that a
// fixed seed repeats byte for byte and another seed does not, and that
// make_data.py rewrites the same data.
func TestStdlibExample(t *testing.T) {
	py := findPython(t)
	ex := filepath.Join(repoRoot(t), "examples", "stdlib")
	tmp := t.TempDir()
	env := pythonEnv()
	runEx := func(name, config string) string {
		out := filepath.Join(tmp, name)
		if o, err := runPython(t, ex, py, env, "-I", "-S", "train.py", "--config", config, "--out", out); err != nil {
			t.Fatalf("train.py --config %s: %v\n%s", config, err, o)
		}
		return out
	}
	a, b, c := runEx("a", "configs/exp-01.json"), runEx("b", "configs/exp-01.json"), runEx("c", "configs/exp-01-seed-7.json")
	checkOutputs(t, a, 150, 5)
	checkOutputs(t, c, 150, 5)
	for _, name := range []string{"predictions.csv", "raw_metrics.jsonl"} {
		if readAll(t, filepath.Join(a, name)) != readAll(t, filepath.Join(b, name)) {
			t.Errorf("%s differs between two runs with seed 42", name)
		}
		if readAll(t, filepath.Join(a, name)) == readAll(t, filepath.Join(c, name)) {
			t.Errorf("%s is the same with seeds 42 and 7", name)
		}
	}

	// folds.csv holds every data row once, with the fold its patient was
	// tested in: the fold predictions.csv gives the patient.
	predFold := map[string]string{}
	for _, l := range strings.Split(strings.TrimSpace(readAll(t, filepath.Join(a, "predictions.csv"))), "\n")[1:] {
		f := strings.Split(l, ",")
		predFold[f[0]] = f[1]
	}
	folds := strings.Split(strings.TrimSpace(readAll(t, filepath.Join(a, "folds.csv"))), "\n")
	visits := strings.Split(strings.TrimSpace(readAll(t, filepath.Join(ex, "data", "visits.csv"))), "\n")
	if len(folds) != len(visits) || folds[0] != visits[0]+",fold" {
		t.Fatalf("folds.csv has %d lines and header %q; want %d lines and %q", len(folds), folds[0], len(visits), visits[0]+",fold")
	}
	for i, l := range folds[1:] {
		patient, _, _ := strings.Cut(visits[i+1], ",")
		if want := visits[i+1] + "," + predFold[patient]; l != want {
			t.Errorf("folds.csv line %d = %q, want %q", i+2, l, want)
		}
	}

	// Without --config the seed comes from RIGOR_SEED.
	out := filepath.Join(tmp, "env")
	if o, err := runPython(t, ex, py, pythonEnv("RIGOR_SEED=42", "RIGOR_OUT="+out), "-I", "-S", "train.py"); err != nil {
		t.Fatalf("train.py with RIGOR_SEED: %v\n%s", err, o)
	}
	if readAll(t, filepath.Join(out, "predictions.csv")) != readAll(t, filepath.Join(a, "predictions.csv")) {
		t.Errorf("RIGOR_SEED=42 without a config predicts otherwise than configs/exp-01.json")
	}
	// A RIGOR_SEED that disagrees with the config is refused.
	if o, err := runPython(t, ex, py, pythonEnv("RIGOR_SEED=7"), "-I", "-S", "train.py", "--config", "configs/exp-01.json", "--out", filepath.Join(tmp, "x")); err == nil || !strings.Contains(o, "RIGOR_SEED=7") {
		t.Errorf("train.py accepted RIGOR_SEED=7 with a seed-42 config (err %v):\n%s", err, o)
	}

	data := filepath.Join(tmp, "visits.csv")
	if o, err := runPython(t, ex, py, env, "-I", "-S", "make_data.py", data); err != nil {
		t.Fatalf("make_data.py: %v\n%s", err, o)
	}
	if readAll(t, data) != readAll(t, filepath.Join(ex, "data", "visits.csv")) {
		t.Errorf("make_data.py does not reproduce data/visits.csv")
	}
}

// TestSklearnExample runs the scikit-learn example end to end under rigor:
// prepare the data (its SHA-256 must match the configs' pin), record two
// runs with seed 42 and compare them (exact), check the gates pass on it
// and catch examples/leaky. Skipped without a Python that has scikit-learn.
func TestSklearnExample(t *testing.T) {
	py := findPython(t, "sklearn", "numpy")
	root := repoRoot(t)
	work := t.TempDir()
	ex := filepath.Join(work, "sklearn")
	copyDir(t, filepath.Join(root, "examples", "sklearn"), ex)
	copyDir(t, filepath.Join(root, "examples", "leaky"), filepath.Join(work, "leaky"))
	env := pythonEnv()
	if o, err := runPython(t, ex, py, env, "prepare_data.py"); err != nil {
		t.Fatalf("prepare_data.py (does this scikit-learn ship other data?): %v\n%s", err, o)
	}
	cfg := readConfig(t, filepath.Join(ex, "configs", "exp-02.json"))
	if got := sha256File(t, filepath.Join(ex, cfg.Data.Path)); got != cfg.Data.SHA256 {
		t.Fatalf("data sha256 %s, configs pin %s", got, cfg.Data.SHA256)
	}

	// Directly: outputs, determinism, another seed.
	runEx := func(dir, name, config string) string {
		out := filepath.Join(work, "out", name)
		if o, err := runPython(t, dir, py, env, "train.py", "--config", config, "--out", out); err != nil {
			t.Fatalf("train.py --config %s: %v\n%s", config, err, o)
		}
		return out
	}
	a, b, c := runEx(ex, "a", "configs/exp-02.json"), runEx(ex, "b", "configs/exp-02.json"), runEx(ex, "c", "configs/exp-02-seed-7.json")
	checkOutputs(t, a, 569, 5)
	for _, name := range []string{"predictions.csv", "raw_metrics.jsonl"} {
		if readAll(t, filepath.Join(a, name)) != readAll(t, filepath.Join(b, name)) {
			t.Errorf("%s differs between two runs with seed 42", name)
		}
		if readAll(t, filepath.Join(a, name)) == readAll(t, filepath.Join(c, name)) {
			t.Errorf("%s is the same with seeds 42 and 7", name)
		}
	}
	checkOutputs(t, runEx(filepath.Join(work, "leaky"), "leaky", "configs/exp-02-leaky.json"), 569, 5)

	// Under rigor: two recorded runs with the same seed compare exact.
	t.Chdir(ex)
	rigor := func(want int, args ...string) string {
		t.Helper()
		stdout, stderr, code := rigorInProcess(t, args...)
		if code != want {
			t.Fatalf("rigor %s exited %d, want %d\n%s%s", strings.Join(args, " "), code, want, stdout, stderr)
		}
		return stdout + stderr
	}
	rigor(0, "init", "-q")
	runArgs := []string{"run", "--config", "configs/exp-02.json", "--schema", "configs/experiment.schema.json", "--",
		py, "train.py", "--config", "configs/exp-02.json"}
	for i := 1; i <= 2; i++ {
		if out := rigor(0, runArgs...); !strings.Contains(out, "completion PASS") {
			t.Errorf("rigor run %d: no completion PASS:\n%s", i, out)
		}
	}
	if have(t, "compare") {
		if out := rigor(0, "compare", "EXP-02__seed-42__attempt-1", "EXP-02__seed-42__attempt-2"); !strings.Contains(out, "PASS") {
			t.Errorf("rigor compare of the seed-42 pair:\n%s", out)
		}
	} else {
		t.Log("rigor compare has not landed: the pair was not compared")
	}

	// The gates pass on the example and catch the leaky variant.
	if have(t, "gate", "leakage") {
		for _, g := range []string{"review", "seeds", "leakage"} {
			rigor(0, "gate", g, ex)
		}
		if out := rigor(exitGateFailed, "gate", "leakage", filepath.Join(work, "leaky")); !strings.Contains(strings.ToLower(out), "leak") {
			t.Errorf("the leakage gate failed examples/leaky without saying why:\n%s", out)
		}
	} else {
		t.Log("rigor gate leakage has not landed: the gates were not run")
	}
}

// have reports whether this build's command tree has the (sub)command.
func have(t *testing.T, path ...string) bool {
	t.Helper()
	g := &globalOptions{stdout: new(strings.Builder), stderr: new(strings.Builder)}
	c, rest, err := newRootCmd(g).Find(path)
	return err == nil && len(rest) == 0 && c.Name() == path[len(path)-1]
}
