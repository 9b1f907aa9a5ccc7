package exec

import (
	"bytes"
	"context"
	"fmt"
	"os"
	osexec "os/exec"
	"path/filepath"
	"slices"
	"strings"

	"github.com/rigor-dev/rigor/ingest"
	"github.com/rigor-dev/rigor/spec"
)

// venvResult is a rebuilt Python environment.
type venvResult struct {
	dir    string // the virtual environment
	bin    string // its bin directory
	python string // its interpreter
	note   string // what it was built from
}

// buildVenv creates a fresh virtual environment at dir with the recorded
// interpreter (else fallback, else python3, found through the PATH of env)
// and installs into it the recorded lock: the requirements*.txt files
// recorded with the environment, restored from the store, else the
// recorded distributions pinned to their versions. Nothing is installed,
// and the environment gets no pip, when the lock names no package.
func buildVenv(ctx context.Context, s bundleReader, rec *spec.EnvRecord, dir string, env []string, fallback string) (*venvResult, error) {
	if rec.Python.Unavailable != "" {
		return nil, fmt.Errorf("%w: --clean-env rebuilds a Python environment, and the run recorded none (%s)", ErrNotRerunnable, rec.Python.Unavailable)
	}
	python := rec.Python.Executable
	if fi, err := os.Stat(python); python == "" || err != nil || fi.IsDir() {
		python = orDefault(fallback, "python3")
		if p, ok := lookPathIn(python, envValue(env, "PATH")); ok {
			python = p
		}
	}
	reqDir := filepath.Join(filepath.Dir(dir), "lock")
	if err := os.MkdirAll(reqDir, 0o755); err != nil {
		return nil, fmt.Errorf("exec: %w", err)
	}
	var reqs []string
	var from []string
	packages := 0
	for _, lf := range rec.LockFiles {
		base := filepath.Base(filepath.FromSlash(lf.Path))
		if m, _ := filepath.Match("requirements*.txt", base); !m {
			continue
		}
		to := filepath.Join(reqDir, base)
		if err := ingest.Materialize(ctx, s, lf.Digest, to, ingest.MaterializeOptions{Force: true}); err != nil {
			return nil, fmt.Errorf("exec: restore lock file %s: %w", lf.Path, err)
		}
		b, err := os.ReadFile(to)
		if err != nil {
			return nil, fmt.Errorf("exec: %w", err)
		}
		packages += requirementLines(b)
		reqs = append(reqs, to)
		from = append(from, lf.Path)
	}
	note := "the environment was rebuilt with " + python + " from the recorded " + strings.Join(from, ", ")
	if len(reqs) == 0 {
		var pins bytes.Buffer
		for _, d := range rec.Python.Distributions {
			if strings.EqualFold(d.Name, "pip") {
				continue // the new environment has its own
			}
			fmt.Fprintf(&pins, "%s==%s\n", d.Name, d.Version)
			packages++
		}
		to := filepath.Join(reqDir, "pinned-distributions.txt")
		if err := os.WriteFile(to, pins.Bytes(), 0o644); err != nil {
			return nil, fmt.Errorf("exec: %w", err)
		}
		reqs = append(reqs, to)
		note = fmt.Sprintf("the environment was rebuilt with %s from the %d recorded distributions (no requirements*.txt was recorded)", python, packages)
	}
	args := []string{"-m", "venv"}
	if packages == 0 {
		args = append(args, "--without-pip")
	}
	if err := runTool(ctx, env, python, append(args, dir)...); err != nil {
		return nil, fmt.Errorf("exec: create the virtual environment: %w", err)
	}
	v := &venvResult{dir: dir, bin: filepath.Join(dir, "bin"), note: note}
	v.python = filepath.Join(v.bin, "python")
	if packages > 0 {
		pip := []string{"-m", "pip", "install", "--disable-pip-version-check", "--no-input"}
		for _, r := range reqs {
			pip = append(pip, "-r", r)
		}
		if err := runTool(ctx, env, v.python, pip...); err != nil {
			return nil, fmt.Errorf("exec: install the recorded lock into the virtual environment: %w", err)
		}
	}
	return v, nil
}

func orDefault(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// requirementLines counts the lines of a requirements file that name
// something to install.
func requirementLines(b []byte) int {
	n := 0
	for _, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line != "" && !strings.HasPrefix(line, "#") {
			n++
		}
	}
	return n
}

// runTool runs a helper program to completion; its error carries the tail
// of its output.
func runTool(ctx context.Context, env []string, name string, args ...string) error {
	cmd := osexec.CommandContext(ctx, name, args...)
	cmd.Env = slices.Clone(env)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		tail := out.Bytes()
		if len(tail) > 2048 {
			tail = tail[len(tail)-2048:]
		}
		return fmt.Errorf("%s %s: %v: %s", name, strings.Join(args, " "), err, strings.TrimSpace(string(tail)))
	}
	return nil
}
