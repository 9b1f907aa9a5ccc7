package gates

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rigor-dev/rigor/spec"
)

// contractNow is the clock of the contract tests: after every fixture's
// frozen_at.
var contractNow = time.Date(2026, 7, 10, 12, 0, 0, 0, time.UTC)

// loadTree reads a fixture of testdata/contract as a JSON tree.
func loadTree(t *testing.T, name string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "contract", name))
	if err != nil {
		t.Fatal(err)
	}
	c, err := spec.DecodeContract(b)
	if err != nil {
		t.Fatalf("DecodeContract(%s): %v", name, err)
	}
	return c.Tree
}

// lit parses a JSON literal into a tree value.
func lit(t *testing.T, s string) any {
	t.Helper()
	v, err := spec.ParseJSON([]byte(s))
	if err != nil {
		t.Fatalf("lit(%s): %v", s, err)
	}
	return v
}

// walkTo returns the container holding the last element of a dotted path
// ("run_status.termination.reason", "experiment_spec.matrix_rows.0.row_id")
// and that element's key.
func walkTo(t *testing.T, tree map[string]any, path string) (any, string) {
	t.Helper()
	parts := strings.Split(path, ".")
	var cur any = tree
	for _, p := range parts[:len(parts)-1] {
		switch c := cur.(type) {
		case map[string]any:
			cur = c[p]
		case []any:
			i, err := strconv.Atoi(p)
			if err != nil || i >= len(c) {
				t.Fatalf("path %s: bad index %s", path, p)
			}
			cur = c[i]
		default:
			t.Fatalf("path %s: %s is not a container", path, p)
		}
	}
	return cur, parts[len(parts)-1]
}

// set sets the member at path to the JSON literal v.
func set(t *testing.T, tree map[string]any, path, v string) {
	t.Helper()
	c, k := walkTo(t, tree, path)
	switch c := c.(type) {
	case map[string]any:
		c[k] = lit(t, v)
	case []any:
		i, _ := strconv.Atoi(k)
		c[i] = lit(t, v)
	default:
		t.Fatalf("set %s: parent is not a container", path)
	}
}

// del removes the member at path.
func del(t *testing.T, tree map[string]any, path string) {
	t.Helper()
	c, k := walkTo(t, tree, path)
	m, ok := c.(map[string]any)
	if !ok {
		t.Fatalf("del %s: parent is not an object", path)
	}
	delete(m, k)
}

// appendTo appends the JSON literal v to the list at path.
func appendTo(t *testing.T, tree map[string]any, path, v string) {
	t.Helper()
	c, k := walkTo(t, tree, path)
	m := c.(map[string]any)
	m[k] = append(m[k].([]any), lit(t, v))
}

func checkTree(t *testing.T, tree map[string]any) *spec.ContractReport {
	t.Helper()
	r := CheckContract(&spec.Contract{Tree: tree}, ContractOptions{Now: func() time.Time { return contractNow }})
	if err := r.Validate(); err != nil {
		t.Fatalf("report does not validate: %v", err)
	}
	return r
}

func gateOf(t *testing.T, r *spec.ContractReport, name string) spec.Gate {
	t.Helper()
	for _, g := range r.Findings.Gates {
		if g.Gate == name {
			return g
		}
	}
	t.Fatalf("no gate %s in %v", name, gateNames(r))
	return spec.Gate{}
}

func gateNames(r *spec.ContractReport) []string {
	var out []string
	for _, g := range r.Findings.Gates {
		out = append(out, g.Gate)
	}
	return out
}

func rules(g spec.Gate) []string {
	var out []string
	for _, f := range g.Findings {
		out = append(out, f.Rule)
	}
	return out
}

func allRules(r *spec.ContractReport) []string {
	var out []string
	for _, g := range r.Findings.Gates {
		out = append(out, rules(g)...)
	}
	return out
}

func TestContractGoodFixture(t *testing.T) {
	r := checkTree(t, loadTree(t, "good.json"))
	if r.Status != spec.ContractWarn || r.Advancement != spec.AdvanceWithLimitations {
		t.Fatalf("status/advancement = %s/%s, want WARN/ALLOW_WITH_LIMITATIONS; findings %v", r.Status, r.Advancement, allRules(r))
	}
	if r.Findings.Schema != spec.FindingsSchema || r.Findings.Producer != "experiment-coding" || r.Findings.Target != "tidepool-forecast" {
		t.Errorf("findings header = %s/%s/%s", r.Findings.Schema, r.Findings.Producer, r.Findings.Target)
	}
	want := []string{"cache.declaration_missing", "repro.higher_level_unknown", "repro.higher_level_unknown", "repro.higher_level_unknown"}
	if got := allRules(r); !slices.Equal(got, want) {
		t.Errorf("rules = %v, want %v", got, want)
	}
	wantGates := []string{GateExperimentSpec, GateRunStatus, GateEnvironmentCache, GateReproLevel, GateRemoteExecution, GateDeclaredDecision}
	if got := gateNames(r); !slices.Equal(got, wantGates) {
		t.Errorf("gates = %v, want %v", got, wantGates)
	}
	if r.Decision != "RUN_WITH_LIMITATIONS" || len(r.BlockingGates) != 0 {
		t.Errorf("decision %q, blocking %v", r.Decision, r.BlockingGates)
	}
	for _, g := range r.Findings.Gates {
		if g.Note == "" {
			t.Errorf("gate %s has no note", g.Gate)
		}
	}
}

// TestContractSelftestMutations runs the 18 cases of §5.2 on the good
// fixture.
func TestContractSelftestMutations(t *testing.T) {
	const auth = `{"required": true, "paid": true, "provider": "cloudco", "plan_locator": "remote/plan.md",
		"estimated_cost_usd": 0, "cancel_command": "cloudco cancel", "data_egress": "none", "secrets_policy": "env only",
		"user_authorization": {"status": "REQUESTED"}}`
	tests := []struct {
		name       string
		mutate     func(t *testing.T, m map[string]any)
		status     string
		blocking   []string // exact blocking gates; nil: not checked
		wantRules  []string // rules that must be present
		okRuleless bool
	}{
		{"1 none", func(t *testing.T, m map[string]any) {}, "WARN", []string{}, nil, false},
		{"2 no failure_tree", func(t *testing.T, m map[string]any) { del(t, m, "experiment_spec.failure_tree") },
			"FAIL", nil, []string{"failure_tree.missing"}, false},
		{"3 failure_tree WARN without decisions", func(t *testing.T, m map[string]any) {
			set(t, m, "experiment_spec.failure_tree.status", `"WARN"`)
		}, "FAIL", nil, []string{"failure_tree.warn_without_decision"}, false},
		{"4 guardrail_ids empty", func(t *testing.T, m map[string]any) {
			set(t, m, "experiment_spec.matrix_rows.0.failure_tree_refs.guardrail_ids", `[]`)
		}, "FAIL", nil, []string{"matrix.guardrail_refs_missing"}, false},
		{"5 no guardrail evidence", func(t *testing.T, m map[string]any) {
			set(t, m, "run_status.completion.evidence_artifacts", `["raw_metrics", "predictions", "test_evidence"]`)
			set(t, m, "run_status.completion.guardrail_evidence_artifacts", `[]`)
		}, "FAIL", nil, []string{"completion.guardrail_evidence_missing"}, false},
		{"6 timeout marked completed", func(t *testing.T, m map[string]any) {
			set(t, m, "run_status.termination", `{"reason": "TIMEOUT", "exit_code": null}`)
			set(t, m, "run_status.failure_class", `"TIMEOUT"`)
			set(t, m, "decision", `"RUN_READY"`)
		}, "FAIL", nil, []string{"run.completed_bad_termination", "run.failure_reason_marked_completed"}, false},
		{"7 resumable without checkpoint hash", func(t *testing.T, m map[string]any) {
			set(t, m, "run_status.status", `"RESUMABLE"`)
			set(t, m, "run_status.termination", `{"reason": "PREEMPTED", "exit_code": null}`)
			set(t, m, "run_status.completion.status", `"NOT_EVALUATED"`)
			set(t, m, "run_status.checkpoint", `{"status": "PARTIAL", "locator": "ckpt/step-400"}`)
			set(t, m, "run_status.resume_semantics.safe_to_resume", `false`)
		}, "FAIL", nil, []string{"resume.checkpoint_hash_missing", "resume.command_missing", "resume.safety_missing"}, false},
		{"8 remote requested, RUN_READY", func(t *testing.T, m map[string]any) {
			set(t, m, "remote_execution", auth)
			set(t, m, "decision", `"RUN_READY"`)
		}, "FAIL", nil, []string{"remote.approval_required"}, false},
		{"9 CLEAN_ENV_RERUN unknown, RUN_READY", func(t *testing.T, m map[string]any) {
			set(t, m, "reproducibility.requested_level", `"CLEAN_ENV_RERUN"`)
			set(t, m, "decision", `"RUN_READY"`)
		}, "FAIL", nil, []string{"repro.requested_level_not_met"}, false},
		{"10 cache policy only, contamination unknown", func(t *testing.T, m map[string]any) {
			set(t, m, "cache", `{"enabled": true, "cache_policy": "read-through", "contamination_check": "UNKNOWN"}`)
		}, "FAIL", nil, []string{"cache.required_missing", "cache.contamination_unresolved"}, false},
		{"11 DAG cycle", func(t *testing.T, m map[string]any) {
			set(t, m, "experiment_spec.dag_nodes.0.depends_on", `["score"]`)
		}, "FAIL", nil, []string{"dag.cycle"}, false},
		{"12 dirty without diff", func(t *testing.T, m map[string]any) {
			set(t, m, "environment.dirty", `true`)
			set(t, m, "environment.diff_sha256", `""`)
		}, "FAIL", nil, []string{"environment.dirty_without_diff_hash"}, false},
		{"13 unknown matrix row", func(t *testing.T, m map[string]any) {
			set(t, m, "run_status.matrix_row_id", `"EXP-NEW"`)
		}, "FAIL", nil, []string{"run.matrix_row_unknown"}, false},
		{"14 over budget", func(t *testing.T, m map[string]any) {
			set(t, m, "run_status.resources.walltime_minutes", `91`)
			set(t, m, "run_status.resources.compute_units_used", `5`)
			set(t, m, "run_status.resources.cost_usd", `1`)
		}, "FAIL", nil, []string{"budget.walltime_exceeded", "budget.cost_exceeded", "budget.compute_exceeded"}, false},
		{"15 approved remote over budget", func(t *testing.T, m map[string]any) {
			set(t, m, "remote_execution", auth)
			set(t, m, "remote_execution.estimated_cost_usd", `25`)
			set(t, m, "remote_execution.budget_impact", `"uses the whole quarter's credit"`)
			set(t, m, "remote_execution.user_authorization", `{"status": "APPROVED", "approved_at": "2026-05-12T08:00:00+02:00", "scope": "one run on cloudco"}`)
			set(t, m, "decision", `"RUN_READY"`)
		}, "FAIL", nil, []string{"remote.cost_over_budget"}, false},
		{"16 UNKNOWN costs are findings", func(t *testing.T, m map[string]any) {
			set(t, m, "run_status.resources.cost_usd", `"UNKNOWN"`)
			set(t, m, "remote_execution", auth)
			set(t, m, "remote_execution.estimated_cost_usd", `"UNKNOWN"`)
		}, "FAIL", nil, []string{"resources.bad_cost", "remote.bad_estimated_cost"}, false},
		{"17 future timestamps", func(t *testing.T, m map[string]any) {
			m["as_of"] = "2026-07-04T10:00+08:00"
			set(t, m, "experiment_spec.frozen_at", `"2999-01-01T00:00:00+00:00"`)
			set(t, m, "remote_execution", auth)
			set(t, m, "remote_execution.user_authorization", `{"status": "APPROVED", "approved_at": "2999-01-01T00:00:00Z", "scope": "one run"}`)
		}, "FAIL", nil, []string{"experiment_spec.future_frozen_at", "remote.future_approved_at"}, false},
		{"18 NOT_READY", func(t *testing.T, m map[string]any) { set(t, m, "decision", `"NOT_READY"`) },
			"FAIL", []string{GateDeclaredDecision}, []string{"decision.blocks_advancement"}, false},
	}
	wantBlocking := map[string]string{
		"2 no failure_tree": GateExperimentSpec, "4 guardrail_ids empty": GateExperimentSpec,
		"5 no guardrail evidence": GateRunStatus, "6 timeout marked completed": GateRunStatus,
		"7 resumable without checkpoint hash": GateRunStatus, "8 remote requested, RUN_READY": GateRemoteExecution,
		"9 CLEAN_ENV_RERUN unknown, RUN_READY": GateReproLevel, "10 cache policy only, contamination unknown": GateEnvironmentCache,
		"11 DAG cycle": GateExperimentSpec, "12 dirty without diff": GateEnvironmentCache, "13 unknown matrix row": GateRunStatus,
		"14 over budget": GateRunStatus, "15 approved remote over budget": GateRemoteExecution,
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := loadTree(t, "good.json")
			tt.mutate(t, m)
			r := checkTree(t, m)
			if r.Status != tt.status {
				t.Fatalf("status = %s, want %s; rules %v", r.Status, tt.status, allRules(r))
			}
			if tt.status == "FAIL" && r.Advancement != spec.AdvanceBlock {
				t.Errorf("advancement = %s, want BLOCK", r.Advancement)
			}
			if tt.blocking != nil && !slices.Equal(r.BlockingGates, tt.blocking) && !(len(tt.blocking) == 0 && len(r.BlockingGates) == 0) {
				t.Errorf("blocking = %v, want %v", r.BlockingGates, tt.blocking)
			}
			if g, ok := wantBlocking[tt.name]; ok && !slices.Contains(r.BlockingGates, g) {
				t.Errorf("blocking = %v, want it to include %s", r.BlockingGates, g)
			}
			got := allRules(r)
			for _, w := range tt.wantRules {
				if !slices.Contains(got, w) {
					t.Errorf("rule %s missing from %v", w, got)
				}
			}
		})
	}
	// Case 16 needs both gates blocking, not a crash.
	m := loadTree(t, "good.json")
	set(t, m, "run_status.resources.cost_usd", `"UNKNOWN"`)
	set(t, m, "remote_execution", auth)
	set(t, m, "remote_execution.estimated_cost_usd", `"UNKNOWN"`)
	r := checkTree(t, m)
	if !slices.Contains(r.BlockingGates, GateRunStatus) || !slices.Contains(r.BlockingGates, GateRemoteExecution) {
		t.Errorf("case 16 blocking = %v, want run_status and remote_execution_authorization", r.BlockingGates)
	}
}

// TestContractFailClosed checks the fail-closed fixture, in the shape of the
// shipped template, finding by finding.
func TestContractFailClosed(t *testing.T) {
	r := checkTree(t, loadTree(t, "fail_closed.json"))
	if r.Status != "FAIL" || r.Advancement != "BLOCK" || r.Decision != "UNKNOWN" {
		t.Fatalf("got %s/%s/%s, want FAIL/BLOCK/UNKNOWN", r.Status, r.Advancement, r.Decision)
	}
	wantBlocking := []string{GateExperimentSpec, GateRunStatus, GateEnvironmentCache, GateReproLevel, GateRemoteExecution, GateDeclaredDecision}
	if !slices.Equal(r.BlockingGates, wantBlocking) {
		t.Errorf("blocking = %v, want all six", r.BlockingGates)
	}
	const P = "unfilled-contract:"
	type f struct{ rule, loc, evidence string }
	want := map[string][]f{
		GateExperimentSpec: {
			{"experiment_spec.required_missing", P + "experiment_spec", "spec_id,frozen_at,source_plan_locator,plan_sha256,question_id,estimand_id,evaluator_id,matrix_rows,dag_nodes"},
			{"budget.bad_limit", P + "experiment_spec.budget.max_walltime_minutes", "0"},
			{"budget.bad_limit", P + "experiment_spec.budget.max_compute_units", "0"},
			{"failure_tree.required_missing", P + "experiment_spec.failure_tree.report_locator", ""},
			{"failure_tree.required_missing", P + "experiment_spec.failure_tree.report_sha256", ""},
			{"failure_tree.required_missing", P + "experiment_spec.failure_tree.status", "unknown"},
			{"failure_tree.bad_status", P + "experiment_spec.failure_tree.status", "UNKNOWN"},
			{"matrix.empty", P + "experiment_spec.matrix_rows", ""},
			{"dag.empty", P + "experiment_spec.dag_nodes", ""},
		},
		GateRunStatus: {{"run_status.required_missing", P + "run_status", "run_id,matrix_row_id"}},
		GateEnvironmentCache: {
			{"environment.required_missing", P + "environment", "code_commit,dirty,env_lock_sha256,package_lock_sha256,python,os,random_seed"},
			{"environment.seed_missing", P + "environment", ""},
			{"cache.required_missing", P + "cache.cache_policy", ""},
			{"cache.required_missing", P + "cache.cache_manifest_sha256", ""},
			{"cache.required_missing", P + "cache.isolation_strategy", ""},
			{"cache.contamination_unresolved", P + "cache.contamination_check", "UNKNOWN"},
		},
		GateReproLevel: {
			{"repro.requested_level_not_met", P + "reproducibility.levels.SAME_ENV_REPEAT", "UNKNOWN"},
			{"repro.evidence_missing", P + "reproducibility.evidence.same_env_repeat", ""},
		},
		GateRemoteExecution:  {{"remote.required_missing", P + "remote_execution", "provider,plan_locator,estimated_cost_usd,cancel_command,data_egress,secrets_policy"}},
		GateDeclaredDecision: {{"decision.blocks_advancement", P + "decision", "UNKNOWN"}},
	}
	for gate, wf := range want {
		g := gateOf(t, r, gate)
		if g.Status != spec.GateFail || g.Severity != spec.SeverityCritical {
			t.Errorf("%s = %s/%s, want fail/critical", gate, g.Status, g.Severity)
		}
		var got []f
		for _, x := range g.Findings {
			got = append(got, f{x.Rule, x.Loc, x.Evidence})
		}
		if !slices.Equal(got, wf) {
			t.Errorf("%s findings:\n got %v\nwant %v", gate, got, wf)
		}
	}
}

// contractRule is one rule of §3.1, with a mutation of the good fixture
// that must trigger it.
type contractRule struct {
	rule   string
	gate   string
	warn   bool   // the rule is a warning: the gate must be warn/major
	loc    string // expected loc after the project prefix; "" skips
	mutate func(t *testing.T, m map[string]any)
}

const hex64c = "2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c"

// remoteFilled is a remote execution with every field filled in.
const remoteFilled = `{"required": true, "paid": false, "provider": "cloudco", "plan_locator": "remote/plan.md",
	"estimated_cost_usd": 0, "cancel_command": "cloudco cancel", "data_egress": "none", "secrets_policy": "env only",
	"user_authorization": {"status": "APPROVED", "approved_at": "2026-05-12T08:00:00+02:00", "scope": "one run"}}`

func contractRules() []contractRule {
	es := "experiment_spec."
	rs := "run_status."
	return []contractRule{
		// Gate 1.
		{"experiment_spec.as_of_bad_timestamp", GateExperimentSpec, false, "as_of", func(t *testing.T, m map[string]any) { m["as_of"] = "2026-07-04T10:00:00" }},
		{"experiment_spec.required_missing", GateExperimentSpec, false, "experiment_spec", func(t *testing.T, m map[string]any) {
			del(t, m, es+"question_id")
			set(t, m, es+"evaluator_id", `""`)
		}},
		{"experiment_spec.bad_hash", GateExperimentSpec, false, "experiment_spec", func(t *testing.T, m map[string]any) {
			set(t, m, es+"plan_sha256", `"sha256:`+hex64c+`"`)
		}},
		{"experiment_spec.bad_timestamp", GateExperimentSpec, false, "experiment_spec", func(t *testing.T, m map[string]any) {
			set(t, m, es+"frozen_at", `"2026-05-11T09:30:00"`)
		}},
		{"experiment_spec.future_frozen_at", GateExperimentSpec, false, "experiment_spec", func(t *testing.T, m map[string]any) {
			m["as_of"] = "2026-05-12T00:00:00Z"
			set(t, m, es+"frozen_at", `"2026-05-12T00:05:01Z"`)
		}},
		{"budget.bad_limit", GateExperimentSpec, false, "experiment_spec.budget.max_compute_units", func(t *testing.T, m map[string]any) {
			set(t, m, es+"budget.max_compute_units", `"-1"`)
		}},
		{"budget.bad_cost", GateExperimentSpec, false, "experiment_spec.budget.max_cost_usd", func(t *testing.T, m map[string]any) {
			set(t, m, es+"budget.max_cost_usd", `-5`)
		}},
		{"failure_tree.missing", GateExperimentSpec, false, "experiment_spec.failure_tree", func(t *testing.T, m map[string]any) {
			set(t, m, es+"failure_tree", `{}`)
		}},
		{"failure_tree.required_missing", GateExperimentSpec, false, "experiment_spec.failure_tree.report_locator", func(t *testing.T, m map[string]any) {
			set(t, m, es+"failure_tree.report_locator", `" TBD "`)
		}},
		{"failure_tree.bad_hash", GateExperimentSpec, false, "experiment_spec.failure_tree.report_sha256", func(t *testing.T, m map[string]any) {
			set(t, m, es+"failure_tree.report_sha256", `"sha1:abc"`)
		}},
		{"failure_tree.report_failed", GateExperimentSpec, false, "experiment_spec.failure_tree.status", func(t *testing.T, m map[string]any) {
			set(t, m, es+"failure_tree.status", `"fail"`)
		}},
		{"failure_tree.warn_without_decision", GateExperimentSpec, false, "experiment_spec.failure_tree.warning_decisions", func(t *testing.T, m map[string]any) {
			set(t, m, es+"failure_tree.status", `"WARN"`)
			set(t, m, es+"failure_tree.warning_decisions", `[]`)
		}},
		{"failure_tree.warn_with_decision", GateExperimentSpec, true, "experiment_spec.failure_tree", func(t *testing.T, m map[string]any) {
			set(t, m, es+"failure_tree.status", `"WARN"`)
			set(t, m, es+"failure_tree.warning_decisions", `["W1 accepted: small sample"]`)
		}},
		{"failure_tree.bad_status", GateExperimentSpec, false, "experiment_spec.failure_tree.status", func(t *testing.T, m map[string]any) {
			set(t, m, es+"failure_tree.status", `"GREEN"`)
		}},
		{"matrix.empty", GateExperimentSpec, false, "experiment_spec.matrix_rows", func(t *testing.T, m map[string]any) {
			set(t, m, es+"matrix_rows", `[]`)
		}},
		{"matrix.bad_row", GateExperimentSpec, false, "experiment_spec.matrix_rows[1]", func(t *testing.T, m map[string]any) {
			appendTo(t, m, es+"matrix_rows", `"TP-02"`)
		}},
		{"matrix.row_missing", GateExperimentSpec, false, "experiment_spec.matrix_rows[0]", func(t *testing.T, m map[string]any) {
			del(t, m, es+"matrix_rows.0.split_id")
		}},
		{"matrix.duplicate_row", GateExperimentSpec, false, "experiment_spec.matrix_rows[1]", func(t *testing.T, m map[string]any) {
			rows := m["experiment_spec"].(map[string]any)["matrix_rows"].([]any)
			b, _ := json.Marshal(rows[0])
			appendTo(t, m, es+"matrix_rows", string(b))
		}},
		{"matrix.outputs_missing", GateExperimentSpec, false, "experiment_spec.matrix_rows[0]", func(t *testing.T, m map[string]any) {
			set(t, m, es+"matrix_rows.0.expected_outputs", `"raw_metrics"`)
		}},
		{"matrix.failure_tree_refs_missing", GateExperimentSpec, false, "experiment_spec.matrix_rows[0].failure_tree_refs.branch_action_ids", func(t *testing.T, m map[string]any) {
			set(t, m, es+"matrix_rows.0.failure_tree_refs.branch_action_ids", `[]`)
		}},
		{"matrix.guardrail_refs_missing", GateExperimentSpec, false, "experiment_spec.matrix_rows[0].failure_tree_refs.guardrail_ids", func(t *testing.T, m map[string]any) {
			del(t, m, es+"matrix_rows.0.failure_tree_refs.guardrail_ids")
		}},
		{"dag.empty", GateExperimentSpec, false, "experiment_spec.dag_nodes", func(t *testing.T, m map[string]any) {
			set(t, m, es+"dag_nodes", `{"load": {}}`)
		}},
		{"dag.bad_node", GateExperimentSpec, false, "experiment_spec.dag_nodes[3]", func(t *testing.T, m map[string]any) {
			appendTo(t, m, es+"dag_nodes", `42`)
		}},
		{"dag.node_missing", GateExperimentSpec, false, "experiment_spec.dag_nodes[0]", func(t *testing.T, m map[string]any) {
			del(t, m, es+"dag_nodes.0.produces")
		}},
		{"dag.depends_on_missing", GateExperimentSpec, false, "experiment_spec.dag_nodes[0]", func(t *testing.T, m map[string]any) {
			del(t, m, es+"dag_nodes.0.depends_on")
		}},
		{"dag.command_missing", GateExperimentSpec, false, "experiment_spec.dag_nodes[1]", func(t *testing.T, m map[string]any) {
			set(t, m, es+"dag_nodes.1.command", `[]`)
		}},
		{"dag.unknown_dependency", GateExperimentSpec, false, "experiment_spec.dag_nodes", func(t *testing.T, m map[string]any) {
			set(t, m, es+"dag_nodes.2.depends_on", `["fit", "calibrate"]`)
		}},
		{"dag.cycle", GateExperimentSpec, false, "experiment_spec.dag_nodes", func(t *testing.T, m map[string]any) {
			set(t, m, es+"dag_nodes.1.depends_on", `["load", "score"]`)
		}},
		{"scope.freeze_note_missing", GateExperimentSpec, true, "experiment_spec", func(t *testing.T, m map[string]any) {
			set(t, m, es+"scope_freeze_note", `"   "`)
		}},

		// Gate 2.
		{"run_status.required_missing", GateRunStatus, false, "run_status", func(t *testing.T, m map[string]any) {
			del(t, m, rs+"resume_semantics")
		}},
		{"run_status.bad_status", GateRunStatus, false, "run_status", func(t *testing.T, m map[string]any) { set(t, m, rs+"status", `"DONE"`) }},
		{"failure.bad_class", GateRunStatus, false, "run_status", func(t *testing.T, m map[string]any) { set(t, m, rs+"failure_class", `"GREMLINS"`) }},
		{"run.attempt_bad", GateRunStatus, false, "run_status", func(t *testing.T, m map[string]any) { set(t, m, rs+"attempt", `true`) }},
		{"run.matrix_row_unknown", GateRunStatus, false, "run_status", func(t *testing.T, m map[string]any) { set(t, m, rs+"matrix_row_id", `"TP-99"`) }},
		{"termination.bad_reason", GateRunStatus, false, "run_status.termination", func(t *testing.T, m map[string]any) {
			set(t, m, rs+"termination.reason", `"EXPLODED"`)
		}},
		{"run.completed_bad_termination", GateRunStatus, false, "run_status", func(t *testing.T, m map[string]any) {
			set(t, m, rs+"termination.exit_code", `"0"`)
		}},
		{"run.failure_reason_marked_completed", GateRunStatus, false, "run_status", func(t *testing.T, m map[string]any) {
			set(t, m, rs+"termination.reason", `"oom"`)
		}},
		{"completion.not_pass_for_completed", GateRunStatus, false, "run_status.completion", func(t *testing.T, m map[string]any) {
			set(t, m, rs+"completion.status", `"NOT_EVALUATED"`)
		}},
		{"completion.evidence_missing", GateRunStatus, false, "run_status.completion", func(t *testing.T, m map[string]any) {
			set(t, m, rs+"completion.evidence_artifacts", `[]`)
		}},
		{"completion.guardrail_evidence_missing", GateRunStatus, false, "run_status.completion.guardrail_evidence_artifacts", func(t *testing.T, m map[string]any) {
			del(t, m, rs+"completion.guardrail_evidence_artifacts")
			set(t, m, rs+"completion.evidence_artifacts", `["raw_metrics"]`)
		}},
		{"resume.checkpoint_missing", GateRunStatus, false, "run_status.checkpoint", func(t *testing.T, m map[string]any) {
			set(t, m, rs+"status", `"RESUMABLE"`)
		}},
		{"resume.checkpoint_hash_missing", GateRunStatus, false, "run_status.checkpoint", func(t *testing.T, m map[string]any) {
			set(t, m, rs+"checkpoint", `{"status": "PARTIAL", "locator": "ckpt/400", "sha256": "xyz", "resume_command": "python fit.py --resume"}`)
		}},
		{"resume.command_missing", GateRunStatus, false, "run_status.checkpoint", func(t *testing.T, m map[string]any) {
			set(t, m, rs+"checkpoint", `{"status": "PARTIAL", "locator": "ckpt/400", "sha256": "`+hex64c+`"}`)
		}},
		{"resume.safety_missing", GateRunStatus, false, "run_status.resume_semantics", func(t *testing.T, m map[string]any) {
			set(t, m, rs+"status", `"PARTIAL"`)
			set(t, m, rs+"checkpoint", `{"status": "PARTIAL", "locator": "ckpt/400", "sha256": "`+hex64c+`", "resume_command": "python fit.py --resume"}`)
			set(t, m, rs+"resume_semantics.safe_to_resume", `"true"`)
		}},
		{"failure.class_missing", GateRunStatus, false, "run_status", func(t *testing.T, m map[string]any) {
			set(t, m, rs+"status", `"FAILED"`)
			set(t, m, rs+"termination", `{"reason": "ERROR", "exit_code": 1}`)
			set(t, m, rs+"completion.status", `"FAIL"`)
		}},
		{"resources.metric_missing", GateRunStatus, true, "run_status.resources.gpu_hours", func(t *testing.T, m map[string]any) {
			del(t, m, rs+"resources.gpu_hours")
		}},
		{"resources.bad_cost", GateRunStatus, false, "run_status.resources.cost_usd", func(t *testing.T, m map[string]any) {
			set(t, m, rs+"resources.cost_usd", `"free"`)
		}},
		{"budget.walltime_exceeded", GateRunStatus, false, "run_status.resources.walltime_minutes", func(t *testing.T, m map[string]any) {
			set(t, m, rs+"resources.walltime_minutes", `90.5`)
		}},
		{"budget.cost_exceeded", GateRunStatus, false, "run_status.resources.cost_usd", func(t *testing.T, m map[string]any) {
			set(t, m, rs+"resources.cost_usd", `"0.5"`)
		}},
		{"budget.compute_exceeded", GateRunStatus, false, "run_status.resources.compute_units_used", func(t *testing.T, m map[string]any) {
			set(t, m, rs+"resources.compute_units_used", `5`)
		}},

		// Gate 3.
		{"environment.required_missing", GateEnvironmentCache, false, "environment", func(t *testing.T, m map[string]any) { set(t, m, "environment.python", `""`) }},
		{"environment.bad_hash", GateEnvironmentCache, false, "environment.env_lock_sha256", func(t *testing.T, m map[string]any) {
			set(t, m, "environment.env_lock_sha256", `"sha256:`+hex64c+`"`)
		}},
		{"environment.dirty_without_diff_hash", GateEnvironmentCache, false, "environment", func(t *testing.T, m map[string]any) {
			set(t, m, "environment.dirty", `true`)
		}},
		{"environment.seed_missing", GateEnvironmentCache, false, "environment", func(t *testing.T, m map[string]any) { set(t, m, "environment.random_seed", `null`) }},
		{"cache.required_missing", GateEnvironmentCache, false, "cache.isolation_strategy", func(t *testing.T, m map[string]any) {
			set(t, m, "cache", `{"enabled": true, "cache_policy": "read-through", "cache_manifest_sha256": "`+hex64c+`", "contamination_check": "PASS"}`)
		}},
		{"cache.bad_hash", GateEnvironmentCache, false, "cache.cache_manifest_sha256", func(t *testing.T, m map[string]any) {
			set(t, m, "cache", `{"enabled": true, "cache_policy": "read-through", "cache_manifest_sha256": "nothex", "isolation_strategy": "per-run dir", "contamination_check": "PASS"}`)
		}},
		{"cache.contamination_unresolved", GateEnvironmentCache, false, "cache.contamination_check", func(t *testing.T, m map[string]any) {
			set(t, m, "cache", `{"enabled": 1, "cache_policy": "read-through", "cache_manifest_sha256": "`+hex64c+`", "isolation_strategy": "per-run dir", "contamination_check": "fail"}`)
		}},
		{"cache.declaration_missing", GateEnvironmentCache, true, "cache", func(t *testing.T, m map[string]any) { del(t, m, "cache") }},

		// Gate 4.
		{"repro.bad_requested_level", GateReproLevel, false, "reproducibility", func(t *testing.T, m map[string]any) {
			set(t, m, "reproducibility.requested_level", `"BITWISE"`)
		}},
		{"repro.levels_bad_type", GateReproLevel, false, "reproducibility", func(t *testing.T, m map[string]any) {
			set(t, m, "reproducibility.levels", `["PASS"]`)
		}},
		{"repro.level_bad_status", GateReproLevel, false, "reproducibility.levels.CROSS_PLATFORM", func(t *testing.T, m map[string]any) {
			set(t, m, "reproducibility.levels.CROSS_PLATFORM", `"MAYBE"`)
		}},
		{"repro.requested_level_not_met", GateReproLevel, false, "reproducibility.levels.CLEAN_ENV_RERUN", func(t *testing.T, m map[string]any) {
			set(t, m, "reproducibility.requested_level", `"CLEAN_ENV_RERUN"`)
			set(t, m, "reproducibility.levels.CLEAN_ENV_RERUN", `"NOT_APPLICABLE"`)
			set(t, m, "reproducibility.evidence.clean_env_rerun", `"compare/clean.json"`)
		}},
		{"repro.higher_level_unknown", GateReproLevel, true, "reproducibility.levels.CLEAN_ENV_RERUN", func(t *testing.T, m map[string]any) {}},
		{"repro.evidence_missing", GateReproLevel, false, "reproducibility.evidence.same_env_repeat", func(t *testing.T, m map[string]any) {
			set(t, m, "reproducibility.evidence", `{"clean_env_rerun": "x.json"}`)
		}},
		{"repro.pair_bad_type", GateReproLevel, false, "reproducibility.same_seed_runs[0]", func(t *testing.T, m map[string]any) {
			set(t, m, "reproducibility.same_seed_runs", `["compare/seed-7.json"]`)
		}},
		{"repro.same_seed_mismatch", GateReproLevel, false, "reproducibility.same_seed_runs[0]", func(t *testing.T, m map[string]any) {
			set(t, m, "reproducibility.same_seed_runs.0.same_seed_exact", `"true"`)
		}},
		{"repro.comparison_locator_missing", GateReproLevel, false, "reproducibility.same_seed_runs[0]", func(t *testing.T, m map[string]any) {
			del(t, m, "reproducibility.same_seed_runs.0.comparison_locator")
		}},

		// Gate 5.
		{"remote.required_missing", GateRemoteExecution, false, "remote_execution", func(t *testing.T, m map[string]any) {
			set(t, m, "remote_execution", `{"paid": true, "provider": "cloudco", "user_authorization": {"status": "REQUESTED"}}`)
		}},
		{"remote.auth_bad_status", GateRemoteExecution, false, "remote_execution", func(t *testing.T, m map[string]any) {
			set(t, m, "remote_execution", remoteFilled)
			set(t, m, "remote_execution.user_authorization", `{"status": "PENDING"}`)
		}},
		{"remote.approval_required", GateRemoteExecution, false, "remote_execution", func(t *testing.T, m map[string]any) {
			set(t, m, "remote_execution", remoteFilled)
			set(t, m, "remote_execution.user_authorization", `{"status": "DENIED"}`)
			set(t, m, "decision", `"RUN_READY"`)
		}},
		{"remote.approved_at_missing", GateRemoteExecution, false, "remote_execution", func(t *testing.T, m map[string]any) {
			set(t, m, "remote_execution", remoteFilled)
			set(t, m, "remote_execution.user_authorization.approved_at", `"2026-05-12"`)
		}},
		{"remote.future_approved_at", GateRemoteExecution, false, "remote_execution", func(t *testing.T, m map[string]any) {
			set(t, m, "remote_execution", remoteFilled)
			set(t, m, "remote_execution.user_authorization.approved_at", `"2026-07-10T12:05:01Z"`)
		}},
		{"remote.approval_scope_missing", GateRemoteExecution, false, "remote_execution", func(t *testing.T, m map[string]any) {
			set(t, m, "remote_execution", remoteFilled)
			del(t, m, "remote_execution.user_authorization.scope")
		}},
		{"remote.bad_estimated_cost", GateRemoteExecution, false, "remote_execution", func(t *testing.T, m map[string]any) {
			set(t, m, "remote_execution", remoteFilled)
			set(t, m, "remote_execution.estimated_cost_usd", `[25]`)
		}},
		{"remote.budget_impact_missing", GateRemoteExecution, true, "remote_execution", func(t *testing.T, m map[string]any) {
			set(t, m, "experiment_spec.budget.max_cost_usd", `100`)
			set(t, m, "remote_execution", remoteFilled)
			set(t, m, "remote_execution.estimated_cost_usd", `"12.5"`)
		}},
		{"remote.cost_over_budget", GateRemoteExecution, false, "remote_execution", func(t *testing.T, m map[string]any) {
			set(t, m, "remote_execution", remoteFilled)
			set(t, m, "remote_execution.estimated_cost_usd", `25`)
			set(t, m, "remote_execution.budget_impact", `"all of it"`)
		}},
		{"remote.unneeded_auth_state", GateRemoteExecution, true, "remote_execution", func(t *testing.T, m map[string]any) {
			set(t, m, "remote_execution.user_authorization.status", `"requested"`)
		}},

		// Gate 6.
		{"decision.bad_status", GateDeclaredDecision, false, "decision", func(t *testing.T, m map[string]any) { del(t, m, "decision") }},
		{"decision.blocks_advancement", GateDeclaredDecision, false, "decision", func(t *testing.T, m map[string]any) { set(t, m, "decision", `" not_ready "`) }},
		{"decision.overrides_blockers", GateDeclaredDecision, false, "decision", func(t *testing.T, m map[string]any) {
			set(t, m, "environment.random_seed", `null`)
		}},
		{"decision.should_be_limited", GateDeclaredDecision, true, "decision", func(t *testing.T, m map[string]any) { set(t, m, "decision", `"RUN_READY"`) }},
	}
}

// TestContractRules triggers every rule of §3.1 once, from the good
// fixture, and checks where it lands and what it does to its gate.
func TestContractRules(t *testing.T) {
	seen := map[string]bool{}
	for _, tt := range contractRules() {
		t.Run(tt.rule, func(t *testing.T) {
			seen[tt.rule] = true
			m := loadTree(t, "good.json")
			tt.mutate(t, m)
			r := checkTree(t, m)
			g := gateOf(t, r, tt.gate)
			var hit *spec.Finding
			for i := range g.Findings {
				if g.Findings[i].Rule == tt.rule {
					hit = &g.Findings[i]
					break
				}
			}
			if hit == nil {
				t.Fatalf("gate %s (%s) has no %s; it has %v; all: %v", tt.gate, g.Status, tt.rule, rules(g), allRules(r))
			}
			if tt.loc != "" && hit.Loc != "tidepool-forecast:"+tt.loc {
				t.Errorf("loc = %q, want %q", hit.Loc, "tidepool-forecast:"+tt.loc)
			}
			if hit.Issue == "" || hit.Fix == "" {
				t.Errorf("finding has no issue or fix: %+v", hit)
			}
			if tt.warn {
				if g.Status != spec.GateWarn || g.Severity != spec.SeverityMajor {
					t.Errorf("gate %s = %s/%s, want warn/major", tt.gate, g.Status, g.Severity)
				}
			} else {
				if g.Status != spec.GateFail || g.Severity != spec.SeverityCritical {
					t.Errorf("gate %s = %s/%s, want fail/critical", tt.gate, g.Status, g.Severity)
				}
				if r.Status != "FAIL" || !slices.Contains(r.BlockingGates, tt.gate) {
					t.Errorf("report %s, blocking %v: want FAIL with %s blocking", r.Status, r.BlockingGates, tt.gate)
				}
			}
		})
	}
	if len(seen) != 81 {
		t.Errorf("%d rules covered, want the 81 of §3.1", len(seen))
	}
}

// TestContractRuleDetails pins down the finer points of §3.1 and §6.5.
func TestContractRuleDetails(t *testing.T) {
	t.Run("warnings are dropped once a gate has a critical", func(t *testing.T) {
		m := loadTree(t, "good.json")
		set(t, m, "experiment_spec.scope_freeze_note", `""`)
		set(t, m, "experiment_spec.plan_sha256", `"abc"`)
		g := gateOf(t, checkTree(t, m), GateExperimentSpec)
		if got := rules(g); !slices.Equal(got, []string{"experiment_spec.bad_hash"}) {
			t.Errorf("rules = %v, want only the critical", got)
		}
	})
	t.Run("0 and false count as present", func(t *testing.T) {
		m := loadTree(t, "good.json")
		set(t, m, "environment.random_seed", `0`)
		if g := gateOf(t, checkTree(t, m), GateEnvironmentCache); g.Status != spec.GateWarn {
			t.Errorf("environment_cache = %s %v, want warn (cache only)", g.Status, rules(g))
		}
	})
	t.Run("requires_guardrails false lifts the guardrail rules", func(t *testing.T) {
		m := loadTree(t, "good.json")
		set(t, m, "experiment_spec.failure_tree.requires_guardrails", `false`)
		del(t, m, "experiment_spec.matrix_rows.0.failure_tree_refs.guardrail_ids")
		del(t, m, "run_status.completion.guardrail_evidence_artifacts")
		set(t, m, "run_status.completion.evidence_artifacts", `["raw_metrics"]`)
		if r := checkTree(t, m); r.Status != "WARN" {
			t.Errorf("status = %s %v, want WARN", r.Status, allRules(r))
		}
	})
	t.Run("requires_guardrails must be the literal false", func(t *testing.T) {
		m := loadTree(t, "good.json")
		set(t, m, "experiment_spec.failure_tree.requires_guardrails", `"false"`)
		del(t, m, "experiment_spec.matrix_rows.0.failure_tree_refs.guardrail_ids")
		if r := checkTree(t, m); !slices.Contains(allRules(r), "matrix.guardrail_refs_missing") {
			t.Errorf("rules = %v, want matrix.guardrail_refs_missing", allRules(r))
		}
	})
	t.Run("an evidence item naming a guardrail is guardrail evidence", func(t *testing.T) {
		m := loadTree(t, "good.json")
		del(t, m, "run_status.completion.guardrail_evidence_artifacts")
		set(t, m, "run_status.completion.evidence_artifacts", `["raw_metrics", "GuardRail-Checks.json"]`)
		if r := checkTree(t, m); r.Status != "WARN" {
			t.Errorf("status = %s %v, want WARN", r.Status, allRules(r))
		}
	})
	t.Run("future means more than five minutes", func(t *testing.T) {
		m := loadTree(t, "good.json")
		m["as_of"] = "2026-05-12T00:00:00Z"
		set(t, m, "experiment_spec.frozen_at", `"2026-05-12T02:05:00+02:00"`)
		if r := checkTree(t, m); r.Status != "WARN" {
			t.Errorf("status = %s %v, want WARN (exactly 5 minutes is not future)", r.Status, allRules(r))
		}
	})
	t.Run("without as_of the clock is now", func(t *testing.T) {
		m := loadTree(t, "good.json")
		set(t, m, "experiment_spec.frozen_at", `"2026-07-10T12:06:00Z"`)
		if r := checkTree(t, m); !slices.Contains(allRules(r), "experiment_spec.future_frozen_at") {
			t.Errorf("rules = %v, want future_frozen_at against the injected clock", allRules(r))
		}
	})
	t.Run("numeric strings are numbers", func(t *testing.T) {
		m := loadTree(t, "good.json")
		set(t, m, "experiment_spec.budget", `{"max_walltime_minutes": "90", "max_compute_units": " 4 ", "max_cost_usd": "0"}`)
		set(t, m, "run_status.resources.walltime_minutes", `"12"`)
		if r := checkTree(t, m); r.Status != "WARN" {
			t.Errorf("status = %s %v, want WARN", r.Status, allRules(r))
		}
	})
	t.Run("RUN_WITH_LIMITATIONS escapes approval_required", func(t *testing.T) {
		m := loadTree(t, "good.json")
		set(t, m, "remote_execution", remoteFilled)
		set(t, m, "remote_execution.user_authorization", `{"status": "REQUESTED"}`)
		if r := checkTree(t, m); slices.Contains(allRules(r), "remote.approval_required") {
			t.Errorf("rules = %v: approval_required fires only for RUN_READY", allRules(r))
		}
	})
	t.Run("a cost estimate alone activates the remote gate", func(t *testing.T) {
		m := loadTree(t, "good.json")
		set(t, m, "remote_execution.estimated_cost_usd", `3`)
		if g := gateOf(t, checkTree(t, m), GateRemoteExecution); !slices.Contains(rules(g), "remote.required_missing") {
			t.Errorf("remote rules = %v, want required_missing", rules(g))
		}
	})
	t.Run("attempt 1.0 and 0 are bad", func(t *testing.T) {
		for _, v := range []string{`1.0`, `0`, `"1"`, `null`} {
			m := loadTree(t, "good.json")
			set(t, m, "run_status.attempt", v)
			if g := gateOf(t, checkTree(t, m), GateRunStatus); !slices.Contains(rules(g), "run.attempt_bad") {
				t.Errorf("attempt %s: rules = %v, want run.attempt_bad", v, rules(g))
			}
		}
	})
	t.Run("the cycle path is reported", func(t *testing.T) {
		m := loadTree(t, "good.json")
		set(t, m, "experiment_spec.dag_nodes.0.depends_on", `["score"]`)
		g := gateOf(t, checkTree(t, m), GateExperimentSpec)
		if len(g.Findings) != 1 || g.Findings[0].Evidence != "load -> score -> fit -> load" {
			t.Errorf("findings = %+v, want one cycle load -> score -> fit -> load", g.Findings)
		}
	})
	t.Run("a fully evidenced contract passes", func(t *testing.T) {
		m := loadTree(t, "good.json")
		set(t, m, "cache", `{"enabled": true, "cache_policy": "read-through", "cache_manifest_sha256": "`+hex64c+`",
			"isolation_strategy": "per-run dir", "contamination_check": "pass"}`)
		set(t, m, "reproducibility.levels", `{"SAME_ENV_REPEAT": "PASS", "CLEAN_ENV_RERUN": "PASS",
			"CROSS_PLATFORM": "NOT_APPLICABLE", "INDEPENDENT_REIMPLEMENTATION": "FAIL"}`)
		set(t, m, "decision", `"RUN_READY"`)
		r := checkTree(t, m)
		if r.Status != "PASS" || r.Advancement != "ALLOW" || r.Findings.Verdict != spec.VerdictPass {
			t.Errorf("got %s/%s %v, want PASS/ALLOW", r.Status, r.Advancement, allRules(r))
		}
	})
	t.Run("evidence gates are judged by the decision", func(t *testing.T) {
		m := loadTree(t, "good.json")
		ev := spec.Gate{Gate: GateRunEvidence, Status: spec.GateFail, Severity: spec.SeverityCritical,
			Findings: []spec.Finding{{Loc: "x", Issue: "lie", Rule: "evidence.status_mismatch"}}}
		r := CheckContract(&spec.Contract{Tree: m}, ContractOptions{Now: func() time.Time { return contractNow }, Evidence: []spec.Gate{ev}})
		want := []string{GateRunEvidence, GateDeclaredDecision}
		if !slices.Equal(r.BlockingGates, want) {
			t.Errorf("blocking = %v, want %v", r.BlockingGates, want)
		}
		if g := gateOf(t, r, GateDeclaredDecision); g.Findings[0].Evidence != GateRunEvidence {
			t.Errorf("decision evidence = %q, want %q", g.Findings[0].Evidence, GateRunEvidence)
		}
	})
}

func TestRunGateRecoversPanics(t *testing.T) {
	g := runContractGate(GateRunStatus, func(a *contractAcc) { panic("boom") })
	if !g.Blocks() || len(g.Findings) != 1 || g.Findings[0].Rule != "gate_runner.exception" || g.Findings[0].Evidence != "boom" {
		t.Errorf("runContractGate after panic = %+v", g)
	}
}

// TestContractReportEncodes checks that every report round-trips as
// light.findings.v1 and exports to SARIF.
func TestContractReportEncodes(t *testing.T) {
	for _, name := range []string{"good.json", "fail_closed.json"} {
		r := checkTree(t, loadTree(t, name))
		b, err := r.Findings.Encode()
		if err != nil {
			t.Fatalf("%s: Encode: %v", name, err)
		}
		back, err := spec.DecodeFindings(b)
		if err != nil {
			t.Fatalf("%s: DecodeFindings: %v", name, err)
		}
		if back.Verdict != r.Findings.Verdict || len(back.Gates) != len(r.Findings.Gates) {
			t.Errorf("%s: round trip changed the report", name)
		}
		if _, err := r.Encode(); err != nil {
			t.Errorf("%s: ContractReport.Encode: %v", name, err)
		}
		n := 0
		for _, g := range back.Gates {
			n += len(g.Findings)
		}
		if log := back.SARIF(spec.SARIFOptions{}); len(log.Runs) != 1 || len(log.Runs[0].Results) != n {
			t.Errorf("%s: SARIF export has not one result per finding (%d)", name, n)
		}
	}
}

// FuzzCheckContract checks that no contract, however malformed below its
// top level, crashes a gate: each finding is a rule, never
// gate_runner.exception, and the report always validates.
func FuzzCheckContract(f *testing.F) {
	for _, name := range []string{"good.json", "fail_closed.json"} {
		b, err := os.ReadFile(filepath.Join("testdata", "contract", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"experiment_spec": {"dag_nodes": [{"node_id": "a", "depends_on": "a"}, 3], "budget": []}, "run_status": [], "reproducibility": {"levels": null, "same_seed_runs": {}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := spec.DecodeContract(data)
		if err != nil {
			return
		}
		r := CheckContract(c, ContractOptions{Now: func() time.Time { return contractNow }})
		if err := r.Validate(); err != nil {
			t.Fatalf("report does not validate: %v", err)
		}
		for _, g := range r.Findings.Gates {
			for _, x := range g.Findings {
				if x.Rule == "gate_runner.exception" {
					t.Fatalf("gate %s crashed: %s", g.Gate, x.Evidence)
				}
			}
		}
	})
}
