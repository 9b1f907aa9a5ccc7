package gates

import (
	"context"
	"fmt"

	"github.com/rigor-dev/rigor/spec"
)

// LeakKind names the four kinds of leakage the analysis reports (issue 6),
// the second split in two. Printed and persisted: do not rename.
type LeakKind string

const (
	// LeakPreprocessing: a statistic computed across rows (a scaler, imputer,
	// encoder, PCA, selector or vectorizer fit; a pandas mean, quantile or
	// rank) on rows that reach the test side, before the split or outside
	// the CV fold.
	LeakPreprocessing LeakKind = "preprocessing"
	// LeakOverlap: rows shared by train and test: oversampling or
	// augmentation before the split, a model evaluated on rows it was
	// trained on.
	LeakOverlap LeakKind = "overlap"
	// LeakTestInTraining: test data used to train or to choose: a fit on
	// test data, early stopping or a search scored on the test set, one
	// test set used to pick among models.
	LeakTestInTraining LeakKind = "test-in-training"
	// LeakGroup: a split that ignores an entity column the code refers to.
	LeakGroup LeakKind = "group"
	// LeakTime: a shuffled split of time-ordered data.
	LeakTime LeakKind = "time"
)

// LeakageGate is the gate name of a leakage report, the canonical
// stage-6 gate.
const LeakageGate = "leakage"

// Leakage runs the leakage analysis alone. The report has one gate,
// "leakage": fail/critical when a leak of kind preprocessing, overlap or
// test-in-training is found, warn/major when only group or time leaks are
// (the code shows the risk; whether rows of one entity or period really
// straddle the split depends on the data), pass/info otherwise. Read and
// syntax errors are reported as READ-ERROR and SYNTAX-ERROR gates (warn),
// since the code they hide was not analysed.
//
// Each finding sits at the statement to fix (the fit for preprocessing
// leaks, the split for group and time leaks), names the other place in
// Related and in the issue, and gives the path the data took as evidence.
// The analysis follows values through assignments, tuple unpacking,
// subscripts, attributes, containers and calls to functions and classes
// defined in any of the scanned sources. It is static: it cannot prove the
// absence of leakage, and code it cannot see (other packages, eval) is
// assumed to keep rows and statistics as they are.
func Leakage(ctx context.Context, srcs []Source, opts Options) (*Result, error) {
	prog, err := load(ctx, srcs, opts.Concurrency)
	if err != nil {
		return nil, err
	}
	fs, err := forUnits(ctx, prog, opts.Concurrency, func(_ int, u *unit) []finding {
		return append(unitProblems(u), analyseLeakage(ctx, prog, u)...)
	})
	if err != nil {
		return nil, err
	}
	n := 0
	for _, f := range fs {
		if f.class == ClassLeakage {
			n++
		}
	}
	summary := fmt.Sprintf("leakage: %s, %s", plural(len(prog.units), "file", "files"), plural(n, "leak", "leaks"))
	gateOf := func(f finding) string {
		if f.class == ClassLeakage {
			return LeakageGate
		}
		return f.class
	}
	ruleOf := func(f finding) string {
		if f.class == ClassLeakage {
			return "leakage." + f.kind
		}
		return f.class
	}
	pass := spec.Gate{Gate: LeakageGate, Status: spec.GatePass, Severity: spec.SeverityInfo}
	return finish(opts, len(prog.units), fs, gateOf, ruleOf, []string{LeakageGate}, []spec.Gate{pass}, pass, summary), nil
}

// ---- checks ----

// checkSplit checks one input of a row split: statistics fitted on rows
// that include the test part, oversampled rows, entity and time structure.
func (fl *flow) checkSplit(site *node, op *splitOp, x, test *value, primary bool) {
	for _, t := range x.taint {
		if coversAny(t.rows, test.rows) {
			fl.reportPreprocessing(t, op, site, test, "split afterwards", site)
		}
	}
	for _, r := range x.rows {
		if s := synthOf(r); s != nil {
			fl.reportSynthSplit(s, op, site, x)
			break
		}
	}
	if primary {
		fl.groupCheck(site, op, x)
		fl.timeCheck(site, op, x)
	}
}

func coversAny(fit, rows []*region) bool {
	for _, f := range fit {
		for _, r := range rows {
			if overlaps(f, r) {
				return true
			}
		}
	}
	return false
}

// cvChecks checks the data handed to cross-validation (a CV function, a
// search's fit, a splitter's split).
func (fl *flow) cvChecks(site *node, X *value, op *splitOp) {
	if X == nil {
		return
	}
	for _, t := range X.taint {
		if coversAny(t.rows, X.rows) {
			fl.reportPreprocessing(t, op, site, X, "cross-validated afterwards", site)
		}
	}
	for _, r := range X.rows {
		if s := synthOf(r); s != nil {
			fl.reportSynthSplit(s, op, site, X)
			break
		}
	}
	fl.groupCheck(site, op, X)
	fl.timeCheck(site, op, X)
}

// checkPartition checks the parts that applying CV indices made.
func (fl *flow) checkPartition(out, base *value, op *splitOp, site *node) {
	for _, t := range base.taint {
		for _, c := range out.rows {
			if c.part == partTest && coversAny(t.rows, []*region{c}) {
				fl.reportPreprocessing(t, op, op.site, out, "split afterwards", site)
			}
		}
	}
}

func synthOf(r *region) *region {
	for p := r; p != nil; p = p.parent {
		if p.synth != nil && !p.trainLikeOnly() {
			return p
		}
	}
	return nil
}

// trainLikeOnly: synthetic rows made from training data only are fine.
func (r *region) trainLikeOnly() bool {
	if len(r.synthFrom) == 0 {
		return false
	}
	for _, s := range r.synthFrom {
		if !s.trainLike() {
			return false
		}
	}
	return true
}

func perEntityOnPath(r *region) bool {
	for p := r; p != nil; p = p.parent {
		if p.perEntity {
			return true
		}
	}
	return false
}

func (fl *flow) groupCheck(site *node, op *splitOp, x *value) {
	if op.groupAware {
		return
	}
	for _, r := range x.rows {
		if perEntityOnPath(r) {
			continue
		}
		root := r.root()
		if len(root.entityList) == 0 {
			continue
		}
		col := root.entityList[0]
		at := root.entity[col]
		key := "group|" + siteKey(site)
		if fl.seen[key] {
			return
		}
		fl.seen[key] = true
		fl.out = append(fl.out, finding{
			class: ClassLeakage, kind: string(LeakGroup), severity: spec.SeverityMajor, at: site,
			issue: fmt.Sprintf("group leakage: %s splits rows at random although they carry the entity column %q (used at %s); rows of one entity end up on both sides",
				op.what, col, lineRef(at)),
			fix: fmt.Sprintf("split by entity: GroupShuffleSplit or GroupKFold/StratifiedGroupKFold with groups=df[%q]", col),
			evidence: fmt.Sprintf("split: %s (%s); entity column: %s at %s; data: %s",
				site.loc(), op.what, col, at.loc(), pathOf(x, nil, op.what+" ("+lineRef(site)+")")),
			related: []Related{{Role: "split", Loc: site.loc()}, {Role: "entity column", Loc: at.loc()}},
		})
		return
	}
}

func (fl *flow) timeCheck(site *node, op *splitOp, x *value) {
	if !op.shuffled {
		return
	}
	for _, r := range x.rows {
		root := r.root()
		if root.timeAt == nil {
			continue
		}
		key := "time|" + siteKey(site)
		if fl.seen[key] {
			return
		}
		fl.seen[key] = true
		fl.out = append(fl.out, finding{
			class: ClassLeakage, kind: string(LeakTime), severity: spec.SeverityMajor, at: site,
			issue: fmt.Sprintf("time leakage: %s shuffles time-ordered rows (%s at %s), so the model trains on the future of its test rows",
				op.what, root.timeWhy, lineRef(root.timeAt)),
			fix: "split in time order: train_test_split(..., shuffle=False) after sorting by time, or TimeSeriesSplit for cross-validation",
			evidence: fmt.Sprintf("split: %s (%s); time order: %s at %s; data: %s",
				site.loc(), op.what, root.timeWhy, root.timeAt.loc(), pathOf(x, nil, op.what+" ("+lineRef(site)+")")),
			related: []Related{{Role: "split", Loc: site.loc()}, {Role: "time order", Loc: root.timeAt.loc()}},
		})
		return
	}
}

// selection reports choosing by a test score: max/min/sorted over scores,
// sort_values or idxmax on a table of scores.
func (fl *flow) selection(site *node, what string, vs []*value) {
	for _, v := range vs {
		if t := testScore(v); t != nil {
			fl.reportSelection(site, t, what+" chooses among candidates by their test-set scores")
			return
		}
	}
}

// testScore finds a score on test data in v or its elements.
func testScore(v *value) *scoreInfo { return testScoreDepth(v, 0) }

func testScoreDepth(v *value, depth int) *scoreInfo {
	if v == nil || depth > maxValueDepth {
		return nil
	}
	if v.score != nil && !v.score.pred {
		for _, r := range v.score.rows {
			if r.testPart() != nil {
				return v.score
			}
		}
	}
	for _, e := range v.elems {
		if s := testScoreDepth(e, depth+1); s != nil {
			return s
		}
	}
	for _, e := range v.dict {
		if s := testScoreDepth(e, depth+1); s != nil {
			return s
		}
	}
	if s := testScoreDepth(v.other, depth+1); s != nil {
		return s
	}
	return testScoreDepth(v.elem, depth+1)
}

// checkCompareSelection reports "if score > best" inside a loop, when score
// is a test-set score.
func (fl *flow) checkCompareSelection(n *node, vs []*value) {
	if fl.inCond == 0 || fl.loops == 0 {
		return
	}
	ordered := false
	for c := n.first; c != nil; c = c.next {
		if c.field() == "operators" {
			switch c.text() {
			case "<", ">", "<=", ">=":
				ordered = true
			}
		}
	}
	if !ordered {
		return
	}
	for _, v := range vs {
		if t := testScore(v); t != nil {
			fl.reportSelection(n, t, "a loop keeps the candidate with the best test-set score")
			return
		}
	}
}

// ---- reports ----

// lineRef names the line of n for a message: "line 12", or in a notebook
// "cell 3 line 2".
func lineRef(n *node) string {
	if n == nil {
		return "an unknown line"
	}
	if c := n.f.src.Cell; c > 0 {
		return fmt.Sprintf("cell %d line %d", c, n.line())
	}
	return fmt.Sprintf("line %d", n.line())
}

func siteKey(n *node) string {
	if n == nil {
		return "-"
	}
	return fmt.Sprintf("%s#%d#%d", n.f.src.Path, n.f.src.Cell, n.start)
}

func (fl *flow) once(key string) bool {
	if fl.seen[key] {
		return false
	}
	fl.seen[key] = true
	return true
}

// pathOf renders the variables a value went through since from (nil:
// all), then where it ended up.
func pathOf(v *value, from *node, end string) string {
	s := ""
	if v != nil && v.trace != nil {
		s = v.trace.render(from)
	}
	switch {
	case s == "" && end == "":
		return "(direct)"
	case s == "":
		return end
	case end == "":
		return s
	}
	return s + " -> " + end
}

func (fl *flow) reportPreprocessing(t *taint, op *splitOp, splitSite *node, v *value, how string, at *node) {
	if t.site == nil || splitSite == nil {
		return
	}
	// One finding per fit: the first split it leaks into.
	if !fl.once("pre|" + siteKey(t.site)) {
		return
	}
	what := t.what
	opWhat := "the split"
	if op != nil {
		opWhat = op.what
	}
	fl.out = append(fl.out, finding{
		class: ClassLeakage, kind: string(LeakPreprocessing), severity: spec.SeverityCritical, at: t.site,
		issue: fmt.Sprintf("preprocessing leakage: %s learns from rows that include the test rows of %s at %s (%s)",
			what, opWhat, lineRef(splitSite), how),
		fix: "split first and fit on the training rows only, then transform the test rows; in cross-validation put the step " +
			"in a Pipeline (make_pipeline(step, model)) so that each fold fits it on its own training rows",
		evidence: fmt.Sprintf("fit: %s (%s); split: %s (%s); path: %s", t.site.loc(), what, splitSite.loc(), opWhat,
			pathOf(v, nil, how+" ("+lineRef(at)+")")),
		related: []Related{{Role: "fit", Loc: t.site.loc()}, {Role: "split", Loc: splitSite.loc()}},
	})
}

func (fl *flow) reportFitOnTest(site *node, est *estimator, X *value, tp *region, preproc bool) {
	key := "fittest|" + siteKey(site)
	if preproc {
		key = "pre|" + siteKey(site)
	}
	if !fl.once(key) {
		return
	}
	kind, what := LeakTestInTraining, "trains "+est.class
	fix := "fit only on training rows; the test set is for the final evaluation alone"
	if preproc {
		kind, what = LeakPreprocessing, est.class+" learns its statistics"
		fix = "fit on the training rows and only transform the test rows (scaler.transform(X_test))"
	}
	if est.cat == catSearch {
		what = est.class + " tunes hyperparameters"
	}
	splitSite := tp.site
	f := finding{
		class: ClassLeakage, kind: string(kind), severity: spec.SeverityCritical, at: site,
		issue:    fmt.Sprintf("test data in training: %s on test data (%s, from %s)", what, regionName(tp), lineRef(splitSite)),
		fix:      fix,
		evidence: fmt.Sprintf("fit: %s; test data: %s; path: %s", site.loc(), splitSite.loc(), pathOf(X, splitSite, "fit ("+lineRef(site)+")")),
		related:  []Related{{Role: "fit", Loc: site.loc()}, {Role: "split", Loc: splitSite.loc()}},
	}
	if preproc {
		f.issue = fmt.Sprintf("preprocessing leakage: %s on test data (%s, from %s)", what, regionName(tp), lineRef(splitSite))
	}
	fl.out = append(fl.out, f)
}

func regionName(r *region) string {
	if r.name != "" {
		return r.name
	}
	return "the test part"
}

func (fl *flow) reportEarlyStopping(site *node, est *estimator, ev *value, tp *region, kw string) {
	if !fl.once("early|" + siteKey(site)) {
		return
	}
	fl.out = append(fl.out, finding{
		class: ClassLeakage, kind: string(LeakTestInTraining), severity: spec.SeverityCritical, at: site,
		issue: fmt.Sprintf("test data in training: early stopping or best-model selection of %s watches the test set (%s=%s, from %s)",
			est.class, kw, regionName(tp), lineRef(tp.site)),
		fix:      "hold out a validation split from the training rows for early stopping; keep the test set for the final evaluation",
		evidence: fmt.Sprintf("fit: %s; test data: %s; path: %s", site.loc(), tp.site.loc(), pathOf(ev, tp.site, kw+" ("+lineRef(site)+")")),
		related:  []Related{{Role: "fit", Loc: site.loc()}, {Role: "split", Loc: tp.site.loc()}},
	})
}

func (fl *flow) reportSharedRows(site *node, est *estimator, fr, r *region, X *value) {
	if !fl.once("shared|" + siteKey(site)) {
		return
	}
	fitSite := site
	if est.fit != nil {
		fitSite = est.fit.site
	}
	split := r
	for p := r; p != nil; p = p.parent {
		if p.op != nil {
			split = p
			break
		}
	}
	fl.out = append(fl.out, finding{
		class: ClassLeakage, kind: string(LeakOverlap), severity: spec.SeverityCritical, at: site,
		issue: fmt.Sprintf("overlap leakage: %s is evaluated on rows it was trained on (trained at %s on %s; evaluated on %s)",
			est.class, lineRef(fitSite), regionLabel(fr), regionLabel(r)),
		fix:      "train on the training rows only (X_train) and evaluate on rows the model never saw",
		evidence: fmt.Sprintf("fit: %s; held-out rows: %s; evaluation: %s; path: %s", fitSite.loc(), split.site.loc(), site.loc(), pathOf(X, nil, "evaluation ("+lineRef(site)+")")),
		related:  []Related{{Role: "fit", Loc: fitSite.loc()}, {Role: "split", Loc: split.site.loc()}, {Role: "evaluation", Loc: site.loc()}},
	})
}

func regionLabel(r *region) string {
	switch {
	case r.name != "":
		return r.name
	case r.parent == nil:
		return "the full data"
	case r.part == partTest:
		return "the test part"
	case r.part == partTrain:
		return "the training part"
	}
	return "a subset"
}

func (fl *flow) reportSynthSplit(s *region, op *splitOp, site *node, x *value) {
	if !fl.once("synth|" + siteKey(s.synth) + "|" + siteKey(site)) {
		return
	}
	opWhat := "the split"
	if op != nil {
		opWhat = op.what
	}
	fl.out = append(fl.out, finding{
		class: ClassLeakage, kind: string(LeakOverlap), severity: spec.SeverityCritical, at: s.synth,
		issue: fmt.Sprintf("overlap leakage: %s makes rows from other rows before %s at %s, so test rows have copies or interpolations in the training set",
			s.synthWhat, opWhat, lineRef(site)),
		fix:      "split first, then oversample or augment the training rows only (imblearn.pipeline.Pipeline inside cross-validation)",
		evidence: fmt.Sprintf("resample: %s (%s); split: %s (%s); path: %s", s.synth.loc(), s.synthWhat, site.loc(), opWhat, pathOf(x, s.synth, opWhat+" ("+lineRef(site)+")")),
		related:  []Related{{Role: "resample", Loc: s.synth.loc()}, {Role: "split", Loc: site.loc()}},
	})
}

func (fl *flow) reportResampleTest(site *node, class string, X *value, tp *region) {
	if !fl.once("resampletest|" + siteKey(site)) {
		return
	}
	fl.out = append(fl.out, finding{
		class: ClassLeakage, kind: string(LeakOverlap), severity: spec.SeverityCritical, at: site,
		issue:    fmt.Sprintf("overlap leakage: %s oversamples the test data (%s, from %s), so the test set holds synthetic rows", class, regionName(tp), lineRef(tp.site)),
		fix:      "resample the training rows only; evaluate on the untouched test rows",
		evidence: fmt.Sprintf("resample: %s; test data: %s; path: %s", site.loc(), tp.site.loc(), pathOf(X, nil, class+" ("+lineRef(site)+")")),
		related:  []Related{{Role: "resample", Loc: site.loc()}, {Role: "split", Loc: tp.site.loc()}},
	})
}

func (fl *flow) reportSelection(site *node, t *scoreInfo, why string) {
	if !fl.once("select|" + siteKey(site)) {
		return
	}
	var split *region
	for _, r := range t.rows {
		if tp := r.testPart(); tp != nil {
			split = tp
			break
		}
	}
	rel := []Related{{Role: "selection", Loc: site.loc()}, {Role: "evaluation", Loc: t.at.loc()}}
	ev := fmt.Sprintf("selection: %s; test score: %s", site.loc(), t.at.loc())
	if split != nil && split.site != nil {
		rel = append(rel, Related{Role: "split", Loc: split.site.loc()})
		ev += fmt.Sprintf("; test data: %s (%s)", split.site.loc(), regionName(split))
	}
	fl.out = append(fl.out, finding{
		class: ClassLeakage, kind: string(LeakTestInTraining), severity: spec.SeverityCritical, at: site,
		issue:    "test data in selection: " + why + "; the reported test score is then optimistic",
		fix:      "choose models and hyperparameters on a validation split or by cross-validation on the training rows; score the chosen one on the test set once",
		evidence: ev,
		related:  rel,
	})
}
