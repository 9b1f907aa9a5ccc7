package cas

import (
	"context"
	"errors"
	"fmt"
	"io"

	badger "github.com/dgraph-io/badger/v4"
	digest "github.com/opencontainers/go-digest"
	"github.com/zeebo/blake3"
)

// Stat returns the Info of object d without reading its content. It returns
// an error wrapping [ErrNotFound] if d is not stored, [ErrBadDigest] or
// [ErrUnsupported] for a digest the store cannot hold, and
// [ErrDigestMismatch] if the object's record is damaged.
func (s *Store) Stat(ctx context.Context, d digest.Digest) (Info, error) {
	if err := s.enter(); err != nil {
		return Info{}, err
	}
	defer s.leave()
	if err := ctx.Err(); err != nil {
		return Info{}, err
	}
	sm, err := toSum(d)
	if err != nil {
		return Info{}, err
	}
	rec, err := s.getRecord(sm)
	if err != nil {
		return Info{}, err
	}
	return Info{Digest: d, Kind: rec.kind, Size: rec.size}, nil
}

// Has reports whether object d is stored. Chunks are not objects: Has
// reports false for a digest that is only stored as a chunk.
func (s *Store) Has(ctx context.Context, d digest.Digest) (bool, error) {
	if err := s.enter(); err != nil {
		return false, err
	}
	defer s.leave()
	if err := ctx.Err(); err != nil {
		return false, err
	}
	sm, err := toSum(d)
	if err != nil {
		return false, err
	}
	return s.hasKey(objectKey(sm))
}

// getRecord reads and decodes the record of object sm.
func (s *Store) getRecord(sm sum) (record, error) {
	var rec record
	var decErr error
	err := s.db.View(func(txn *badger.Txn) error {
		item, err := txn.Get(objectKey(sm))
		if err != nil {
			return err
		}
		v, err := item.ValueCopy(nil)
		if err != nil {
			return err
		}
		rec, decErr = decodeRecord(v)
		return nil
	})
	switch {
	case errors.Is(err, badger.ErrKeyNotFound):
		return rec, fmt.Errorf("%s: %w", sm.digest(), ErrNotFound)
	case err != nil:
		return rec, fmt.Errorf("cas: read %s: %v", sm.digest(), err)
	case decErr != nil:
		return rec, fmt.Errorf("%s: %v: %w", sm.digest(), decErr, ErrDigestMismatch)
	}
	return rec, nil
}

// Open returns a reader of object d's content. It returns an error wrapping
// [ErrNotFound] if d is not stored. The reader verifies while it reads:
// every chunk against its key and the whole content against d at the end.
// On damaged stored bytes Read returns an error wrapping [ErrDigestMismatch]
// (or [ErrUnknownFormat]) instead of io.EOF; a missing chunk gives an error
// wrapping [ErrNotFound] that names the chunk. Bytes of a chunk are
// returned only after that chunk verified. The caller must Close the
// reader; it is not safe for concurrent use.
func (s *Store) Open(ctx context.Context, d digest.Digest) (io.ReadCloser, error) {
	if err := s.enter(); err != nil {
		return nil, err
	}
	defer s.leave()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	sm, err := toSum(d)
	if err != nil {
		return nil, err
	}
	rec, err := s.getRecord(sm)
	if err != nil {
		return nil, err
	}
	c, err := s.getCodec()
	if err != nil {
		return nil, err
	}
	r := &objReader{s: s, c: c, want: sm, size: rec.size}
	if !rec.chunked {
		data, err := c.decode(nil, rec.inline, int(rec.size))
		switch {
		case err != nil:
			r.err = fmt.Errorf("%s: %w", d, err)
		case blake3.Sum256(data) != sm:
			r.err = fmt.Errorf("%s: stored content does not hash to its digest: %w", d, ErrDigestMismatch)
		default:
			r.cur = data
			r.done = true
		}
		return r, nil
	}
	r.chunks = rec.chunks
	r.whole = blake3.New()
	r.pending = r.fetch(0, nil)
	return r, nil
}

type fetched struct {
	data []byte
	err  error
}

// objReader streams an object, one chunk ahead: while the caller reads
// chunk i, a goroutine loads and verifies chunk i+1.
type objReader struct {
	s      *Store
	c      *codec
	want   sum
	size   int64
	chunks []chunkRef
	next   int // index of the chunk pending
	whole  *blake3.Hasher
	read   int64

	cur     []byte
	off     int
	spare   []byte // the buffer of the previous chunk, reused
	pending <-chan fetched
	done    bool // all content loaded and the whole digest checked
	err     error
	closed  bool
}

func (r *objReader) fetch(i int, dst []byte) <-chan fetched {
	ch := make(chan fetched, 1)
	cr := r.chunks[i]
	go func() {
		b, err := r.s.loadChunk(cr, dst)
		ch <- fetched{b, err}
	}()
	return ch
}

func (r *objReader) Read(p []byte) (int, error) {
	if r.closed {
		return 0, fmt.Errorf("cas: read %s: reader closed", r.want.digest())
	}
	for r.off == len(r.cur) {
		if r.err != nil {
			return 0, r.err
		}
		if r.done {
			return 0, io.EOF
		}
		r.advance()
	}
	n := copy(p, r.cur[r.off:])
	r.off += n
	return n, nil
}

// advance moves to the next chunk, or checks the whole digest after the
// last one.
func (r *objReader) advance() {
	if r.pending == nil {
		var got sum
		r.whole.Sum(got[:0])
		switch {
		case r.read != r.size:
			r.err = fmt.Errorf("%s: read %d bytes, want %d: %w", r.want.digest(), r.read, r.size, ErrDigestMismatch)
		case got != r.want:
			r.err = fmt.Errorf("%s: content hashes to %s: %w", r.want.digest(), got.digest(), ErrDigestMismatch)
		default:
			r.done = true
		}
		return
	}
	f := <-r.pending
	r.pending = nil
	if f.err != nil {
		r.err = fmt.Errorf("%s: %w", r.want.digest(), f.err)
		return
	}
	r.spare, r.cur, r.off = r.cur, f.data, 0
	r.next++
	if r.next < len(r.chunks) {
		r.pending = r.fetch(r.next, r.spare)
		r.spare = nil
	}
	r.whole.Write(r.cur)
	r.read += int64(len(r.cur))
}

// Close releases the reader. It always returns nil.
func (r *objReader) Close() error {
	if r.closed {
		return nil
	}
	r.closed = true
	if r.pending != nil {
		<-r.pending
		r.pending = nil
	}
	r.cur, r.spare = nil, nil
	return nil
}

// loadChunk reads chunk cr into dst (reused if large enough) and verifies it
// against its key.
func (s *Store) loadChunk(cr chunkRef, dst []byte) ([]byte, error) {
	if err := s.enter(); err != nil {
		return nil, err
	}
	defer s.leave()
	c, err := s.getCodec()
	if err != nil {
		return nil, err
	}
	var out []byte
	var decErr error
	err = s.db.View(func(txn *badger.Txn) error {
		item, err := txn.Get(chunkKey(cr.sum))
		if err != nil {
			return err
		}
		return item.Value(func(v []byte) error {
			out, decErr = c.decode(dst, v, int(cr.size))
			return nil
		})
	})
	switch {
	case errors.Is(err, badger.ErrKeyNotFound):
		return nil, fmt.Errorf("chunk %s: %w", cr.sum.digest(), ErrNotFound)
	case err != nil:
		return nil, fmt.Errorf("chunk %s: %v", cr.sum.digest(), err)
	case decErr != nil:
		return nil, fmt.Errorf("chunk %s: %w", cr.sum.digest(), decErr)
	}
	if got := sum(blake3.Sum256(out)); got != cr.sum {
		return nil, fmt.Errorf("chunk %s: content hashes to %s: %w", cr.sum.digest(), got.digest(), ErrDigestMismatch)
	}
	return out, nil
}
