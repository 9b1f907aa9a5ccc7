package spec

import (
	"fmt"
	"slices"
	"strings"
)

// FindingsSchema is the schema tag of a gate report (spec §2.6).
const FindingsSchema = "light.findings.v1"

// GateStatus is the outcome of one gate. Printed and persisted: do not
// reorder; append only.
type GateStatus string

// The gate statuses of light.findings.v1. A skip counts as a pass.
const (
	GatePass GateStatus = "pass"
	GateFail GateStatus = "fail"
	GateWarn GateStatus = "warn"
	GateSkip GateStatus = "skip"
)

// Valid reports whether s is one of the four statuses.
func (s GateStatus) Valid() bool {
	switch s {
	case GatePass, GateFail, GateWarn, GateSkip:
		return true
	}
	return false
}

// Severity grades a gate, ordered info < minor < major < critical.
// Printed and persisted: do not reorder; append only.
type Severity string

// The severities of light.findings.v1, lowest first.
const (
	SeverityInfo     Severity = "info"
	SeverityMinor    Severity = "minor"
	SeverityMajor    Severity = "major"
	SeverityCritical Severity = "critical"
)

// Rank orders severities: info 0, minor 1, major 2, critical 3, and -1 for a
// value outside the four.
func (s Severity) Rank() int {
	switch s {
	case SeverityInfo:
		return 0
	case SeverityMinor:
		return 1
	case SeverityMajor:
		return 2
	case SeverityCritical:
		return 3
	}
	return -1
}

// Valid reports whether s is one of the four severities.
func (s Severity) Valid() bool { return s.Rank() >= 0 }

// Verdict is the overall outcome of a report.
type Verdict string

// The verdicts of light.findings.v1.
const (
	VerdictPass Verdict = "pass"
	VerdictWarn Verdict = "warn"
	VerdictFail Verdict = "fail"
)

// Valid reports whether v is one of the three verdicts.
func (v Verdict) Valid() bool {
	return v == VerdictPass || v == VerdictWarn || v == VerdictFail
}

// Finding is one problem a gate found. Loc and Issue are required.
//
// Loc is where: "file:line", "file:line:col", "nb.ipynb:cell 3:12:5" for a
// notebook cell, or a name that is not a place in a file ("P:leakage").
type Finding struct {
	Loc      string `json:"loc"`
	Issue    string `json:"issue"`
	Fix      string `json:"fix"`
	Evidence string `json:"evidence,omitempty"`
	Rule     string `json:"rule,omitempty"`
}

// Gate is one check of a report with its findings, in the order found.
type Gate struct {
	Gate     string     `json:"gate"`
	Status   GateStatus `json:"status"`
	Severity Severity   `json:"severity"`
	Findings []Finding  `json:"findings"`
	Note     string     `json:"note,omitempty"`
}

// Blocks reports whether g blocks advancement: status fail and severity
// critical.
func (g Gate) Blocks() bool { return g.Status == GateFail && g.Severity == SeverityCritical }

// Report is a "light.findings.v1" report, the output contract of every
// gate. Gates keep the order they ran in.
type Report struct {
	Schema        string  `json:"schema"`
	Producer      string  `json:"producer"`
	Target        string  `json:"target"`
	Verdict       Verdict `json:"verdict"`
	Gates         []Gate  `json:"gates"`
	Summary       string  `json:"summary"`
	FreshEvidence bool    `json:"fresh_evidence"`
}

// ComputeVerdict applies the §2.6 rule: fail if any gate blocks; otherwise
// warn if any gate has status fail or warn; otherwise pass (skip counts as
// pass).
func ComputeVerdict(gates []Gate) Verdict {
	v := VerdictPass
	for _, g := range gates {
		if g.Blocks() {
			return VerdictFail
		}
		if g.Status == GateFail || g.Status == GateWarn {
			v = VerdictWarn
		}
	}
	return v
}

// WorstSeverity is the highest severity among gates whose status is fail or
// warn, or info when there are none.
func WorstSeverity(gates []Gate) Severity {
	worst := SeverityInfo
	for _, g := range gates {
		if (g.Status == GateFail || g.Status == GateWarn) && g.Severity.Rank() > worst.Rank() {
			worst = g.Severity
		}
	}
	return worst
}

// Blocking returns the names of the gates that block, in report order.
func (r *Report) Blocking() []string {
	var names []string
	for _, g := range r.Gates {
		if g.Blocks() {
			names = append(names, g.Gate)
		}
	}
	return names
}

// WorstSeverity is [WorstSeverity] of r's gates.
func (r *Report) WorstSeverity() Severity { return WorstSeverity(r.Gates) }

// Validate checks the §2.6 rules: the schema is light.findings.v1; producer
// and target are non-empty; the verdict, every gate status and every gate
// severity are allowed values; every gate has a name; every finding has loc
// and issue. It also checks that the verdict is the one [ComputeVerdict]
// gives, since a report that says pass while a gate blocks is either a
// producer bug or an edited file. The error wraps [ErrSchema] for a wrong
// schema and [ErrInvalid] for anything else, and names every problem.
func (r *Report) Validate() error {
	if r.Schema != FindingsSchema {
		return fmt.Errorf("%w: got %q, want %q", ErrSchema, r.Schema, FindingsSchema)
	}
	p := problems{schema: FindingsSchema}
	p.nonEmpty("producer", r.Producer)
	p.nonEmpty("target", r.Target)
	if !r.Verdict.Valid() {
		p.addf("verdict %q must be pass, warn or fail", r.Verdict)
	}
	for i, g := range r.Gates {
		if strings.TrimSpace(g.Gate) == "" {
			p.addf("gates[%d].gate must be a non-empty string", i)
		}
		if !g.Status.Valid() {
			p.addf("gates[%d].status %q must be pass, fail, warn or skip", i, g.Status)
		}
		if !g.Severity.Valid() {
			p.addf("gates[%d].severity %q must be critical, major, minor or info", i, g.Severity)
		}
		for j, f := range g.Findings {
			if strings.TrimSpace(f.Loc) == "" {
				p.addf("gates[%d].findings[%d].loc must be a non-empty string", i, j)
			}
			if strings.TrimSpace(f.Issue) == "" {
				p.addf("gates[%d].findings[%d].issue must be a non-empty string", i, j)
			}
		}
	}
	if len(p.errs) == 0 && r.Verdict != ComputeVerdict(r.Gates) {
		p.addf("verdict %q contradicts the gates, which give %q", r.Verdict, ComputeVerdict(r.Gates))
	}
	return p.err()
}

// Encode validates r and returns its canonical JSON encoding (see the
// package documentation). Nil Gates and Findings slices are written as empty
// arrays, and the empty optional members (note, evidence, rule) are left out.
func (r *Report) Encode() ([]byte, error) {
	if err := r.Validate(); err != nil {
		return nil, err
	}
	c := *r
	if c.Gates == nil {
		c.Gates = []Gate{}
	}
	c.Gates = slices.Clone(c.Gates)
	for i := range c.Gates {
		if c.Gates[i].Findings == nil {
			c.Gates[i].Findings = []Finding{}
		}
	}
	return Canonical(&c)
}

// findingsFields are the members each object of a report may have; the
// bool says whether the member is required.
var (
	findingsReportFields = map[string]bool{"schema": true, "producer": true, "target": true, "verdict": true,
		"gates": true, "summary": false, "fresh_evidence": false}
	findingsGateFields    = map[string]bool{"gate": true, "status": true, "severity": true, "findings": false, "note": false}
	findingsFindingFields = map[string]bool{"loc": true, "issue": true, "fix": false, "evidence": false, "rule": false}
)

// DecodeFindings decodes and validates a light.findings.v1 report.
//
// It is strict where it can be without rejecting what the original toolkit
// writes: the bytes must be well-formed JSON as [ParseJSON] reads it
// (no duplicate keys, no trailing data); every member must have the right
// JSON type; members that the format does not define are rejected with
// [ErrUnknownField], except members whose name starts with "_", which the
// Light scripts use for annotations such as "_degraded" and which are
// dropped. Summary, fresh_evidence, a gate's findings and note and a
// finding's fix, evidence and rule may be absent. The result passes
// [Report.Validate]; errors wrap [ErrSyntax], [ErrSchema],
// [ErrUnknownField] or [ErrInvalid].
func DecodeFindings(data []byte) (*Report, error) {
	tree, err := ParseJSON(data)
	if err != nil {
		return nil, err
	}
	obj, ok := tree.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%w: %s report is not a JSON object", ErrSyntax, FindingsSchema)
	}
	if got, _ := obj["schema"].(string); got != FindingsSchema {
		return nil, fmt.Errorf("%w: got %q, want %q", ErrSchema, got, FindingsSchema)
	}
	d := findingsDecoder{}
	r := d.report(obj)
	if d.err != nil {
		return nil, d.err
	}
	if err := r.Validate(); err != nil {
		return nil, err
	}
	return r, nil
}

// findingsDecoder turns the tree ParseJSON returns into a Report, keeping
// the first problem it meets.
type findingsDecoder struct{ err error }

func (d *findingsDecoder) fail(base error, format string, args ...any) {
	if d.err == nil {
		d.err = fmt.Errorf("%s: %w: %s", FindingsSchema, base, fmt.Sprintf(format, args...))
	}
}

func (d *findingsDecoder) members(path string, obj map[string]any, fields map[string]bool) {
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if _, known := fields[k]; !known && !strings.HasPrefix(k, "_") {
			d.fail(ErrUnknownField, "%s%s", path, k)
		}
	}
	for _, k := range sortedKeys(fields) {
		if _, present := obj[k]; fields[k] && !present {
			d.fail(ErrInvalid, "%s%s is missing", path, k)
		}
	}
}

func sortedKeys(m map[string]bool) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func (d *findingsDecoder) str(path string, v any, present bool) string {
	if !present {
		return ""
	}
	s, ok := v.(string)
	if !ok {
		d.fail(ErrInvalid, "%s must be a string", path)
	}
	return s
}

func (d *findingsDecoder) report(obj map[string]any) *Report {
	d.members("", obj, findingsReportFields)
	get := func(k string) (any, bool) { v, ok := obj[k]; return v, ok }
	r := &Report{}
	v, ok := get("schema")
	r.Schema = d.str("schema", v, ok)
	v, ok = get("producer")
	r.Producer = d.str("producer", v, ok)
	v, ok = get("target")
	r.Target = d.str("target", v, ok)
	v, ok = get("verdict")
	r.Verdict = Verdict(d.str("verdict", v, ok))
	v, ok = get("summary")
	r.Summary = d.str("summary", v, ok)
	if v, ok = get("fresh_evidence"); ok {
		b, isBool := v.(bool)
		if !isBool {
			d.fail(ErrInvalid, "fresh_evidence must be true or false")
		}
		r.FreshEvidence = b
	}
	gates, isArr := obj["gates"].([]any)
	if _, present := obj["gates"]; present && !isArr {
		d.fail(ErrInvalid, "gates must be an array")
	}
	r.Gates = make([]Gate, 0, len(gates))
	for i, gv := range gates {
		path := fmt.Sprintf("gates[%d]", i)
		gobj, isObj := gv.(map[string]any)
		if !isObj {
			d.fail(ErrInvalid, "%s must be an object", path)
			continue
		}
		r.Gates = append(r.Gates, d.gate(path, gobj))
	}
	return r
}

func (d *findingsDecoder) gate(path string, obj map[string]any) Gate {
	d.members(path+".", obj, findingsGateFields)
	g := Gate{Findings: []Finding{}}
	v, ok := obj["gate"]
	g.Gate = d.str(path+".gate", v, ok)
	v, ok = obj["status"]
	g.Status = GateStatus(d.str(path+".status", v, ok))
	v, ok = obj["severity"]
	g.Severity = Severity(d.str(path+".severity", v, ok))
	v, ok = obj["note"]
	g.Note = d.str(path+".note", v, ok)
	fv, present := obj["findings"]
	fs, isArr := fv.([]any)
	if present && !isArr {
		d.fail(ErrInvalid, "%s.findings must be an array", path)
	}
	for j, f := range fs {
		fpath := fmt.Sprintf("%s.findings[%d]", path, j)
		fobj, isObj := f.(map[string]any)
		if !isObj {
			d.fail(ErrInvalid, "%s must be an object", fpath)
			continue
		}
		d.members(fpath+".", fobj, findingsFindingFields)
		var fd Finding
		v, ok = fobj["loc"]
		fd.Loc = d.str(fpath+".loc", v, ok)
		v, ok = fobj["issue"]
		fd.Issue = d.str(fpath+".issue", v, ok)
		v, ok = fobj["fix"]
		fd.Fix = d.str(fpath+".fix", v, ok)
		v, ok = fobj["evidence"]
		fd.Evidence = d.str(fpath+".evidence", v, ok)
		v, ok = fobj["rule"]
		fd.Rule = d.str(fpath+".rule", v, ok)
		g.Findings = append(g.Findings, fd)
	}
	return g
}
