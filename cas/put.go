package cas

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	badger "github.com/dgraph-io/badger/v4"
	"github.com/zeebo/blake3"
)

// putStats counts what one Put did. Tests use it to check deduplication.
type putStats struct {
	chunks    int   // chunks the object consists of (0 when stored inline)
	newChunks int   // chunks written because they were not stored yet
	stored    int64 // bytes of stored values written for chunks
}

// touchAge: re-putting an object whose record is older than this rewrites
// the record with a fresh creation time, so GC's grace period protects it
// again.
const touchAge = time.Hour

// readStep is how much the chunker reads at a time while looking for a
// boundary; it bounds the bytes copied to the next chunk buffer after a cut.
const readStep = 128 << 10

// bufList is a bounded free list of buffers. Unlike a sync.Pool it is not
// emptied by garbage collections, so an add of a large tree keeps reusing
// the same resident buffers instead of taking fresh pages from the
// kernel (and giving them back) after every collection: on the 2-core
// VM a fresh page costs a fault and a zero-fill, tens of thousands of
// them in an add. At most cap buffers are kept; a buffer that does not
// fit is given to drop, if set.
type bufList struct {
	free chan *[]byte
	make func() *[]byte
	drop func(*[]byte)
}

func newBufList(n int, mk func() *[]byte) *bufList {
	return &bufList{free: make(chan *[]byte, n), make: mk}
}

// Get returns a free buffer or a new one.
func (l *bufList) Get() *[]byte {
	select {
	case b := <-l.free:
		return b
	default:
		return l.make()
	}
}

// Put keeps b for reuse, unless the list is full.
func (l *bufList) Put(b *[]byte) {
	select {
	case l.free <- b:
	default:
		if l.drop != nil {
			l.drop(b)
		}
	}
}

var (
	// chunkBufs hold one chunk each: byte 0 is reserved for the format
	// byte, so a raw chunk is stored without copying. Two Puts of the
	// default depth keep 8 in flight.
	// They are hugeBufs, outside the heap.
	chunkBufs = func() *bufList {
		l := newBufList(12, func() *[]byte { b := hugeBuf(1 + maxChunk); return &b })
		l.drop = func(b *[]byte) { freeBuf(*b) }
		return l
	}()
	// compBufs receive compressed chunks.
	// Room for a whole chunk: a value that would not fit is not worth
	// compressing. They are hugeBufs too.
	compBufs = func() *bufList {
		l := newBufList(12, func() *[]byte { b := hugeBuf(maxChunk + maxChunk/8)[:0]; return &b })
		l.drop = func(b *[]byte) { freeBuf(*b) }
		return l
	}()
	// smallBufs receive compressed content stored whole (under a
	// chunk's minimum): ordinary heap buffers, since the huge pages of a
	// compBuf would be zeroed 2 MiB at a time for a few KiB.
	smallBufs = newBufList(8, func() *[]byte { b := make([]byte, 0, minChunk+minChunk/8); return &b })
	// headBufs receive the first minChunk bytes of every Put, which decide
	// between an inline and a chunked object.
	headBufs = newBufList(8, func() *[]byte { b := make([]byte, minChunk); return &b })
)

// Put reads r to EOF and stores its content as one object of kind
// opts.Kind, returning its [Info]. Content below 768 KiB (128 KiB in
// memory) is stored whole: inline in the object record, or on disk from 4
// KiB as one chunk in a pack, keyed by the object's own digest; larger
// content is split into content-defined chunks,
// each stored once under its own BLAKE3 (chunks already stored are not
// written again). Memory stays bounded whatever the size of the content.
//
// If opts.Expected or opts.Size is set and the content does not match, Put
// returns an error wrapping [ErrDigestMismatch] or [ErrSizeMismatch] and the
// object is not committed (chunks it wrote stay invisible until GC removes
// them). A cancelled ctx stops Put with ctx.Err(); errors reading r are
// returned wrapped. Putting content that is already stored is cheap and
// returns the stored Info; content stored as a blob and later put as a tree
// becomes a tree (the kind never goes back), so Info.Kind is the stored kind.
// Put does not close r.
func (s *Store) Put(ctx context.Context, r io.Reader, opts PutOptions) (Info, error) {
	info, _, err := s.put(ctx, r, opts)
	return info, err
}

func (s *Store) put(ctx context.Context, r io.Reader, opts PutOptions) (Info, putStats, error) {
	var st putStats
	if err := s.enterWrite(); err != nil {
		return Info{}, st, err
	}
	defer s.leave()
	if err := ctx.Err(); err != nil {
		return Info{}, st, err
	}
	kind := opts.Kind
	if kind == 0 {
		kind = KindBlob
	}
	if kind != KindBlob && kind != KindTree {
		return Info{}, st, fmt.Errorf("cas: put: unknown kind %d (want KindBlob or KindTree)", kind)
	}
	var want *sum
	if opts.Expected != "" {
		w, err := toSum(opts.Expected)
		if err != nil {
			return Info{}, st, fmt.Errorf("cas: put: expected digest: %w", err)
		}
		want = &w
	}
	c, err := s.getCodec()
	if err != nil {
		return Info{}, st, err
	}
	if opts.Size > 0 {
		r = io.LimitReader(r, opts.Size+1)
	}

	s.gcMu.RLock()
	defer s.gcMu.RUnlock()

	hb := headBufs.Get()
	defer headBufs.Put(hb)
	n, err := io.ReadFull(r, (*hb)[:s.cdc.min])
	switch {
	case err == io.EOF || err == io.ErrUnexpectedEOF:
		info, err := s.putInline(ctx, c, (*hb)[:n], kind, opts, want)
		return info, st, err
	case err != nil:
		return Info{}, st, fmt.Errorf("cas: put: read: %w", err)
	}
	return s.putChunked(ctx, c, (*hb)[:n], r, kind, opts, want)
}

func (s *Store) putInline(ctx context.Context, c *codec, data []byte, kind Kind, opts PutOptions, want *sum) (Info, error) {
	if opts.Size > 0 && int64(len(data)) != opts.Size {
		return Info{}, fmt.Errorf("cas: put: read %d bytes, want %d: %w", len(data), opts.Size, ErrSizeMismatch)
	}
	sm := sum(blake3.Sum256(data))
	if want != nil && sm != *want {
		return Info{}, fmt.Errorf("cas: put: content is %s, want %s: %w", sm.digest(), want.digest(), ErrDigestMismatch)
	}
	if err := ctx.Err(); err != nil {
		return Info{}, err
	}
	if s.packs != nil && len(data) >= packSmall {
		return s.putPackedSmall(c, sm, data, kind)
	}
	rec := &record{kind: kind, size: int64(len(data)), created: time.Now(), inline: c.encode(data)}
	info, err := s.commitObject(c, sm, rec, nil)
	if err == nil && len(rec.inline) >= valueThreshold {
		s.noteWritten(len(rec.inline))
	}
	return info, err
}

// packSmall: content from this size up to a chunk's minimum is stored as
// one chunk in a pack (its chunk sum is the object's digest, hashed once)
// instead of inline in its record, keeping Badger's value log, with its
// single writer and its zero-filled mapped pages, out of an add of many
// small files. Smaller content stays inline.
const packSmall = 4 << 10

// putPackedSmall stores data, whose BLAKE3 is sm, as an object of one
// chunk: the value goes to a pack unless the chunk is stored already, and
// the chunk's pointer is committed with the record.
func (s *Store) putPackedSmall(c *codec, sm sum, data []byte, kind Kind) (Info, error) {
	var ptr []byte
	ok, err := s.hasKey(chunkKey(sm))
	if err != nil {
		return Info{}, err
	}
	if !ok {
		// Pooled buffers and a raw value written from data itself: an add
		// of thousands of small files allocates nothing per file here.
		cb := smallBufs.Get()
		out, compressed := c.compressInto((*cb)[:0], data, nil, 0)
		format, payload := fmtRaw, data
		if compressed {
			format, payload = out[0], out[1:]
		}
		ptr, _, err = s.writePacked(sm, format, payload, false)
		smallBufs.Put(cb)
		if err != nil {
			return Info{}, err
		}
	}
	rec := &record{kind: kind, size: int64(len(data)), created: time.Now(), chunked: true,
		chunks: []chunkRef{{sum: sm, size: int64(len(data))}}}
	return s.commitObject(c, sm, rec, ptr)
}

// commitObject writes the record of object sm unless an equivalent, recent
// and intact record is already there. It returns the stored object's Info.
// A non-nil chunkPtr is the pack pointer of the object's one chunk, whose
// sum is sm, set in the same transaction unless the chunk is there.
func (s *Store) commitObject(c *codec, sm sum, rec *record, chunkPtr []byte) (Info, error) {
	if err := s.checkSpace(len(rec.inline)); err != nil {
		return Info{}, fmt.Errorf("cas: put: %w", err)
	}
	key := objectKey(sm)
	for {
		err := s.db.Update(func(txn *badger.Txn) error {
			if chunkPtr != nil {
				switch _, err := txn.Get(chunkKey(sm)); {
				case errors.Is(err, badger.ErrKeyNotFound):
					if err := txn.Set(chunkKey(sm), chunkPtr); err != nil {
						return err
					}
				case err != nil:
					return err
				}
			}
			item, err := txn.Get(key)
			switch {
			case errors.Is(err, badger.ErrKeyNotFound):
				return txn.Set(key, rec.encode())
			case err != nil:
				return err
			}
			var old record
			var oldErr error
			if err := item.Value(func(v []byte) error {
				old, oldErr = decodeRecord(v)
				if oldErr == nil && !old.chunked {
					// Inline content is cheap to check: re-putting repairs it.
					if data, err := c.decode(nil, old.inline, int(old.size)); err != nil || blake3.Sum256(data) != sm {
						oldErr = ErrDigestMismatch
					}
					old.inline = nil // v is valid only in this function
				}
				return nil
			}); err != nil {
				return err
			}
			if oldErr == nil && old.size == rec.size {
				if old.kind == KindTree {
					rec.kind = KindTree
				}
				if old.kind == rec.kind && time.Since(old.created) < touchAge {
					return nil
				}
			}
			// A damaged old record is replaced by the good new one.
			return txn.Set(key, rec.encode())
		})
		if errors.Is(err, badger.ErrConflict) {
			continue
		}
		if err != nil {
			return Info{}, fmt.Errorf("cas: put %s: %v", sm.digest(), err)
		}
		s.remember(sm, rec.size, rec.kind)
		return Info{Digest: sm.digest(), Kind: rec.kind, Size: rec.size}, nil
	}
}

// chunkJob is one chunk on its way through the Put pipeline: the chunker
// fills it, the whole-stream hasher and a worker (hash, dedup check,
// compress) process it concurrently, the writer commits it. It goes back to
// the pool when both the hasher and the writer are done with it.
type chunkJob struct {
	idx  int
	off  int64   // offset of the chunk in the content
	buf  *[]byte // pooled; (*buf)[0] is the raw format byte
	n    int
	sum  sum
	val  []byte  // stored value to write; nil if already stored
	comp *[]byte // pooled buffer behind val, if compressed
	// packed is the length of the value written to a pack file, when
	// val is the pointer to it, and seq what syncDirect must reach
	// before the pointer is committed.
	packed int
	seq    int64
	refs   atomic.Int32
}

func (j *chunkJob) data() []byte { return (*j.buf)[1 : 1+j.n] }

func (s *Store) putChunked(parent context.Context, c *codec, head []byte, r io.Reader, kind Kind, opts PutOptions, want *sum) (Info, putStats, error) {
	var st putStats
	ctx, cancel := context.WithCancelCause(parent)
	defer cancel(nil)

	conc := s.opts.Concurrency
	depth := conc + 2 // chunks in flight: bounds memory to depth × 1.5 × maxChunk
	sem := make(chan struct{}, depth)
	workCh := make(chan *chunkJob, depth)
	hashCh := make(chan *chunkJob, depth)
	writeCh := make(chan *chunkJob, depth)

	release := func(j *chunkJob) {
		if j.refs.Add(-1) != 0 {
			return
		}
		chunkBufs.Put(j.buf)
		if j.comp != nil {
			compBufs.Put(j.comp)
		}
		<-sem
	}
	newJob := func() *chunkJob {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			return nil
		}
		j := &chunkJob{buf: chunkBufs.Get()}
		(*j.buf)[0] = fmtRaw
		return j
	}

	// Whole-stream hash, in order.
	whole := blake3.New()
	hashDone := make(chan struct{})
	go func() {
		defer close(hashDone)
		for j := range hashCh {
			whole.Write(j.data())
			release(j)
		}
	}()

	// Workers: chunk hash, dedup check, compression.
	var hint codecHint
	var seenMu sync.Mutex
	seen := make(map[sum]bool)
	var wg sync.WaitGroup
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range workCh {
				if ctx.Err() == nil {
					s.prepareChunk(ctx, c, j, &hint, &seenMu, seen, cancel)
				}
				writeCh <- j
			}
		}()
	}

	// Writer: batches new chunks into transactions of bounded size.
	var chunks []chunkRef
	writeDone := make(chan struct{})
	go func() {
		defer close(writeDone)
		var txn *badger.Txn
		var pending []*chunkJob // jobs whose buffers the transaction references
		var pendingN, pendingBytes int
		var seq int64 // direct pack writes the transaction's pointers need
		var commits sync.WaitGroup
		// flush commits asynchronously: Badger applies commits in order, and
		// the jobs (whose buffers the transaction references) are released
		// when their commit is done. Pointers into packs are committed only
		// once their values are written.
		flush := func() {
			if txn == nil {
				return
			}
			if err := s.packs.syncDirect(seq); err != nil {
				// The values are not all written: none of these pointers
				// may be committed.
				cancel(fmt.Errorf("cas: put: write chunks: %w", err))
				txn.Discard()
				for _, j := range pending {
					release(j)
				}
				txn, pending, pendingN, pendingBytes = nil, nil, 0, 0
				return
			}
			jobs, bytes := pending, pendingBytes
			commits.Add(1)
			txn.CommitWith(func(err error) {
				if err != nil {
					cancel(fmt.Errorf("cas: put: write chunks: %v", err))
				} else {
					s.noteWritten(bytes)
				}
				for _, j := range jobs {
					release(j)
				}
				commits.Done()
			})
			txn, pending, pendingN, pendingBytes = nil, nil, 0, 0
		}
		defer commits.Wait()
		for j := range writeCh {
			for len(chunks) <= j.idx {
				chunks = append(chunks, chunkRef{})
			}
			chunks[j.idx] = chunkRef{sum: j.sum, size: int64(j.n)}
			if j.val == nil || ctx.Err() != nil {
				release(j)
				continue
			}
			// On disk the value went to a pack, with its space checked,
			// and val is the pointer; in memory nothing is checked.
			if txn == nil {
				txn = s.db.NewTransaction(true)
			}
			e := badger.NewEntry(chunkKey(j.sum), j.val)
			err := txn.SetEntry(e)
			if errors.Is(err, badger.ErrTxnTooBig) {
				flush()
				txn = s.db.NewTransaction(true)
				err = txn.SetEntry(e)
			}
			if err != nil {
				cancel(fmt.Errorf("cas: put: write chunks: %v", err))
				release(j)
				continue
			}
			st.newChunks++
			st.stored += int64(max(j.packed, len(j.val)))
			pendingN++
			pendingBytes += len(j.val)
			seq = max(seq, j.seq)
			if j.packed > 0 {
				// val is a pointer of its own: the chunk's buffers are free.
				release(j)
				if pendingN >= 256 {
					flush()
				}
				continue
			}
			pending = append(pending, j)
			if len(pending) >= depth/2 || pendingBytes >= 32<<20 {
				flush()
			}
		}
		flush()
	}()

	// Chunker, in this goroutine.
	var total int64
	readErr := func() error {
		cut := cutter{p: s.cdc}
		cur := newJob()
		if cur == nil {
			return nil
		}
		data := (*cur.buf)[1:]
		n := copy(data, head)
		total = int64(n)
		eof := false
		idx := 0
		var off int64
		for {
			k := cut.next(data[:n])
			if k < 0 && !eof {
				m, err := io.ReadFull(r, data[n:min(n+readStep, s.cdc.max)])
				n += m
				total += int64(m)
				if err == io.EOF || err == io.ErrUnexpectedEOF {
					eof = true
				} else if err != nil {
					chunkBufs.Put(cur.buf)
					<-sem
					return fmt.Errorf("cas: put: read: %w", err)
				}
				if opts.Size > 0 && total > opts.Size {
					chunkBufs.Put(cur.buf)
					<-sem
					return fmt.Errorf("cas: put: content exceeds %d bytes: %w", opts.Size, ErrSizeMismatch)
				}
				continue
			}
			if k < 0 {
				k = n
			}
			if k == 0 { // end of stream right after a cut
				chunkBufs.Put(cur.buf)
				<-sem
				return nil
			}
			var next *chunkJob
			if n > k || !eof {
				if next = newJob(); next == nil {
					chunkBufs.Put(cur.buf)
					<-sem
					return nil
				}
				copy((*next.buf)[1:], data[k:n])
			}
			cur.idx, cur.off, cur.n = idx, off, k
			off += int64(k)
			cur.refs.Store(2)
			hashCh <- cur
			workCh <- cur
			idx++
			if next == nil {
				return nil
			}
			cur, data, n = next, (*next.buf)[1:], n-k
			cut.reset()
			if eof && n == 0 {
				chunkBufs.Put(cur.buf)
				<-sem
				return nil
			}
		}
	}()
	close(workCh)
	close(hashCh)
	wg.Wait()
	close(writeCh)
	<-writeDone
	<-hashDone

	if err := parent.Err(); err != nil {
		return Info{}, st, err
	}
	if readErr != nil {
		return Info{}, st, readErr
	}
	if err := context.Cause(ctx); err != nil {
		return Info{}, st, err
	}
	if opts.Size > 0 && total != opts.Size {
		return Info{}, st, fmt.Errorf("cas: put: read %d bytes, want %d: %w", total, opts.Size, ErrSizeMismatch)
	}
	var sm sum
	whole.Sum(sm[:0])
	if want != nil && sm != *want {
		return Info{}, st, fmt.Errorf("cas: put: content is %s, want %s: %w", sm.digest(), want.digest(), ErrDigestMismatch)
	}
	st.chunks = len(chunks)
	rec := &record{kind: kind, size: total, created: time.Now(), chunked: true, chunks: chunks}
	info, err := s.commitObject(c, sm, rec, nil)
	return info, st, err
}

// prepareChunk hashes j and, unless the chunk is stored already (or being
// stored by this Put), prepares its stored value.
func (s *Store) prepareChunk(ctx context.Context, c *codec, j *chunkJob, hint *codecHint, seenMu *sync.Mutex, seen map[sum]bool, cancel context.CancelCauseFunc) {
	d := j.data()
	j.sum = blake3.Sum256(d)
	seenMu.Lock()
	dup := seen[j.sum]
	seen[j.sum] = true
	seenMu.Unlock()
	if dup {
		return
	}
	ok, err := s.hasKey(chunkKey(j.sum))
	if err != nil {
		cancel(err)
		return
	}
	if ok {
		return
	}
	cb := compBufs.Get()
	out, ok := c.compressInto((*cb)[:0], d, hint, j.off)
	if ok {
		// out is in *cb unless it outgrew it; either way *cb stays the
		// list's buffer.
		j.val, j.comp = out, cb
	} else {
		compBufs.Put(cb)
		j.val = (*j.buf)[:1+j.n]
	}
	if s.packs == nil {
		return
	}
	// The value goes to a pack file here, on this worker; the writer
	// commits only the pointer.
	ptr, seq, err := s.writePacked(j.sum, j.val[0], j.val[1:], true)
	if err != nil {
		cancel(err)
		return
	}
	j.packed, j.seq = len(j.val), seq
	j.val = ptr
}

// writePacked appends the stored value format+payload of chunk cs to a
// pack, after checking for free space, and returns the encoded pointer
// that the chunk's Badger entry is to hold. With direct, the value may
// go to a direct pack (see direct.go), and the pointer may be committed
// only after syncDirect(seq).
func (s *Store) writePacked(cs sum, format byte, payload []byte, direct bool) (ptr []byte, seq int64, err error) {
	if err := s.checkSpace(1 + len(payload)); err != nil {
		return nil, 0, fmt.Errorf("cas: put: %w", err)
	}
	var p packPtr
	if direct {
		p, seq, err = s.packs.appendDirect(cs, format, payload)
	} else {
		p, err = s.packs.appendValue(cs, format, payload)
	}
	if err != nil {
		return nil, 0, fmt.Errorf("cas: put: write chunk: %w", err)
	}
	return p.encode(), seq, nil
}

// hasKey reports whether key is present.
func (s *Store) hasKey(key []byte) (bool, error) {
	err := s.db.View(func(txn *badger.Txn) error {
		_, err := txn.Get(key)
		return err
	})
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, badger.ErrKeyNotFound):
		return false, nil
	default:
		return false, fmt.Errorf("cas: %v", err)
	}
}
