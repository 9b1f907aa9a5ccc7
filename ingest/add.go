package ingest

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	digest "github.com/opencontainers/go-digest"

	"github.com/rigor-dev/rigor/cas"
)

// Errors of [Ingester.AddPath] and [Ingester.AddFiles].
var (
	// ErrFileChanged: a file kept changing while it was read, so no
	// consistent version of it could be recorded.
	ErrFileChanged = errors.New("ingest: file changed while being read")
	// ErrBadPath: a path given to AddFiles is absolute, escapes the root or
	// is not clean.
	ErrBadPath = errors.New("ingest: bad relative path")
)

// SHA256Index is the name of the store index that maps a blob's digest
// (key: the digest string) to the SHA-256 of the same bytes (value: 64
// lower-case hex digits), so that an unchanged file's SHA-256 is known
// without reading it again.
const SHA256Index = "sha256"

// blobStore is what an [Ingester] needs of a store; *cas.Store satisfies it.
// If it also implements [cas.Indexer], SHA-256 sums are remembered in
// [SHA256Index].
type blobStore interface {
	cas.Putter
	cas.StatCache
	PutTree(ctx context.Context, t cas.Tree) (cas.Info, error)
}

// Options configure an [Ingester]. The zero value is ready to use.
type Options struct {
	// Concurrency is the number of files hashed and stored at once.
	// ≤0 means max(4, runtime.GOMAXPROCS(0)).
	Concurrency int
	// Now returns the current time; nil means time.Now. Only used to decide
	// whether a timestamp is too fresh to trust for the stat cache.
	Now func() time.Time
}

// Ingester turns files and directories into store objects. It is safe for
// concurrent use.
type Ingester struct {
	s    blobStore
	idx  cas.Indexer // nil when the store keeps no indexes
	conc int
	now  func() time.Time
}

// New returns an Ingester that writes to s.
func New(s blobStore, opts Options) *Ingester {
	in := &Ingester{s: s, conc: opts.Concurrency, now: opts.Now}
	if in.conc <= 0 {
		in.conc = max(4, runtime.GOMAXPROCS(0))
	}
	if in.now == nil {
		in.now = time.Now
	}
	if idx, ok := s.(cas.Indexer); ok {
		in.idx = idx
	}
	return in
}

// AddOptions control one [Ingester.AddPath] or [Ingester.AddFiles] call. The
// zero value trusts the stat cache, computes no SHA-256 and adds everything.
type AddOptions struct {
	// Rehash reads every file even when the stat cache says it is unchanged.
	Rehash bool
	// SHA256 also computes the SHA-256 of every file, in the same read pass
	// as its BLAKE3 digest, and reports it in [File.SHA256]. With a store
	// that implements [cas.Indexer], it is kept in [SHA256Index], so an
	// unchanged file still costs no read.
	SHA256 bool
	// Filter, if set, is called for every entry below the root with its
	// slash-separated path relative to the root; returning false leaves the
	// entry out (a directory with everything below it). It is called from
	// the caller's goroutine.
	Filter func(rel string, isDir bool) bool
	// Progress, if set, is called as bytes are hashed (or vouched for by the
	// stat cache) with the bytes done so far and the total. Calls are
	// serialised but may come from any goroutine; it must return quickly.
	Progress func(done, total int64)
}

// File describes one regular file or symlink that was added.
type File struct {
	Path   string // slash-separated, relative to the root
	Mode   cas.Mode
	Size   int64
	Digest digest.Digest
	SHA256 string // lower-case hex; empty unless AddOptions.SHA256
}

// Warning is something left out that the caller may want to show. The
// library never prints it.
type Warning struct {
	Path   string // slash-separated, relative to the root
	Reason string
}

func (w Warning) String() string { return w.Path + ": " + w.Reason }

// Result is the outcome of an add.
type Result struct {
	// Info and Mode describe the root object: a blob (ModeFile, ModeExec or
	// ModeSymlink) or a tree (ModeTree).
	Info cas.Info
	Mode cas.Mode
	// Files is every regular file and symlink added, sorted by Path (byte
	// order). For a single file, Path is its base name.
	Files []File
	// Bytes is the total size of Files. ReadBytes is how much of it was read
	// from disk: the rest was vouched for by the stat cache.
	Bytes     int64
	ReadBytes int64
	// Warnings name the entries that were skipped (sockets, devices,
	// FIFOs), sorted by path.
	Warnings []Warning
}

// node is one entry of the tree being added.
type node struct {
	name     string
	rel      string // slash-separated, "" for the root
	abs      string
	mode     cas.Mode
	fi       fs.FileInfo // lstat
	children []*node     // sorted by name; directories only

	// Results.
	digest digest.Digest
	size   int64
	sha    string
}

// AddPath adds the file, symlink or directory at p to the store and returns
// the root object. Directories become trees, regular files blobs (ModeExec
// when any execute bit is set), symlinks blobs holding their target
// (ModeSymlink); symlinks below p are never followed, but p itself is
// resolved if it is a symlink. Sockets, devices and FIFOs are skipped and
// reported in [Result.Warnings]. Names are kept byte for byte and entries
// sorted; no timestamp, owner or permission other than the execute bit
// enters the identity.
//
// A regular file whose stat-cache key (path, size, mtime, inode, ctime) is
// remembered is not read again unless opts.Rehash is set. Files are hashed
// and stored concurrently ([Options.Concurrency]). A file that keeps changing
// while it is read gives an error wrapping [ErrFileChanged]; an unreadable
// entry gives the *fs.PathError. Nothing is returned for partial work, but
// blobs already stored stay (they are content-addressed and harmless).
func (in *Ingester) AddPath(ctx context.Context, p string, opts AddOptions) (Result, error) {
	abs, err := filepath.Abs(p)
	if err != nil {
		return Result{}, fmt.Errorf("ingest: %w", err)
	}
	if resolved, err := filepath.EvalSymlinks(abs); err == nil {
		abs = resolved
	} else {
		return Result{}, fmt.Errorf("ingest: %w", err)
	}
	fi, err := os.Lstat(abs)
	if err != nil {
		return Result{}, fmt.Errorf("ingest: %w", err)
	}
	root := &node{name: filepath.Base(abs), abs: abs, fi: fi}
	var warns []Warning
	switch {
	case fi.IsDir():
		root.mode = cas.ModeTree
		if err := in.walk(ctx, root, opts.Filter, &warns); err != nil {
			return Result{}, err
		}
	case fi.Mode().IsRegular():
		root.mode = fileMode(fi)
	default:
		return Result{}, fmt.Errorf("ingest: %s: not a regular file or directory (%s)", p, fi.Mode().Type())
	}
	return in.finish(ctx, root, warns, opts)
}

// AddFiles adds the listed paths below root as one tree rooted at root, as
// if root had been added with a filter that keeps exactly them and the
// directories leading to them. rels are slash-separated and relative to
// root; a listed directory is added with everything below it (through
// opts.Filter). Duplicates are ignored. A path that is absolute, unclean or
// escapes root gives [ErrBadPath]; a missing one the *fs.PathError.
// Everything else is as for [Ingester.AddPath].
func (in *Ingester) AddFiles(ctx context.Context, root string, rels []string, opts AddOptions) (Result, error) {
	abs, err := filepath.Abs(root)
	if err != nil {
		return Result{}, fmt.Errorf("ingest: %w", err)
	}
	fi, err := os.Stat(abs)
	if err != nil {
		return Result{}, fmt.Errorf("ingest: %w", err)
	}
	if !fi.IsDir() {
		return Result{}, fmt.Errorf("ingest: %s: not a directory", root)
	}
	top := &node{name: filepath.Base(abs), abs: abs, fi: fi, mode: cas.ModeTree}
	dirs := map[string]*node{"": top}
	full := map[string]bool{} // listed directories, added with all below them
	var warns []Warning
	sorted := slices.Clone(rels)
	slices.Sort(sorted) // a directory sorts before everything below it
	sorted = slices.Compact(sorted)
	for _, rel := range sorted {
		if err := ctx.Err(); err != nil {
			return Result{}, err
		}
		if rel == "" || rel == "." || path.IsAbs(rel) || path.Clean(rel) != rel || rel == ".." || strings.HasPrefix(rel, "../") {
			return Result{}, fmt.Errorf("%q: %w", rel, ErrBadPath)
		}
		if underFull(full, rel) {
			continue
		}
		parent, err := mkdirs(dirs, top, path.Dir(rel))
		if err != nil {
			return Result{}, err
		}
		n := &node{name: path.Base(rel), rel: rel, abs: filepath.Join(abs, filepath.FromSlash(rel))}
		if n.fi, err = os.Lstat(n.abs); err != nil {
			return Result{}, fmt.Errorf("ingest: %w", err)
		}
		if !in.classify(n, &warns) {
			continue
		}
		if n.mode == cas.ModeTree {
			if err := in.walk(ctx, n, opts.Filter, &warns); err != nil {
				return Result{}, err
			}
			full[rel] = true
		}
		parent.children = append(parent.children, n)
	}
	for _, d := range dirs {
		slices.SortFunc(d.children, func(a, b *node) int { return strings.Compare(a.name, b.name) })
	}
	return in.finish(ctx, top, warns, opts)
}

// underFull reports whether a proper ancestor of rel is in full.
func underFull(full map[string]bool, rel string) bool {
	for d := path.Dir(rel); d != "."; d = path.Dir(d) {
		if full[d] {
			return true
		}
	}
	return false
}

// mkdirs returns the directory node for rel ("." for the root), creating
// the implied directories on the way.
func mkdirs(dirs map[string]*node, top *node, rel string) (*node, error) {
	if rel == "." {
		rel = ""
	}
	if d, ok := dirs[rel]; ok {
		return d, nil
	}
	parent, err := mkdirs(dirs, top, path.Dir(rel))
	if err != nil {
		return nil, err
	}
	d := &node{name: path.Base(rel), rel: rel, abs: filepath.Join(top.abs, filepath.FromSlash(rel)), mode: cas.ModeTree}
	fi, err := os.Lstat(d.abs)
	if err != nil {
		return nil, fmt.Errorf("ingest: %w", err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("ingest: %s: not a directory", d.abs)
	}
	d.fi = fi
	dirs[rel] = d
	parent.children = append(parent.children, d)
	return d, nil
}

func fileMode(fi fs.FileInfo) cas.Mode {
	if fi.Mode().Perm()&0o111 != 0 {
		return cas.ModeExec
	}
	return cas.ModeFile
}

// classify sets n.mode from n.fi and reports whether n is kept; special
// files are reported as warnings.
func (in *Ingester) classify(n *node, warns *[]Warning) bool {
	m := n.fi.Mode()
	switch {
	case m.IsDir():
		n.mode = cas.ModeTree
	case m.IsRegular():
		n.mode = fileMode(n.fi)
	case m&fs.ModeSymlink != 0:
		n.mode = cas.ModeSymlink
	default:
		*warns = append(*warns, Warning{Path: n.rel, Reason: "skipped: " + specialKind(m)})
		return false
	}
	return true
}

func specialKind(m fs.FileMode) string {
	switch {
	case m&fs.ModeSocket != 0:
		return "socket"
	case m&fs.ModeNamedPipe != 0:
		return "named pipe (FIFO)"
	case m&fs.ModeCharDevice != 0:
		return "character device"
	case m&fs.ModeDevice != 0:
		return "device"
	case m&fs.ModeIrregular != 0:
		return "irregular file"
	}
	return "not a regular file, directory or symlink"
}

// walk reads the directory n recursively into n.children.
func (in *Ingester) walk(ctx context.Context, n *node, filter func(string, bool) bool, warns *[]Warning) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	des, err := os.ReadDir(n.abs) // sorted by name
	if err != nil {
		return fmt.Errorf("ingest: %w", err)
	}
	for _, de := range des {
		rel := de.Name()
		if n.rel != "" {
			rel = n.rel + "/" + rel
		}
		if filter != nil && !filter(rel, de.IsDir()) {
			continue
		}
		c := &node{name: de.Name(), rel: rel, abs: filepath.Join(n.abs, de.Name())}
		if c.fi, err = de.Info(); err != nil {
			return fmt.Errorf("ingest: %w", err)
		}
		if !in.classify(c, warns) {
			continue
		}
		if c.mode == cas.ModeTree {
			if err := in.walk(ctx, c, filter, warns); err != nil {
				return err
			}
		}
		n.children = append(n.children, c)
	}
	return nil
}

// progress serialises the Progress hook.
type progress struct {
	fn    func(done, total int64)
	mu    sync.Mutex
	total int64
	done  int64
}

func (p *progress) add(n int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done += n
	if p.fn != nil {
		p.fn(p.done, p.total)
	}
}

// countingWriter reports bytes read through a TeeReader to the progress
// hook, in steps of at least 4 MiB.
type countingWriter struct {
	p       *progress
	pending int64
}

func (w *countingWriter) Write(b []byte) (int, error) {
	w.pending += int64(len(b))
	if w.pending >= 4<<20 {
		w.p.add(w.pending)
		w.pending = 0
	}
	return len(b), nil
}

func (w *countingWriter) flush() {
	if w.pending > 0 {
		w.p.add(w.pending)
		w.pending = 0
	}
}

// finish hashes and stores every file below root concurrently, then the
// trees bottom-up, and assembles the result.
func (in *Ingester) finish(ctx context.Context, root *node, warns []Warning, opts AddOptions) (Result, error) {
	var files []*node
	var collect func(n *node)
	collect = func(n *node) {
		if n.mode != cas.ModeTree {
			files = append(files, n)
			return
		}
		for _, c := range n.children {
			collect(c)
		}
	}
	collect(root)
	pr := &progress{fn: opts.Progress}
	for _, f := range files {
		if f.mode != cas.ModeSymlink {
			pr.total += f.fi.Size()
		}
	}
	var readBytes atomic.Int64
	if err := in.storeFiles(ctx, files, opts, pr, &readBytes); err != nil {
		return Result{}, err
	}
	if root.mode == cas.ModeTree {
		if err := in.storeTree(ctx, root); err != nil {
			return Result{}, err
		}
	}
	res := Result{
		Info:      cas.Info{Digest: root.digest, Size: root.size, Kind: cas.KindBlob},
		Mode:      root.mode,
		ReadBytes: readBytes.Load(),
		Warnings:  warns,
	}
	if root.mode == cas.ModeTree {
		res.Info.Kind = cas.KindTree
	}
	res.Files = make([]File, len(files))
	for i, f := range files {
		rel := f.rel
		if f == root {
			rel = root.name
		}
		res.Files[i] = File{Path: rel, Mode: f.mode, Size: f.size, Digest: f.digest, SHA256: f.sha}
		res.Bytes += f.size
	}
	slices.SortFunc(res.Files, func(a, b File) int { return strings.Compare(a.Path, b.Path) })
	slices.SortFunc(res.Warnings, func(a, b Warning) int { return strings.Compare(a.Path, b.Path) })
	return res, nil
}

// bigFile is the size from which a file counts against bigFiles: files
// this large are cut into chunks by cas.Put (above its inline limit).
const (
	bigFile  = 1 << 20
	bigFiles = 2
)

// storeFiles runs a bounded pool of workers over files.
func (in *Ingester) storeFiles(ctx context.Context, files []*node, opts AddOptions, pr *progress, readBytes *atomic.Int64) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// Large files are chunked, and each Put of one runs its own pipeline
	// with several chunks of up to 4 MiB in flight and hashes and
	// compresses them on every core; bigFiles of them at a time keep both
	// cores of a small machine busy, while more would only add memory.
	// The other workers store small files meanwhile, whose Puts wait on
	// their commits more than they compute, instead of leaving them all
	// to the end; a worker whose list is done helps with the other one.
	// Large files go largest first, so that the last one to finish is
	// short.
	var (
		wg       sync.WaitGroup
		errOnce  sync.Once
		firstErr error
	)
	fail := func(err error) {
		errOnce.Do(func() { firstErr = err; cancel() })
	}
	var bigs, smalls []*node
	for _, f := range files {
		if f.mode != cas.ModeSymlink && f.fi.Size() >= bigFile {
			bigs = append(bigs, f)
		} else {
			smalls = append(smalls, f)
		}
	}
	slices.SortStableFunc(bigs, func(a, b *node) int { return cmp.Compare(b.fi.Size(), a.fi.Size()) })
	var (
		mu           sync.Mutex
		bigBusy      int
		nextB, nextS int
	)
	// take returns the next file for a worker that prefers large files
	// (or small ones), or nil when none is left for it.
	take := func(preferBig bool) (n *node, isBig bool) {
		mu.Lock()
		defer mu.Unlock()
		bigOK := nextB < len(bigs) && bigBusy < bigFiles
		switch {
		case ctx.Err() != nil:
			return nil, false
		case bigOK && (preferBig || nextS == len(smalls)):
			bigBusy++
			nextB++
			return bigs[nextB-1], true
		case nextS < len(smalls):
			nextS++
			return smalls[nextS-1], false
		case nextB < len(bigs):
			// Only large files are left, and bigFiles are being stored:
			// this worker is done (the others take the rest).
			return nil, false
		}
		return nil, false
	}
	workers := min(in.conc, max(1, len(files)))
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				n, isBig := take(w < bigFiles)
				if n == nil {
					return
				}
				if err := in.storeFile(ctx, n, opts, pr, readBytes); err != nil {
					fail(err)
				}
				if isBig {
					mu.Lock()
					bigBusy--
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	return ctx.Err()
}

// storeFile stores one regular file or symlink and sets n's results.
func (in *Ingester) storeFile(ctx context.Context, n *node, opts AddOptions, pr *progress, readBytes *atomic.Int64) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if n.mode == cas.ModeSymlink {
		target, err := os.Readlink(n.abs)
		if err != nil {
			return fmt.Errorf("ingest: %w", err)
		}
		info, err := in.s.Put(ctx, strings.NewReader(target), cas.PutOptions{})
		if err != nil {
			return fmt.Errorf("ingest: %s: %w", n.abs, err)
		}
		n.digest, n.size = info.Digest, info.Size
		if opts.SHA256 {
			sum := sha256.Sum256([]byte(target))
			n.sha = hex.EncodeToString(sum[:])
		}
		return nil
	}
	if !opts.Rehash {
		ok, err := in.cached(ctx, n, opts.SHA256)
		if err != nil {
			return err
		}
		if ok {
			pr.add(n.size)
			return nil
		}
	}
	const tries = 3
	for try := 1; ; try++ {
		err := in.readFile(ctx, n, opts.SHA256, pr, readBytes)
		if !errors.Is(err, ErrFileChanged) || try == tries {
			return err
		}
	}
}

// cached looks n up in the stat cache (and, when the SHA-256 is wanted, in
// the SHA-256 index) and fills in its results on a hit.
func (in *Ingester) cached(ctx context.Context, n *node, wantSHA bool) (bool, error) {
	d, ok, err := in.s.LookupStat(ctx, statKey(n.abs, n.fi))
	if err != nil || !ok {
		return false, err
	}
	sha := ""
	if wantSHA {
		if sha, err = in.lookupSHA(ctx, d); err != nil || sha == "" {
			return false, err
		}
	}
	n.digest, n.size, n.sha = d, n.fi.Size(), sha
	return true, nil
}

// lookupSHA returns the SHA-256 remembered for d, or "".
func (in *Ingester) lookupSHA(ctx context.Context, d digest.Digest) (string, error) {
	if in.idx == nil {
		return "", nil
	}
	key := []byte(d.String())
	var sha string
	err := in.idx.ScanIndex(ctx, SHA256Index, key, func(k, v []byte) error {
		if string(k) == string(key) {
			sha = string(v)
		}
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("ingest: sha256 index: %w", err)
	}
	return sha, nil
}

// readFile reads n once, storing it and computing the wanted sums. It
// returns ErrFileChanged if the file changed while it was read.
func (in *Ingester) readFile(ctx context.Context, n *node, wantSHA bool, pr *progress, readBytes *atomic.Int64) error {
	f, err := os.Open(n.abs)
	if err != nil {
		return fmt.Errorf("ingest: %w", err)
	}
	defer f.Close()
	before, err := f.Stat()
	if err != nil {
		return fmt.Errorf("ingest: %w", err)
	}
	if !before.Mode().IsRegular() {
		return fmt.Errorf("ingest: %s: %w (it is no longer a regular file)", n.abs, ErrFileChanged)
	}
	cw := &countingWriter{p: pr}
	var r io.Reader = io.TeeReader(&cancelReader{ctx: ctx, r: f}, cw)
	var sh hash.Hash
	if wantSHA {
		sh = sha256.New()
		r = io.TeeReader(r, sh)
	}
	info, err := in.s.Put(ctx, r, cas.PutOptions{})
	cw.flush()
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("ingest: %s: %w", n.abs, err)
	}
	readBytes.Add(info.Size)
	after, err := f.Stat()
	if err != nil {
		return fmt.Errorf("ingest: %w", err)
	}
	kb, ka := statKey(n.abs, before), statKey(n.abs, after)
	if kb != ka || info.Size != after.Size() {
		return fmt.Errorf("ingest: %s: %w", n.abs, ErrFileChanged)
	}
	n.digest, n.size, n.fi = info.Digest, info.Size, after
	if sh != nil {
		n.sha = hex.EncodeToString(sh.Sum(nil))
		if in.idx != nil {
			if err := in.idx.PutIndex(ctx, SHA256Index, []byte(n.digest.String()), []byte(n.sha)); err != nil {
				return fmt.Errorf("ingest: sha256 index: %w", err)
			}
		}
	}
	if in.trustworthy(ka) {
		if err := in.s.RememberStat(ctx, ka, n.digest); err != nil {
			return fmt.Errorf("ingest: stat cache: %w", err)
		}
	}
	return nil
}

// Freshness margins for the stat cache (git's "racily clean" problem): a
// file written again in the same timestamp tick as the version just read
// keeps its stat key, so a key is remembered only once its timestamps are
// older than the tick could be. Linux stamps files from a coarse clock
// (one jiffy, at most 10 ms); file systems with whole-second timestamps
// need a full second.
const (
	freshMargin       = 100 * time.Millisecond
	freshMarginCoarse = 2 * time.Second
)

// trustworthy reports whether a stat key may be remembered: its mtime and
// ctime are old enough that a later write would get other timestamps.
func (in *Ingester) trustworthy(k cas.StatKey) bool {
	margin := freshMargin
	if k.Mtime.Nanosecond() == 0 && k.Ctime.Nanosecond() == 0 {
		margin = freshMarginCoarse
	}
	now := in.now()
	return now.Sub(k.Mtime) > margin && now.Sub(k.Ctime) > margin
}

// storeTree stores the trees of n and its subdirectories, bottom-up.
func (in *Ingester) storeTree(ctx context.Context, n *node) error {
	t := cas.Tree{Entries: make([]cas.Entry, 0, len(n.children))}
	for _, c := range n.children {
		if c.mode == cas.ModeTree {
			if err := in.storeTree(ctx, c); err != nil {
				return err
			}
		}
		t.Entries = append(t.Entries, cas.Entry{Name: c.name, Mode: c.mode, Size: c.size, Digest: c.digest})
	}
	info, err := in.s.PutTree(ctx, t)
	if err != nil {
		return fmt.Errorf("ingest: %s: %w", n.abs, err)
	}
	n.digest, n.size = info.Digest, info.Size
	return nil
}

// cancelReader stops a long read when ctx is cancelled.
type cancelReader struct {
	ctx context.Context
	r   io.Reader
}

func (c *cancelReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
