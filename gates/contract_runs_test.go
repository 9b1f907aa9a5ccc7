package gates

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rigor-dev/rigor/spec"
)

// honestRun is what the store records for the good fixture's run.
func honestRun() *RunEvidence {
	zero := 0
	return &RunEvidence{Arg: "TP-01__seed-7__attempt-1", Found: true, RunID: "TP-01__seed-7__attempt-1", Row: "TP-01", Attempt: 1,
		Status: spec.StatusCompleted, Reason: spec.ReasonNaturalExit, ExitCode: &zero, Completion: "PASS",
		WallMS: 12 * 60000, HasWall: true,
		Artifacts: map[string]bool{"raw_metrics": true, "predictions": true, "test_evidence": true, "guardrail_evidence": true},
		has:       func(rel string) bool { return rel == "guardrails/leak_check.json" || rel == "guardrail_report" }}
}

func bind(t *testing.T, m map[string]any, run *RunEvidence, pairs []PairEvidence) spec.Gate {
	t.Helper()
	c := &spec.Contract{Tree: m}
	return runContractGate(GateRunEvidence, func(a *contractAcc) { checkRunEvidence(a, c, run, pairs) })
}

func TestBindRunEvidence(t *testing.T) {
	exact := []PairEvidence{{Index: 0, First: "a", Second: "b", Bound: true, Exact: true}}
	tests := []struct {
		name    string
		mutate  func(t *testing.T, m map[string]any)
		run     func(r *RunEvidence) *RunEvidence
		pairs   []PairEvidence
		rule    string // "" means the gate passes
		loc     string
		evid    string
		mention string
	}{
		{name: "honest", pairs: exact},
		{name: "timeout claimed as completed", run: func(r *RunEvidence) *RunEvidence {
			r.Status, r.Reason, r.ExitCode, r.Completion = spec.StatusAborted, spec.ReasonTimeout, nil, "NOT_EVALUATED"
			return r
		}, pairs: exact, rule: "evidence.status_mismatch", loc: "run_status.status",
			evid: "run=TP-01__seed-7__attempt-1 field=status claimed=COMPLETED recorded=aborted (timeout)", mention: "TP-01__seed-7__attempt-1"},
		{name: "termination", run: func(r *RunEvidence) *RunEvidence { r.Reason = spec.ReasonPreempted; return r }, pairs: exact,
			rule: "evidence.termination_mismatch", loc: "run_status.termination.reason"},
		{name: "exit code", run: func(r *RunEvidence) *RunEvidence { one := 1; r.ExitCode = &one; return r }, pairs: exact,
			rule: "evidence.exit_code_mismatch", loc: "run_status.termination.exit_code", evid: "claimed=0 recorded=1"},
		{name: "attempt", run: func(r *RunEvidence) *RunEvidence { r.Attempt = 2; return r }, pairs: exact,
			rule: "evidence.attempt_mismatch", loc: "run_status.attempt"},
		{name: "matrix row", run: func(r *RunEvidence) *RunEvidence { r.Row = "TP-02"; return r }, pairs: exact,
			rule: "evidence.matrix_row_mismatch", loc: "run_status.matrix_row_id"},
		{name: "completion", run: func(r *RunEvidence) *RunEvidence { r.Completion = "FAIL"; return r }, pairs: exact,
			rule: "evidence.completion_mismatch", loc: "run_status.completion.status"},
		{name: "evidence artifact absent", run: func(r *RunEvidence) *RunEvidence { delete(r.Artifacts, "predictions"); return r }, pairs: exact,
			rule: "evidence.artifact_missing", loc: "run_status.completion.evidence_artifacts", evid: "item=predictions"},
		{name: "guardrail file absent", run: func(r *RunEvidence) *RunEvidence { r.has = func(string) bool { return false }; return r },
			pairs: exact, rule: "evidence.guardrail_missing", loc: "run_status.completion.guardrail_evidence_artifacts",
			evid: "item=guardrails/leak_check.json"},
		{name: "guardrails required, none recorded", mutate: func(t *testing.T, m map[string]any) {
			del(t, m, "run_status.completion.guardrail_evidence_artifacts")
			set(t, m, "run_status.completion.evidence_artifacts", `["raw_metrics"]`)
		}, run: func(r *RunEvidence) *RunEvidence { delete(r.Artifacts, "guardrail_evidence"); return r }, pairs: exact,
			rule: "evidence.guardrail_missing", evid: "field=guardrail_evidence"},
		{name: "walltime over budget", mutate: func(t *testing.T, m map[string]any) {
			set(t, m, "run_status.resources.walltime_minutes", `95`)
		}, run: func(r *RunEvidence) *RunEvidence { r.WallMS = 95 * 60000; return r }, pairs: exact,
			rule: "evidence.walltime_exceeded", evid: "recorded=95.00 min budget=90 min"},
		{name: "walltime understated", run: func(r *RunEvidence) *RunEvidence { r.WallMS = 40 * 60000; return r }, pairs: exact,
			rule: "evidence.walltime_mismatch", evid: "claimed=12 min recorded=40.00 min"},
		{name: "walltime within tolerance", run: func(r *RunEvidence) *RunEvidence { r.WallMS = 12*60000 + 50000; return r }, pairs: exact},
		{name: "bundle does not verify", run: func(r *RunEvidence) *RunEvidence {
			r.Problems = []string{"missing-object predictions.csv"}
			return r
		}, pairs: exact, rule: "evidence.bundle_invalid", evid: "missing-object predictions.csv"},
		{name: "not in the store", run: func(r *RunEvidence) *RunEvidence { return &RunEvidence{Arg: "TP-01__seed-7__attempt-1"} },
			pairs: exact, rule: "evidence.run_not_found", loc: "run_status.run_id"},
		{name: "unnamed", run: func(*RunEvidence) *RunEvidence { return nil }, pairs: exact, rule: "evidence.run_unnamed"},
		{name: "pair unbound", pairs: []PairEvidence{{Index: 0, Note: "no runs"}}, rule: "evidence.pair_unbound",
			loc: "reproducibility.same_seed_runs[0]"},
		{name: "pair not found", pairs: []PairEvidence{{Index: 0, First: "a", Second: "zz", Note: "zz: verify: run not found"}},
			rule: "evidence.pair_not_found"},
		{name: "pair not exact", pairs: []PairEvidence{{Index: 0, First: "a", Second: "b", Bound: true, Errors: []string{"artifact mismatch: predictions"}}},
			rule: "evidence.same_seed_mismatch", evid: "first=a second=b field=same_seed_exact claimed=true recorded=false: artifact mismatch: predictions"},
		{name: "OOM is an error ended by SIGKILL", mutate: func(t *testing.T, m map[string]any) {
			set(t, m, "run_status.status", `"FAILED"`)
			set(t, m, "run_status.termination", `{"reason": "OOM", "exit_code": null}`)
			set(t, m, "run_status.completion.status", `"NOT_EVALUATED"`)
			set(t, m, "run_status.completion.evidence_artifacts", `[]`)
			set(t, m, "run_status.completion.guardrail_evidence_artifacts", `[]`)
		}, run: func(r *RunEvidence) *RunEvidence {
			kill := 9
			r.Status, r.Reason, r.ExitCode, r.Signal, r.Completion = spec.StatusFailed, spec.ReasonError, nil, &kill, "NOT_EVALUATED"
			return r
		}, pairs: exact},
		{name: "RESUMABLE may be aborted", mutate: func(t *testing.T, m map[string]any) {
			set(t, m, "run_status.status", `"RESUMABLE"`)
			set(t, m, "run_status.termination", `{"reason": "PREEMPTED"}`)
			set(t, m, "run_status.completion.status", `"UNKNOWN"`)
			set(t, m, "run_status.completion.evidence_artifacts", `[]`)
			set(t, m, "run_status.completion.guardrail_evidence_artifacts", `[]`)
		}, run: func(r *RunEvidence) *RunEvidence {
			r.Status, r.Reason, r.ExitCode, r.Completion = spec.StatusAborted, spec.ReasonPreempted, nil, "NOT_EVALUATED"
			return r
		}, pairs: exact},
		{name: "RUNNING cannot be recorded", mutate: func(t *testing.T, m map[string]any) { set(t, m, "run_status.status", `"RUNNING"`) },
			pairs: exact, rule: "evidence.status_mismatch"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := loadTree(t, "good.json")
			if tt.mutate != nil {
				tt.mutate(t, m)
			}
			run := honestRun()
			if tt.run != nil {
				run = tt.run(run)
			}
			g := bind(t, m, run, tt.pairs)
			if tt.rule == "" {
				if g.Status != spec.GatePass {
					t.Fatalf("gate = %s %+v, want pass", g.Status, g.Findings)
				}
				return
			}
			if !g.Blocks() {
				t.Fatalf("gate = %s, want fail/critical with %s", g.Status, tt.rule)
			}
			i := slices.IndexFunc(g.Findings, func(f spec.Finding) bool { return f.Rule == tt.rule })
			if i < 0 {
				t.Fatalf("rules = %v, want %s", rules(g), tt.rule)
			}
			f := g.Findings[i]
			if tt.loc != "" && f.Loc != "tidepool-forecast:"+tt.loc {
				t.Errorf("loc = %s, want %s", f.Loc, tt.loc)
			}
			if tt.evid != "" && !strings.Contains(f.Evidence, tt.evid) {
				t.Errorf("evidence = %q, want it to contain %q", f.Evidence, tt.evid)
			}
			if tt.mention != "" && !strings.Contains(f.Issue, tt.mention) {
				t.Errorf("issue %q does not name %s", f.Issue, tt.mention)
			}
		})
	}
}

// TestBoundContractFails: the run_evidence gate makes the report fail and
// the declared decision override it.
func TestBoundContractFails(t *testing.T) {
	m := loadTree(t, "good.json")
	run := honestRun()
	run.Status, run.Reason, run.ExitCode = spec.StatusAborted, spec.ReasonTimeout, nil
	ev := bind(t, m, run, nil)
	r := CheckContract(&spec.Contract{Tree: m}, ContractOptions{Now: func() time.Time { return contractNow }, Evidence: []spec.Gate{ev}})
	if r.Status != "FAIL" || !slices.Equal(r.BlockingGates, []string{GateRunEvidence, GateDeclaredDecision}) {
		t.Errorf("status %s, blocking %v", r.Status, r.BlockingGates)
	}
	if err := r.Validate(); err != nil {
		t.Error(err)
	}
}
