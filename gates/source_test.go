package gates

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestNotebookSources(t *testing.T) {
	nb := `{"cells": [
 {"cell_type": "markdown", "source": ["# title\n"]},
 {"cell_type": "code", "source": ["%matplotlib inline\n", "import numpy as np\n", "x = !ls\n", "for i in range(3):\n", "    !echo $i\n"]},
 {"cell_type": "code", "source": "%%bash\nls -l"},
 {"cell_type": "code", "source": "%%time\ny = np.ones(3)\nnp.mean?"},
 {"cell_type": "raw", "source": "not code"}
], "metadata": {"kernelspec": {"language": "python"}}, "nbformat": 4}`
	got, err := NotebookSources("nb.ipynb", []byte(nb))
	if err != nil {
		t.Fatal(err)
	}
	want := []Source{
		{Path: "nb.ipynb", Cell: 2, Text: []byte("pass\nimport numpy as np\npass\nfor i in range(3):\n    pass\n")},
		{Path: "nb.ipynb", Cell: 3, Text: []byte("\n")},
		{Path: "nb.ipynb", Cell: 4, Text: []byte("\ny = np.ones(3)\npass")},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d sources, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		if got[i].Path != want[i].Path || got[i].Cell != want[i].Cell || string(got[i].Text) != string(want[i].Text) {
			t.Errorf("source %d = %q cell %d %q, want cell %d %q", i, got[i].Path, got[i].Cell, got[i].Text, want[i].Cell, want[i].Text)
		}
	}
	// Every cell parses once the magics are blanked.
	res := mustScan(t, Review, got)
	if len(res.Findings) != 0 {
		t.Errorf("findings:\n%s", describe(res.Findings))
	}
}

func TestNotebookErrors(t *testing.T) {
	tests := []struct {
		name, in string
		ok       bool
		n        int
	}{
		{"not json", "{", false, 0},
		{"no cells", `{"metadata": {}}`, false, 0},
		{"bad source", `{"cells": [{"cell_type": "code", "source": 3}]}`, false, 0},
		{"other language", `{"cells": [{"cell_type": "code", "source": "x <- 1"}], "metadata": {"language_info": {"name": "R"}}}`, true, 0},
		{"nbformat 3", `{"worksheets": [{"cells": [{"cell_type": "code", "input": ["x = 1\n"]}]}]}`, true, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := NotebookSources("n.ipynb", []byte(tt.in))
			if tt.ok != (err == nil) {
				t.Fatalf("err = %v, want ok=%v", err, tt.ok)
			}
			if err != nil && !errors.Is(err, ErrNotebook) {
				t.Errorf("err = %v, want ErrNotebook", err)
			}
			if len(got) != tt.n {
				t.Errorf("%d sources, want %d", len(got), tt.n)
			}
		})
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"a.py":                       "x = 1\n",
		"pkg/b.py":                   "y = 2\n",
		"pkg/notes.txt":              "not python",
		".venv/lib/c.py":             "skipped",
		"pkg/__pycache__/d.py":       "skipped",
		"nb/e.ipynb":                 `{"cells": [{"cell_type": "code", "source": "z = 3"}]}`,
		"nb/.ipynb_checkpoints/e.py": "skipped",
	}
	for name, text := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := Load(t.Context(), []string{dir, filepath.Join(dir, "a.py"), filepath.Join(dir, "missing.py"), filepath.Join(dir, "pkg/notes.txt")})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range got {
		rel, _ := filepath.Rel(dir, s.Path)
		if s.Err != nil {
			rel += " (error)"
		}
		if s.Cell > 0 {
			rel += ":cell"
		}
		names = append(names, rel)
	}
	want := []string{"a.py", "missing.py (error)", "nb/e.ipynb:cell", "pkg/b.py"}
	if !slices.Equal(names, want) {
		t.Errorf("Load = %v, want %v", names, want)
	}
}

func TestLoadTooLarge(t *testing.T) {
	p := filepath.Join(t.TempDir(), "big.py")
	if err := os.WriteFile(p, []byte(strings.Repeat("#", MaxFileSize+1)), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := Load(t.Context(), []string{p})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || !errors.Is(got[0].Err, ErrTooLarge) {
		t.Fatalf("Load = %+v, want one source with ErrTooLarge", got)
	}
}

func TestParseLocations(t *testing.T) {
	tests := []struct {
		name      string
		src       string
		line, col int
		msg       string
	}{
		{"unclosed parameter list", "x = 1\ndef f(:\n    pass\n", 2, 7, `missing ")"`},
		{"python 2 print", "print 'hello'\n", 1, 1, "Python 2 print statement"},
		{"missing bracket", "x = [1, 2\ny = 3\n", 0, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := mustScan(t, Review, srcs("f.py", tt.src))
			if len(res.Findings) != 1 || res.Findings[0].Rule != ClassSyntaxError {
				t.Fatalf("findings:\n%s", describe(res.Findings))
			}
			f := res.Findings[0]
			if tt.line > 0 && (f.Loc.Line != tt.line || f.Loc.Col != tt.col || !strings.Contains(f.Issue, tt.msg)) {
				t.Errorf("syntax error at %d:%d %q, want %d:%d %q", f.Loc.Line, f.Loc.Col, f.Issue, tt.line, tt.col, tt.msg)
			}
		})
	}
	// Columns count characters, not bytes.
	res := mustScan(t, Review, srcs("u.py", "étiquette = 1; import os; os.system('x')\n"))
	if len(res.Findings) != 1 || res.Findings[0].Loc.Col != 27 {
		t.Errorf("findings:\n%s", describe(res.Findings))
	}
}

// TestNotebookAcrossCells: the cells of a notebook are one program, a
// broken cell is reported and left out, and locations name the cell.
func TestNotebookAcrossCells(t *testing.T) {
	nb := `{"cells": [
 {"cell_type": "code", "source": "import numpy as np\nfrom sklearn.preprocessing import StandardScaler\nfrom sklearn.model_selection import train_test_split\nX = np.load('x.npy')"},
 {"cell_type": "code", "source": "X = StandardScaler().fit_transform(X)"},
 {"cell_type": "code", "source": "def broken(:\n    pass"},
 {"cell_type": "markdown", "source": "notes"},
 {"cell_type": "code", "source": "X_tr, X_te = train_test_split(X)"}
], "metadata": {}}`
	srcs, err := NotebookSources("nb.ipynb", []byte(nb))
	if err != nil {
		t.Fatal(err)
	}
	res := mustScan(t, Review, srcs)
	var got []string
	for _, f := range res.Findings {
		got = append(got, f.Loc.String()+" "+f.Rule)
	}
	want := []string{"nb.ipynb:cell 2:1:5 DATA-LEAKAGE", "nb.ipynb:cell 3:1:12 SYNTAX-ERROR"}
	if !slices.Equal(got, want) {
		t.Errorf("findings = %q, want %q\n%s", got, want, describe(res.Findings))
	}
	if !strings.Contains(res.Findings[0].Issue, "cell 5 line 1") {
		t.Errorf("issue does not name the cell of the split: %s", res.Findings[0].Issue)
	}
}
