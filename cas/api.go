package cas

import (
	"context"
	"errors"
	"io"
	"time"

	digest "github.com/opencontainers/go-digest"
)

// Error vocabulary. Callers branch on these with errors.Is; the text is
// what users see, so it is prefixed with the package name.
var (
	ErrNotFound       = errors.New("cas: blob not found")
	ErrDigestMismatch = errors.New("cas: digest mismatch")
	ErrSizeMismatch   = errors.New("cas: size mismatch")
	ErrBadDigest      = errors.New("cas: malformed digest")
	ErrUnsupported    = errors.New("cas: unsupported digest algorithm")
	ErrAmbiguous      = errors.New("cas: ambiguous digest prefix")
	ErrUnknownFormat  = errors.New("cas: unknown stored value format")
	ErrNotTree        = errors.New("cas: object is not a tree")
	ErrBadTree        = errors.New("cas: malformed tree")
	ErrRefConflict    = errors.New("cas: ref changed concurrently")
	ErrRefNotFound    = errors.New("cas: ref not found")
	ErrBadRefName     = errors.New("cas: malformed ref name")
	ErrNotStore       = errors.New("cas: not a rigor store")
	ErrStoreExists    = errors.New("cas: store already exists")
	ErrLocked         = errors.New("cas: store is locked by another process")
	ErrClosed         = errors.New("cas: store is closed")
	ErrReadOnly       = errors.New("cas: store is opened read-only")
)

// Kind says what an object is. Persisted: do not reorder; append only.
type Kind uint8

const (
	KindBlob Kind = 1 // plain bytes
	KindTree Kind = 2 // canonical tree encoding (see [EncodeTree])
)

// Mode is the kind of a tree entry. Persisted: do not reorder; append only.
type Mode uint8

const (
	ModeFile    Mode = 1 // regular file, content is a blob
	ModeExec    Mode = 2 // executable regular file, content is a blob
	ModeSymlink Mode = 3 // symbolic link, content is a blob holding the target
	ModeTree    Mode = 4 // subdirectory, content is a tree
)

// Info describes a stored object.
type Info struct {
	Digest digest.Digest
	Kind   Kind
	Size   int64 // logical (uncompressed) size in bytes
}

// Entry is one named child of a tree.
type Entry struct {
	Name   string // a single path element: no "/", no NUL, not "." or ".."
	Mode   Mode
	Size   int64 // blob size, or for a tree the size of its canonical encoding
	Digest digest.Digest
}

// Tree is a Merkle directory: entries sorted by name (byte order), names unique.
type Tree struct {
	Entries []Entry
}

// PutOptions are the optional checks of [Putter.Put]. The zero value checks nothing.
type PutOptions struct {
	Kind     Kind          // 0 means KindBlob
	Expected digest.Digest // if set, content must hash to it or nothing is committed
	Size     int64         // if > 0, content must have this size or nothing is committed
}

// Getter reads objects. Readers verify while they read: on corrupt stored bytes
// Read returns an error wrapping [ErrDigestMismatch] instead of io.EOF. The
// caller closes the reader.
type Getter interface {
	Open(ctx context.Context, d digest.Digest) (io.ReadCloser, error)
	Stat(ctx context.Context, d digest.Digest) (Info, error)
}

// Putter stores objects, streaming: memory stays bounded whatever the size.
type Putter interface {
	Put(ctx context.Context, r io.Reader, opts PutOptions) (Info, error)
}

// WalkFunc is called for each object reached by [Walker.Walk]; path is the
// slash-separated path from the root ("" for the root itself).
type WalkFunc func(path string, e Entry) error

// Walker walks the DAG below a root, depth-first, entries in tree order.
type Walker interface {
	Walk(ctx context.Context, root digest.Digest, fn WalkFunc) error
}

// Refs are named pointers to objects, updated with compare-and-swap.
type Refs interface {
	// GetRef returns [ErrRefNotFound] when name is unset.
	GetRef(ctx context.Context, name string) (digest.Digest, error)
	// SetRef sets name to new if it currently points at old ("" means: must not exist).
	// Otherwise it returns [ErrRefConflict] and changes nothing.
	SetRef(ctx context.Context, name string, old, new digest.Digest) error
	DeleteRef(ctx context.Context, name string, old digest.Digest) error
	// ListRefs calls fn for each ref whose name starts with prefix, in name order.
	ListRefs(ctx context.Context, prefix string, fn func(name string, d digest.Digest) error) error
}

// Indexer keeps secondary indexes: small key/value records under a named
// index, written by later layers (lineage, attempts) and scanned by prefix.
type Indexer interface {
	PutIndex(ctx context.Context, index string, key, value []byte) error
	ScanIndex(ctx context.Context, index string, prefix []byte, fn func(key, value []byte) error) error
}

// StatCache remembers which digest a file had, keyed by path, so an unchanged
// file need not be re-read.
type StatCache interface {
	LookupStat(ctx context.Context, key StatKey) (digest.Digest, bool, error)
	RememberStat(ctx context.Context, key StatKey, d digest.Digest) error
}

// StatKey identifies a file version without reading it.
type StatKey struct {
	Path  string // absolute path
	Size  int64
	Mtime time.Time
	Inode uint64
	Ctime time.Time
}
