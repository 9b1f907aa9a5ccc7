package spec

import (
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"
	"time"
)

const miniContract = `{"schema": "light.experiment_execution_contract.v1", "project": "p1",
 "run_status": {"run_id": "R__seed-1__attempt-2", "matrix_row_id": "R", "attempt": 2, "status": " completed ",
  "termination": {"reason": "natural_exit", "exit_code": 0},
  "completion": {"status": "PASS", "evidence_artifacts": ["a", 3], "guardrail_evidence_artifacts": ["g.json"]},
  "resources": {"walltime_minutes": "12.5", "cost_usd": null, "gpu_hours": 0}},
 "experiment_spec": {"budget": {"max_walltime_minutes": 90, "max_cost_usd": "UNKNOWN"},
  "failure_tree": {"requires_guardrails": false}},
 "reproducibility": {"same_seed_runs": [{"same_seed_exact": true, "comparison_locator": " c.json ",
   "first_run": "R__seed-1__attempt-1", "second_run": "R__seed-1__attempt-2"}, "junk", {"same_seed_exact": "true"}]},
 "_comment": "annotations are kept"}`

func TestDecodeContract(t *testing.T) {
	tests := []struct {
		name string
		in   string
		err  error
	}{
		{"full", miniContract, nil},
		{"byte order mark", "\ufeff{\"project\": \"x\"}", nil},
		{"no schema is accepted", `{"decision": "UNKNOWN"}`, nil},
		{"wrong schema", `{"schema": "light.experiment_execution_contract.v2"}`, ErrSchema},
		{"schema not a string", `{"schema": 1}`, ErrSchema},
		{"unknown section", `{"decison": "RUN_READY"}`, ErrUnknownField},
		{"duplicate key", `{"decision": "NOT_READY", "decision": "RUN_READY"}`, ErrSyntax},
		{"not an object", `["x"]`, ErrSyntax},
		{"trailing data", `{} {}`, ErrSyntax},
		{"empty", ``, ErrSyntax},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := DecodeContract([]byte(tt.in))
			if !errors.Is(err, tt.err) || (err == nil) != (tt.err == nil) {
				t.Fatalf("DecodeContract(%q) error = %v, want %v", tt.in, err, tt.err)
			}
			if err == nil && c.Tree == nil {
				t.Error("nil tree")
			}
		})
	}
}

func TestContractViews(t *testing.T) {
	c, err := DecodeContract([]byte(miniContract))
	if err != nil {
		t.Fatal(err)
	}
	if c.Project() != "p1" {
		t.Errorf("Project = %q", c.Project())
	}
	if p := (&Contract{Tree: map[string]any{"project": " "}}).Project(); p != "unknown-project" {
		t.Errorf("blank Project = %q, want unknown-project", p)
	}
	r := c.Run()
	if r.RunID != "R__seed-1__attempt-2" || r.MatrixRowID != "R" || r.Attempt != 2 || !r.HasAttempt ||
		r.Status != "COMPLETED" || r.Termination != "NATURAL_EXIT" || r.ExitCode == nil || *r.ExitCode != 0 ||
		r.Completion != "PASS" {
		t.Errorf("Run() = %+v", r)
	}
	if len(r.Evidence) != 2 || r.Evidence[1] != "3" || len(r.GuardrailEvidence) != 1 {
		t.Errorf("evidence = %v / %v", r.Evidence, r.GuardrailEvidence)
	}
	if r.Resources["walltime_minutes"] != 12.5 || r.Resources["gpu_hours"] != 0 {
		t.Errorf("resources = %v", r.Resources)
	}
	if _, ok := r.Resources["cost_usd"]; ok {
		t.Error("a null cost_usd must be absent")
	}
	pairs := c.SameSeedPairs()
	if len(pairs) != 2 || !pairs[0].Exact || pairs[0].ComparisonLocator != "c.json" || pairs[0].First != "R__seed-1__attempt-1" ||
		pairs[1].Index != 2 || pairs[1].Exact {
		t.Errorf("SameSeedPairs = %+v", pairs)
	}
	b := c.Budget()
	if b["max_walltime_minutes"] != 90 {
		t.Errorf("Budget = %v", b)
	}
	if _, ok := b["max_cost_usd"]; ok {
		t.Error("an UNKNOWN budget must be absent")
	}
	if c.RequiresGuardrails() {
		t.Error("requires_guardrails false is not honoured")
	}
	if !(&Contract{Tree: map[string]any{}}).RequiresGuardrails() {
		t.Error("guardrails are required without a failure tree")
	}
}

func TestContractNumber(t *testing.T) {
	tests := []struct {
		in   any
		want float64
		ok   bool
	}{
		{jsonNum("5"), 5, true},
		{jsonNum("-2.5e1"), -25, true},
		{"5", 5, true},
		{" 2.5 ", 2.5, true},
		{"1_000", 1000, true},
		{"1e3", 1000, true},
		{".5", 0.5, true},
		{"5.", 5, true},
		{"inf", math.Inf(1), true},
		{"-Infinity", math.Inf(-1), true},
		{true, 1, true},
		{false, 0, true},
		{"UNKNOWN", 0, false},
		{"", 0, false},
		{"1__0", 0, false},
		{"_1", 0, false},
		{"0x10", 0, false},
		{".", 0, false},
		{"e5", 0, false},
		{nil, 0, false},
		{[]any{jsonNum("1")}, 0, false},
	}
	for _, tt := range tests {
		got, ok := ContractNumber(tt.in)
		if ok != tt.ok || ok && got != tt.want {
			t.Errorf("ContractNumber(%#v) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
	if n, ok := ContractNumber("nan"); !ok || !math.IsNaN(n) {
		t.Errorf("ContractNumber(nan) = %v, %v", n, ok)
	}
}

func TestParseContractTime(t *testing.T) {
	utc := func(y, mo, d, h, mi, s int) time.Time { return time.Date(y, time.Month(mo), d, h, mi, s, 0, time.UTC) }
	tests := []struct {
		in   any
		want time.Time
		ok   bool
	}{
		{"2026-07-04T10:00+08:00", utc(2026, 7, 4, 2, 0, 0), true},
		{"2026-07-04T10:00:00Z", utc(2026, 7, 4, 10, 0, 0), true},
		{"2026-07-04 10:00:00-0130", utc(2026, 7, 4, 11, 30, 0), true},
		{"2026-07-04T10:00:00.250+00:00", utc(2026, 7, 4, 10, 0, 0).Add(250 * time.Millisecond), true},
		{" 2026-07-04T10+02 ", utc(2026, 7, 4, 8, 0, 0), true},
		{"2026-07-04T10:00:00", time.Time{}, false},
		{"2026-07-04", time.Time{}, false},
		{"2026-02-30T10:00:00Z", time.Time{}, false},
		{"2026-07-04T24:00:00Z", time.Time{}, false},
		{"2026-07-04T10:00:00+0", time.Time{}, false},
		{"yesterday", time.Time{}, false},
		{jsonNum("1751600000"), time.Time{}, false},
		{nil, time.Time{}, false},
	}
	for _, tt := range tests {
		got, ok := ParseContractTime(tt.in)
		if ok != tt.ok || ok && !got.Equal(tt.want) {
			t.Errorf("ParseContractTime(%#v) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
	base := utc(2026, 7, 4, 10, 0, 0)
	if IsFuture(base.Add(FutureSkew), base) || !IsFuture(base.Add(FutureSkew+time.Second), base) {
		t.Error("IsFuture must allow exactly five minutes and no more")
	}
}

func TestContractValueRules(t *testing.T) {
	for _, s := range []string{"", " ", "{{plan}}", "TODO", "tbd", "待填", "待定", "-", "—", "–", "N/A", "na", " Unknown "} {
		if !IsPlaceholder(s) || IsRealText(s) {
			t.Errorf("%q must be a placeholder", s)
		}
	}
	for _, s := range []string{"plan.json", "unknown-ish", "--", "n/a/b", "TODO: later"} {
		if IsPlaceholder(s) {
			t.Errorf("%q is not a placeholder", s)
		}
	}
	if IsRealText(jsonNum("5")) || IsRealText(nil) {
		t.Error("only strings are real text")
	}
	for _, v := range []any{nil, "", []any{}, map[string]any{}} {
		if !IsMissing(v) {
			t.Errorf("IsMissing(%#v) = false", v)
		}
	}
	for _, v := range []any{jsonNum("0"), false, " ", []any{nil}} {
		if IsMissing(v) {
			t.Errorf("IsMissing(%#v) = true", v)
		}
	}
	for v, want := range map[string]bool{`0`: false, `0.0`: false, `2`: true, `"false"`: true, `""`: false, `null`: false, `[]`: false, `[0]`: true, `false`: false, `true`: true} {
		tree, _ := ParseJSON([]byte(v))
		if got := Truthy(tree); got != want {
			t.Errorf("Truthy(%s) = %v, want %v", v, got, want)
		}
	}
	if ContractStatus(" run_ready\n") != "RUN_READY" || ContractStatus(nil) != "" || ContractStatus(true) != "TRUE" {
		t.Error("ContractStatus does not trim and upper-case")
	}
	if !IsHex64Any(" ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef0123456789 ") || IsHex64Any("sha256:abc") {
		t.Error("IsHex64Any")
	}
	h := "abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789"
	if !IsSHARef("sha256:"+h) || !IsSHARef(h) || IsSHARef("sha512:"+h) {
		t.Error("IsSHARef")
	}
	if n, ok := JSONInt(jsonNum("3")); !ok || n != 3 {
		t.Error("JSONInt(3)")
	}
	for _, v := range []any{jsonNum("3.0"), jsonNum("3e0"), true, "3"} {
		if _, ok := JSONInt(v); ok {
			t.Errorf("JSONInt(%#v) must fail", v)
		}
	}
}

func TestContractReportValidate(t *testing.T) {
	gates := []Gate{{Gate: "run_status", Status: GateFail, Severity: SeverityCritical,
		Findings: []Finding{{Loc: "p:run_status", Issue: "x", Rule: "r"}}}}
	good := ContractReport{Schema: ContractReportSchema, Project: "p", Status: "FAIL", Advancement: "BLOCK",
		Decision: "RUN_READY", BlockingGates: []string{"run_status"},
		Findings: Report{Schema: FindingsSchema, Producer: "experiment-coding", Target: "p", Verdict: VerdictFail, Gates: gates}}
	if err := good.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	b, err := good.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if want := `"blocking_gates":["run_status"]`; !strings.Contains(string(b), want) {
		t.Errorf("encoding %s lacks %s", b, want)
	}
	for name, mut := range map[string]func(r *ContractReport){
		"status contradicts verdict": func(r *ContractReport) { r.Status = "PASS" },
		"blocking gates missing":     func(r *ContractReport) { r.BlockingGates = nil },
		"wrong schema":               func(r *ContractReport) { r.Schema = "x" },
		"bad findings":               func(r *ContractReport) { r.Findings.Verdict = VerdictPass },
	} {
		r := good
		mut(&r)
		if err := r.Validate(); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: Validate = %v, want ErrInvalid", name, err)
		}
	}
}

func jsonNum(s string) json.Number { return json.Number(s) }

// FuzzDecodeContract checks that decoding never panics and that a decoded
// contract re-encodes canonically to a document that decodes to the same
// canonical bytes.
func FuzzDecodeContract(f *testing.F) {
	f.Add([]byte(miniContract))
	f.Add([]byte(`{"schema": "light.experiment_execution_contract.v1"}`))
	f.Add([]byte("\ufeff{}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := DecodeContract(data)
		if err != nil {
			return
		}
		canon, err := Canonical(c.Tree)
		if err != nil {
			t.Fatalf("Canonical: %v", err)
		}
		c2, err := DecodeContract(canon)
		if err != nil {
			t.Fatalf("canonical form does not decode: %v", err)
		}
		canon2, _ := Canonical(c2.Tree)
		if string(canon) != string(canon2) {
			t.Fatalf("canonical form not stable:\n%s\n%s", canon, canon2)
		}
		_ = c.Run()
		_ = c.SameSeedPairs()
		_ = c.Budget()
	})
}
