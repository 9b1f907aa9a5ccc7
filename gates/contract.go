package gates

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/rigor-dev/rigor/spec"
)

// The gates of the execution contract (spec §3.1), in the order they run.
// The first five are the pre-decision gates; [GateRunEvidence] joins them
// when the contract is bound to stored runs.
const (
	GateExperimentSpec   = "experiment_spec"
	GateRunStatus        = "run_status"
	GateEnvironmentCache = "environment_cache"
	GateReproLevel       = "repro_level"
	GateRemoteExecution  = "remote_execution_authorization"
	GateDeclaredDecision = "declared_decision"
	GateRunEvidence      = "run_evidence"
)

// ContractProducer is the producer of the contract gate's findings.
const ContractProducer = "experiment-coding"

// ContractOptions tune [CheckContract]. The zero value is ready to use.
type ContractOptions struct {
	// Now returns the current time, which stands in for as_of when the
	// contract has none or an unreadable one. nil means time.Now.
	Now func() time.Time
	// Evidence are further pre-decision gates, run after the five of §3.1
	// and before declared_decision, so that the decision is judged against
	// them too. [BindRuns] makes the run_evidence gate.
	Evidence []spec.Gate
}

// CheckContract applies every rule of the execution contract (§3.1) to c
// and returns the full report. It is fail-closed: a missing, placeholder,
// mistyped or UNKNOWN value never passes. Six gates run in a fixed order;
// a gate with a critical finding is fail/critical and drops its warnings, a
// gate with warnings only is warn/major, any other gate is pass/info. A
// panic inside a gate (a bug) becomes that gate failing critically with the
// rule gate_runner.exception, as the Light gate runner does.
func CheckContract(c *spec.Contract, opts ContractOptions) *spec.ContractReport {
	now := time.Now
	if opts.Now != nil {
		now = opts.Now
	}
	e := newContractEval(c, now().UTC().Truncate(time.Second))
	gates := []spec.Gate{
		runContractGate(GateExperimentSpec, e.experimentSpec),
		runContractGate(GateRunStatus, e.runStatus),
		runContractGate(GateEnvironmentCache, e.environmentCache),
		runContractGate(GateReproLevel, e.reproLevel),
		runContractGate(GateRemoteExecution, e.remoteExecution),
	}
	pre := append(gates, opts.Evidence...)
	gates = append(slices.Clip(pre), runContractGate(GateDeclaredDecision, func(a *contractAcc) { e.declaredDecision(a, pre) }))

	findings := spec.Report{
		Schema:        spec.FindingsSchema,
		Producer:      ContractProducer,
		Target:        e.p,
		Gates:         gates,
		FreshEvidence: true,
	}
	findings.Verdict = spec.ComputeVerdict(gates)
	status, adv := spec.ContractOutcome(findings.Verdict)
	findings.Summary = fmt.Sprintf("execution contract: %d gates, %d blocking; status %s, advancement %s",
		len(gates), len(findings.Blocking()), status, adv)
	return &spec.ContractReport{
		Schema:        spec.ContractReportSchema,
		Project:       e.p,
		Status:        status,
		Advancement:   adv,
		Decision:      spec.ContractStatus(c.Tree["decision"]),
		BlockingGates: findings.Blocking(),
		Findings:      findings,
	}
}

// contractGateNotes are the fixed notes of the contract gates.
var contractGateNotes = map[string]string{
	GateExperimentSpec:   "the frozen experiment spec: plan hash, failure tree, budget, matrix rows and DAG",
	GateRunStatus:        "what the run claims: status, termination, completion evidence, resume safety, resources within budget",
	GateEnvironmentCache: "the environment is pinned by lock hashes and a seed; a cache is declared with its manifest and a contamination check",
	GateReproLevel:       "every level up to the requested one passed, with evidence and exact same-seed pairs",
	GateRemoteExecution:  "remote or paid execution is planned, costed, cancellable and approved by the user",
	GateDeclaredDecision: "the declared decision agrees with the gates before it; NOT_READY and UNKNOWN always block",
	GateRunEvidence:      "the stored runs agree with what run_status and the same-seed pairs claim",
}

// contractAcc collects one gate's findings: criticals and warnings.
type contractAcc struct {
	crit, warn []spec.Finding
}

func (a *contractAcc) critical(loc, rule, evidence, issue, fix string) {
	a.crit = append(a.crit, spec.Finding{Loc: loc, Issue: issue, Fix: fix, Evidence: evidence, Rule: rule})
}

func (a *contractAcc) warning(loc, rule, evidence, issue, fix string) {
	a.warn = append(a.warn, spec.Finding{Loc: loc, Issue: issue, Fix: fix, Evidence: evidence, Rule: rule})
}

// gate turns the findings into a gate: fail/critical with the criticals
// only, else warn/major, else pass/info.
func (a *contractAcc) gate(name string) spec.Gate {
	g := spec.Gate{Gate: name, Note: contractGateNotes[name], Findings: []spec.Finding{}}
	switch {
	case len(a.crit) > 0:
		g.Status, g.Severity, g.Findings = spec.GateFail, spec.SeverityCritical, a.crit
	case len(a.warn) > 0:
		g.Status, g.Severity, g.Findings = spec.GateWarn, spec.SeverityMajor, a.warn
	default:
		g.Status, g.Severity = spec.GatePass, spec.SeverityInfo
	}
	return g
}

// runContractGate runs one gate, turning a panic into a critical failure.
func runContractGate(name string, fn func(a *contractAcc)) (g spec.Gate) {
	defer func() {
		if r := recover(); r != nil {
			g = spec.Gate{Gate: name, Status: spec.GateFail, Severity: spec.SeverityCritical, Note: contractGateNotes[name],
				Findings: []spec.Finding{{Loc: name, Issue: "the gate crashed, so nothing it checks is established",
					Fix: "report this as a rigor bug with the input", Evidence: fmt.Sprint(r), Rule: "gate_runner.exception"}}}
		}
	}()
	a := &contractAcc{}
	fn(a)
	return a.gate(name)
}

// contractEval holds what several gates share.
type contractEval struct {
	c          *spec.Contract
	p          string // the project, for locations
	asOf       time.Time
	asOfBad    bool // as_of is given but unreadable
	es         map[string]any
	budget     map[string]any
	guardrails bool
}

func newContractEval(c *spec.Contract, now time.Time) *contractEval {
	e := &contractEval{c: c, p: c.Project(), asOf: now, guardrails: c.RequiresGuardrails()}
	if raw := c.Tree["as_of"]; !cBlank(raw) {
		if t, ok := spec.ParseContractTime(raw); ok {
			e.asOf = t
		} else {
			e.asOfBad = true
		}
	}
	e.es = cObject(c.Tree["experiment_spec"])
	e.budget, _ = e.es["budget"].(map[string]any)
	return e
}

// loc is a finding location: the project, a colon and a path.
func (e *contractEval) loc(path string, args ...any) string {
	return e.p + ":" + fmt.Sprintf(path, args...)
}

// cObject returns v when it is an object, and an empty object otherwise.
func cObject(v any) map[string]any {
	if m, ok := v.(map[string]any); ok {
		return m
	}
	return map[string]any{}
}

// cBlank reports whether v is missing or a string of white space.
func cBlank(v any) bool {
	if s, ok := v.(string); ok {
		return strings.TrimSpace(s) == ""
	}
	return spec.IsMissing(v)
}

// cNonEmptyList reports whether v is a list with at least one item.
func cNonEmptyList(v any) bool {
	l, ok := v.([]any)
	return ok && len(l) > 0
}

// cHex64 reports whether v is a string of 64 hex digits.
func cHex64(v any) bool {
	s, ok := v.(string)
	return ok && spec.IsHex64Any(s)
}

// cMissingKeys returns the keys of obj that count as missing, in the order
// given.
func cMissingKeys(obj map[string]any, keys ...string) []string {
	var out []string
	for _, k := range keys {
		if spec.IsMissing(obj[k]) {
			out = append(out, k)
		}
	}
	return out
}

// cNumber reads a contract number (see spec.ContractNumber).
func cNumber(v any) (float64, bool) { return spec.ContractNumber(v) }

// Gate 1: experiment_spec.
func (e *contractEval) experimentSpec(a *contractAcc) {
	es := e.es
	if e.asOfBad {
		a.critical(e.loc("as_of"), "experiment_spec.as_of_bad_timestamp", spec.JSONText(e.c.Tree["as_of"]),
			"as_of is not an ISO-8601 timestamp with a time zone, so no timestamp can be judged against it",
			`write as_of like "2026-07-04T10:00:00+08:00", or leave it "" to judge against the current time`)
	}
	if miss := cMissingKeys(es, "spec_id", "frozen_at", "source_plan_locator", "plan_sha256", "question_id",
		"estimand_id", "evaluator_id", "budget", "matrix_rows", "dag_nodes"); len(miss) > 0 {
		a.critical(e.loc("experiment_spec"), "experiment_spec.required_missing", strings.Join(miss, ","),
			"the experiment spec is not frozen: required fields are missing",
			"fill every listed field from the frozen research plan")
	}
	if v := es["plan_sha256"]; !spec.IsMissing(v) && !cHex64(v) {
		a.critical(e.loc("experiment_spec"), "experiment_spec.bad_hash", spec.JSONText(v),
			"plan_sha256 is not a SHA-256 (64 hex digits, no prefix)",
			"write the SHA-256 of the frozen plan file as 64 hex digits")
	}
	if v := es["frozen_at"]; !spec.IsMissing(v) {
		if t, ok := spec.ParseContractTime(v); !ok {
			a.critical(e.loc("experiment_spec"), "experiment_spec.bad_timestamp", spec.JSONText(v),
				"frozen_at is not an ISO-8601 timestamp with a time zone",
				`write frozen_at like "2026-07-04T10:00:00+08:00"`)
		} else if spec.IsFuture(t, e.asOf) {
			a.critical(e.loc("experiment_spec"), "experiment_spec.future_frozen_at", spec.JSONText(v),
				"frozen_at lies in the future of as_of: a spec cannot have been frozen at a time that has not come",
				"record the real time the spec was frozen")
		}
	}
	if e.budget != nil {
		for _, k := range []string{"max_walltime_minutes", "max_compute_units"} {
			if n, ok := cNumber(e.budget[k]); !ok || !(n > 0) {
				a.critical(e.loc("experiment_spec.budget.%s", k), "budget.bad_limit", spec.JSONText(e.budget[k]),
					k+" is not a number greater than 0, so the budget bounds nothing",
					"set a positive limit")
			}
		}
		if v := e.budget["max_cost_usd"]; v != nil {
			if n, ok := cNumber(v); !ok || n < 0 {
				a.critical(e.loc("experiment_spec.budget.max_cost_usd"), "budget.bad_cost", spec.JSONText(v),
					"max_cost_usd is neither null nor a non-negative number",
					"write the spending limit in USD (0 for none), or null when cost is not budgeted")
			}
		}
	}
	e.failureTree(a)
	e.matrixRows(a)
	e.dagNodes(a)
	if cBlank(es["scope_freeze_note"]) {
		a.warning(e.loc("experiment_spec"), "scope.freeze_note_missing", "",
			"no scope_freeze_note says what may still change after the freeze",
			"state which changes are allowed (bug fixes only, say) and which need a plan amendment")
	}
}

func (e *contractEval) failureTree(a *contractAcc) {
	ft, ok := e.es["failure_tree"].(map[string]any)
	if !ok || len(ft) == 0 {
		a.critical(e.loc("experiment_spec.failure_tree"), "failure_tree.missing", "",
			"there is no failure tree, so nothing says which outcomes confirm, refute or leave the hypotheses open",
			"run the research-plan failure-tree gate and reference its report (locator, sha256, status)")
		return
	}
	for _, k := range []string{"report_locator", "report_sha256", "status"} {
		if !spec.IsRealText(ft[k]) {
			a.critical(e.loc("experiment_spec.failure_tree.%s", k), "failure_tree.required_missing", spec.JSONText(ft[k]),
				"failure_tree."+k+" is missing or a placeholder",
				"fill it from the failure-tree report")
		}
	}
	if v := ft["report_sha256"]; !spec.IsMissing(v) {
		if s, isStr := v.(string); !isStr || !spec.IsSHARef(s) {
			a.critical(e.loc("experiment_spec.failure_tree.report_sha256"), "failure_tree.bad_hash", spec.JSONText(v),
				"report_sha256 is not a SHA-256 (64 hex digits, optionally prefixed sha256:)",
				"write the SHA-256 of the failure-tree report")
		}
	}
	status := spec.ContractStatus(ft["status"])
	switch status {
	case "FAIL":
		a.critical(e.loc("experiment_spec.failure_tree.status"), "failure_tree.report_failed", status,
			"the failure-tree report failed: the plan cannot tell outcomes apart",
			"fix the failure tree in research-plan before executing")
	case "WARN":
		if cNonEmptyList(ft["warning_decisions"]) {
			a.warning(e.loc("experiment_spec.failure_tree"), "failure_tree.warn_with_decision", status,
				"the failure-tree report warned; the warnings were accepted by recorded decisions",
				"carry the accepted warnings into the limitations of the results")
		} else {
			a.critical(e.loc("experiment_spec.failure_tree.warning_decisions"), "failure_tree.warn_without_decision", status,
				"the failure-tree report warned and no warning_decisions record how each warning was resolved",
				"add a decision for every warning, or fix the failure tree")
		}
	}
	if !slices.Contains(spec.FailureTreeStatuses, status) {
		a.critical(e.loc("experiment_spec.failure_tree.status"), "failure_tree.bad_status", status,
			"failure_tree.status is not PASS, WARN or FAIL",
			"copy the status of the failure-tree report")
	}
}

func (e *contractEval) matrixRows(a *contractAcc) {
	rows, ok := e.es["matrix_rows"].([]any)
	if !ok || len(rows) == 0 {
		a.critical(e.loc("experiment_spec.matrix_rows"), "matrix.empty", "",
			"the experiment matrix has no rows, so there is nothing to run",
			"list one row per frozen configuration")
		return
	}
	seen := map[string]bool{}
	for i, rv := range rows {
		at := e.loc("experiment_spec.matrix_rows[%d]", i)
		row, ok := rv.(map[string]any)
		if !ok {
			a.critical(at, "matrix.bad_row", spec.JSONText(rv), "the matrix row is not an object", "write the row as an object")
			continue
		}
		if miss := cMissingKeys(row, "row_id", "config_id", "dataset_id", "split_id", "evaluator_id", "expected_outputs"); len(miss) > 0 {
			a.critical(at, "matrix.row_missing", strings.Join(miss, ","),
				"the matrix row lacks required fields", "fill every listed field")
		}
		id := spec.JSONText(row["row_id"])
		if seen[id] {
			a.critical(at, "matrix.duplicate_row", id,
				"the row_id repeats an earlier row, so runs cannot be attributed to one row",
				"give every row its own row_id")
		}
		seen[id] = true
		if !cNonEmptyList(row["expected_outputs"]) {
			a.critical(at, "matrix.outputs_missing", spec.JSONText(row["expected_outputs"]),
				"expected_outputs is not a non-empty list, so completion cannot be judged",
				"list the artifacts the row must produce (raw_metrics, predictions, ...)")
		}
		refs, ok := row["failure_tree_refs"].(map[string]any)
		if !ok {
			a.critical(at+".failure_tree_refs", "matrix.failure_tree_refs_missing", spec.JSONText(row["failure_tree_refs"]),
				"the row is not tied to the failure tree", "add failure_tree_refs with hypothesis_ids, branch_action_ids and guardrail_ids")
			refs = map[string]any{}
		} else {
			for _, k := range []string{"hypothesis_ids", "branch_action_ids"} {
				if !cNonEmptyList(refs[k]) {
					a.critical(at+".failure_tree_refs."+k, "matrix.failure_tree_refs_missing", spec.JSONText(refs[k]),
						k+" is not a non-empty list", "list the failure-tree ids this row tests")
				}
			}
		}
		if e.guardrails && !cNonEmptyList(refs["guardrail_ids"]) {
			a.critical(at+".failure_tree_refs.guardrail_ids", "matrix.guardrail_refs_missing", spec.JSONText(refs["guardrail_ids"]),
				"the failure tree requires guardrails and the row names none",
				"list the guardrail ids this row must satisfy, or set requires_guardrails to false in the failure tree")
		}
	}
}

func (e *contractEval) dagNodes(a *contractAcc) {
	nodes, ok := e.es["dag_nodes"].([]any)
	if !ok || len(nodes) == 0 {
		a.critical(e.loc("experiment_spec.dag_nodes"), "dag.empty", "",
			"the execution DAG has no nodes", "list the DATA_PREP, TRAIN and EVAL steps with their dependencies")
		return
	}
	var order []string
	deps := map[string][]string{}
	for i, nv := range nodes {
		at := e.loc("experiment_spec.dag_nodes[%d]", i)
		node, ok := nv.(map[string]any)
		if !ok {
			a.critical(at, "dag.bad_node", spec.JSONText(nv), "the DAG node is not an object", "write the node as an object")
			continue
		}
		if miss := cMissingKeys(node, "node_id", "kind", "produces"); len(miss) > 0 {
			a.critical(at, "dag.node_missing", strings.Join(miss, ","), "the DAG node lacks required fields", "fill every listed field")
		}
		if _, present := node["depends_on"]; !present {
			a.critical(at, "dag.depends_on_missing", "",
				"the node does not declare depends_on", "declare its dependencies; a root node declares []")
		}
		if kind, _ := node["kind"].(string); (kind == "TRAIN" || kind == "EVAL") && spec.IsMissing(node["command"]) {
			a.critical(at, "dag.command_missing", kind,
				"a "+kind+" node has no command, so it cannot be rerun", "give the argv that runs the step")
		}
		id := spec.JSONText(node["node_id"])
		if _, dup := deps[id]; !dup {
			order = append(order, id)
		}
		deps[id] = contractDeps(node["depends_on"])
	}
	// Depth-first search in insertion order: a node reached while it is
	// being visited closes a cycle; unknown dependencies are reported as the
	// visit meets them.
	visiting, visited := map[string]bool{}, map[string]bool{}
	var path []string
	var visit func(n string)
	visit = func(n string) {
		if visiting[n] {
			start := slices.Index(path, n)
			cycle := append(slices.Clone(path[start:]), n)
			a.critical(e.loc("experiment_spec.dag_nodes"), "dag.cycle", strings.Join(cycle, " -> "),
				"the DAG has a cycle: "+strings.Join(cycle, " -> "), "remove a dependency so the steps can be ordered")
			return
		}
		if visited[n] {
			return
		}
		visiting[n] = true
		path = append(path, n)
		for _, d := range deps[n] {
			if d == "" {
				continue
			}
			if _, known := deps[d]; !known {
				a.critical(e.loc("experiment_spec.dag_nodes"), "dag.unknown_dependency", n+" -> "+d,
					"node "+n+" depends on "+d+", which is not a node of the DAG", "add the node or fix the id")
				continue
			}
			visit(d)
		}
		path = path[:len(path)-1]
		delete(visiting, n)
		visited[n] = true
	}
	for _, n := range order {
		visit(n)
	}
}

// contractDeps reads depends_on: a list of ids, or a single id.
func contractDeps(v any) []string {
	switch t := v.(type) {
	case []any:
		out := make([]string, 0, len(t))
		for _, d := range t {
			out = append(out, spec.JSONText(d))
		}
		return out
	case string:
		return []string{t}
	}
	return nil
}

// Terminal reasons that cannot go with a completed run.
var contractFailureReasons = []string{"OOM", "TIMEOUT", "PREEMPTED", "MAX_ITERATIONS", "USER_CANCEL"}

// Gate 2: run_status.
func (e *contractEval) runStatus(a *contractAcc) {
	rs := cObject(e.c.Tree["run_status"])
	at := e.loc("run_status")
	if miss := cMissingKeys(rs, "run_id", "matrix_row_id", "attempt", "status", "termination", "failure_class",
		"resources", "completion", "resume_semantics"); len(miss) > 0 {
		a.critical(at, "run_status.required_missing", strings.Join(miss, ","),
			"the run status lacks required fields", "fill every listed field from the run's record")
	}
	status := spec.ContractStatus(rs["status"])
	if status != "" && !slices.Contains(spec.ContractRunStatuses, status) {
		a.critical(at, "run_status.bad_status", status, "status is not a run status",
			"use one of "+strings.Join(spec.ContractRunStatuses, ", "))
	}
	fc := spec.ContractStatus(rs["failure_class"])
	if fc != "" && !slices.Contains(spec.ContractFailureClasses, fc) {
		a.critical(at, "failure.bad_class", fc, "failure_class is not a failure class",
			"use one of "+strings.Join(spec.ContractFailureClasses, ", "))
	}
	if n, ok := spec.JSONInt(rs["attempt"]); !ok || n <= 0 {
		a.critical(at, "run.attempt_bad", spec.JSONText(rs["attempt"]),
			"attempt is not a positive integer", "number attempts from 1; a retry is a new attempt")
	}
	rows := e.rowIDs()
	if mr := spec.JSONText(rs["matrix_row_id"]); len(rows) > 0 && mr != "" && !rows[mr] {
		a.critical(at, "run.matrix_row_unknown", mr,
			"the run belongs to a matrix row the frozen spec does not have",
			"run a frozen row, or amend the plan in research-plan to add the row")
	}
	term := cObject(rs["termination"])
	reason := spec.ContractStatus(term["reason"])
	if reason != "" && !slices.Contains(spec.ContractTerminationReasons, reason) {
		a.critical(at+".termination", "termination.bad_reason", reason, "termination.reason is not a termination reason",
			"use one of "+strings.Join(spec.ContractTerminationReasons, ", "))
	}
	if status == "COMPLETED" && !(reason == "NATURAL_EXIT" && cZeroExit(term["exit_code"])) {
		a.critical(at, "run.completed_bad_termination", reason+"/"+spec.JSONText(term["exit_code"]),
			"the run is called COMPLETED but did not end by a natural exit with code 0",
			"record the real status (FAILED, ABORTED, ...) or the real termination")
	}
	if slices.Contains(contractFailureReasons, reason) && status == "COMPLETED" {
		a.critical(at, "run.failure_reason_marked_completed", reason,
			"a run that ended by "+reason+" is called COMPLETED", "record it as FAILED, ABORTED or PARTIAL")
	}
	comp := cObject(rs["completion"])
	cst := spec.ContractStatus(comp["status"])
	if status == "COMPLETED" && cst != "PASS" {
		a.critical(at+".completion", "completion.not_pass_for_completed", cst,
			"the run is called COMPLETED but its completion check did not pass",
			"pass the completion oracle, or do not call the run COMPLETED")
	}
	if cst == "PASS" && spec.IsMissing(comp["evidence_artifacts"]) {
		a.critical(at+".completion", "completion.evidence_missing", "",
			"completion passed with no evidence artifacts", "list the artifacts that show completion")
	}
	if status == "COMPLETED" && cst == "PASS" && e.guardrails && !cNonEmptyList(comp["guardrail_evidence_artifacts"]) &&
		!mentionsGuardrail(comp["evidence_artifacts"]) {
		a.critical(at+".completion.guardrail_evidence_artifacts", "completion.guardrail_evidence_missing", "",
			"the failure tree requires guardrails and the completed run shows no guardrail evidence",
			"record the guardrail checks' output and list it in guardrail_evidence_artifacts")
	}
	ck := cObject(rs["checkpoint"])
	ckStatus := spec.ContractStatus(ck["status"])
	resumable := status == "PARTIAL" || status == "RESUMABLE"
	if resumable && ckStatus != "PARTIAL" {
		a.critical(at+".checkpoint", "resume.checkpoint_missing", ckStatus,
			"a "+status+" run has no PARTIAL checkpoint to resume from", "record the checkpoint (status PARTIAL, locator, sha256, resume_command)")
	}
	if ckStatus == "PARTIAL" && (cBlank(ck["locator"]) || !cHex64(ck["sha256"])) {
		a.critical(at+".checkpoint", "resume.checkpoint_hash_missing", spec.JSONText(ck["sha256"]),
			"the checkpoint has no locator or no SHA-256, so a resume cannot be tied to it",
			"record where the checkpoint is and its SHA-256")
	}
	if ckStatus == "PARTIAL" && cBlank(ck["resume_command"]) {
		a.critical(at+".checkpoint", "resume.command_missing", "",
			"the checkpoint has no resume_command", "record the exact command that resumes from it")
	}
	if resumable && cObject(rs["resume_semantics"])["safe_to_resume"] != true {
		a.critical(at+".resume_semantics", "resume.safety_missing", spec.JSONText(cObject(rs["resume_semantics"])["safe_to_resume"]),
			"a "+status+" run does not state that resuming is safe", "establish that resuming gives the same result and set safe_to_resume to true, or rerun")
	}
	if (status == "FAILED" || status == "ABORTED" || resumable) && (fc == "" || fc == "NONE" || fc == "UNKNOWN") {
		a.critical(at, "failure.class_missing", fc,
			"a "+status+" run does not say why it failed", "classify the failure (OOM, TIMEOUT, CODE_BUG, ...)")
	}
	res := cObject(rs["resources"])
	for _, k := range []string{"walltime_minutes", "cpu_hours", "gpu_hours", "memory_peak_gb", "storage_gb"} {
		if res[k] == nil {
			a.warning(at+".resources."+k, "resources.metric_missing", "",
				"resources."+k+" is not recorded", "record it from the run's resource accounting")
		}
	}
	if v := res["cost_usd"]; v != nil {
		if n, ok := cNumber(v); !ok || n < 0 {
			a.critical(at+".resources.cost_usd", "resources.bad_cost", spec.JSONText(v),
				"cost_usd is neither null nor a non-negative number", "record the cost in USD")
		}
	}
	for _, c := range []struct{ used, limit, rule string }{
		{"walltime_minutes", "max_walltime_minutes", "budget.walltime_exceeded"},
		{"cost_usd", "max_cost_usd", "budget.cost_exceeded"},
		{"compute_units_used", "max_compute_units", "budget.compute_exceeded"},
	} {
		used, ok1 := cNumber(res[c.used])
		limit, ok2 := cNumber(e.budget[c.limit])
		if ok1 && ok2 && used > limit {
			a.critical(at+".resources."+c.used, c.rule, fmt.Sprintf("%s=%s > %s=%s", c.used, spec.JSONText(res[c.used]),
				c.limit, spec.JSONText(e.budget[c.limit])),
				"the run used more than the frozen budget allows", "stop and get the budget amended before going on")
		}
	}
}

// rowIDs is the set of the non-empty row_ids of the matrix's object rows.
func (e *contractEval) rowIDs() map[string]bool {
	out := map[string]bool{}
	rows, _ := e.es["matrix_rows"].([]any)
	for _, rv := range rows {
		if row, ok := rv.(map[string]any); ok {
			if id := spec.JSONText(row["row_id"]); id != "" {
				out[id] = true
			}
		}
	}
	return out
}

// cZeroExit reports whether an exit code is the number 0.
func cZeroExit(v any) bool {
	if _, isBool := v.(bool); isBool {
		return false
	}
	if _, isStr := v.(string); isStr {
		return false
	}
	n, ok := cNumber(v)
	return ok && n == 0
}

// mentionsGuardrail reports whether an item of the list v contains
// "guardrail", ignoring case.
func mentionsGuardrail(v any) bool {
	l, _ := v.([]any)
	for _, x := range l {
		if strings.Contains(strings.ToLower(spec.JSONText(x)), "guardrail") {
			return true
		}
	}
	return false
}

// Gate 3: environment_cache.
func (e *contractEval) environmentCache(a *contractAcc) {
	env := cObject(e.c.Tree["environment"])
	if miss := cMissingKeys(env, "code_commit", "dirty", "env_lock_sha256", "package_lock_sha256", "python", "os",
		"random_seed"); len(miss) > 0 {
		a.critical(e.loc("environment"), "environment.required_missing", strings.Join(miss, ","),
			"the environment is not pinned: required fields are missing", "record every listed field")
	}
	for _, k := range []string{"env_lock_sha256", "package_lock_sha256"} {
		if v := env[k]; !spec.IsMissing(v) && !cHex64(v) {
			a.critical(e.loc("environment.%s", k), "environment.bad_hash", spec.JSONText(v),
				k+" is not a SHA-256 (64 hex digits)", "write the SHA-256 of the lock file")
		}
	}
	if env["dirty"] == true && !cHex64(env["diff_sha256"]) {
		a.critical(e.loc("environment"), "environment.dirty_without_diff_hash", spec.JSONText(env["diff_sha256"]),
			"the code was dirty and the uncommitted diff is not pinned by a SHA-256",
			"commit the changes, or record the SHA-256 of the diff in diff_sha256")
	}
	if env["random_seed"] == nil {
		a.critical(e.loc("environment"), "environment.seed_missing", "",
			"no random seed is recorded", "record the seed the run used")
	}
	cache := cObject(e.c.Tree["cache"])
	if !spec.Truthy(cache["enabled"]) {
		a.warning(e.loc("cache"), "cache.declaration_missing", spec.JSONText(cache["enabled"]),
			"no cache is declared, so nothing shows that no stale cached result entered the run",
			"declare the cache with its policy, manifest hash, isolation strategy and a passing contamination check")
		return
	}
	for _, k := range []string{"cache_policy", "cache_manifest_sha256", "isolation_strategy"} {
		if cBlank(cache[k]) {
			a.critical(e.loc("cache.%s", k), "cache.required_missing", "",
				"the cache is enabled and cache."+k+" is missing", "record it")
		}
	}
	if v := cache["cache_manifest_sha256"]; !spec.IsMissing(v) && !cHex64(v) {
		a.critical(e.loc("cache.cache_manifest_sha256"), "cache.bad_hash", spec.JSONText(v),
			"cache_manifest_sha256 is not a SHA-256 (64 hex digits)", "write the SHA-256 of the cache manifest")
	}
	if cc := spec.ContractStatus(cache["contamination_check"]); cc == "" || cc == "UNKNOWN" || cc == "FAIL" {
		a.critical(e.loc("cache.contamination_check"), "cache.contamination_unresolved", cc,
			"the cache's contamination check did not pass", "run the contamination check and record PASS, or disable the cache")
	}
}

// Gate 4: repro_level.
func (e *contractEval) reproLevel(a *contractAcc) {
	repro := cObject(e.c.Tree["reproducibility"])
	at := e.loc("reproducibility")
	requested := spec.ContractStatus(repro["requested_level"])
	reqIdx := slices.Index(spec.ReproLevels, requested)
	if reqIdx < 0 {
		a.critical(at, "repro.bad_requested_level", requested, "requested_level is not a reproducibility level",
			"use one of "+strings.Join(spec.ReproLevels, ", "))
	}
	levels, ok := repro["levels"].(map[string]any)
	if !ok {
		a.critical(at, "repro.levels_bad_type", spec.JSONText(repro["levels"]),
			"levels is not an object", "give a status for each of "+strings.Join(spec.ReproLevels, ", "))
		levels = map[string]any{}
	}
	for i, l := range spec.ReproLevels {
		st := spec.ContractStatus(levels[l])
		lat := e.loc("reproducibility.levels.%s", l)
		if !slices.Contains(spec.ReproLevelStatuses, st) {
			a.critical(lat, "repro.level_bad_status", st, l+" has no valid status",
				"use one of "+strings.Join(spec.ReproLevelStatuses, ", "))
			continue
		}
		switch {
		case i <= reqIdx && st != "PASS":
			a.critical(lat, "repro.requested_level_not_met", st,
				"the requested level "+requested+" needs "+l+" to pass, and it is "+st,
				"demonstrate "+l+" with evidence, or request a lower level")
		case i > reqIdx && st == "UNKNOWN":
			a.warning(lat, "repro.higher_level_unknown", st,
				l+" was not established", "state it as a limitation, or mark it NOT_APPLICABLE")
		}
	}
	if reqIdx >= 0 {
		key := strings.ToLower(requested)
		if cBlank(cObject(repro["evidence"])[key]) {
			a.critical(e.loc("reproducibility.evidence.%s", key), "repro.evidence_missing", "",
				"no evidence is given for the requested level "+requested, "point evidence."+key+" at the comparison that shows it")
		}
	}
	pairs, _ := repro["same_seed_runs"].([]any)
	for i, pv := range pairs {
		pat := e.loc("reproducibility.same_seed_runs[%d]", i)
		pair, ok := pv.(map[string]any)
		if !ok {
			a.critical(pat, "repro.pair_bad_type", spec.JSONText(pv), "the same-seed pair is not an object", "write it as an object")
			continue
		}
		if pair["same_seed_exact"] != true {
			a.critical(pat, "repro.same_seed_mismatch", spec.JSONText(pair["same_seed_exact"]),
				"the two runs of a fixed seed did not give identical artifacts",
				"find the nondeterminism (seeds, cuDNN, data order) and rerun the pair")
		}
		if cBlank(pair["comparison_locator"]) {
			a.critical(pat, "repro.comparison_locator_missing", "",
				"the same-seed pair names no comparison", "point comparison_locator at the comparison report")
		}
	}
}

// Gate 5: remote_execution_authorization.
func (e *contractEval) remoteExecution(a *contractAcc) {
	re := cObject(e.c.Tree["remote_execution"])
	at := e.loc("remote_execution")
	est, estOK := cNumber(re["estimated_cost_usd"])
	active := spec.Truthy(re["required"]) || spec.Truthy(re["paid"]) || estOK && est > 0
	auth, authObj := re["user_authorization"].(map[string]any)
	authStatus := "UNKNOWN"
	if authObj {
		authStatus = spec.ContractStatus(auth["status"])
	}
	if !active {
		if !spec.IsMissing(re["user_authorization"]) && authStatus != "NOT_REQUIRED" && authStatus != "APPROVED" {
			a.warning(at, "remote.unneeded_auth_state", authStatus,
				"no remote execution is planned but an authorization is "+authStatus,
				"set user_authorization.status to NOT_REQUIRED, or declare the remote execution")
		}
		return
	}
	if miss := cMissingKeys(re, "provider", "plan_locator", "estimated_cost_usd", "cancel_command", "data_egress",
		"secrets_policy", "user_authorization"); len(miss) > 0 {
		a.critical(at, "remote.required_missing", strings.Join(miss, ","),
			"remote or paid execution is not fully planned", "fill every listed field")
	}
	if !slices.Contains(spec.AuthorizationStatuses, authStatus) {
		a.critical(at, "remote.auth_bad_status", authStatus, "user_authorization.status is not an authorization status",
			"use one of "+strings.Join(spec.AuthorizationStatuses, ", "))
	}
	if spec.ContractStatus(e.c.Tree["decision"]) == "RUN_READY" && authStatus != "APPROVED" {
		a.critical(at, "remote.approval_required", authStatus,
			"the decision is RUN_READY while the remote execution is not approved by the user",
			"ask the user and record the approval (approved_at, scope), or do not declare RUN_READY")
	}
	if authStatus == "APPROVED" {
		t, ok := spec.ParseContractTime(auth["approved_at"])
		if !ok {
			a.critical(at, "remote.approved_at_missing", spec.JSONText(auth["approved_at"]),
				"the approval has no ISO-8601 approved_at with a time zone", "record when the user approved")
		} else if spec.IsFuture(t, e.asOf) {
			a.critical(at, "remote.future_approved_at", spec.JSONText(auth["approved_at"]),
				"approved_at lies in the future of as_of", "record the real time of the approval")
		}
		if cBlank(auth["scope"]) {
			a.critical(at, "remote.approval_scope_missing", "",
				"the approval does not say what it covers", "record the approved scope (provider, budget, data)")
		}
	}
	if v := re["estimated_cost_usd"]; v != nil && !estOK {
		a.critical(at, "remote.bad_estimated_cost", spec.JSONText(v),
			"estimated_cost_usd is neither null nor a number", "write the estimate in USD")
	}
	if estOK && est > 0 && cBlank(re["budget_impact"]) {
		a.warning(at, "remote.budget_impact_missing", spec.JSONText(re["estimated_cost_usd"]),
			"the remote execution costs money and its budget impact is not stated", "state the budget impact")
	}
	if limit, ok := cNumber(e.budget["max_cost_usd"]); estOK && ok && est > limit && cBlank(re["budget_override_locator"]) {
		a.critical(at, "remote.cost_over_budget", fmt.Sprintf("%s > %s", spec.JSONText(re["estimated_cost_usd"]), spec.JSONText(e.budget["max_cost_usd"])),
			"the estimated cost exceeds the budget's max_cost_usd and no override is recorded",
			"get the budget raised and point budget_override_locator at the decision")
	}
}

// Gate 6: declared_decision, judged against the gates before it.
func (e *contractEval) declaredDecision(a *contractAcc, before []spec.Gate) {
	at := e.loc("decision")
	d := spec.ContractStatus(e.c.Tree["decision"])
	var blocking, warned []string
	for _, g := range before {
		switch {
		case g.Blocks():
			blocking = append(blocking, g.Gate)
		case g.Status == spec.GateWarn:
			warned = append(warned, g.Gate)
		}
	}
	switch {
	case !slices.Contains(spec.ContractDecisions, d):
		a.critical(at, "decision.bad_status", d, "the decision is not one of "+strings.Join(spec.ContractDecisions, ", "),
			"declare RUN_READY, RUN_WITH_LIMITATIONS, NOT_READY or UNKNOWN")
	case d == "NOT_READY" || d == "UNKNOWN":
		a.critical(at, "decision.blocks_advancement", d, "the declared decision is "+d+", which blocks advancement",
			"resolve the blockers and declare RUN_READY or RUN_WITH_LIMITATIONS")
	case len(blocking) > 0:
		a.critical(at, "decision.overrides_blockers", strings.Join(blocking, ","),
			"the decision "+d+" ignores gates that block", "fix the blocking gates, or declare NOT_READY")
	case len(warned) > 0 && d == "RUN_READY":
		a.warning(at, "decision.should_be_limited", strings.Join(warned, ","),
			"gates warned and the decision is RUN_READY", "declare RUN_WITH_LIMITATIONS and list the limitations")
	}
}
