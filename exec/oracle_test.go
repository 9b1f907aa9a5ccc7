package exec

import (
	"strings"
	"testing"

	"github.com/rigor-dev/rigor/spec"
)

func TestCheckMetrics(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in    string
		wantRecords int
		wantProblem string // substring; "" means none
	}{
		{"ok", "{\"loss\": 0.5}\n{\"loss\": 0.25, \"acc\": [1, 2]}\n", 2, ""},
		{"no final newline", "{\"loss\": 0.5}", 1, ""},
		{"blank lines", "\n{\"a\": 1}\n\n", 1, ""},
		{"empty", "", 0, "no metric records"},
		{"python NaN", "{\"loss\": 0.5}\n{\"loss\": NaN}\n", 1, "line 2: holds NaN"},
		{"python Infinity", "{\"loss\": [1, -Infinity]}\n", 0, "holds -Infinity"},
		{"overflow", "{\"loss\": 1e999}\n", 0, "loss 1e999 overflows to Inf"},
		{"nan string", "{\"m\": {\"loss\": \"nan\"}}\n", 0, "m.loss holds the string \"nan\""},
		{"NaN inside a string is fine", "{\"note\": \"NaN guard on\"}\n", 1, ""},
		{"not json", "loss=0.5\n", 0, "line 1: not JSON"},
		{"word starting with inf", "{\"a\": info}\n", 0, "not JSON"},
		{"two values", "{\"a\": 1} {\"b\": 2}\n", 0, "more than one JSON value"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, problem, err := checkMetrics(strings.NewReader(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if n != tt.wantRecords {
				t.Errorf("records = %d, want %d", n, tt.wantRecords)
			}
			if tt.wantProblem == "" && problem != "" || !strings.Contains(problem, tt.wantProblem) {
				t.Errorf("problem = %q, want %q", problem, tt.wantProblem)
			}
		})
	}
}

func TestCheckMetricsLongLine(t *testing.T) {
	t.Parallel()
	in := "{\"a\": \"" + strings.Repeat("x", maxMetricsLineLength) + "\"}\n"
	_, problem, err := checkMetrics(strings.NewReader(in))
	if err != nil || !strings.Contains(problem, "longer than") {
		t.Errorf("problem = %q, err = %v", problem, err)
	}
}

func TestJudge(t *testing.T) {
	t.Parallel()
	zero, three := 0, 3
	pass := []spec.OracleCheck{{Name: "a", Status: "PASS"}}
	fail := []spec.OracleCheck{{Name: "a", Status: "PASS"}, {Name: "b", Status: "FAIL"}}
	tests := []struct {
		reason        string
		exit          *int
		checks        []spec.OracleCheck
		status, compl string
	}{
		{"natural_exit", &zero, pass, "completed", "PASS"},
		{"natural_exit", &zero, fail, "completed", "FAIL"},
		{"natural_exit", &zero, nil, "completed", "NOT_EVALUATED"},
		{"error", &three, pass, "failed", "NOT_EVALUATED"},
		{"error", nil, pass, "failed", "NOT_EVALUATED"},
		{"timeout", nil, pass, "aborted", "NOT_EVALUATED"},
		{"timeout", &zero, pass, "aborted", "NOT_EVALUATED"},
		{"max_iterations", &zero, pass, "aborted", "NOT_EVALUATED"},
		{"user_cancel", &zero, pass, "aborted", "NOT_EVALUATED"},
	}
	for _, tt := range tests {
		status, compl := judge(tt.reason, tt.exit, tt.checks)
		if status != tt.status || compl != tt.compl {
			t.Errorf("judge(%s, %v, %d checks) = %s, %s; want %s, %s", tt.reason, tt.exit, len(tt.checks), status, compl, tt.status, tt.compl)
		}
	}
}
