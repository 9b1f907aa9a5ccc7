package cas

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	digest "github.com/opencontainers/go-digest"
	"github.com/zeebo/blake3"
)

// ProblemKind classifies what [Store.Fsck] found. Persisted and printed: do
// not reorder; append only.
type ProblemKind uint8

const (
	// ProblemCorrupt: stored bytes do not hash to their digest.
	ProblemCorrupt ProblemKind = iota + 1
	// ProblemMissing: an object or chunk that something points at is not
	// stored.
	ProblemMissing
	// ProblemBadFormat: a stored value starts with an unknown format byte.
	ProblemBadFormat
	// ProblemBadRecord: an object record does not decode.
	ProblemBadRecord
	// ProblemBadTree: a tree object's content is not a canonical tree.
	ProblemBadTree
)

var problemNames = [...]string{
	ProblemCorrupt:   "corrupt",
	ProblemMissing:   "missing",
	ProblemBadFormat: "bad-format",
	ProblemBadRecord: "bad-record",
	ProblemBadTree:   "bad-tree",
}

func (k ProblemKind) String() string {
	if int(k) < len(problemNames) && problemNames[k] != "" {
		return problemNames[k]
	}
	return fmt.Sprintf("problem(%d)", k)
}

// Problem is one thing wrong with the store.
type Problem struct {
	Kind ProblemKind
	// Digest is the object affected (for a damaged chunk no object uses,
	// the chunk itself).
	Digest digest.Digest
	// Chunk is the chunk at fault when the problem lies in one.
	Chunk digest.Digest
	// Refs are the refs from which Digest is reachable, sorted.
	Refs []string
	// Path is Digest's slash-separated path below the nearest of Refs (""
	// when a ref points at Digest itself, or when no ref reaches it).
	Path string
	// Err describes the problem; it wraps [ErrDigestMismatch],
	// [ErrNotFound], [ErrUnknownFormat] or [ErrBadTree].
	Err error
}

func (p Problem) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s", p.Kind, p.Digest)
	if p.Chunk != "" && p.Chunk != p.Digest {
		fmt.Fprintf(&b, " (chunk %s)", p.Chunk)
	}
	if len(p.Refs) > 0 {
		fmt.Fprintf(&b, " reached from %s", strings.Join(p.Refs, ", "))
		if p.Path != "" {
			fmt.Fprintf(&b, " at %q", p.Path)
		}
	}
	if p.Err != nil {
		fmt.Fprintf(&b, ": %v", p.Err)
	}
	return b.String()
}

func (p Problem) Unwrap() error { return p.Err }

// FsckOptions tune [Store.Fsck]. The zero value checks everything quietly.
type FsckOptions struct {
	// Progress, if set, is called in Fsck's goroutine after each object
	// and each chunk key, with the count done and the total.
	Progress func(done, total int64)
}

// FsckReport is what [Store.Fsck] found.
type FsckReport struct {
	Objects  int64 // objects checked
	Chunks   int64 // chunk values checked
	Bytes    int64 // logical bytes re-hashed
	Refs     int64 // refs checked
	Problems []Problem
}

// OK reports whether no problem was found.
func (r FsckReport) OK() bool { return len(r.Problems) == 0 }

// Fsck re-hashes every object and every chunk and checks every ref and
// tree entry, reporting each damaged or missing object or chunk, with the
// refs that reach it, as a [Problem]. It returns an error only if the check
// itself could not run (a closed store, a cancelled ctx, a Badger failure).
// It reads the whole store; other calls may proceed meanwhile.
func (s *Store) Fsck(ctx context.Context, opts FsckOptions) (FsckReport, error) {
	if err := s.enter(); err != nil {
		return FsckReport{}, err
	}
	defer s.leave()
	c, err := s.getCodec()
	if err != nil {
		return FsckReport{}, err
	}
	f := &fsck{s: s, c: c, opts: opts, rep: &FsckReport{},
		problems: make(map[sum]int),
		parents:  make(map[sum][]parentLink),
		chunks:   make(map[sum]bool),
	}
	if err := f.run(ctx); err != nil {
		return FsckReport{}, err
	}
	return *f.rep, nil
}

type parentLink struct {
	parent sum
	name   string
}

type fsck struct {
	s    *Store
	c    *codec
	opts FsckOptions
	rep  *FsckReport

	done, total int64
	problems    map[sum]int // object → index of its first problem
	parents     map[sum][]parentLink
	chunks      map[sum]bool // chunks checked as part of an object
	buf         []byte
}

func (f *fsck) tick() {
	f.done++
	if f.opts.Progress != nil {
		f.opts.Progress(f.done, f.total)
	}
}

func (f *fsck) add(p Problem, obj sum) {
	f.rep.Problems = append(f.rep.Problems, p)
	if _, ok := f.problems[obj]; !ok {
		f.problems[obj] = len(f.rep.Problems) - 1
	}
}

func (f *fsck) run(ctx context.Context) error {
	s := f.s
	for _, p := range []string{pfxObject, pfxChunk} {
		if err := s.scan(ctx, []byte(p), true, func(k, _ []byte) error { f.total++; return nil }); err != nil {
			return err
		}
	}
	// Objects: decode, re-hash, check chunks and tree entries.
	if err := s.scan(ctx, []byte(pfxObject), true, func(k, _ []byte) error {
		var obj sum
		copy(obj[:], k[len(pfxObject):])
		if err := f.checkObject(ctx, obj); err != nil {
			return err
		}
		f.rep.Objects++
		f.tick()
		return nil
	}); err != nil {
		return err
	}
	// Chunks no object uses still must be intact (GC collects them).
	if err := s.scan(ctx, []byte(pfxChunk), true, func(k, _ []byte) error {
		var cs sum
		copy(cs[:], k[len(pfxChunk):])
		if !f.chunks[cs] {
			f.rep.Chunks++
			if err := f.checkOrphanChunk(cs); err != nil {
				return err
			}
		}
		f.tick()
		return nil
	}); err != nil {
		return err
	}
	// Refs: each must point at a stored object; attribute problems to them.
	roots := make(map[sum][]string)
	if err := s.scan(ctx, []byte(pfxRef), false, func(k, v []byte) error {
		name := string(k[len(pfxRef):])
		f.rep.Refs++
		sm, err := toSum(digest.Digest(v))
		if err != nil {
			f.rep.Problems = append(f.rep.Problems, Problem{Kind: ProblemCorrupt, Refs: []string{name},
				Err: fmt.Errorf("ref %s holds %q: %w", name, v, ErrBadDigest)})
			return nil
		}
		ok, err := s.hasKey(objectKey(sm))
		if err != nil {
			return err
		}
		if !ok {
			f.add(Problem{Kind: ProblemMissing, Digest: sm.digest(),
				Err: fmt.Errorf("ref %s points at %s: %w", name, sm.digest(), ErrNotFound)}, sm)
		}
		roots[sm] = append(roots[sm], name)
		return nil
	}); err != nil {
		return err
	}
	f.attribute(roots)
	return nil
}

// checkObject verifies one object: its record, every chunk, the whole
// digest and, for a tree, its encoding and that every child is stored.
func (f *fsck) checkObject(ctx context.Context, obj sum) error {
	d := obj.digest()
	rec, err := f.s.getRecord(obj)
	if err != nil {
		if errors.Is(err, ErrDigestMismatch) {
			f.add(Problem{Kind: ProblemBadRecord, Digest: d, Err: err}, obj)
			return nil
		}
		return err
	}
	var content []byte // kept for trees only
	keep := rec.kind == KindTree && rec.size <= maxTreeSize
	if !rec.chunked {
		data, err := f.c.decode(nil, rec.inline, int(rec.size))
		if err != nil {
			f.add(Problem{Kind: valueProblem(err), Digest: d, Err: fmt.Errorf("%s: %w", d, err)}, obj)
			return nil
		}
		f.rep.Bytes += int64(len(data))
		if sum(blake3.Sum256(data)) != obj {
			f.add(Problem{Kind: ProblemCorrupt, Digest: d, Err: fmt.Errorf("%s: stored content does not hash to its digest: %w", d, ErrDigestMismatch)}, obj)
			return nil
		}
		content = data
	} else {
		h := blake3.New()
		bad := false
		for _, cr := range rec.chunks {
			if err := ctx.Err(); err != nil {
				return err
			}
			f.chunks[cr.sum] = true
			b, err := f.s.loadChunk(cr, f.buf, true)
			if err != nil {
				if errors.Is(err, ErrClosed) {
					return err
				}
				bad = true
				f.add(Problem{Kind: valueProblem(err), Digest: d, Chunk: cr.sum.digest(), Err: fmt.Errorf("%s: %w", d, err)}, obj)
				continue
			}
			f.buf = b
			h.Write(b)
			f.rep.Bytes += int64(len(b))
			if keep {
				content = append(content, b...)
			}
		}
		if bad {
			return nil
		}
		var got sum
		h.Sum(got[:0])
		if got != obj {
			f.add(Problem{Kind: ProblemCorrupt, Digest: d, Err: fmt.Errorf("%s: content hashes to %s: %w", d, got.digest(), ErrDigestMismatch)}, obj)
			return nil
		}
	}
	if rec.kind != KindTree {
		return nil
	}
	t, err := DecodeTree(content)
	if err != nil {
		f.add(Problem{Kind: ProblemBadTree, Digest: d, Err: fmt.Errorf("%s: %w", d, err)}, obj)
		return nil
	}
	for _, e := range t.Entries {
		cs, _ := toSum(e.Digest)
		f.parents[cs] = append(f.parents[cs], parentLink{obj, e.Name})
		ok, err := f.s.hasKey(objectKey(cs))
		if err != nil {
			return err
		}
		if !ok {
			if _, seen := f.problems[cs]; !seen {
				f.add(Problem{Kind: ProblemMissing, Digest: e.Digest, Err: fmt.Errorf("%s: %w", e.Digest, ErrNotFound)}, cs)
			}
		}
	}
	return nil
}

func (f *fsck) checkOrphanChunk(cs sum) error {
	d := cs.digest()
	var n int
	var intact bool
	// The logical size of an orphan is not recorded anywhere: decode up to
	// the largest chunk. (v, and a raw value's decoding, are valid only in
	// here.)
	err := f.s.chunkValue(chunkRef{sum: cs}, func(v []byte) error {
		data, err := f.c.decodeUpTo(v, maxChunk)
		n, intact = len(data), err == nil && sum(blake3.Sum256(data)) == cs
		return err
	})
	switch {
	case errors.Is(err, ErrNotFound) || errors.Is(err, ErrDigestMismatch) || errors.Is(err, ErrUnknownFormat):
		f.rep.Problems = append(f.rep.Problems, Problem{Kind: valueProblem(err), Digest: d, Chunk: d, Err: err})
		return nil
	case err != nil:
		return fmt.Errorf("cas: fsck: %v", err)
	}
	f.rep.Bytes += int64(n)
	if !intact {
		f.rep.Problems = append(f.rep.Problems, Problem{Kind: ProblemCorrupt, Digest: d, Chunk: d,
			Err: fmt.Errorf("chunk %s: content does not hash to its key: %w", d, ErrDigestMismatch)})
	}
	return nil
}

func valueProblem(err error) ProblemKind {
	switch {
	case errors.Is(err, ErrNotFound):
		return ProblemMissing
	case errors.Is(err, ErrUnknownFormat):
		return ProblemBadFormat
	default:
		return ProblemCorrupt
	}
}

// attribute fills in Refs and Path of every problem, walking up from the
// damaged object through the trees that contain it to the refs.
func (f *fsck) attribute(roots map[sum][]string) {
	type step struct {
		at   sum
		path string
	}
	for i := range f.rep.Problems {
		p := &f.rep.Problems[i]
		if p.Digest == "" {
			continue
		}
		start, err := toSum(p.Digest)
		if err != nil {
			continue
		}
		seen := map[sum]bool{start: true}
		queue := []step{{start, ""}}
		refs := map[string]bool{}
		first := true
		for len(queue) > 0 {
			st := queue[0]
			queue = queue[1:]
			if names := roots[st.at]; len(names) > 0 {
				for _, n := range names {
					refs[n] = true
				}
				if first {
					p.Path, first = st.path, false
				}
			}
			for _, pl := range f.parents[st.at] {
				if seen[pl.parent] {
					continue
				}
				seen[pl.parent] = true
				np := pl.name
				if st.path != "" {
					np += "/" + st.path
				}
				queue = append(queue, step{pl.parent, np})
			}
		}
		for n := range refs {
			p.Refs = append(p.Refs, n)
		}
		slices.Sort(p.Refs)
	}
}
