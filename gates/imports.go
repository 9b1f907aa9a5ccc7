package gates

import (
	"path"
	"strings"
)

// importTable maps the names a program binds by import to what they stand
// for, so that "np.random.seed", "numpy.random.seed" and a bare "seed" from
// "from numpy.random import seed" are all "numpy.random.seed".
type importTable struct {
	alias   map[string]string // local name -> canonical dotted name
	modules []importedModule  // every import, in source order
}

type importedModule struct {
	module string // canonical dotted module ("numpy", "torch.utils.data")
	name   string // imported name for "from m import name", else ""
	at     *node
}

// collectImports reads every import statement of the files, wherever it is
// (imports inside functions count too).
func collectImports(files []*file) *importTable {
	t := &importTable{alias: map[string]string{}}
	for _, f := range files {
		walk(f.root, func(n *node) bool {
			switch n.kind {
			case "import_statement":
				for _, c := range n.childrenOf("name") {
					switch c.kind {
					case "dotted_name":
						mod := c.text()
						top, _, _ := strings.Cut(mod, ".")
						t.alias[top] = top
						t.modules = append(t.modules, importedModule{module: mod, at: n})
					case "aliased_import":
						mod := c.child("name").text()
						t.alias[c.child("alias").text()] = mod
						t.modules = append(t.modules, importedModule{module: mod, at: n})
					}
				}
				return false
			case "import_from_statement":
				mod := n.child("module_name").text()
				for _, c := range n.childrenOf("name") {
					switch c.kind {
					case "dotted_name":
						name := c.text()
						t.alias[name] = joinDotted(mod, name)
						t.modules = append(t.modules, importedModule{module: mod, name: name, at: n})
					case "aliased_import":
						name := c.child("name").text()
						t.alias[c.child("alias").text()] = joinDotted(mod, name)
						t.modules = append(t.modules, importedModule{module: mod, name: name, at: n})
					}
				}
				if n.child("name") == nil { // from m import *
					t.modules = append(t.modules, importedModule{module: mod, name: "*", at: n})
				}
				return false
			case "future_import_statement":
				return false
			}
			return true
		})
	}
	return t
}

func joinDotted(mod, name string) string {
	if strings.HasSuffix(mod, ".") {
		return mod + name
	}
	return mod + "." + name
}

// canon resolves the first component of a dotted name through the import
// aliases. A name whose first component was not imported is returned as is.
func (t *importTable) canon(d string) string {
	if d == "" || t == nil {
		return d
	}
	top, rest, hasRest := strings.Cut(d, ".")
	full, ok := t.alias[top]
	if !ok {
		return d
	}
	if hasRest {
		return full + "." + rest
	}
	return full
}

// imported reports whether local name top is bound by an import.
func (t *importTable) imported(top string) bool {
	_, ok := t.alias[top]
	return ok
}

// moduleStem is the Python module name a file path gives ("src/utils.py"
// -> "utils"), used to resolve "from utils import f" across scanned files.
func moduleStem(p string) string {
	base := path.Base(strings.ReplaceAll(p, "\\", "/"))
	return strings.TrimSuffix(strings.TrimSuffix(base, ".py"), ".ipynb")
}

// hasPrefixModule reports whether canonical name c is module m or inside it.
func hasPrefixModule(c, m string) bool {
	return c == m || strings.HasPrefix(c, m+".")
}

// defTable holds the functions and classes a unit defines.
type defTable struct {
	topFuncs   map[string]*funcDef
	topClasses map[string]*classDef
	all        []*funcDef // every function, methods and nested ones included
	byNode     map[*node]*funcDef
}

type funcDef struct {
	name   string
	n      *node // function_definition
	u      *unit
	class  *classDef // for methods
	params []param
}

type param struct {
	name    string
	def     *node // default value, if any
	star    bool  // *args
	dstar   bool  // **kwargs
	kwOnly  bool
	posOnly bool
}

type classDef struct {
	name    string
	n       *node
	u       *unit
	bases   []string // dotted base names as written
	methods map[string]*funcDef
}

func collectDefs(u *unit) *defTable {
	t := &defTable{topFuncs: map[string]*funcDef{}, topClasses: map[string]*classDef{}, byNode: map[*node]*funcDef{}}
	var visit func(n *node, cls *classDef, top bool)
	visit = func(n *node, cls *classDef, top bool) {
		for c := n.first; c != nil; c = c.next {
			d := c
			if d.kind == "decorated_definition" {
				d = d.child("definition")
			}
			switch {
			case d.is("function_definition"):
				fd := &funcDef{name: d.child("name").text(), n: d, u: u, class: cls, params: readParams(d.child("parameters"))}
				t.all = append(t.all, fd)
				t.byNode[d] = fd
				if cls != nil {
					cls.methods[fd.name] = fd
				} else if top {
					t.topFuncs[fd.name] = fd
				}
				visit(d.child("body"), nil, false)
			case d.is("class_definition"):
				cd := &classDef{name: d.child("name").text(), n: d, u: u, methods: map[string]*funcDef{}}
				for _, b := range d.child("superclasses").kids() {
					if b.kind != "keyword_argument" {
						cd.bases = append(cd.bases, dotted(b))
					}
				}
				if top {
					t.topClasses[cd.name] = cd
				}
				visit(d.child("body"), cd, false)
			case d.is("if_statement", "try_statement", "with_statement", "block", "else_clause", "elif_clause",
				"except_clause", "finally_clause", "for_statement", "while_statement"):
				// Definitions under if/try at module level are still top level.
				visit(d, nil, top)
			}
		}
	}
	for _, f := range u.files {
		visit(f.root, nil, true)
	}
	return t
}

func readParams(ps *node) []param {
	var out []param
	kwOnly := false
	for _, p := range ps.kids() {
		switch p.kind {
		case "identifier":
			out = append(out, param{name: p.text(), kwOnly: kwOnly})
		case "typed_parameter":
			name := p.firstKid()
			switch name.kind {
			case "list_splat_pattern":
				out = append(out, param{name: name.firstKid().text(), star: true})
				kwOnly = true
			case "dictionary_splat_pattern":
				out = append(out, param{name: name.firstKid().text(), dstar: true})
			default:
				out = append(out, param{name: name.text(), kwOnly: kwOnly})
			}
		case "default_parameter", "typed_default_parameter":
			out = append(out, param{name: p.child("name").text(), def: p.child("value"), kwOnly: kwOnly})
		case "list_splat_pattern":
			out = append(out, param{name: p.firstKid().text(), star: true})
			kwOnly = true
		case "dictionary_splat_pattern":
			out = append(out, param{name: p.firstKid().text(), dstar: true})
		case "keyword_separator":
			kwOnly = true
		case "positional_separator":
			for i := range out {
				out[i].posOnly = true
			}
		}
	}
	return out
}
