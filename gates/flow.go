package gates

import (
	"context"
	"fmt"
	"maps"
	"strings"
)

// flow interprets one unit abstractly (see flow_values.go) and collects
// leakage findings.
type flow struct {
	ctx      context.Context // checked now and then; never stored past the analysis
	prog     *program
	u        *unit
	out      []finding
	seen     map[string]bool
	budget   int
	depth    int
	active   map[*funcDef]bool
	analysed map[*funcDef]bool
	inlined  map[*funcDef]int
	loops    int
	rets     []*retCollector
	nextID   int
	module   *scope
	modules  map[*unit]*scope
	free     map[string]*value
	classOf  map[*node]*classDef
	closures map[*funcDef]*scope
	inCond   int
}

type retCollector struct {
	v      *value
	yields *value
}

type scope struct {
	vars   map[string]*value
	parent *scope
}

func newScope(parent *scope) *scope { return &scope{vars: map[string]*value{}, parent: parent} }

func (s *scope) get(name string) (*value, bool) {
	for p := s; p != nil; p = p.parent {
		if v, ok := p.vars[name]; ok {
			return v, true
		}
	}
	return nil, false
}

const (
	maxInlineDepth = 4
	// maxInlinesPerFunc bounds how often one function is followed into, so
	// that call trees (a recursive-descent parser) stay linear; later calls
	// get the conservative result.
	maxInlinesPerFunc = 12
	budgetPerNode     = 16
)

// analyseLeakage runs the data-flow analysis on one unit. It stops early,
// with what it found so far, when ctx is done.
func analyseLeakage(ctx context.Context, prog *program, u *unit) []finding {
	if u.readErr != nil || len(u.files) == 0 {
		return nil
	}
	nodes := 0
	for _, f := range u.files {
		nodes += len(f.nodes)
	}
	fl := &flow{
		ctx: ctx, prog: prog, u: u, seen: map[string]bool{}, budget: budgetPerNode*nodes + 200000,
		active: map[*funcDef]bool{}, analysed: map[*funcDef]bool{}, inlined: map[*funcDef]int{}, free: map[string]*value{},
		modules: map[*unit]*scope{}, classOf: map[*node]*classDef{}, closures: map[*funcDef]*scope{},
	}
	fl.module = newScope(nil)
	fl.modules[u] = fl.module
	for _, f := range u.files {
		fl.block(stmts(f.root), fl.module)
	}
	// Functions nothing called: analyse each as an entry point, its
	// parameters fresh data named after them.
	for _, fd := range u.defs.all {
		if fl.analysed[fd] || fl.budget <= 0 {
			continue
		}
		var self *value
		if fd.class != nil {
			self = &value{k: kObject, obj: &object{cls: fd.class, attrs: map[string]*value{}}}
		}
		fl.inline(fd, self, nil, nil)
	}
	return fl.out
}

func (fl *flow) newRegion(parent *region, site *node) *region {
	fl.nextID++
	return &region{id: fl.nextID, parent: parent, site: site}
}

// root makes a fresh data set.
func (fl *flow) rootData(site *node, name string) *value {
	r := fl.newRegion(nil, site)
	if name != "" {
		r.name, r.named = name, true
		r.role = nameRole(name)
	}
	return &value{k: kData, rows: []*region{r}}
}

// child returns the part of r that op makes, creating it once.
func (fl *flow) child(r *region, op *splitOp, part partKind, key string) *region {
	k := fmt.Sprintf("%s|%d|%s", op.sig, part, key)
	if c, ok := r.children[k]; ok {
		return c
	}
	c := fl.newRegion(r, op.site)
	c.op, c.part, c.key = op, part, key
	if r.children == nil {
		r.children = map[string]*region{}
	}
	r.children[k] = c
	return c
}

func (fl *flow) newOp(site *node, kind, what string) *splitOp {
	fl.nextID++
	return &splitOp{site: site, kind: kind, what: what, sig: fmt.Sprintf("op%d", fl.nextID)}
}

// ---- statements ----

func (fl *flow) block(ss []*node, sc *scope) {
	for _, s := range ss {
		if fl.budget <= 0 {
			return
		}
		if fl.budget&1023 == 0 && fl.ctx.Err() != nil {
			fl.budget = 0
			return
		}
		fl.stmt(s, sc)
	}
}

func (fl *flow) stmt(n *node, sc *scope) {
	fl.budget--
	switch n.kind {
	case "expression_statement":
		for _, c := range n.kids() {
			fl.exprStmt(c, sc)
		}
	case "return_statement":
		var v *value
		if k := n.firstKid(); k != nil {
			v = fl.eval(k, sc)
		} else {
			v = constVal()
		}
		if len(fl.rets) > 0 {
			rc := fl.rets[len(fl.rets)-1]
			rc.v = join(rc.v, v)
		}
	case "if_statement":
		fl.ifStmt(n, sc)
	case "for_statement":
		it := fl.eval(n.child("right"), sc)
		fl.loop(sc, func(s *scope) {
			fl.assign(n.child("left"), elementOf(it), s, n)
			fl.block(stmts(n.child("body")), s)
		})
		if alt := n.child("alternative"); alt != nil {
			fl.block(stmts(alt.child("body")), sc)
		}
	case "while_statement":
		fl.loop(sc, func(s *scope) {
			fl.eval(n.child("condition"), s)
			fl.block(stmts(n.child("body")), s)
		})
	case "try_statement":
		fl.block(stmts(n.child("body")), sc)
		for _, c := range n.kids() {
			switch c.kind {
			case "except_clause", "except_group_clause":
				if a := c.child("alias"); a != nil {
					fl.assign(a, unknown(), sc, c)
				}
				for _, b := range c.kids() {
					if b.kind == "block" {
						fl.block(stmts(b), sc)
					}
				}
			case "else_clause":
				fl.block(stmts(c.child("body")), sc)
			case "finally_clause":
				for _, b := range c.kids() {
					if b.kind == "block" {
						fl.block(stmts(b), sc)
					}
				}
			}
		}
	case "with_statement":
		for _, c := range n.kids() {
			if c.kind != "with_clause" {
				continue
			}
			for _, item := range c.kids() {
				v := item.child("value")
				if v.is("as_pattern") {
					val := fl.eval(v.firstKid(), sc)
					if t := v.child("alias"); t != nil {
						fl.assign(t.firstKid(), val, sc, item)
					}
				} else {
					fl.eval(v, sc)
				}
			}
		}
		fl.block(stmts(n.child("body")), sc)
	case "function_definition":
		if fd := fl.u.defs.byNode[n]; fd != nil {
			sc.vars[fd.name] = &value{k: kFunc, fn: fd}
			if sc != fl.module {
				fl.closures[fd] = sc
			}
		}
	case "decorated_definition":
		fl.stmt(n.child("definition"), sc)
	case "class_definition":
		if cd := fl.classFor(n); cd != nil {
			sc.vars[cd.name] = &value{k: kClass, cls: cd}
		}
	case "assert_statement", "raise_statement", "delete_statement", "print_statement":
		for _, c := range n.kids() {
			fl.eval(c, sc)
		}
	case "match_statement":
		fl.eval(n.child("subject"), sc)
		for _, c := range n.child("body").kids() {
			if b := c.child("consequence"); b != nil {
				fl.block(stmts(b), sc)
			}
		}
	}
}

func (fl *flow) classFor(n *node) *classDef {
	if cd, ok := fl.classOf[n]; ok {
		return cd
	}
	for _, cd := range fl.u.defs.topClasses {
		if cd.n == n {
			fl.classOf[n] = cd
			return cd
		}
	}
	// Nested class: build its method table on demand.
	cd := &classDef{name: n.child("name").text(), n: n, u: fl.u, methods: map[string]*funcDef{}}
	for _, fd := range fl.u.defs.all {
		if fd.class != nil && fd.class.n == n {
			cd = fd.class
			break
		}
	}
	fl.classOf[n] = cd
	return cd
}

// loop runs the body once and joins the state after it with the state
// before it (the loop may not run). A value the body carries from one
// iteration to the next is therefore seen only in the iteration that made
// it, which is enough for the leakage rules: a second pass cost a fifth of
// the analysis time and found nothing more on the corpus.
func (fl *flow) loop(sc *scope, body func(*scope)) {
	fl.loops++
	defer func() { fl.loops-- }()
	before := maps.Clone(sc.vars)
	body(sc)
	for k, v := range before {
		sc.vars[k] = join(sc.vars[k], v)
	}
}

func (fl *flow) ifStmt(n *node, sc *scope) {
	fl.inCond++
	fl.eval(n.child("condition"), sc)
	fl.inCond--
	before := maps.Clone(sc.vars)
	var states []map[string]*value
	fl.block(stmts(n.child("consequence")), sc)
	states = append(states, sc.vars)
	hasElse := false
	for _, alt := range n.childrenOf("alternative") {
		sc.vars = maps.Clone(before)
		switch alt.kind {
		case "elif_clause":
			fl.inCond++
			fl.eval(alt.child("condition"), sc)
			fl.inCond--
			fl.block(stmts(alt.child("consequence")), sc)
		case "else_clause":
			hasElse = true
			fl.block(stmts(alt.child("body")), sc)
		}
		states = append(states, sc.vars)
	}
	if !hasElse {
		states = append(states, before)
	}
	merged := map[string]*value{}
	for _, st := range states {
		for k, v := range st {
			merged[k] = join(merged[k], v)
		}
	}
	sc.vars = merged
}

func (fl *flow) exprStmt(n *node, sc *scope) {
	switch n.kind {
	case "assignment":
		fl.assignment(n, sc)
	case "augmented_assignment":
		left := n.child("left")
		cur := fl.eval(left, sc)
		rhs := fl.eval(n.child("right"), sc)
		v := derive(cur, rhs)
		v.k |= cur.k & (kTuple | kDict)
		if cur.has(kTuple) {
			v.elems = cur.elems
			v.other = join(cur.other, rhs)
		}
		fl.assign(left, v, sc, n)
	default:
		fl.eval(n, sc)
	}
}

func (fl *flow) assignment(n *node, sc *scope) {
	right := n.child("right")
	if right == nil {
		return // annotation only
	}
	var v *value
	if right.kind == "assignment" {
		fl.assignment(right, sc)
		v = fl.eval(right.child("left"), sc)
	} else {
		v = fl.eval(right, sc)
	}
	fl.assign(n.child("left"), v, sc, n)
}

// assign binds target to v: names, tuple unpacking, attributes, subscripts.
func (fl *flow) assign(t *node, v *value, sc *scope, at *node) {
	if t == nil || v == nil {
		return
	}
	switch t.kind {
	case "identifier":
		name := t.text()
		fl.nameRegions(v, name)
		sc.vars[name] = v.bound(name, at)
	case "pattern_list", "tuple_pattern", "list_pattern", "tuple", "list", "expression_list":
		targets := t.kids()
		star := -1
		for i, c := range targets {
			if c.is("list_splat_pattern", "list_splat") {
				star = i
			}
		}
		for i, c := range targets {
			var e *value
			switch {
			case v.has(kTuple) && len(v.elems) == len(targets) && star < 0:
				e = v.elems[i]
			case v.has(kTuple) && star >= 0 && len(v.elems) >= len(targets)-1:
				switch {
				case i < star:
					e = v.elems[i]
				case i > star:
					e = v.elems[len(v.elems)-(len(targets)-i)]
				default:
					e = &value{k: kTuple, elems: v.elems[star : len(v.elems)-(len(targets)-1-star)]}
				}
			default:
				e = elementOf(v)
			}
			if c.is("list_splat_pattern", "list_splat") {
				c = c.firstKid()
			}
			fl.assign(c, e, sc, at)
		}
	case "parenthesized_expression":
		fl.assign(t.firstKid(), v, sc, at)
	case "attribute":
		obj := fl.eval(t.child("object"), sc)
		attr := t.child("attribute").text()
		switch {
		case obj.obj != nil:
			obj.obj.attrs[attr] = v.bound(attr, at)
		case obj.has(kData):
			obj.taint = unionTaints(obj.taint, v.taint)
			fl.mention(obj, []string{attr}, at)
		default:
			if d := dotted(t); d != "" {
				sc.vars[d] = v.bound(d, at)
			}
		}
	case "subscript":
		base := fl.eval(t.child("value"), sc)
		subs := t.childrenOf("subscript")
		switch {
		case base.has(kDict):
			if len(subs) == 1 {
				if s, ok := stringValue(subs[0]); ok {
					if base.dict == nil {
						base.dict = map[string]*value{}
					}
					base.dict[s] = v
					return
				}
			}
			base.other = join(base.other, v)
		case base.has(kTuple):
			base.other = join(base.other, v)
		case base.has(kData) || base.k == 0:
			// In-place column assignment: df["x"] = expr.
			base.k |= kData
			if len(v.taint) > len(base.taint) || (len(v.taint) > 0 && base.trace == nil) {
				base.trace = base.trace.push(strings.Join(strings.Fields(t.text()), " "), at)
			}
			base.taint = unionTaints(base.taint, v.taint)
			if v.score != nil && base.score == nil {
				base.score = v.score
			}
			for _, s := range subs {
				fl.eval(s, sc)
				if cols := stringsOf(s); len(cols) > 0 {
					fl.mention(base, cols, at)
					for _, c := range cols {
						if isLagCol.match(c) {
							fl.markTime(base, at, "lag feature "+c)
						}
					}
				}
			}
			for _, r := range v.rows {
				if r.root().timeAt != nil {
					fl.markTime(base, r.root().timeAt, r.root().timeWhy)
				}
			}
		}
	}
}

// nameRegions gives the regions a split or data source just made the name
// they are bound to; a name saying validation makes them validation data.
func (fl *flow) nameRegions(v *value, name string) {
	for _, r := range v.rows {
		if r.named {
			continue
		}
		r.named, r.name = true, name
		rl := nameRole(name)
		switch {
		case rl == roleVal:
			r.role = roleVal
		case r.part == partTest && rl == roleTrain:
			r.role = roleTrain // X_train1, X_train2 = train_test_split(...): both halves train
		case r.part == partTrain || r.part == partTest:
		case rl != roleNone && r.role == roleNone:
			r.role = rl
		}
	}
}

// elementOf is what iterating over v gives.
func elementOf(v *value) *value {
	switch {
	case v == nil:
		return unknown()
	case v.has(kSeq) && v.elem != nil:
		return v.elem
	case v.has(kTuple):
		var e *value
		for _, x := range v.elems {
			e = join(e, x)
		}
		e = join(e, v.other)
		if e == nil {
			return unknown()
		}
		return e
	case v.has(kDict):
		return constVal()
	case v.has(kData):
		return derive(v)
	}
	return unknown()
}

// ---- expressions ----

func (fl *flow) eval(n *node, sc *scope) *value {
	if n == nil {
		return unknown()
	}
	fl.budget--
	switch n.kind {
	case "identifier":
		return fl.lookup(n.text(), sc, n)
	case "integer", "float", "true", "false", "none", "ellipsis":
		return constVal()
	case "string", "concatenated_string":
		if s, ok := stringValue(n); ok {
			return strVal(s)
		}
		for c := n.first; c != nil; c = c.next {
			if c.kind == "interpolation" {
				fl.eval(c.child("expression"), sc)
			}
		}
		return constVal()
	case "parenthesized_expression":
		return fl.eval(n.firstKid(), sc)
	case "attribute":
		return fl.attribute(n, sc)
	case "subscript":
		return fl.subscript(n, sc)
	case "call":
		return fl.call(n, sc)
	case "binary_operator":
		l := fl.eval(n.child("left"), sc)
		r := fl.eval(n.child("right"), sc)
		if l.has(kTuple) && r.has(kTuple) && n.op() == "+" {
			return &value{k: kTuple, elems: append(append([]*value{}, l.elems...), r.elems...), other: join(l.other, r.other)}
		}
		return derive(l, r)
	case "unary_operator", "not_operator", "await":
		return derive(fl.eval(n.firstKid(), sc))
	case "boolean_operator":
		return derive(fl.eval(n.child("left"), sc), fl.eval(n.child("right"), sc))
	case "comparison_operator":
		var vs []*value
		for _, c := range n.kids() {
			vs = append(vs, fl.eval(c, sc))
		}
		fl.checkCompareSelection(n, vs)
		return derive(vs...)
	case "conditional_expression":
		ks := n.kids()
		var v *value
		for i, k := range ks {
			x := fl.eval(k, sc)
			if i != 1 {
				v = join(v, x)
			}
		}
		return v
	case "tuple", "list", "set", "expression_list", "pattern_list":
		v := &value{k: kTuple}
		for _, c := range n.kids() {
			if c.is("list_splat", "dictionary_splat") {
				inner := fl.eval(c.firstKid(), sc)
				v.other = join(v.other, elementOf(inner))
				continue
			}
			v.elems = append(v.elems, fl.eval(c, sc))
		}
		return v
	case "dictionary":
		v := &value{k: kDict, dict: map[string]*value{}}
		for _, p := range n.kids() {
			if p.kind == "dictionary_splat" {
				inner := fl.eval(p.firstKid(), sc)
				for k, x := range inner.dict {
					v.dict[k] = x
				}
				v.other = join(v.other, inner.other)
				continue
			}
			if p.kind != "pair" {
				continue
			}
			val := fl.eval(p.child("value"), sc)
			if s, ok := stringValue(p.child("key")); ok {
				v.dict[s] = val
			} else {
				fl.eval(p.child("key"), sc)
				v.other = join(v.other, val)
			}
		}
		return v
	case "list_comprehension", "set_comprehension", "generator_expression", "dictionary_comprehension":
		return fl.comprehension(n, sc)
	case "named_expression":
		v := fl.eval(n.child("value"), sc)
		fl.assign(n.child("name"), v, sc, n)
		return v
	case "lambda":
		// The body is evaluated once with unknown parameters, so that what
		// a key function looks at (a test score) is seen where it is used.
		inner := newScope(sc)
		for _, p := range n.child("parameters").kids() {
			if p.kind == "identifier" {
				inner.vars[p.text()] = unknown()
			}
		}
		return &value{k: kFunc, elem: fl.eval(n.child("body"), inner)}
	case "yield":
		var v *value
		if k := n.firstKid(); k != nil {
			v = fl.eval(k, sc)
		}
		if len(fl.rets) > 0 && v != nil {
			rc := fl.rets[len(fl.rets)-1]
			rc.yields = join(rc.yields, v)
		}
		return unknown()
	case "assignment":
		fl.assignment(n, sc)
		return fl.eval(n.child("left"), sc)
	case "augmented_assignment":
		fl.exprStmt(n, sc)
		return unknown()
	case "list_splat", "dictionary_splat":
		return fl.eval(n.firstKid(), sc)
	case "slice":
		for _, c := range n.kids() {
			fl.eval(c, sc)
		}
		return constVal()
	}
	return unknown()
}

func (fl *flow) comprehension(n *node, sc *scope) *value {
	inner := &scope{vars: maps.Clone(sc.vars), parent: sc.parent}
	fl.loops++
	for _, c := range n.kids() {
		switch c.kind {
		case "for_in_clause":
			it := fl.eval(c.child("right"), inner)
			fl.assign(c.child("left"), elementOf(it), inner, c)
		case "if_clause":
			fl.eval(c.firstKid(), inner)
		}
	}
	body := n.child("body")
	var v *value
	if body.is("pair") {
		k := fl.eval(body.child("key"), inner)
		v = fl.eval(body.child("value"), inner)
		fl.loops--
		_ = k
		return &value{k: kDict, dict: map[string]*value{}, other: v}
	}
	v = fl.eval(body, inner)
	fl.loops--
	return &value{k: kTuple | kSeq, other: v, elem: v}
}

var builtinNames = nameSet("len", "range", "print", "list", "dict", "set", "tuple", "zip", "enumerate", "sorted", "max",
	"min", "sum", "abs", "round", "int", "float", "str", "bool", "isinstance", "open", "iter", "next", "map",
	"filter", "any", "all", "super", "type", "getattr", "setattr", "hasattr", "vars", "id", "hash", "repr", "format",
	"input", "reversed", "object", "Exception", "ValueError", "TypeError", "KeyError", "RuntimeError",
	"NotImplementedError", "__name__", "__file__", "globals", "locals", "divmod", "pow", "callable", "frozenset",
	"bytes", "staticmethod", "classmethod", "property", "AssertionError", "IndexError", "StopIteration",
	"FileNotFoundError", "OSError", "IOError", "ZeroDivisionError", "FloatingPointError", "Warning",
	"DeprecationWarning", "UserWarning", "RuntimeWarning", "slice", "ord", "chr", "hex", "bin", "oct", "complex",
	"memoryview", "bytearray", "exit", "quit", "dir", "help", "issubclass", "compile", "eval", "exec", "delattr",
	"ArithmeticError", "OverflowError", "ImportError", "ModuleNotFoundError", "AttributeError", "NameError",
	"KeyboardInterrupt", "SystemExit", "BaseException", "NotADirectoryError", "PermissionError", "EOFError")

// lookup resolves a name: local and enclosing scopes, the module, imports,
// builtins, functions of other scanned files; anything else is free data
// named after the variable.
func (fl *flow) lookup(name string, sc *scope, at *node) *value {
	if v, ok := sc.get(name); ok {
		return v
	}
	if v, ok := fl.module.vars[name]; ok {
		return v
	}
	if fl.u.imports.imported(name) {
		canon := fl.u.imports.canon(name)
		if fd := fl.resolveFunc(canon); fd != nil {
			return &value{k: kFunc, fn: fd, mod: canon}
		}
		if cd := fl.resolveClass(canon); cd != nil {
			return &value{k: kClass, cls: cd, mod: canon}
		}
		return &value{k: kModule, mod: canon}
	}
	if fd, ok := fl.u.defs.topFuncs[name]; ok {
		return &value{k: kFunc, fn: fd}
	}
	if cd, ok := fl.u.defs.topClasses[name]; ok {
		return &value{k: kClass, cls: cd}
	}
	if builtinNames[name] {
		return &value{k: kModule, mod: name}
	}
	if name == "self" || name == "cls" {
		return unknown()
	}
	if v, ok := fl.free[name]; ok {
		return v
	}
	v := fl.rootData(at, name)
	fl.free[name] = v
	return v
}

// resolveFunc finds a function of a scanned file named by an import
// ("utils.preprocess", ".utils.preprocess").
func (fl *flow) resolveFunc(canon string) *funcDef {
	mod, name := splitLast(canon)
	cands := fl.prog.funcs[name]
	if len(cands) == 0 {
		return nil
	}
	stem := lastComponent(mod)
	for _, fd := range cands {
		if moduleStem(fd.u.path) == stem {
			return fd
		}
	}
	if len(cands) == 1 && stem == "" {
		return cands[0]
	}
	return nil
}

func (fl *flow) resolveClass(canon string) *classDef {
	mod, name := splitLast(canon)
	cands := fl.prog.classes[name]
	stem := lastComponent(mod)
	for _, cd := range cands {
		if moduleStem(cd.u.path) == stem {
			return cd
		}
	}
	return nil
}

func splitLast(d string) (string, string) {
	i := strings.LastIndexByte(d, '.')
	if i < 0 {
		return "", d
	}
	return d[:i], d[i+1:]
}

func lastComponent(mod string) string {
	mod = strings.TrimLeft(mod, ".")
	_, last := splitLast(mod)
	return last
}

func (fl *flow) attribute(n *node, sc *scope) *value {
	objNode := n.child("object")
	attr := n.child("attribute").text()
	if d := dotted(n); d != "" {
		if v, ok := sc.get(d); ok {
			return v
		}
		if v, ok := fl.module.vars[d]; ok {
			return v
		}
	}
	obj := fl.eval(objNode, sc)
	switch {
	case obj.has(kModule):
		canon := obj.mod + "." + attr
		if fd := fl.resolveFunc(canon); fd != nil {
			return &value{k: kFunc, fn: fd, mod: canon}
		}
		if cd := fl.resolveClass(canon); cd != nil {
			return &value{k: kClass, cls: cd, mod: canon}
		}
		return &value{k: kModule, mod: canon}
	case obj.obj != nil:
		if v, ok := obj.obj.attrs[attr]; ok {
			return v
		}
		if m := findMethod(obj.obj.cls, attr, fl.prog); m != nil {
			return &value{k: kFunc, fn: m, obj: obj.obj}
		}
		return unknown()
	case obj.est != nil:
		return fl.estAttr(obj, attr, n)
	case obj.has(kData):
		switch attr {
		case "shape", "columns", "dtypes", "dtype", "size", "ndim", "name", "names", "empty":
			return constVal()
		case "dt":
			fl.markTime(obj, n, ".dt accessor")
		}
		if isEntityCol.match(attr) {
			fl.mention(obj, []string{attr}, n)
		}
		out := derive(obj)
		out.k |= obj.k & (kGroupBy)
		out.bykey = obj.bykey
		return out
	case obj.has(kScore):
		return derive(obj)
	}
	return unknown()
}

func findMethod(cd *classDef, name string, prog *program) *funcDef {
	for depth := 0; cd != nil && depth < 8; depth++ {
		if m, ok := cd.methods[name]; ok {
			return m
		}
		var next *classDef
		for _, b := range cd.bases {
			_, bn := splitLast(b)
			for _, c := range prog.classes[bn] {
				next = c
			}
		}
		cd = next
	}
	return nil
}

// estAttr gives fitted attributes: best_estimator_ is the model, other
// learnt attributes carry what the estimator learnt.
func (fl *flow) estAttr(obj *value, attr string, at *node) *value {
	switch attr {
	case "best_estimator_", "estimator", "estimator_", "model", "regressor_", "booster_":
		return obj
	case "best_score_", "cv_results_", "oob_score_", "best_iteration", "best_iteration_", "best_ntree_limit":
		return &value{k: kScore}
	case "named_steps", "steps":
		return obj
	}
	out := &value{k: kData}
	if obj.est.stat != nil {
		out.taint = []*taint{obj.est.stat}
	}
	out.taint = unionTaints(out.taint, obj.est.fitWith)
	return out
}

// stringsOf returns the string literals of a column selector: "a", ["a", "b"].
func stringsOf(n *node) []string {
	n = unparen(n)
	if s, ok := stringValue(n); ok {
		return []string{s}
	}
	if n.is("list", "tuple") {
		var out []string
		for _, c := range n.kids() {
			if s, ok := stringValue(c); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// mention records the columns of v's data sets that the code refers to.
func (fl *flow) mention(v *value, cols []string, at *node) {
	for _, c := range cols {
		if !isEntityCol.match(c) {
			continue
		}
		for _, r := range v.rows {
			root := r.root()
			if root.entity == nil {
				root.entity = map[string]*node{}
			}
			if _, ok := root.entity[c]; !ok {
				root.entity[c] = at
				root.entityList = append(root.entityList, c)
			}
		}
	}
}

func (fl *flow) markTime(v *value, at *node, why string) {
	for _, r := range v.rows {
		root := r.root()
		if root.timeAt == nil {
			root.timeAt, root.timeWhy = at, why
		}
	}
}

func (fl *flow) subscript(n *node, sc *scope) *value {
	base := fl.eval(n.child("value"), sc)
	subs := n.childrenOf("subscript")
	if len(subs) == 0 {
		return derive(base)
	}
	first := subs[0]
	switch {
	case base.has(kDict) && !base.has(kData):
		if s, ok := stringValue(first); ok {
			if v, ok := base.dict[s]; ok {
				return v
			}
		}
		fl.eval(first, sc)
		return elementOfDict(base)
	case base.has(kTuple) && !base.has(kData):
		if i, ok := intValue(first); ok && len(subs) == 1 {
			if i < 0 {
				i += int64(len(base.elems))
			}
			if i >= 0 && i < int64(len(base.elems)) && base.other == nil {
				return base.elems[i]
			}
		}
		if first.kind == "slice" {
			return base
		}
		fl.eval(first, sc)
		return elementOf(base)
	case base.has(kIndices):
		if first.kind == "slice" && base.idx != nil {
			return &value{k: kIndices, idx: &indexVal{op: base.idx.op, part: partSlice, base: base.idx.base}, str: sliceKey(first)}
		}
		return base
	case base.has(kData) || base.k == 0 || base.has(kScore):
		return fl.dataSubscript(n, base, subs, sc)
	}
	for _, s := range subs {
		fl.eval(s, sc)
	}
	return unknown()
}

func elementOfDict(v *value) *value {
	var e *value
	for _, x := range v.dict {
		e = join(e, x)
	}
	e = join(e, v.other)
	if e == nil {
		return unknown()
	}
	return e
}

// sliceKey is "lo:hi" of a slice, bounds as written, or "lo:hi:step" when
// it has a step.
func sliceKey(s *node) string {
	t := s.text()
	depth := 0
	var parts []string
	last := 0
	for i, c := range t {
		switch c {
		case '(', '[', '{':
			depth++
		case ')', ']', '}':
			depth--
		case ':':
			if depth == 0 {
				parts = append(parts, strings.TrimSpace(t[last:i]))
				last = i + 1
			}
		}
	}
	parts = append(parts, strings.TrimSpace(t[last:]))
	switch {
	case len(parts) < 2:
		return t + ":"
	case len(parts) > 2 && parts[2] != "" && parts[2] != "1":
		return parts[0] + ":" + parts[1] + ":" + parts[2]
	}
	return parts[0] + ":" + parts[1]
}

// dataSubscript selects rows or columns of a data value.
func (fl *flow) dataSubscript(n *node, base *value, subs []*node, sc *scope) *value {
	first := subs[0]
	if base.k == 0 {
		base.k = kData
	}
	// Columns: strings, or a variable that holds column names.
	if cols := stringsOf(first); len(cols) > 0 {
		fl.mention(base, cols, n)
		return derive(base)
	}
	if first.kind == "slice" {
		key := sliceKey(first)
		if key == ":" {
			for _, s := range subs[1:] {
				if cols := stringsOf(s); len(cols) > 0 {
					fl.mention(base, cols, n)
				}
			}
			return derive(base)
		}
		out := &value{k: kData, taint: base.taint, trace: base.trace, score: base.score}
		for _, r := range base.rows {
			op := fl.sliceOp(r, n)
			out.rows = append(out.rows, fl.child(r, op, partSlice, key))
		}
		return out
	}
	sel := fl.eval(first, sc)
	for _, s := range subs[1:] {
		fl.eval(s, sc)
	}
	switch {
	case sel.has(kIndices) && sel.idx != nil && sel.idx.op != nil:
		out := &value{k: kData, taint: base.taint, trace: base.trace}
		key := ""
		if sel.idx.part == partSlice {
			key = sel.str
		}
		for _, r := range base.rows {
			c := fl.child(r, sel.idx.op, sel.idx.part, key)
			out.rows = append(out.rows, c)
		}
		fl.checkPartition(out, base, sel.idx.op, n)
		return out
	case isMaskExpr(first) || (sel.has(kData) && sharesRows(sel, base)):
		key := maskKey(first)
		out := &value{k: kData, taint: unionTaints(base.taint, sel.taint), trace: base.trace}
		for _, r := range base.rows {
			op := fl.maskOp(r, n)
			out.rows = append(out.rows, fl.child(r, op, partMask, key))
		}
		return out
	}
	// A list of column names held in a variable, an integer position: the
	// rows stay; whatever chose the columns flows along.
	out := derive(base, sel)
	out.rows = base.rows
	return out
}

func isMaskExpr(n *node) bool {
	n = unparen(n)
	switch n.kind {
	case "comparison_operator", "not_operator":
		return true
	case "unary_operator":
		return n.op() == "~"
	case "binary_operator":
		op := n.op()
		return op == "&" || op == "|"
	case "call":
		t := tailName(n.child("function"))
		return t == "isin" || t == "between" || t == "notna" || t == "isna" || t == "notnull" || t == "isnull"
	}
	return false
}

func maskKey(n *node) string {
	return strings.Join(strings.Fields(unparen(n).text()), " ")
}

func sharesRows(a, b *value) bool {
	for _, x := range a.rows {
		for _, y := range b.rows {
			if x.root() == y.root() {
				return true
			}
		}
	}
	return false
}

func (fl *flow) sliceOp(r *region, at *node) *splitOp { return fl.regionOp(r, at, "slice", "slicing") }

func (fl *flow) maskOp(r *region, at *node) *splitOp {
	return fl.regionOp(r, at, "mask", "a boolean mask")
}

// regionOp is the one slicing (or masking) operation of a region: all
// slices of the same rows are parts of one partition.
func (fl *flow) regionOp(r *region, at *node, kind, what string) *splitOp {
	if op, ok := r.ops[kind]; ok {
		return op
	}
	op := fl.newOp(at, kind, what)
	op.sig = kind
	if r.ops == nil {
		r.ops = map[string]*splitOp{}
	}
	r.ops[kind] = op
	return op
}
