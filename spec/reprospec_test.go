package spec

import (
	"slices"
	"testing"
)

func TestDecodeReproSpec(t *testing.T) {
	good := `{"project": "p", "code": "", "code_files": ["a.py"], "_leakage_format": "x",
		"leakage": {"csv": "d.csv", "split_col": "fold", "cols": "a, b,,c", "bins": 10, "rtol": 0.01}}`
	rs, err := DecodeReproSpec([]byte(good))
	if err != nil {
		t.Fatal(err)
	}
	if !rs.HasCode || rs.InlineName() != "<inline>" || rs.Name() != "p" || !slices.Equal(rs.Leakage.Cols, []string{"a", "b", "c"}) ||
		rs.Leakage.Bins != 10 || rs.Leakage.RTol != 0.01 {
		t.Errorf("decoded = %+v %+v", rs, rs.Leakage)
	}
	if rs, _ := DecodeReproSpec([]byte(`{"leakage": {"train": "a", "test": "b"}}`)); rs.Leakage.Bins != 20 || rs.Leakage.RTol != 1e-3 || rs.HasCode || rs.Name() != "unnamed" {
		t.Errorf("defaults = %+v", rs.Leakage)
	}
	for _, bad := range []string{"\ufeff{}", `[]`, `{"projet": "x"}`, `{"code": 5}`, `{"code_files": "a.py"}`,
		`{"leakage": []}`, `{"leakage": {"bins": 0}}`, `{"leakage": {"rtol": "1e-3"}}`, `{"leakage": {"folds": 3}}`} {
		if _, err := DecodeReproSpec([]byte(bad)); err == nil {
			t.Errorf("DecodeReproSpec(%q) accepted", bad)
		}
	}
}

// FuzzDecodeReproSpec checks that decoding never panics and that what it
// accepts has sane defaults.
func FuzzDecodeReproSpec(f *testing.F) {
	f.Add([]byte(`{"project": "p", "code": "import os\n", "leakage": {"csv": "d.csv", "split_col": "s", "cols": "a,b"}}`))
	f.Add([]byte(`{"code_files": ["a.py", "b"], "leakage": {"train": "a", "test": "b", "bins": 3, "rtol": 0.5}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		rs, err := DecodeReproSpec(data)
		if err != nil {
			return
		}
		if rs.Name() == "" || rs.InlineName() == "" {
			t.Fatal("empty project or inline name")
		}
		if l := rs.Leakage; l != nil && (l.Bins < 1 || !(l.RTol > 0)) {
			t.Fatalf("leakage defaults: %+v", l)
		}
	})
}
