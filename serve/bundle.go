package serve

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	digest "github.com/opencontainers/go-digest"

	"github.com/rigor-dev/rigor/cas"
	"github.com/rigor-dev/rigor/spec"
	"github.com/rigor-dev/rigor/verify"
)

// errTooLarge: a file is larger than what a page shows of it.
var errTooLarge = errors.New("serve: file too large to show")

// bundle reads files of one run bundle by slash path, caching its trees.
type bundle struct {
	st    Store
	root  digest.Digest
	trees map[digest.Digest]cas.Tree
}

func newBundle(st Store, root digest.Digest) *bundle {
	return &bundle{st: st, root: root, trees: map[digest.Digest]cas.Tree{}}
}

func (b *bundle) tree(ctx context.Context, d digest.Digest) (cas.Tree, error) {
	if t, ok := b.trees[d]; ok {
		return t, nil
	}
	t, err := b.st.ReadTree(ctx, d)
	if err != nil {
		return cas.Tree{}, err
	}
	b.trees[d] = t
	return t, nil
}

// cleanRel checks a slash path inside a run bundle taken from a request:
// no empty, "." or ".." element, no NUL, not absolute. Paths are never
// cleaned into something else: a path that needs cleaning is refused.
func cleanRel(p string) (string, error) {
	if p == "" || strings.HasPrefix(p, "/") || strings.ContainsRune(p, 0) || len(p) > 4096 {
		return "", fmt.Errorf("path %q: %w (want a relative slash path inside the run)", p, ErrBadRequest)
	}
	for _, el := range strings.Split(p, "/") {
		if el == "" || el == "." || el == ".." {
			return "", fmt.Errorf("path %q: %w (no empty, . or .. elements)", p, ErrBadRequest)
		}
	}
	return p, nil
}

// lookup returns the entry at the slash path rel (already checked by
// cleanRel, or taken from a manifest and checked here). A missing path
// gives an error wrapping [ErrNotFound].
func (b *bundle) lookup(ctx context.Context, rel string) (cas.Entry, error) {
	if _, err := cleanRel(rel); err != nil {
		return cas.Entry{}, err
	}
	cur := cas.Entry{Mode: cas.ModeTree, Digest: b.root}
	for _, el := range strings.Split(rel, "/") {
		if cur.Mode != cas.ModeTree {
			return cas.Entry{}, fmt.Errorf("%s: %w in the run", rel, ErrNotFound)
		}
		t, err := b.tree(ctx, cur.Digest)
		if err != nil {
			return cas.Entry{}, err
		}
		i, found := slices.BinarySearchFunc(t.Entries, el, func(e cas.Entry, name string) int { return strings.Compare(e.Name, name) })
		if !found {
			return cas.Entry{}, fmt.Errorf("%s: %w in the run", rel, ErrNotFound)
		}
		cur = t.Entries[i]
	}
	return cur, nil
}

// manifestEntry looks up a path as a manifest names it ("./config.json",
// "data\x.csv"): cleaned as the Light checker cleans it, and refused when it
// leaves the run directory.
func (b *bundle) manifestEntry(ctx context.Context, p string) (string, cas.Entry, error) {
	rel, ok := spec.RunRelPath(p)
	if !ok {
		return "", cas.Entry{}, fmt.Errorf("manifest path %q leaves the run directory: %w", p, ErrNotFound)
	}
	e, err := b.lookup(ctx, rel)
	return rel, e, err
}

// read returns the content of the file at rel, verified as it is read,
// refusing files over limit bytes with an error wrapping errTooLarge.
func (b *bundle) read(ctx context.Context, rel string, limit int64) ([]byte, cas.Entry, error) {
	e, err := b.lookup(ctx, rel)
	if err != nil {
		return nil, e, err
	}
	if e.Mode == cas.ModeTree {
		return nil, e, fmt.Errorf("%s is a directory: %w", rel, ErrNotFound)
	}
	data, err := readBlob(ctx, b.st, e.Digest, e.Size, limit)
	return data, e, err
}

// readBlob reads object d of the given size (limit bounds it), verified.
func readBlob(ctx context.Context, st cas.Getter, d digest.Digest, size, limit int64) ([]byte, error) {
	if size > limit {
		return nil, fmt.Errorf("%s is %d bytes, more than %d: %w", d, size, limit, errTooLarge)
	}
	rc, err := st.Open(ctx, d)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%s is more than %d bytes: %w", d, limit, errTooLarge)
	}
	return data, nil
}

// walk lists the files of the bundle (not the trees), depth first in tree
// order, at most max of them; more reports whether some were left out.
func (b *bundle) walk(ctx context.Context, max int) (files []fileEntry, more bool, err error) {
	var visit func(prefix string, d digest.Digest) error
	errFull := errors.New("full")
	visit = func(prefix string, d digest.Digest) error {
		t, err := b.tree(ctx, d)
		if err != nil {
			return err
		}
		for _, e := range t.Entries {
			p := prefix + e.Name
			if e.Mode == cas.ModeTree {
				if err := visit(p+"/", e.Digest); err != nil {
					return err
				}
				continue
			}
			if len(files) == max {
				return errFull
			}
			files = append(files, fileEntry{Path: p, Entry: e})
		}
		return nil
	}
	err = visit("", b.root)
	if err == errFull {
		return files, true, nil
	}
	return files, false, err
}

type fileEntry struct {
	Path string
	cas.Entry
}

// findRun resolves a run named in a request: a run id, or the digest (or
// a unique prefix) of a run bundle.
func findRun(ctx context.Context, st Store, arg string) (verify.RunInfo, error) {
	if arg == "" || len(arg) > 512 {
		return verify.RunInfo{}, fmt.Errorf("run %q: %w", arg, ErrBadRequest)
	}
	info, err := verify.FindRun(ctx, st, arg)
	if err != nil {
		return info, err
	}
	if info.RunID == "" {
		// Named by digest: it must be a tree holding a manifest.
		b := newBundle(st, info.Root)
		if _, err := b.lookup(ctx, verify.ManifestName); err != nil {
			if errors.Is(err, cas.ErrNotTree) || errors.Is(err, ErrNotFound) {
				return info, fmt.Errorf("%s is not a run bundle: %w", info.Root, ErrNotFound)
			}
			return info, err
		}
	}
	return info, nil
}
