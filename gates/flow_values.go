package gates

import (
	"fmt"
	"slices"
	"strings"
)

// The leakage analysis is an abstract interpreter over the program. Its
// values say which rows of which data set a value holds and which
// statistics computed across rows went into it.
//
// # Regions
//
// A region is a set of rows. A data source (read_csv, load_iris, a
// parameter) creates a root region. Every operation that selects rows
// creates a child region, keyed by the operation and the part: the train and
// test outputs of train_test_split, the folds of KFold.split indices, a
// slice X[:n], a boolean mask, a sample, an oversampled copy. Children of one
// partitioning operation are disjoint; anything is overlapped by its
// ancestors. Operations that keep rows (column selection, arithmetic,
// transform) keep the region. Row concatenation gives a value with several
// regions.
//
// # Taints
//
// A taint is a statistic computed across the rows of some regions: a
// scaler's fit, df.mean(), a rank, a feature selection. It flows with values
// through assignments, calls and containers. Leakage of kind 1 is a taint
// whose rows contain a test part flowing into that test part (or into the
// training data of a model that is evaluated on it).

type partKind uint8

const (
	partRoot partKind = iota
	partTrain
	partTest
	partSlice      // X[a:b]; role from the name it is given
	partMask       // X[mask]; role from the name
	partSample     // df.sample(...): a random subset, overlapping other samples
	partComplement // df.drop(sample.index): the rest of a sample
	partSynthetic  // oversampled or augmented rows
	partFilter     // dropna, drop_duplicates: fewer rows, same role
)

type role uint8

const (
	roleNone role = iota
	roleTrain
	roleTest
	roleVal
)

// region is a set of rows.
type region struct {
	id     int
	parent *region
	op     *splitOp // the operation that made it from parent; nil for roots
	part   partKind
	key    string // part key within op (slice bounds, mask text)
	role   role   // explicit role; roleNone: inherit by part and ancestors
	name   string // the variable it was first bound to, for messages
	named  bool
	site   *node // where it was created (data source or split)

	children map[string]*region
	ops      map[string]*splitOp // the slicing and masking operation of these rows

	// Facts about the rows, kept on roots (see root()).
	entity     map[string]*node // entity columns the code refers to
	entityList []string
	timeAt     *node // first evidence that the rows are time-ordered
	timeWhy    string
	perEntity  bool      // at most one row per entity (groupby-agg, drop_duplicates)
	synth      *node     // rows include oversampled or augmented copies made here
	synthWhat  string    // what made them
	synthFrom  []*region // the rows they were made from
}

// splitOp is one row-partitioning operation.
type splitOp struct {
	site       *node
	kind       string // "train_test_split", "cv", "slice", "mask", "sample", "filter", "resample"
	what       string // for messages: "train_test_split", "KFold.split"
	shuffled   bool
	groupAware bool
	sig        string // calls with the same signature on the same rows make the same split
}

func (r *region) root() *region {
	for r.parent != nil {
		r = r.parent
	}
	return r
}

func (r *region) isAncestorOf(o *region) bool {
	for p := o; p != nil; p = p.parent {
		if p == r {
			return true
		}
	}
	return false
}

// testPart returns the region on r's path to its root that makes r
// held-out test data: a test output of a split or CV fold, a region named
// like test data, or a root loaded from test data. A region on the way that
// is validation or training data stops the search.
func (r *region) testPart() *region {
	for p := r; p != nil; p = p.parent {
		switch p.role {
		case roleTest:
			return p
		case roleVal, roleTrain:
			return nil
		}
		if p.part == partTest {
			return p
		}
		if p.part == partTrain {
			return nil
		}
	}
	return nil
}

// trainLike reports whether r is training data by part or name.
func (r *region) trainLike() bool {
	for p := r; p != nil; p = p.parent {
		if p.role == roleTrain || (p.role == roleNone && p.part == partTrain) {
			return true
		}
		if p.role != roleNone || p.part == partTest {
			return false
		}
	}
	return false
}

// heldOut reports whether r was carved out of a larger region by a
// partitioning operation and is not training data: the candidates for
// evaluation data.
func (r *region) heldOut() bool {
	if r.testPart() != nil {
		return true
	}
	if r.trainLike() || r.role == roleVal {
		return false
	}
	for p := r; p != nil && p.parent != nil; p = p.parent {
		switch p.part {
		case partSlice, partMask, partSample, partComplement:
			return true
		}
	}
	return false
}

// overlaps reports whether two regions may share rows.
func overlaps(a, b *region) bool {
	if a == b || a.isAncestorOf(b) || b.isAncestorOf(a) {
		return true
	}
	// Find the children of the lowest common ancestor on each side.
	var pathA []*region
	for p := a; p != nil; p = p.parent {
		pathA = append(pathA, p)
	}
	var cb *region
	for p := b; p != nil; p = p.parent {
		if i := slices.Index(pathA, p); i >= 0 {
			if i == 0 || cb == nil {
				return true
			}
			ca := pathA[i-1]
			return siblingsOverlap(ca, cb)
		}
		cb = p
	}
	return false // different roots: different data sets
}

func siblingsOverlap(a, b *region) bool {
	if a.op == b.op {
		if a.op.kind == "sample" {
			return a.part == partSample && b.part == partSample
		}
		if a.op.kind == "slice" {
			return slicesOverlap(a.key, b.key)
		}
		return false // parts of one partition
	}
	if a.op == nil || b.op == nil {
		return true
	}
	if a.op.kind == "sample" || b.op.kind == "sample" {
		return true
	}
	if a.op.kind == "filter" || b.op.kind == "filter" {
		return true
	}
	// Two different random splits of the same rows share rows.
	return a.op.kind == b.op.kind && (a.op.kind == "train_test_split" || a.op.kind == "cv")
}

// slicesOverlap decides for two slice keys "lo:hi" with literal or symbolic
// bounds. Symbolic bounds are equal only when written the same; unknown
// cases are assumed disjoint (the code means a partition).
func slicesOverlap(a, b string) bool {
	if strings.Count(a, ":") > 1 || strings.Count(b, ":") > 1 {
		return false // strided slices (X[::2], X[1::2]): assume they interleave
	}
	alo, ahi, _ := strings.Cut(a, ":")
	blo, bhi, _ := strings.Cut(b, ":")
	var x, y [2]int64
	var ok [4]bool
	x[0], ok[0] = boundValue(alo, 0)
	x[1], ok[1] = boundValue(ahi, 1<<62)
	y[0], ok[2] = boundValue(blo, 0)
	y[1], ok[3] = boundValue(bhi, 1<<62)
	if ok[0] && ok[1] && ok[2] && ok[3] && x[0] >= 0 && y[0] >= 0 && x[1] >= 0 && y[1] >= 0 {
		return x[0] < y[1] && y[0] < x[1]
	}
	return false
}

func boundValue(s string, def int64) (int64, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return def, true
	}
	var v int64
	_, err := fmt.Sscanf(s, "%d", &v)
	return v, err == nil && fmt.Sprint(v) == s
}

// taint is a statistic computed across rows.
type taint struct {
	rows []*region
	site *node  // where it was fitted or computed
	what string // "StandardScaler.fit_transform", "DataFrame.mean"
	// resample marks an oversampler; kind "preprocessing" otherwise.
	est string
}

// step is one link of the path a value took: the variable it was bound to.
type step struct {
	prev *step
	name string
	at   *node
}

func (s *step) push(name string, at *node) *step {
	if s != nil && s.name == name && s.at == at {
		return s
	}
	return &step{prev: s, name: name, at: at}
}

// render writes the path from the first step at or after the place from
// (nil: the whole path), oldest first.
func (s *step) render(from *node) string {
	var parts []string
	for p := s; p != nil && len(parts) < 12; p = p.prev {
		if from != nil && before(p.at, from) {
			break
		}
		parts = append(parts, fmt.Sprintf("%s (%s)", p.name, lineRef(p.at)))
	}
	slices.Reverse(parts)
	return strings.Join(parts, " -> ")
}

// before reports whether a starts before b in program order (cells of a
// notebook in order, then lines).
func before(a, b *node) bool {
	if a.f.src.Path != b.f.src.Path {
		return false
	}
	if a.f.src.Cell != b.f.src.Cell {
		return a.f.src.Cell < b.f.src.Cell
	}
	return a.line() < b.line()
}

type vkind uint16

const (
	kData vkind = 1 << iota
	kEstimator
	kSplitter
	kIndices
	kTuple // also lists and sets: elems
	kDict
	kObject // instance of a class defined in the scanned code
	kFunc
	kClass
	kModule
	kSeq // an iterable whose element is elem
	kConst
	kScore
	kGroupBy
)

// value is the abstract value of an expression.
type value struct {
	k     vkind
	rows  []*region
	taint []*taint
	trace *step

	est   *estimator   // kEstimator
	split *splitterVal // kSplitter
	idx   *indexVal    // kIndices
	elems []*value     // kTuple
	dict  map[string]*value
	other *value // kDict entries with non-literal keys, list appends
	obj   *object
	fn    *funcDef
	cls   *classDef
	mod   string // kModule: canonical dotted name; also the canonical name of a function reference
	str   string // kConst string value
	isStr bool
	elem  *value     // kSeq
	score *scoreInfo // kScore: evaluated on held-out rows
	bykey string     // kGroupBy: the key column
}

type scoreInfo struct {
	at   *node
	rows []*region
	pred bool // predictions on the rows, not yet a score
}

type estimator struct {
	class   string
	cat     estCat
	site    *node
	steps   []*value // pipeline and search members
	fit     *fitRecord
	stat    *taint // statistics it learnt (preprocessing fits)
	early   bool   // configured for early stopping
	resamp  bool
	fitWith []*taint // taints in its training data
}

type fitRecord struct {
	rows []*region
	site *node
}

type estCat uint8

const (
	catModel estCat = iota
	catPreproc
	catStateless
	catSampler
	catUnderSampler
	catSearch
	catPipeline
	catAugment
)

type splitterVal struct {
	class      string
	site       *node
	shuffled   bool
	groupAware bool
}

type indexVal struct {
	op   *splitOp
	part partKind
	base []*region
}

type object struct {
	cls   *classDef
	attrs map[string]*value
}

func (v *value) has(k vkind) bool { return v != nil && v.k&k != 0 }

func unknown() *value { return &value{} }

func constVal() *value { return &value{k: kConst} }

func strVal(s string) *value { return &value{k: kConst, str: s, isStr: true} }

// derive makes a value with the rows, taints, scores and trace of its
// inputs: the result of an operation that keeps rows.
func derive(ins ...*value) *value {
	out := &value{}
	for _, in := range ins {
		mergeInto(out, in, true)
	}
	return out
}

// mergeInto adds in's data facts to out. With flatten, containers give
// their elements' facts, a few levels deep.
func mergeInto(out, in *value, flatten bool) {
	mergeDepth(out, in, flatten, 0)
}

func mergeDepth(out, in *value, flatten bool, depth int) {
	if in == nil {
		return
	}
	if in.k&(kData|kGroupBy) != 0 {
		out.k |= kData
	}
	out.rows = unionRegions(out.rows, in.rows)
	out.taint = unionTaints(out.taint, in.taint)
	if in.score != nil && out.score == nil {
		out.score = in.score
		out.k |= kScore
	}
	if out.trace == nil || (len(in.taint) > 0 && len(out.taint) == len(in.taint)) {
		if in.trace != nil {
			out.trace = in.trace
		}
	}
	if !flatten || depth >= 4 {
		return
	}
	for _, e := range in.elems {
		if e != nil && e != in {
			mergeDepth(out, e, true, depth+1)
		}
	}
	for _, e := range in.dict {
		mergeDepth(out, e, true, depth+1)
	}
	if in.other != nil {
		mergeDepth(out, in.other, true, depth+1)
	}
	if in.elem != nil && in.elem != in {
		mergeDepth(out, in.elem, true, depth+1)
	}
	if in.est != nil && in.est.stat != nil {
		out.taint = unionTaints(out.taint, []*taint{in.est.stat})
	}
}

// A value keeps at most this many regions and taints. Code that slices
// and joins in loops (a recursive-descent parser taking value[1:] again and
// again) would otherwise grow them without bound; real data flows need a
// handful.
const (
	maxRegions = 16
	maxTaints  = 16
)

func unionRegions(a, b []*region) []*region {
	for _, r := range b {
		if len(a) >= maxRegions {
			break
		}
		if !slices.Contains(a, r) {
			a = append(slices.Clip(a), r)
		}
	}
	return a
}

func unionTaints(a, b []*taint) []*taint {
	for _, t := range b {
		if len(a) >= maxTaints {
			break
		}
		if !slices.Contains(a, t) {
			a = append(slices.Clip(a), t)
		}
	}
	return a
}

// join is the least upper bound of two values, for merging branches.
// Containers are joined a few levels deep; values can refer to themselves
// (a list appended to itself), so deeper levels keep the first value.
func join(a, b *value) *value { return joinDepth(a, b, 0) }

const maxValueDepth = 4

func joinDepth(a, b *value, depth int) *value {
	switch {
	case a == nil:
		return b
	case b == nil || a == b:
		return a
	case depth >= maxValueDepth:
		out := *a
		out.k |= b.k
		out.rows = unionRegions(slices.Clone(a.rows), b.rows)
		out.taint = unionTaints(slices.Clone(a.taint), b.taint)
		if out.score == nil {
			out.score = b.score
		}
		return &out
	}
	out := &value{k: a.k | b.k, trace: a.trace}
	out.rows = unionRegions(slices.Clone(a.rows), b.rows)
	out.taint = unionTaints(slices.Clone(a.taint), b.taint)
	out.score = a.score
	if out.score == nil {
		out.score = b.score
	}
	if out.trace == nil {
		out.trace = b.trace
	}
	out.est = a.est
	if out.est == nil || (b.est != nil && b.est.fit != nil && a.est.fit == nil) {
		out.est = b.est
	}
	out.split = a.split
	if out.split == nil {
		out.split = b.split
	}
	out.idx = a.idx
	if out.idx == nil {
		out.idx = b.idx
	}
	if a.k&kTuple != 0 && b.k&kTuple != 0 && len(a.elems) == len(b.elems) {
		out.elems = make([]*value, len(a.elems))
		for i := range a.elems {
			out.elems[i] = joinDepth(a.elems[i], b.elems[i], depth+1)
		}
	} else if len(a.elems) > 0 {
		out.elems = a.elems
	} else {
		out.elems = b.elems
	}
	if a.dict != nil || b.dict != nil {
		out.dict = map[string]*value{}
		for k, v := range a.dict {
			out.dict[k] = v
		}
		for k, v := range b.dict {
			out.dict[k] = joinDepth(out.dict[k], v, depth+1)
		}
	}
	out.other = joinDepth(a.other, b.other, depth+1)
	out.obj = a.obj
	if out.obj == nil {
		out.obj = b.obj
	}
	out.fn, out.cls, out.mod = a.fn, a.cls, a.mod
	if out.fn == nil {
		out.fn = b.fn
	}
	if out.cls == nil {
		out.cls = b.cls
	}
	if out.mod == "" {
		out.mod = b.mod
	}
	out.elem = joinDepth(a.elem, b.elem, depth+1)
	if a.isStr && b.isStr && a.str == b.str {
		out.isStr, out.str = true, a.str
	}
	out.bykey = a.bykey
	return out
}

// bound records that v was bound to name at a node and returns v. Values
// are shared, not copied, so that in-place changes (df["x"] = ...) reach
// every name bound to the same object, as in Python.
func (v *value) bound(name string, at *node) *value {
	if v == nil {
		return nil
	}
	if v.k&(kData|kScore|kIndices) != 0 || len(v.taint) > 0 {
		v.trace = v.trace.push(name, at)
	}
	return v
}
