package ingest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	digest "github.com/opencontainers/go-digest"

	"github.com/rigor-dev/rigor/cas"
	"github.com/rigor-dev/rigor/spec"
)

// Run directories in and out of the store: [ImportRun] checks a
// light.run_manifest.v3 directory and records it as a run; [ExportRun]
// writes a stored run back out as one.

// ErrRefused is wrapped by [*RunDirError]: a run directory breaks rules of
// the Light run-artifact check, or cannot be represented in rigor.
var ErrRefused = errors.New("ingest: run directory refused")

// ManifestName is the file that holds the run manifest, at the root of a
// run directory and of a run bundle.
const ManifestName = "manifest.json"

// maxManifest bounds the manifest read into memory.
const maxManifest = 64 << 20

// RunDirError lists every reason a run directory was refused, in the
// checker's order. Problems are the Light checker's exact messages, then
// rigor's own.
type RunDirError struct {
	Dir      string
	Problems []string
}

func (e *RunDirError) Error() string {
	return fmt.Sprintf("%s: %d problem(s): %s", e.Dir, len(e.Problems), strings.Join(e.Problems, "; "))
}

func (e *RunDirError) Unwrap() error { return ErrRefused }

// DirFiles is a [spec.RunFiles] over a run directory on disk: SHA256 reads
// the file at rel below the directory in streaming chunks. Like the Light
// checker it follows symbolic links that resolve inside the directory; a
// link that resolves outside gives an error wrapping
// [spec.ErrEscapesRunDir], and a path that is missing or a directory one
// wrapping fs.ErrNotExist. It remembers every sum it computed. It
// is not safe for concurrent use.
type DirFiles struct {
	root string
	sums map[string]string
}

// NewDirFiles returns the files of the run directory dir.
func NewDirFiles(dir string) *DirFiles {
	return &DirFiles{root: dir, sums: map[string]string{}}
}

// SHA256 implements [spec.RunFiles].
func (d *DirFiles) SHA256(rel string) (string, error) {
	if s, ok := d.sums[rel]; ok {
		return s, nil
	}
	p, err := d.resolve(rel)
	if err != nil {
		return "", err
	}
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.CopyBuffer(h, f, make([]byte, 256<<10)); err != nil {
		return "", err
	}
	s := hex.EncodeToString(h.Sum(nil))
	d.sums[rel] = s
	return s, nil
}

// resolve returns the real path of the regular file at rel.
func (d *DirFiles) resolve(rel string) (string, error) {
	root, err := filepath.EvalSymlinks(d.root)
	if err != nil {
		return "", err
	}
	p, err := filepath.EvalSymlinks(filepath.Join(root, filepath.FromSlash(rel)))
	if errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("%s: %w", rel, fs.ErrNotExist)
	}
	if err != nil {
		return "", err
	}
	if r, err := filepath.Rel(root, p); err != nil || !filepath.IsLocal(r) {
		return "", fmt.Errorf("%s resolves to %s: %w", rel, p, spec.ErrEscapesRunDir)
	}
	fi, err := os.Stat(p)
	if err != nil {
		return "", err
	}
	if !fi.Mode().IsRegular() {
		return "", fmt.Errorf("%s is not a regular file: %w", rel, fs.ErrNotExist)
	}
	return p, nil
}

// importStore is what [ImportRun] needs of a store; *cas.Store satisfies it.
type importStore interface {
	blobStore
	cas.Refs
	cas.Indexer
}

// ImportOptions control [ImportRun]. The zero value is ready to use.
type ImportOptions struct {
	// Now is the current time for the checker's future-timestamp rule; nil
	// means time.Now.
	Now func() time.Time
	// Progress, as in [AddOptions].
	Progress func(done, total int64)
}

// ImportResult describes an imported run.
type ImportResult struct {
	Summary spec.RunSummary
	// Existing is true when the same run bundle was already recorded for
	// this row and seed; nothing new was recorded and Summary is that run's.
	Existing bool
	// Files and Bytes count the files stored (the manifest included).
	Files int
	Bytes int64
	// Check is the Light checker's verdict on the directory.
	Check spec.ManifestCheck
	// Skipped lists declared files that are not hash-verified by the
	// checker (guardrail_evidence, extra artifacts) and were absent.
	Skipped []string
}

// ImportRun checks the light.run_manifest.v3 run directory dir against
// every rule of the Light run-artifact check (and so the SHA-256 of every
// hashed file), and records it as a run: the manifest and the files it
// names, at their paths (with the directory behind a directory input's
// "<dir>.sha256sum" listing, as rigor export writes it), become the run
// bundle's tree; the run gets the
// next attempt of its matrix row and seed (ref runs/<row>/seed-<n>/
// attempt-<k>) and the same index entries [RecordRun] writes for rigor run.
//
// If the directory breaks any rule, if a file it names is a symbolic link,
// if a directory input holds a link, device, FIFO or socket, or if its matrix row cannot name a rigor run, ImportRun returns a
// [*RunDirError] listing every problem, having stored nothing. If the
// same bundle is already recorded for the row and seed, it records nothing
// and reports that run with Existing set. A file that changes between the
// check and the copy gives an error wrapping [ErrFileChanged], and the run
// is not recorded.
func ImportRun(ctx context.Context, s importStore, dir string, opts ImportOptions) (ImportResult, error) {
	now := time.Now
	if opts.Now != nil {
		now = opts.Now
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return ImportResult{}, fmt.Errorf("ingest: import: %w", err)
	}
	if !fi.IsDir() {
		return ImportResult{}, fmt.Errorf("ingest: import: %s is not a directory", dir)
	}
	manifest, err := readLimited(filepath.Join(dir, ManifestName), maxManifest)
	if err != nil {
		return ImportResult{}, &RunDirError{Dir: dir, Problems: []string{fmt.Sprintf("cannot read manifest: %v", err)}}
	}
	files := NewDirFiles(dir)
	check := spec.CheckRunManifest(manifest, files, now())
	res := ImportResult{Check: check}
	problems := slices.Clone(check.Errors)

	var m spec.RunManifest
	if check.OK {
		if err := json.Unmarshal(bytes.TrimPrefix(manifest, []byte("\xef\xbb\xbf")), &m); err != nil {
			problems = append(problems, fmt.Sprintf("rigor cannot decode the manifest: %v", err))
		} else if !spec.ValidRowName(m.MatrixRow) {
			problems = append(problems, fmt.Sprintf("matrix_row %q cannot name a rigor run: use 1 to 128 letters, digits, '.', '_' or '-', without \"__\"", m.MatrixRow))
		}
	}
	rels := []string{ManifestName}
	for _, rel := range spec.ManifestPaths(manifest) {
		abs := filepath.Join(dir, filepath.FromSlash(rel))
		li, err := os.Lstat(abs)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			res.Skipped = append(res.Skipped, rel) // the checker decided whether that is allowed
			continue
		case err != nil:
			problems = append(problems, fmt.Sprintf("%s: %v", rel, err))
			continue
		case li.Mode()&fs.ModeSymlink != 0:
			problems = append(problems, fmt.Sprintf("%s: is a symbolic link; rigor import stores regular files only (replace the link with a copy of the file)", rel))
			continue
		case !li.Mode().IsRegular():
			// A directory or device: the checker already refused it if it
			// had to hash it.
			res.Skipped = append(res.Skipped, rel)
			continue
		}
		if rel != ManifestName {
			rels = append(rels, rel)
		}
	}
	// A directory input, as rigor run records one: the manifest names its
	// sha256sum listing "<dir>.sha256sum"; the directory comes along.
	for _, d := range directoryInputs(manifest) {
		if li, err := os.Lstat(filepath.Join(dir, filepath.FromSlash(d))); err == nil && li.IsDir() {
			rels = append(rels, d)
			problems = append(problems, irregularBelow(dir, d)...)
		}
	}
	if li, err := os.Lstat(filepath.Join(dir, ManifestName)); err == nil && li.Mode()&fs.ModeSymlink != 0 {
		problems = append(problems, ManifestName+": is a symbolic link; rigor import stores regular files only (replace the link with a copy of the file)")
	}
	if len(problems) > 0 {
		return res, &RunDirError{Dir: dir, Problems: problems}
	}

	added, err := New(s, Options{}).AddFiles(ctx, dir, rels, AddOptions{SHA256: true, Rehash: true, Progress: opts.Progress})
	if err != nil {
		return res, err
	}
	digests := make(map[string]digest.Digest, len(added.Files))
	for _, f := range added.Files {
		digests[f.Path] = f.Digest
		if want, ok := files.sums[f.Path]; ok && want != f.SHA256 {
			return res, fmt.Errorf("ingest: import %s: %s: %w (sha256 %s when checked, %s when stored)", dir, f.Path, ErrFileChanged, want, f.SHA256)
		}
		if f.Path == ManifestName && f.SHA256 != sha256Hex(manifest) {
			return res, fmt.Errorf("ingest: import %s: %s: %w", dir, f.Path, ErrFileChanged)
		}
	}
	res.Files, res.Bytes = len(added.Files), added.Bytes

	sum := summaryOf(&m, added.Info.Digest, digests)
	if prev, ok, err := findSameBundle(ctx, s, sum); err != nil {
		return res, err
	} else if ok {
		res.Summary, res.Existing = prev, true
		return res, nil
	}
	inputs, outputs := LineageFromManifest(&m, digests)
	e, err := recordNewAttempt(ctx, s, RunEntry{Summary: sum, Inputs: inputs, Outputs: outputs})
	if err != nil {
		return res, err
	}
	res.Summary = e.Summary
	return res, nil
}

// irregularBelow names every symbolic link, device, FIFO or socket below
// the directory rel of dir: import stores what the run's files are, so a
// link (which add would keep as a link, perhaps to outside the run) or a
// special file (which add would skip) is refused, by name (issue 10).
func irregularBelow(dir, rel string) []string {
	var out []string
	root := filepath.Join(dir, filepath.FromSlash(rel))
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		name := rel
		if r, rerr := filepath.Rel(root, p); rerr == nil && r != "." {
			name = rel + "/" + filepath.ToSlash(r)
		}
		switch {
		case err != nil:
			out = append(out, fmt.Sprintf("%s: %v", name, err))
		case d.Type()&fs.ModeSymlink != 0:
			out = append(out, name+": is a symbolic link; rigor import stores regular files only (replace the link with a copy of the file)")
		case !d.IsDir() && !d.Type().IsRegular():
			out = append(out, name+": is a "+specialKind(d.Type())+"; rigor import stores regular files and directories only (remove it)")
		}
		return nil
	})
	return out
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func readLimited(p string, limit int64) ([]byte, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%s: larger than %d bytes", p, limit)
	}
	return b, nil
}

// summaryOf builds the runs-index summary of a checked manifest; the
// attempt-dependent fields are left for recordNewAttempt.
func summaryOf(m *spec.RunManifest, root digest.Digest, digests map[string]digest.Digest) spec.RunSummary {
	s := spec.RunSummary{
		Schema:      spec.SchemaRunSummary,
		Row:         m.MatrixRow,
		Seed:        m.Seed,
		Status:      m.Status,
		Termination: m.Termination.Reason,
		ExitCode:    m.Termination.ExitCode,
		Signal:      m.Termination.Signal,
		Completion:  m.Completion.Status,
		StartedAt:   m.StartedAt,
		EndedAt:     m.EndedAt,
		Root:        root,
	}
	if m.Config != nil {
		if rel, ok := spec.RunRelPath(m.Config.Path); ok {
			s.Config = digests[rel]
		}
	}
	t0, err0 := time.Parse(time.RFC3339Nano, strings.TrimSpace(m.StartedAt))
	t1, err1 := time.Parse(time.RFC3339Nano, strings.TrimSpace(m.EndedAt))
	if err0 == nil && err1 == nil && !t1.Before(t0) {
		s.DurationMS = t1.Sub(t0).Milliseconds()
	}
	return s
}

// findSameBundle looks for a recorded attempt of the same row and seed
// whose bundle is root.
func findSameBundle(ctx context.Context, s importStore, sum spec.RunSummary) (spec.RunSummary, bool, error) {
	prefix := fmt.Sprintf("runs/%s/seed-%d/attempt-", sum.Row, sum.Seed.Value)
	var found string
	errFound := errors.New("found")
	err := s.ListRefs(ctx, prefix, func(name string, d digest.Digest) error {
		if d == sum.Root {
			found = name
			return errFound
		}
		return nil
	})
	if err != nil && err != errFound {
		return spec.RunSummary{}, false, err
	}
	if found == "" {
		return spec.RunSummary{}, false, nil
	}
	var attempt int
	fmt.Sscanf(strings.TrimPrefix(found, prefix), "%d", &attempt)
	id := spec.RunID(sum.Row, sum.Seed.Value, attempt)
	var prev *spec.RunSummary
	err = s.ScanIndex(ctx, spec.RunsIndex, []byte(id), func(k, v []byte) error {
		if string(k) == id {
			var derr error
			prev, derr = spec.DecodeRunSummary(v)
			return derr
		}
		return nil
	})
	if err != nil {
		return spec.RunSummary{}, false, fmt.Errorf("ingest: runs index %s: %w", id, err)
	}
	if prev == nil {
		// Recorded without an index entry: report the ref's facts.
		p := sum
		p.Attempt, p.RunID, p.Ref = attempt, id, found
		return p, true, nil
	}
	return *prev, true, nil
}

// bundleReader is what [ExportRun] needs of a store; *cas.Store satisfies
// it.
type bundleReader interface {
	cas.Getter
	ReadTree(ctx context.Context, d digest.Digest) (cas.Tree, error)
}

// ExportOptions control [ExportRun]. The zero value is ready to use.
type ExportOptions struct {
	// Now is the current time for the checker's future-timestamp rule; nil
	// means time.Now.
	Now func() time.Time
	// Progress, if set, is called after each file with the bytes written so
	// far, in the caller's goroutine.
	Progress func(bytes int64)
}

// ExportResult describes an exported run directory.
type ExportResult struct {
	Files int
	Bytes int64
	// Check is the Light checker's verdict on the written directory.
	Check spec.ManifestCheck
}

// ExportRun writes the run bundle root to the new directory target as a
// light.run_manifest.v3 run directory: manifest.json as stored (relative
// paths and SHA-256; rigor's extra blake3 members are ignored by the Light
// checker), every file it names, at its path, and the directory behind a
// directory input's sha256sum listing. Nothing else of the bundle (rigor's
// own records) is written. Every byte is verified against
// its digest on the way out.
//
// The directory is assembled next to target under a temporary name, checked
// with every rule of the Light run-artifact check, and renamed into place
// only when it passes; otherwise ExportRun removes it and returns a
// [*RunDirError] with the checker's messages. An existing target gives
// [ErrTargetExists]; a bundle without manifest.json gives an error wrapping
// fs.ErrNotExist.
func ExportRun(ctx context.Context, s bundleReader, root digest.Digest, target string, opts ExportOptions) (ExportResult, error) {
	now := time.Now
	if opts.Now != nil {
		now = opts.Now
	}
	target = filepath.Clean(target)
	if _, err := os.Lstat(target); err == nil {
		return ExportResult{}, fmt.Errorf("%s: %w", target, ErrTargetExists)
	}
	trees := map[digest.Digest]cas.Tree{}
	me, err := bundleEntry(ctx, s, root, ManifestName, trees)
	if err != nil {
		return ExportResult{}, err
	}
	if me.Size > maxManifest {
		return ExportResult{}, fmt.Errorf("ingest: export: %s is %d bytes, more than %d", ManifestName, me.Size, maxManifest)
	}
	rc, err := s.Open(ctx, me.Digest)
	if err != nil {
		return ExportResult{}, err
	}
	manifest, err := io.ReadAll(io.LimitReader(rc, maxManifest))
	rc.Close()
	if err != nil {
		return ExportResult{}, fmt.Errorf("ingest: export: %s: %w", ManifestName, err)
	}

	// Parents are created like mkdir -p; the run directory itself must be new.
	if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
		return ExportResult{}, fmt.Errorf("ingest: export: %w", err)
	}
	tmp, err := os.MkdirTemp(filepath.Dir(target), "."+filepath.Base(target)+".export-*")
	if err != nil {
		return ExportResult{}, fmt.Errorf("ingest: export: %w", err)
	}
	ok := false
	defer func() {
		if !ok {
			os.RemoveAll(tmp)
		}
	}()
	if err := os.Chmod(tmp, 0o755); err != nil {
		return ExportResult{}, err
	}
	mat := &materializer{s: s, opts: MaterializeOptions{Progress: opts.Progress}}
	var res ExportResult
	for _, rel := range append([]string{ManifestName}, spec.ManifestPaths(manifest)...) {
		e, err := bundleEntry(ctx, s, root, rel, trees)
		if errors.Is(err, fs.ErrNotExist) {
			continue // the checker below reports what it requires
		}
		if err != nil {
			return res, err
		}
		if e.Mode != cas.ModeFile && e.Mode != cas.ModeExec {
			return res, fmt.Errorf("ingest: export: %s is not a regular file in the bundle: %w", rel, ErrUnsafeEntry)
		}
		p := filepath.Join(tmp, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return res, fmt.Errorf("ingest: export: %w", err)
		}
		if err := mat.writeFile(ctx, e.Digest, p, e.Mode); err != nil {
			return res, fmt.Errorf("ingest: export %s: %w", rel, err)
		}
		res.Files++
		res.Bytes += e.Size
	}
	for _, d := range directoryInputs(manifest) {
		e, err := bundleEntry(ctx, s, root, d, trees)
		if errors.Is(err, fs.ErrNotExist) || err == nil && e.Mode != cas.ModeTree {
			continue
		}
		if err != nil {
			return res, err
		}
		p := filepath.Join(tmp, filepath.FromSlash(d))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return res, fmt.Errorf("ingest: export: %w", err)
		}
		before := mat.written
		if err := mat.writeTree(ctx, e.Digest, p); err != nil {
			return res, fmt.Errorf("ingest: export %s: %w", d, err)
		}
		res.Bytes += mat.written - before
	}
	res.Check = spec.CheckRunManifest(manifest, NewDirFiles(tmp), now())
	if !res.Check.OK {
		return res, &RunDirError{Dir: target, Problems: res.Check.Errors}
	}
	if err := os.Rename(tmp, target); err != nil {
		return res, fmt.Errorf("ingest: export: %w", err)
	}
	ok = true
	return res, nil
}

// sha256sumSuffix ends the manifest path of a directory input: rigor run
// points the Light checker at the directory's sha256sum listing.
const sha256sumSuffix = ".sha256sum"

// directoryInputs returns the directories whose sha256sum listings the
// manifest's inputs name ("inputs/data/images" for
// "inputs/data/images.sha256sum").
func directoryInputs(manifest []byte) []string {
	var out []string
	for _, f := range spec.ManifestFiles(manifest) {
		if strings.HasPrefix(f.Label, "inputs[") && strings.HasSuffix(f.Rel, sha256sumSuffix) {
			if d := strings.TrimSuffix(f.Rel, sha256sumSuffix); d != "" && !slices.Contains(out, d) {
				out = append(out, d)
			}
		}
	}
	return out
}

// bundleEntry is [cas.Find] below a run bundle's root; a root that is a blob
// is reported as not a run bundle, wrapping fs.ErrNotExist.
func bundleEntry(ctx context.Context, s bundleReader, root digest.Digest, rel string, cache map[digest.Digest]cas.Tree) (cas.Entry, error) {
	e, err := cas.Find(ctx, s, root, rel, cache)
	if errors.Is(err, cas.ErrNotTree) {
		if _, rerr := s.ReadTree(ctx, root); errors.Is(rerr, cas.ErrNotTree) {
			return cas.Entry{}, fmt.Errorf("%s is not a run bundle (a blob, not a tree): %w", root, fs.ErrNotExist)
		}
	}
	return e, err
}
