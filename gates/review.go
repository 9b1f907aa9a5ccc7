package gates

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"sync"

	"github.com/rigor-dev/rigor/spec"
)

// Review classes (spec §3.2) and the two rigor adds. Printed and persisted:
// do not rename.
const (
	ClassSecret      = "HARDCODED-SECRET"
	ClassEvalExec    = "EVAL-EXEC"
	ClassOSSystem    = "OS-SYSTEM"
	ClassShellTrue   = "SHELL-TRUE"
	ClassSQLConcat   = "SQL-CONCAT"
	ClassBareExcept  = "BARE-EXCEPT"
	ClassFloatEq     = "FLOAT-EQ"
	ClassLeakage     = "DATA-LEAKAGE"
	ClassSyntaxError = "SYNTAX-ERROR"
	ClassReadError   = "READ-ERROR"
	// ClassNaNSwallow: NaN or Inf made to disappear (nan_to_num or fillna(0)
	// on metrics or predictions, np.seterr(all="ignore"), an ignored
	// FloatingPointError, RuntimeWarnings filtered away).
	ClassNaNSwallow = "NAN-SWALLOW"
)

// reviewOrder is the gate order of a review report.
var reviewOrder = []string{ClassSecret, ClassEvalExec, ClassOSSystem, ClassShellTrue, ClassSQLConcat, ClassLeakage,
	ClassBareExcept, ClassFloatEq, ClassNaNSwallow, ClassSyntaxError, ClassReadError}

// Review runs the delivery-time scan of review_gate (spec §3.2) with rigor's
// analyses behind each class: the review classes, FLOAT-EQ on any
// float-valued operand, NAN-SWALLOW, and DATA-LEAKAGE from the data-flow
// analysis of [Leakage]. Critical classes (secrets, eval/exec, os.system,
// shell=True, SQL built by string operations, leakage of kinds 1-3) make
// their gate fail/critical and the verdict fail; the others warn.
//
// Unlike review_gate, which makes one gate per issue, the report has one
// gate per class, named after the class, holding all its findings; with no
// findings it is the single gate "review_gate", pass/info. The verdict is
// the same either way. A line with the comment "# rigor: ignore" or
// "# rigor: ignore[CLASS]" drops findings of that line.
//
// Review returns an error only when ctx is done or the parser fails.
func Review(ctx context.Context, srcs []Source, opts Options) (*Result, error) {
	prog, err := load(ctx, srcs, opts.Concurrency)
	if err != nil {
		return nil, err
	}
	fs, err := forUnits(ctx, prog, opts.Concurrency, func(_ int, u *unit) []finding {
		out := unitProblems(u)
		if u.readErr != nil {
			return out
		}
		for _, f := range u.files {
			out = append(out, reviewFile(u, f)...)
		}
		for _, l := range analyseLeakage(ctx, prog, u) {
			out = append(out, l)
		}
		return out
	})
	if err != nil {
		return nil, err
	}
	crit, other := countSeverity(fs)
	summary := fmt.Sprintf("review: %s, %s (%d critical, %d other)", plural(len(prog.units), "file", "files"),
		plural(len(fs), "problem", "problems"), crit, other)
	gateOf := func(f finding) string { return f.class }
	ruleOf := func(f finding) string {
		if f.rule != "" {
			return f.rule
		}
		return f.class
	}
	return finish(opts, len(prog.units), fs, gateOf, ruleOf, reviewOrder, nil,
		spec.Gate{Gate: "review_gate", Status: spec.GatePass, Severity: spec.SeverityInfo}, summary), nil
}

// reviewFile applies the per-node review rules to one file.
func reviewFile(u *unit, f *file) []finding {
	r := &reviewer{u: u, f: f, floats: newFloatScopes()}
	r.sqlSinks = sqlSinkNames(f)
	walk(f.root, r.visit)
	return r.out
}

type reviewer struct {
	u        *unit
	f        *file
	out      []finding
	sqlSinks map[string]bool
	floats   *floatScopes
}

func (r *reviewer) add(class string, sev spec.Severity, at *node, issue, fix string) {
	r.out = append(r.out, finding{class: class, severity: sev, at: at, issue: issue, fix: fix})
}

func (r *reviewer) visit(n *node) bool {
	switch n.kind {
	case "for_statement":
		r.floats.assignFor(n.child("left"), n.child("right"))
	case "assignment":
		r.assignment(n)
	case "call":
		r.call(n)
	case "except_clause":
		r.except(n)
	case "comparison_operator":
		r.floatEq(n)
	case "dictionary":
		r.dictSecrets(n)
	case "binary_operator", "string":
		r.sqlBuild(n)
	}
	return true
}

// ---- HARDCODED-SECRET ----

var secretNameRe = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`(?i)password|passwd|secret|token|api[_-]?key|access[_-]?key|private[_-]?key|aws_secret`)
})

// secretNameExcludes are name parts that make a secret-looking name refer to
// something else: a tokenizer, a URL, a file, the name of a variable.
var secretNameExcludeRe = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`(?i)tokeniz|tokens\b|_(url|uri|path|file|dir|endpoint|env|var|header|type|len|length|field|name|prefix|id_key)$|^(num|n|max|min)_tokens?|token_(count|ids|type|len|length)`)
})

func isSecretName(name string) bool {
	l := strings.ToLower(name)
	if !strings.Contains(l, "pass") && !strings.Contains(l, "secret") && !strings.Contains(l, "token") &&
		!strings.Contains(l, "key") {
		return false // the cheap test first: most names are not about secrets
	}
	return secretNameRe().MatchString(name) && !secretNameExcludeRe().MatchString(name)
}

var (
	awsKeyRe      = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`AKIA[A-Z0-9]{16}`) })
	pemRe         = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`-----BEGIN [A-Z ]*PRIVATE KEY-----`) })
	placeholderRe = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`(?i)^(|x+|\.+|<.*>|\{\{.*\}\}|your[-_].*|changeme|todo|none|null|example|\*+)$`)
	})
	envNameRe = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Z][A-Z0-9]*(_[A-Z0-9]+)+$`) })
)

// looksSecret applies §3.2's secret-looking rule, plus: a value with
// whitespace (a sentence), a URL without credentials or the name of an
// environment variable ("HF_TOKEN") is not a secret.
func looksSecret(v string) bool {
	v = strings.TrimSpace(v)
	if awsKeyRe().MatchString(v) || pemRe().MatchString(v) {
		return true
	}
	if len(v) < 6 || placeholderRe().MatchString(v) || strings.HasPrefix(v, "$") ||
		strings.Contains(v, "os.environ") || strings.Contains(v, "getenv") {
		return false
	}
	if strings.ContainsAny(v, " \t\n") || envNameRe().MatchString(v) {
		return false
	}
	if strings.Contains(v, "://") && !strings.Contains(v, "@") {
		return false
	}
	return true
}

func (r *reviewer) assignment(n *node) {
	left := n.child("left")
	right := n.child("right")
	for right != nil && right.kind == "assignment" { // a = b = "..."
		right = right.child("right")
	}
	if v, ok := stringValue(right); ok && looksSecret(v) {
		name := ""
		switch left.kind {
		case "identifier":
			name = left.text()
		case "attribute":
			name = left.child("attribute").text()
		}
		if name != "" && isSecretName(name) {
			r.add(ClassSecret, spec.SeverityCritical, n, fmt.Sprintf("%s is assigned a hard-coded secret", name),
				"read it from the environment or a secret store (os.environ[\""+strings.ToUpper(name)+"\"]) and rotate the exposed value")
		}
	}
	r.floats.assign(left, right, r.u.imports)
}

func (r *reviewer) dictSecrets(n *node) {
	for _, p := range n.kids() {
		if p.kind != "pair" {
			continue
		}
		k, ok := stringValue(p.child("key"))
		if !ok || !isSecretName(k) {
			continue
		}
		if v, ok := stringValue(p.child("value")); ok && looksSecret(v) {
			r.add(ClassSecret, spec.SeverityCritical, p, fmt.Sprintf("dictionary key %q holds a hard-coded secret", k),
				"read it from the environment or a secret store and rotate the exposed value")
		}
	}
}

// ---- calls: secrets in keywords, eval/exec, os.system, shell=True, NaN ----

func (r *reviewer) call(n *node) {
	fn := unparen(n.child("function"))
	_, kw := callArgs(n)
	for name, v := range kw {
		if isSecretName(name) {
			if s, ok := stringValue(v); ok && looksSecret(s) {
				r.add(ClassSecret, spec.SeverityCritical, v.parent, fmt.Sprintf("keyword argument %s= is a hard-coded secret", name),
					"pass it from the environment or a secret store and rotate the exposed value")
			}
		}
	}
	canon := ""
	switch tailName(fn) {
	case "eval", "exec", "system", "popen", "seterr", "filterwarnings", "simplefilter":
		canon = r.u.imports.canon(dotted(fn))
	}
	switch {
	case fn.is("identifier") && (fn.text() == "eval" || fn.text() == "exec") && !r.u.imports.imported(fn.text()) && !r.locallyDefined(fn.text()):
		r.add(ClassEvalExec, spec.SeverityCritical, n, fn.text()+"() runs arbitrary code from a string",
			"parse data with ast.literal_eval or json, and call functions directly instead of building code")
	case canon == "builtins.eval" || canon == "builtins.exec":
		r.add(ClassEvalExec, spec.SeverityCritical, n, tailName(fn)+"() runs arbitrary code from a string",
			"parse data with ast.literal_eval or json, and call functions directly instead of building code")
	case canon == "os.system" || canon == "os.popen":
		r.add(ClassOSSystem, spec.SeverityCritical, n, canon+"() runs a command through the shell",
			"use subprocess.run([...], check=True) with an argument list")
	}
	if v, ok := kw["shell"]; ok && isTrue(v) {
		r.add(ClassShellTrue, spec.SeverityCritical, v.parent, "shell=True hands the command to the shell, open to injection",
			"pass an argument list and leave shell=False")
	}
	r.nanCall(n, fn, canon, kw)
	r.sqlBuild(n)
}

func (r *reviewer) locallyDefined(name string) bool {
	_, ok := r.u.defs.topFuncs[name]
	return ok
}

// ---- BARE-EXCEPT and ignored floating-point errors ----

func (r *reviewer) except(n *node) {
	v := n.child("value")
	if v == nil {
		r.add(ClassBareExcept, spec.SeverityMajor, n, "bare except: catches everything, KeyboardInterrupt and SystemExit included, and hides bugs",
			"catch the exceptions you expect (except ValueError:) and re-raise or log the rest")
		return
	}
	if !swallows(n) {
		return
	}
	types := v
	if types.kind == "as_pattern" {
		types = types.firstKid()
	}
	names := []*node{types}
	if types.is("tuple", "parenthesized_expression") {
		names = unparen(types).kids()
		if unparen(types).kind == "tuple" {
			names = unparen(types).kids()
		}
	}
	for _, t := range names {
		switch tailName(t) {
		case "FloatingPointError", "ArithmeticError":
			r.out = append(r.out, finding{class: ClassNaNSwallow, severity: spec.SeverityMajor, at: n,
				issue: "except " + tailName(t) + " with an empty handler swallows NaN/Inf from the computation",
				fix:   "let the error surface, or record the failed case and report it"})
			return
		}
	}
}

// swallows reports whether an except clause's body only passes, continues or
// returns nothing.
func swallows(clause *node) bool {
	var body *node
	for c := clause.first; c != nil; c = c.next {
		if c.kind == "block" {
			body = c
		}
	}
	ss := stmts(body)
	if len(ss) == 0 {
		return true
	}
	for _, s := range ss {
		switch {
		case s.kind == "pass_statement", s.kind == "continue_statement":
		case s.kind == "return_statement" && (s.firstKid() == nil || isNone(s.firstKid())):
		case s.kind == "expression_statement" && s.firstKid().is("ellipsis", "string"):
		default:
			return false
		}
	}
	return true
}

// ---- SQL-CONCAT ----

// mayBeSQL is the cheap test before sqlKeywordRe.
func mayBeSQL(s string) bool {
	l := strings.ToLower(s)
	for _, k := range []string{"select", "insert", "update", "delete", "drop", "where"} {
		if strings.Contains(l, k) {
			return true
		}
	}
	return false
}

var sqlKeywordRe = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`(?i)\b(SELECT|INSERT|UPDATE|DELETE|DROP|WHERE)\b`) })

// sqlCallRe names the calls whose first argument is SQL.
var sqlCallRe = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^(execute|executemany|executescript|mogrify|read_sql|read_sql_query|raw|query|text|sql)$`)
})

var sqlVarRe = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`(?i)sql|query|stmt|statement`) })

// sqlSinkNames returns the names passed as SQL to an execute-like call.
func sqlSinkNames(f *file) map[string]bool {
	sinks := map[string]bool{}
	walk(f.root, func(n *node) bool {
		if n.kind == "call" && sqlCallRe().MatchString(tailName(n.child("function"))) {
			if a := arg(n, 0, "sql"); a != nil && a.kind == "identifier" {
				sinks[a.text()] = true
			}
		}
		return true
	})
	return sinks
}

// sqlBuild flags SQL text built with +, %, .format() or an f-string that is
// passed to an execute-like call, directly or through a variable, or
// assigned to a variable named like SQL. Parameterised queries are fine.
func (r *reviewer) sqlBuild(n *node) {
	if !builtSQL(n) {
		return
	}
	// Only the outermost building expression reports.
	for p := n.parent; p != nil && p.is("binary_operator", "parenthesized_expression"); p = p.parent {
		if builtSQL(p) {
			return
		}
	}
	use := n
	for use.parent != nil && use.parent.is("parenthesized_expression", "binary_operator") {
		use = use.parent
	}
	sink := false
	p := use.parent
	switch {
	case p != nil && p.kind == "argument_list" && sqlCallRe().MatchString(tailName(p.parent.child("function"))):
		sink = true
	case p != nil && p.kind == "keyword_argument" && sqlVarRe().MatchString(p.child("name").text()):
		sink = true
	case p != nil && p.kind == "assignment" && p.child("right") == use:
		name := p.child("left").text()
		sink = r.sqlSinks[name] || sqlVarRe().MatchString(name)
	}
	if sink {
		r.add(ClassSQLConcat, spec.SeverityCritical, n, "SQL built by string operations, open to injection",
			"use a parameterised query: cursor.execute(\"... WHERE id = ?\", (value,))")
	}
}

// builtSQL reports whether n builds text that contains an SQL keyword out of
// values: "..." + x, "..." % x, "...".format(x), f"...{x}".
func builtSQL(n *node) bool {
	switch n.kind {
	case "binary_operator":
		if op := n.op(); op != "+" && op != "%" {
			return false
		}
		return sqlLiteralIn(n.child("left")) || sqlLiteralIn(n.child("right"))
	case "string":
		for c := n.first; c != nil; c = c.next {
			if c.kind == "interpolation" {
				return mayBeSQL(n.text()) && sqlKeywordRe().MatchString(n.text())
			}
		}
	case "call":
		fn := n.child("function")
		if fn.is("attribute") && fn.child("attribute").text() == "format" {
			s, ok := stringValue(fn.child("object"))
			return ok && mayBeSQL(s) && sqlKeywordRe().MatchString(s)
		}
	}
	return false
}

func sqlLiteralIn(n *node) bool {
	n = unparen(n)
	if s, ok := stringValue(n); ok {
		return mayBeSQL(s) && sqlKeywordRe().MatchString(s)
	}
	if n.is("binary_operator") {
		return sqlLiteralIn(n.child("left")) || sqlLiteralIn(n.child("right"))
	}
	return false
}
