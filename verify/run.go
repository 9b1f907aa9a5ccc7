package verify

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
	"path"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	digest "github.com/opencontainers/go-digest"

	"github.com/rigor-dev/rigor/cas"
	"github.com/rigor-dev/rigor/spec"
)

// Store is what verification reads: objects, verified as they are read,
// and trees. *cas.Store satisfies it. If it also implements [cas.Indexer],
// SHA-256 sums recorded at ingest time (index [SHA256Index]) are used
// instead of re-reading files, except with [Options.Deep].
type Store interface {
	cas.Getter
	ReadTree(ctx context.Context, d digest.Digest) (cas.Tree, error)
}

// SHA256Index is the store index that maps a blob's digest string to the
// lower-case hex SHA-256 of the same bytes. It is ingest.SHA256Index; verify
// may not import ingest, and a test keeps the two equal.
const SHA256Index = "sha256"

// ManifestName is the run manifest's path in a run bundle.
const ManifestName = "manifest.json"

// maxManifest bounds the manifest read into memory.
const maxManifest = 64 << 20

// Options control [Run]. The zero value checks every rule, checks that
// every object exists, and re-hashes only what the manifest check needs
// and the SHA-256 index cannot vouch for.
type Options struct {
	// Deep re-hashes every blob the run reaches from its stored bytes
	// (BLAKE3 against its digest). The manifest check's SHA-256 sums come
	// from the index ingest filled from the same bytes, so a blob that
	// re-hashes to its digest has the recorded SHA-256; the ones the index
	// lacks are computed in the same pass.
	Deep bool
	// SHA256 computes the SHA-256 of every file the manifest names from
	// its bytes instead of taking it from the index: slower (SHA-256 runs
	// at about a third of BLAKE3's speed here), for a check that trusts
	// nothing but the bytes.
	SHA256 bool
	// Sample, in percent (0 < Sample ≤ 100), re-hashes a share of the
	// blobs chosen by SampleSeed: a blob is chosen when its digest falls in
	// a window of Sample percent of the digest space that starts at
	// SampleSeed × Sample percent. Successive seeds 0, 1, 2… move the window
	// on, so ⌈100/Sample⌉ runs with successive seeds re-hash every blob.
	// 0 means no sampling. Ignored with Deep.
	Sample     float64
	SampleSeed uint64
	// Concurrency is the number of blobs hashed at once. ≤0 means
	// runtime.GOMAXPROCS(0).
	Concurrency int
	// Now is the current time for the future-timestamp rule; nil is
	// time.Now.
	Now func() time.Time
	// Run names the run in problems; "" uses the manifest's run_id, or the
	// root digest when there is none.
	Run string
	// Recorded and Index, when both are set, also check the run's entries
	// in the store's indexes: its runs-index summary must exist and name
	// Recorded.Ref and root, and every input and artifact must have its
	// lineage entry. Recorded.RunID also names the run when Run is "".
	Recorded *RunInfo
	Index    cas.Indexer
	// Progress, if set, is called as blobs are hashed with the bytes done
	// and the total to hash. Calls are serialised and may come from any
	// goroutine; it must return quickly.
	Progress func(done, total int64)
}

// SampleInfo reports what a sampled verification covered.
type SampleInfo struct {
	Percent float64 `json:"percent"`
	Seed    uint64  `json:"seed"`
	// NextSeed continues the coverage in the next run.
	NextSeed uint64 `json:"next_seed"`
	Objects  int    `json:"objects"`
	Bytes    int64  `json:"bytes"`
}

// Report is the outcome of verifying one run. It lists every problem found.
type Report struct {
	Run  string        `json:"run"`
	Root digest.Digest `json:"root"`
	OK   bool          `json:"ok"`
	// Problems are the store-level problems sorted by path, then the
	// manifest's, in the checker's order.
	Problems []Problem `json:"problems"`
	// Check is the Light checker's result on the stored run (nil when the
	// root is not a run bundle).
	Check *spec.ManifestCheck `json:"manifest_check,omitempty"`
	// Objects and Bytes count the distinct objects the run reaches and the
	// bytes of its blobs; Hashed and HashedBytes the blobs re-hashed from
	// their stored bytes.
	Objects     int         `json:"objects"`
	Bytes       int64       `json:"bytes"`
	Hashed      int         `json:"hashed"`
	HashedBytes int64       `json:"hashed_bytes"`
	Deep        bool        `json:"deep"`
	Sample      *SampleInfo `json:"sample,omitempty"`
}

// Run verifies the run bundle root: every rule of the Light run-artifact
// check on its manifest and files, that every object it reaches exists with
// the size its tree records, that the BLAKE3 digests and sizes its manifest
// records are those of the files in its tree, and (with opts.Deep, or for
// the blobs opts.Sample picks) that every blob's stored bytes hash to its
// digest. Every problem is reported in the Report; Run returns an error
// only when verification itself could not run (the context ended, the
// store failed).
func Run(ctx context.Context, src Store, root digest.Digest, opts Options) (Report, error) {
	return newRunVerifier(src, root, opts).run(ctx)
}

func newRunVerifier(src Store, root digest.Digest, opts Options) *runVerifier {
	v := &runVerifier{src: src, opts: opts, root: root, stats: map[digest.Digest]statResult{}, files: map[string]cas.Entry{},
		bad: map[string]bool{}, objects: map[digest.Digest]bool{}, dirs: map[string]digest.Digest{}}
	if opts.Now == nil {
		v.opts.Now = time.Now
	}
	if idx, ok := src.(cas.Indexer); ok {
		v.idx = idx
	}
	return v
}

type statResult struct {
	info cas.Info
	err  error
}

type runVerifier struct {
	src  Store
	idx  cas.Indexer
	opts Options
	root digest.Digest

	stats    map[digest.Digest]statResult
	files    map[string]cas.Entry     // every non-tree entry by path
	dirs     map[string]digest.Digest // every tree by path
	order    []string                 // paths of files, in walk order
	store    []Problem                // store-level problems
	bad      map[string]bool          // paths whose objects have store problems
	objects  map[digest.Digest]bool
	runLabel string

	// After run: the manifest (nil when unreadable), its file records and
	// the SHA-256 of every file the check hashed.
	manifest      []byte
	manifestFiles []spec.ManifestFile
	sums          map[string]string
}

func (v *runVerifier) add(p Problem) {
	v.store = append(v.store, p)
	if p.Kind != NotRun {
		v.bad[p.Path] = true
	}
}

func (v *runVerifier) run(ctx context.Context) (Report, error) {
	rep := Report{Root: v.root, Deep: v.opts.Deep}
	if err := v.walk(ctx); err != nil {
		return rep, err
	}
	// The manifest: read it first, so problems can name the run.
	var manifest []byte
	mentry, haveManifest := v.files[ManifestName]
	if v.isTreeRoot() && !haveManifest {
		v.add(Problem{Kind: NotRun, Digest: v.root, Message: "the root tree has no " + ManifestName + ": not a run bundle"})
	}
	var manifestErr error
	if haveManifest && !v.bad[ManifestName] {
		manifest, manifestErr = v.readSmall(ctx, mentry)
		if manifestErr != nil {
			if err := ctx.Err(); err != nil {
				return rep, err
			}
			v.add(objectProblem(ManifestName, mentry.Digest, manifestErr))
		}
	}
	v.runLabel = v.opts.Run
	if v.runLabel == "" && v.opts.Recorded != nil {
		v.runLabel = v.opts.Recorded.RunID
	}
	if v.runLabel == "" && manifest != nil {
		if m, ok := spec.ManifestRunID(manifest); ok {
			v.runLabel = m
		}
	}
	if v.runLabel == "" {
		v.runLabel = v.root.String()
	}
	rep.Run = v.runLabel

	files := spec.ManifestFiles(manifest)
	sums, err := v.hashAll(ctx, files, &rep)
	if err != nil {
		return rep, err
	}
	v.manifest, v.manifestFiles, v.sums = manifest, files, sums

	var manifestProblems []Problem
	if haveManifest {
		var check spec.ManifestCheck
		if manifest == nil {
			msg := "cannot read manifest: " + ManifestName + ": the stored object is damaged"
			if manifestErr != nil {
				msg = "cannot read manifest: " + manifestErr.Error()
			}
			check = spec.ManifestCheck{Errors: []string{msg}, CheckedHashes: map[string]string{}}
		} else {
			check = spec.CheckRunManifest(manifest, &treeFiles{v: v, sums: sums}, v.opts.Now())
		}
		rep.Check = &check
		pathOf := map[string]string{}
		for _, f := range files {
			pathOf[f.Label] = f.Rel
		}
		for _, msg := range check.Errors {
			label := spec.ErrorLabel(msg, files)
			p := Problem{Kind: ManifestRule, Path: ManifestName, Message: msg}
			if rel := pathOf[label]; rel != "" {
				p.Path = rel
				if e, ok := v.files[rel]; ok {
					p.Digest = e.Digest
				}
				if (v.bad[rel] || v.damagedAncestor(rel) != "") && strings.HasPrefix(msg, label+": cannot read ") {
					continue // reported as a store problem at rel
				}
			}
			manifestProblems = append(manifestProblems, p)
		}
		manifestProblems = append(manifestProblems, v.checkRecordedDigests(files)...)
	}
	if v.opts.Recorded != nil && v.opts.Index != nil && v.opts.Recorded.RunID != "" {
		ps, err := v.checkIndex(ctx, files)
		if err != nil {
			return rep, err
		}
		manifestProblems = append(manifestProblems, ps...)
	}

	slices.SortStableFunc(v.store, func(a, b Problem) int {
		if c := strings.Compare(a.Path, b.Path); c != 0 {
			return c
		}
		return int(a.Kind) - int(b.Kind)
	})
	rep.Problems = append(v.store, manifestProblems...)
	for i := range rep.Problems {
		rep.Problems[i].Run = v.runLabel
	}
	if rep.Problems == nil {
		rep.Problems = []Problem{}
	}
	rep.OK = len(rep.Problems) == 0
	rep.Objects = len(v.objects)
	for _, p := range v.order {
		rep.Bytes += v.files[p].Size
	}
	return rep, nil
}

func (v *runVerifier) isTreeRoot() bool {
	st, ok := v.stats[v.root]
	return ok && st.err == nil && st.info.Kind == cas.KindTree
}

// stat returns the Info of d, once per digest.
func (v *runVerifier) stat(ctx context.Context, d digest.Digest) (cas.Info, error) {
	if st, ok := v.stats[d]; ok {
		return st.info, st.err
	}
	info, err := v.src.Stat(ctx, d)
	v.stats[d] = statResult{info, err}
	return info, err
}

// objectProblem classifies an error from reading object d at path p.
func objectProblem(p string, d digest.Digest, err error) Problem {
	pr := Problem{Path: p, Digest: d, Err: err, Message: err.Error()}
	switch {
	case errors.Is(err, cas.ErrNotFound):
		pr.Kind = MissingObject
	case errors.Is(err, cas.ErrBadTree), errors.Is(err, cas.ErrNotTree):
		pr.Kind = BadTree
	default:
		pr.Kind = CorruptObject
	}
	return pr
}

// fatal reports whether err means verification itself cannot go on.
func fatal(ctx context.Context, err error) bool {
	return ctx.Err() != nil || errors.Is(err, cas.ErrClosed) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

// walk visits every object below the root, tolerating missing and damaged
// ones: each becomes a problem and the walk goes on.
func (v *runVerifier) walk(ctx context.Context) error {
	info, err := v.stat(ctx, v.root)
	if err != nil {
		if fatal(ctx, err) {
			return err
		}
		v.add(objectProblem("", v.root, err))
		return nil
	}
	v.objects[v.root] = true
	if info.Kind != cas.KindTree {
		v.add(Problem{Kind: NotRun, Digest: v.root, Message: "the root is a blob, not a run bundle tree"})
		return nil
	}
	type job struct {
		dir string
		d   digest.Digest
	}
	stack := []job{{"", v.root}}
	for len(stack) > 0 {
		if err := ctx.Err(); err != nil {
			return err
		}
		j := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		t, err := v.src.ReadTree(ctx, j.d)
		if err != nil {
			if fatal(ctx, err) {
				return err
			}
			v.add(objectProblem(j.dir, j.d, err))
			continue
		}
		for i := len(t.Entries) - 1; i >= 0; i-- {
			e := t.Entries[i]
			p := e.Name
			if j.dir != "" {
				p = j.dir + "/" + e.Name
			}
			info, err := v.stat(ctx, e.Digest)
			if err != nil {
				if fatal(ctx, err) {
					return err
				}
				v.add(objectProblem(p, e.Digest, err))
				if e.Mode != cas.ModeTree {
					v.files[p] = e
					v.order = append(v.order, p)
				}
				continue
			}
			v.objects[e.Digest] = true
			if info.Size != e.Size {
				v.add(Problem{Kind: SizeMismatch, Path: p, Digest: e.Digest,
					Message: fmt.Sprintf("the tree records %d bytes, the stored object has %d", e.Size, info.Size)})
			}
			if e.Mode == cas.ModeTree {
				if info.Kind != cas.KindTree {
					v.add(Problem{Kind: BadTree, Path: p, Digest: e.Digest, Message: "entry has mode tree but the object is a blob"})
					continue
				}
				stack = append(stack, job{p, e.Digest})
				v.dirs[p] = e.Digest
				continue
			}
			v.files[p] = e
			v.order = append(v.order, p)
		}
	}
	slices.Sort(v.order)
	return nil
}

// readSmall reads a small blob whole, verified.
func (v *runVerifier) readSmall(ctx context.Context, e cas.Entry) ([]byte, error) {
	if e.Size > maxManifest {
		return nil, fmt.Errorf("%s is %d bytes, more than %d", ManifestName, e.Size, maxManifest)
	}
	rc, err := v.src.Open(ctx, e.Digest)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, maxManifest+1))
	if err != nil {
		return nil, err
	}
	return b, nil
}

// hashAll works out which blobs to stream (all with Deep, the sampled ones,
// and those whose SHA-256 the manifest check needs and the index does not
// hold), streams each once through a bounded pool, and returns the SHA-256
// of every manifest path it knows.
func (v *runVerifier) hashAll(ctx context.Context, files []spec.ManifestFile, rep *Report) (map[string]string, error) {
	// need maps each blob to stream to whether its SHA-256 is wanted too.
	need := map[digest.Digest]bool{}
	var sampler *sampler
	if !v.opts.Deep && v.opts.Sample > 0 {
		sampler = newSampler(v.opts.Sample, v.opts.SampleSeed)
		rep.Sample = &SampleInfo{Percent: v.opts.Sample, Seed: v.opts.SampleSeed, NextSeed: v.opts.SampleSeed + 1}
	}
	seenSample := map[digest.Digest]bool{}
	for _, p := range v.order {
		e := v.files[p]
		if v.bad[p] {
			continue
		}
		switch {
		case v.opts.Deep:
			need[e.Digest] = false
		case sampler != nil && sampler.pick(e.Digest):
			need[e.Digest] = false
			if !seenSample[e.Digest] {
				seenSample[e.Digest] = true
				rep.Sample.Objects++
				rep.Sample.Bytes += e.Size
			}
		}
	}
	// SHA-256 of the files the manifest names: from the index, which
	// ingest filled from the same bytes as the BLAKE3 digest (and those
	// bytes are re-hashed above when Deep), else from the bytes.
	sums := map[string]string{}
	for _, f := range files {
		if f.Rel == "" {
			continue
		}
		e, ok := v.files[f.Rel]
		if !ok || v.bad[f.Rel] || e.Mode == cas.ModeSymlink {
			continue
		}
		if _, done := sums[f.Rel]; done {
			continue
		}
		if s, ok, err := v.indexedSHA(ctx, e.Digest); err != nil {
			return nil, err
		} else if ok {
			sums[f.Rel] = s
			continue
		}
		need[e.Digest] = true
	}
	digests := make([]digest.Digest, 0, len(need))
	var total int64
	for d := range need {
		digests = append(digests, d)
		total += v.stats[d].info.Size
	}
	// Largest first, so that the pool's workers finish together.
	slices.SortFunc(digests, func(a, b digest.Digest) int {
		if c := cmp.Compare(v.stats[b].info.Size, v.stats[a].info.Size); c != 0 {
			return c
		}
		return strings.Compare(string(a), string(b))
	})
	results, err := v.stream(ctx, digests, need, total)
	if err != nil {
		return nil, err
	}
	for _, d := range digests {
		rep.Hashed++
		rep.HashedBytes += v.stats[d].info.Size
	}
	// Attach results to paths: problems per path, sums per manifest path.
	for _, p := range v.order {
		e := v.files[p]
		r, ok := results[e.Digest]
		if !ok {
			continue
		}
		if r.err != nil {
			v.add(objectProblem(p, e.Digest, r.err))
			delete(sums, p)
			continue
		}
		if r.sha != "" {
			sums[p] = r.sha
		}
	}
	return sums, nil
}

// indexedSHA looks d up in the SHA-256 index.
func (v *runVerifier) indexedSHA(ctx context.Context, d digest.Digest) (string, bool, error) {
	if v.idx == nil || v.opts.SHA256 {
		return "", false, nil
	}
	val, _, err := lookupIndex(ctx, v.idx, SHA256Index, []byte(d.String()))
	if err != nil {
		return "", false, err
	}
	return string(val), spec.IsHex64(string(val)), nil
}

type hashResult struct {
	sha string // "" when not asked for
	err error
}

// stream reads each blob once through the store's verifying reader (which
// checks its BLAKE3 digest), taking its SHA-256 in the same pass where
// withSHA says so, with a bounded pool of workers.
func (v *runVerifier) stream(ctx context.Context, digests []digest.Digest, withSHA map[digest.Digest]bool, total int64) (map[digest.Digest]hashResult, error) {
	results := make(map[digest.Digest]hashResult, len(digests))
	if len(digests) == 0 {
		return results, nil
	}
	n := v.opts.Concurrency
	if n <= 0 {
		n = runtime.GOMAXPROCS(0)
	}
	n = min(n, len(digests))
	var (
		mu       sync.Mutex
		done     int64
		next     int
		firstErr error
	)
	progress := func(k int64) {
		if v.opts.Progress == nil {
			return
		}
		mu.Lock()
		done += k
		v.opts.Progress(done, total)
		mu.Unlock()
	}
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			h := sha256.New()
			for {
				mu.Lock()
				if next == len(digests) || firstErr != nil {
					mu.Unlock()
					return
				}
				d := digests[next]
				next++
				mu.Unlock()
				var sh hash.Hash
				if withSHA[d] {
					sh = h
				}
				sha, err := hashBlob(ctx, v.src, d, sh, progress)
				if err != nil && fatal(ctx, err) {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					return
				}
				mu.Lock()
				results[d] = hashResult{sha, err}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return results, nil
}

// hashBlob checks blob d against its BLAKE3 digest: with [cas.Verifier]
// when only that is wanted, else by reading it to its end through the
// store's reader; it returns its SHA-256 when h is not nil. A store that
// can check the whole digest alone ([cas.WholeOpener]) is asked to: the
// bytes are only trusted once the read ended without error, and each is
// hashed with BLAKE3 once instead of twice.
func hashBlob(ctx context.Context, src Store, d digest.Digest, h hash.Hash, progress func(int64)) (string, error) {
	if v, ok := src.(cas.Verifier); ok && h == nil {
		// Only the BLAKE3 check is wanted: the store can do it without
		// handing the bytes out (and without copying them).
		return "", v.Verify(ctx, d, progress)
	}
	rc, err := cas.OpenWhole(ctx, src, d)
	if err != nil {
		return "", err
	}
	defer rc.Close()
	w := &progressWriter{ctx: ctx, progress: progress}
	if h != nil {
		h.Reset()
		w.h = h
	}
	if _, err := io.Copy(w, rc); err != nil {
		return "", err
	}
	if h == nil {
		return "", nil
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// progressWriter is where hashBlob copies a blob: into the SHA-256 hasher
// if any, reporting progress and stopping when ctx ends.
type progressWriter struct {
	ctx      context.Context
	h        hash.Hash
	progress func(int64)
}

func (w *progressWriter) Write(p []byte) (int, error) {
	if err := w.ctx.Err(); err != nil {
		return 0, err
	}
	if w.h != nil {
		w.h.Write(p)
	}
	w.progress(int64(len(p)))
	return len(p), nil
}

// treeFiles is the [spec.RunFiles] of a walked run tree: SHA-256 sums were
// computed (or looked up) before the check ran.
type treeFiles struct {
	v    *runVerifier
	sums map[string]string
}

var errDamaged = errors.New("verify: the stored object is missing or damaged")

func (t *treeFiles) SHA256(rel string) (string, error) {
	e, ok := t.v.files[rel]
	if !ok {
		if d := t.v.damagedAncestor(rel); d != "" {
			return "", fmt.Errorf("%s: below damaged tree %q: %w", rel, d, errDamaged)
		}
		return "", fmt.Errorf("%s: %w", rel, fs.ErrNotExist)
	}
	if e.Mode == cas.ModeSymlink {
		return "", fmt.Errorf("%s is a symbolic link in the bundle: %w", rel, fs.ErrNotExist)
	}
	if t.v.bad[rel] {
		return "", fmt.Errorf("%s: %w", rel, errDamaged)
	}
	s, ok := t.sums[rel]
	if !ok {
		return "", fmt.Errorf("%s: %w", rel, errDamaged)
	}
	return s, nil
}

// sha256sumSuffix ends the path of the listing that stands for a directory
// input in the manifest.
const sha256sumSuffix = ".sha256sum"

// directoryInput returns the tree digest of a directory input recorded the
// way rigor run records one: inputs[i].path is "<dir>.sha256sum" and <dir>
// is a tree in the bundle.
func (v *runVerifier) directoryInput(f spec.ManifestFile) (digest.Digest, bool) {
	if !strings.HasPrefix(f.Label, "inputs[") || !strings.HasSuffix(f.Rel, sha256sumSuffix) {
		return "", false
	}
	d, ok := v.dirs[strings.TrimSuffix(f.Rel, sha256sumSuffix)]
	return d, ok
}

// lineageDigest is the digest a run's lineage index entry for f is keyed
// by: the recorded blake3 when there is one (a directory input's tree),
// else the file's.
func (v *runVerifier) lineageDigest(f spec.ManifestFile) (digest.Digest, bool) {
	if d, ok := v.directoryInput(f); ok {
		return d, true
	}
	if d := digest.Digest(f.BLAKE3); f.BLAKE3 != "" && spec.ValidDigest(d) {
		return d, true
	}
	e, ok := v.files[f.Rel]
	return e.Digest, ok
}

// damagedAncestor returns the nearest directory above rel whose tree could
// not be read ("/" for the root tree), or "" when every one could.
func (v *runVerifier) damagedAncestor(rel string) string {
	for d := path.Dir(rel); ; d = path.Dir(d) {
		if d == "." {
			if v.bad[""] {
				return "/"
			}
			return ""
		}
		if v.bad[d] {
			return d
		}
	}
}

// checkRecordedDigests compares rigor's blake3 and size members of the
// manifest's file records with the files in the tree.
func (v *runVerifier) checkRecordedDigests(files []spec.ManifestFile) []Problem {
	var out []Problem
	for _, f := range files {
		e, ok := v.files[f.Rel]
		if f.Rel == "" || !ok {
			continue
		}
		if d, ok := v.directoryInput(f); ok {
			// rigor run records a directory input by its tree: the manifest
			// points the checker at the tree's sha256sum listing, and its
			// blake3 and size are the tree's.
			if f.BLAKE3 != "" && f.BLAKE3 != d.String() {
				out = append(out, Problem{Kind: ManifestDigest, Path: f.Rel, Digest: d,
					Message: fmt.Sprintf("%s: the manifest records blake3 %s, the bundle's directory holds %s", f.Label, f.BLAKE3, d)})
			}
			continue
		}
		if f.BLAKE3 != "" && f.BLAKE3 != e.Digest.String() {
			out = append(out, Problem{Kind: ManifestDigest, Path: f.Rel, Digest: e.Digest,
				Message: fmt.Sprintf("%s: the manifest records blake3 %s, the bundle holds %s", f.Label, f.BLAKE3, e.Digest)})
		}
		if f.Size != nil && *f.Size != e.Size {
			out = append(out, Problem{Kind: SizeMismatch, Path: f.Rel, Digest: e.Digest,
				Message: fmt.Sprintf("%s: the manifest records %d bytes, the bundle holds %d", f.Label, *f.Size, e.Size)})
		}
	}
	return out
}
