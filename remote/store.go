package remote

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"

	digest "github.com/opencontainers/go-digest"

	"github.com/rigor-dev/rigor/cas"
	"github.com/rigor-dev/rigor/internal/xfer"
)

// StoreRemote is another rigor store reached through the file system.
//
// Both stores are held open (both process locks) while runs move. Locks
// are always taken local store first, then the remote: the caller opens
// its own store, and Push, Pull and Check open the remote one. Two
// processes that push into each other's stores at the same moment wait
// for each other until the lock timeout of cas.Options (10 minutes by
// default) ends one of them with cas.ErrLocked; neither loses anything.
type StoreRemote struct {
	// Dir is the store directory (.rigor) or a directory holding one.
	Dir string
	// Options open the remote store; the zero value is cas's default.
	Options cas.Options
}

// storeDir returns the .rigor directory inside dir when there is one.
func storeDir(dir string) string {
	if fi, err := os.Stat(filepath.Join(dir, ".rigor")); err == nil && fi.IsDir() {
		return filepath.Join(dir, ".rigor")
	}
	return dir
}

// sameDir reports whether a and b name the same directory.
func sameDir(a, b string) bool {
	fa, err1 := os.Stat(a)
	fb, err2 := os.Stat(b)
	return err1 == nil && err2 == nil && os.SameFile(fa, fb)
}

// open opens the remote store, refusing the local one itself (its lock
// would wait on this process forever).
func (r StoreRemote) open(ctx context.Context, local any) (*cas.Store, error) {
	dir := storeDir(r.Dir)
	if l, ok := local.(interface{ Dir() string }); ok && l.Dir() != "" && sameDir(l.Dir(), dir) {
		return nil, fmt.Errorf("%s: %w", dir, ErrSameStore)
	}
	s, err := cas.Open(ctx, dir, r.Options)
	if err != nil {
		return nil, fmt.Errorf("remote store %s: %w", dir, err)
	}
	return s, nil
}

// Push sends the named runs of local (every run when names is empty) to
// the remote store; see [Transfer].
func (r StoreRemote) Push(ctx context.Context, local Store, names []string, opts Options) (Stats, error) {
	runs, err := FindRuns(ctx, local, names)
	if err != nil {
		return Stats{}, err
	}
	dst, err := r.open(ctx, local)
	if err != nil {
		return Stats{}, err
	}
	defer dst.Close()
	return Transfer(ctx, local, dst, runs, opts)
}

// Pull fetches the named runs of the remote store (every run when names
// is empty) into local; see [Transfer].
func (r StoreRemote) Pull(ctx context.Context, local Store, names []string, opts Options) (Stats, error) {
	src, err := r.open(ctx, local)
	if err != nil {
		return Stats{}, err
	}
	defer src.Close()
	runs, err := FindRuns(ctx, src, names)
	if err != nil {
		return Stats{}, err
	}
	return Transfer(ctx, src, local, runs, opts)
}

// Transfer copies runs from src to dst, as git push does:
//
//  1. For each run it reads dst's ref. The same root: up to date. Another
//     root: a conflict, left alone unless opts.Force.
//  2. It walks the closure of every run to send in src (children before
//     parents) and asks dst which objects it has.
//  3. It copies the missing blobs, opts.Workers() at a time, each through
//     dst.Put with the expected digest and size, so that nothing
//     unverified is committed; then the missing trees in closure order
//     through dst.PutTree, which requires their entries to be present.
//     The SHA-256 index entries src holds for the sent blobs go along.
//  4. Only then does it set each run's ref in dst (compare-and-swap from
//     "" or, forced, from the root it replaces) and write the run's index
//     entries (runs, lineage-in, lineage-out).
//
// An interrupted transfer leaves only verified objects and no ref; run
// again, it finds them present and sends the rest. Conflicts are reported
// in the Stats and as an error wrapping [ErrConflict] after the other runs
// moved.
func Transfer(ctx context.Context, src, dst Store, runs []Run, opts Options) (st Stats, err error) {
	st.Runs = []RunResult{}
	finished := map[string]bool{}
	defer func() {
		if err != nil && !errors.Is(err, ErrConflict) {
			st.FailUnfinished(finished)
		}
	}()
	for _, r := range runs {
		res := RunResult{Run: r}
		cur, err := dst.GetRef(ctx, r.Ref)
		switch {
		case errors.Is(err, cas.ErrRefNotFound):
			res.Status = Sent
		case err != nil:
			return st, err
		case cur == r.Root:
			res.Status = UpToDate
		case opts.Force:
			res.Status, res.Other = Replaced, cur
		default:
			res.Status, res.Other = Conflict, cur
		}
		st.Runs = append(st.Runs, res)
	}
	cl := NewClosure()
	var moving []Run
	for _, res := range st.Runs {
		if res.Status != Sent && res.Status != Replaced {
			continue
		}
		if err := cl.Add(ctx, src, res.Root); err != nil {
			return st, fmt.Errorf("run %s: %w", res.RunID, err)
		}
		moving = append(moving, res.Run)
	}
	var blobs, trees []Object
	var total int64
	for _, o := range cl.Objects {
		ok, err := dst.Has(ctx, o.Digest)
		if err != nil {
			return st, err
		}
		if ok {
			st.ObjectsSkipped++
			st.BytesSkipped += o.Size
			continue
		}
		if o.Kind == cas.KindTree {
			trees = append(trees, o)
		} else {
			blobs = append(blobs, o)
		}
		total += o.Size
	}
	prog := xfer.NewProgress(opts.Progress, total)
	var sentObjects, sentBytes atomic.Int64
	err = xfer.Parallel(ctx, opts.Workers(), len(blobs), func(ctx context.Context, i int) error {
		o := blobs[i]
		if err := copyBlob(ctx, src, dst, o, prog); err != nil {
			return err
		}
		sentObjects.Add(1)
		sentBytes.Add(o.Size)
		if sha, err := LookupSHA256(ctx, src, o.Digest); err == nil && sha != "" {
			if err := RememberSHA256(ctx, dst, o.Digest, sha); err != nil {
				return err
			}
		}
		return nil
	})
	st.ObjectsSent += int(sentObjects.Load())
	st.BytesSent += sentBytes.Load()
	if err != nil {
		return st, err
	}
	for _, o := range trees {
		t, err := src.ReadTree(ctx, o.Digest)
		if err != nil {
			return st, fmt.Errorf("%s: %w", displayPath(o.Path), err)
		}
		info, err := dst.PutTree(ctx, t)
		if err != nil {
			return st, fmt.Errorf("%s: %w", displayPath(o.Path), err)
		}
		if info.Digest != o.Digest {
			return st, fmt.Errorf("%s: tree %s stored as %s: %w", displayPath(o.Path), o.Digest, info.Digest, ErrBadRemoteData)
		}
		st.ObjectsSent++
		st.BytesSent += o.Size
		prog.Add(o.Size)
	}
	entries, err := ReadIndexEntries(ctx, src, moving)
	if err != nil {
		return st, err
	}
	for i := range st.Runs {
		res := &st.Runs[i]
		if res.Status != Sent && res.Status != Replaced {
			continue
		}
		// Index entries first, then the ref: a process killed in between
		// leaves entries of a run that is not there yet, which the next
		// transfer writes again before it sets the ref; the other order
		// left a run whose lineage was never written (the next transfer
		// finds the ref in place and skips the run).
		if err := WriteIndexEntries(ctx, dst, entries[res.RunID], res.Status == Replaced); err != nil {
			return st, fmt.Errorf("run %s: %w", res.RunID, err)
		}
		if err := dst.SetRef(ctx, res.Ref, res.Other, res.Root); err != nil {
			return st, fmt.Errorf("run %s: %w", res.RunID, err)
		}
		finished[res.RunID] = true
	}
	return st, st.ConflictError()
}

// copyBlob streams blob o from src into dst, verified by dst.Put against
// its digest and size.
func copyBlob(ctx context.Context, src cas.Getter, dst cas.Putter, o Object, prog *xfer.Progress) error {
	rc, err := src.Open(ctx, o.Digest)
	if err != nil {
		return fmt.Errorf("%s: %w", displayPath(o.Path), err)
	}
	defer rc.Close()
	_, err = dst.Put(ctx, prog.Reader(rc), cas.PutOptions{Kind: cas.KindBlob, Expected: o.Digest, Size: o.Size})
	if err != nil {
		return fmt.Errorf("%s: %w", displayPath(o.Path), err)
	}
	return nil
}

// Check reports, for each named run (every run of local when names is
// empty), whether its whole closure is in the remote store, without
// copying anything; see [CheckRun].
func (r StoreRemote) Check(ctx context.Context, local Store, names []string) ([]CheckResult, error) {
	runs, err := CheckList(ctx, local, names)
	if err != nil {
		return nil, err
	}
	dst, err := r.open(ctx, local)
	if err != nil {
		return nil, err
	}
	defer dst.Close()
	side := storeSide{dst}
	var out []CheckResult
	for _, run := range runs {
		res, err := CheckRun(ctx, local, run, side)
		if err != nil {
			return out, err
		}
		out = append(out, res)
	}
	return out, nil
}

// storeSide is a rigor store as the checked side.
type storeSide struct{ s *cas.Store }

func (s storeSide) Root(ctx context.Context, run Run) (digest.Digest, error) {
	d, err := s.s.GetRef(ctx, run.Ref)
	if errors.Is(err, cas.ErrRefNotFound) {
		return "", fmt.Errorf("%s: %w", run.RunID, ErrRunNotFound)
	}
	return d, err
}

func (s storeSide) ReadTree(ctx context.Context, d digest.Digest) (cas.Tree, error) {
	return s.s.ReadTree(ctx, d)
}

func (s storeSide) Has(ctx context.Context, o Object) (bool, error) { return s.s.Has(ctx, o.Digest) }

// CheckList returns the runs a check covers: the named ones (run ids or
// refs; their roots are left empty), or every run of local when names is
// empty.
func CheckList(ctx context.Context, local Store, names []string) ([]Run, error) {
	if len(names) == 0 {
		return ListRuns(ctx, local)
	}
	var runs []Run
	for _, n := range names {
		id, ref, err := ParseRunName(n)
		if err != nil {
			return nil, err
		}
		runs = append(runs, Run{RunID: id, Ref: ref})
	}
	return runs, nil
}

// CheckResult is what a check found for one run.
type CheckResult struct {
	Run
	// Local is the root of the run in the local store, "" when it has none.
	Local digest.Digest `json:"local,omitempty"`
	// Objects is the number of objects the check reached.
	Objects int `json:"objects"`
	// Problem is set when the run itself is absent from the remote or
	// differs from the local one.
	Problem string    `json:"problem,omitempty"`
	Missing []Missing `json:"missing,omitempty"`
}

// OK reports whether the run's closure is complete on the remote.
func (c CheckResult) OK() bool { return c.Problem == "" && len(c.Missing) == 0 }

// CheckSide is the remote side of a check.
type CheckSide interface {
	// Root returns the root the remote records for run, or an error
	// wrapping [ErrRunNotFound] when it has no such run.
	Root(ctx context.Context, run Run) (digest.Digest, error)
	// ReadTree reads a tree from the remote, verified; [cas.ErrNotFound]
	// when it is not there.
	ReadTree(ctx context.Context, d digest.Digest) (cas.Tree, error)
	// Has reports whether the remote holds object o.
	Has(ctx context.Context, o Object) (bool, error)
}

// CheckRun checks that the remote holds run's whole closure: the run
// itself (a root that differs from the local store's is a problem), then
// every object below the root. When the local store has the same run its
// trees are walked and the remote is only asked for presence, so nothing
// is downloaded; otherwise the remote's own trees are read.
func CheckRun(ctx context.Context, local Store, run Run, side CheckSide) (CheckResult, error) {
	res := CheckResult{Run: run}
	if d, err := local.GetRef(ctx, run.Ref); err == nil {
		res.Local = d
	} else if !errors.Is(err, cas.ErrRefNotFound) {
		return res, err
	}
	root, err := side.Root(ctx, run)
	switch {
	case errors.Is(err, ErrRunNotFound):
		res.Root = res.Local
		res.Problem = "not on the remote"
		return res, nil
	case err != nil:
		return res, err
	}
	res.Root = root
	if res.Local != "" && res.Local != root {
		res.Problem = fmt.Sprintf("the remote has root %s, the local store %s", root, res.Local)
		return res, nil
	}
	rootObj := Object{Digest: root, Kind: cas.KindTree}
	read := side.ReadTree
	if res.Local != "" {
		if info, err := local.Stat(ctx, root); err == nil {
			rootObj.Kind, rootObj.Size = info.Kind, info.Size
			read = local.ReadTree
		}
	}
	res.Objects, res.Missing, err = FindMissing(ctx, read, rootObj, side.Has)
	return res, err
}
