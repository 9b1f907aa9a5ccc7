package gates

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzNotebookSources: the notebook decoder never panics, and whatever it
// accepts yields sources that scan.
func FuzzNotebookSources(f *testing.F) {
	f.Add([]byte(`{"cells": [{"cell_type": "code", "source": ["%time x = 1\n", "y = !ls"]}], "metadata": {}}`))
	f.Add([]byte(`{"worksheets": [{"cells": [{"cell_type": "code", "input": "x"}]}]}`))
	nbs, _ := filepath.Glob("testdata/corpus/*.ipynb")
	for _, p := range nbs {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		srcs, err := NotebookSources("f.ipynb", data)
		if err != nil {
			return
		}
		for _, s := range srcs {
			if s.Cell < 1 || s.Path != "f.ipynb" {
				t.Fatalf("bad source %+v", s)
			}
		}
		if _, err := Review(t.Context(), srcs, Options{Concurrency: 1}); err != nil {
			t.Fatal(err)
		}
	})
}

// FuzzScan: no Python text makes the parser or an analysis panic or fail,
// and every report validates.
func FuzzScan(f *testing.F) {
	f.Add([]byte("def f(:\n"))
	f.Add([]byte(leakHead + "X = StandardScaler().fit_transform(np.load('x'))\nfor a, (b, *c) in enumerate(train_test_split(X)):\n    d[a] = b\n"))
	progs, _ := filepath.Glob("testdata/corpus/*.py")
	for _, p := range progs {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		srcs := []Source{{Path: "f.py", Text: data}}
		for _, fn := range []scanFunc{Review, Seeds, Leakage} {
			res, err := fn(t.Context(), srcs, Options{Concurrency: 1})
			if err != nil {
				t.Fatal(err)
			}
			if err := res.Report.Validate(); err != nil {
				t.Fatalf("report does not validate: %v", err)
			}
		}
	})
}
