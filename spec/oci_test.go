package spec

import (
	"errors"
	"regexp"
	"strings"
	"testing"

	digest "github.com/opencontainers/go-digest"
)

var tagGrammar = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$`)

func TestOCITag(t *testing.T) {
	long := strings.Repeat("r", 128)
	tests := []struct {
		runID string
		want  string // "" means: sanitised, checked by prefix and grammar only
		pfx   string
	}{
		{"EXP-01__seed-42__attempt-1", "EXP-01__seed-42__attempt-1", ""},
		{"a.b_c-d__seed-0__attempt-9", "a.b_c-d__seed-0__attempt-9", ""},
		{"lr=0.1/a__seed-1__attempt-2", "", "lr-0.1-a__seed-1__attempt-2-"},
		{".hidden", "", "_hidden-"},
		{"-x", "", "_x-"},
		{"", "", "_"},
		{long + "__seed-1__attempt-1", "", long[:115] + "-"},
	}
	seen := map[string]string{}
	for _, tt := range tests {
		got := OCITag(tt.runID)
		if !tagGrammar.MatchString(got) {
			t.Errorf("OCITag(%q) = %q, not a valid tag", tt.runID, got)
		}
		switch {
		case tt.want != "" && got != tt.want:
			t.Errorf("OCITag(%q) = %q, want %q", tt.runID, got, tt.want)
		case tt.want == "" && (!strings.HasPrefix(got, tt.pfx) || len(got) > MaxOCITag):
			t.Errorf("OCITag(%q) = %q, want prefix %q and at most %d characters", tt.runID, got, tt.pfx, MaxOCITag)
		}
		if other, dup := seen[got]; dup {
			t.Errorf("OCITag(%q) = OCITag(%q) = %q", tt.runID, other, got)
		}
		seen[got] = tt.runID
	}
	// Two run ids that sanitise alike get distinct tags.
	if OCITag("a/b__seed-1__attempt-1") == OCITag("a:b__seed-1__attempt-1") {
		t.Error("distinct run ids share a tag")
	}
}

func validEntries() *RunIndexEntries {
	root := digest.Digest("blake3:" + strings.Repeat("a", 64))
	exit := 0
	return &RunIndexEntries{
		RunID: "EXP-01__seed-1__attempt-1",
		Ref:   "runs/EXP-01/seed-1/attempt-1",
		Root:  root,
		Summary: &RunSummary{Schema: SchemaRunSummary, RunID: "EXP-01__seed-1__attempt-1", Row: "EXP-01", Seed: Seed{Value: 1, Role: "fixed_repro"},
			Attempt: 1, Ref: "runs/EXP-01/seed-1/attempt-1", Status: "completed", Termination: "natural_exit", ExitCode: &exit,
			Completion: "PASS", StartedAt: "2026-01-01T00:00:00Z", EndedAt: "2026-01-01T00:00:01Z", DurationMS: 1000, Root: root,
			Config: digest.Digest("blake3:" + strings.Repeat("b", 64))},
		LineageIn:  []IndexEntry{{Content: "sha256:" + strings.Repeat("c", 64), Link: LineageLink{Kind: LineageInput, Role: "data", Path: "inputs/data/x.csv"}}},
		LineageOut: []IndexEntry{{Content: "blake3:" + strings.Repeat("d", 64), Link: LineageLink{Name: "predictions", Path: "predictions.csv"}}},
	}
}

func TestRunIndexEntries(t *testing.T) {
	e := validEntries()
	b, err := e.Encode()
	if err != nil {
		t.Fatal(err)
	}
	back, err := DecodeRunIndexEntries(b)
	if err != nil {
		t.Fatal(err)
	}
	b2, err := back.Encode()
	if err != nil || string(b2) != string(b) {
		t.Errorf("round trip: %v\n%s\n%s", err, b, b2)
	}
	bad := []struct {
		name string
		edit func(e *RunIndexEntries)
		msg  string
	}{
		{"run id", func(e *RunIndexEntries) { e.RunID = "EXP-01" }, "run_id"},
		{"ref", func(e *RunIndexEntries) { e.Ref = "runs/EXP-01/seed-2/attempt-1" }, "ref"},
		{"root", func(e *RunIndexEntries) { e.Root = "sha256:" + digest.Digest(strings.Repeat("a", 64)) }, "root"},
		{"summary of another run", func(e *RunIndexEntries) { e.Summary.Root = "blake3:" + digest.Digest(strings.Repeat("e", 64)) }, "summary names"},
		{"lineage digest", func(e *RunIndexEntries) { e.LineageIn[0].Content = "md5:x" }, "lineage_in[0]"},
		{"lineage path", func(e *RunIndexEntries) { e.LineageOut[0].Link.Path = "../escape" }, "lineage_out[0]"},
	}
	for _, tt := range bad {
		e := validEntries()
		tt.edit(e)
		_, err := e.Encode()
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tt.msg) {
			t.Errorf("%s: Encode = %v, want ErrInvalid mentioning %q", tt.name, err, tt.msg)
		}
	}
	if _, err := DecodeRunIndexEntries([]byte(strings.Replace(string(b), `"ref"`, `"extra":1,"ref"`, 1))); !errors.Is(err, ErrUnknownField) {
		t.Errorf("unknown member: %v", err)
	}
}

func FuzzDecodeRunIndexEntries(f *testing.F) {
	b, err := validEntries().Encode()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add([]byte(`{"schema":"rigor.run_index.v1"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		e, err := DecodeRunIndexEntries(data)
		if err != nil {
			return
		}
		enc, err := e.Encode()
		if err != nil {
			t.Fatalf("decoded entries do not encode: %v", err)
		}
		again, err := DecodeRunIndexEntries(enc)
		if err != nil {
			t.Fatalf("re-decode: %v", err)
		}
		enc2, _ := again.Encode()
		if string(enc2) != string(enc) {
			t.Fatalf("encoding not stable:\n%s\n%s", enc, enc2)
		}
	})
}
