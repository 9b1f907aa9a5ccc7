package remote

import (
	"context"
	"errors"
	"fmt"
	"unicode/utf8"

	digest "github.com/opencontainers/go-digest"

	"github.com/rigor-dev/rigor/cas"
)

// Object is one object of a closure.
type Object struct {
	Digest digest.Digest
	Kind   cas.Kind
	Size   int64 // content size; for a tree, the size of its encoding
	// Path is where the walk first met the object, slash-separated and
	// relative to the root it was reached from ("" for a root). Past
	// 1 KiB its middle is elided ("…").
	Path string
}

// TreeReader reads objects and trees; *cas.Store satisfies it.
type TreeReader interface {
	Stat(ctx context.Context, d digest.Digest) (cas.Info, error)
	ReadTree(ctx context.Context, d digest.Digest) (cas.Tree, error)
}

// Closure collects the objects reachable from one or more roots, each
// once, children before parents: a receiver that stores them in this order
// never stores a tree before its entries. It is not safe for concurrent
// use.
type Closure struct {
	Objects []Object
	seen    map[digest.Digest]bool
}

// NewClosure returns an empty closure.
func NewClosure() *Closure { return &Closure{seen: map[digest.Digest]bool{}} }

// Has reports whether d is already in the closure.
func (c *Closure) Has(d digest.Digest) bool { return c.seen[d] }

// Add walks root in s and appends every object not yet collected. A
// missing object gives an error wrapping [cas.ErrNotFound] naming its path.
// Trees are read (and so verified) as they are walked; blobs are not read.
func (c *Closure) Add(ctx context.Context, s TreeReader, root digest.Digest) error {
	if c.seen[root] {
		return nil
	}
	info, err := s.Stat(ctx, root)
	if err != nil {
		return fmt.Errorf("root %s: %w", root, err)
	}
	c.seen[root] = true
	rootObj := Object{Digest: root, Kind: info.Kind, Size: info.Size}
	if info.Kind != cas.KindTree {
		c.Objects = append(c.Objects, rootObj)
		return nil
	}
	t, err := s.ReadTree(ctx, root)
	if err != nil {
		return fmt.Errorf("root %s: %w", root, err)
	}
	type frame struct {
		obj     Object
		entries []cas.Entry
	}
	stack := []frame{{rootObj, t.Entries}}
	for len(stack) > 0 {
		if err := ctx.Err(); err != nil {
			return err
		}
		top := &stack[len(stack)-1]
		if len(top.entries) == 0 {
			c.Objects = append(c.Objects, top.obj)
			stack = stack[:len(stack)-1]
			continue
		}
		e := top.entries[0]
		top.entries = top.entries[1:]
		if c.seen[e.Digest] {
			continue
		}
		c.seen[e.Digest] = true
		obj := Object{Digest: e.Digest, Kind: cas.KindBlob, Size: e.Size, Path: joinPath(top.obj.Path, e.Name)}
		if e.Mode != cas.ModeTree {
			c.Objects = append(c.Objects, obj)
			continue
		}
		obj.Kind = cas.KindTree
		sub, err := s.ReadTree(ctx, e.Digest)
		if err != nil {
			return fmt.Errorf("%s: %w", obj.Path, err)
		}
		stack = append(stack, frame{obj, sub.Entries})
	}
	return nil
}

// Object and Missing paths are for messages. One longer than
// pathHead+pathTail bytes keeps its first pathHead and last pathTail
// bytes around an ellipsis: every object of a chain keeps its path, so
// unbounded paths cost depth² (issue 10: 10,000 levels of "d" kept 100 MB
// of paths, 1,000 levels of 1 KiB names 500 MB).
const (
	pathHead = 256
	pathTail = 768
	ellipsis = "…"
)

func joinPath(dir, name string) string {
	p := name
	if dir != "" {
		p = dir + "/" + name
	}
	if len(p) <= pathHead+len(ellipsis)+pathTail {
		return p
	}
	head, tail := pathHead, len(p)-pathTail
	for head > 0 && !utf8.RuneStart(p[head]) {
		head--
	}
	for tail < len(p) && !utf8.RuneStart(p[tail]) {
		tail++
	}
	return p[:head] + ellipsis + p[tail:]
}

// Missing is an object a check did not find.
type Missing struct {
	Path   string        `json:"path"`
	Digest digest.Digest `json:"digest"`
}

// FindMissing walks the DAG below root with read, calling has once for
// every object it reaches, and returns how many objects it reached and
// those has reported absent, in walk order (parents before children). A
// tree that has reports absent is still walked when read can read it (the
// local side of a check), so everything missing below it is named too; a
// tree read reports [cas.ErrNotFound] for is missing and ends that branch.
// Other errors end the walk.
func FindMissing(ctx context.Context, read func(context.Context, digest.Digest) (cas.Tree, error), root Object, has func(context.Context, Object) (bool, error)) (int, []Missing, error) {
	seen := map[digest.Digest]bool{}
	var missing []Missing
	count := 0
	stack := []Object{root}
	for len(stack) > 0 {
		if err := ctx.Err(); err != nil {
			return count, missing, err
		}
		o := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if seen[o.Digest] {
			continue
		}
		seen[o.Digest] = true
		count++
		ok, err := has(ctx, o)
		if err != nil {
			return count, missing, err
		}
		if !ok {
			missing = append(missing, Missing{Path: o.Path, Digest: o.Digest})
		}
		if o.Kind != cas.KindTree {
			continue
		}
		t, err := read(ctx, o.Digest)
		if errors.Is(err, cas.ErrNotFound) {
			if ok {
				missing = append(missing, Missing{Path: o.Path, Digest: o.Digest})
			}
			continue
		}
		if err != nil {
			return count, missing, fmt.Errorf("%s: %w", displayPath(o.Path), err)
		}
		for i := len(t.Entries) - 1; i >= 0; i-- {
			e := t.Entries[i]
			kind := cas.KindBlob
			if e.Mode == cas.ModeTree {
				kind = cas.KindTree
			}
			stack = append(stack, Object{Digest: e.Digest, Kind: kind, Size: e.Size, Path: joinPath(o.Path, e.Name)})
		}
	}
	return count, missing, nil
}

func displayPath(p string) string {
	if p == "" {
		return "/"
	}
	return p
}
