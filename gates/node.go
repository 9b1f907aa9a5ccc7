package gates

import (
	"strconv"
	"strings"

	"github.com/rigor-dev/rigor/spec"
)

// Helpers over the Go mirror of the syntax tree. All accept a nil *node and
// then return the zero value, so chains like n.child("function").text()
// need no checks.

func (n *node) text() string {
	if n == nil {
		return ""
	}
	return string(n.f.text[n.start:n.end])
}

func (n *node) is(kinds ...string) bool {
	if n == nil {
		return false
	}
	for _, k := range kinds {
		if n.kind == k {
			return true
		}
	}
	return false
}

// child returns the first child filling field.
func (n *node) child(field string) *node {
	if n == nil {
		return nil
	}
	for c := n.first; c != nil; c = c.next {
		if c.field() == field {
			return c
		}
	}
	return nil
}

// childrenOf returns every child filling field.
func (n *node) childrenOf(field string) []*node {
	if n == nil {
		return nil
	}
	var out []*node
	for c := n.first; c != nil; c = c.next {
		if c.field() == field {
			out = append(out, c)
		}
	}
	return out
}

// kids returns the kept children; named ones only when named is true
// (operators, which fill fields like "operator", are left out).
func (n *node) kids() []*node {
	if n == nil {
		return nil
	}
	var out []*node
	for c := n.first; c != nil; c = c.next {
		if !isOperatorField(c.field()) {
			out = append(out, c)
		}
	}
	return out
}

func isOperatorField(f string) bool { return f == "operator" || f == "operators" }

// firstKid returns the first non-operator child.
func (n *node) firstKid() *node {
	if n == nil {
		return nil
	}
	for c := n.first; c != nil; c = c.next {
		if !isOperatorField(c.field()) {
			return c
		}
	}
	return nil
}

// op returns the text of the operator child (binary, unary, boolean,
// augmented assignment).
func (n *node) op() string { return n.child("operator").text() }

// unparen strips parentheses.
func unparen(n *node) *node {
	for n != nil && n.kind == "parenthesized_expression" {
		n = n.firstKid()
	}
	return n
}

func (n *node) line() int {
	if n == nil {
		return 0
	}
	l, _ := n.f.lineCol(n.start)
	return l
}

// loc is where n starts, as a finding location.
func (n *node) loc() spec.Loc {
	l, c := n.f.lineCol(n.start)
	return spec.Loc{Path: n.f.src.Path, Cell: n.f.src.Cell, Line: l, Col: c}
}

// walk calls fn for n and its descendants in pre-order; fn returns false to
// skip a node's children.
func walk(n *node, fn func(*node) bool) {
	if n == nil || !fn(n) {
		return
	}
	for c := n.first; c != nil; c = c.next {
		walk(c, fn)
	}
}

// enclosing returns the nearest ancestor of one of kinds.
func (n *node) enclosing(kinds ...string) *node {
	for p := n.parent; p != nil; p = p.parent {
		if p.is(kinds...) {
			return p
		}
	}
	return nil
}

// dotted returns the dotted name of an identifier/attribute chain
// ("torch.backends.cudnn.deterministic"), or "" for anything else. A chain
// through a call or subscript is cut there and marked: a.b().c gives "".
func dotted(n *node) string {
	n = unparen(n)
	switch {
	case n == nil:
		return ""
	case n.kind == "identifier":
		return n.text()
	case n.kind == "attribute":
		base := dotted(n.child("object"))
		if base == "" {
			return ""
		}
		return base + "." + n.child("attribute").text()
	}
	return ""
}

// tailName is the last name of a call's function: "fit" for
// "scaler.fit", "StandardScaler" for "StandardScaler", and for a chain
// through calls ("KFold(5).split") still "split".
func tailName(fn *node) string {
	fn = unparen(fn)
	switch {
	case fn == nil:
		return ""
	case fn.kind == "identifier":
		return fn.text()
	case fn.kind == "attribute":
		return fn.child("attribute").text()
	}
	return ""
}

// args splits a call's argument list into positional arguments and keyword
// arguments (by name). Splats are positional with kind list_splat or
// dictionary_splat.
func callArgs(call *node) (pos []*node, kw map[string]*node) {
	al := call.child("arguments")
	for _, a := range al.kids() {
		if a.kind == "keyword_argument" {
			if kw == nil {
				kw = map[string]*node{}
			}
			kw[a.child("name").text()] = a.child("value")
			continue
		}
		if a.kind == "comment" {
			continue
		}
		pos = append(pos, a)
	}
	if al.is("generator_expression") {
		pos = append(pos, al)
	}
	return pos, kw
}

// arg returns the i-th positional argument or the keyword argument name.
func arg(call *node, i int, name string) *node {
	pos, kw := callArgs(call)
	if v, ok := kw[name]; ok && name != "" {
		return v
	}
	if i >= 0 && i < len(pos) && pos[i].kind != "list_splat" && pos[i].kind != "dictionary_splat" {
		return pos[i]
	}
	return nil
}

// stringValue returns the value of a string literal or an implicit
// concatenation of literals. ok is false for f-strings with interpolations
// and for anything that is not a string literal.
func stringValue(n *node) (string, bool) {
	n = unparen(n)
	switch {
	case n == nil:
		return "", false
	case n.kind == "concatenated_string":
		var b strings.Builder
		for _, c := range n.kids() {
			s, ok := stringValue(c)
			if !ok {
				return "", false
			}
			b.WriteString(s)
		}
		return b.String(), true
	case n.kind != "string":
		return "", false
	}
	var b strings.Builder
	raw := false
	for c := n.first; c != nil; c = c.next {
		switch c.kind {
		case "interpolation":
			return "", false
		case "string_start":
			raw = strings.ContainsAny(c.text(), "rR")
		case "string_content":
			if raw || !strings.Contains(c.text(), `\`) {
				b.WriteString(c.text())
			} else {
				b.WriteString(unescape(c.text()))
			}
		}
	}
	return b.String(), true
}

// unescape interprets the backslash escapes Python and Go share; text it
// cannot interpret is kept as written.
func unescape(s string) string {
	if u, err := strconv.Unquote(`"` + strings.ReplaceAll(s, `"`, `\"`) + `"`); err == nil {
		return u
	}
	return s
}

// isTrue, isFalse and isNone test literal keywords.
func isTrue(n *node) bool  { n = unparen(n); return n != nil && n.kind == "true" }
func isFalse(n *node) bool { n = unparen(n); return n != nil && n.kind == "false" }
func isNone(n *node) bool  { n = unparen(n); return n != nil && n.kind == "none" }

// isLiteral reports whether n is a constant: a number, string, True, False
// or None, or a negated number.
func isLiteral(n *node) bool {
	n = unparen(n)
	switch {
	case n == nil:
		return false
	case n.is("integer", "float", "true", "false", "none", "string", "concatenated_string"):
		if n.kind == "string" {
			_, ok := stringValue(n)
			return ok
		}
		return true
	case n.kind == "unary_operator":
		return n.child("argument").is("integer", "float")
	}
	return false
}

// intValue returns the value of an integer literal.
func intValue(n *node) (int64, bool) {
	n = unparen(n)
	if n == nil {
		return 0, false
	}
	if n.kind == "unary_operator" && n.op() == "-" {
		v, ok := intValue(n.child("argument"))
		return -v, ok
	}
	if n.kind != "integer" {
		return 0, false
	}
	v, err := strconv.ParseInt(strings.ReplaceAll(n.text(), "_", ""), 0, 64)
	return v, err == nil
}

// floatValue returns the value of a numeric literal.
func floatValue(n *node) (float64, bool) {
	n = unparen(n)
	if n == nil {
		return 0, false
	}
	if n.kind == "unary_operator" && n.op() == "-" {
		v, ok := floatValue(n.child("argument"))
		return -v, ok
	}
	if n.kind != "float" && n.kind != "integer" {
		return 0, false
	}
	v, err := strconv.ParseFloat(strings.ReplaceAll(n.text(), "_", ""), 64)
	return v, err == nil
}

// body returns the statements of a block-bearing node's field.
func stmts(block *node) []*node {
	if block == nil {
		return nil
	}
	if block.kind != "block" && block.kind != "module" {
		return []*node{block}
	}
	return block.kids()
}
