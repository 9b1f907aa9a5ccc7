package verify

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	digest "github.com/opencontainers/go-digest"

	"github.com/rigor-dev/rigor/cas"
	"github.com/rigor-dev/rigor/spec"
)

// SchemaLineage tags the result of [TraceLineage].
const SchemaLineage = "rigor.lineage.v1"

// LineageOptions control [TraceLineage]. The zero value follows chains to
// any depth and stops after 1000 runs.
type LineageOptions struct {
	// MaxDepth is how many runs away from the content a chain is followed;
	// ≤0 means no limit.
	MaxDepth int
	// MaxRuns bounds the runs visited in each direction; ≤0 means 1000.
	MaxRuns int
}

// Lineage says where a piece of content came from and where it went.
type Lineage struct {
	Schema string `json:"schema"`
	// Content is the digest queried ("blake3:…" or "sha256:…").
	Content string `json:"content"`
	// Upstream are the runs that produced the content (depth 1), then the
	// runs that produced an input of those (depth 2), and so on.
	Upstream []Hop `json:"upstream"`
	// Downstream are the runs that used the content as an input (depth
	// 1), then the runs that used an output of those (depth 2), and so on.
	Downstream []Hop `json:"downstream"`
	// Truncated is true when MaxRuns or MaxDepth stopped a chain.
	Truncated bool `json:"truncated,omitempty"`
}

// Hop is one link of a lineage chain: Run used (downstream) or produced
// (upstream) Content, found at Path in its bundle.
type Hop struct {
	Depth   int    `json:"depth"`
	Run     string `json:"run"`
	Content string `json:"content"`
	Path    string `json:"path"`
	// Kind ("input", "config" or "code") and Role say what the content
	// was to a run that used it (downstream); Name is the artifact name of
	// content a run produced (upstream).
	Kind string `json:"kind,omitempty"`
	Role string `json:"role,omitempty"`
	Name string `json:"name,omitempty"`
	// Via is the run the hop continues from: downstream, the run that
	// produced Content; upstream, the run that used Content. Empty at
	// depth 1.
	Via string `json:"via,omitempty"`
}

// ProducedBy returns the runs that produced the content itself.
func (l *Lineage) ProducedBy() []Hop { return atDepth(l.Upstream, 1) }

// UsedBy returns the runs that used the content itself as an input.
func (l *Lineage) UsedBy() []Hop { return atDepth(l.Downstream, 1) }

func atDepth(hs []Hop, d int) []Hop {
	var out []Hop
	for _, h := range hs {
		if h.Depth == d {
			out = append(out, h)
		}
	}
	return out
}

// TraceLineage answers which runs used content (a "blake3:…" or
// "sha256:…" digest string) as an input and which produced it as an
// output, and follows the chains both ways: an output of one run that is
// an input of another. It reads the lineage indexes written when runs are
// recorded, one prefix scan per piece of content, and the manifests of the
// runs on the chains only; it never scans every run. Hops are sorted by
// depth, then run, then content.
func TraceLineage(ctx context.Context, cat Catalog, src Store, content string, opts LineageOptions) (*Lineage, error) {
	if opts.MaxRuns <= 0 {
		opts.MaxRuns = 1000
	}
	l := &Lineage{Schema: SchemaLineage, Content: content, Upstream: []Hop{}, Downstream: []Hop{}}
	// The two directions are independent chains of lookups, each one
	// after the other: they run at once, each with its own tracer.
	down := &tracer{cat: cat, src: src, opts: opts, io: map[string]*spec.RunIO{}, outputs: true}
	up := &tracer{cat: cat, src: src, opts: opts, io: map[string]*spec.RunIO{}}
	var downErr error
	var truncated bool
	done := make(chan struct{})
	go func() {
		defer close(done)
		var dl Lineage
		l.Downstream, downErr = down.follow(ctx, content, spec.LineageInIndex, &dl)
		truncated = dl.Truncated
	}()
	var upErr error
	l.Upstream, upErr = up.follow(ctx, content, spec.LineageOutIndex, l)
	<-done
	if err := cmp.Or(downErr, upErr); err != nil {
		return nil, err
	}
	l.Truncated = l.Truncated || truncated
	return l, nil
}

type tracer struct {
	cat  Catalog
	src  Store
	opts LineageOptions
	io   map[string]*spec.RunIO
	// outputs: this tracer follows what runs produced (downstream), so it
	// reads their outputs only; otherwise what they used, their inputs only.
	outputs bool
}

// follow walks one direction breadth-first: index is lineage-in
// (downstream: who used it, then their outputs) or lineage-out (upstream:
// who produced it, then their inputs).
func (t *tracer) follow(ctx context.Context, content, index string, l *Lineage) ([]Hop, error) {
	type item struct {
		content string
		via     string
	}
	hops := []Hop{}
	seenContent := map[string]bool{content: true}
	seenRun := map[string]bool{}
	frontier := []item{{content: content}}
	for depth := 1; len(frontier) > 0; depth++ {
		if t.opts.MaxDepth > 0 && depth > t.opts.MaxDepth {
			l.Truncated = true
			break
		}
		var next []item
		for _, it := range frontier {
			links, err := t.links(ctx, index, it.content)
			if err != nil {
				return nil, err
			}
			for _, lk := range links {
				h := Hop{Depth: depth, Run: lk.run, Content: it.content, Path: lk.link.Path, Via: it.via}
				if index == spec.LineageInIndex {
					h.Kind, h.Role = lk.link.Kind, lk.link.Role
				} else {
					h.Name = lk.link.Name
				}
				hops = append(hops, h)
				if seenRun[lk.run] {
					continue
				}
				if len(seenRun) >= t.opts.MaxRuns {
					l.Truncated = true
					continue
				}
				seenRun[lk.run] = true
				rio, err := t.runIO(ctx, lk.run)
				if err != nil {
					return nil, err
				}
				if rio == nil {
					continue
				}
				further := rio.Outputs
				if index == spec.LineageOutIndex {
					further = rio.Inputs
				}
				for _, c := range further {
					if !seenContent[c] {
						seenContent[c] = true
						next = append(next, item{content: c, via: lk.run})
					}
				}
			}
		}
		frontier = next
	}
	slices.SortStableFunc(hops, func(a, b Hop) int {
		if a.Depth != b.Depth {
			return a.Depth - b.Depth
		}
		if c := strings.Compare(a.Run, b.Run); c != 0 {
			return c
		}
		return strings.Compare(a.Content, b.Content)
	})
	return hops, nil
}

type runLink struct {
	run  string
	link spec.LineageLink
}

// links returns the runs under content in a lineage index.
func (t *tracer) links(ctx context.Context, index, content string) ([]runLink, error) {
	var out []runLink
	err := t.cat.ScanIndex(ctx, index, spec.LineagePrefix(content), func(k, v []byte) error {
		_, id, ok := spec.ParseLineageKey(k)
		if !ok {
			return nil
		}
		rl := runLink{run: id}
		if lk, err := spec.DecodeLineageLink(v); err == nil {
			rl.link = *lk
		}
		out = append(out, rl)
		return nil
	})
	return out, err
}

// runIO reads what run id used and produced from its manifest; nil when
// the run has no index entry or bundle any more.
func (t *tracer) runIO(ctx context.Context, id string) (*spec.RunIO, error) {
	if r, ok := t.io[id]; ok {
		return r, nil
	}
	// The run-io index answers without reading the run's manifest; runs
	// recorded before it existed (or whose entry does not decode: rigor
	// verify reports it) are read from their bundle.
	if v, ok, err := lookupIndex(ctx, t.cat, spec.RunIOIndex, []byte(id)); err != nil {
		return nil, err
	} else if ok {
		if rio, err := spec.DecodeRunIO(v); err == nil {
			t.io[id] = rio
			return rio, nil
		}
	}
	root, err := summaryRoot(ctx, t.cat, id)
	if err != nil {
		return nil, err
	}
	if root == "" {
		t.io[id] = nil
		return nil, nil
	}
	r, err := readRunIO(ctx, t.src, root, !t.outputs, t.outputs)
	if err != nil {
		if fatal(ctx, err) {
			return nil, err
		}
		r = nil // a damaged bundle ends the chain; rigor verify reports it
	}
	t.io[id] = r
	return r, nil
}

// readRunIO reads a run bundle's inputs and artifacts by BLAKE3 digest,
// each only when asked for (the outputs need one more tree read).
func readRunIO(ctx context.Context, src Store, root digest.Digest, inputs, outputs bool) (*spec.RunIO, error) {
	trees := map[digest.Digest]cas.Tree{}
	me, err := cas.Find(ctx, src, root, ManifestName, trees)
	if err != nil {
		return nil, err
	}
	if me.Size > maxManifest {
		return nil, fmt.Errorf("%s: %s too large", root, ManifestName)
	}
	rc, err := src.Open(ctx, me.Digest)
	if err != nil {
		return nil, err
	}
	b, err := io.ReadAll(io.LimitReader(rc, maxManifest))
	rc.Close()
	if err != nil {
		return nil, err
	}
	// Decode only what lineage needs: a run's manifest can be large (rigor
	// run records the environment, notes and resources in it).
	var m struct {
		Inputs []struct {
			Path   string `json:"path"`
			BLAKE3 string `json:"blake3"`
		} `json:"inputs"`
		Artifacts map[string]*struct {
			Path   string `json:"path"`
			BLAKE3 string `json:"blake3"`
		} `json:"artifacts"`
	}
	if err := json.Unmarshal(bytes.TrimPrefix(b, []byte("\xef\xbb\xbf")), &m); err != nil {
		return nil, fmt.Errorf("%s: %s: %w", root, ManifestName, err)
	}
	r := &spec.RunIO{}
	resolve := func(p, b3 string) (digest.Digest, bool, error) {
		rel, ok := spec.RunRelPath(p)
		if !ok || strings.TrimSpace(p) == "" {
			return "", false, nil
		}
		if d := digest.Digest(b3); b3 != "" && spec.ValidDigest(d) {
			return d, true, nil
		}
		e, err := cas.Find(ctx, src, root, rel, trees)
		if err != nil {
			if fatal(ctx, err) {
				return "", false, err
			}
			return "", false, nil
		}
		return e.Digest, true, nil
	}
	if !inputs {
		m.Inputs = nil
	}
	for _, in := range m.Inputs {
		d, ok, err := resolve(in.Path, in.BLAKE3)
		if err != nil {
			return nil, err
		}
		if ok {
			r.Inputs = append(r.Inputs, d.String())
		}
	}
	if !outputs {
		return r, nil
	}
	for _, name := range slices.Sorted(maps.Keys(m.Artifacts)) {
		a := m.Artifacts[name]
		if a == nil {
			continue
		}
		d, ok, err := resolve(a.Path, a.BLAKE3)
		if err != nil {
			return nil, err
		}
		if ok {
			r.Outputs = append(r.Outputs, d.String())
		}
	}
	// rigor run also keeps the program's whole output directory, and
	// indexes it as the output "outputs".
	if e, err := cas.Find(ctx, src, root, outputsDir, trees); err == nil && e.Mode == cas.ModeTree {
		r.Outputs = append(r.Outputs, e.Digest.String())
	} else if err != nil && fatal(ctx, err) {
		return nil, err
	}
	return r, nil
}

// outputsDir is where rigor run keeps the program's output directory.
const outputsDir = "rigor/outputs"

// summaryRoot returns the bundle root the runs index records for run id,
// or "" when it has no entry; only the root is decoded.
func summaryRoot(ctx context.Context, idx cas.Indexer, id string) (digest.Digest, error) {
	v, ok, err := lookupIndex(ctx, idx, spec.RunsIndex, []byte(id))
	if err != nil || !ok {
		return "", err
	}
	var s struct {
		Root digest.Digest `json:"root"`
	}
	if err := json.Unmarshal(v, &s); err != nil || !spec.ValidDigest(s.Root) {
		return "", fmt.Errorf("verify: runs index entry %s: no valid root", id)
	}
	return s.Root, nil
}
