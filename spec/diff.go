package spec

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"sync"
)

// Change kinds of a structured diff.
const (
	ChangeAdded   = "added"   // only in the second
	ChangeRemoved = "removed" // only in the first
	ChangeChanged = "changed" // in both, different
)

// Change is one difference found by a structured diff: at a JSON path, a
// file path, a package name or an input.
type Change struct {
	// Where locates the difference: a JSON path ("$.optimizer.lr"), a file
	// path, a package name.
	Where string `json:"where"`
	// Kind is [ChangeAdded], [ChangeRemoved] or [ChangeChanged].
	Kind string `json:"change"`
	// First and Second are the values on each side, as compact JSON for
	// JSON values, else as text; empty on the side that lacks it.
	First  string `json:"first,omitempty"`
	Second string `json:"second,omitempty"`
}

var plainKey = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]*$`) })

// JSONPathKey appends an object key to a JSON path: ".key" for a plain
// key, `["key"]` (JSON-quoted) for any other.
func JSONPathKey(p, key string) string {
	if plainKey().MatchString(key) {
		return p + "." + key
	}
	q, _ := json.Marshal(key)
	return p + "[" + string(q) + "]"
}

// DiffJSON compares two decoded JSON values (as [ParseJSON] or
// encoding/json with UseNumber produce them) and returns every difference
// by JSON path, rooted at "$", in path order: objects key by key (sorted),
// arrays index by index (an element past the other's end is added or
// removed), anything else by value. Numbers compare by their exact text
// after canonicalisation, so 1.0 and 1 are equal.
func DiffJSON(a, b any) []Change {
	var out []Change
	diffJSON("$", a, b, &out)
	return out
}

func diffJSON(p string, a, b any, out *[]Change) {
	switch x := a.(type) {
	case map[string]any:
		if y, ok := b.(map[string]any); ok {
			keys := make([]string, 0, len(x)+len(y))
			for k := range x {
				keys = append(keys, k)
			}
			for k := range y {
				if _, ok := x[k]; !ok {
					keys = append(keys, k)
				}
			}
			slices.Sort(keys)
			for _, k := range keys {
				va, inA := x[k]
				vb, inB := y[k]
				kp := JSONPathKey(p, k)
				switch {
				case !inB:
					*out = append(*out, Change{Where: kp, Kind: ChangeRemoved, First: compactJSON(va)})
				case !inA:
					*out = append(*out, Change{Where: kp, Kind: ChangeAdded, Second: compactJSON(vb)})
				default:
					diffJSON(kp, va, vb, out)
				}
			}
			return
		}
	case []any:
		if y, ok := b.([]any); ok {
			for i := 0; i < max(len(x), len(y)); i++ {
				ip := p + "[" + strconv.Itoa(i) + "]"
				switch {
				case i >= len(y):
					*out = append(*out, Change{Where: ip, Kind: ChangeRemoved, First: compactJSON(x[i])})
				case i >= len(x):
					*out = append(*out, Change{Where: ip, Kind: ChangeAdded, Second: compactJSON(y[i])})
				default:
					diffJSON(ip, x[i], y[i], out)
				}
			}
			return
		}
	}
	ca, cb := compactJSON(a), compactJSON(b)
	if ca != cb {
		*out = append(*out, Change{Where: p, Kind: ChangeChanged, First: ca, Second: cb})
	}
}

// compactJSON renders a decoded JSON value canonically.
func compactJSON(v any) string {
	b, err := Canonical(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}
