package ingest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	digest "github.com/opencontainers/go-digest"

	"github.com/rigor-dev/rigor/cas"
	"github.com/rigor-dev/rigor/spec"
)

// NotGitWorkTree is the reason recorded when the snapshotted directory is
// not inside a git work tree.
const NotGitWorkTree = "not a git work tree"

// CodeOptions control [Ingester.SnapshotCode]. The zero value snapshots every
// tracked and untracked-but-not-ignored file, less [DefaultCodeExclude].
type CodeOptions struct {
	// Include, if not empty, keeps only the files that match one of these
	// patterns (see the package documentation of patterns in match.go:
	// gitignore-like, "**" for any depth).
	Include []string
	// Exclude leaves out the files that match one of these patterns, in
	// addition to DefaultCodeExclude.
	Exclude []string
	// NoDefaultExclude drops DefaultCodeExclude.
	NoDefaultExclude bool
	// Rehash reads every file even if the stat cache knows it.
	Rehash bool
	// Progress is passed on to AddOptions.Progress.
	Progress func(done, total int64)
	// Env is the environment git runs with; nil means the process
	// environment. GIT_INDEX_FILE is always removed from it.
	Env []string
	// Timeout bounds each git command; ≤0 means 5 minutes.
	Timeout time.Duration
}

// CodeSnapshot is the result of [Ingester.SnapshotCode].
type CodeSnapshot struct {
	Record spec.CodeRecord
	// Digest is the stored record (its canonical JSON blob).
	Digest digest.Digest
	// Root is the absolute directory the tree was taken from: the top of
	// the git work tree, or the directory given outside git.
	Root string
	// Files are the snapshotted files with their SHA-256, sorted by path.
	Files    []File
	Warnings []Warning
}

// SnapshotCode records the source code in dir. Inside a git work tree it
// snapshots the whole work tree from its top: the HEAD commit and ref, the
// dirty flag, the binary diff from HEAD to the work tree (untracked files
// that git does not ignore included, checked-out submodules appended with
// their path prefix) as a blob, and a tree of every tracked and
// untracked-not-ignored file, submodules included, filtered by opts. Detached
// HEAD, linked worktrees and a branch without commits work. Outside git (or
// when git is not installed) the record says why in GitUnavailable and dir is
// walked instead. git never changes the repository: the real index is not
// written (a temporary copy is used for the diff, optional locks are off).
//
// Errors: a bad pattern, an unreadable file, a git command that fails inside
// a work tree, or a store error.
func (in *Ingester) SnapshotCode(ctx context.Context, dir string, opts CodeOptions) (CodeSnapshot, error) {
	if opts.Timeout <= 0 {
		opts.Timeout = 5 * time.Minute
	}
	exclude := slices.Clone(opts.Exclude)
	if !opts.NoDefaultExclude {
		exclude = append(slices.Clone(DefaultCodeExclude), exclude...)
	}
	m, err := newPathMatcher(opts.Include, exclude)
	if err != nil {
		return CodeSnapshot{}, err
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return CodeSnapshot{}, fmt.Errorf("ingest: %w", err)
	}
	if fi, err := os.Stat(abs); err != nil {
		return CodeSnapshot{}, fmt.Errorf("ingest: %w", err)
	} else if !fi.IsDir() {
		return CodeSnapshot{}, fmt.Errorf("ingest: %s: not a directory", dir)
	}
	g := &gitRunner{env: gitEnv(opts.Env), timeout: opts.Timeout}
	rec := spec.CodeRecord{Schema: spec.SchemaCodeSnapshot, Include: opts.Include, Exclude: exclude}
	snap := CodeSnapshot{Root: abs}
	addOpts := AddOptions{Rehash: opts.Rehash, SHA256: true, Progress: opts.Progress}

	top, reason, err := g.topLevel(ctx, abs)
	if err != nil {
		return CodeSnapshot{}, err
	}
	var res Result
	if reason != "" {
		rec.GitUnavailable = spec.UnavailableReason(reason)
		addOpts.Filter = func(rel string, isDir bool) bool {
			if isDir {
				return m.keepDir(rel)
			}
			return m.keep(rel)
		}
		if res, err = in.AddPath(ctx, abs, addOpts); err != nil {
			return CodeSnapshot{}, err
		}
	} else {
		snap.Root = top
		state, files, err := g.inspect(ctx, top)
		if err != nil {
			return CodeSnapshot{}, err
		}
		var kept []string
		for _, f := range files {
			if m.keep(f) {
				kept = append(kept, f)
			}
		}
		if state.Dirty {
			if state.Diff, err = in.storeDiff(ctx, g, top, state.Submodules); err != nil {
				return CodeSnapshot{}, err
			}
		}
		rec.Git = state
		if res, err = in.AddFiles(ctx, top, kept, addOpts); err != nil {
			return CodeSnapshot{}, err
		}
	}
	rec.Tree = spec.Object{Digest: res.Info.Digest, Size: res.Info.Size}
	rec.Files = len(res.Files)
	rec.Bytes = res.Bytes
	for _, w := range res.Warnings {
		rec.Skipped = append(rec.Skipped, w.Path)
	}
	info, err := in.PutRecord(ctx, &rec)
	if err != nil {
		return CodeSnapshot{}, err
	}
	snap.Record, snap.Digest, snap.Files, snap.Warnings = rec, info.Digest, res.Files, res.Warnings
	return snap, nil
}

// recordEncoder is a spec record.
type recordEncoder interface {
	Encode() ([]byte, error)
}

// PutRecord stores the canonical JSON encoding of a spec record as a blob.
// It fails, storing nothing, if the record does not validate.
func (in *Ingester) PutRecord(ctx context.Context, rec recordEncoder) (cas.Info, error) {
	b, err := rec.Encode()
	if err != nil {
		return cas.Info{}, err
	}
	info, err := in.s.Put(ctx, bytes.NewReader(b), cas.PutOptions{})
	if err != nil {
		return cas.Info{}, fmt.Errorf("ingest: store record: %w", err)
	}
	return info, nil
}

// gitEnv is the environment of every git command: the caller's, without
// GIT_INDEX_FILE, with optional locks off (git status must not rewrite the
// index), no prompts, and untranslated messages.
func gitEnv(env []string) []string {
	var out []string
	for _, kv := range environ(env) {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "GIT_INDEX_FILE", "GIT_OPTIONAL_LOCKS", "GIT_TERMINAL_PROMPT", "LC_ALL", "LANGUAGE":
			continue
		}
		out = append(out, kv)
	}
	return append(out, "GIT_OPTIONAL_LOCKS=0", "GIT_TERMINAL_PROMPT=0", "LC_ALL=C")
}

type gitRunner struct {
	env     []string
	timeout time.Duration
}

func (g *gitRunner) git(ctx context.Context, dir string, args ...string) ([]byte, error) {
	return command{dir: dir, env: g.env, timeout: g.timeout}.run(ctx, "git", args...)
}

// topLevel returns the top of the work tree that contains dir, or, when
// there is none, the reason to record.
func (g *gitRunner) topLevel(ctx context.Context, dir string) (top, reason string, err error) {
	out, err := g.git(ctx, dir, "rev-parse", "--show-toplevel")
	var ee *exitError
	switch {
	case errors.Is(err, errNotInstalled):
		return "", "git " + errNotInstalled.Error(), nil
	case errors.As(err, &ee):
		if strings.Contains(ee.msg, "not a git repository") || strings.Contains(ee.msg, "must be run in a work tree") {
			return "", NotGitWorkTree, nil
		}
		return "", "", fmt.Errorf("ingest: %s: %w", dir, err)
	case err != nil:
		return "", "", fmt.Errorf("ingest: %s: %w", dir, err)
	}
	top = strings.TrimRight(string(out), "\n")
	if top == "" { // inside the .git directory
		return "", NotGitWorkTree, nil
	}
	return filepath.FromSlash(top), "", nil
}

// splitZ splits NUL-terminated output.
func splitZ(b []byte) []string {
	var out []string
	for _, f := range bytes.Split(b, []byte{0}) {
		if len(f) > 0 {
			out = append(out, string(f))
		}
	}
	return out
}

// repoState is the state of one repository (the top one or a submodule).
type repoState struct {
	prefix     string // slash path of the repository below the top, "" or "sub/"
	dir        string
	commit     string
	ref        string
	dirty      bool
	files      []string // relative to the top
	submodules []repoState
}

// inspect collects the git state of the work tree at top, recursively
// through checked-out submodules, and the list of files to snapshot.
func (g *gitRunner) inspect(ctx context.Context, top string) (*spec.GitState, []string, error) {
	st, err := g.inspectRepo(ctx, top, "")
	if err != nil {
		return nil, nil, err
	}
	gs := &spec.GitState{Commit: st.commit, Ref: st.ref, Detached: st.ref == "", Dirty: st.dirty}
	files := slices.Clone(st.files)
	var flatten func(subs []repoState)
	flatten = func(subs []repoState) {
		for _, s := range subs {
			gs.Submodules = append(gs.Submodules, spec.Submodule{Path: strings.TrimSuffix(s.prefix, "/"), Commit: s.commit, Dirty: s.dirty})
			if s.dirty {
				gs.Dirty = true
			}
			files = append(files, s.files...)
			flatten(s.submodules)
		}
	}
	flatten(st.submodules)
	slices.SortFunc(gs.Submodules, func(a, b spec.Submodule) int { return strings.Compare(a.Path, b.Path) })
	slices.Sort(files)
	return gs, slices.Compact(files), nil
}

func (g *gitRunner) inspectRepo(ctx context.Context, dir, prefix string) (repoState, error) {
	st := repoState{prefix: prefix, dir: dir}
	fail := func(err error) (repoState, error) {
		return repoState{}, fmt.Errorf("ingest: git in %s: %w", dir, err)
	}
	// The five queries are independent and read-only (optional locks are
	// off): they run at once, which takes a run's start from five git
	// process lifetimes to about one.
	queries := [][]string{
		{"rev-parse", "--verify", "--quiet", "HEAD^{commit}"},
		{"symbolic-ref", "--quiet", "HEAD"},
		{"status", "--porcelain", "-z", "--untracked-files=all", "--ignore-submodules=none"},
		{"ls-files", "-z", "--cached", "--others", "--exclude-standard"},
		{"ls-files", "-z", "--stage"},
	}
	outs := make([][]byte, len(queries))
	errs := make([]error, len(queries))
	var wg sync.WaitGroup
	for i, q := range queries {
		wg.Go(func() { outs[i], errs[i] = g.git(ctx, dir, q...) })
	}
	wg.Wait()
	var ee *exitError
	switch err := errs[0]; {
	case errors.As(err, &ee):
		st.commit = spec.UnavailableReason("no commit yet")
	case err != nil:
		return fail(err)
	default:
		st.commit = strings.TrimSpace(string(outs[0]))
	}
	if err := errs[1]; err == nil {
		st.ref = strings.TrimSpace(string(outs[1]))
	} else if !errors.As(err, &ee) {
		return fail(err)
	}
	for _, err := range errs[2:] {
		if err != nil {
			return fail(err)
		}
	}
	st.dirty = porcelainDirty(outs[2])
	listed := splitZ(outs[3])
	out := outs[4]
	gitlinks := map[string]bool{}
	for _, line := range splitZ(out) {
		meta, p, ok := strings.Cut(line, "\t")
		if ok && strings.HasPrefix(meta, "160000 ") {
			gitlinks[p] = true
		}
	}
	for _, p := range listed {
		if gitlinks[p] {
			continue
		}
		// A tracked file deleted from the work tree is not snapshotted.
		if _, err := os.Lstat(filepath.Join(dir, filepath.FromSlash(p))); err != nil {
			continue
		}
		st.files = append(st.files, prefix+p)
	}
	links := make([]string, 0, len(gitlinks))
	for p := range gitlinks {
		links = append(links, p)
	}
	slices.Sort(links)
	for _, p := range links {
		sub := filepath.Join(dir, filepath.FromSlash(p))
		if _, err := os.Lstat(filepath.Join(sub, ".git")); err != nil {
			continue // not checked out
		}
		s, err := g.inspectRepo(ctx, sub, prefix+p+"/")
		if err != nil {
			return repoState{}, err
		}
		st.submodules = append(st.submodules, s)
	}
	return st, nil
}

// storeDiff stores the patch from HEAD to the work tree of top and of each
// checked-out submodule, concatenated, and returns it with its SHA-256.
func (in *Ingester) storeDiff(ctx context.Context, g *gitRunner, top string, subs []spec.Submodule) (*spec.Object, error) {
	pr, pw := io.Pipe()
	go func() {
		err := g.diff(ctx, top, "", pw)
		for _, s := range subs {
			if err != nil {
				break
			}
			err = g.diff(ctx, filepath.Join(top, filepath.FromSlash(s.Path)), s.Path+"/", pw)
		}
		pw.CloseWithError(err)
	}()
	h := sha256.New()
	info, err := in.s.Put(ctx, io.TeeReader(pr, h), cas.PutOptions{})
	pr.CloseWithError(errors.New("ingest: diff reader closed"))
	if err != nil {
		return nil, fmt.Errorf("ingest: diff: %w", err)
	}
	if info.Size == 0 {
		return nil, nil
	}
	return &spec.Object{Digest: info.Digest, Size: info.Size, SHA256: hex.EncodeToString(h.Sum(nil))}, nil
}

// diff writes the binary patch from HEAD to the work tree of the repository
// at dir to w, paths prefixed with prefix. Untracked files that git does not
// ignore appear as new files: they are marked intent-to-add in a temporary
// copy of the index, never in the real one.
func (g *gitRunner) diff(ctx context.Context, dir, prefix string, w io.Writer) error {
	out, err := g.git(ctx, dir, "rev-parse", "--path-format=absolute", "--git-path", "index")
	if err != nil {
		return err
	}
	index := strings.TrimSpace(string(out))
	tmp, err := os.CreateTemp("", "rigor-index-*")
	if err != nil {
		return err
	}
	tmpName := tmp.Name()
	defer os.Remove(tmpName)
	var indexTime time.Time
	if src, err := os.Open(index); err == nil {
		if fi, err := src.Stat(); err == nil {
			indexTime = fi.ModTime()
		}
		_, err = io.Copy(tmp, src)
		src.Close()
		if err != nil {
			tmp.Close()
			return err
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if !indexTime.IsZero() {
		// git trusts the cached stat data of an entry only if the file is
		// older than the index ("racy git"); the copy must keep the index's
		// time or a just-written file of unchanged size is missed.
		if err := os.Chtimes(tmpName, indexTime, indexTime); err != nil {
			return err
		}
	}
	if fi, _ := os.Stat(tmpName); fi != nil && fi.Size() == 0 {
		os.Remove(tmpName) // git reads a missing index as empty, an empty file as corrupt
	}
	tg := &gitRunner{env: append(slices.Clone(g.env), "GIT_INDEX_FILE="+tmpName, "GIT_LITERAL_PATHSPECS=1"), timeout: g.timeout}
	if out, err = tg.git(ctx, dir, "ls-files", "-z", "--others", "--exclude-standard"); err != nil {
		return err
	}
	out = withoutStorePaths(out)
	if len(out) > 0 {
		c := command{dir: dir, env: tg.env, stdin: bytes.NewReader(out), timeout: g.timeout}
		if _, err := c.run(ctx, "git", "add", "--intent-to-add", "--pathspec-from-file=-", "--pathspec-file-nul"); err != nil {
			return err
		}
	}
	base := "HEAD"
	if _, err := tg.git(ctx, dir, "rev-parse", "--verify", "--quiet", "HEAD^{commit}"); err != nil {
		// No commit yet: diff against the empty tree.
		if out, err = tg.git(ctx, dir, "hash-object", "-t", "tree", os.DevNull); err != nil {
			return err
		}
		base = strings.TrimSpace(string(out))
	}
	c := command{dir: dir, env: tg.env, stdout: w, timeout: g.timeout}
	_, err = c.run(ctx, "git", "diff", base, "--binary", "--full-index", "--no-color", "--no-ext-diff",
		"--no-textconv", "--no-renames", "--no-relative", "--submodule=short", "--ignore-submodules=none",
		"--src-prefix=a/"+prefix, "--dst-prefix=b/"+prefix, "--")
	return err
}

// inStore reports whether the slash path p lies in a rigor store directory,
// which is never part of a code snapshot even when git does not ignore it:
// the store changes with every run and would make every run dirty.
func inStore(p string) bool {
	p = strings.TrimSuffix(p, "/")
	for _, el := range strings.Split(p, "/") {
		if el == ".rigor" {
			return true
		}
	}
	return false
}

// withoutStorePaths drops store paths from a NUL-separated path list.
func withoutStorePaths(list []byte) []byte {
	var out []byte
	for _, p := range splitZ(list) {
		if !inStore(p) {
			out = append(append(out, p...), 0)
		}
	}
	return out
}

// porcelainDirty reports whether `git status --porcelain -z` output names
// any change outside a rigor store. Each entry is "XY PATH"; a rename or
// copy is followed by one more NUL-terminated field, the original path.
func porcelainDirty(out []byte) bool {
	fields := splitZ(out)
	for i := 0; i < len(fields); i++ {
		e := fields[i]
		if len(e) < 4 {
			continue
		}
		if e[0] == 'R' || e[0] == 'C' {
			i++ // skip the original path
		}
		if !inStore(e[3:]) {
			return true
		}
	}
	return false
}
