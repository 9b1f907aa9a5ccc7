package exec

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"
	"strings"

	digest "github.com/opencontainers/go-digest"

	"github.com/rigor-dev/rigor/cas"
	"github.com/rigor-dev/rigor/spec"
)

// bundleStore is what recording needs of a store.
type bundleStore interface {
	cas.Putter
	PutTree(ctx context.Context, t cas.Tree) (cas.Info, error)
}

// treeBuilder assembles the run bundle from entries named by slash paths.
type treeBuilder struct {
	root *dirNode
}

type dirNode struct {
	entries map[string]cas.Entry // files and finished trees
	dirs    map[string]*dirNode  // trees still being built
}

func newDir() *dirNode {
	return &dirNode{entries: map[string]cas.Entry{}, dirs: map[string]*dirNode{}}
}

func newTreeBuilder() *treeBuilder { return &treeBuilder{root: newDir()} }

// add places e at p. It fails if p, or a directory on the way, is taken.
func (b *treeBuilder) add(p string, e cas.Entry) error {
	elems := strings.Split(p, "/")
	d := b.root
	for _, el := range elems[:len(elems)-1] {
		if _, ok := d.entries[el]; ok {
			return fmt.Errorf("exec: bundle path %s: %s is not a directory", p, el)
		}
		next, ok := d.dirs[el]
		if !ok {
			next = newDir()
			d.dirs[el] = next
		}
		d = next
	}
	name := elems[len(elems)-1]
	if _, ok := d.entries[name]; ok {
		return fmt.Errorf("exec: bundle path %s is taken", p)
	}
	if _, ok := d.dirs[name]; ok {
		return fmt.Errorf("exec: bundle path %s is taken", p)
	}
	e.Name = name
	d.entries[name] = e
	return nil
}

// put stores every tree, deepest first, and returns the root.
func (b *treeBuilder) put(ctx context.Context, s bundleStore) (cas.Info, error) {
	return putDir(ctx, s, b.root)
}

func putDir(ctx context.Context, s bundleStore, d *dirNode) (cas.Info, error) {
	var t cas.Tree
	for _, e := range d.entries {
		t.Entries = append(t.Entries, e)
	}
	for name, sub := range d.dirs {
		info, err := putDir(ctx, s, sub)
		if err != nil {
			return cas.Info{}, err
		}
		t.Entries = append(t.Entries, cas.Entry{Name: name, Mode: cas.ModeTree, Size: info.Size, Digest: info.Digest})
	}
	slices.SortFunc(t.Entries, func(a, b cas.Entry) int { return strings.Compare(a.Name, b.Name) })
	return s.PutTree(ctx, t)
}

// putBytes stores b and returns its entry and SHA-256.
func putBytes(ctx context.Context, s cas.Putter, b []byte) (cas.Entry, string, error) {
	info, err := s.Put(ctx, bytes.NewReader(b), cas.PutOptions{})
	if err != nil {
		return cas.Entry{}, "", err
	}
	sum := sha256.Sum256(b)
	return cas.Entry{Mode: cas.ModeFile, Size: info.Size, Digest: info.Digest}, hex.EncodeToString(sum[:]), nil
}

// putFile stores the file at p, streaming, and returns its entry and
// SHA-256, computed in the same pass.
func putFile(ctx context.Context, s cas.Putter, p string) (cas.Entry, string, error) {
	f, err := os.Open(p)
	if err != nil {
		return cas.Entry{}, "", err
	}
	defer f.Close()
	h := sha256.New()
	info, err := s.Put(ctx, io.TeeReader(f, h), cas.PutOptions{})
	if err != nil {
		return cas.Entry{}, "", err
	}
	return cas.Entry{Mode: cas.ModeFile, Size: info.Size, Digest: info.Digest}, hex.EncodeToString(h.Sum(nil)), nil
}

// fileRef is the manifest record of a bundle file.
func fileRef(p string, e cas.Entry, sha string) *spec.FileRef {
	size := e.Size
	return &spec.FileRef{Path: p, SHA256: sha, BLAKE3: e.Digest.String(), Size: &size}
}

// bundleReader is what reading a stored bundle needs.
type bundleReader interface {
	cas.Getter
	ReadTree(ctx context.Context, d digest.Digest) (cas.Tree, error)
}

// BundleFiles gives [spec.CheckRunManifest] and [spec.CompareRunManifests]
// the files of a stored run bundle: SHA256 finds rel below root, reads the
// blob (verified against its BLAKE3 digest on the way) and hashes it. A
// missing path, or one that names a tree, wraps fs.ErrNotExist. It is not
// safe for concurrent use.
func BundleFiles(ctx context.Context, s bundleReader, root digest.Digest) spec.RunFiles {
	return &bundleFiles{ctx: ctx, s: s, root: root, trees: map[digest.Digest]cas.Tree{}}
}

type bundleFiles struct {
	ctx   context.Context // the files interface has no ctx; BundleFiles' caller bounds it
	s     bundleReader
	root  digest.Digest
	trees map[digest.Digest]cas.Tree
}

func (b *bundleFiles) SHA256(rel string) (string, error) {
	e, err := cas.Find(b.ctx, b.s, b.root, rel, b.trees)
	if err != nil {
		return "", err
	}
	if e.Mode == cas.ModeTree {
		return "", fmt.Errorf("%s is a directory: %w", rel, fs.ErrNotExist)
	}
	rc, err := b.s.Open(b.ctx, e.Digest)
	if err != nil {
		return "", err
	}
	defer rc.Close()
	h := sha256.New()
	if _, err := io.Copy(h, rc); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// ReadBundleFile returns the bytes of the file at the slash path rel of
// the run bundle root, verified as they are read. It returns an error
// wrapping fs.ErrNotExist when there is no such file, and refuses a file
// larger than limit bytes.
func ReadBundleFile(ctx context.Context, s bundleReader, root digest.Digest, rel string, limit int64) ([]byte, error) {
	return readBundleFile(ctx, s, root, rel, limit)
}

func readBundleFile(ctx context.Context, s bundleReader, root digest.Digest, rel string, limit int64) ([]byte, error) {
	e, err := cas.Find(ctx, s, root, rel, nil)
	if err != nil {
		return nil, err
	}
	if e.Mode == cas.ModeTree {
		return nil, fmt.Errorf("%s is a directory: %w", rel, fs.ErrNotExist)
	}
	if e.Size > limit {
		return nil, fmt.Errorf("exec: %s is %d bytes, more than %d", rel, e.Size, limit)
	}
	rc, err := s.Open(ctx, e.Digest)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(io.LimitReader(rc, limit))
}

// ReadManifest returns the manifest.json of the run bundle root, as stored
// and decoded. It returns an error wrapping [ErrNotRun] when root is not a
// tree holding a manifest.json.
func ReadManifest(ctx context.Context, s bundleReader, root digest.Digest) ([]byte, *spec.RunManifest, error) {
	b, err := readBundleFile(ctx, s, root, "manifest.json", 64<<20)
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, cas.ErrNotTree) {
		return nil, nil, fmt.Errorf("%s: %w", root, ErrNotRun)
	}
	if err != nil {
		return nil, nil, err
	}
	m := new(spec.RunManifest)
	if err := jsonUnmarshal(b, m); err != nil {
		return b, nil, fmt.Errorf("%s: manifest.json: %w", root, err)
	}
	return b, m, nil
}
