package gates

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"

	"github.com/rigor-dev/rigor/spec"
)

// Error vocabulary of the gates package.
var (
	// ErrParse: tree-sitter returned no tree (it was cancelled or ran out of
	// memory). A file with syntax errors is not an error: it gets a
	// SYNTAX-ERROR finding.
	ErrParse = errors.New("gates: parser failed")
)

// Options tune a scan. The zero value is ready to use.
type Options struct {
	// Concurrency is the number of files parsed and analysed at once;
	// ≤ 0 means runtime.GOMAXPROCS(0).
	Concurrency int
	// Producer is the report's producer; "" means "experiment-coding", the
	// producer of the Light stage-6 gates.
	Producer string
	// Target is the report's target; "" means "code_diff", as review_gate
	// writes.
	Target string
}

// Finding is one problem, typed. The report carries the same data as
// light.findings.v1 strings.
type Finding struct {
	// Rule is the rule id: a review_gate class ("FLOAT-EQ"), a leakage rule
	// ("leakage.preprocessing") or a seeding rule ("seed.missing.numpy_seed").
	Rule string
	// Gate is the gate of the report that holds the finding.
	Gate     string
	Severity spec.Severity
	Loc      spec.Loc
	Issue    string
	Fix      string
	Evidence string
	// Kind refines Rule: the leakage kind (see [LeakKind]) or the seeding
	// mechanism. Empty for the review classes.
	Kind string
	// Related are the other places the finding is about, such as the fit and
	// the split of a leak, in the order they matter.
	Related []Related
}

// Related is a place a finding refers to besides its own location.
type Related struct {
	Role string // "fit", "split", "resample", "evaluation", ...
	Loc  spec.Loc
}

// Result is the outcome of one scan.
type Result struct {
	// Files counts the programs scanned: a .py file or a whole notebook.
	Files int
	// Findings in location order (path, cell, line, column, rule).
	Findings []Finding
	// Seeds is the seed audit, set by [Seeds] only.
	Seeds *SeedAudit
	// Report is the same result as light.findings.v1.
	Report spec.Report
}

// unit is one program: a .py file or the code cells of one notebook.
type unit struct {
	path    string
	files   []*file // parsed, in cell order; files with syntax errors excluded
	broken  []*file // files with syntax errors
	readErr error
	imports *importTable
	defs    *defTable
}

// program is every unit of a scan, plus what analyses share across files.
type program struct {
	units []*unit
	// funcs holds top-level functions and classes of every unit by name,
	// for calls across files.
	funcs   map[string][]*funcDef
	classes map[string][]*classDef
}

// load groups sources into units and parses them in parallel.
func load(ctx context.Context, srcs []Source, conc int) (*program, error) {
	var units []*unit
	var pending [][]Source
	byPath := map[string]int{}
	for _, s := range srcs {
		i, ok := byPath[s.Path]
		if !ok || s.Cell == 0 {
			i = len(units)
			byPath[s.Path] = i
			units = append(units, &unit{path: s.Path})
			pending = append(pending, nil)
		}
		pending[i] = append(pending[i], s)
	}
	if conc <= 0 {
		conc = runtime.GOMAXPROCS(0)
	}
	err := parallel(ctx, conc, len(units), func(p *parser, i int) error {
		u := units[i]
		for _, s := range pending[i] {
			if s.Err != nil {
				u.readErr = s.Err
				continue
			}
			f, err := p.parse(ctx, s)
			if err != nil {
				return err
			}
			if f.syntax != nil {
				u.broken = append(u.broken, f)
				continue
			}
			u.files = append(u.files, f)
		}
		u.imports = collectImports(u.files)
		u.defs = collectDefs(u)
		return nil
	})
	if err != nil {
		return nil, err
	}
	prog := &program{units: units, funcs: map[string][]*funcDef{}, classes: map[string][]*classDef{}}
	for _, u := range units {
		for name, fd := range u.defs.topFuncs {
			prog.funcs[name] = append(prog.funcs[name], fd)
		}
		for name, cd := range u.defs.topClasses {
			prog.classes[name] = append(prog.classes[name], cd)
		}
	}
	return prog, nil
}

// parallel runs fn(i) for i in [0, n) on conc workers, each with its own
// parser, and returns the first error. It stops handing out work once ctx is
// done or a call failed.
func parallel(ctx context.Context, conc, n int, fn func(p *parser, i int) error) error {
	if n == 0 {
		return ctx.Err()
	}
	conc = min(conc, n)
	next := make(chan int)
	var (
		mu       sync.Mutex
		firstErr error
		wg       sync.WaitGroup
	)
	setErr := func(err error) {
		mu.Lock()
		if firstErr == nil {
			firstErr = err
		}
		mu.Unlock()
	}
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p, err := newParser()
			if err != nil {
				setErr(err)
				for range next {
				}
				return
			}
			defer p.Close()
			for i := range next {
				if err := fn(p, i); err != nil {
					setErr(err)
				}
			}
		}()
	}
	var err error
feed:
	for i := range n {
		mu.Lock()
		failed := firstErr != nil
		mu.Unlock()
		if failed {
			break
		}
		select {
		case next <- i:
		case <-ctx.Done():
			err = ctx.Err()
			break feed
		}
	}
	close(next)
	wg.Wait()
	if err != nil {
		return err
	}
	if firstErr != nil {
		return firstErr
	}
	return ctx.Err()
}

// forUnits runs fn on every unit in parallel, collecting findings.
func forUnits(ctx context.Context, prog *program, conc int, fn func(i int, u *unit) []finding) ([]finding, error) {
	if conc <= 0 {
		conc = runtime.GOMAXPROCS(0)
	}
	out := make([][]finding, len(prog.units))
	err := parallel(ctx, conc, len(prog.units), func(_ *parser, i int) error {
		out[i] = fn(i, prog.units[i])
		return nil
	})
	return slices.Concat(out...), err
}

// finding is what the analyses produce before a report gives it its rule
// and gate.
type finding struct {
	class    string // review class: DATA-LEAKAGE, FLOAT-EQ, ...
	rule     string // specific rule; "" means class
	kind     string
	severity spec.Severity
	at       *node    // where; nil with loc set for file-level findings
	loc      spec.Loc // used when at is nil
	issue    string
	fix      string
	evidence string
	related  []Related
}

func (f finding) location() spec.Loc {
	if f.at != nil {
		return f.at.loc()
	}
	return f.loc
}

// unitProblems reports read and syntax errors of each unit: READ-ERROR at
// the path (no line), SYNTAX-ERROR at the first error. For a .py file the
// syntax error is its only finding (§3.2); for a notebook only the broken
// cell is left out.
func unitProblems(u *unit) []finding {
	var out []finding
	if u.readErr != nil {
		out = append(out, finding{class: "READ-ERROR", severity: spec.SeverityMajor, loc: spec.Loc{Path: u.path},
			issue: "cannot read " + u.path + ": " + errText(u.readErr),
			fix:   "make the file readable UTF-8 Python (or a valid .ipynb), or leave it out of the scan"})
	}
	for _, f := range u.broken {
		out = append(out, finding{class: "SYNTAX-ERROR", severity: spec.SeverityMajor,
			loc:   spec.Loc{Path: f.src.Path, Cell: f.src.Cell, Line: f.syntax.line, Col: f.syntax.col},
			issue: "the code does not parse as Python 3 (" + f.syntax.msg + "); nothing else in it was checked",
			fix:   "fix the syntax error (python -m py_compile shows it)"})
	}
	return out
}

func errText(err error) string {
	s := err.Error()
	return strings.TrimPrefix(s, "open ")
}

// suppressed reports whether the line of f carries "# rigor: ignore" or
// "# rigor: ignore[RULE,...]" naming its class or rule.
func suppressed(f finding) bool {
	if f.at == nil {
		return false
	}
	c := f.at.f.comments[f.at.line()]
	i := strings.Index(c, "rigor: ignore")
	if i < 0 {
		return false
	}
	rest := c[i+len("rigor: ignore"):]
	if !strings.HasPrefix(rest, "[") {
		return true
	}
	end := strings.IndexByte(rest, ']')
	if end < 0 {
		return true
	}
	for _, r := range strings.Split(rest[1:end], ",") {
		r = strings.TrimSpace(r)
		if r == f.class || r == f.rule || (f.rule == "" && r == f.class) {
			return true
		}
	}
	return false
}

// finish turns findings into the typed result and the report. gateOf names
// the gate of a finding; ruleOf its rule.
//
// base gates appear when no finding fills them (a pass or skip gate);
// empty is the only gate of a report that would otherwise have none.
func finish(opts Options, files int, fs []finding, gateOf, ruleOf func(finding) string, order []string, base []spec.Gate, empty spec.Gate, summary string) *Result {
	res := &Result{Files: files}
	for _, f := range fs {
		if suppressed(f) {
			continue
		}
		res.Findings = append(res.Findings, Finding{
			Rule: ruleOf(f), Gate: gateOf(f), Severity: f.severity, Loc: f.location(),
			Issue: f.issue, Fix: f.fix, Evidence: f.evidence, Kind: f.kind, Related: f.related,
		})
	}
	slices.SortStableFunc(res.Findings, func(a, b Finding) int {
		return cmp.Or(cmp.Compare(a.Loc.Path, b.Loc.Path), cmp.Compare(a.Loc.Cell, b.Loc.Cell),
			cmp.Compare(a.Loc.Line, b.Loc.Line), cmp.Compare(a.Loc.Col, b.Loc.Col), cmp.Compare(a.Rule, b.Rule),
			cmp.Compare(a.Issue, b.Issue))
	})
	res.Findings = slices.CompactFunc(res.Findings, func(a, b Finding) bool {
		return a.Rule == b.Rule && a.Loc == b.Loc && a.Issue == b.Issue
	})
	res.Report = buildReport(opts, res.Findings, order, base, empty, summary)
	return res
}

// buildReport groups findings into gates, one per gate name, in the order
// given (unknown gates after, sorted). A gate's severity is its worst
// finding's; its status is fail for critical, warn for major and minor,
// pass for info.
func buildReport(opts Options, fs []Finding, order []string, base []spec.Gate, empty spec.Gate, summary string) spec.Report {
	byGate := map[string][]Finding{}
	var names []string
	baseByName := map[string]spec.Gate{}
	for _, g := range base {
		baseByName[g.Gate] = g
		names = append(names, g.Gate)
		byGate[g.Gate] = nil
	}
	for _, f := range fs {
		if _, ok := byGate[f.Gate]; !ok {
			names = append(names, f.Gate)
		}
		byGate[f.Gate] = append(byGate[f.Gate], f)
	}
	rank := func(n string) int {
		if i := slices.Index(order, n); i >= 0 {
			return i
		}
		return len(order)
	}
	slices.SortFunc(names, func(a, b string) int { return cmp.Or(cmp.Compare(rank(a), rank(b)), cmp.Compare(a, b)) })
	var gates []spec.Gate
	for _, n := range names {
		if b, ok := baseByName[n]; ok && len(byGate[n]) == 0 {
			if b.Findings == nil {
				b.Findings = []spec.Finding{}
			}
			gates = append(gates, b)
			continue
		}
		g := spec.Gate{Gate: n, Severity: spec.SeverityInfo, Findings: []spec.Finding{}}
		for _, f := range byGate[n] {
			if f.Severity.Rank() > g.Severity.Rank() {
				g.Severity = f.Severity
			}
			g.Findings = append(g.Findings, spec.Finding{Loc: f.Loc.String(), Issue: f.Issue, Fix: f.Fix, Evidence: f.Evidence, Rule: f.Rule})
		}
		switch g.Severity {
		case spec.SeverityCritical:
			g.Status = spec.GateFail
		case spec.SeverityInfo:
			g.Status = spec.GatePass
		default:
			g.Status = spec.GateWarn
		}
		gates = append(gates, g)
	}
	if len(gates) == 0 {
		if empty.Findings == nil {
			empty.Findings = []spec.Finding{}
		}
		gates = []spec.Gate{empty}
	}
	r := spec.Report{
		Schema: spec.FindingsSchema, Producer: cmp.Or(opts.Producer, "experiment-coding"),
		Target: cmp.Or(opts.Target, "code_diff"), Gates: gates, Summary: summary, FreshEvidence: true,
	}
	r.Verdict = spec.ComputeVerdict(r.Gates)
	return r
}

func countSeverity(fs []finding) (crit, other int) {
	for _, f := range fs {
		if f.severity == spec.SeverityCritical {
			crit++
		} else {
			other++
		}
	}
	return crit, other
}

func plural(n int, one, many string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, one)
	}
	return fmt.Sprintf("%d %s", n, many)
}
