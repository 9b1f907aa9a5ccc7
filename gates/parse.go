package gates

/*
#include <stdint.h>
#include <stdbool.h>
#include <stdlib.h>

// The few tree-sitter declarations flatten needs, as tree_sitter/api.h
// (v0.25) declares them. The library itself is compiled and linked by
// github.com/tree-sitter/go-tree-sitter.
typedef uint16_t TSSymbol;
typedef uint16_t TSFieldId;
typedef struct TSTree TSTree;
typedef struct TSParser TSParser;
typedef struct TSLanguage TSLanguage;
typedef struct { uint32_t context[4]; const void *id; const TSTree *tree; } TSNode;
typedef struct { const void *tree; const void *id; uint32_t context[3]; } TSTreeCursor;
extern TSTreeCursor ts_tree_cursor_new(TSNode node);
extern void ts_tree_cursor_delete(TSTreeCursor *self);
extern bool ts_tree_cursor_goto_first_child(TSTreeCursor *self);
extern bool ts_tree_cursor_goto_next_sibling(TSTreeCursor *self);
extern bool ts_tree_cursor_goto_parent(TSTreeCursor *self);
extern TSNode ts_tree_cursor_current_node(const TSTreeCursor *self);
extern TSFieldId ts_tree_cursor_current_field_id(const TSTreeCursor *self);
extern TSSymbol ts_node_symbol(TSNode self);
extern uint32_t ts_node_start_byte(TSNode self);
extern uint32_t ts_node_end_byte(TSNode self);
extern bool ts_node_is_missing(TSNode self);
extern bool ts_node_is_named(TSNode self);
extern TSParser *ts_parser_new(void);
extern void ts_parser_delete(TSParser *self);
extern bool ts_parser_set_language(TSParser *self, const TSLanguage *language);
extern TSTree *ts_parser_parse_string(TSParser *self, const TSTree *old_tree, const char *string, uint32_t length);
extern void ts_tree_delete(TSTree *self);
extern TSNode ts_tree_root_node(const TSTree *self);
extern uint32_t ts_node_descendant_count(TSNode self);
extern void ts_set_allocator(void *(*new_malloc)(size_t), void *(*new_calloc)(size_t, size_t),
	void *(*new_realloc)(void *, size_t), void (*new_free)(void *));

// rigor_use_libc_allocator points tree-sitter at the C library's allocator.
// go-tree-sitter installs wrappers that call back into Go for every
// allocation, only to call the same malloc and free from there; a callback
// per allocation made parsing three times slower.
static void rigor_use_libc_allocator(void) { ts_set_allocator(malloc, calloc, realloc, free); }

// flatten writes the tree below root in pre-order, four words per kept node:
// symbol | field<<16, start byte, end byte, depth | missing<<31. It stops
// after cap nodes and returns how many it wrote. One cgo call per file
// instead of several per node.
static uint32_t rigor_flatten(const TSNode *root, uint32_t *out, uint32_t cap) {
	TSTreeCursor c = ts_tree_cursor_new(*root);
	uint32_t n = 0, depth = 0;
	while (n < cap) {
		TSNode nd = ts_tree_cursor_current_node(&c);
		TSFieldId field = ts_tree_cursor_current_field_id(&c);
		bool missing = ts_node_is_missing(nd);
		// Anonymous tokens (punctuation, keywords) are left out unless they
		// fill a field (operators) or were inserted by error recovery.
		if (ts_node_is_named(nd) || field != 0 || missing) {
			uint32_t *r = out + 4 * n;
			r[0] = (uint32_t)ts_node_symbol(nd) | ((uint32_t)field << 16);
			r[1] = ts_node_start_byte(nd);
			r[2] = ts_node_end_byte(nd);
			r[3] = depth | (missing ? 0x80000000u : 0u);
			n++;
		}
		if (ts_tree_cursor_goto_first_child(&c)) {
			depth++;
			continue;
		}
		for (;;) {
			if (ts_tree_cursor_goto_next_sibling(&c)) break;
			if (!ts_tree_cursor_goto_parent(&c)) {
				ts_tree_cursor_delete(&c);
				return n;
			}
			depth--;
		}
	}
	ts_tree_cursor_delete(&c);
	return n;
}

static uint32_t rigor_count(TSTree *t) { return ts_node_descendant_count(ts_tree_root_node(t)); }

static uint32_t rigor_flatten_tree(TSTree *t, uint32_t *out, uint32_t cap) {
	TSNode root = ts_tree_root_node(t);
	return rigor_flatten(&root, out, cap);
}
*/
import "C"

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"unicode/utf8"
	"unsafe"

	sitter "github.com/tree-sitter/go-tree-sitter"
	python "github.com/tree-sitter/tree-sitter-python/bindings/go"
)

// grammar is what the Python grammar says about its symbols and fields,
// looked up once so that the Go side never calls into C per node.
type grammar struct {
	lang   *sitter.Language
	kinds  []string // by symbol
	named  []bool   // by symbol
	fields []string // by field id
}

var (
	grammarOnce sync.Once
	pyGrammar   *grammar
)

func pythonGrammar() *grammar {
	grammarOnce.Do(func() {
		C.rigor_use_libc_allocator()
		lang := sitter.NewLanguage(python.Language())
		g := &grammar{lang: lang}
		n := lang.NodeKindCount()
		g.kinds = make([]string, n)
		g.named = make([]bool, n)
		for i := uint32(0); i < n; i++ {
			g.kinds[i] = lang.NodeKindForId(uint16(i))
			g.named[i] = lang.NodeKindIsNamed(uint16(i))
		}
		fc := lang.FieldCount()
		g.fields = make([]string, fc+1)
		for i := uint32(1); i <= fc; i++ {
			g.fields[i] = lang.FieldNameForId(uint16(i))
		}
		pyGrammar = g
	})
	return pyGrammar
}

// node is one node of a parsed file, mirrored from tree-sitter into Go
// memory so that the analyses never cross into C. Only named nodes and the
// anonymous nodes that fill a field (operators) are kept; comments are
// dropped (their text is kept per line in file.comments).
type node struct {
	kind       string
	start, end uint32 // byte offsets in file.text
	fid        uint16 // the field this node fills in its parent (see field)
	missing    bool   // inserted by error recovery
	f          *file
	parent     *node
	first      *node // first kept child
	next       *node // next kept sibling
}

// field is the name of the field n fills in its parent, or "".
func (n *node) field() string { return pyGrammar.fields[n.fid] }

// file is one parsed source: a .py file or one notebook cell.
type file struct {
	src      Source
	text     []byte
	nodes    []node
	root     *node
	lineOff  []int          // byte offset of each line start
	comments map[int]string // 1-based line -> comment text
	syntax   *syntaxError
}

// syntaxError is the first place the parser could not make sense of.
type syntaxError struct {
	line, col int
	msg       string
}

// parser parses Python sources. Not safe for concurrent use: each worker
// has its own. Close frees the C parser.
//
// It drives the tree-sitter C library directly (ts_parser_parse_string):
// go-tree-sitter's Parse feeds the text through a Go callback that copies
// the rest of the file on every read, which made parsing several times
// slower. The grammar and the library are go-tree-sitter's and
// tree-sitter-python's.
type parser struct {
	p   *C.TSParser
	g   *grammar
	buf []uint32 // the flattened tree, reused from file to file
}

func newParser() (*parser, error) {
	g := pythonGrammar()
	p := C.ts_parser_new()
	if !C.ts_parser_set_language(p, (*C.TSLanguage)(python.Language())) {
		C.ts_parser_delete(p)
		return nil, fmt.Errorf("gates: tree-sitter rejects the python grammar (ABI %d)", g.lang.AbiVersion())
	}
	return &parser{p: p, g: g}, nil
}

func (p *parser) Close() { C.ts_parser_delete(p.p) }

// parse parses src.Text into a Go tree. The tree-sitter tree is deleted
// before parse returns; the file keeps only Go memory.
func (p *parser) parse(ctx context.Context, src Source) (*file, error) {
	f := &file{src: src, text: src.Text}
	f.lineOff = lineOffsets(f.text)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var empty [1]byte
	text := (*C.char)(unsafe.Pointer(&empty[0]))
	if len(f.text) > 0 {
		text = (*C.char)(unsafe.Pointer(&f.text[0]))
	}
	tree := C.ts_parser_parse_string(p.p, nil, text, C.uint32_t(len(f.text)))
	if tree == nil {
		return nil, fmt.Errorf("%s: %w", src.Path, ErrParse)
	}
	defer C.ts_tree_delete(tree)
	count := uint32(C.rigor_count(tree))
	if count == 0 {
		count = 1
	}
	if cap(p.buf) < int(4*count) {
		p.buf = make([]uint32, 4*count)
	}
	buf := p.buf[:4*count]
	n := uint32(C.rigor_flatten_tree(tree, (*C.uint32_t)(unsafe.Pointer(&buf[0])), C.uint32_t(count)))
	f.build(p.g, buf[:4*n])
	return f, nil
}

func (f *file) build(g *grammar, flat []uint32) {
	f.nodes = make([]node, 0, len(flat)/4)
	var stack []*node // kept ancestors by depth; nil for a skipped one
	var last []*node  // last kept child of each stack entry
	skipBelow := -1
	for i := 0; i < len(flat); i += 4 {
		sym := flat[i] & 0xffff
		fid := flat[i] >> 16
		start, end := flat[i+1], flat[i+2]
		depth := int(flat[i+3] & 0x7fffffff)
		missing := flat[i+3]&0x80000000 != 0
		if skipBelow >= 0 {
			if depth > skipBelow {
				continue
			}
			skipBelow = -1
		}
		stack = stack[:min(depth, len(stack))]
		last = last[:len(stack)]
		kind := "ERROR"
		named := true
		if int(sym) < len(g.kinds) {
			kind, named = g.kinds[sym], g.named[sym]
		}
		field := ""
		if int(fid) < len(g.fields) {
			field = g.fields[fid]
		} else {
			fid = 0
		}
		if kind == "comment" {
			if f.comments == nil {
				f.comments = map[int]string{}
			}
			line, _ := f.lineCol(start)
			f.comments[line] = string(f.text[start:end])
			skipBelow = depth
			continue
		}
		if kind == "ERROR" || missing {
			if f.syntax == nil {
				line, col := f.lineCol(start)
				msg := "invalid syntax"
				if missing {
					msg = fmt.Sprintf("missing %q", kind)
				}
				f.syntax = &syntaxError{line: line, col: col, msg: msg}
			}
		}
		if kind == "print_statement" || kind == "exec_statement" {
			if f.syntax == nil {
				line, col := f.lineCol(start)
				f.syntax = &syntaxError{line: line, col: col, msg: "Python 2 " + kind[:len(kind)-len("_statement")] + " statement"}
			}
		}
		if (!named && field == "") || depth > len(stack) {
			skipBelow = depth
			continue
		}
		f.nodes = append(f.nodes, node{kind: kind, fid: uint16(fid), start: start, end: end, missing: missing, f: f})
		n := &f.nodes[len(f.nodes)-1]
		if len(stack) > 0 {
			parent := stack[len(stack)-1]
			n.parent = parent
			if prev := last[len(last)-1]; prev != nil {
				prev.next = n
			} else {
				parent.first = n
			}
			last[len(last)-1] = n
		}
		stack = append(stack, n)
		last = append(last, nil)
	}
	if len(f.nodes) > 0 {
		f.root = &f.nodes[0]
	} else {
		f.nodes = append(f.nodes, node{kind: "module", f: f})
		f.root = &f.nodes[0]
	}
}

// lineOffsets returns the byte offset at which each line starts.
func lineOffsets(text []byte) []int {
	offs := make([]int, 1, bytes.Count(text, []byte{'\n'})+1)
	for i, c := range text {
		if c == '\n' {
			offs = append(offs, i+1)
		}
	}
	return offs
}

// lineCol converts a byte offset to a 1-based line and a 1-based column
// counted in characters.
func (f *file) lineCol(off uint32) (line, col int) {
	o := int(off)
	lo, hi := 0, len(f.lineOff)-1
	for lo < hi {
		mid := (lo + hi + 1) / 2
		if f.lineOff[mid] <= o {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	start := f.lineOff[lo]
	if o > len(f.text) {
		o = len(f.text)
	}
	return lo + 1, utf8.RuneCount(f.text[start:o]) + 1
}
