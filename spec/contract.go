package spec

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
)

// Schema tags of the Light execution contract and of the report its gate
// writes (spec §2.3, §2.7).
const (
	ContractSchema       = "light.experiment_execution_contract.v1"
	ContractReportSchema = "light.experiment_execution_contract.report.v1"
)

// The enumerations of light.experiment_execution_contract.v1. A contract's
// values are compared with these after trimming and upper-casing them (see
// [ContractStatus]). Do not reorder; append only.
var (
	ContractRunStatuses = []string{"NOT_STARTED", "RUNNING", "COMPLETED", "FAILED", "ABORTED",
		"PARTIAL", "RESUMABLE", "UNKNOWN"}
	ContractTerminationReasons = []string{"NONE", "NATURAL_EXIT", "ERROR", "OOM", "TIMEOUT", "PREEMPTED",
		"USER_CANCEL", "MAX_ITERATIONS", "UNKNOWN"}
	ContractFailureClasses = []string{"NONE", "OOM", "TIMEOUT", "NUMERICAL", "RANDOM_FAILURE",
		"CACHE_CONTAMINATION", "ENV_MISMATCH", "DATA_MISSING", "CODE_BUG", "USER_CANCEL", "PREEMPTED", "UNKNOWN"}
	// ReproLevels are the reproducibility levels, weakest first: a level is
	// met only when it and every level before it passed.
	ReproLevels           = []string{"SAME_ENV_REPEAT", "CLEAN_ENV_RERUN", "CROSS_PLATFORM", "INDEPENDENT_REIMPLEMENTATION"}
	ReproLevelStatuses    = []string{"PASS", "FAIL", "UNKNOWN", "NOT_APPLICABLE"}
	AuthorizationStatuses = []string{"NOT_REQUIRED", "REQUESTED", "APPROVED", "DENIED", "UNKNOWN"}
	ContractDecisions     = []string{"RUN_READY", "RUN_WITH_LIMITATIONS", "NOT_READY", "UNKNOWN"}
	FailureTreeStatuses   = []string{"PASS", "WARN", "FAIL"}
)

// contractSections are the top-level members a contract may have. Members
// whose name starts with "_" are annotations and are allowed too.
var contractSections = []string{"schema", "project", "as_of", "experiment_spec", "run_status", "environment",
	"cache", "reproducibility", "remote_execution", "decision"}

// Contract is a decoded light.experiment_execution_contract.v1 document.
//
// The contract gate judges the document as written: a member of the wrong
// JSON type, a placeholder or a missing object is a finding, not a decode
// error. So Contract keeps the JSON tree ([ParseJSON]'s map[string]any,
// []any, string, json.Number, bool and nil) and offers typed views of it
// ([Contract.Run], [Contract.SameSeedPairs]) for callers that bind the
// claims to evidence.
type Contract struct {
	// Tree is the whole document.
	Tree map[string]any
}

// DecodeContract decodes a contract. It accepts a leading UTF-8 byte order
// mark, as the original tool does. It is strict about what can only be a
// mistake: the bytes must be JSON as [ParseJSON] reads it (no duplicate keys,
// which could hide a second claim), the value must be an object, "schema",
// when present, must be [ContractSchema] (a missing schema is accepted), and
// the top level may hold only the sections of §2.3 and "_"-prefixed
// annotations. Everything below the top level is left to the gate. Errors
// wrap [ErrSyntax], [ErrSchema] or [ErrUnknownField].
func DecodeContract(data []byte) (*Contract, error) {
	data = bytes.TrimPrefix(data, []byte("\ufeff"))
	tree, err := ParseJSON(data)
	if err != nil {
		return nil, err
	}
	obj, ok := tree.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%w: %s document is not a JSON object", ErrSyntax, ContractSchema)
	}
	if v, present := obj["schema"]; present {
		if s, _ := v.(string); s != ContractSchema {
			return nil, fmt.Errorf("%w: got %s, want %q", ErrSchema, jsonRepr(v), ContractSchema)
		}
	}
	var unknown []string
	for k := range obj {
		if !slices.Contains(contractSections, k) && !strings.HasPrefix(k, "_") {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		slices.Sort(unknown)
		return nil, fmt.Errorf("%s: %w: top-level member %q (the sections are %s; prefix annotations with \"_\")",
			ContractSchema, ErrUnknownField, unknown[0], strings.Join(contractSections, ", "))
	}
	return &Contract{Tree: obj}, nil
}

// Project is the project the contract names, or "unknown-project" when it
// names none.
func (c *Contract) Project() string {
	if p := strings.TrimSpace(JSONText(c.Tree["project"])); p != "" {
		return p
	}
	return "unknown-project"
}

// Section returns the top-level member name when it is an object, and nil
// otherwise.
func (c *Contract) Section(name string) map[string]any {
	m, _ := c.Tree[name].(map[string]any)
	return m
}

// RunClaim is what a contract's run_status says about one attempt, typed.
// Enumerated values are normalised by [ContractStatus]; a member that is
// absent or of the wrong type leaves its field zero (and its Has flag false).
type RunClaim struct {
	RunID       string
	MatrixRowID string
	Attempt     int
	HasAttempt  bool // attempt is a positive JSON integer
	Status      string
	Termination string
	ExitCode    *int
	// Completion is completion.status; Evidence and GuardrailEvidence its
	// evidence_artifacts and guardrail_evidence_artifacts.
	Completion        string
	Evidence          []string
	GuardrailEvidence []string
	// Resources are the numeric members of resources, by name, as
	// [ContractNumber] reads them; a null or non-numeric member is absent.
	Resources map[string]float64
}

// Run returns the typed view of run_status.
func (c *Contract) Run() RunClaim {
	rs := c.Section("run_status")
	var r RunClaim
	r.RunID = strings.TrimSpace(JSONText(rs["run_id"]))
	r.MatrixRowID = strings.TrimSpace(JSONText(rs["matrix_row_id"]))
	if n, ok := JSONInt(rs["attempt"]); ok && n > 0 {
		r.Attempt, r.HasAttempt = int(n), true
	}
	r.Status = ContractStatus(rs["status"])
	term, _ := rs["termination"].(map[string]any)
	r.Termination = ContractStatus(term["reason"])
	if n, ok := JSONInt(term["exit_code"]); ok {
		v := int(n)
		r.ExitCode = &v
	}
	comp, _ := rs["completion"].(map[string]any)
	r.Completion = ContractStatus(comp["status"])
	r.Evidence = textList(comp["evidence_artifacts"])
	r.GuardrailEvidence = textList(comp["guardrail_evidence_artifacts"])
	r.Resources = map[string]float64{}
	res, _ := rs["resources"].(map[string]any)
	for k, v := range res {
		if f, ok := ContractNumber(v); ok {
			r.Resources[k] = f
		}
	}
	return r
}

// SameSeedPair is one entry of reproducibility.same_seed_runs. First and
// Second name the two runs compared (rigor's extension: run ids, refs or
// digests); they are empty in a contract written for the original tool.
type SameSeedPair struct {
	Index             int
	Exact             bool // same_seed_exact is literally true
	ComparisonLocator string
	First, Second     string
}

// SameSeedPairs returns the object entries of reproducibility.same_seed_runs.
func (c *Contract) SameSeedPairs() []SameSeedPair {
	repro := c.Section("reproducibility")
	list, _ := repro["same_seed_runs"].([]any)
	var out []SameSeedPair
	for i, v := range list {
		m, ok := v.(map[string]any)
		if !ok {
			continue
		}
		exact, _ := m["same_seed_exact"].(bool)
		out = append(out, SameSeedPair{
			Index:             i,
			Exact:             exact,
			ComparisonLocator: strings.TrimSpace(JSONText(m["comparison_locator"])),
			First:             strings.TrimSpace(JSONText(m["first_run"])),
			Second:            strings.TrimSpace(JSONText(m["second_run"])),
		})
	}
	return out
}

// Budget returns experiment_spec.budget's numeric limits by name.
func (c *Contract) Budget() map[string]float64 {
	es := c.Section("experiment_spec")
	b, _ := es["budget"].(map[string]any)
	out := map[string]float64{}
	for k, v := range b {
		if f, ok := ContractNumber(v); ok {
			out[k] = f
		}
	}
	return out
}

// RequiresGuardrails reports whether the contract requires guardrail
// evidence: unless experiment_spec.failure_tree is an object whose
// requires_guardrails is the literal false.
func (c *Contract) RequiresGuardrails() bool {
	ft, ok := c.Section("experiment_spec")["failure_tree"].(map[string]any)
	if !ok {
		return true
	}
	b, isBool := ft["requires_guardrails"].(bool)
	return !isBool || b
}

func textList(v any) []string {
	list, _ := v.([]any)
	out := make([]string, 0, len(list))
	for _, x := range list {
		out = append(out, JSONText(x))
	}
	return out
}

// ContractReport is the full result of the contract gate,
// "light.experiment_execution_contract.report.v1" (§2.7).
type ContractReport struct {
	Schema  string `json:"schema"`
	Project string `json:"project"`
	// Status is PASS, WARN or FAIL; Advancement ALLOW,
	// ALLOW_WITH_LIMITATIONS or BLOCK, in that correspondence.
	Status      string `json:"status"`
	Advancement string `json:"advancement"`
	// Decision is the contract's declared decision, trimmed and upper-cased
	// as written (it may be outside [ContractDecisions]).
	Decision      string   `json:"decision"`
	BlockingGates []string `json:"blocking_gates"`
	Findings      Report   `json:"findings"`
}

// Contract report statuses and advancements.
const (
	ContractPass = "PASS"
	ContractWarn = "WARN"
	ContractFail = "FAIL"

	AdvanceAllow           = "ALLOW"
	AdvanceWithLimitations = "ALLOW_WITH_LIMITATIONS"
	AdvanceBlock           = "BLOCK"
)

// ContractOutcome maps a findings verdict to the report's status and
// advancement: fail → FAIL/BLOCK, warn → WARN/ALLOW_WITH_LIMITATIONS, pass →
// PASS/ALLOW.
func ContractOutcome(v Verdict) (status, advancement string) {
	switch v {
	case VerdictFail:
		return ContractFail, AdvanceBlock
	case VerdictWarn:
		return ContractWarn, AdvanceWithLimitations
	}
	return ContractPass, AdvanceAllow
}

// Validate checks the report: its findings pass [Report.Validate], status
// and advancement are the ones the verdict gives, and blocking_gates lists
// exactly the blocking gates, in order.
func (r *ContractReport) Validate() error {
	p := problems{schema: ContractReportSchema}
	p.schemaIs(r.Schema)
	p.nonEmpty("project", r.Project)
	if err := r.Findings.Validate(); err != nil {
		p.addf("findings: %v", err)
	} else {
		st, adv := ContractOutcome(r.Findings.Verdict)
		if r.Status != st || r.Advancement != adv {
			p.addf("status %q and advancement %q contradict the findings verdict %q", r.Status, r.Advancement, r.Findings.Verdict)
		}
		if !slices.Equal(r.BlockingGates, r.Findings.Blocking()) && !(len(r.BlockingGates) == 0 && len(r.Findings.Blocking()) == 0) {
			p.addf("blocking_gates %v are not the blocking gates of the findings %v", r.BlockingGates, r.Findings.Blocking())
		}
	}
	return p.err()
}

// Encode validates r and returns its canonical JSON encoding, with empty
// lists written as [].
func (r *ContractReport) Encode() ([]byte, error) {
	if err := r.Validate(); err != nil {
		return nil, err
	}
	f, err := r.Findings.Encode()
	if err != nil {
		return nil, err
	}
	ftree, err := ParseJSON(f)
	if err != nil {
		return nil, err
	}
	blocking := make([]any, 0, len(r.BlockingGates))
	for _, g := range r.BlockingGates {
		blocking = append(blocking, g)
	}
	return Canonical(map[string]any{
		"schema": r.Schema, "project": r.Project, "status": r.Status, "advancement": r.Advancement,
		"decision": r.Decision, "blocking_gates": blocking, "findings": ftree,
	})
}
