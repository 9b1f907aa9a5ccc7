package gates

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/rigor-dev/rigor/spec"
)

// The four gates of the stage-6 repro gate (spec §3.4), in order. Leakage
// and reproducible are the canonical stage-6 gates and the only ones that
// can fail critically; float_assert and unsafe_scan only warn.
const (
	GateReproLeakage      = LeakageGate // "leakage"
	GateReproReproducible = "reproducible"
	GateReproFloatAssert  = "float_assert"
	GateReproUnsafeScan   = "unsafe_scan"
)

// ReproProducer is the producer of the repro gate's findings.
const ReproProducer = "experiment-coding"

// reproUnsafeClasses are the review classes the unsafe_scan gate reports, as
// warnings: at the research checkpoint security problems do not block.
var reproUnsafeClasses = []string{ClassSecret, ClassOSSystem, ClassShellTrue, ClassEvalExec, ClassSQLConcat,
	ClassBareExcept, ClassSyntaxError, ClassReadError}

// ReproOptions tune [Repro]. The zero value is ready to use.
type ReproOptions struct {
	// Scan tunes the static analyses.
	Scan Options
	// Split tunes the split audit.
	Split SplitOptions
}

// ReviewIssue is one review finding in review_gate's issue shape.
type ReviewIssue struct {
	Loc      string `json:"loc"`
	Code     string `json:"code"`
	Severity string `json:"severity"` // critical or important
	Msg      string `json:"msg"`
}

// SplitLeakage is the split audit's part of a repro result: its rows, or
// why it could not run.
type SplitLeakage struct {
	Rows      []SplitRow `json:"rows"`
	Available bool       `json:"available"`
	Reason    string     `json:"reason"`
}

// ReproResult is the repro gate's full result, in the shape of §2.7.
type ReproResult struct {
	Project           string        `json:"project"`
	Seed              *SeedAudit    `json:"seed"`
	ReviewIssues      []ReviewIssue `json:"review_issues"`
	SplitLeakage      *SplitLeakage `json:"split_leakage"`
	HasCode           bool          `json:"has_code"`
	Findings          spec.Report   `json:"findings"`
	FindingsAvailable bool          `json:"findings_available"`
}

// Repro runs the stage-6 repro gate (spec §3.4) on a repro spec. The
// sources are the inline code (first, named by code_name) and then
// code_files, loaded as [Load] loads paths. The seed audit is [Seeds], the
// review issues are [Review] (whose DATA-LEAKAGE findings come from the
// data-flow leakage analysis), and the split audit is [AuditSplit] when the
// spec has a leakage object. Four gates follow:
//
//   - leakage: the critical code leaks and the split audit's HIGH rows
//     fail it critically; the code's warn-level leaks (group, time) and
//     the split's MED and LOW rows warn. A split audit that was asked for
//     and could not run warns (leakage.split_check_unavailable). With no
//     code and no split audit the gate is skipped. Unlike the original,
//     which skips the gate silently when there is no code and the split
//     audit could not run, rigor warns then too, so the failure is seen.
//   - reproducible: skipped without code or without a framework with
//     randomness; fail/critical with one finding listing each missing
//     mechanism and its fix; warn/major when every missing mechanism is
//     delegated to a helper outside the scan; pass otherwise.
//   - float_assert: one warning per FLOAT-EQ (and per NAN-SWALLOW, which
//     rigor adds) finding.
//   - unsafe_scan: one warning per secret, os.system, shell=True, eval/exec,
//     SQL built from strings, bare except, syntax error or read error.
//
// The verdict fails only on leakage or reproducible. Relative paths in the
// spec are read relative to the working directory. Repro returns an error
// only when ctx is done or a scan cannot run; a split audit that fails is
// part of the result.
func Repro(ctx context.Context, rs *spec.ReproSpec, opts ReproOptions) (*ReproResult, error) {
	var srcs []Source
	if rs.HasCode {
		srcs = append(srcs, Source{Path: rs.InlineName(), Text: []byte(rs.Code)})
	}
	if len(rs.CodeFiles) > 0 {
		files, err := Load(ctx, rs.CodeFiles)
		if err != nil {
			return nil, err
		}
		srcs = append(srcs, files...)
	}
	res := &ReproResult{Project: rs.Name(), HasCode: len(srcs) > 0, ReviewIssues: []ReviewIssue{},
		Seed: &SeedAudit{Frameworks: []string{}, Required: []string{}, Set: []string{}, Missing: []MissingMechanism{},
			MissingCritical: []string{}, SyntaxErrors: []string{}}}
	var review []Finding
	if res.HasCode {
		sr, err := Seeds(ctx, srcs, opts.Scan)
		if err != nil {
			return nil, err
		}
		if sr.Seeds != nil {
			res.Seed = sr.Seeds
		}
		rr, err := Review(ctx, srcs, opts.Scan)
		if err != nil {
			return nil, err
		}
		review = rr.Findings
		for _, f := range review {
			sev := "important"
			if f.Severity == spec.SeverityCritical {
				sev = "critical"
			}
			res.ReviewIssues = append(res.ReviewIssues, ReviewIssue{Loc: reproLoc(f.Loc), Code: f.Gate, Severity: sev, Msg: f.Issue})
		}
	}
	if l := rs.Leakage; l != nil {
		a, err := AuditSplit(ctx, SplitSpec{Train: l.Train, Test: l.Test, CSV: l.CSV, SplitCol: l.SplitCol, Cols: l.Cols,
			GroupCol: l.GroupCol, Target: l.Target, Bins: l.Bins, RTol: l.RTol}, opts.Split)
		switch {
		case ctx.Err() != nil:
			return nil, ctx.Err()
		case err != nil:
			res.SplitLeakage = &SplitLeakage{Rows: []SplitRow{}, Reason: "split audit failed: " + err.Error()}
		default:
			res.SplitLeakage = &SplitLeakage{Rows: a.Rows, Available: true}
		}
	}
	e := &reproEval{p: res.Name(), res: res, review: review}
	gates := []spec.Gate{
		runReproGate(GateReproLeakage, e.leakage),
		runReproGate(GateReproReproducible, e.reproducible),
		runReproGate(GateReproFloatAssert, e.floatAssert),
		runReproGate(GateReproUnsafeScan, e.unsafeScan),
	}
	rep := spec.Report{Schema: spec.FindingsSchema, Producer: ReproProducer, Target: res.Project, Gates: gates,
		FreshEvidence: true, Verdict: spec.ComputeVerdict(gates)}
	rep.Summary = fmt.Sprintf("repro gate: %d gates, verdict %s (only leakage and reproducible can block)", len(gates), rep.Verdict)
	res.Findings, res.FindingsAvailable = rep, true
	return res, nil
}

// Name is the project the result is for.
func (r *ReproResult) Name() string { return r.Project }

// reproLoc is a finding location as the repro gate writes it: path and
// line (and notebook cell), without the column, as review_gate does.
func reproLoc(l spec.Loc) string {
	l.Col = 0
	return l.String()
}

type reproEval struct {
	p      string
	res    *ReproResult
	review []Finding
}

// reproSkip asks for a gate to be skipped, with a note saying why.
type reproSkip struct{ note string }

// runReproGate runs a repro gate function: it fills a contractAcc, or
// returns a reproSkip. A panic becomes a critical gate_runner.exception.
func runReproGate(name string, fn func(a *contractAcc) *reproSkip) spec.Gate {
	var skip *reproSkip
	g := runContractGate(name, func(a *contractAcc) { skip = fn(a) })
	if skip != nil && len(g.Findings) == 0 {
		g.Status, g.Severity, g.Note = spec.GateSkip, spec.SeverityInfo, skip.note
	}
	if g.Note == "" {
		g.Note = reproNotes[name]
	}
	return g
}

var reproNotes = map[string]string{
	GateReproLeakage:      "no statistic fitted across the split in the code, and no row, entity or target encoding shared by the splits",
	GateReproReproducible: "every seeding mechanism the code's frameworks need is set",
	GateReproFloatAssert:  "floats are compared with a tolerance, and NaN is not swallowed",
	GateReproUnsafeScan:   "security problems warn at this checkpoint; review_gate blocks them at delivery",
}

func (e *reproEval) leakage(a *contractAcc) *reproSkip {
	split := e.res.SplitLeakage
	if !e.res.HasCode && split == nil {
		return &reproSkip{note: "no code and no split audit: nothing to check for leakage"}
	}
	for _, f := range e.review {
		if f.Gate != ClassLeakage {
			continue
		}
		rule := f.Rule
		if rule == ClassLeakage || rule == "" {
			rule = "leakage.fit_before_split"
		}
		if f.Severity == spec.SeverityCritical {
			a.critical(reproLoc(f.Loc), rule, f.Evidence, f.Issue, f.Fix)
		} else {
			a.warning(reproLoc(f.Loc), rule, f.Evidence, f.Issue, f.Fix)
		}
	}
	if split != nil && split.Available {
		for _, r := range split.Rows {
			if r.Severity == SplitHigh {
				a.critical(splitRowLoc(r), "leakage."+r.Check, "", r.Detail, splitFixes[r.Check])
			} else {
				a.warning(splitRowLoc(r), "leakage."+r.Check, "", r.Detail, splitFixes[r.Check])
			}
		}
	}
	if split != nil && !split.Available {
		a.warning(e.p+":leakage", "leakage.split_check_unavailable", split.Reason,
			"the split audit was asked for and could not run, so the data split is unchecked",
			"fix the leakage paths and columns in the repro spec")
	}
	return nil
}

func (e *reproEval) reproducible(a *contractAcc) *reproSkip {
	if !e.res.HasCode {
		return &reproSkip{note: "no code to audit"}
	}
	s := e.res.Seed
	if !s.HasRandomness {
		return &reproSkip{note: "no framework with randomness is used"}
	}
	var crit, warn []string
	for _, m := range s.Missing {
		line := m.Mechanism + " (" + m.Fix + ")"
		if m.Severity == "critical" {
			crit = append(crit, line)
		} else {
			warn = append(warn, line)
		}
	}
	evidence := fmt.Sprintf("用到框架=%s;GPU迹象=%s;DataLoader=%s", strings.Join(s.Frameworks, ","), reproPyBool(s.UsesGPU), reproPyBool(s.UsesDataLoader))
	switch {
	case len(crit) > 0:
		a.critical(e.p+":reproducible", "reproducible.incomplete_seed", evidence,
			"seeding is incomplete, so two runs with one seed can differ; missing: "+strings.Join(append(crit, warn...), "; "),
			"set every missing mechanism before any randomness is drawn")
	case len(warn) > 0:
		a.warning(e.p+":reproducible", "reproducible.delegated_unscanned", evidence,
			"seeding is delegated to a helper outside the scanned code; not seen set here: "+strings.Join(warn, "; "),
			"add the helper's file to code_files so its seeding is checked")
	}
	return nil
}

func reproPyBool(b bool) string {
	if b {
		return "True"
	}
	return "False"
}

func (e *reproEval) floatAssert(a *contractAcc) *reproSkip {
	if !e.res.HasCode {
		return &reproSkip{note: "no code to scan"}
	}
	for _, f := range e.review {
		switch f.Gate {
		case ClassFloatEq:
			a.warning(reproLoc(f.Loc), "float_assert.eq", f.Evidence, f.Issue, f.Fix)
		case ClassNaNSwallow:
			a.warning(reproLoc(f.Loc), "float_assert.nan_swallow", f.Evidence, f.Issue, f.Fix)
		}
	}
	return nil
}

func (e *reproEval) unsafeScan(a *contractAcc) *reproSkip {
	if !e.res.HasCode {
		return &reproSkip{note: "no code to scan"}
	}
	for _, f := range e.review {
		if slices.Contains(reproUnsafeClasses, f.Gate) {
			a.warning(reproLoc(f.Loc), "unsafe."+f.Gate, f.Evidence, f.Issue, f.Fix)
		}
	}
	return nil
}

// WriteReproMarkdown writes the human summary of a repro result: the seed
// audit, the leakage evidence, and the gates ("代码门", code gates, as the
// original calls them).
func WriteReproMarkdown(w io.Writer, r *ReproResult) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# repro gate: %s\n\n", r.Project)
	b.WriteString("## reproducible\n\n")
	s := r.Seed
	switch {
	case !r.HasCode:
		b.WriteString("No code was given.\n")
	case !s.HasRandomness:
		b.WriteString("No framework with randomness is used.\n")
	default:
		fmt.Fprintf(&b, "- frameworks: %s\n- set: %s\n", strings.Join(s.Frameworks, ", "), contractOrDash(strings.Join(s.Set, ", ")))
		if len(s.Missing) == 0 {
			b.WriteString("- missing: none\n")
		}
		for _, m := range s.Missing {
			fmt.Fprintf(&b, "- missing %s (%s): %s\n", m.Mechanism, m.Severity, m.Fix)
		}
	}
	b.WriteString("\n## leakage\n\n")
	n := 0
	for _, f := range r.ReviewIssues {
		if f.Code == ClassLeakage {
			fmt.Fprintf(&b, "- code: %s %s\n", f.Loc, f.Msg)
			n++
		}
	}
	if r.HasCode && n == 0 {
		b.WriteString("- code: no statistic fitted across a split\n")
	}
	switch sl := r.SplitLeakage; {
	case sl == nil:
		b.WriteString("- data: no split audit asked for\n")
	case !sl.Available:
		fmt.Fprintf(&b, "- data: not audited: %s\n", sl.Reason)
	default:
		high := 0
		for _, row := range sl.Rows {
			if row.Severity == SplitHigh {
				high++
			}
		}
		fmt.Fprintf(&b, "- data: %d HIGH of %d split-audit findings\n", high, len(sl.Rows))
	}
	b.WriteString("\n## code gates (代码门)\n\n")
	writeStage6Table(&b, r.Findings.Gates)
	fmt.Fprintf(&b, "\nverdict: **%s**. A static scan cannot prove the absence of leakage; two real runs with one seed are the final test of reproducibility.\n", r.Findings.Verdict)
	_, err := io.WriteString(w, b.String())
	return err
}
