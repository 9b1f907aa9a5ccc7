package cas

import (
	"context"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"

	digest "github.com/opencontainers/go-digest"
)

// TreeReader reads tree objects; [*Store] implements it.
type TreeReader interface {
	ReadTree(ctx context.Context, d digest.Digest) (Tree, error)
}

// Find returns the entry at the slash path rel below the tree root, walking
// one tree per path element (binary search: entries are sorted). rel is
// cleaned first; a path that does not exist, or that descends through
// something that is not a tree, gives an error wrapping fs.ErrNotExist that
// names rel. Errors reading a tree are returned as they are (for a root that
// is a blob, one wrapping [ErrNotTree]). If cache is not nil, trees are
// looked up in it first and the trees read are added to it; the caller owns
// the map, which is not safe for concurrent use.
func Find(ctx context.Context, r TreeReader, root digest.Digest, rel string, cache map[digest.Digest]Tree) (Entry, error) {
	cur := Entry{Mode: ModeTree, Digest: root}
	for _, el := range strings.Split(path.Clean(rel), "/") {
		if cur.Mode != ModeTree {
			return Entry{}, fmt.Errorf("%s: %w", rel, fs.ErrNotExist)
		}
		t, ok := cache[cur.Digest]
		if !ok {
			var err error
			if t, err = r.ReadTree(ctx, cur.Digest); err != nil {
				return Entry{}, err
			}
			if cache != nil {
				cache[cur.Digest] = t
			}
		}
		i, found := slices.BinarySearchFunc(t.Entries, el, func(e Entry, name string) int { return strings.Compare(e.Name, name) })
		if !found {
			return Entry{}, fmt.Errorf("%s: %w", rel, fs.ErrNotExist)
		}
		cur = t.Entries[i]
	}
	return cur, nil
}
