package main

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestCUDACheckScript runs scripts/cuda_check.sh, the prepared check for a
// GPU machine, without one: its preflight skipped and the training replaced
// by a stub that writes the outputs, deterministically (the two runs must
// compare identical, exit 0) or not (exit 3, the report says FAIL). The
// GPU training itself can only run where a GPU is.
func TestCUDACheckScript(t *testing.T) {
	if testing.Short() {
		t.Skip("builds rigor and records four runs: not in -short")
	}
	py := findPython(t)
	root := repoRoot(t)
	tmp := t.TempDir()
	bin := filepath.Join(tmp, "rigor")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Dir = filepath.Join(root, "cmd", "rigor")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	stub := filepath.Join(tmp, "stub.py")
	if err := os.WriteFile(stub, []byte(`import os, sys, time
out = os.environ["RIGOR_OUT"]
p = "0.500000000" if sys.argv[1] == "same" else "%.9f" % (time.time_ns() % 1000000 / 1e6)
open(os.path.join(out, "predictions.csv"), "w").write("id,y_true,p\n0,1," + p + "\n")
open(os.path.join(out, "raw_metrics.jsonl"), "w").write('{"step": 50, "loss": 0.5}\n')
`), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		mode   string
		exit   int
		report string
	}{
		{"same", 0, "PASS, identical"},
		{"differ", 3, "FAIL (exit 3)"},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			out := filepath.Join(tmp, "out-"+tc.mode)
			cmd := exec.Command("bash", filepath.Join(root, "scripts", "cuda_check.sh"))
			cmd.Env = pythonEnv("CUDA_CHECK_SKIP_PREFLIGHT=1", "CUDA_CHECK_PROGRAM="+py+" "+stub+" "+tc.mode,
				"RIGOR="+bin, "OUT="+out, "PYTHON="+py, "TMPDIR="+tmp)
			text, err := cmd.CombinedOutput()
			code := 0
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				code = ee.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if code != tc.exit {
				t.Fatalf("exit %d, want %d:\n%s", code, tc.exit, text)
			}
			report := readAll(t, filepath.Join(out, "cuda_check.md"))
			if !strings.Contains(report, tc.report) || !strings.Contains(report, "GPU, driver, CUDA and cuDNN as rigor recorded them") {
				t.Errorf("report lacks %q:\n%s", tc.report, report)
			}
			sums := ""
			for _, l := range strings.Split(report, "\n") {
				if strings.HasPrefix(l, "- predictions.csv sha256: ") {
					sums = strings.TrimPrefix(l, "- predictions.csv sha256: ")
				}
			}
			a, b, ok := strings.Cut(sums, " / ")
			if !ok || len(a) != 64 || (a == b) != (tc.exit == 0) {
				t.Errorf("predictions digests %q: want two, equal only when the runs agree", sums)
			}
		})
	}
}
