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
	_, rec, err := s.lookup(ctx, d)
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

// lookup checks ctx and d and reads the record of object d. The caller
// holds s.enter.
func (s *Store) lookup(ctx context.Context, d digest.Digest) (sum, record, error) {
	if err := ctx.Err(); err != nil {
		return sum{}, record{}, err
	}
	sm, err := toSum(d)
	if err != nil {
		return sum{}, record{}, err
	}
	rec, err := s.getRecord(sm)
	return sm, rec, err
}

// Open returns a reader of object d's content. It returns an error wrapping
// [ErrNotFound] if d is not stored. The reader verifies while it reads:
// every chunk against its key and the whole content against d at the end.
// On damaged stored bytes Read returns an error wrapping [ErrDigestMismatch]
// (or [ErrUnknownFormat]) instead of io.EOF; a missing chunk gives an error
// wrapping [ErrNotFound] that names the chunk. Bytes of a chunk are
// returned only after that chunk verified. The caller must Close the
// reader; it is not safe for concurrent use. The reader is also an
// [io.WriterTo], which hands out the chunks without copying them.
func (s *Store) Open(ctx context.Context, d digest.Digest) (io.ReadCloser, error) {
	return s.OpenWith(ctx, d, OpenOptions{})
}

// OpenOptions tune [Store.OpenWith]. The zero value is [Store.Open]'s
// behaviour.
type OpenOptions struct {
	// WholeOnly checks only the whole content against the digest, at the
	// end, instead of each chunk against its key as well: every byte is
	// hashed once instead of twice. Bytes are handed out before they are
	// verified, so it is for readers that only trust the content after the
	// final Read (verification, checksumming, a server that holds back the
	// end of a response): damage still ends the stream with an error
	// wrapping [ErrDigestMismatch] instead of io.EOF, and the reader then
	// re-checks the chunks to name the damaged one.
	WholeOnly bool
}

// WholeOpener is implemented by stores that can open an object with
// [OpenOptions]; *Store does.
type WholeOpener interface {
	OpenWith(ctx context.Context, d digest.Digest, opts OpenOptions) (io.ReadCloser, error)
}

// OpenWhole opens d through g checking only the whole digest when g can
// ([WholeOpener], with [OpenOptions.WholeOnly]), else with g.Open. It is
// for callers that trust the content only after the final Read.
func OpenWhole(ctx context.Context, g Getter, d digest.Digest) (io.ReadCloser, error) {
	if wo, ok := g.(WholeOpener); ok {
		return wo.OpenWith(ctx, d, OpenOptions{WholeOnly: true})
	}
	return g.Open(ctx, d)
}

// OpenWith is [Store.Open] with options.
func (s *Store) OpenWith(ctx context.Context, d digest.Digest, opts OpenOptions) (io.ReadCloser, error) {
	if err := s.enter(); err != nil {
		return nil, err
	}
	defer s.leave()
	sm, rec, err := s.lookup(ctx, d)
	if err != nil {
		return nil, err
	}
	r, err := s.openRecord(sm, rec, opts)
	if err != nil {
		return nil, err // not a nil *objReader in a non-nil interface
	}
	return r, nil
}

// openRecord is OpenWith for an object whose record was read already.
func (s *Store) openRecord(sm sum, rec record, opts OpenOptions) (*objReader, error) {
	c, err := s.getCodec()
	if err != nil {
		return nil, err
	}
	r := &objReader{s: s, c: c, want: sm, size: rec.size, wholeOnly: opts.WholeOnly}
	if !rec.chunked {
		r.cur, r.err = decodeInline(c, sm, rec)
		r.done = r.err == nil
		return r, nil
	}
	r.chunks = rec.chunks
	r.whole = blake3.New()
	r.pending = r.fetch(0, nil)
	return r, nil
}

// decodeInline returns the content of an object stored inline, checked
// against its digest.
func decodeInline(c *codec, sm sum, rec record) ([]byte, error) {
	data, err := c.decode(nil, rec.inline, int(rec.size))
	switch {
	case err != nil:
		return nil, fmt.Errorf("%s: %w", sm.digest(), err)
	case blake3.Sum256(data) != sm:
		return nil, fmt.Errorf("%s: stored content does not hash to its digest: %w", sm.digest(), ErrDigestMismatch)
	}
	return data, nil
}

type fetched struct {
	data []byte
	err  error
}

// objReader streams an object, one chunk ahead: while the caller reads
// chunk i, a goroutine loads and verifies chunk i+1. The whole-content
// hash is taken by the caller's goroutine as each chunk arrives, in
// parallel with the next chunk's check; with WholeOnly, where there is no
// per-chunk check, by the fetch goroutine (the goroutine of chunk i+1
// starts after that of chunk i has delivered, so the hash sees the chunks
// in order).
type objReader struct {
	s         *Store
	c         *codec
	want      sum
	size      int64
	wholeOnly bool // chunks are not checked against their keys
	chunks    []chunkRef
	next      int // index of the chunk pending
	whole     *blake3.Hasher
	read      int64

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
	if cap(dst) < int(cr.size) {
		// Room for the largest chunk, so that the buffer is reused for
		// every chunk after (chunk sizes vary).
		dst = make([]byte, 0, max(int(cr.size), r.s.cdc.max))
	}
	go func() {
		b, err := r.s.loadChunk(cr, dst, !r.wholeOnly)
		if err == nil && r.wholeOnly {
			// The only hash: here, off the caller's goroutine.
			r.whole.Write(b)
		}
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

// WriteTo writes the rest of the content to w, chunk by chunk, without
// copying it into a caller's buffer. It ends with the error Read would
// return instead of io.EOF (nil at a verified end).
func (r *objReader) WriteTo(w io.Writer) (int64, error) {
	if r.closed {
		return 0, fmt.Errorf("cas: read %s: reader closed", r.want.digest())
	}
	var n int64
	for {
		if r.off < len(r.cur) {
			k, err := w.Write(r.cur[r.off:])
			r.off += k
			n += int64(k)
			if err != nil {
				return n, err
			}
			if r.off < len(r.cur) {
				return n, io.ErrShortWrite
			}
			continue
		}
		if r.err != nil {
			return n, r.err
		}
		if r.done {
			return n, nil
		}
		r.advance()
	}
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
			if r.wholeOnly {
				r.err = r.s.damagedChunk(r.want, r.chunks, r.err)
			}
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
	if !r.wholeOnly {
		// The chunk was hashed by the fetch goroutine, which now checks
		// the next one: the whole-content hash runs here, at the same time.
		r.whole.Write(r.cur)
	}
	r.read += int64(len(r.cur))
}

// damagedChunk names the first chunk of want that does not hash to its
// key, to say where the damage found by a whole-only read is; it returns
// whole when every chunk is sound (the object's record is then what is
// wrong).
func (s *Store) damagedChunk(want sum, chunks []chunkRef, whole error) error {
	var buf []byte
	for _, cr := range chunks {
		b, err := s.loadChunk(cr, buf, true)
		if err != nil {
			return fmt.Errorf("%s: %w", want.digest(), err)
		}
		buf = b
	}
	return whole
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

// loadChunk reads chunk cr into dst (reused if large enough) and, with
// check, verifies it against its key.
func (s *Store) loadChunk(cr chunkRef, dst []byte, check bool) ([]byte, error) {
	if err := s.enter(); err != nil {
		return nil, err
	}
	defer s.leave()
	c, err := s.getCodec()
	if err != nil {
		return nil, err
	}
	var out []byte
	if err := s.chunkValue(cr, func(v []byte) (err error) {
		out, err = c.decode(dst, v, int(cr.size))
		return err
	}); err != nil {
		return nil, err
	}
	if !check { // decode has checked the size
		return out, nil
	}
	if got := sum(blake3.Sum256(out)); got != cr.sum {
		return nil, fmt.Errorf("chunk %s: content hashes to %s: %w", cr.sum.digest(), got.digest(), ErrDigestMismatch)
	}
	return out, nil
}

// chunkValue calls fn with chunk cr's stored value, which is valid only
// during the call. Errors name the chunk: a missing one wraps
// [ErrNotFound], fn's error is wrapped as it is.
func (s *Store) chunkValue(cr chunkRef, fn func(v []byte) error) error {
	var fnErr error
	var ptr []byte
	err := s.db.View(func(txn *badger.Txn) error {
		item, err := txn.Get(chunkKey(cr.sum))
		if err != nil {
			return err
		}
		return item.Value(func(v []byte) error {
			if len(v) > 0 && v[0] == fmtPack {
				ptr = append(ptr, v...)
				return nil
			}
			fnErr = fn(v)
			return nil
		})
	})
	if err == nil && ptr != nil {
		fnErr = s.packValue(ptr, fn)
	}
	switch {
	case errors.Is(err, badger.ErrKeyNotFound):
		return fmt.Errorf("chunk %s: %w", cr.sum.digest(), ErrNotFound)
	case err != nil:
		return fmt.Errorf("chunk %s: %v", cr.sum.digest(), err)
	case fnErr != nil:
		return fmt.Errorf("chunk %s: %w", cr.sum.digest(), fnErr)
	}
	return nil
}

// packValue calls fn with the stored value that pack pointer ptr (a
// chunk entry's value) points at.
func (s *Store) packValue(ptr []byte, fn func(v []byte) error) error {
	p, err := decodePackPtr(ptr)
	if err != nil {
		return err
	}
	if s.packs == nil {
		return fmt.Errorf("pack pointer in a store without packs: %w", ErrNotFound)
	}
	return s.packs.view(p, fn)
}

// Verifier is implemented by stores that can check an object against its
// digest without handing its bytes out; *Store does.
type Verifier interface {
	Verify(ctx context.Context, d digest.Digest, progress func(n int64)) error
}

// Verify re-hashes object d from its stored bytes and checks them against
// d, handing no bytes out: the cheapest full check of an object. Raw chunks
// are hashed where they are stored (a pack's mapping), without a copy; compressed ones are
// decoded into one reused buffer. Each byte is hashed once (the whole
// content); on a mismatch the chunks are checked one by one to name the
// damaged one. The errors are those of a reader from [Store.Open]
// ([ErrNotFound], [ErrDigestMismatch], [ErrUnknownFormat]). progress, if
// not nil, is called with the bytes checked after each chunk.
func (s *Store) Verify(ctx context.Context, d digest.Digest, progress func(n int64)) error {
	if err := s.enter(); err != nil {
		return err
	}
	defer s.leave()
	sm, rec, err := s.lookup(ctx, d)
	if err != nil {
		return err
	}
	c, err := s.getCodec()
	if err != nil {
		return err
	}
	if !rec.chunked {
		if _, err := decodeInline(c, sm, rec); err != nil {
			return err
		}
		if progress != nil {
			progress(rec.size)
		}
		return nil
	}
	h := blake3.New()
	var buf []byte
	var read int64
	for _, cr := range rec.chunks {
		if err := ctx.Err(); err != nil {
			return err
		}
		err := s.chunkValue(cr, func(v []byte) error {
			if len(v) == int(cr.size)+1 && v[0] == fmtRaw {
				h.Write(v[1:]) // v is only valid in here: hash it in place
				return nil
			}
			out, err := c.decode(buf, v, int(cr.size))
			if err != nil {
				return err
			}
			h.Write(out)
			buf = out
			return nil
		})
		if err != nil {
			return fmt.Errorf("%s: %w", d, err)
		}
		read += int64(cr.size)
		if progress != nil {
			progress(int64(cr.size))
		}
	}
	var got sum
	h.Sum(got[:0])
	switch {
	case read != rec.size:
		return fmt.Errorf("%s: read %d bytes, want %d: %w", d, read, rec.size, ErrDigestMismatch)
	case got != sm:
		return s.damagedChunk(sm, rec.chunks, fmt.Errorf("%s: content hashes to %s: %w", d, got.digest(), ErrDigestMismatch))
	}
	return nil
}
