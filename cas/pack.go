package cas

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// Chunk values of an on-disk store live in pack files: append-only files
// in packs/, written with pwrite(2) by the Put workers in parallel, while
// the chunk's Badger entry holds only a pointer (see "Pack files" in
// doc.go). Badger's value log, which copied every value twice and wrote
// it through a mapping whose fresh pages the kernel zero-fills first, kept
// only one writer busy; a pack write is one copy into the page cache.
const (
	packDirName = "packs"
	packExt     = ".pack"
	// packMagic starts every pack file; the version byte follows.
	packMagic   = "rgpk"
	packVersion = 1
	packHeader  = 8 // magic, version, 3 zero bytes
	// packEntryHeader precedes each value in a pack: the chunk's sum and
	// the value's length (uint32, little-endian), so that a pack can be
	// read, checked and re-indexed on its own.
	packEntryHeader = 32 + 4
)

// packTarget: a new pack is started once the current one reaches this
// size. Packs are mapped at this length (or their size, if larger), so
// that one mapping serves a pack while it grows. Tests lower it.
var packTarget int64 = 64 << 20

// kickStep: a buffered pack's writeback is started each time this much
// more has been appended to it.
const kickStep = 8 << 20

// fmtPack marks a chunk entry whose value is a pointer into a pack file:
// fmtPack, pack id:uvarint, offset:uvarint, length:uvarint. It is never a
// stored value's format byte (those are below 0x10).
const fmtPack byte = 0x10

// packPtr locates a stored value in a pack file.
type packPtr struct {
	id       uint32
	off, len int64
}

func (p packPtr) encode() []byte {
	b := make([]byte, 0, 1+3*binary.MaxVarintLen64)
	b = append(b, fmtPack)
	b = binary.AppendUvarint(b, uint64(p.id))
	b = binary.AppendUvarint(b, uint64(p.off))
	return binary.AppendUvarint(b, uint64(p.len))
}

// decodePackPtr decodes a chunk entry value that starts with fmtPack.
func decodePackPtr(v []byte) (packPtr, error) {
	var vals [3]uint64
	rest := v[1:]
	for i := range vals {
		x, k := binary.Uvarint(rest)
		if k <= 0 {
			return packPtr{}, fmt.Errorf("pack pointer: bad varint: %w", ErrDigestMismatch)
		}
		vals[i], rest = x, rest[k:]
	}
	if len(rest) != 0 || vals[0] > 1<<32-1 || vals[1] < packHeader+packEntryHeader || vals[1] > 1<<40 || vals[2] == 0 || vals[2] > 2*maxChunk {
		return packPtr{}, fmt.Errorf("pack pointer: out of range: %w", ErrDigestMismatch)
	}
	return packPtr{id: uint32(vals[0]), off: int64(vals[1]), len: int64(vals[2])}, nil
}

func packName(id uint32) string { return fmt.Sprintf("%08x%s", id, packExt) }

// path is the file of pack id.
func (p *packSet) path(id uint32) string { return filepath.Join(p.dir, packName(id)) }

// packSet reads and appends the pack files of one store directory.
type packSet struct {
	dir      string
	readOnly bool

	mu     sync.Mutex
	w      *packFile // pack being appended to; nil until the first append
	nextID uint32    // id of the next pack to create
	// syncs runs the fsync and close of each retired pack in the
	// background, once its last append is done, so that little is left to
	// write back when the store closes and a long add keeps few files
	// open. syncErr is the first error of one.
	syncs   sync.WaitGroup
	syncErr error

	// direct writes the values of large content, where the file system
	// allows O_DIRECT (see direct.go); started on first use.
	directMu      sync.Mutex
	direct        *directWriter
	directChecked bool // whether direct writing was tried (or closed)

	mapMu sync.RWMutex
	maps  map[uint32][]byte
	stale [][]byte // replaced mappings, dropped by unmapAll
}

// openPacks prepares dir's packs/ directory (creating it unless readOnly).
func openPacks(storeDir string, readOnly bool) (*packSet, error) {
	dir := filepath.Join(storeDir, packDirName)
	if !readOnly {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, err
		}
	}
	p := &packSet{dir: dir, readOnly: readOnly, maps: make(map[uint32][]byte)}
	ids, err := p.list()
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	for _, id := range ids {
		p.nextID = max(p.nextID, id+1)
	}
	return p, nil
}

// list returns the ids of the pack files present, in order.
func (p *packSet) list() ([]uint32, error) {
	entries, err := os.ReadDir(p.dir)
	if err != nil {
		return nil, err
	}
	var ids []uint32
	for _, e := range entries {
		name := e.Name()
		if !strings.HasSuffix(name, packExt) || len(name) != 8+len(packExt) {
			continue
		}
		id, err := strconv.ParseUint(name[:8], 16, 32)
		if err != nil {
			continue
		}
		ids = append(ids, uint32(id))
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	return ids, nil
}

// packFile is a pack open for appending.
type packFile struct {
	f       *os.File
	id      uint32
	size    int64 // end of the space reserved
	writers int   // appends reserved and not yet written
	kicked  int64 // writeback started up to here (see kickStep)
	retired bool  // no new appends; synced and closed after the last writer
}

// appendValue writes the stored value of chunk cs, format followed by
// payload, to the current pack and returns where it is. The two need not
// be contiguous in memory (a raw value is written from the caller's
// bytes, without a copy to put its format byte in front). Appends run
// concurrently: each reserves its range under the lock and writes outside
// it. A crash leaves at most bytes no pointer names, which GC reclaims.
func (p *packSet) appendValue(cs sum, format byte, payload []byte) (packPtr, error) {
	if p.readOnly {
		return packPtr{}, ErrReadOnly
	}
	vlen := 1 + len(payload)
	n := int64(packEntryHeader + vlen)
	p.mu.Lock()
	if p.w == nil || p.w.size+n > packTarget {
		if err := p.rotate(); err != nil {
			p.mu.Unlock()
			return packPtr{}, err
		}
	}
	pf, off := p.w, p.w.size
	pf.size += n
	pf.writers++
	p.mu.Unlock()

	var hdr [packEntryHeader + 1]byte
	copy(hdr[:32], cs[:])
	binary.LittleEndian.PutUint32(hdr[32:], uint32(vlen))
	hdr[packEntryHeader] = format
	_, err := pf.f.WriteAt(hdr[:], off)
	if err == nil && len(payload) > 0 {
		_, err = pf.f.WriteAt(payload, off+packEntryHeader+1)
	}
	// Start writing back what this pack has gathered every kickStep bytes,
	// so that the fsync when it is retired or the store closes finds
	// little left to write (an add of small files closed 30 ms sooner).
	p.mu.Lock()
	var kickFrom, kickTo int64
	if end := off + n; err == nil && end-pf.kicked >= kickStep {
		kickFrom, kickTo = pf.kicked, end&^(4<<10-1)
		pf.kicked = kickTo
	}
	p.mu.Unlock()
	if kickTo > kickFrom {
		startWriteback(pf.f, kickFrom, kickTo-kickFrom) // pf stays open: this append holds it
	}
	p.mu.Lock()
	pf.writers--
	p.finish(pf)
	p.mu.Unlock()
	if err != nil {
		return packPtr{}, fmt.Errorf("cas: pack %s: %w", packName(pf.id), err)
	}
	return packPtr{id: pf.id, off: off + packEntryHeader, len: int64(vlen)}, nil
}

// finish syncs and closes pf in the background if it is retired and its
// last append is done. The caller holds p.mu.
func (p *packSet) finish(pf *packFile) {
	if !pf.retired || pf.writers > 0 || pf.f == nil {
		return
	}
	f := pf.f
	pf.f = nil
	p.syncs.Go(func() { p.syncClose(f) })
}

// syncClose fsyncs and closes a retired pack, keeping the first error.
func (p *packSet) syncClose(f *os.File) {
	err := f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		p.mu.Lock()
		if p.syncErr == nil {
			p.syncErr = fmt.Errorf("cas: sync %s: %w", filepath.Base(f.Name()), err)
		}
		p.mu.Unlock()
	}
}

// appendDirect is appendValue for the chunks of large content: written
// with O_DIRECT where possible (see direct.go). The pointer may be
// committed once syncDirect(seq) has returned.
func (p *packSet) appendDirect(cs sum, format byte, payload []byte) (packPtr, int64, error) {
	if p.readOnly {
		return packPtr{}, 0, ErrReadOnly
	}
	p.directMu.Lock()
	if !p.directChecked {
		p.directChecked = true
		if useDirect && directWorks(p.dir) {
			p.direct = newDirectWriter(p)
		}
	}
	d := p.direct
	p.directMu.Unlock()
	if d == nil {
		ptr, err := p.appendValue(cs, format, payload)
		return ptr, 0, err
	}
	return d.append(cs, format, payload)
}

func (p *packSet) directWriter() *directWriter {
	p.directMu.Lock()
	defer p.directMu.Unlock()
	return p.direct
}

// syncDirect returns once the values appendDirect returned seq for, and
// those before them, are written to their packs.
func (p *packSet) syncDirect(seq int64) error {
	if seq == 0 {
		return nil
	}
	return p.directWriter().syncTo(seq)
}

// finishDirect closes the current direct pack, if any.
func (p *packSet) finishDirect() error {
	d := p.directWriter()
	if d == nil {
		return nil
	}
	return d.finish()
}

// retire stops appends to the current pack. The caller holds p.mu.
func (p *packSet) retire() {
	if p.w != nil {
		p.w.retired = true
		p.finish(p.w)
		p.w = nil
	}
}

// rotate starts a new pack file. The caller holds p.mu.
func (p *packSet) rotate() error {
	id := p.nextID
	f, err := os.OpenFile(p.path(id), os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return fmt.Errorf("cas: new pack: %w", err)
	}
	hdr := make([]byte, packHeader)
	copy(hdr, packMagic)
	hdr[len(packMagic)] = packVersion
	if _, err := f.WriteAt(hdr, 0); err != nil {
		f.Close()
		os.Remove(f.Name())
		return fmt.Errorf("cas: new pack: %w", err)
	}
	p.retire()
	p.nextID++
	p.w = &packFile{f: f, id: id, size: packHeader}
	return nil
}

// seal makes the next append start a new pack (GC compacts into fresh
// packs and must not append to one it may delete).
func (p *packSet) seal() error {
	err := p.finishDirect()
	p.mu.Lock()
	p.retire()
	p.mu.Unlock()
	return err
}

// sync puts every pack written in this session on the disk: the current
// one (held open meanwhile, as by an append) and the retired ones.
func (p *packSet) sync() error {
	p.mu.Lock()
	pf := p.w
	if pf != nil {
		pf.writers++
	}
	p.mu.Unlock()
	var err error
	if pf != nil {
		err = pf.f.Sync()
		p.mu.Lock()
		pf.writers--
		p.finish(pf)
		p.mu.Unlock()
	}
	p.syncs.Wait()
	p.mu.Lock()
	defer p.mu.Unlock()
	if err != nil {
		return fmt.Errorf("cas: sync %s: %w", packName(pf.id), err)
	}
	return p.syncErr
}

// close syncs and closes the written files and drops every mapping.
func (p *packSet) close() error {
	p.directMu.Lock()
	d := p.direct
	p.direct, p.directChecked = nil, true // no writer starts after this
	p.directMu.Unlock()
	var err error
	if d != nil {
		err = d.stop()
	}
	if serr := p.seal(); err == nil {
		err = serr
	}
	if serr := p.sync(); err == nil {
		err = serr
	}
	p.unmapAll()
	return err
}

// unmapAll drops the mappings of every pack. No value returned by view
// may be in use.
func (p *packSet) unmapAll() {
	p.mapMu.Lock()
	for id, m := range p.maps {
		unmapPack(m)
		delete(p.maps, id)
	}
	for _, m := range p.stale {
		unmapPack(m)
	}
	p.stale = nil
	p.mapMu.Unlock()
}

// view calls fn with the stored value ptr points at. The bytes are those
// of the pack's mapping, valid only during fn; a pack shorter than the
// pointer says (truncated on the disk) gives an error wrapping
// ErrNotFound instead of a fault.
func (p *packSet) view(ptr packPtr, fn func(v []byte) error) (err error) {
	m, err := p.mapping(ptr.id, 0)
	if err == nil && ptr.off+ptr.len > int64(len(m)) {
		// Mapped before it grew this far (only where packs are read
		// instead of mapped), or a pointer past its end.
		m, err = p.mapping(ptr.id, ptr.off+ptr.len)
	}
	if err != nil {
		return err
	}
	if ptr.off+ptr.len > int64(len(m)) {
		return fmt.Errorf("pack %s: value at %d beyond the pack: %w", packName(ptr.id), ptr.off, ErrNotFound)
	}
	if ptr.len >= 64<<10 {
		willNeed(m, ptr.off, ptr.len)
	}
	// A page of the mapping past the end of the file faults; the
	// runtime turns that into a panic here instead of killing the process.
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			if _, ok := r.(interface{ Addr() uintptr }); !ok {
				panic(r)
			}
			err = fmt.Errorf("pack %s: value at %d lies past the end of the file (truncated?): %w", packName(ptr.id), ptr.off, ErrNotFound)
		}
	}()
	return fn(m[ptr.off : ptr.off+ptr.len : ptr.off+ptr.len])
}

// mapping returns the mapping of pack id, mapping it on first use, or
// again when the mapping is shorter than need. A replaced mapping stays
// until close: a value of it may be in use.
func (p *packSet) mapping(id uint32, need int64) ([]byte, error) {
	p.mapMu.RLock()
	m, ok := p.maps[id]
	p.mapMu.RUnlock()
	if ok && int64(len(m)) >= need {
		return m, nil
	}
	p.mapMu.Lock()
	defer p.mapMu.Unlock()
	if m, ok := p.maps[id]; ok && int64(len(m)) >= need {
		return m, nil
	}
	f, err := os.Open(p.path(id))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("pack %s: %w", packName(id), ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("pack %s: %w", packName(id), err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("pack %s: %w", packName(id), err)
	}
	if fi.Size() < need {
		return nil, fmt.Errorf("pack %s: %d bytes, a value ends at %d: %w", packName(id), fi.Size(), need, ErrNotFound)
	}
	nm, err := mapPack(f, max(fi.Size(), packTarget))
	if err != nil {
		return nil, fmt.Errorf("pack %s: map: %w", packName(id), err)
	}
	if old, ok := p.maps[id]; ok {
		p.stale = append(p.stale, old)
	}
	p.maps[id] = nm
	return nm, nil
}

// remove deletes pack id (GC, after moving its live values). No value of
// it may be in use.
func (p *packSet) remove(id uint32) error {
	p.mapMu.Lock()
	if m, ok := p.maps[id]; ok {
		unmapPack(m)
		delete(p.maps, id)
	}
	p.mapMu.Unlock()
	err := os.Remove(p.path(id))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}
