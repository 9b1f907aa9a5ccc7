package ingest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"

	digest "github.com/opencontainers/go-digest"

	"github.com/rigor-dev/rigor/cas"
)

// Errors of [Materialize].
var (
	ErrTargetExists = errors.New("ingest: target exists")
	ErrUnsafeEntry  = errors.New("ingest: unsafe tree entry")
)

// treeGetter is what [Materialize] needs of a store.
type treeGetter interface {
	cas.Getter
	ReadTree(ctx context.Context, d digest.Digest) (cas.Tree, error)
}

// MaterializeOptions control [Materialize]. The zero value refuses to
// overwrite anything.
type MaterializeOptions struct {
	// Force allows writing into an existing target, replacing files and
	// links of the same name. Existing entries not in the tree are kept.
	Force bool
	// Progress, if set, is called after each file with the bytes written
	// so far. It runs in the caller's goroutine.
	Progress func(bytes int64)
}

// Materialize writes the object d (a blob or a tree) to target. A blob
// becomes a file; a tree becomes a directory with its entries below it.
//
// Every byte is verified against its digest as it is read; a file is written
// to a temporary name and renamed into place only when it verified, so a
// corrupt object never leaves a plausible-looking file behind. Entry names
// that could escape target (separators, "..", NUL) and symlinks whose target
// points outside target, or has ".." after a name (through another link
// it could), are refused with [ErrUnsafeEntry], naming the entry.
// Without Force, an existing target is refused with [ErrTargetExists].
func Materialize(ctx context.Context, s treeGetter, d digest.Digest, target string, opts MaterializeOptions) error {
	info, err := s.Stat(ctx, d)
	if err != nil {
		return err
	}
	target = filepath.Clean(target)
	if _, err := os.Lstat(target); err == nil && !opts.Force {
		return fmt.Errorf("%s: %w", target, ErrTargetExists)
	}
	m := &materializer{s: s, opts: opts}
	if info.Kind != cas.KindTree {
		return m.writeFile(ctx, d, target, cas.ModeFile)
	}
	return m.writeTree(ctx, d, target)
}

type materializer struct {
	s       treeGetter
	opts    MaterializeOptions
	written int64
}

// dirJob is one directory still to be filled, kept on an explicit stack so
// that deep trees cannot overflow the goroutine stack.
type dirJob struct {
	tree digest.Digest
	dir  string // on-disk directory
	rel  string // slash path inside the tree, for messages
}

func (m *materializer) writeTree(ctx context.Context, root digest.Digest, target string) error {
	if err := mkdirFresh(target, m.opts.Force); err != nil {
		return err
	}
	stack := []dirJob{{tree: root, dir: target}}
	for len(stack) > 0 {
		if err := ctx.Err(); err != nil {
			return err
		}
		job := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		t, err := m.s.ReadTree(ctx, job.tree)
		if err != nil {
			return fmt.Errorf("%s: %w", displayPath(job.rel), err)
		}
		for _, e := range t.Entries {
			rel := path.Join(job.rel, e.Name)
			if err := checkName(e.Name); err != nil {
				return fmt.Errorf("entry %q: %w", rel, err)
			}
			p := filepath.Join(job.dir, e.Name)
			switch e.Mode {
			case cas.ModeTree:
				if err := mkdirFresh(p, m.opts.Force); err != nil {
					return err
				}
				stack = append(stack, dirJob{tree: e.Digest, dir: p, rel: rel})
			case cas.ModeFile, cas.ModeExec:
				if err := m.writeFile(ctx, e.Digest, p, e.Mode); err != nil {
					return fmt.Errorf("entry %q: %w", rel, err)
				}
			case cas.ModeSymlink:
				if err := m.writeLink(ctx, e.Digest, p, rel); err != nil {
					return err
				}
			default:
				return fmt.Errorf("entry %q: mode %d: %w", rel, e.Mode, ErrUnsafeEntry)
			}
		}
	}
	return nil
}

func displayPath(rel string) string {
	if rel == "" {
		return "tree root"
	}
	return rel
}

// checkName refuses names that are not a single, harmless path element.
func checkName(name string) error {
	switch {
	case name == "", name == ".", name == "..":
		return fmt.Errorf("name %q: %w", name, ErrUnsafeEntry)
	case strings.ContainsAny(name, "/\\\x00"):
		return fmt.Errorf("name %q holds a separator or NUL: %w", name, ErrUnsafeEntry)
	}
	return nil
}

// mkdirFresh creates dir; an existing directory is accepted only with force,
// and an existing non-directory is never replaced by a directory silently.
func mkdirFresh(dir string, force bool) error {
	fi, err := os.Lstat(dir)
	switch {
	case err == nil && fi.IsDir():
		if !force {
			return fmt.Errorf("%s: %w", dir, ErrTargetExists)
		}
		return nil
	case err == nil:
		if !force {
			return fmt.Errorf("%s: %w", dir, ErrTargetExists)
		}
		if err := os.Remove(dir); err != nil {
			return err
		}
	case !errors.Is(err, os.ErrNotExist):
		return err
	}
	return os.Mkdir(dir, 0o755)
}

func (m *materializer) writeFile(ctx context.Context, d digest.Digest, p string, mode cas.Mode) error {
	if fi, err := os.Lstat(p); err == nil {
		if !m.opts.Force {
			return fmt.Errorf("%s: %w", p, ErrTargetExists)
		}
		if fi.IsDir() {
			return fmt.Errorf("%s: is a directory: %w", p, ErrTargetExists)
		}
	}
	rc, err := m.s.Open(ctx, d)
	if err != nil {
		return err
	}
	defer rc.Close()
	perm := os.FileMode(0o644)
	if mode == cas.ModeExec {
		perm = 0o755
	}
	tmp, err := os.CreateTemp(filepath.Dir(p), ".rigor-get-*")
	if err != nil {
		return err
	}
	tmpName := tmp.Name()
	ok := false
	defer func() {
		if !ok {
			tmp.Close()
			os.Remove(tmpName)
		}
	}()
	n, err := io.Copy(tmp, &ctxReader{ctx: ctx, r: rc})
	if err != nil {
		return err
	}
	if err := tmp.Chmod(perm); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmpName, p); err != nil {
		return err
	}
	ok = true
	m.written += n
	if m.opts.Progress != nil {
		m.opts.Progress(m.written)
	}
	return nil
}

// maxLinkTarget bounds a symlink target read from the store.
const maxLinkTarget = 4096

func (m *materializer) writeLink(ctx context.Context, d digest.Digest, p, rel string) error {
	rc, err := m.s.Open(ctx, d)
	if err != nil {
		return fmt.Errorf("entry %q: %w", rel, err)
	}
	b, err := io.ReadAll(io.LimitReader(rc, maxLinkTarget+1))
	rc.Close()
	if err != nil {
		return fmt.Errorf("entry %q: %w", rel, err)
	}
	target := string(b)
	if len(b) > maxLinkTarget || target == "" || strings.ContainsRune(target, 0) {
		return fmt.Errorf("entry %q: symlink target is empty, too long or holds NUL: %w", rel, ErrUnsafeEntry)
	}
	// The link must resolve, lexically, to somewhere inside the tree.
	if filepath.IsAbs(target) || !local(path.Join(path.Dir(rel), target)) {
		return fmt.Errorf("entry %q: symlink to %q points outside the target: %w", rel, target, ErrUnsafeEntry)
	}
	// And the kernel must agree: it applies ".." to where a link led, not
	// to the name, so "b/../x" with b -> "." is "../x" (issue 10). Only
	// leading ".." elements are allowed.
	if upAfterName(target) {
		return fmt.Errorf("entry %q: symlink to %q has \"..\" after a name, which through another link can point outside the target: %w", rel, target, ErrUnsafeEntry)
	}
	if _, err := os.Lstat(p); err == nil {
		if !m.opts.Force {
			return fmt.Errorf("%s: %w", p, ErrTargetExists)
		}
		if err := os.Remove(p); err != nil {
			return err
		}
	}
	return os.Symlink(target, p)
}

// upAfterName reports whether the slash path p has a ".." element after
// an element that is not "..", "." or empty.
func upAfterName(p string) bool {
	named := false
	for _, el := range strings.Split(p, "/") {
		switch el {
		case "", ".":
		case "..":
			if named {
				return true
			}
		default:
			named = true
		}
	}
	return false
}

// local reports whether the slash path p, already joined and cleaned, stays
// inside its root.
func local(p string) bool {
	p = path.Clean(p)
	return p != ".." && !strings.HasPrefix(p, "../") && !path.IsAbs(p)
}

type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
