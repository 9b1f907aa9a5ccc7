package spec

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"testing"
)

func TestManifestFiles(t *testing.T) {
	m := map[string]any{
		"run_id":      " EXP-01__seed-42__attempt-1 ",
		"config":      map[string]any{"path": "./config.json", "sha256": "c", "blake3": "blake3:x", "size": 12},
		"environment": "environment.json", // not an object: left out
		"code":        map[string]any{"files": []any{map[string]any{"path": "src/a.py", "sha256": "a"}, map[string]any{"path": "../escape.py"}}},
		"inputs":      []any{map[string]any{"role": "data", "path": "inputs/data/x.csv", "source_revision": "v1"}},
		"artifacts":   map[string]any{"stdout": map[string]any{"path": "stdout.log"}, "failure": nil, "predictions": map[string]any{"path": "src/a.py"}},
	}
	b, _ := json.Marshal(m)
	var got []string
	for _, f := range ManifestFiles(b) {
		size := "-"
		if f.Size != nil {
			size = fmt.Sprint(*f.Size)
		}
		got = append(got, fmt.Sprintf("%s|%s|%s|%v|%s|%s|%s|%s", f.Label, f.Path, f.Rel, f.Inside, f.SHA256, f.BLAKE3, size, f.Role+f.SourceRevision))
	}
	want := []string{
		"config|./config.json|config.json|true|c|blake3:x|12|",
		"code.files[0]|src/a.py|src/a.py|true|a||-|",
		"code.files[1]|../escape.py||false|||-|",
		"inputs[0]|inputs/data/x.csv|inputs/data/x.csv|true|||-|datav1",
		"artifacts.predictions|src/a.py|src/a.py|true|||-|",
		"artifacts.stdout|stdout.log|stdout.log|true|||-|",
	}
	if !slices.Equal(got, want) {
		t.Errorf("ManifestFiles:\n  got  %q\n  want %q", got, want)
	}
	if got, want := ManifestPaths(b), []string{"config.json", "src/a.py", "inputs/data/x.csv", "stdout.log"}; !slices.Equal(got, want) {
		t.Errorf("ManifestPaths = %q, want %q", got, want)
	}
	if id, ok := ManifestRunID(b); !ok || id != "EXP-01__seed-42__attempt-1" {
		t.Errorf("ManifestRunID = %q, %v", id, ok)
	}
	if ManifestFiles([]byte("[1,2]")) != nil || ManifestFiles([]byte("{oops")) != nil {
		t.Error("ManifestFiles of a non-object is not nil")
	}
}

func TestErrorLabel(t *testing.T) {
	files := []ManifestFile{{Label: "config"}, {Label: "inputs[1]"}, {Label: "artifacts.stdout"}, {Label: "code.files[10]"}}
	tests := map[string]string{
		"config: sha256 mismatch expected=a actual=b":            "config",
		"config.path missing":                                    "config",
		"config must be an object with path + sha256":            "config",
		"environment must be an object with path + sha256":       "environment",
		"inputs[1].source_revision missing for data input":       "inputs[1]",
		"inputs[0] must be an object":                            "inputs[0]",
		"artifacts.stdout: file not found: stdout.log":           "artifacts.stdout",
		"artifacts.failure must be an object with path + sha256": "artifacts.failure",
		"code.files[10]: file not found: x":                      "code.files[10]",
		"code.files must retain at least one path + sha256":      "",
		"artifacts must be an object":                            "",
		"completion evidence not declared: artifacts.stdout":     "",
		"schema must be light.run_manifest.v3":                   "",
	}
	for msg, want := range tests {
		if got := ErrorLabel(msg, files); got != want {
			t.Errorf("ErrorLabel(%q) = %q, want %q", msg, got, want)
		}
	}
}

// escapingFiles is a run directory whose every file resolves outside it.
type escapingFiles struct{}

func (escapingFiles) SHA256(rel string) (string, error) {
	return "", fmt.Errorf("%s: %w", rel, ErrEscapesRunDir)
}

// missingFiles has no file at all.
type missingFiles struct{}

func (missingFiles) SHA256(rel string) (string, error) {
	return "", fmt.Errorf("%s: %w", rel, fs.ErrNotExist)
}

func TestCheckRunManifestEscapingLink(t *testing.T) {
	_, m := bundle()
	b, _ := json.Marshal(m)
	c := CheckRunManifest(b, escapingFiles{}, testNow)
	if !slices.Contains(c.Errors, "config: path escapes run directory: config.json") {
		t.Errorf("errors = %q", c.Errors)
	}
	c = CheckRunManifest(b, missingFiles{}, testNow)
	if !slices.Contains(c.Errors, "config: file not found: config.json") {
		t.Errorf("errors = %q", c.Errors)
	}
	if !errors.Is(fmt.Errorf("x: %w", ErrEscapesRunDir), ErrEscapesRunDir) {
		t.Fatal("unreachable")
	}
}
