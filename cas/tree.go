package cas

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"strings"
	"time"

	badger "github.com/dgraph-io/badger/v4"
	digest "github.com/opencontainers/go-digest"
	"github.com/zeebo/blake3"
)

// Canonical tree encoding; see "Trees" in doc.go for a worked example.
//
//	tree  = magic count entry*
//	magic = 'r' 'g' 't' 0x01
//	count = uvarint                      number of entries
//	entry = mode namelen name size sum
//	mode  = byte                         Mode, 1..4
//	namelen = uvarint                    1..maxNameLen
//	size  = uvarint                      ≤ MaxInt64
//	sum   = 32 bytes                     raw BLAKE3 of the child
//
// Every uvarint is minimal; entries are sorted by name, bytewise, with no
// duplicates.
var treeMagic = []byte{'r', 'g', 't', 0x01}

const (
	maxNameLen = 1024
	// minEntryLen is the smallest encoded entry: mode, namelen, one name
	// byte, size, sum.
	minEntryLen = 1 + 1 + 1 + 1 + hashSize
	// maxTreeSize bounds the encoding ReadTree accepts (about 1.8 million
	// entries).
	maxTreeSize = 64 << 20
)

// checkName reports why name cannot be a tree entry name, or nil.
func checkName(name string) error {
	switch {
	case name == "":
		return errors.New("empty name")
	case name == "." || name == "..":
		return fmt.Errorf("name %q", name)
	case len(name) > maxNameLen:
		return fmt.Errorf("name of %d bytes exceeds %d", len(name), maxNameLen)
	case strings.ContainsAny(name, "/\x00"):
		return fmt.Errorf("name %q contains '/' or NUL", name)
	}
	return nil
}

func validMode(m Mode) bool { return m >= ModeFile && m <= ModeTree }

// EncodeTree returns the canonical encoding of t. It returns an error
// wrapping [ErrBadTree] if an entry has a bad name, mode, size or digest
// (only BLAKE3 digests), or the entries are not sorted by name with no
// duplicates. The encoding is the identity of the tree: equal trees encode
// to equal bytes.
func EncodeTree(t Tree) ([]byte, error) {
	b := make([]byte, 0, len(treeMagic)+binary.MaxVarintLen64+len(t.Entries)*(minEntryLen+16))
	b = append(b, treeMagic...)
	b = binary.AppendUvarint(b, uint64(len(t.Entries)))
	for i, e := range t.Entries {
		if err := checkName(e.Name); err != nil {
			return nil, fmt.Errorf("%w: entry %d: %v", ErrBadTree, i, err)
		}
		if i > 0 && t.Entries[i-1].Name >= e.Name {
			return nil, fmt.Errorf("%w: entry %q after %q: entries must be sorted by name, without duplicates", ErrBadTree, e.Name, t.Entries[i-1].Name)
		}
		if !validMode(e.Mode) {
			return nil, fmt.Errorf("%w: entry %q: mode %d", ErrBadTree, e.Name, e.Mode)
		}
		if e.Size < 0 {
			return nil, fmt.Errorf("%w: entry %q: size %d", ErrBadTree, e.Name, e.Size)
		}
		sm, err := toSum(e.Digest)
		if err != nil {
			return nil, fmt.Errorf("%w: entry %q: %v", ErrBadTree, e.Name, err)
		}
		b = append(b, byte(e.Mode))
		b = binary.AppendUvarint(b, uint64(len(e.Name)))
		b = append(b, e.Name...)
		b = binary.AppendUvarint(b, uint64(e.Size))
		b = append(b, sm[:]...)
	}
	return b, nil
}

// readUvarint decodes a minimal uvarint from b.
func readUvarint(b []byte) (uint64, []byte, bool) {
	x, n := binary.Uvarint(b)
	if n <= 0 {
		return 0, b, false
	}
	if n > 1 && b[n-1] == 0 { // a zero final byte means a non-minimal encoding
		return 0, b, false
	}
	return x, b[n:], true
}

// DecodeTree parses a canonical tree encoding. It is strict: anything
// [EncodeTree] would not produce (bad magic, non-minimal varints, unsorted or
// duplicate names, bad names, modes or sizes, truncated input, trailing
// bytes) gives an error wrapping [ErrBadTree]. Allocation is bounded by the
// length of b.
func DecodeTree(b []byte) (Tree, error) {
	if !bytes.HasPrefix(b, treeMagic) {
		return Tree{}, fmt.Errorf("%w: bad magic", ErrBadTree)
	}
	b = b[len(treeMagic):]
	count, b, ok := readUvarint(b)
	if !ok {
		return Tree{}, fmt.Errorf("%w: bad entry count", ErrBadTree)
	}
	if count > uint64(len(b)/minEntryLen) {
		return Tree{}, fmt.Errorf("%w: %d entries cannot fit in %d bytes", ErrBadTree, count, len(b))
	}
	t := Tree{Entries: make([]Entry, 0, count)}
	for i := uint64(0); i < count; i++ {
		if len(b) < 1 {
			return Tree{}, fmt.Errorf("%w: entry %d: truncated", ErrBadTree, i)
		}
		e := Entry{Mode: Mode(b[0])}
		if !validMode(e.Mode) {
			return Tree{}, fmt.Errorf("%w: entry %d: mode %d", ErrBadTree, i, b[0])
		}
		nl, rest, ok := readUvarint(b[1:])
		if !ok || nl == 0 || nl > maxNameLen || nl > uint64(len(rest)) {
			return Tree{}, fmt.Errorf("%w: entry %d: bad name length", ErrBadTree, i)
		}
		e.Name = string(rest[:nl])
		if err := checkName(e.Name); err != nil {
			return Tree{}, fmt.Errorf("%w: entry %d: %v", ErrBadTree, i, err)
		}
		if i > 0 && t.Entries[i-1].Name >= e.Name {
			return Tree{}, fmt.Errorf("%w: entry %q after %q: not sorted or duplicate", ErrBadTree, e.Name, t.Entries[i-1].Name)
		}
		size, rest, ok := readUvarint(rest[nl:])
		if !ok || size > math.MaxInt64 {
			return Tree{}, fmt.Errorf("%w: entry %q: bad size", ErrBadTree, e.Name)
		}
		e.Size = int64(size)
		if len(rest) < hashSize {
			return Tree{}, fmt.Errorf("%w: entry %q: truncated digest", ErrBadTree, e.Name)
		}
		var sm sum
		copy(sm[:], rest)
		e.Digest = sm.digest()
		b = rest[hashSize:]
		t.Entries = append(t.Entries, e)
	}
	if len(b) != 0 {
		return Tree{}, fmt.Errorf("%w: %d trailing bytes", ErrBadTree, len(b))
	}
	return t, nil
}

// PutTree stores t and returns its Info (Kind [KindTree]). Besides the
// checks of [EncodeTree] it requires every child to be stored, with the
// entry's size, and a [ModeTree] entry to point at a tree: otherwise it
// returns an error wrapping [ErrNotFound] or [ErrBadTree] and stores
// nothing.
func (s *Store) PutTree(ctx context.Context, t Tree) (Info, error) {
	b, err := EncodeTree(t)
	if err != nil {
		return Info{}, err
	}
	if err := s.enterWrite(); err != nil {
		return Info{}, err
	}
	defer s.leave()
	if err := ctx.Err(); err != nil {
		return Info{}, err
	}
	sm := sum(blake3.Sum256(b))
	if s.freshTree(sm, int64(len(b))) {
		// Stored, checked when it was, and recent: Put would not touch it.
		return Info{Digest: sm.digest(), Kind: KindTree, Size: int64(len(b))}, nil
	}
	if err := s.checkChildren(ctx, t); err != nil {
		return Info{}, err
	}
	return s.Put(ctx, bytes.NewReader(b), PutOptions{Kind: KindTree, Expected: sm.digest()})
}

// freshTree reports whether tree sm of the given size is stored with an
// intact record younger than touchAge, so that re-putting it would change
// nothing.
func (s *Store) freshTree(sm sum, size int64) bool {
	if k, ok := s.recall(sm); ok && k.kind == KindTree && k.size == size {
		return true
	}
	fresh := false
	_ = s.db.View(func(txn *badger.Txn) error {
		item, err := txn.Get(objectKey(sm))
		if err != nil {
			return err
		}
		return item.Value(func(v []byte) error {
			rec, err := decodeRecord(v)
			if err != nil || rec.kind != KindTree || rec.size != size || time.Since(rec.created) >= touchAge {
				return nil
			}
			if !rec.chunked {
				c, err := s.getCodec()
				if err != nil {
					return nil
				}
				data, err := c.decode(nil, rec.inline, int(rec.size))
				if err != nil || sum(blake3.Sum256(data)) != sm {
					return nil
				}
			}
			fresh = true
			return nil
		})
	})
	return fresh
}

func (s *Store) checkChildren(ctx context.Context, t Tree) error {
	return s.db.View(func(txn *badger.Txn) error {
		for i, e := range t.Entries {
			if i%256 == 0 {
				if err := ctx.Err(); err != nil {
					return err
				}
			}
			sm, _ := toSum(e.Digest) // validated by EncodeTree
			if k, ok := s.recall(sm); ok && k.size == e.Size && (e.Mode != ModeTree || k.kind == KindTree) {
				continue
			}
			item, err := txn.Get(objectKey(sm))
			if errors.Is(err, badger.ErrKeyNotFound) {
				return fmt.Errorf("tree entry %q: %s: %w", e.Name, e.Digest, ErrNotFound)
			}
			if err != nil {
				return fmt.Errorf("cas: put tree: %v", err)
			}
			var rec record
			var decErr error
			if err := item.Value(func(v []byte) error {
				rec, decErr = decodeRecord(v)
				return nil
			}); err != nil {
				return fmt.Errorf("cas: put tree: %v", err)
			}
			switch {
			case decErr != nil:
				return fmt.Errorf("tree entry %q: %s: %v: %w", e.Name, e.Digest, decErr, ErrDigestMismatch)
			case e.Mode == ModeTree && rec.kind != KindTree:
				return fmt.Errorf("%w: entry %q has mode tree but %s is a blob", ErrBadTree, e.Name, e.Digest)
			case rec.size != e.Size:
				return fmt.Errorf("%w: entry %q says %d bytes, %s has %d", ErrBadTree, e.Name, e.Size, e.Digest, rec.size)
			}
			s.remember(sm, rec.size, rec.kind)
		}
		return nil
	})
}

// ReadTree reads and decodes tree d, verifying it on the way. It returns an
// error wrapping [ErrNotFound] if d is not stored, [ErrNotTree] if d is a
// blob, [ErrBadTree] if the stored encoding does not decode, and
// [ErrDigestMismatch] if its stored bytes are damaged.
func (s *Store) ReadTree(ctx context.Context, d digest.Digest) (Tree, error) {
	if err := s.enter(); err != nil {
		return Tree{}, err
	}
	defer s.leave()
	if err := ctx.Err(); err != nil {
		return Tree{}, err
	}
	return s.readTree(ctx, d)
}

func (s *Store) readTree(ctx context.Context, d digest.Digest) (Tree, error) {
	// One read of the record serves both the kind check and the content.
	sm, rec, err := s.lookup(ctx, d)
	if err != nil {
		return Tree{}, err
	}
	if rec.kind != KindTree {
		return Tree{}, fmt.Errorf("%s: %w", d, ErrNotTree)
	}
	if rec.size > maxTreeSize {
		return Tree{}, fmt.Errorf("%s: %w: encoding of %d bytes exceeds %d", d, ErrBadTree, rec.size, maxTreeSize)
	}
	r, err := s.openRecord(sm, rec, OpenOptions{})
	if err != nil {
		return Tree{}, err
	}
	defer r.Close()
	b := make([]byte, 0, rec.size)
	b, err = readAllInto(b, r)
	if err != nil {
		return Tree{}, err
	}
	t, err := DecodeTree(b)
	if err != nil {
		return Tree{}, fmt.Errorf("%s: %w", d, err)
	}
	return t, nil
}

// readAllInto reads r to EOF, appending to b.
func readAllInto(b []byte, r io.Reader) ([]byte, error) {
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return b, err
		}
	}
}

// Walk calls fn for root and every object below it, depth-first, entries in
// tree order (a parent before its children), in the caller's goroutine.
// The root is reported with path "" and an Entry with empty Name, Mode
// [ModeTree] for a tree or [ModeFile] for a blob. Paths are slash-separated.
// If fn returns [fs.SkipDir] for a tree, Walk does not descend into it;
// [fs.SkipAll] ends the walk with nil; any other error ends it and is
// returned. A missing object gives an error wrapping [ErrNotFound] that
// names its path; a tree entry pointing at a blob, [ErrNotTree]. Walk
// uses an explicit stack, so depth is limited only by memory.
func (s *Store) Walk(ctx context.Context, root digest.Digest, fn WalkFunc) error {
	if err := s.enter(); err != nil {
		return err
	}
	defer s.leave()
	if err := ctx.Err(); err != nil {
		return err
	}
	info, err := s.Stat(ctx, root)
	if err != nil {
		return fmt.Errorf("cas: walk %q: %w", "", err)
	}
	re := Entry{Mode: ModeFile, Size: info.Size, Digest: root}
	if info.Kind == KindTree {
		re.Mode = ModeTree
	}
	switch err := fn("", re); {
	case err == fs.SkipAll || (err == fs.SkipDir && re.Mode == ModeTree):
		return nil
	case err != nil:
		return err
	}
	if re.Mode != ModeTree {
		return nil
	}
	t, err := s.readTree(ctx, root)
	if err != nil {
		return fmt.Errorf("cas: walk %q: %w", "", err)
	}
	// One path buffer for the whole walk: a frame keeps only the length of
	// its tree's path in it, so a deep chain of long names costs the
	// longest path, not one path per level (issue 10: 2,000 levels of
	// 1 KiB names held 2 GB).
	type frame struct {
		dirLen  int // len(path) of this tree in buf
		entries []Entry
	}
	var buf []byte
	stack := []frame{{0, t.Entries}}
	for len(stack) > 0 {
		if err := ctx.Err(); err != nil {
			return err
		}
		top := &stack[len(stack)-1]
		if len(top.entries) == 0 {
			stack = stack[:len(stack)-1]
			continue
		}
		e := top.entries[0]
		top.entries = top.entries[1:]
		buf = buf[:top.dirLen]
		if top.dirLen > 0 {
			buf = append(buf, '/')
		}
		buf = append(buf, e.Name...)
		p := string(buf)
		if e.Mode != ModeTree {
			ok, err := s.Has(ctx, e.Digest)
			if err != nil {
				return fmt.Errorf("cas: walk %q: %w", p, err)
			}
			if !ok {
				return fmt.Errorf("cas: walk %q: %s: %w", p, e.Digest, ErrNotFound)
			}
			if err := fn(p, e); err != nil {
				if err == fs.SkipAll {
					return nil
				}
				if err == fs.SkipDir {
					// Skip the rest of the enclosing tree, as fs.WalkDir does.
					top.entries = nil
					continue
				}
				return err
			}
			continue
		}
		sub, err := s.readTree(ctx, e.Digest)
		if err != nil {
			return fmt.Errorf("cas: walk %q: %w", p, err)
		}
		switch err := fn(p, e); err {
		case nil:
			stack = append(stack, frame{len(p), sub.Entries})
		case fs.SkipDir:
		case fs.SkipAll:
			return nil
		default:
			return err
		}
	}
	return nil
}
