package spec

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	digest "github.com/opencontainers/go-digest"
)

func validSummary() RunSummary {
	zero := 0
	return RunSummary{
		Schema: SchemaRunSummary, RunID: "EXP-01__seed-42__attempt-3", Row: "EXP-01",
		Seed: Seed{Role: "fixed_repro", Value: 42}, Attempt: 3, Ref: "runs/EXP-01/seed-42/attempt-3",
		Status: "completed", Termination: "natural_exit", ExitCode: &zero, Completion: "PASS",
		StartedAt: "2026-07-02T10:00:00.000+02:00", EndedAt: "2026-07-02T10:01:00.000+02:00", DurationMS: 60000,
		Root:   digest.Digest("blake3:" + strings.Repeat("ab", 32)),
		Config: digest.Digest("blake3:" + strings.Repeat("cd", 32)),
	}
}

func TestRunSummaryRoundTrip(t *testing.T) {
	s := validSummary()
	b, err := s.Encode()
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeRunSummary(b)
	if err != nil {
		t.Fatal(err)
	}
	b2, err := got.Encode()
	if err != nil || !bytes.Equal(b, b2) {
		t.Errorf("re-encoded %s, want %s (%v)", b2, b, err)
	}
}

func TestRunSummaryValidate(t *testing.T) {
	three := 3
	tests := []struct {
		name string
		mod  func(*RunSummary)
		want string
	}{
		{"run id and attempt disagree", func(s *RunSummary) { s.Attempt = 4 }, "disagrees"},
		{"bad run id", func(s *RunSummary) { s.RunID = "EXP-01-42" }, "is not <row>__seed-<n>__attempt-<k>"},
		{"ref", func(s *RunSummary) { s.Ref = "runs/x" }, `ref "runs/x"`},
		{"status for termination", func(s *RunSummary) { s.Termination = "timeout" }, `does not go with termination "timeout"`},
		{"completed with exit 3", func(s *RunSummary) { s.ExitCode = &three }, "does not go with"},
		{"completion", func(s *RunSummary) { s.Completion = "OK" }, `completion "OK"`},
		{"root", func(s *RunSummary) { s.Root = "sha1:00" }, "root"},
		{"seed role", func(s *RunSummary) { s.Seed.Role = "lucky" }, "seed.role"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := validSummary()
			tt.mod(&s)
			err := s.Validate()
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Validate() = %v, want ErrInvalid mentioning %q", err, tt.want)
			}
		})
	}
}

func TestDecodeRunSummaryStrict(t *testing.T) {
	v := validSummary()
	b, _ := v.Encode()
	tests := []struct {
		name string
		in   string
		want error
	}{
		{"unknown member", strings.Replace(string(b), `{"attempt"`, `{"extra":1,"attempt"`, 1), ErrUnknownField},
		{"duplicate key", strings.Replace(string(b), `{"attempt":3`, `{"attempt":3,"attempt":3`, 1), ErrSyntax},
		{"other schema", strings.Replace(string(b), SchemaRunSummary, "rigor.run_summary.v9", 1), ErrSchema},
		{"trailing data", string(b) + "{}", ErrSyntax},
	}
	for _, tt := range tests {
		if _, err := DecodeRunSummary([]byte(tt.in)); !errors.Is(err, tt.want) {
			t.Errorf("%s: err = %v, want %v", tt.name, err, tt.want)
		}
	}
}

func TestStatusFor(t *testing.T) {
	zero, one := 0, 1
	tests := []struct {
		reason string
		exit   *int
		want   string
	}{
		{"natural_exit", &zero, "completed"},
		{"natural_exit", &one, "failed"},
		{"natural_exit", nil, "failed"},
		{"error", &one, "failed"},
		{"timeout", &zero, "aborted"},
		{"max_iterations", &zero, "aborted"},
		{"user_cancel", nil, "aborted"},
		{"preempted", nil, "aborted"},
	}
	for _, tt := range tests {
		if got := StatusFor(tt.reason, tt.exit); got != tt.want {
			t.Errorf("StatusFor(%s, %v) = %s, want %s", tt.reason, tt.exit, got, tt.want)
		}
	}
}

func TestRunIDs(t *testing.T) {
	if id := RunID("EXP-01", 42, 3); id != "EXP-01__seed-42__attempt-3" {
		t.Errorf("RunID = %s", id)
	}
	if ref := RunRef("EXP-01", 42, 3); ref != "runs/EXP-01/seed-42/attempt-3" {
		t.Errorf("RunRef = %s", ref)
	}
	row, seed, attempt, ok := ParseRunID("EXP_2.b__seed-0__attempt-12")
	if !ok || row != "EXP_2.b" || seed != 0 || attempt != 12 {
		t.Errorf("ParseRunID = %q %d %d %v", row, seed, attempt, ok)
	}
	for _, bad := range []string{"", "EXP__seed-1", "EXP__seed-01__attempt-1", "EXP__seed-1__attempt-0", "a__b__seed-1__attempt-1", "a/b__seed-1__attempt-1"} {
		if _, _, _, ok := ParseRunID(bad); ok {
			t.Errorf("ParseRunID(%q) accepted", bad)
		}
	}
	for row, want := range map[string]bool{"EXP-01": true, "a": true, "-x": false, "a b": false, "a__b": false, "a/b": false, strings.Repeat("x", 129): false} {
		if got := ValidRowName(row); got != want {
			t.Errorf("ValidRowName(%q) = %v", row, got)
		}
	}
}

func TestFailureRecordValidate(t *testing.T) {
	three := 3
	f := FailureRecord{Schema: SchemaFailure, RunID: "R__seed-1__attempt-1", Status: "failed", Reason: "error", Message: "exit 3", ExitCode: &three}
	if err := f.Validate(); err != nil {
		t.Fatal(err)
	}
	f.Status = "aborted"
	if err := f.Validate(); !errors.Is(err, ErrInvalid) {
		t.Errorf("aborted with reason error validated: %v", err)
	}
	f.Status = "completed"
	if err := f.Validate(); err == nil || !strings.Contains(err.Error(), "must be failed or aborted") {
		t.Errorf("completed failure record: %v", err)
	}
}

func FuzzDecodeRunSummary(f *testing.F) {
	v := validSummary()
	b, _ := v.Encode()
	f.Add(b)
	f.Add([]byte(`{"schema":"rigor.run_summary.v1"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := DecodeRunSummary(data)
		if err != nil {
			return
		}
		// A summary that decodes re-encodes to canonical bytes that decode
		// to the same encoding.
		b1, err := s.Encode()
		if err != nil {
			t.Fatalf("decoded summary does not encode: %v", err)
		}
		s2, err := DecodeRunSummary(b1)
		if err != nil {
			t.Fatalf("canonical encoding does not decode: %v", err)
		}
		b2, _ := s2.Encode()
		if !bytes.Equal(b1, b2) {
			t.Fatalf("unstable: %s vs %s", b1, b2)
		}
	})
}
