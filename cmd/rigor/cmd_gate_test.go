package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPreCommitHooks runs every hook of .pre-commit-hooks.yaml the way
// pre-commit does (entry, then args, then the staged file names unless
// pass_filenames is false) on a small clean project and on a leaky one.
func TestPreCommitHooks(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", ".pre-commit-hooks.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	hooks := parseHooks(string(b))
	if len(hooks) < 3 {
		t.Fatalf("found %d hooks", len(hooks))
	}
	clean := map[string]string{
		"src/train.py": `import os
import random
import numpy as np
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_score

os.environ.setdefault("PYTHONHASHSEED", "0")
random.seed(0)
np.random.seed(0)
X = np.load("x.npy")
y = np.load("y.npy")
print(cross_val_score(make_pipeline(StandardScaler(), LogisticRegression()), X, y, cv=5))
`,
	}
	leaky := map[string]string{
		"src/train.py": strings.Replace(clean["src/train.py"], "print(cross_val_score(make_pipeline(StandardScaler(), LogisticRegression()), X, y, cv=5))",
			"X = StandardScaler().fit_transform(X)\nprint(cross_val_score(LogisticRegression(), X, y, cv=5))", 1),
	}
	for _, tc := range []struct {
		name  string
		files map[string]string
		want  map[string]int // hook id -> exit code; others 0
	}{
		{"clean", clean, nil},
		{"leaky", leaky, map[string]int{"rigor-review": 4, "rigor-leakage": 4, "rigor-review-system": 4, "rigor-leakage-system": 4}},
	} {
		dir := t.TempDir()
		for name, text := range tc.files {
			p := filepath.Join(dir, name)
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		t.Chdir(dir)
		for _, h := range hooks {
			args := append(strings.Fields(h["entry"]), h.list("args")...)
			if h["pass_filenames"] != "false" {
				args = append(args, "src/train.py")
			}
			if args[0] != "rigor" || args[1] != "gate" {
				t.Fatalf("hook %s: entry %q does not run a rigor gate", h["id"], h["entry"])
			}
			var out bytes.Buffer
			g := &globalOptions{stdout: &out, stderr: &out, stdin: strings.NewReader("")}
			root := newRootCmd(g)
			root.SetArgs(args[1:])
			code := exitCode(root.ExecuteContext(t.Context()))
			if code != tc.want[h["id"]] {
				t.Errorf("%s: hook %s (%s) exited %d, want %d:\n%s", tc.name, h["id"], strings.Join(args, " "), code, tc.want[h["id"]], out.String())
			}
		}
	}
}

type hook map[string]string

// list reads a flow-style YAML list: ["a", b].
func (h hook) list(key string) []string {
	v := strings.TrimSpace(h[key])
	v = strings.TrimSuffix(strings.TrimPrefix(v, "["), "]")
	var out []string
	for _, f := range strings.Split(v, ",") {
		if f = strings.Trim(strings.TrimSpace(f), `"'`); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// parseHooks reads the list of flat mappings a .pre-commit-hooks.yaml is.
func parseHooks(text string) []hook {
	var hooks []hook
	for _, line := range strings.Split(text, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "#") || strings.TrimSpace(line) == "" {
			continue
		}
		if strings.HasPrefix(line, "- ") {
			hooks = append(hooks, hook{})
			line = "  " + line[2:]
		}
		if len(hooks) == 0 {
			continue
		}
		k, v, ok := strings.Cut(strings.TrimSpace(line), ":")
		if ok {
			hooks[len(hooks)-1][k] = strings.Trim(strings.TrimSpace(v), `"`)
		}
	}
	return hooks
}
