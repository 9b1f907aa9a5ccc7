package ingest

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	digest "github.com/opencontainers/go-digest"

	"github.com/rigor-dev/rigor/spec"
)

func lightSchema(t *testing.T) *Schema {
	t.Helper()
	raw, err := spec.Schema(spec.LightExperimentConfig)
	if err != nil {
		t.Fatal(err)
	}
	s, err := CompileSchema(raw)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

const rowJSON = `{
  "matrix_row": "EXP-07",
  "frozen_plan_sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
  "seed": {"role": "randomness_estimation", "value": 7},
  "data": {"path": "data/cohort.parquet", "sha256": "2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae",
           "source_revision": "cohort-2024.03", "split_id": "patient-kfold-v2"},
  "features": {"baseline": ["age", "sex"], "candidate_additions": []},
  "model": {"name": "gbm", "hyperparameters": {"lr": 0.05, "depth": 6, "l2": 1.0e-3}},
  "evaluation": {"unit": "patient", "primary_metric": "auroc", "folds": 10},
  "runtime": {"device": "cuda:0", "dtype": "float32", "mixed_precision": true}
}`

const rowYAML = `# the same row, in YAML, keys in another order
seed: {value: 7, role: randomness_estimation}
matrix_row: EXP-07
frozen_plan_sha256: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
data:
  path: data/cohort.parquet
  sha256: 2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae
  source_revision: cohort-2024.03
  split_id: patient-kfold-v2
features:
  baseline: [age, sex]
  candidate_additions: []
model:
  name: gbm
  hyperparameters: {depth: 6, lr: 0.050, l2: 0.001}
evaluation: {unit: patient, primary_metric: auroc, folds: 10}
runtime: {device: "cuda:0", dtype: float32, mixed_precision: true}
`

func TestRecordConfigJSONAndYAMLAgree(t *testing.T) {
	s := newTestStore(t)
	in := New(s, Options{})
	sch := lightSchema(t)
	j, err := in.RecordConfig(t.Context(), []byte(rowJSON), ConfigOptions{Path: "configs/exp07.json", Schema: sch})
	if err != nil {
		t.Fatal(err)
	}
	y, err := in.RecordConfig(t.Context(), []byte(rowYAML), ConfigOptions{Path: "configs/exp07.yaml", Schema: sch})
	if err != nil {
		t.Fatal(err)
	}
	if j.Record.Canonical != y.Record.Canonical {
		t.Errorf("JSON and YAML of one config differ in canonical form:\n%s\n%s", j.Canonical, y.Canonical)
	}
	if j.Record.Source == y.Record.Source || j.Record.Format != "json" || y.Record.Format != "yaml" {
		t.Errorf("records: %+v / %+v", j.Record, y.Record)
	}
	want := `{"data":{"path":"data/cohort.parquet","sha256":"2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae","source_revision":"cohort-2024.03","split_id":"patient-kfold-v2"},` +
		`"evaluation":{"folds":10,"primary_metric":"auroc","unit":"patient"},"features":{"baseline":["age","sex"],"candidate_additions":[]},` +
		`"frozen_plan_sha256":"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08","matrix_row":"EXP-07",` +
		`"model":{"hyperparameters":{"depth":6,"l2":0.001,"lr":0.05},"name":"gbm"},` +
		`"runtime":{"device":"cuda:0","dtype":"float32","mixed_precision":true},"seed":{"role":"randomness_estimation","value":7}}`
	if string(j.Canonical) != want {
		t.Errorf("canonical form:\n%s\nwant:\n%s", j.Canonical, want)
	}
	if got := readBlob(t, s, j.Record.Canonical.Digest); !bytes.Equal(got, j.Canonical) {
		t.Errorf("stored canonical bytes differ")
	}
	if got := readBlob(t, s, j.Record.Source.Digest); string(got) != rowJSON {
		t.Errorf("stored source bytes differ")
	}
	if v := j.Record.ValidatedAgainst; v == nil || v.ID != "https://light.local/schemas/experiment-config.v1.json" {
		t.Errorf("validated_against = %+v", v)
	}
	rec, err := spec.DecodeConfigRecord(readBlob(t, s, j.Digest))
	if err != nil || rec.Canonical != j.Record.Canonical {
		t.Errorf("stored record: %+v, %v", rec, err)
	}
}

func TestRecordConfigSchemaViolations(t *testing.T) {
	bad := `{
  "matrix_row": "",
  "frozen_plan_sha256": "ABC",
  "seed": {"role": "lucky", "value": -1},
  "data": {"path": "d.csv", "sha256": "0000000000000000000000000000000000000000000000000000000000000000", "source_revision": "r1"},
  "features": {"baseline": [], "candidate_additions": ["x", 3]},
  "model": [],
  "evaluation": {"unit": "patient", "primary_metric": "brier", "folds": 1.5, "extra": true},
  "runtime": {"device": "cpu", "dtype": "float64", "mixed_precision": "no"},
  "notes": "not allowed"
}`
	s := newTestStore(t)
	_, err := New(s, Options{}).RecordConfig(t.Context(), []byte(bad), ConfigOptions{Schema: lightSchema(t)})
	var ce *ConfigError
	if !errors.As(err, &ce) || !errors.Is(err, ErrConfigInvalid) {
		t.Fatalf("err = %v, want a *ConfigError", err)
	}
	want := map[string]string{
		"":                                "additional properties 'notes' not allowed",
		"/data":                           "missing property 'split_id'",
		"/evaluation":                     "additional properties 'extra' not allowed",
		"/evaluation/folds":               "got number, want integer",
		"/features/baseline":              "minItems: got 0, want 1",
		"/features/candidate_additions/1": "got number, want string",
		"/frozen_plan_sha256":             "does not match pattern",
		"/matrix_row":                     "minLength: got 0, want 1",
		"/model":                          "got array, want object",
		"/runtime/mixed_precision":        "got string, want boolean",
		"/seed/role":                      "value must be one of",
		"/seed/value":                     "minimum: got -1, want 0",
	}
	got := map[string]string{}
	for _, p := range ce.Problems {
		got[p.Pointer] = p.Reason
	}
	for ptr, reason := range want {
		if !strings.Contains(got[ptr], reason) {
			t.Errorf("pointer %q: reason %q, want one containing %q", ptr, got[ptr], reason)
		}
	}
	if len(got) != len(want) {
		t.Errorf("%d failing pointers, want %d:\n%v", len(got), len(want), err)
	}
	lines := strings.Split(err.Error(), "\n")
	if len(lines) != 1+len(ce.Problems) || !strings.Contains(lines[0], "(12 problems)") || lines[1] != "  (root): "+got[""] {
		t.Errorf("error text:\n%v", err)
	}
	// Nothing was stored.
	if _, err := s.Stat(t.Context(), mustDigest(t, bad)); err == nil {
		t.Error("the rejected config's bytes were stored")
	}
}

func mustDigest(t *testing.T, s string) digest.Digest {
	t.Helper()
	r, err := New(newTestStore(t), Options{}).putBytes(t.Context(), []byte(s), false)
	if err != nil {
		t.Fatal(err)
	}
	return r.Digest
}

func TestParseConfigErrors(t *testing.T) {
	tests := []struct {
		name, format, in, want string
	}{
		{"json duplicate key", "json", `{"a":1,"a":2}`, `duplicate key "a"`},
		{"json trailing", "json", `{"a":1} {}`, "data after the top-level value"},
		{"json syntax", "json", `{"a":}`, "malformed JSON"},
		{"yaml duplicate key", "yaml", "a: 1\na: 2\n", `duplicate key "a"`},
		{"yaml non-string key", "yaml", "1: one\n", "is not a string"},
		{"yaml merge key", "yaml", "base: &b {x: 1}\nrow:\n  <<: *b\n", "merge keys"},
		{"yaml two documents", "yaml", "a: 1\n---\nb: 2\n", "more than one YAML document"},
		{"yaml nan", "yaml", "lr: .nan\n", "not a JSON number"},
		{"yaml custom tag", "yaml", "x: !thing 3\n", "no JSON equivalent"},
		{"yaml empty", "yaml", "", "empty YAML document"},
		{"unknown format", "toml", "a = 1", "unknown format"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseConfig([]byte(tt.in), tt.format)
			if !errors.Is(err, ErrConfigSyntax) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("ParseConfig(%q) = %v, want ErrConfigSyntax containing %q", tt.in, err, tt.want)
			}
		})
	}
}

func TestParseConfigYAMLValues(t *testing.T) {
	v, err := ParseConfig([]byte("a: &x [1, 0x10, 1.5e3, true, null, ~, 2024-01-02, 'str']\nb: *x\nbig: 18446744073709551615\n"), "yaml")
	if err != nil {
		t.Fatal(err)
	}
	got, err := spec.Canonical(v)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"a":[1,16,1500,true,null,null,"2024-01-02","str"],"b":[1,16,1500,true,null,null,"2024-01-02","str"],"big":18446744073709551615}`
	if string(got) != want {
		t.Errorf("YAML values:\n%s\nwant\n%s", got, want)
	}
	for name, want := range map[string]string{"c.json": "json", "c.YML": "yaml", "c.yaml": "yaml"} {
		if got := ConfigFormat(name, nil); got != want {
			t.Errorf("ConfigFormat(%q) = %s, want %s", name, got, want)
		}
	}
	if ConfigFormat("", []byte("  {\"a\":1}")) != "json" || ConfigFormat("", []byte("a: 1")) != "yaml" {
		t.Error("ConfigFormat does not sniff")
	}
}

func TestCompileSchemaErrors(t *testing.T) {
	for _, raw := range []string{`{`, `{"type": 12}`, `{"$ref": "https://example.com/other.json"}`} {
		if _, err := CompileSchema([]byte(raw)); !errors.Is(err, ErrSchemaInvalid) {
			t.Errorf("CompileSchema(%s) = %v, want ErrSchemaInvalid", raw, err)
		}
	}
}

// FuzzParseConfig: whatever ParseConfig accepts, as JSON or YAML, has a
// canonical form that parses back to itself.
func FuzzParseConfig(f *testing.F) {
	f.Add([]byte(rowYAML), false)
	f.Add([]byte(rowJSON), true)
	f.Add([]byte("a: &x [1, 0x10, 1.5e3]\nb: *x\n"), false)
	f.Fuzz(func(t *testing.T, data []byte, isJSON bool) {
		format := "yaml"
		if isJSON {
			format = "json"
		}
		v, err := ParseConfig(data, format)
		if err != nil {
			return
		}
		c1, err := spec.Canonical(v)
		if err != nil {
			return // e.g. a YAML float too large for JSON
		}
		v2, err := ParseConfig(c1, "json")
		if err != nil {
			t.Fatalf("canonical form does not parse: %v\n%s", err, c1)
		}
		c2, err := spec.Canonical(v2)
		if err != nil || !bytes.Equal(c1, c2) {
			t.Fatalf("canonical form is not stable:\n%s\n%s", c1, c2)
		}
	})
}
