package archtest

import (
	"bytes"
	"encoding/json"
	"io"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/rigor-dev/rigor"

// allowed lists, for each of our packages (relative to the module root), the
// packages of ours it may import directly. A package missing from this table
// fails the test, so a new package must be placed in the diagram on purpose.
var allowed = map[string][]string{
	"spec":        {},
	"cas":         {"internal/*"},
	"cas/castest": {"cas", "internal/*"},
	"ingest":      {"cas", "spec", "internal/*"},
	"verify":      {"cas", "spec", "internal/*"},
	"exec":        {"spec", "cas", "ingest", "internal/*"},
	"gates":       {"spec", "cas", "verify", "internal/*"},
	"cmd/rigor":   {"*"},
	"internal/*":  {"internal/*"},
	"remote":      {"cas", "spec", "verify", "internal/*"},
	"remote/*":    {"cas", "spec", "verify", "remote", "internal/*"},
	"scaffold":    {"spec", "internal/*"},
	"serve":       {"cas", "spec", "verify", "internal/*"},
}

// osExecAllowed are the packages that may start processes.
var osExecAllowed = []string{"exec", "ingest"}

type pkg struct {
	ImportPath   string
	Imports      []string
	TestImports  []string
	XTestImports []string
	Deps         []string
	GoFiles      []string
	CgoFiles     []string
}

func listPackages(t *testing.T) []pkg {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(file), "..", "..")
	cmd := exec.Command("go", "list", "-deps=false", "-json", "./...")
	cmd.Dir = root
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	var pkgs []pkg
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p pkg
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("decode go list output: %v", err)
		}
		pkgs = append(pkgs, p)
	}
	if len(pkgs) == 0 {
		t.Fatal("go list found no packages")
	}
	return pkgs
}

func rel(importPath string) (string, bool) {
	if importPath == module {
		return ".", true
	}
	r, ok := strings.CutPrefix(importPath, module+"/")
	return r, ok
}

// match reports whether a relative package path matches a pattern: "*"
// matches everything, "x/*" matches every package below x.
func match(pattern, p string) bool {
	if pattern == "*" {
		return true
	}
	if prefix, ok := strings.CutSuffix(pattern, "/*"); ok {
		return strings.HasPrefix(p, prefix+"/")
	}
	return pattern == p
}

func rowFor(p string) ([]string, bool) {
	if row, ok := allowed[p]; ok {
		return row, true
	}
	for pattern, row := range allowed {
		if strings.Contains(pattern, "*") && match(pattern, p) {
			return row, true
		}
	}
	return nil, false
}

// check returns the violations of the import rules for one package given its
// non-test imports.
func check(p string, imports []string) []string {
	var bad []string
	row, ok := rowFor(p)
	if !ok {
		return []string{p + ": package is not in the architecture table; add it to allowed"}
	}
	for _, imp := range imports {
		if imp == "github.com/spf13/cobra" || imp == "github.com/spf13/pflag" {
			if p != "cmd/rigor" && !strings.HasPrefix(p, "cmd/") {
				bad = append(bad, p+": imports "+imp+" (only cmd/ may)")
			}
		}
		if imp == "testing" && p != "cas/castest" {
			bad = append(bad, p+": non-test code imports testing")
		}
		if imp == "os/exec" && !slices.Contains(osExecAllowed, p) && !strings.HasPrefix(p, "cmd/") {
			bad = append(bad, p+": imports os/exec (only exec and ingest may)")
		}
		r, ours := rel(imp)
		if !ours {
			continue
		}
		if strings.HasPrefix(r, "cmd/") {
			bad = append(bad, p+": imports "+r+" (nothing imports cmd)")
			continue
		}
		okImp := false
		for _, pattern := range row {
			if match(pattern, r) {
				okImp = true
				break
			}
		}
		if !okImp {
			bad = append(bad, p+": imports "+r+" against the layering")
		}
	}
	return bad
}

func TestImportDirection(t *testing.T) {
	for _, p := range listPackages(t) {
		r, ok := rel(p.ImportPath)
		if !ok || r == "internal/archtest" {
			continue
		}
		for _, v := range check(r, p.Imports) {
			t.Error(v)
		}
		// Tests may import more (testing, castest), but never cmd/.
		for _, imp := range append(slices.Clone(p.TestImports), p.XTestImports...) {
			if ri, ours := rel(imp); ours && strings.HasPrefix(ri, "cmd/") && !strings.HasPrefix(r, "cmd/") {
				t.Errorf("%s: test imports %s (nothing imports cmd)", r, ri)
			}
		}
	}
}

// TestCheckCatchesViolations proves the checker fails on each kind of bad edge,
// so that TestImportDirection cannot pass vacuously.
func TestCheckCatchesViolations(t *testing.T) {
	tests := []struct {
		name    string
		pkg     string
		imports []string
		want    int
	}{
		{"cas imports spec", "cas", []string{module + "/spec"}, 1},
		{"spec imports cas", "spec", []string{module + "/cas"}, 1},
		{"verify imports exec", "verify", []string{module + "/exec"}, 1},
		{"gates imports ingest", "gates", []string{module + "/ingest"}, 1},
		{"library imports cobra", "verify", []string{"github.com/spf13/cobra"}, 1},
		{"library imports testing", "ingest", []string{"testing"}, 1},
		{"gates imports os/exec", "gates", []string{"os/exec"}, 1},
		{"exec imports os/exec", "exec", []string{"os/exec"}, 0},
		{"ingest imports cmd", "ingest", []string{module + "/cmd/rigor"}, 1},
		{"exec imports ingest", "exec", []string{module + "/ingest", module + "/cas"}, 0},
		{"cmd imports all", "cmd/rigor", []string{module + "/gates", module + "/exec", "github.com/spf13/cobra"}, 0},
		{"unknown package", "newpkg", nil, 1},
		{"internal imports cas", "internal/x", []string{module + "/cas"}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := check(tt.pkg, tt.imports); len(got) != tt.want {
				t.Errorf("check(%q, %v) = %v, want %d violations", tt.pkg, tt.imports, got, tt.want)
			}
		})
	}
}
