package scaffold

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

func TestPackageName(t *testing.T) {
	tests := []struct{ in, want string }{
		{"study", "study"},
		{"my-study", "my_study"},
		{"My Study (2024)!", "my_study_2024"},
		{"2nd-try", "exp_2nd_try"},
		{"__init__", "init"},
		{"---", "experiment"},
		{"", "experiment"},
		{"données", "donn_es"},
		{"random", "random_experiment"},
		{"Tests", "tests_experiment"},
		{"class", "class_experiment"},
		{"numpy", "numpy_experiment"},
	}
	for _, tt := range tests {
		got := PackageName(tt.in)
		if got != tt.want {
			t.Errorf("PackageName(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if err := checkPackage(got); err != nil {
			t.Errorf("PackageName(%q) = %q, which checkPackage rejects: %v", tt.in, got, err)
		}
	}
}

func TestProjectName(t *testing.T) {
	tests := []struct{ in, want string }{
		{"study", "study"},
		{"My Study (2024)!", "my-study-2024"},
		{"a.b_c-d", "a.b_c-d"},
		{"-x-", "x"},
		{"!!!", "experiment"},
	}
	for _, tt := range tests {
		got := ProjectName(tt.in)
		if got != tt.want {
			t.Errorf("ProjectName(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if err := checkProject(got); err != nil {
			t.Errorf("ProjectName(%q) = %q, which checkProject rejects: %v", tt.in, got, err)
		}
	}
}

func TestResolve(t *testing.T) {
	tests := []struct {
		name    string
		dir     string
		opts    Options
		want    Options
		wantErr bool
	}{
		{"derived", "/tmp/x/Heart Study", Options{}, Options{Package: "heart_study", Project: "heart-study"}, false},
		{"given", "/tmp/x/y", Options{Package: "pkg", Project: "proj"}, Options{Package: "pkg", Project: "proj"}, false},
		{"upper case package", "y", Options{Package: "Pkg"}, Options{}, true},
		{"keyword", "y", Options{Package: "import"}, Options{}, true},
		{"shadows stdlib", "y", Options{Package: "json"}, Options{}, true},
		{"leading digit", "y", Options{Package: "1x"}, Options{}, true},
		{"bad project", "y", Options{Project: "-x"}, Options{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Resolve(tt.dir, tt.opts)
			if tt.wantErr {
				if !errors.Is(err, ErrBadName) {
					t.Fatalf("Resolve(%q, %+v) error = %v, want ErrBadName", tt.dir, tt.opts, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("Resolve(%q, %+v) = %+v, %v, want %+v", tt.dir, tt.opts, got, err, tt.want)
			}
		})
	}
}

func render(t *testing.T, opts Options) map[string][]byte {
	t.Helper()
	files, err := Render(opts)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string][]byte{}
	for _, f := range files {
		m[f.Path] = f.Data
	}
	return m
}

func TestRenderFiles(t *testing.T) {
	files := render(t, Options{Package: "study", Project: "heart-study"})
	want := []string{
		".github/workflows/ci.yml", ".gitignore", ".pre-commit-config.yaml", "PLAN.md", "README.md",
		"configs/experiment.example.json", "configs/experiment.schema.json", "data/input.csv",
		"pyproject.toml", "rigor-check.yaml", "src/study/__init__.py", "src/study/experiment_contracts.py",
		"src/study/model.py", "src/study/reproducibility.py", "src/study/train.py",
		"tests/conftest.py", "tests/test_experiment_contracts.py", "tests/test_reproducibility.py",
		"tests/test_train.py", "train.py",
	}
	var got []string
	for p := range files {
		got = append(got, p)
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("Render paths =\n%q\nwant\n%q", got, want)
	}
	for p, b := range files {
		if bytes.Contains(b, []byte("{%")) || bytes.Contains(b, []byte(packageElem)) {
			t.Errorf("%s still holds template syntax", p)
		}
	}
	for p, s := range map[string]string{
		"pyproject.toml":                     `name = "heart-study"`,
		"tests/test_train.py":                "from study.train import",
		"tests/test_experiment_contracts.py": "from study.experiment_contracts import",
		"train.py":                           "from study.train import main",
	} {
		if !bytes.Contains(files[p], []byte(s)) {
			t.Errorf("%s lacks %q", p, s)
		}
	}
	if !bytes.Contains(files["pyproject.toml"], []byte(`packages = ["src/study"]`)) {
		t.Errorf("pyproject.toml does not package src/study")
	}
}

// TestExampleConfig checks that the example row config satisfies the
// schema and pins the data and the plan exactly as rendered, so that
// rigor run --config accepts a new project as it stands.
func TestExampleConfig(t *testing.T) {
	files := render(t, Options{Package: "study"})
	schemaDoc, err := jsonschema.UnmarshalJSON(bytes.NewReader(files["configs/experiment.schema.json"]))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("schema.json", schemaDoc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile("schema.json")
	if err != nil {
		t.Fatal(err)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(files["configs/experiment.example.json"]))
	if err != nil {
		t.Fatal(err)
	}
	if err := sch.Validate(inst); err != nil {
		t.Errorf("example config does not satisfy the schema: %v", err)
	}

	var cfg struct {
		FrozenPlan string `json:"frozen_plan_sha256"`
		Data       struct {
			Path   string `json:"path"`
			SHA256 string `json:"sha256"`
		} `json:"data"`
		Features struct {
			Baseline   []string `json:"baseline"`
			Candidates []string `json:"candidate_additions"`
		} `json:"features"`
		Evaluation struct {
			Unit string `json:"unit"`
		} `json:"evaluation"`
	}
	if err := json.Unmarshal(files["configs/experiment.example.json"], &cfg); err != nil {
		t.Fatal(err)
	}
	hash := func(p string) string {
		sum := sha256.Sum256(files[p])
		return hex.EncodeToString(sum[:])
	}
	if got, want := cfg.Data.SHA256, hash(cfg.Data.Path); got != want {
		t.Errorf("data.sha256 = %s, want the SHA-256 of %s, %s", got, cfg.Data.Path, want)
	}
	if got, want := cfg.FrozenPlan, hash("PLAN.md"); got != want {
		t.Errorf("frozen_plan_sha256 = %s, want %s", got, want)
	}
	header, _, _ := strings.Cut(string(files[cfg.Data.Path]), "\n")
	cols := strings.Split(header, ",")
	for _, name := range append(append([]string{cfg.Evaluation.Unit, "label"}, cfg.Features.Baseline...), cfg.Features.Candidates...) {
		if !slices.Contains(cols, name) {
			t.Errorf("the config names column %q, which %s lacks (header %q)", name, cfg.Data.Path, header)
		}
	}
}

// TestSchemaRejects checks that the schema is closed where it should be.
func TestSchemaRejects(t *testing.T) {
	files := render(t, Options{})
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(files["configs/experiment.schema.json"]))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("schema.json", doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile("schema.json")
	if err != nil {
		t.Fatal(err)
	}
	var good map[string]any
	if err := json.Unmarshal(files["configs/experiment.example.json"], &good); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		mutate func(m map[string]any)
	}{
		{"extra top-level key", func(m map[string]any) { m["notes"] = "x" }},
		{"missing seed", func(m map[string]any) { delete(m, "seed") }},
		{"negative seed", func(m map[string]any) { m["seed"].(map[string]any)["value"] = -1 }},
		{"unknown seed role", func(m map[string]any) { m["seed"].(map[string]any)["role"] = "lucky" }},
		{"short sha256", func(m map[string]any) { m["data"].(map[string]any)["sha256"] = "abc" }},
		{"one fold", func(m map[string]any) { m["evaluation"].(map[string]any)["folds"] = 1 }},
		{"no baseline features", func(m map[string]any) { m["features"].(map[string]any)["baseline"] = []any{} }},
		{"extra runtime key", func(m map[string]any) { m["runtime"].(map[string]any)["gpus"] = 2 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var m map[string]any
			b, _ := json.Marshal(good)
			if err := json.Unmarshal(b, &m); err != nil {
				t.Fatal(err)
			}
			tt.mutate(m)
			b, _ = json.Marshal(m)
			inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
			if err != nil {
				t.Fatal(err)
			}
			if err := sch.Validate(inst); err == nil {
				t.Errorf("schema accepts a config with %s", tt.name)
			}
		})
	}
}

func TestRenderRejectsBadNames(t *testing.T) {
	if _, err := Render(Options{Package: "os"}); !errors.Is(err, ErrBadName) {
		t.Errorf("Render(package os) error = %v, want ErrBadName", err)
	}
	files, err := Render(Options{})
	if err != nil || len(files) == 0 {
		t.Fatalf("Render(zero Options) = %d files, %v", len(files), err)
	}
}

func readTree(t *testing.T, root string) map[string][]byte {
	t.Helper()
	m := map[string][]byte{}
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(root, p)
		m[filepath.ToSlash(rel)] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestWrite(t *testing.T) {
	parent := t.TempDir()
	emptyDir := filepath.Join(parent, "empty")
	if err := os.Mkdir(emptyDir, 0o755); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		dir  string
		pkg  string
	}{
		{"new directory", filepath.Join(parent, "heart-study"), "heart_study"},
		{"new nested directory", filepath.Join(parent, "a", "b", "c"), "c"},
		{"existing empty directory", emptyDir, "empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := Write(tt.dir, Options{}); err != nil {
				t.Fatal(err)
			}
			got := readTree(t, tt.dir)
			want := render(t, Options{Package: tt.pkg, Project: ProjectName(filepath.Base(tt.dir))})
			if len(got) != len(want) {
				t.Errorf("wrote %d files, want %d", len(got), len(want))
			}
			for p, b := range want {
				if !bytes.Equal(got[p], b) {
					t.Errorf("%s differs from Render's", p)
				}
			}
		})
	}
	// No temporary directory is left behind.
	entries, err := os.ReadDir(parent)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			t.Errorf("left behind %s", e.Name())
		}
	}
}

func TestWriteRefuses(t *testing.T) {
	parent := t.TempDir()
	occupied := filepath.Join(parent, "occupied")
	if err := os.Mkdir(occupied, 0o755); err != nil {
		t.Fatal(err)
	}
	notes := filepath.Join(occupied, "notes.txt")
	if err := os.WriteFile(notes, []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(parent, "file")
	if err := os.WriteFile(file, []byte("a file"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		dir  string
		opts Options
		want error
	}{
		{"non-empty directory", occupied, Options{}, ErrNotEmpty},
		{"a file", file, Options{}, ErrNotEmpty},
		{"bad package", filepath.Join(parent, "new"), Options{Package: "sys"}, ErrBadName},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := Write(tt.dir, tt.opts); !errors.Is(err, tt.want) {
				t.Fatalf("Write(%s) error = %v, want %v", tt.dir, err, tt.want)
			}
		})
	}
	if b, err := os.ReadFile(notes); err != nil || string(b) != "mine" {
		t.Errorf("notes.txt = %q, %v after a refused Write", b, err)
	}
	if b, err := os.ReadFile(file); err != nil || string(b) != "a file" {
		t.Errorf("file = %q, %v after a refused Write", b, err)
	}
	entries, err := os.ReadDir(parent)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if !slices.Equal(names, []string{"file", "occupied"}) {
		t.Errorf("after refused writes the directory holds %q", names)
	}
}
