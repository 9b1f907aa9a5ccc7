package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// findPython returns a Python 3 interpreter that can import every one of
// modules, or skips the test saying what is missing. RIGOR_TEST_PYTHON, if
// set, is the only candidate; otherwise Debian's /usr/bin/python3 comes
// first (a pyenv or venv python3 earlier on PATH often cannot see the
// packages apt installed), then python3 on PATH.
func findPython(t *testing.T, modules ...string) string {
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
		tried = append(tried, py+": "+last)
	}
	t.Skipf("no Python 3.11+ that imports %s (tried %s); on Debian: apt-get install python3-pytest python3-hypothesis python3-sklearn, or set RIGOR_TEST_PYTHON",
		strings.Join(modules, ", "), strings.Join(tried, "; "))
	return ""
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
