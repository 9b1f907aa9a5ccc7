package serve

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/rigor-dev/rigor/cas"
	"github.com/rigor-dev/rigor/verify"
)

// Limits of the lineage page.
const (
	lineageMaxRuns  = 200
	maxGraphNodes   = 400
	maxLineageDepth = 100
)

// LineageView is the lineage page: verify.TraceLineage of one digest, and
// the graph drawn from it.
type LineageView struct {
	Lineage *verify.Lineage `json:"lineage"`
	// Object is the content as stored, when it is.
	Object *cas.Info `json:"object,omitempty"`
	// Graph is the drawing: runs and contents as nodes, in columns from the
	// furthest producer (left) to the furthest consumer (right).
	Graph *Graph `json:"graph"`
}

func (s *Server) lineageView(ctx context.Context, sess *session, r *http.Request) (any, error) {
	d, err := cas.ParseDigest(r.PathValue("digest"))
	if err != nil {
		return nil, err
	}
	opts := verify.LineageOptions{MaxRuns: lineageMaxRuns}
	if ds := r.URL.Query().Get("depth"); ds != "" {
		n, err := strconv.Atoi(ds)
		if err != nil || n < 1 || n > maxLineageDepth {
			return nil, fmt.Errorf("depth %q is not a number from 1 to %d: %w", ds, maxLineageDepth, ErrBadRequest)
		}
		opts.MaxDepth = n
	}
	l, err := verify.TraceLineage(ctx, sess.st, sess.st, d.String(), opts)
	if err != nil {
		return nil, err
	}
	v := &LineageView{Lineage: l, Graph: drawLineage(l)}
	if d.Algorithm() == cas.BLAKE3 {
		info, err := sess.st.Stat(ctx, d)
		switch {
		case err == nil:
			v.Object = &info
		case errors.Is(err, cas.ErrNotFound):
		default:
			return nil, err
		}
	}
	return v, nil
}

// lineageForm turns the lineage search form (?digest=) into the page's URL.
func (s *Server) lineageForm(w http.ResponseWriter, r *http.Request) {
	q := strings.TrimSpace(r.URL.Query().Get("digest"))
	if q == "" {
		s.fail(w, r, fmt.Errorf("give a digest: /lineage/blake3:<hex> or /lineage?digest=…: %w", ErrBadRequest))
		return
	}
	d, err := cas.ParseDigest(q)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/lineage/"+url.PathEscape(d.String()), http.StatusSeeOther)
}

// Graph is a layered drawing of a lineage, in SVG user units.
type Graph struct {
	Width, Height int
	Nodes         []GraphNode `json:"nodes"`
	Edges         []GraphEdge `json:"edges"`
	Truncated     bool        `json:"truncated,omitempty"`
}

// GraphNode is a run or a piece of content.
type GraphNode struct {
	ID    string `json:"id"`   // run id, or content digest
	Kind  string `json:"kind"` // "run" or "content"
	Label string `json:"label"`
	// Title is the hover text; URL the page the node links to.
	Title string `json:"title"`
	URL   string `json:"url"`
	Col   int    `json:"col"`
	Focus bool   `json:"focus,omitempty"` // the content asked about
	X, Y  int    `json:"-"`
	W, H  int    `json:"-"`
	TX    int    `json:"-"` // text anchor
	TY    int    `json:"-"`
}

// GraphEdge is an arrow from a producer to what it produced, or from a
// content to the run that used it.
type GraphEdge struct {
	From  string `json:"from"`
	To    string `json:"to"`
	Label string `json:"label,omitempty"` // path in the run
	Path  string `json:"-"`               // SVG path data
}

// drawLineage lays the lineage out in columns: the content asked about
// in column 0, producers (upstream) to the left, consumers (downstream) to
// the right; runs at odd distances, contents at even ones.
func drawLineage(l *verify.Lineage) *Graph {
	g := &Graph{Nodes: []GraphNode{}, Edges: []GraphEdge{}}
	index := map[string]int{}
	add := func(id, kind string, col int) {
		if _, ok := index[id]; ok {
			return
		}
		if len(g.Nodes) == maxGraphNodes {
			g.Truncated = true
			return
		}
		n := GraphNode{ID: id, Kind: kind, Col: col}
		if kind == "run" {
			n.Label, n.Title, n.URL = id, "run "+id, "/runs/"+pathEscape(id)
		} else {
			n.Label, n.Title, n.URL = shortDigest(id), id, "/lineage/"+pathEscape(id)
		}
		index[id] = len(g.Nodes)
		g.Nodes = append(g.Nodes, n)
	}
	edges := map[[2]string]bool{}
	edge := func(from, to, label string) {
		_, okF := index[from]
		_, okT := index[to]
		if !okF || !okT || edges[[2]string{from, to}] {
			return
		}
		edges[[2]string{from, to}] = true
		g.Edges = append(g.Edges, GraphEdge{From: from, To: to, Label: label})
	}
	add(l.Content, "content", 0)
	g.Nodes[0].Focus = true
	for _, h := range l.Downstream {
		// Run used Content, which Via produced (from depth 2 on).
		add(h.Content, "content", 2*h.Depth-2)
		add(h.Run, "run", 2*h.Depth-1)
		if h.Via != "" {
			add(h.Via, "run", 2*h.Depth-3)
			edge(h.Via, h.Content, "")
		}
		edge(h.Content, h.Run, h.Path)
	}
	for _, h := range l.Upstream {
		// Run produced Content, which Via used (from depth 2 on).
		add(h.Content, "content", -(2*h.Depth - 2))
		add(h.Run, "run", -(2*h.Depth - 1))
		if h.Via != "" {
			add(h.Via, "run", -(2*h.Depth - 3))
			edge(h.Content, h.Via, "")
		}
		edge(h.Run, h.Content, h.Path)
	}
	layout(g)
	return g
}

// Layout constants, SVG user units.
const (
	colWidth  = 250
	rowHeight = 56
	nodeW     = 200
	nodeH     = 34
	margin    = 20
)

func layout(g *Graph) {
	minCol, maxCol := 0, 0
	for _, n := range g.Nodes {
		minCol, maxCol = min(minCol, n.Col), max(maxCol, n.Col)
	}
	rows := map[int]int{}
	maxRows := 1
	for i := range g.Nodes {
		n := &g.Nodes[i]
		r := rows[n.Col]
		rows[n.Col] = r + 1
		maxRows = max(maxRows, r+1)
		n.X = margin + (n.Col-minCol)*colWidth
		n.Y = margin + r*rowHeight
		n.W, n.H = nodeW, nodeH
		n.TX, n.TY = n.X+nodeW/2, n.Y+nodeH/2+5
	}
	g.Width = 2*margin + (maxCol-minCol)*colWidth + nodeW
	g.Height = 2*margin + (maxRows-1)*rowHeight + nodeH
	at := map[string]*GraphNode{}
	for i := range g.Nodes {
		at[g.Nodes[i].ID] = &g.Nodes[i]
	}
	for i := range g.Edges {
		e := &g.Edges[i]
		a, b := at[e.From], at[e.To]
		x1, y1 := a.X+a.W, a.Y+a.H/2
		x2, y2 := b.X, b.Y+b.H/2
		if b.X < a.X { // a back edge: leave from the left
			x1, x2 = a.X, b.X+b.W
		}
		mid := (x1 + x2) / 2
		e.Path = fmt.Sprintf("M%d,%d C%d,%d %d,%d %d,%d", x1, y1, mid, y1, mid, y2, x2, y2)
	}
}

// shortDigest keeps the algorithm and 12 hex digits.
func shortDigest(d string) string {
	if alg, enc, ok := strings.Cut(d, ":"); ok && len(enc) > 12 {
		return alg + ":" + enc[:12] + "…"
	}
	return d
}
