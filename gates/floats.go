package gates

import (
	"regexp"
	"strings"
	"sync"

	"github.com/rigor-dev/rigor/spec"
)

// floatScopes remembers, per function (nil: module), the names that were
// only ever assigned float-valued expressions so far in the walk.
type floatScopes struct {
	names map[*node]map[string]bool
}

func newFloatScopes() *floatScopes { return &floatScopes{names: map[*node]map[string]bool{}} }

func (s *floatScopes) scope(n *node) map[string]bool {
	fn := n.enclosing("function_definition", "lambda")
	m := s.names[fn]
	if m == nil {
		m = map[string]bool{}
		s.names[fn] = m
	}
	return m
}

func (s *floatScopes) assign(left, right *node, im *importTable) {
	if left == nil || left.kind != "identifier" {
		return
	}
	m := s.scope(left)
	if right != nil && isFloatExpr(right, m, im) {
		m[left.text()] = true
	} else {
		delete(m, left.text())
	}
}

// assignFor marks a loop variable that runs over a literal list of floats.
func (s *floatScopes) assignFor(left, right *node) {
	right = unparen(right)
	if left == nil || left.kind != "identifier" || !right.is("list", "tuple", "set") {
		return
	}
	ks := right.kids()
	for _, k := range ks {
		if !isFloatExpr(k, nil, nil) {
			return
		}
	}
	if len(ks) > 0 {
		s.scope(left)[left.text()] = true
	}
}

// floatFuncs are functions and methods (by last name) that return floats.
var floatFuncs = map[string]bool{
	"float": true, "sqrt": true, "exp": true, "log": true, "log2": true, "log10": true, "log1p": true, "expm1": true,
	"sin": true, "cos": true, "tan": true, "tanh": true, "sigmoid": true, "hypot": true, "fsum": true, "pow": true,
	"mean": true, "nanmean": true, "std": true, "nanstd": true, "var": true, "nanvar": true, "median": true,
	"nanmedian": true, "average": true, "float16": true, "float32": true, "float64": true, "float_": true,
	"fmean": true, "pstdev": true, "stdev": true, "pvariance": true, "variance": true, "harmonic_mean": true,
	"geometric_mean": true, "norm": true, "dist": true, "erf": true, "gamma": true, "lgamma": true,
	"log_loss": true, "corrcoef": true, "pearsonr": true, "spearmanr": true,
}

// intFuncs of math return ints even though they live next to float ones.
var intFuncs = map[string]bool{"floor": true, "ceil": true, "trunc": true, "comb": true, "perm": true,
	"factorial": true, "gcd": true, "lcm": true, "isqrt": true}

var floatConsts = map[string]bool{"math.pi": true, "math.e": true, "math.tau": true, "math.inf": true, "math.nan": true,
	"numpy.pi": true, "numpy.e": true, "numpy.inf": true, "numpy.nan": true, "numpy.NaN": true, "numpy.NAN": true,
	"numpy.Inf": true, "numpy.euler_gamma": true, "torch.pi": true, "torch.inf": true, "torch.nan": true}

// isFloatExpr reports whether n certainly has a float value: a float
// literal, possibly negated; true division; arithmetic with a float operand;
// float-returning functions, metrics (*_score, *_error, *_loss) and
// statistics; math/numpy constants; and names only ever assigned such values.
func isFloatExpr(n *node, names map[string]bool, im *importTable) bool {
	n = unparen(n)
	if n == nil {
		return false
	}
	switch n.kind {
	case "float":
		return true
	case "unary_operator":
		return n.op() != "~" && isFloatExpr(n.child("argument"), names, im)
	case "binary_operator":
		switch n.op() {
		case "/":
			l, r := unparen(n.child("left")), unparen(n.child("right"))
			return !l.is("string") && !r.is("string")
		case "+", "-", "*", "%", "**":
			return isFloatExpr(n.child("left"), names, im) || isFloatExpr(n.child("right"), names, im)
		}
	case "identifier":
		return names[n.text()]
	case "attribute":
		return floatConsts[im.canon(dotted(n))]
	case "call":
		fn := unparen(n.child("function"))
		tail := tailName(fn)
		canon := im.canon(dotted(fn))
		if canon == "float" && isNaNLiteral(n) {
			return true
		}
		if intFuncs[tail] {
			return false
		}
		if floatFuncs[tail] {
			return true
		}
		if strings.HasSuffix(tail, "_score") || strings.HasSuffix(tail, "_error") || strings.HasSuffix(tail, "_loss") {
			return true
		}
		if hasPrefixModule(canon, "math") && canon != "math.isclose" && !strings.HasPrefix(tail, "is") {
			return true
		}
	case "conditional_expression":
		ks := n.kids()
		return len(ks) == 3 && (isFloatExpr(ks[0], names, im) || isFloatExpr(ks[2], names, im))
	}
	return false
}

// isNaN reports whether n is NaN: math.nan, np.nan, float("nan").
func isNaN(n *node, im *importTable) bool {
	n = unparen(n)
	switch n.kind {
	case "attribute":
		c := im.canon(dotted(n))
		return c == "math.nan" || c == "numpy.nan" || c == "numpy.NaN" || c == "numpy.NAN" || c == "torch.nan"
	case "call":
		return im.canon(dotted(n.child("function"))) == "float" && isNaNLiteral(n)
	}
	return false
}

func isNaNLiteral(call *node) bool {
	s, ok := stringValue(arg(call, 0, ""))
	return ok && strings.EqualFold(strings.TrimSpace(s), "nan")
}

// floatEq flags == and != with a float-valued operand (FLOAT-EQ), negative
// literals and float expressions included; comparing with NaN is called out.
func (r *reviewer) floatEq(n *node) {
	var operands []*node
	var ops []string
	for c := n.first; c != nil; c = c.next {
		if c.field() == "operators" {
			ops = append(ops, c.text())
		} else {
			operands = append(operands, c)
		}
	}
	if len(operands) != len(ops)+1 {
		return
	}
	names := r.floats.scope(n)
	for i, op := range ops {
		if op != "==" && op != "!=" {
			continue
		}
		a, b := operands[i], operands[i+1]
		if isNaN(a, r.u.imports) || isNaN(b, r.u.imports) {
			r.add(ClassFloatEq, spec.SeverityMajor, n, "comparison with NaN with "+op+" is always "+map[string]string{"==": "False", "!=": "True"}[op],
				"test with math.isnan(x), np.isnan(x) or pd.isna(x)")
			return
		}
		if isFloatExpr(a, names, r.u.imports) || isFloatExpr(b, names, r.u.imports) {
			r.add(ClassFloatEq, spec.SeverityMajor, n, "float compared with "+op+": rounding makes exact equality fragile",
				"compare with a tolerance: math.isclose(a, b, rel_tol=1e-9), np.isclose or np.testing.assert_allclose, pytest.approx in tests")
			return
		}
	}
}

// metricLikeRe matches names of metrics, scores, losses and predictions.
var metricLikeRe = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`(?i)(^|_)(preds?|predictions?|probs?|probas?|probabilities|scores?|metrics?|loss(es)?|acc|accuracy|auc|roc_auc|f1|logits?|outputs?|y_hat|yhat|rmse|mse|mae|r2|precision|recall|results?|eval)($|_)`)
})

// metricLike reports whether an expression is about metrics or
// predictions: a name, attribute or string key that says so, or a call to
// predict* or to a metric function.
func metricLike(n *node) bool {
	found := false
	walk(n, func(c *node) bool {
		if found {
			return false
		}
		switch c.kind {
		case "identifier":
			if metricLikeRe().MatchString(c.text()) {
				found = true
			}
		case "string":
			if s, ok := stringValue(c); ok && metricLikeRe().MatchString(s) {
				found = true
			}
		case "call":
			t := tailName(c.child("function"))
			if strings.HasPrefix(t, "predict") || strings.HasSuffix(t, "_score") || strings.HasSuffix(t, "_error") {
				found = true
			}
		}
		return true
	})
	return found
}

// nanCall flags calls that make NaN or Inf disappear.
func (r *reviewer) nanCall(n, fn *node, canon string, kw map[string]*node) {
	tail := tailName(fn)
	switch {
	case tail == "nan_to_num":
		target := arg(n, 0, "x")
		if target == nil && fn.kind == "attribute" {
			target = fn.child("object")
		}
		if target != nil && metricLike(target) {
			r.add(ClassNaNSwallow, spec.SeverityMajor, n, "nan_to_num on metrics or predictions turns failures into plausible numbers",
				"find where NaN/Inf come from; fail the run, or report how many values were invalid")
		}
	case tail == "fillna" && fn.kind == "attribute":
		v := arg(n, 0, "value")
		if v != nil && isLiteral(v) && metricLike(fn.child("object")) {
			r.add(ClassNaNSwallow, spec.SeverityMajor, n, "fillna("+v.text()+") on metrics or predictions hides failed cases",
				"keep NaN and report the failures (count them), or drop the failed cases explicitly")
		}
	case canon == "numpy.seterr":
		for _, k := range []string{"all", "invalid", "divide", "over"} {
			if s, ok := stringValue(kw[k]); ok && s == "ignore" {
				r.add(ClassNaNSwallow, spec.SeverityMajor, n, "np.seterr("+k+"='ignore') silences invalid and overflowing floating-point operations",
					"leave the defaults (warn) or use np.seterr(all='raise') while developing; scope any exception with np.errstate")
				return
			}
		}
	case canon == "warnings.filterwarnings" || canon == "warnings.simplefilter":
		if s, ok := stringValue(arg(n, 0, "action")); ok && s == "ignore" {
			if c := kw["category"]; c != nil && tailName(c) == "RuntimeWarning" && kw["message"] == nil && arg(n, 1, "message") == nil {
				r.add(ClassNaNSwallow, spec.SeverityMajor, n, "RuntimeWarnings are silenced, so NaN/Inf from invalid values go unnoticed",
					"filter only a specific message, or scope it with warnings.catch_warnings() around a known-safe call")
			}
		}
	}
}
