package cas

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	badger "github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/options"
)

// Options configure [Init] and [Open]. The zero value is ready to use.
type Options struct {
	// InMemory keeps the whole store in memory (Badger's in-memory mode):
	// dir is ignored, nothing touches the disk and no lock is taken. Init and
	// Open both return a new, empty store. Meant for tests.
	InMemory bool

	// LockTimeout bounds how long Init and Open wait for another process to
	// release the store lock before they give up with [ErrLocked].
	// ≤0 means 10 minutes.
	LockTimeout time.Duration

	// Concurrency is the number of goroutines one Put uses to hash and
	// compress chunks. ≤0 means one per CPU the process may use (the
	// smaller of runtime.GOMAXPROCS(0) and runtime.NumCPU(): a program
	// may run more Ps than cores, for goroutines blocked in system calls).
	Concurrency int

	// Compression is the codec for values this Store writes. The zero
	// value is zstd.
	Compression Compression

	// ReadOnly opens the store for reading only: any number of read-only
	// opens share the lock (a writer waits for them all, and they for it),
	// and Badger starts no memtable, value log file or compactor, so that
	// opening and closing cost a few milliseconds. Methods that write
	// return [ErrReadOnly]. When the store was not closed cleanly (its
	// write-ahead log needs replaying), Open recovers it with a write
	// lock first and then serves the read-only caller as usual. Ignored
	// by Init and with InMemory.
	ReadOnly bool
}

func (o Options) withDefaults() Options {
	if o.LockTimeout <= 0 {
		o.LockTimeout = 10 * time.Minute
	}
	if o.Concurrency <= 0 {
		o.Concurrency = min(runtime.GOMAXPROCS(0), runtime.NumCPU())
	}
	return o
}

// Names inside the store directory.
const (
	formatFile = "format"
	lockFile   = "lock"
	dbDir      = "db"
	tmpDir     = "tmp"

	formatName    = "rigor-store"
	formatVersion = 2
	// Version 1 kept chunk values in Badger; version 2 keeps new ones in
	// pack files. Version 2 reads version 1 stores as they are and marks
	// them version 2 when it first opens them for writing (an older
	// rigor then refuses them by version instead of failing on a pack
	// pointer).
	formatVersionNoPacks = 1
)

type formatHeader struct {
	Format  string `json:"format"`
	Version int    `json:"version"`
}

// Store is the Badger-backed content-addressed store. It implements
// [Getter], [Putter], [Walker], [Refs], [Indexer] and [StatCache]. All
// methods are safe for concurrent use. After [Store.Close] every method
// returns [ErrClosed].
type Store struct {
	db *badger.DB
	// packs holds the chunk values of an on-disk store (nil in memory,
	// where chunk values stay in Badger).
	packs *packSet
	// readOnly: opened with Options.ReadOnly; write methods refuse.
	readOnly bool
	dir      string
	lock     *os.File // nil in memory
	opts     Options

	// gcMu keeps GC from sweeping while a Put or SetRef is in flight: those
	// hold it shared, GC holds it exclusively.
	gcMu sync.RWMutex

	mu     sync.Mutex
	cond   *sync.Cond
	active int // calls in flight, see enter
	closed bool
	paused bool // GC is reopening the database; enter waits

	cdc *cdcParams // chunking parameters

	codecOnce sync.Once
	codec     *codec
	codecErr  error

	// spaceUnchecked counts bytes written since the last free-space check,
	// spaceRoom records that it found room (see checkSpace).
	spaceUnchecked atomic.Int64
	spaceRoom      atomic.Bool

	// written counts value bytes written since the value log mappings were
	// last trimmed; see noteWritten.
	written   atomic.Int64
	unchecked atomic.Int64
	trimming  atomic.Bool
	// Prefaulting the value log file being written (see prefault):
	// fileWritten counts value bytes since popFid appeared, popDone how
	// far it is prefaulted; bg runs the prefaults, and Close waits.
	fileWritten atomic.Int64
	popFid      uint64
	popDone     uintptr
	bg          sync.WaitGroup

	// known remembers the size and kind of objects this Store committed or
	// checked, so that PutTree need not read their records again; see
	// remember.
	knownMu sync.Mutex
	known   map[sum]knownObj

	// statPending holds stat cache entries not written yet (path → encoded
	// entry); see RememberStat. statFlushMu orders the batches.
	statMu      sync.Mutex
	statPending map[string][]byte
	statFlushMu sync.Mutex
}

type knownObj struct {
	size int64
	kind Kind
}

// maxKnown bounds the known map (about 50 bytes an entry).
const maxKnown = 1 << 16

// remember notes that object sm is stored with the given size and kind.
func (s *Store) remember(sm sum, size int64, kind Kind) {
	s.knownMu.Lock()
	if s.known == nil || len(s.known) >= maxKnown {
		s.known = make(map[sum]knownObj)
	}
	s.known[sm] = knownObj{size: size, kind: kind}
	s.knownMu.Unlock()
}

// recall returns what remember noted about sm.
func (s *Store) recall(sm sum) (knownObj, bool) {
	s.knownMu.Lock()
	k, ok := s.known[sm]
	s.knownMu.Unlock()
	return k, ok
}

// forgetAll empties the known map; GC and the damage hooks call it.
func (s *Store) forgetAll() {
	s.knownMu.Lock()
	s.known = nil
	s.knownMu.Unlock()
}

var (
	_ Getter    = (*Store)(nil)
	_ Putter    = (*Store)(nil)
	_ Walker    = (*Store)(nil)
	_ Refs      = (*Store)(nil)
	_ Indexer   = (*Store)(nil)
	_ StatCache = (*Store)(nil)
)

// Init creates a new store in dir (the ".rigor" directory itself), creating
// dir if needed. It returns an error wrapping [ErrStoreExists] if dir already
// holds a store (or the remains of one): it never clobbers. It waits for the
// store lock like [Open].
func Init(ctx context.Context, dir string, opts Options) (*Store, error) {
	opts = opts.withDefaults()
	if opts.InMemory {
		return openDB(ctx, "", nil, opts)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("cas: init %s: %w", dir, err)
	}
	lf, err := acquireLock(ctx, dir, opts.LockTimeout, false)
	if err != nil {
		return nil, err
	}
	fail := func(err error) (*Store, error) {
		releaseLock(lf)
		return nil, err
	}
	for _, name := range []string{formatFile, dbDir} {
		if _, err := os.Lstat(filepath.Join(dir, name)); err == nil {
			return fail(fmt.Errorf("%s: %w (open it instead, or choose an empty directory)", dir, ErrStoreExists))
		} else if !errors.Is(err, fs.ErrNotExist) {
			return fail(fmt.Errorf("cas: init %s: %w", dir, err))
		}
	}
	for _, name := range []string{dbDir, tmpDir} {
		if err := os.MkdirAll(filepath.Join(dir, name), 0o755); err != nil {
			return fail(fmt.Errorf("cas: init %s: %w", dir, err))
		}
	}
	s, err := openDB(ctx, dir, lf, opts)
	if err != nil {
		return fail(err)
	}
	// The format file goes last: until it exists the directory is not a store.
	hdr, _ := json.Marshal(formatHeader{Format: formatName, Version: formatVersion})
	if err := writeFileAtomic(filepath.Join(dir, formatFile), append(hdr, '\n')); err != nil {
		s.Close()
		return nil, fmt.Errorf("cas: init %s: %w", dir, err)
	}
	return s, nil
}

// Open opens the store in dir. It returns an error wrapping [ErrNotStore] if
// dir does not hold a store of a version this package reads. Only one
// process has a store open at a time: Open waits, polling with jittered
// backoff, until the holder closes it, ctx is done (ctx.Err() is returned)
// or Options.LockTimeout passes ([ErrLocked]). The lock is held until
// [Store.Close].
func Open(ctx context.Context, dir string, opts Options) (*Store, error) {
	opts = opts.withDefaults()
	if opts.InMemory {
		return openDB(ctx, "", nil, opts)
	}
	if err := checkFormat(dir); err != nil {
		return nil, err
	}
	if opts.ReadOnly {
		s, err := openReadOnly(ctx, dir, opts)
		if !errors.Is(err, errNeedsRecovery) {
			return s, err
		}
		// Badger must replay its log, which only a writer may do: open
		// for writing once, close, and open read-only again.
		w, err := openWritable(ctx, dir, opts)
		if err != nil {
			return nil, err
		}
		if err := w.Close(); err != nil {
			return nil, err
		}
		s, err = openReadOnly(ctx, dir, opts)
		if errors.Is(err, errNeedsRecovery) {
			return nil, fmt.Errorf("cas: open %s read-only: the store still needs recovery after a writable open; run 'rigor fsck'", dir)
		}
		return s, err
	}
	return openWritable(ctx, dir, opts)
}

// errNeedsRecovery: Badger refused a read-only open because its log needs
// replaying or truncating.
var errNeedsRecovery = errors.New("cas: store needs recovery before a read-only open")

// openReadOnly opens dir under a shared lock with Badger in read-only mode.
func openReadOnly(ctx context.Context, dir string, opts Options) (*Store, error) {
	lf, err := acquireLock(ctx, dir, opts.LockTimeout, true)
	if err != nil {
		return nil, err
	}
	path := filepath.Join(dir, dbDir)
	db, err := badger.Open(badgerOptions(path, false).WithReadOnly(true))
	if err != nil {
		releaseLock(lf)
		return nil, fmt.Errorf("cas: open %s: %v: %w", dir, err, errNeedsRecovery)
	}
	packs, err := openPacks(dir, true)
	if err != nil {
		db.Close()
		releaseLock(lf)
		return nil, fmt.Errorf("cas: open %s: %w", dir, err)
	}
	s := &Store{db: db, dir: dir, lock: lf, opts: opts, cdc: &defaultCDC, readOnly: true, packs: packs}
	s.cond = sync.NewCond(&s.mu)
	return s, nil
}

// openWritable opens dir under the exclusive lock.
func openWritable(ctx context.Context, dir string, opts Options) (*Store, error) {
	lf, err := acquireLock(ctx, dir, opts.LockTimeout, false)
	if err != nil {
		return nil, err
	}
	// Leftovers of a crashed process; nothing in tmp/ outlives its writer.
	tmp := filepath.Join(dir, tmpDir)
	os.RemoveAll(tmp)
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		releaseLock(lf)
		return nil, fmt.Errorf("cas: open %s: %w", dir, err)
	}
	s, err := openDB(ctx, dir, lf, opts)
	if err != nil {
		releaseLock(lf)
		return nil, err
	}
	if err := upgradeFormat(dir); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// upgradeFormat marks a version 1 store as version 2 (see formatVersion).
// The caller holds the exclusive lock.
func upgradeFormat(dir string) error {
	h, err := readFormat(dir)
	if err != nil || h.Version == formatVersion {
		return err
	}
	hdr, _ := json.Marshal(formatHeader{Format: formatName, Version: formatVersion})
	if err := writeFileAtomic(filepath.Join(dir, formatFile), append(hdr, '\n')); err != nil {
		return fmt.Errorf("cas: open %s: %w", dir, err)
	}
	return nil
}

// checkFormat returns an error unless dir holds a store of a version this
// package reads.
func checkFormat(dir string) error {
	h, err := readFormat(dir)
	if err == nil && h.Version != formatVersion && h.Version != formatVersionNoPacks {
		return fmt.Errorf("%s: %w (store version %d, this rigor reads version %d)", dir, ErrNotStore, h.Version, formatVersion)
	}
	return err
}

// readFormat reads and parses dir's format file.
func readFormat(dir string) (formatHeader, error) {
	var h formatHeader
	b, err := os.ReadFile(filepath.Join(dir, formatFile))
	if errors.Is(err, fs.ErrNotExist) {
		return h, fmt.Errorf("%s: %w (no %s file; run init first)", dir, ErrNotStore, formatFile)
	}
	if err != nil {
		return h, fmt.Errorf("cas: open %s: %w", dir, err)
	}
	if err := json.Unmarshal(b, &h); err != nil || h.Format != formatName {
		return h, fmt.Errorf("%s: %w (unrecognised %s file)", dir, ErrNotStore, formatFile)
	}
	return h, nil
}

// acquireLock takes the store lock: exclusive, or shared when shared is
// set, waiting up to timeout.
func acquireLock(ctx context.Context, dir string, timeout time.Duration, shared bool) (*os.File, error) {
	path := filepath.Join(dir, lockFile)
	var f *os.File
	var err error
	if shared {
		// A reader needs no write access (flock works on a read-only
		// descriptor), so a store on a read-only mount can be read.
		f, err = os.Open(path)
	}
	if !shared || errors.Is(err, fs.ErrNotExist) {
		f, err = os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	}
	if err != nil {
		return nil, fmt.Errorf("cas: lock %s: %w", dir, err)
	}
	deadline := time.Now().Add(timeout)
	wait := 2 * time.Millisecond
	for {
		ok, err := tryLock(f, shared)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("cas: lock %s: %w", dir, err)
		}
		if ok {
			return f, nil
		}
		left := time.Until(deadline)
		if left <= 0 {
			f.Close()
			return nil, fmt.Errorf("%s: %w (waited %v; another rigor holds it, or raise the lock timeout)", dir, ErrLocked, timeout)
		}
		// Full jitter keeps eight waiting processes from polling in step.
		d := min(time.Duration(rand.Int64N(int64(wait)))+time.Millisecond, left)
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			f.Close()
			return nil, ctx.Err()
		case <-t.C:
		}
		wait = min(2*wait, 250*time.Millisecond)
	}
}

func releaseLock(f *os.File) {
	if f != nil {
		unlock(f)
		f.Close()
	}
}

// badgerOptions tunes Badger for a chunk store: big values live in the value
// log (ValueThreshold), the LSM tree holds keys, small records and value
// pointers; memory is capped so a Put of any size stays well under 400 MB.
func badgerOptions(dir string, inMemory bool) badger.Options {
	o := badger.DefaultOptions(dir).
		WithLogger(nil).
		WithInMemory(inMemory).
		WithSyncWrites(false).
		WithMetricsEnabled(false).
		WithValueThreshold(valueThreshold).
		WithMemTableSize(16 << 20).
		WithNumMemtables(2).
		WithBlockCacheSize(16 << 20).
		WithIndexCacheSize(16 << 20).
		WithNumCompactors(2).
		WithCompactL0OnClose(true). // lets GC learn what value log space is garbage
		WithValueLogFileSize(vlogFileSize).
		WithCompression(options.ZSTD) // tables only: chunk and record values are compressed by us where it pays
	if inMemory {
		// In memory the threshold is a cap on value size instead.
		o.Dir, o.ValueDir = "", ""
		o.ValueThreshold = 1 << 20
	}
	return o
}

// vlogFileSize is the size of one value log file. Badger never rewrites
// the file being written, so GC reclaims space in steps of this size; Open
// reads the newest file through to find its end; and the newest file stays
// resident while it is written (see trimValueLog). Tests lower it.
var vlogFileSize int64 = 64 << 20

// trimEvery: after this many bytes of values written, the value log
// mappings of complete files are dropped from the resident set.
const trimEvery = 64 << 20

// noteWritten records that n bytes of values were committed. The caller
// holds s.enter and s.gcMu shared (see trimValueLog).
func (s *Store) noteWritten(n int) {
	s.fileWritten.Add(int64(n))
	trim := s.written.Add(int64(n)) >= trimEvery
	if (!trim && s.unchecked.Add(int64(n)) < checkEvery) || !s.trimming.CompareAndSwap(false, true) {
		return
	}
	if trim {
		s.written.Store(0)
	}
	s.unchecked.Store(0)
	s.trimValueLog(trim)
	s.trimming.Store(false)
}

// checkEvery: after this many bytes of values written, Put looks for a
// new value log file to prefault (see populate).
const checkEvery = 4 << 20

// valueThreshold: values at least this long go to Badger's value log.
const valueThreshold = 1 << 10

func openDB(ctx context.Context, dir string, lf *os.File, opts Options) (*Store, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	path := ""
	if !opts.InMemory {
		path = filepath.Join(dir, dbDir)
		if err := dropEmptyValueLogs(path); err != nil {
			return nil, fmt.Errorf("cas: open %s: %v", dir, err)
		}
	}
	var packs *packSet
	if !opts.InMemory {
		var err error
		if packs, err = openPacks(dir, false); err != nil {
			return nil, fmt.Errorf("cas: open %s: %w", dir, err)
		}
	}
	db, err := badger.Open(badgerOptions(path, opts.InMemory))
	if err != nil {
		return nil, fmt.Errorf("cas: open %s: %v", dir, err)
	}
	s := &Store{db: db, dir: dir, lock: lf, opts: opts, cdc: &defaultCDC, packs: packs}
	if opts.InMemory {
		s.cdc = &memoryCDC
	}
	s.cond = sync.NewCond(&s.mu)
	return s, nil
}

// Close closes the store and releases its lock. It waits for calls in
// flight; readers returned by [Store.Open] fail with [ErrClosed] afterwards.
// Closing twice returns [ErrClosed].
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrClosed
	}
	s.closed = true
	for s.active > 0 {
		s.cond.Wait()
	}
	s.mu.Unlock()
	statErr := s.flushStats()
	s.bg.Wait()
	var packErr error
	if s.packs != nil {
		// Pack bytes reach the disk before the pointers to them.
		packErr = s.packs.close()
	}
	err := s.db.Close()
	if s.codec != nil {
		s.codec.close()
	}
	releaseLock(s.lock)
	if err != nil {
		return fmt.Errorf("cas: close: %v", err)
	}
	if packErr != nil {
		return packErr
	}
	return statErr
}

// enterWrite is enter for the methods that write: a store opened
// read-only refuses them with [ErrReadOnly].
func (s *Store) enterWrite() error {
	if s.readOnly {
		return ErrReadOnly
	}
	return s.enter()
}

// enter registers a call in flight; every exported method that touches the
// database calls it first and leave when done. Calls nest freely.
func (s *Store) enter() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for s.paused && !s.closed {
		s.cond.Wait()
	}
	if s.closed {
		return ErrClosed
	}
	s.active++
	return nil
}

func (s *Store) leave() {
	s.mu.Lock()
	s.active--
	if s.active <= 1 {
		s.cond.Broadcast()
	}
	s.mu.Unlock()
}

// Dir returns the store directory ("" for an in-memory store).
func (s *Store) Dir() string { return s.dir }

// writeFileAtomic writes data to a temporary file next to path, syncs it and
// renames it into place; on error the temporary file is removed.
func writeFileAtomic(path string, data []byte) (err error) {
	f, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if _, err = f.Write(data); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}
