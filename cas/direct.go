package cas

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"sync"
	"unsafe"
)

// Direct pack writing. The chunk values of large content (most of the
// bytes of an add) are written to their own pack files with O_DIRECT
// where the file system allows it: they are copied into a few reused
// staging buffers and written from there to the disk, without passing
// through the page cache. A buffered write of the same bytes copies them
// into freshly allocated page-cache pages, and on the VMs this tool is
// measured on a fresh page costs the kernel (and the hypervisor) more than
// the copy: 0.15 to 1.4 s of system time for 700 MB, against 0.05 s
// written directly (see BENCHMARKS.md). The values are read back through
// the packs' mappings like any others.
//
// One goroutine (run) owns the current pack and its staging buffer: it
// copies values in, in arrival order, and hands each full buffer to a
// second goroutine (flushLoop) that writes it. A value is on the disk, and
// its pointer may be committed, only once the buffers holding it are
// written: appendDirect returns a sequence number (the bytes appended so
// far) and syncTo(seq) waits for them, writing the filled part of the
// current buffer itself when it must (rounded up to the block size; the
// block is written again, complete, later). A process killed in between
// leaves bytes no pointer names, as a killed buffered write does.
const (
	directBuf    = 4 << 20 // staging buffer: the size of one write
	directBlock  = 4 << 10 // O_DIRECT alignment of offsets, lengths and memory
	directQueued = 3       // full buffers waiting for the disk at most
)

// directWriter appends values to direct packs; see above.
type directWriter struct {
	p       *packSet
	reqs    chan directReq
	done    chan struct{}
	flushed chan struct{} // closed when flushLoop has returned

	// Owned by run.
	f        *os.File
	id       uint32
	size     int64 // logical end of the pack
	buf      []byte
	bufStart int64 // file offset of buf[0]
	partial  int   // bytes of buf already written by a partial write
	seq      int64 // bytes appended since the writer started
	handed   int64 // seq at the end of the last buffer handed to flushLoop

	free   chan []byte      // staging buffers not in use
	writes chan directWrite // full buffers for flushLoop

	mu      sync.Mutex
	cond    *sync.Cond
	written int64 // seq up to which handed buffers are on the disk
	err     error // the first write error; sticky
}

type directReq struct {
	kind    int // reqAppend, reqSync, reqFinish
	cs      sum
	format  byte
	payload []byte
	seq     int64
	reply   chan directReply
}

const (
	reqAppend = iota
	reqSync   // make everything up to seq durable-written (not fsynced)
	reqFinish // close the current pack: write it out, trim it, fsync it in the background
)

type directReply struct {
	ptr packPtr
	seq int64
	err error
}

type directWrite struct {
	f   *os.File
	id  uint32
	off int64
	buf []byte // the whole buffer, returned to free
	n   int    // bytes to write, a multiple of directBlock
	seq int64  // seq at the end of these bytes
}

func newDirectWriter(p *packSet) *directWriter {
	w := &directWriter{
		p:       p,
		reqs:    make(chan directReq),
		done:    make(chan struct{}),
		flushed: make(chan struct{}),
		free:    make(chan []byte, directQueued+1),
		writes:  make(chan directWrite, directQueued),
	}
	w.cond = sync.NewCond(&w.mu)
	for range directQueued + 1 {
		b := hugeBuf(directBuf) // a mapping, page-aligned
		if uintptr(unsafe.Pointer(&b[0]))%directBlock != 0 {
			b = alignedBuf(directBuf) // heap memory, where mapping failed
		}
		w.free <- b
	}
	go w.flushLoop()
	go w.run()
	return w
}

// alignedBuf returns n bytes whose address is a multiple of directBlock.
func alignedBuf(n int) []byte {
	b := make([]byte, n+directBlock)
	off := directBlock - int(uintptr(unsafe.Pointer(&b[0]))%directBlock)
	if off == directBlock {
		off = 0
	}
	return b[off : off+n : off+n]
}

// append copies the value into the current pack and returns its pointer
// and the sequence number that syncTo must reach before the pointer is
// committed.
func (w *directWriter) append(cs sum, format byte, payload []byte) (packPtr, int64, error) {
	r := w.call(directReq{kind: reqAppend, cs: cs, format: format, payload: payload})
	return r.ptr, r.seq, r.err
}

// syncTo returns once the values appended up to seq are written.
func (w *directWriter) syncTo(seq int64) error {
	w.mu.Lock()
	ok, err := seq <= w.written, w.err
	w.mu.Unlock()
	if ok || err != nil {
		return err
	}
	return w.call(directReq{kind: reqSync, seq: seq}).err
}

// finish closes the current pack (the next append starts a new one).
func (w *directWriter) finish() error {
	return w.call(directReq{kind: reqFinish}).err
}

// stop finishes the current pack and ends both goroutines.
func (w *directWriter) stop() error {
	err := w.finish()
	close(w.reqs)
	<-w.done
	return err
}

func (w *directWriter) call(r directReq) directReply {
	r.reply = make(chan directReply, 1)
	w.reqs <- r
	return <-r.reply
}

func (w *directWriter) run() {
	defer func() {
		close(w.writes)
		<-w.flushed
		if w.buf != nil {
			w.free <- w.buf
			w.buf = nil
		}
		for range directQueued + 1 {
			freeBuf(<-w.free)
		}
		close(w.done)
	}()
	for r := range w.reqs {
		var rep directReply
		switch r.kind {
		case reqAppend:
			rep.ptr, rep.err = w.appendValue(r.cs, r.format, r.payload)
			rep.seq = w.seq
		case reqSync:
			rep.err = w.sync(r.seq)
		case reqFinish:
			rep.err = w.finishPack()
		}
		r.reply <- rep
	}
}

func (w *directWriter) failed() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

func (w *directWriter) appendValue(cs sum, format byte, payload []byte) (packPtr, error) {
	if err := w.failed(); err != nil {
		return packPtr{}, err
	}
	vlen := 1 + len(payload)
	n := int64(packEntryHeader + vlen)
	if w.f == nil || w.size+n > packTarget {
		if err := w.finishPack(); err != nil {
			return packPtr{}, err
		}
		if err := w.newPack(); err != nil {
			return packPtr{}, err
		}
	}
	off := w.size
	var hdr [packEntryHeader + 1]byte
	copy(hdr[:32], cs[:])
	binary.LittleEndian.PutUint32(hdr[32:], uint32(vlen))
	hdr[packEntryHeader] = format
	w.copyIn(hdr[:])
	w.copyIn(payload)
	return packPtr{id: w.id, off: off + packEntryHeader, len: int64(vlen)}, nil
}

// copyIn appends b to the pack through the staging buffers.
func (w *directWriter) copyIn(b []byte) {
	for len(b) > 0 {
		at := int(w.size - w.bufStart)
		k := copy(w.buf[at:], b)
		b = b[k:]
		w.size += int64(k)
		w.seq += int64(k)
		if at+k == len(w.buf) {
			w.hand(len(w.buf))
			w.buf = <-w.free
			w.bufStart += directBuf
			w.partial = 0
		}
	}
}

// hand passes the first n bytes of the current buffer to flushLoop.
func (w *directWriter) hand(n int) {
	w.handed = w.seq
	w.writes <- directWrite{f: w.f, id: w.id, off: w.bufStart, buf: w.buf, n: n, seq: w.seq}
}

// sync makes the bytes up to seq written: the handed buffers by
// flushLoop, the filled part of the current one here.
func (w *directWriter) sync(seq int64) error {
	if seq > w.handed && w.f != nil {
		if err := w.writePartial(); err != nil {
			return err
		}
	}
	if err := w.waitWritten(min(seq, w.handed)); err != nil {
		return err
	}
	w.mu.Lock()
	w.written = max(w.written, seq)
	w.mu.Unlock()
	return nil
}

// writePartial writes the filled part of the current buffer, from the
// block where the previous partial write ended, rounded up to whole blocks.
func (w *directWriter) writePartial() error {
	end := int(w.size - w.bufStart)
	from := w.partial &^ (directBlock - 1)
	to := (end + directBlock - 1) &^ (directBlock - 1)
	if to > from {
		if _, err := w.f.WriteAt(w.buf[from:to], w.bufStart+int64(from)); err != nil {
			return w.fail(fmt.Errorf("cas: pack %s: %w", packName(w.id), err))
		}
	}
	w.partial = end
	return nil
}

func (w *directWriter) waitWritten(seq int64) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	for w.written < seq && w.err == nil {
		w.cond.Wait()
	}
	return w.err
}

func (w *directWriter) fail(err error) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err == nil {
		w.err = err
	}
	w.cond.Broadcast()
	return w.err
}

// finishPack writes out the current pack, trims the block padding off
// its end and leaves fsync and close to the background.
func (w *directWriter) finishPack() error {
	if w.f == nil {
		return w.failed()
	}
	err := w.writePartial()
	if err == nil {
		err = w.waitWritten(w.handed)
	}
	f, size := w.f, w.size
	w.f = nil
	if err == nil {
		if terr := f.Truncate(size); terr != nil {
			err = w.fail(fmt.Errorf("cas: pack %s: %w", packName(w.id), terr))
		}
	}
	w.mu.Lock()
	w.written = max(w.written, w.seq)
	w.mu.Unlock()
	w.free <- w.buf
	w.buf = nil
	p := w.p
	p.syncs.Go(func() { p.syncClose(f) })
	return err
}

// newPack creates the next pack file, open for direct writes.
func (w *directWriter) newPack() error {
	p := w.p
	p.mu.Lock()
	id := p.nextID
	p.nextID++
	p.mu.Unlock()
	f, err := openPack(p.path(id))
	if err != nil {
		return w.fail(fmt.Errorf("cas: new pack: %w", err))
	}
	w.f, w.id, w.size, w.bufStart, w.partial = f, id, 0, 0, 0
	w.buf = <-w.free
	var hdr [packHeader]byte
	copy(hdr[:], packMagic)
	hdr[len(packMagic)] = packVersion
	w.copyIn(hdr[:])
	return nil
}

// flushLoop writes the handed buffers in order.
func (w *directWriter) flushLoop() {
	defer close(w.flushed)
	for wr := range w.writes {
		var err error
		if w.failed() == nil {
			_, err = wr.f.WriteAt(wr.buf[:wr.n], wr.off)
		}
		w.free <- wr.buf
		if err != nil {
			w.fail(fmt.Errorf("cas: pack %s: %w", packName(wr.id), err))
			continue
		}
		w.mu.Lock()
		w.written = max(w.written, wr.seq)
		w.cond.Broadcast()
		w.mu.Unlock()
	}
}

// openPack creates a direct pack file (tests substitute one that fails).
var openPack = openDirect

// useDirect: whether to write direct packs where they work (tests turn
// it off to cover the buffered path on every file system).
var useDirect = true

// errNoDirect: direct I/O is not available on this platform.
var errNoDirect = errors.New("cas: direct I/O not supported here")

// directWorks reports whether files in dir can be written with O_DIRECT
// (tmpfs before Linux 6.6 and some FUSE file systems refuse it).
func directWorks(dir string) bool {
	name := dir + "/direct-probe.tmp"
	f, err := openDirect(name)
	if err != nil {
		return false
	}
	defer os.Remove(name)
	defer f.Close()
	_, err = f.WriteAt(alignedBuf(directBlock), 0)
	return err == nil
}
