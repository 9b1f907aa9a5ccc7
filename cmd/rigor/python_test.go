package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// findPython returns a Python 3 interpreter that can import every one of
// modules. Where there is none, the test is skipped saying what is missing,
// except in CI (CI set and not empty), where it fails: .ci/run installs
// python3 and the packages these tests import, so their absence there is a
// broken CI, not a reason to pass. RIGOR_TEST_PYTHON, if set, is the only
// candidate; otherwise Debian's /usr/bin/python3 comes first (a pyenv or
// venv python3 earlier on PATH often cannot see the packages apt
// installed), then python3 on PATH.
func findPython(t testing.TB, modules ...string) string {
	t.Helper()
	var candidates []string
	if p := os.Getenv("RIGOR_TEST_PYTHON"); p != "" {
		candidates = []string{p}
	} else {
		candidates = []string{"/usr/bin/python3"}
		if p, err := exec.LookPath("python3"); err == nil {
			candidates = append(candidates, p)
		}
	}
	script := "import sys\nassert sys.version_info >= (3, 11)\n"
	for _, m := range modules {
		script += "import " + m + "\n"
	}
	var tried []string
	for _, py := range candidates {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		out, err := exec.CommandContext(ctx, py, "-c", script).CombinedOutput()
		cancel()
		if err == nil {
			return py
		}
		last := strings.TrimSpace(string(out))
		if i := strings.LastIndexByte(last, '\n'); i >= 0 {
			last = last[i+1:]
		}
		if last == "" {
			last = err.Error() // not started at all: no such file, say
		}
		tried = append(tried, py+": "+last)
	}
	what := "Python 3.11+"
	if len(modules) > 0 {
		what += " that imports " + strings.Join(modules, ", ")
	}
	msg := fmt.Sprintf("no %s (tried %s); on Debian: apt-get install python3-pytest python3-hypothesis python3-sklearn, or set RIGOR_TEST_PYTHON",
		what, strings.Join(tried, "; "))
	if os.Getenv("CI") != "" {
		t.Fatalf("%s; CI is set, and .ci/run installs these, so this fails instead of skipping", msg)
	}
	t.Skip(msg)
	return ""
}

// outcomeTB stands in for a test's testing.TB to record whether findPython
// skipped or failed it; either stops the goroutine, as the real ones do.
type outcomeTB struct {
	testing.TB
	skipped, failed bool
	msg             string
}

func (*outcomeTB) Helper() {}

func (o *outcomeTB) Fatalf(format string, args ...any) {
	o.failed, o.msg = true, fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func (o *outcomeTB) Skip(args ...any) {
	o.skipped, o.msg = true, fmt.Sprint(args...)
	runtime.Goexit()
}

// TestFindPythonFailsInCI checks findPython's rule for a missing
// interpreter or a missing module: the test that asked is skipped outside
// CI and fails in CI, naming what it tried and what is missing.
func TestFindPythonFailsInCI(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "no-python3")
	for _, tc := range []struct {
		name, python, module string
	}{
		{"no interpreter", missing, ""},
		{"no module", "", "rigor_test_no_such_module"},
	} {
		for _, ci := range []string{"", "true"} {
			t.Run(tc.name+" CI="+ci, func(t *testing.T) {
				t.Setenv("CI", ci)
				t.Setenv("RIGOR_TEST_PYTHON", tc.python)
				var modules []string
				if tc.module != "" {
					modules = []string{tc.module}
				}
				o := &outcomeTB{TB: t}
				done := make(chan string)
				go func() {
					defer close(done)
					done <- findPython(o, modules...)
				}()
				if py := <-done; py != "" {
					t.Fatalf("findPython returned %s", py)
				}
				switch {
				case ci != "" && !o.failed:
					t.Errorf("in CI, findPython did not fail the test (skipped: %v)", o.skipped)
				case ci == "" && !o.skipped:
					t.Errorf("outside CI, findPython did not skip the test (failed: %v)", o.failed)
				}
				for _, w := range []string{tc.python, tc.module} {
					if !strings.Contains(o.msg, w) {
						t.Errorf("the message does not name %q: %s", w, o.msg)
					}
				}
				t.Log(o.msg)
			})
		}
	}
}

// pythonEnv is the environment for a Python child of a test: no bytecode
// files, nothing inherited that changes what is imported or what a run
// sees.
func pythonEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		switch {
		case name == "PYTHONPATH", name == "PYTHONHOME", name == "PYTHONHASHSEED",
			strings.HasPrefix(name, "RIGOR_"), strings.HasPrefix(name, "HYPOTHESIS_"):
			continue
		}
		env = append(env, kv)
	}
	return append(env, append([]string{"PYTHONDONTWRITEBYTECODE=1"}, extra...)...)
}

// runPython runs py with args in dir and returns its combined output and
// error.
func runPython(t *testing.T, dir, py string, env []string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, py, args...)
	cmd.Dir = dir
	cmd.Env = env
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	err := cmd.Run()
	return out.String(), err
}

// rigorInProcess runs the CLI in this process with args and returns its
// stdout, stderr and exit code.
func rigorInProcess(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	g := &globalOptions{stdout: &stdout, stderr: &stderr, stdin: strings.NewReader("")}
	root := newRootCmd(g)
	root.SetArgs(args)
	err := root.ExecuteContext(t.Context())
	code := reportError(g, err)
	return stdout.String(), stderr.String(), code
}

// repoRoot is the module root, two levels above this package.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	return root
}
