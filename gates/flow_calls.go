package gates

import (
	"strings"
)

// argVals are the evaluated arguments of a call.
type argVals struct {
	pos  []*value
	posN []*node
	kw   map[string]*value
	kwN  map[string]*node
}

// get returns keyword argument names[0..] if present, else positional i
// (i < 0: keyword only), else nil.
func (a *argVals) get(i int, names ...string) *value {
	if a == nil {
		return nil
	}
	for _, n := range names {
		if v, ok := a.kw[n]; ok {
			return v
		}
	}
	if i >= 0 && i < len(a.pos) {
		return a.pos[i]
	}
	return nil
}

func (a *argVals) node(i int, names ...string) *node {
	if a == nil {
		return nil
	}
	for _, n := range names {
		if v, ok := a.kwN[n]; ok {
			return v
		}
	}
	if i >= 0 && i < len(a.posN) {
		return a.posN[i]
	}
	return nil
}

func (a *argVals) all() []*value {
	if a == nil {
		return nil
	}
	out := append([]*value{}, a.pos...)
	for _, v := range a.kw {
		out = append(out, v)
	}
	return out
}

func (fl *flow) args(call *node, sc *scope) *argVals {
	a := &argVals{}
	al := call.child("arguments")
	if al.is("generator_expression") {
		a.pos = append(a.pos, fl.eval(al, sc))
		a.posN = append(a.posN, al)
		return a
	}
	for _, c := range al.kids() {
		switch c.kind {
		case "keyword_argument":
			if a.kw == nil {
				a.kw, a.kwN = map[string]*value{}, map[string]*node{}
			}
			name := c.child("name").text()
			a.kw[name] = fl.eval(c.child("value"), sc)
			a.kwN[name] = c.child("value")
		case "dictionary_splat":
			fl.eval(c.firstKid(), sc)
		case "list_splat":
			// f(*xs): the elements of a known tuple become arguments.
			v := fl.eval(c.firstKid(), sc)
			if v.has(kTuple) && len(v.elems) > 0 && v.other == nil {
				for _, e := range v.elems {
					a.pos = append(a.pos, e)
					a.posN = append(a.posN, c)
				}
				continue
			}
			a.pos = append(a.pos, elementOf(v))
			a.posN = append(a.posN, c)
		default:
			a.pos = append(a.pos, fl.eval(c, sc))
			a.posN = append(a.posN, c)
		}
	}
	return a
}

func (fl *flow) call(n *node, sc *scope) *value {
	fnNode := unparen(n.child("function"))
	if fnNode.kind == "attribute" {
		meth := fnNode.child("attribute").text()
		recv := fl.eval(fnNode.child("object"), sc)
		a := fl.args(n, sc)
		return fl.method(n, recv, meth, a)
	}
	fv := fl.eval(fnNode, sc)
	a := fl.args(n, sc)
	switch {
	case fv.fn != nil:
		var self *value
		if fv.obj != nil {
			self = &value{k: kObject, obj: fv.obj}
		}
		return fl.inline(fv.fn, self, a, n)
	case fv.cls != nil:
		return fl.instantiate(fv.cls, a, n)
	case fv.has(kModule):
		return fl.callCanonical(n, fv.mod, a)
	case fv.est != nil:
		return fl.transform(n, fv, a.get(0, "x", "X"))
	}
	fl.objective(n, "", a)
	return fl.conservative(a)
}

// conservative is the result of a call the analysis does not know: it keeps
// the rows and statistics of its data arguments.
func (fl *flow) conservative(a *argVals) *value {
	if a == nil {
		return unknown()
	}
	out := &value{}
	for _, v := range a.all() {
		if v.has(kData | kScore | kTuple | kDict) {
			mergeInto(out, v, true)
		}
	}
	return out
}

func (fl *flow) method(n *node, recv *value, meth string, a *argVals) *value {
	switch {
	case recv.has(kModule):
		return fl.callCanonical(n, recv.mod+"."+meth, a)
	case recv.obj != nil:
		return fl.objectMethod(n, recv, meth, a)
	case recv.fn != nil:
		return fl.conservative(a)
	case recv.est != nil:
		return fl.estMethod(n, recv, meth, a)
	case recv.split != nil:
		return fl.splitterMethod(n, recv, meth, a)
	case recv.has(kDict) && !recv.has(kData):
		return fl.dictMethod(recv, meth, a)
	case recv.has(kTuple|kSeq) && !recv.has(kData):
		return fl.listMethod(n, recv, meth, a)
	case recv.has(kIndices):
		return recv
	}
	return fl.dataMethod(n, recv, meth, a)
}

func (fl *flow) objectMethod(n *node, recv *value, meth string, a *argVals) *value {
	cls := recv.obj.cls
	if m := findMethod(cls, meth, fl.prog); m != nil {
		return fl.inline(m, recv, a, n)
	}
	fit, tr := findMethod(cls, "fit", fl.prog), findMethod(cls, "transform", fl.prog)
	if meth == "fit_transform" && fit != nil && tr != nil {
		fl.inline(fit, recv, a, n)
		return fl.inline(tr, recv, &argVals{pos: a.pos[:min(1, len(a.pos))], kw: map[string]*value{}, kwN: map[string]*node{}}, n)
	}
	if v, ok := recv.obj.attrs[meth]; ok && v.fn != nil {
		return fl.inline(v.fn, nil, a, n)
	}
	// A subclass of a library estimator that does not override the method.
	if estimatorMethods[meth] {
		if recv.est == nil {
			recv.est = &estimator{class: cls.name, cat: classCategory(cls)}
		}
		return fl.estMethod(n, recv, meth, a)
	}
	fl.objective(n, meth, a)
	return fl.conservative(a)
}

func classCategory(cd *classDef) estCat {
	for _, b := range cd.bases {
		_, t := splitLast(b)
		switch {
		case preprocessors[t] || t == "TransformerMixin":
			return catPreproc
		case pipelines[t]:
			return catPipeline
		}
	}
	return catModel
}

var estimatorMethods = nameSet("fit", "partial_fit", "fit_transform", "fit_predict", "fit_resample", "fit_sample",
	"transform", "inverse_transform", "predict", "predict_proba", "predict_log_proba", "decision_function",
	"score", "evaluate", "fit_on_texts", "adapt", "texts_to_sequences", "texts_to_matrix", "flow",
	"staged_predict", "score_samples", "predict_on_batch", "fit_generator", "train_on_batch")

func (fl *flow) instantiate(cd *classDef, a *argVals, n *node) *value {
	v := &value{k: kObject, obj: &object{cls: cd, attrs: map[string]*value{}}}
	if init := findMethod(cd, "__init__", fl.prog); init != nil {
		fl.inline(init, v, a, n)
	}
	return v
}

// inline analyses a call of a function of the scanned code with the
// arguments bound to its parameters, and returns what it returns. Deep,
// recursive or over-budget calls are not followed; their result is
// [flow.conservative].
func (fl *flow) inline(fd *funcDef, self *value, a *argVals, at *node) *value {
	fl.analysed[fd] = true
	if fl.active[fd] || fl.depth >= maxInlineDepth || fl.budget <= 0 || fl.inlined[fd] >= maxInlinesPerFunc {
		return fl.conservative(a)
	}
	fl.inlined[fd]++
	fl.active[fd] = true
	fl.depth++
	defer func() {
		fl.active[fd] = false
		fl.depth--
	}()
	parent := fl.module
	if fd.u != fl.u {
		// A function of another scanned file: its names resolve through
		// that file's imports and definitions.
		parent = fl.modules[fd.u]
		if parent == nil {
			parent = newScope(nil)
			fl.modules[fd.u] = parent
		}
		savedU, savedMod := fl.u, fl.module
		fl.u, fl.module = fd.u, parent
		defer func() { fl.u, fl.module = savedU, savedMod }()
	}
	if env := fl.closures[fd]; env != nil {
		parent = env
	}
	sc := newScope(parent)
	params := fd.params
	if self != nil && len(params) > 0 && !isStatic(fd) {
		sc.vars[params[0].name] = self
		params = params[1:]
	}
	if a == nil {
		a = &argVals{kw: map[string]*value{}, kwN: map[string]*node{}}
	}
	pi := 0
	for _, p := range params {
		switch {
		case p.star:
			rest := &value{k: kTuple}
			for ; pi < len(a.pos); pi++ {
				rest.elems = append(rest.elems, a.pos[pi])
			}
			sc.vars[p.name] = rest
		case p.dstar:
			d := &value{k: kDict, dict: map[string]*value{}}
			for k, v := range a.kw {
				d.dict[k] = v
			}
			sc.vars[p.name] = d
		default:
			if v, ok := a.kw[p.name]; ok {
				sc.vars[p.name] = v
			} else if pi < len(a.pos) && !p.kwOnly {
				sc.vars[p.name] = a.pos[pi]
				pi++
			} else if p.def != nil {
				sc.vars[p.name] = fl.eval(p.def, parent)
			} else {
				sc.vars[p.name] = fl.rootData(fd.n, p.name)
			}
		}
	}
	rc := &retCollector{}
	fl.rets = append(fl.rets, rc)
	fl.block(stmts(fd.n.child("body")), sc)
	fl.rets = fl.rets[:len(fl.rets)-1]
	if rc.yields != nil {
		return &value{k: kSeq, elem: rc.yields}
	}
	if rc.v == nil {
		return constVal()
	}
	return rc.v
}

func isStatic(fd *funcDef) bool {
	p := fd.n.parent
	if p != nil && p.kind == "decorated_definition" {
		for _, d := range p.kids() {
			if d.kind == "decorator" && strings.Contains(d.text(), "staticmethod") {
				return true
			}
		}
	}
	return false
}

// callCanonical handles a call of a library function or class by its
// canonical dotted name.
func (fl *flow) callCanonical(n *node, canon string, a *argVals) *value {
	if fd := fl.resolveFunc(canon); fd != nil {
		return fl.inline(fd, nil, a, n)
	}
	if cd := fl.resolveClass(canon); cd != nil {
		return fl.instantiate(cd, a, n)
	}
	_, tail := splitLast(canon)
	switch {
	case tail == "train_test_split":
		return fl.trainTestSplit(n, a)
	case splitters[tail].shuffleParam || splitters[tail].shuffles || isSplitterName(tail):
		info := splitters[tail]
		sp := &splitterVal{class: tail, site: n, groupAware: info.groups, shuffled: info.shuffles}
		if info.shuffleParam {
			if s := a.node(-1, "shuffle"); s != nil && !isFalse(s) && !isNone(s) {
				sp.shuffled = true
			}
		}
		return &value{k: kSplitter, split: sp}
	case cvFunctions[tail]:
		return fl.cvSink(n, a.get(0, "estimator"), a.get(1, "X"), a, tail)
	case searches[tail]:
		est := &estimator{class: tail, cat: catSearch, site: n}
		if e := a.get(0, "estimator"); e != nil {
			est.steps = []*value{e}
		}
		v := &value{k: kEstimator, est: est}
		if cv := a.get(-1, "cv"); cv != nil && cv.split != nil {
			v.split = cv.split
		}
		return v
	case pipelines[tail]:
		est := &estimator{class: tail, cat: catPipeline, site: n}
		for _, x := range a.all() {
			est.steps = append(est.steps, estimatorsIn(x)...)
		}
		return &value{k: kEstimator, est: est}
	case preprocessors[tail]:
		return &value{k: kEstimator, est: &estimator{class: tail, cat: catPreproc, site: n}}
	case statelessTransformers[tail]:
		return &value{k: kEstimator, est: &estimator{class: tail, cat: catStateless, site: n}}
	case oversamplers[tail]:
		return &value{k: kEstimator, est: &estimator{class: tail, cat: catSampler, site: n}}
	case undersamplers[tail]:
		return &value{k: kEstimator, est: &estimator{class: tail, cat: catUnderSampler, site: n}}
	case augmenters[tail]:
		return &value{k: kEstimator, est: &estimator{class: tail, cat: catAugment, site: n}}
	case tail == "EarlyStopping" || tail == "early_stopping" || tail == "ModelCheckpoint" || tail == "EarlyStoppingCallback":
		return &value{k: kConst, mod: "early_stopping"}
	case tail == "clone":
		if e := a.get(0, "estimator"); e != nil && e.est != nil {
			c := *e.est
			c.fit, c.stat, c.fitWith = nil, nil, nil
			return &value{k: kEstimator, est: &c}
		}
	case tail == "deepcopy" || tail == "copy":
		if v := a.get(0); v != nil {
			return v
		}
	case isMetricFunc(tail) && !strings.HasPrefix(tail, "make_"):
		return fl.metric(n, a)
	case isDataSource(canon, tail):
		return fl.dataSource(n, canon, tail, a)
	case concatFuncs[tail] && (hasPrefixModule(canon, "pandas") || hasPrefixModule(canon, "numpy") ||
		hasPrefixModule(canon, "torch") || hasPrefixModule(canon, "tensorflow") || !strings.Contains(canon, ".")):
		return fl.concat(n, tail, a)
	case tail == "merge":
		out := derive(a.get(0, "left"), a.get(1, "right"))
		if l := a.get(0, "left"); l != nil {
			out.rows = l.rows
		}
		return out
	case tail == "to_datetime":
		x := a.get(0, "arg")
		if x != nil {
			fl.markTime(x, n, "pd.to_datetime")
		}
		return derive(x)
	case tail == "zscore" || tail == "qcut" || (tail == "cut" && a.node(1, "bins").is("integer")):
		return fl.rowStat(n, a.get(0, "a", "x"), "."+tail+"()", true)
	case rowStats[tail] && (hasPrefixModule(canon, "numpy") || hasPrefixModule(canon, "torch") || hasPrefixModule(canon, "scipy")):
		if axisRowWise(a, 1) {
			return derive(a.get(0))
		}
		return fl.rowStat(n, a.get(0, "a", "x", "input"), "np."+tail+"()", false)
	case scaleFuncs[tail] && hasPrefixModule(canon, "sklearn"):
		return fl.rowStat(n, a.get(0, "X"), "sklearn.preprocessing."+tail+"()", true)
	case featureScoreFuncs[tail]:
		return fl.rowStat(n, a.get(0, "X"), tail+"()", false)
	case tail == "permutation" || tail == "arange" || (tail == "choice" && hasPrefixModule(canon, "numpy")):
		op := fl.newOp(n, "slice", tail)
		return &value{k: kIndices, idx: &indexVal{op: op, part: partRoot}}
	case tail == "resample" && hasPrefixModule(canon, "sklearn"):
		return fl.bootstrap(n, a)
	case tail == "shuffle" && hasPrefixModule(canon, "sklearn"):
		out := &value{k: kTuple}
		for _, v := range a.pos {
			out.elems = append(out.elems, derive(v))
		}
		if len(out.elems) == 1 {
			return out.elems[0]
		}
		return out
	case (tail == "argmax" || tail == "argmin" || tail == "nanargmax" || tail == "nanargmin") && hasPrefixModule(canon, "numpy"):
		fl.selection(n, "np."+tail+"()", a.all())
		return constVal()
	case isModelClass(canon, tail):
		est := &estimator{class: tail, cat: catModel, site: n}
		if a.node(-1, "early_stopping_rounds") != nil || strings.HasPrefix(tail, "CatBoost") {
			est.early = true
		}
		return &value{k: kEstimator, est: est}
	}
	if v := fl.builtin(n, canon, a); v != nil {
		return v
	}
	fl.objective(n, tail, a)
	return fl.conservative(a)
}

func isSplitterName(tail string) bool {
	_, ok := splitters[tail]
	return ok
}

var concatFuncs = nameSet("concat", "concatenate", "vstack", "hstack", "column_stack", "row_stack", "append", "stack",
	"dstack", "cat")

// scaleFuncs are sklearn.preprocessing functions that standardise columns
// with statistics of the rows they are given.
var scaleFuncs = nameSet("scale", "minmax_scale", "robust_scale", "maxabs_scale", "quantile_transform", "power_transform")

var featureScoreFuncs = nameSet("mutual_info_classif", "mutual_info_regression", "f_classif", "f_regression", "chi2",
	"r_regression", "pearsonr", "spearmanr")

func isModelClass(canon, tail string) bool {
	if tail == "" || tail[0] < 'A' || tail[0] > 'Z' {
		return false
	}
	for _, m := range modelModules {
		if hasPrefixModule(canon, m) {
			return true
		}
	}
	return modelSuffixRe().MatchString(tail) || tail == "Sequential" || tail == "Model"
}

func estimatorsIn(v *value) []*value { return estimatorsInDepth(v, 0) }

func estimatorsInDepth(v *value, depth int) []*value {
	if v == nil || depth > maxValueDepth {
		return nil
	}
	var out []*value
	if v.est != nil {
		out = append(out, v)
	}
	for _, e := range v.elems {
		out = append(out, estimatorsInDepth(e, depth+1)...)
	}
	if v.other != nil {
		out = append(out, estimatorsInDepth(v.other, depth+1)...)
	}
	return out
}

// axisRowWise reports whether the axis argument (keyword, or positional at
// i) says "per row" (axis=1 or "columns").
func axisRowWise(a *argVals, i int) bool {
	n := a.node(-1, "axis", "dim")
	if n == nil && i >= 0 && i < len(a.posN) {
		if _, ok := intValue(a.posN[i]); ok {
			n = a.posN[i]
		}
	}
	if n == nil {
		return false
	}
	if v, ok := intValue(n); ok {
		return v == 1 || v == -1
	}
	s, _ := stringValue(n)
	return s == "columns" || s == "index_"
}

// builtin handles the Python builtins the analysis must see through.
func (fl *flow) builtin(n *node, name string, a *argVals) *value {
	first := a.get(0)
	switch name {
	case "len", "isinstance", "print", "int", "str", "bool", "hasattr", "id", "hash", "repr", "type", "round", "abs":
		if name == "round" || name == "abs" {
			return derive(first)
		}
		return constVal()
	case "float":
		return derive(first)
	case "range":
		return &value{k: kSeq, elem: constVal()}
	case "zip":
		t := &value{k: kTuple}
		for _, v := range a.pos {
			t.elems = append(t.elems, elementOf(v))
		}
		return &value{k: kSeq, elem: t}
	case "enumerate":
		return &value{k: kSeq, elem: &value{k: kTuple, elems: []*value{constVal(), elementOf(first)}}}
	case "list", "tuple", "set", "iter", "reversed", "frozenset":
		if first == nil {
			return &value{k: kTuple}
		}
		if first.has(kSeq) && !first.has(kTuple) {
			return &value{k: kTuple | kSeq, elem: first.elem, other: first.elem}
		}
		return first
	case "sorted", "max", "min":
		// max and min choose; sorted chooses when its first or last
		// element is taken (sorted(...)[0]), not when it only orders.
		if name != "sorted" || (n.parent != nil && n.parent.kind == "subscript" && n.field() == "value") {
			fl.selection(n, name+"()", a.all())
		}
		if first == nil {
			return unknown()
		}
		if name == "sorted" {
			return first
		}
		if len(a.pos) > 1 {
			return derive(a.pos...)
		}
		return elementOf(first)
	case "next":
		return elementOf(first)
	case "sum":
		return derive(first)
	case "dict":
		d := &value{k: kDict, dict: map[string]*value{}}
		for k, v := range a.kw {
			d.dict[k] = v
		}
		if first != nil {
			d.other = elementOf(first)
		}
		return d
	case "map", "filter":
		return &value{k: kSeq, elem: derive(a.get(1))}
	case "getattr":
		return unknown()
	case "open", "super", "vars", "globals", "locals":
		return unknown()
	}
	return nil
}

func (fl *flow) dictMethod(d *value, meth string, a *argVals) *value {
	switch meth {
	case "items":
		return &value{k: kSeq, elem: &value{k: kTuple, elems: []*value{constVal(), elementOfDict(d)}}}
	case "values":
		return &value{k: kSeq | kTuple, elem: elementOfDict(d), other: elementOfDict(d)}
	case "keys":
		return &value{k: kSeq, elem: constVal()}
	case "get", "pop", "setdefault":
		if s, ok := stringValue(a.node(0)); ok {
			if v, ok := d.dict[s]; ok {
				return v
			}
		}
		return elementOfDict(d)
	case "update":
		if x := a.get(0); x != nil {
			for k, v := range x.dict {
				d.dict[k] = v
			}
			d.other = join(d.other, x.other)
		}
		for k, v := range a.kw {
			if d.dict == nil {
				d.dict = map[string]*value{}
			}
			d.dict[k] = v
		}
	}
	return unknown()
}

func (fl *flow) listMethod(n *node, l *value, meth string, a *argVals) *value {
	switch meth {
	case "append", "add", "insert", "appendleft":
		if x := a.get(len(a.pos) - 1); x != l {
			l.other = join(l.other, x)
		}
	case "extend", "update":
		if x := elementOf(a.get(0)); x != l {
			l.other = join(l.other, x)
		}
	case "pop", "popleft":
		return elementOf(l)
	case "index", "count":
		return constVal()
	case "sort":
		fl.selection(n, ".sort()", []*value{l})
	}
	return unknown()
}

// ---- estimators ----

func (fl *flow) estMethod(n *node, v *value, meth string, a *argVals) *value {
	X := a.get(0, "X", "x", "raw_documents", "texts", "data", "inputs")
	switch meth {
	case "fit", "partial_fit", "fit_on_texts", "adapt", "train", "fit_generator", "train_on_batch":
		fl.fit(n, v, X, a, meth)
		if v.est.cat == catModel && (a.kw["validation_data"] != nil || a.kw["epochs"] != nil) {
			return &value{k: kScore} // a keras History
		}
		return v
	case "fit_transform":
		fl.fit(n, v, X, a, meth)
		return fl.transform(n, v, X)
	case "fit_predict":
		fl.fit(n, v, X, a, meth)
		return derive(X)
	case "fit_resample", "fit_sample":
		return fl.resample(n, v, X, a.get(1, "y"))
	case "transform", "inverse_transform", "texts_to_sequences", "texts_to_matrix", "sequences_to_matrix",
		"flow", "flow_from_dataframe", "standardize", "random_transform", "get_feature_names_out_":
		return fl.transform(n, v, X)
	case "predict", "predict_proba", "predict_log_proba", "decision_function", "score", "evaluate",
		"staged_predict", "score_samples", "predict_on_batch", "kneighbors", "predict_classes":
		return fl.evaluate(n, v, meth, X, a.get(1, "y"))
	case "set_params", "set_output", "named_steps":
		return v
	}
	fl.objective(n, meth, a)
	return fl.conservative(a)
}

func (fl *flow) splitterMethod(n *node, v *value, meth string, a *argVals) *value {
	if meth != "split" {
		return constVal()
	}
	X := a.get(0, "X")
	if X == nil {
		X = unknown()
	}
	if len(X.rows) == 0 {
		X.k |= kData
		X.rows = fl.rootData(n, "").rows
	}
	sp := v.split
	op := fl.newOp(n, "cv", sp.class+".split")
	op.shuffled = sp.shuffled
	op.groupAware = sp.groupAware && a.get(2, "groups") != nil
	fl.cvChecks(n, X, op)
	tr := &value{k: kIndices, idx: &indexVal{op: op, part: partTrain, base: X.rows}}
	te := &value{k: kIndices, idx: &indexVal{op: op, part: partTest, base: X.rows}}
	return &value{k: kSeq, elem: &value{k: kTuple, elems: []*value{tr, te}}}
}

// hasPreproc reports whether fitting est learns statistics from rows.
func hasPreproc(est *estimator) bool {
	switch est.cat {
	case catPreproc, catAugment:
		return true
	case catPipeline, catSearch:
		for _, s := range est.steps {
			if s.est != nil && hasPreproc(s.est) {
				return true
			}
		}
	}
	return false
}

func (fl *flow) fit(n *node, v *value, X *value, a *argVals, meth string) {
	est := v.est
	if X == nil {
		return
	}
	if len(X.rows) == 0 && !X.has(kTuple|kDict|kSeq) {
		// Data the analysis did not see being made (np.random.rand(...), a
		// call into unscanned code): from here on it is a data set of its own.
		X.k |= kData
		X.rows = fl.rootData(n, "").rows
	}
	for _, r := range X.rows {
		if tp := r.testPart(); tp != nil {
			if hasPreproc(est) && est.cat != catPipeline && est.cat != catSearch {
				fl.reportFitOnTest(n, est, X, tp, true)
			} else if est.cat != catStateless {
				fl.reportFitOnTest(n, est, X, tp, false)
			}
			break
		}
	}
	est.fit = &fitRecord{rows: X.rows, site: n}
	est.fitWith = X.taint
	if hasPreproc(est) && len(X.rows) > 0 {
		est.stat = &taint{rows: X.rows, site: n, what: est.class + "." + meth, est: est.class}
	}
	if est.cat == catSearch {
		op := fl.newOp(n, "cv", est.class+".fit")
		if v.split != nil {
			op.shuffled, op.groupAware = v.split.shuffled, v.split.groupAware && a.get(-1, "groups") != nil
		}
		fl.cvChecks(n, X, op)
	}
	// Early stopping or best-model selection on an evaluation set.
	early := est.early || a.node(-1, "early_stopping_rounds") != nil
	if cb := a.get(-1, "callbacks"); cb != nil && hasEarlyStopping(cb) {
		early = true
	}
	if !early {
		return
	}
	for _, k := range []string{"eval_set", "validation_data", "valid_sets", "eval_X", "X_val"} {
		ev := a.get(-1, k)
		if ev == nil {
			continue
		}
		flat := derive(ev)
		for _, r := range flat.rows {
			if tp := r.testPart(); tp != nil {
				fl.reportEarlyStopping(n, est, flat, tp, k)
				return
			}
		}
	}
}

func hasEarlyStopping(v *value) bool { return hasEarlyStoppingDepth(v, 0) }

func hasEarlyStoppingDepth(v *value, depth int) bool {
	if v == nil || depth > maxValueDepth {
		return false
	}
	if v.mod == "early_stopping" {
		return true
	}
	for _, e := range v.elems {
		if hasEarlyStoppingDepth(e, depth+1) {
			return true
		}
	}
	return hasEarlyStoppingDepth(v.other, depth+1)
}

func (fl *flow) transform(n *node, v *value, X *value) *value {
	if X == nil {
		return unknown()
	}
	est := v.est
	if est.cat == catAugment {
		return fl.synthetic(n, X, est.class+".flow", false)
	}
	out := derive(X)
	out.rows = X.rows
	if est.stat == nil {
		out.taint = unionTaints(out.taint, est.fitWith)
		return out
	}
	out.taint = unionTaints(out.taint, []*taint{est.stat})
	name := est.class + ".transform"
	if est.stat.site == n {
		name = est.stat.what // fit_transform
	}
	out.trace = &step{name: name, at: n}
	for _, r := range X.rows {
		tp := r.testPart()
		if tp == nil {
			continue
		}
		for _, fr := range est.stat.rows {
			if overlaps(fr, r) {
				fl.reportPreprocessing(est.stat, tp.op, tp.site, X, "applied to the test rows by "+est.class+".transform", n)
				break
			}
		}
	}
	return out
}

// resample is fit_resample: oversamplers add rows made from other rows.
func (fl *flow) resample(n *node, v *value, X, y *value) *value {
	est := v.est
	if X == nil {
		X = unknown()
	}
	if est.cat != catSampler {
		return &value{k: kTuple, elems: []*value{derive(X), derive(y)}}
	}
	for _, r := range X.rows {
		if tp := r.testPart(); tp != nil {
			fl.reportResampleTest(n, est.class, X, tp)
			break
		}
	}
	xs := fl.synthetic(n, X, est.class+".fit_resample", true)
	ys := &value{k: kData, rows: xs.rows, taint: xs.taint}
	if y != nil {
		ys.taint = unionTaints(ys.taint, y.taint)
	}
	return &value{k: kTuple, elems: []*value{xs, ys}}
}

// synthetic gives X's rows plus rows made from them, as new regions that
// remember where they came from.
func (fl *flow) synthetic(n *node, X *value, what string, keepRole bool) *value {
	out := &value{k: kData, taint: X.taint, trace: X.trace}
	op := fl.newOp(n, "resample", what)
	for _, r := range X.rows {
		c := fl.child(r, op, partSynthetic, "")
		c.synth, c.synthWhat, c.synthFrom = n, what, []*region{r}
		if keepRole && r.trainLike() {
			c.role = roleTrain
		}
		out.rows = append(out.rows, c)
	}
	if len(X.rows) == 0 {
		r := fl.newRegion(nil, n)
		r.synth, r.synthWhat = n, what
		out.rows = []*region{r}
	}
	return out
}

// bootstrap is sklearn.utils.resample: with replacement (the default) it
// duplicates rows.
func (fl *flow) bootstrap(n *node, a *argVals) *value {
	if r := a.node(-1, "replace"); r != nil && isFalse(r) {
		out := &value{k: kTuple}
		for _, v := range a.pos {
			out.elems = append(out.elems, derive(v))
		}
		if len(out.elems) == 1 {
			return out.elems[0]
		}
		return out
	}
	out := &value{k: kTuple}
	for _, v := range a.pos {
		out.elems = append(out.elems, fl.synthetic(n, v, "resample(replace=True)", true))
	}
	if len(out.elems) == 1 {
		return out.elems[0]
	}
	return out
}

// evaluate is predict/score: an evaluation of a fitted model on rows.
// Rows count as held out when they are test data (a split's test part, a
// CV test fold, data named or loaded as test data) or when the model was
// fitted on another part of the same partition (X[:n] and X[n:]).
// Evaluating on exactly the training rows is a training score, not a leak.
func (fl *flow) evaluate(n *node, v *value, meth string, X, y *value) *value {
	if X == nil {
		return unknown()
	}
	est := v.est
	var held []*region
	for _, r := range X.rows {
		holdout := r.testPart() != nil
		if !holdout && est.fit != nil {
			for _, fr := range est.fit.rows {
				if partitionSiblings(fr, r) {
					holdout = true
					break
				}
			}
		}
		if !holdout {
			continue
		}
		held = append(held, r)
		if est.fit != nil {
			for _, fr := range est.fit.rows {
				if fr == r {
					continue // the same rows: a training score, or a fit on test data reported at the fit
				}
				if overlaps(fr, r) {
					fl.reportSharedRows(n, est, fr, r, X)
					break
				}
			}
		}
		// Statistics fitted on rows that contain these held-out rows.
		for _, t := range X.taint {
			for _, tr := range t.rows {
				if tr != r && tr.isAncestorOf(r) {
					if p := partitionBelow(tr, r); p != nil {
						fl.reportPreprocessing(t, p.op, p.site, X, "evaluated on the held-out rows", n)
					}
				}
			}
		}
	}
	var out *value
	if meth == "score" || meth == "evaluate" {
		out = &value{k: kScore}
	} else {
		out = derive(X)
		out.rows = X.rows
	}
	if len(held) > 0 {
		out.k |= kScore
		out.score = &scoreInfo{at: n, rows: held, pred: meth != "score" && meth != "evaluate"}
	}
	return out
}

// partitionSiblings reports whether a and b lie in different parts of one
// partitioning operation (X[:n] and X[n:], the train and test of a split).
func partitionSiblings(a, b *region) bool {
	for pa := a; pa != nil; pa = pa.parent {
		if pa.op == nil {
			continue
		}
		for pb := b; pb != nil; pb = pb.parent {
			if pb != pa && pb.op == pa.op && pb.parent == pa.parent {
				return true
			}
		}
	}
	return false
}

// partitionBelow returns the first region below anc on the way to r that a
// partitioning operation made.
func partitionBelow(anc, r *region) *region {
	var found *region
	for p := r; p != nil && p != anc; p = p.parent {
		if p.op != nil && p.part != partFilter && p.part != partSynthetic {
			found = p
		}
	}
	return found
}

// metric is a metric function: a score, on held-out rows when any of its
// inputs are.
func (fl *flow) metric(n *node, a *argVals) *value {
	out := &value{k: kScore}
	var held []*region
	for _, v := range a.all() {
		if v.score != nil {
			held = append(held, v.score.rows...)
		}
		for _, r := range v.rows {
			if r.heldOut() {
				held = append(held, r)
			}
		}
	}
	if len(held) > 0 {
		out.score = &scoreInfo{at: n, rows: held}
	}
	return out
}

// cvSink is cross_val_score and friends.
func (fl *flow) cvSink(n *node, est, X *value, a *argVals, what string) *value {
	if X == nil {
		return &value{k: kScore}
	}
	op := fl.newOp(n, "cv", what)
	if cv := a.get(-1, "cv"); cv != nil && cv.split != nil {
		op.shuffled = cv.split.shuffled
		op.groupAware = cv.split.groupAware && a.get(-1, "groups") != nil
	}
	fl.cvChecks(n, X, op)
	if what == "cross_val_predict" {
		out := derive(X)
		out.rows = X.rows
		return out
	}
	return &value{k: kScore}
}

// ---- data ----

func (fl *flow) dataSource(n *node, canon, tail string, a *argVals) *value {
	v := fl.rootData(n, "")
	r := v.rows[0]
	if s, ok := stringValue(a.node(0, "filepath_or_buffer", "path", "fname", "file", "io", "path_or_buf")); ok {
		r.role = nameRole(s)
		r.name = s
	}
	if s, ok := stringValue(a.node(-1, "split", "subset")); ok {
		r.role = nameRole(s)
	}
	if t := a.node(-1, "train"); t != nil {
		switch {
		case isFalse(t):
			r.role = roleTest
		case isTrue(t):
			r.role = roleTrain
		}
	}
	if pd := a.node(-1, "parse_dates"); pd != nil && !isFalse(pd) {
		r.timeAt, r.timeWhy = pd, "parse_dates"
	}
	if ic := a.node(-1, "index_col"); ic != nil {
		if s, ok := stringValue(ic); ok && isTimeCol.match(s) {
			r.timeAt, r.timeWhy = ic, "a time index column"
		}
	}
	if x := a.get(0, "data"); x != nil && (tail == "DataFrame" || tail == "Series" || tail == "array" || tail == "asarray" || tail == "tensor" || tail == "from_tensor_slices") {
		if len(x.rows) > 0 || x.score != nil {
			out := derive(x)
			out.rows = x.rows
			out.k |= kData
			if len(out.rows) == 0 {
				out.rows = v.rows
			}
			return out
		}
	}
	xy := tail != "DataFrame" && tail != "Series" && (strings.HasPrefix(tail, "make_") || a.node(-1, "return_X_y") != nil && isTrue(a.node(-1, "return_X_y")))
	if xy {
		return &value{k: kTuple, elems: []*value{v, {k: kData, rows: v.rows}}}
	}
	return v
}

func (fl *flow) rowStat(n *node, x *value, what string, rowWise bool) *value {
	if x == nil {
		return unknown()
	}
	out := &value{k: kData, taint: x.taint, trace: x.trace, score: x.score}
	if x.score != nil {
		out.k |= kScore
	}
	if rowWise {
		out.rows = x.rows
	}
	if len(x.rows) > 0 {
		out.taint = unionTaints(out.taint, []*taint{{rows: x.rows, site: n, what: what}})
		out.trace = &step{name: what, at: n}
	}
	return out
}

// concat joins values along rows (or columns). Rows that overlap make the
// result contain duplicates: synthetic rows.
func (fl *flow) concat(n *node, tail string, a *argVals) *value {
	var parts []*value
	for _, v := range a.pos {
		if v.has(kTuple) && !v.has(kData) {
			parts = append(parts, v.elems...)
			if v.other != nil {
				parts = append(parts, v.other)
			}
		} else {
			parts = append(parts, v)
		}
	}
	if tail == "append" && len(parts) > 2 {
		parts = parts[:2]
	}
	out := &value{k: kData}
	for _, p := range parts {
		mergeInto(out, p, false)
	}
	columns := tail == "hstack" || tail == "column_stack" || tail == "dstack" || axisRowWise(a, -1)
	if columns {
		return out
	}
	for i := range parts {
		for j := i + 1; j < len(parts); j++ {
			for _, ri := range parts[i].rows {
				for _, rj := range parts[j].rows {
					if overlaps(ri, rj) {
						return fl.synthetic(n, &value{k: kData, rows: []*region{commonAncestor(ri, rj)}, taint: out.taint, trace: out.trace},
							"concatenating rows with copies of themselves", true)
					}
				}
			}
		}
	}
	return out
}

func commonAncestor(a, b *region) *region {
	for p := a; p != nil; p = p.parent {
		if p.isAncestorOf(b) {
			return p
		}
	}
	return a
}

var windowMethods = nameSet("rolling", "expanding", "ewm", "resample")

func (fl *flow) dataMethod(n *node, v *value, meth string, a *argVals) *value {
	if v.k == 0 || (v.has(kData) && estimatorMethods[meth] && fl.isFreeEstimator(v, meth)) {
		if estimatorMethods[meth] {
			if v.est == nil {
				v.est = &estimator{class: "model", cat: catModel}
			}
			v.k |= kEstimator
			return fl.estMethod(n, v, meth, a)
		}
		if v.k == 0 {
			fl.objective(n, meth, a)
			if meth == "permutation" || meth == "choice" {
				op := fl.newOp(n, "slice", meth)
				return &value{k: kIndices, idx: &indexVal{op: op, part: partRoot}}
			}
			return fl.conservative(a)
		}
	}
	strs := []string{}
	for _, an := range a.posN {
		strs = append(strs, stringsOf(an)...)
	}
	for _, an := range a.kwN {
		strs = append(strs, stringsOf(an)...)
	}
	fl.mention(v, strs, n)
	keep := func() *value {
		out := derive(v)
		out.rows = v.rows
		for _, x := range a.all() {
			out.taint = unionTaints(out.taint, x.taint)
		}
		return out
	}
	if v.has(kGroupBy) {
		return fl.groupByMethod(n, v, meth, a)
	}
	switch {
	case windowMethods[meth]:
		fl.markTime(v, n, "."+meth+"()")
		out := keep()
		out.k |= kGroupBy
		out.bykey = "#window"
		return out
	case timeMethods[meth]:
		fl.markTime(v, n, "."+meth+"()")
		return keep()
	case rowStats[meth]:
		if axisRowWise(a, 0) || len(v.rows) == 0 {
			return keep()
		}
		return fl.rowStat(n, v, "."+meth+"()", false)
	case rowWiseStats[meth]:
		if axisRowWise(a, 0) {
			return keep()
		}
		return fl.rowStat(n, v, "."+meth+"()", true)
	case meth == "groupby":
		out := keep()
		out.k |= kGroupBy
		if len(strs) > 0 {
			out.bykey = strs[0]
		} else {
			out.bykey = "?"
		}
		return out
	case meth == "sort_values" || meth == "sort_index" || meth == "set_index":
		for _, s := range strs {
			if isTimeCol.match(s) {
				fl.markTime(v, n, "."+meth+"("+s+")")
			}
		}
		if (v.score != nil || containsScore(v)) && n.parent != nil &&
			((n.parent.kind == "subscript" && n.field() == "value") || (n.parent.kind == "attribute" && n.field() == "object")) {
			fl.selection(n, "."+meth+"()", []*value{v}) // sort_values(...).iloc[0], .head(1), .index[0]
		}
		return keep()
	case meth == "idxmax" || meth == "idxmin" || meth == "nlargest" || meth == "nsmallest" || meth == "argmax" || meth == "argmin":
		fl.selection(n, "."+meth+"()", []*value{v})
		return keep()
	case meth == "merge" || meth == "join":
		out := keep()
		if o := a.get(0, "right", "other"); o != nil {
			out.taint = unionTaints(out.taint, o.taint)
		}
		return out
	case meth == "drop":
		if c := fl.complement(n, v, a); c != nil {
			return c
		}
		return keep()
	case meth == "sample":
		return fl.sample(n, v, a)
	case meth == "drop_duplicates":
		perEntity := false
		for _, s := range strs {
			if isEntityCol.match(s) {
				perEntity = true
			}
		}
		if perEntity {
			out := keep()
			op := fl.newOp(n, "filter", "drop_duplicates")
			out.rows = nil
			for _, r := range v.rows {
				c := fl.child(r, op, partFilter, "")
				c.perEntity = true
				out.rows = append(out.rows, c)
			}
			return out
		}
		return keep()
	case meth == "append" || meth == "concat":
		return fl.concat(n, "concat", &argVals{pos: append([]*value{v}, a.pos...), kw: a.kw, kwN: a.kwN})
	case meth == "fillna":
		return keep()
	case meth == "permutation" || meth == "choice":
		op := fl.newOp(n, "slice", meth)
		return &value{k: kIndices, idx: &indexVal{op: op, part: partRoot}}
	case meth == "items" || meth == "iterrows" || meth == "iteritems":
		return &value{k: kSeq, elem: &value{k: kTuple, elems: []*value{constVal(), derive(v)}}}
	case meth == "to_csv" || meth == "to_parquet" || meth == "plot" || meth == "head_" || meth == "info":
		return constVal()
	}
	fl.objective(n, meth, a)
	return keep()
}

func containsScore(v *value) bool { return containsScoreDepth(v, 0) }

func containsScoreDepth(v *value, depth int) bool {
	if v == nil || depth > maxValueDepth {
		return false
	}
	if v.score != nil {
		return true
	}
	for _, e := range v.elems {
		if containsScoreDepth(e, depth+1) {
			return true
		}
	}
	for _, e := range v.dict {
		if containsScoreDepth(e, depth+1) {
			return true
		}
	}
	return containsScoreDepth(v.other, depth+1) || containsScoreDepth(v.elem, depth+1)
}

// isFreeEstimator reports whether a data value that the analysis knows
// nothing about (a free name) is used as an estimator.
func (fl *flow) isFreeEstimator(v *value, meth string) bool {
	if v.est != nil {
		return true
	}
	if len(v.rows) != 1 || len(v.taint) > 0 {
		return false
	}
	r := v.rows[0]
	if r.parent != nil {
		return false
	}
	for name, fv := range fl.free {
		if fv == v {
			switch meth {
			case "transform", "score":
				return !strings.Contains(strings.ToLower(name), "df") && !strings.Contains(strings.ToLower(name), "data")
			}
			return true
		}
	}
	return r.site != nil && r.site.kind == "function_definition" && meth != "transform"
}

func (fl *flow) groupByMethod(n *node, v *value, meth string, a *argVals) *value {
	keep := derive(v)
	keep.rows = v.rows
	keep.k &^= kGroupBy
	if v.bykey == "#window" {
		return keep
	}
	switch meth {
	case "shift", "diff", "cumsum", "cumcount", "pct_change", "cumprod", "cummax", "cummin":
		fl.markTime(v, n, "groupby().."+meth+"()")
		return keep
	case "transform", "rank", "fillna":
		return fl.rowStat(n, keep, "groupby()."+meth+"()", true)
	case "agg", "aggregate", "mean", "sum", "count", "size", "max", "min", "median", "std", "var", "first", "last",
		"nunique", "describe", "apply", "quantile", "prod":
		root := fl.newRegion(nil, n)
		root.perEntity = true
		root.named = false
		out := &value{k: kData, rows: []*region{root}, taint: v.taint, trace: v.trace}
		if len(v.rows) > 0 {
			out.taint = unionTaints(out.taint, []*taint{{rows: v.rows, site: n, what: "groupby(" + v.bykey + ")." + meth + "()"}})
		}
		return out
	}
	return keep
}

// complement handles df.drop(sample.index): the rows of df that a sample did
// not take.
func (fl *flow) complement(n *node, v *value, a *argVals) *value {
	arg := a.get(0, "index", "labels")
	if arg == nil {
		return nil
	}
	for _, s := range arg.rows {
		if s.part != partSample {
			continue
		}
		for _, r := range v.rows {
			if s.parent == r {
				out := derive(v)
				out.rows = []*region{fl.child(r, s.op, partComplement, "")}
				return out
			}
		}
	}
	return nil
}

func (fl *flow) sample(n *node, v *value, a *argVals) *value {
	if r := a.node(-1, "replace"); r != nil && isTrue(r) {
		return fl.synthetic(n, v, "sample(replace=True)", true)
	}
	if f, ok := floatValue(a.node(-1, "frac")); ok && f >= 1 {
		return derive(v) // a shuffle
	}
	out := derive(v)
	op := fl.newOp(n, "sample", "sample")
	out.rows = nil
	for _, r := range v.rows {
		out.rows = append(out.rows, fl.child(r, op, partSample, ""))
	}
	return out
}

// trainTestSplit returns the train and test parts of each array, in the
// order train_test_split does, and checks the split.
func (fl *flow) trainTestSplit(n *node, a *argVals) *value {
	op := fl.newOp(n, "train_test_split", "train_test_split")
	op.shuffled = true
	if s := a.node(-1, "shuffle"); s != nil && isFalse(s) {
		op.shuffled = false
	}
	if rs := a.node(-1, "random_state"); rs != nil && isLiteral(rs) {
		op.sig = "tts|" + rs.text() + "|" + a.node(-1, "test_size").text() + "|" + a.node(-1, "train_size").text() +
			"|" + a.node(-1, "shuffle").text()
	}
	out := &value{k: kTuple}
	for i, x := range a.pos {
		if x.has(kTuple) && !x.has(kData) {
			x = derive(x)
		}
		if len(x.rows) == 0 {
			x.k |= kData
			x.rows = fl.rootData(n, "").rows
		}
		tr := fl.part(x, op, partTrain)
		te := fl.part(x, op, partTest)
		out.elems = append(out.elems, tr, te)
		fl.checkSplit(n, op, x, te, i == 0)
	}
	return out
}

func (fl *flow) part(x *value, op *splitOp, part partKind) *value {
	out := &value{k: kData, taint: x.taint, trace: x.trace}
	for _, r := range x.rows {
		c := fl.child(r, op, part, "")
		if part == partTest && r.trainLike() && c.role == roleNone {
			c.role = roleVal // held out of training data: validation
		}
		out.rows = append(out.rows, c)
	}
	return out
}

// objective follows an objective function handed to a hyperparameter
// search driver (optuna's study.optimize, hyperopt's fmin, skopt's
// gp_minimize, scipy's minimize): if what it returns is a score on test
// data, the search is scored on the test set.
func (fl *flow) objective(n *node, name string, a *argVals) {
	switch name {
	case "optimize", "fmin", "minimize", "maximize", "gp_minimize", "forest_minimize", "gbrt_minimize",
		"dummy_minimize", "tune", "run", "fit_", "minimize_scalar", "differential_evolution":
	default:
		return
	}
	if a == nil {
		return
	}
	for _, v := range a.all() {
		if v.fn == nil {
			continue
		}
		r := fl.inline(v.fn, nil, nil, n)
		if t := testScore(r); t != nil {
			fl.reportSelection(n, t, "the objective handed to "+name+"() returns a score on the test set")
		}
	}
}
