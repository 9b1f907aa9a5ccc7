package ingest

// Hardening (issue 10): trees and run directories built to turn rigor
// against its user. Materialize (rigor get, export, rerun) must refuse any
// entry that would write or point outside the target, naming it; import
// must refuse links and device files anywhere in what it would store.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	digest "github.com/opencontainers/go-digest"

	"github.com/rigor-dev/rigor/cas"
	"github.com/rigor-dev/rigor/internal/faults"
)

// hostileGetter serves trees from memory, unchecked, as a store that
// skipped cas's own refusals would: Materialize must not rely on them.
type hostileGetter struct {
	*cas.Store
	trees map[digest.Digest]cas.Tree
}

func (h *hostileGetter) Stat(ctx context.Context, d digest.Digest) (cas.Info, error) {
	if _, ok := h.trees[d]; ok {
		return cas.Info{Digest: d, Kind: cas.KindTree, Size: 1}, nil
	}
	return h.Store.Stat(ctx, d)
}

func (h *hostileGetter) ReadTree(ctx context.Context, d digest.Digest) (cas.Tree, error) {
	if t, ok := h.trees[d]; ok {
		return t, nil
	}
	return h.Store.ReadTree(ctx, d)
}

// fakeTree names a tree served by a hostileGetter.
func fakeTree(h *hostileGetter, entries ...cas.Entry) digest.Digest {
	d := cas.FromBytes([]byte(fmt.Sprint(len(h.trees), entries)))
	h.trees[d] = cas.Tree{Entries: entries}
	return d
}

func putBlob(t *testing.T, s *cas.Store, b string) cas.Entry {
	t.Helper()
	info, err := s.Put(t.Context(), strings.NewReader(b), cas.PutOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return cas.Entry{Mode: cas.ModeFile, Size: info.Size, Digest: info.Digest}
}

func named(e cas.Entry, name string, mode cas.Mode) cas.Entry {
	e.Name, e.Mode = name, mode
	return e
}

// listAll returns every path below dir (relative), for "nothing was
// written outside" checks.
func listAll(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && p != dir {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, rel)
		}
		return nil
	})
	return out
}

func TestMaterializeHostileNames(t *testing.T) {
	s := newTestStore(t)
	h := &hostileGetter{Store: s, trees: map[digest.Digest]cas.Tree{}}
	f := putBlob(t, s, "owned\n")
	tests := []struct {
		name  string
		entry cas.Entry
		want  string
	}{
		{"dotdot", named(f, "..", cas.ModeFile), `".."`},
		{"dot", named(f, ".", cas.ModeFile), `"."`},
		{"slash", named(f, "../../etc/cron.d/x", cas.ModeFile), `"../../etc/cron.d/x"`},
		{"absolute", named(f, "/tmp/owned", cas.ModeFile), `"/tmp/owned"`},
		{"nul", named(f, "a\x00b", cas.ModeFile), `"a\x00b"`},
		{"backslash", named(f, `..\..\x`, cas.ModeFile), `"..\\..\\x"`},
		{"empty", named(f, "", cas.ModeFile), `""`},
		{"dotdot directory", cas.Entry{Name: "..", Mode: cas.ModeTree, Digest: fakeTree(h, named(f, "x", cas.ModeFile))}, `".."`},
		{"device mode", named(f, "sda", cas.Mode(5)), `"sda"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base := t.TempDir()
			target := filepath.Join(base, "out", "target")
			must(t, os.MkdirAll(filepath.Dir(target), 0o755))
			root := fakeTree(h, named(f, "fine.txt", cas.ModeFile), tt.entry)
			err := Materialize(t.Context(), h, root, target, MaterializeOptions{})
			if !errors.Is(err, ErrUnsafeEntry) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Materialize = %v, want ErrUnsafeEntry naming %s", err, tt.want)
			}
			for _, p := range listAll(t, base) {
				if p != "out" && !strings.HasPrefix(p, filepath.Join("out", "target")) {
					t.Errorf("%s written outside the target", p)
				}
			}
		})
	}
}

// TestMaterializeSymlinkEscapes: a link may point only inside the target,
// also when it goes through another link of the tree ("b" -> ".", then
// "l" -> "b/../x" is "../x" on disk, however tidy it looks).
func TestMaterializeSymlinkEscapes(t *testing.T) {
	s := newTestStore(t)
	ctx := t.Context()
	link := func(name, target string) cas.Entry { return named(putBlob(t, s, target), name, cas.ModeSymlink) }
	dir := func(name string, entries ...cas.Entry) cas.Entry {
		info, err := s.PutTree(ctx, cas.Tree{Entries: entries})
		must(t, err)
		return cas.Entry{Name: name, Mode: cas.ModeTree, Size: info.Size, Digest: info.Digest}
	}
	file := named(putBlob(t, s, "data\n"), "file", cas.ModeFile)
	tests := []struct {
		name    string
		entries []cas.Entry
		refused string // "" means it must materialize
	}{
		{"absolute", []cas.Entry{link("l", "/etc/passwd")}, `"l"`},
		{"parent", []cas.Entry{link("l", "../x")}, `"l"`},
		{"deep parent", []cas.Entry{dir("sub", link("l", "../../x"))}, `"sub/l"`},
		{"through a dot link", []cas.Entry{link("b", "."), link("l", "b/../escape")}, `"l"`},
		{"through a later link", []cas.Entry{link("a", "z/../x"), link("z", ".")}, `"a"`},
		{"through a subdir link", []cas.Entry{dir("d", link("up", "..")), link("l", "d/up/../../x")}, `"l"`},
		{"dotdot inside", []cas.Entry{dir("d", file), link("l", "d/../d/file")}, `"l"`},
		{"to a sibling", []cas.Entry{file, link("l", "file")}, ""},
		{"to a parent's file", []cas.Entry{file, dir("sub", link("l", "../file"))}, ""},
		{"dot slash", []cas.Entry{file, link("l", "./file")}, ""},
		{"dangling inside", []cas.Entry{link("l", "later/file")}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			info, err := s.PutTree(ctx, cas.Tree{Entries: tt.entries})
			must(t, err)
			base := t.TempDir()
			target := filepath.Join(base, "t")
			err = Materialize(ctx, s, info.Digest, target, MaterializeOptions{})
			if tt.refused == "" {
				if err != nil {
					t.Fatalf("Materialize = %v, want it written", err)
				}
				return
			}
			if !errors.Is(err, ErrUnsafeEntry) || !strings.Contains(err.Error(), tt.refused) {
				t.Fatalf("Materialize = %v, want ErrUnsafeEntry naming %s", err, tt.refused)
			}
			// Whatever was written resolves inside the target.
			filepath.WalkDir(target, func(p string, d os.DirEntry, err error) error {
				if err != nil || d.Type()&os.ModeSymlink == 0 {
					return nil
				}
				if r, err := filepath.EvalSymlinks(p); err == nil {
					if rel, _ := filepath.Rel(target, r); strings.HasPrefix(rel, "..") {
						t.Errorf("%s resolves to %s, outside the target", p, r)
					}
				}
				return nil
			})
		})
	}
}

// TestMaterializeForceKeepsLinksOut: with --force into a directory that
// already holds a link to elsewhere, entries replace the link instead of
// writing through it.
func TestMaterializeForceKeepsLinksOut(t *testing.T) {
	s := newTestStore(t)
	ctx := t.Context()
	f := named(putBlob(t, s, "new\n"), "passwd", cas.ModeFile)
	sub, err := s.PutTree(ctx, cas.Tree{Entries: []cas.Entry{f}})
	must(t, err)
	root, err := s.PutTree(ctx, cas.Tree{Entries: []cas.Entry{
		{Name: "etc", Mode: cas.ModeTree, Size: sub.Size, Digest: sub.Digest},
		named(putBlob(t, s, "x\n"), "file", cas.ModeFile),
	}})
	must(t, err)
	base := t.TempDir()
	victim := filepath.Join(base, "victim")
	must(t, os.MkdirAll(victim, 0o755))
	must(t, os.WriteFile(filepath.Join(victim, "passwd"), []byte("root\n"), 0o644))
	must(t, os.WriteFile(filepath.Join(base, "victim-file"), []byte("keep\n"), 0o644))
	target := filepath.Join(base, "t")
	must(t, os.MkdirAll(target, 0o755))
	must(t, os.Symlink(victim, filepath.Join(target, "etc")))
	must(t, os.Symlink(filepath.Join(base, "victim-file"), filepath.Join(target, "file")))
	must(t, Materialize(ctx, s, root.Digest, target, MaterializeOptions{Force: true}))
	for p, want := range map[string]string{filepath.Join(victim, "passwd"): "root\n", filepath.Join(base, "victim-file"): "keep\n"} {
		if b, _ := os.ReadFile(p); string(b) != want {
			t.Errorf("%s = %q, want %q: written through a link", p, b, want)
		}
	}
}

// TestMaterializeDeepAndWide: a chain 10,000 trees deep ends in a clear
// error where the OS path limit is reached (no crash, no stack growth); a
// tree of 20,000 files (200,000 under RIGOR_SOAK=1) is written in bounded
// memory.
func TestMaterializeDeepAndWide(t *testing.T) {
	ctx := t.Context()
	s := newTestStore(t)
	leaf := named(putBlob(t, s, "bottom\n"), "leaf", cas.ModeFile)
	cur, err := s.PutTree(ctx, cas.Tree{Entries: []cas.Entry{leaf}})
	must(t, err)
	for i := 1; i < 10_000; i++ {
		cur, err = s.PutTree(ctx, cas.Tree{Entries: []cas.Entry{{Name: "d", Mode: cas.ModeTree, Size: cur.Size, Digest: cur.Digest}}})
		must(t, err)
	}
	target := filepath.Join(t.TempDir(), "deep")
	err = Materialize(ctx, s, cur.Digest, target, MaterializeOptions{})
	if !errors.Is(err, syscall.ENAMETOOLONG) {
		t.Errorf("Materialize of 10,000 levels = %v, want ENAMETOOLONG at the OS path limit", err)
	}

	n := 20_000
	if os.Getenv("RIGOR_SOAK") != "" {
		n = 200_000
	}
	if testing.Short() {
		n = 2_000
	}
	blob := putBlob(t, s, "x")
	tr := cas.Tree{Entries: make([]cas.Entry, n)}
	for i := range tr.Entries {
		tr.Entries[i] = named(blob, fmt.Sprintf("f%07d", i), cas.ModeFile)
	}
	wide, err := s.PutTree(ctx, tr)
	must(t, err)
	target = filepath.Join(t.TempDir(), "wide")
	peak := faults.PeakHeap(func() { err = Materialize(ctx, s, wide.Digest, target, MaterializeOptions{}) })
	must(t, err)
	got, err := os.ReadDir(target)
	must(t, err)
	t.Logf("Materialize of %d files: peak heap %d MiB", n, peak>>20)
	if len(got) != n {
		t.Errorf("%d files written, want %d", len(got), n)
	}
	if budget := uint64(n)*400 + 64<<20; peak > budget {
		t.Errorf("peak heap %d bytes, want at most %d", peak, budget)
	}
}

// dirInputRun is the selftest run with its data input a directory, as
// rigor run records one: inputs/data/images.sha256sum plus the directory.
func dirInputRun(t *testing.T, dir string) {
	t.Helper()
	r := selftestRun()
	listing := shaHex("1,2\n") + "  a.csv\n"
	r.files["inputs/data/images.sha256sum"] = listing
	r.files["inputs/data/images/a.csv"] = "1,2\n"
	delete(r.files, "data/input.csv")
	r.manifest["inputs"] = []any{map[string]any{"role": "data", "path": "inputs/data/images.sha256sum", "sha256": shaHex(listing), "source_revision": "rev-1"}}
	r.write(t, dir)
}

// TestImportRefusesLinksAndDevices: a link or a device file anywhere in
// what import stores (a directory input included) is refused by name, and
// nothing is stored.
func TestImportRefusesLinksAndDevices(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, dir string)
		want  string
	}{
		{"clean", func(t *testing.T, dir string) {}, ""},
		{"link out of a directory input", func(t *testing.T, dir string) {
			must(t, os.Symlink("/etc/passwd", filepath.Join(dir, "inputs/data/images/evil")))
		}, "inputs/data/images/evil: is a symbolic link"},
		{"link inside a directory input", func(t *testing.T, dir string) {
			must(t, os.Symlink("a.csv", filepath.Join(dir, "inputs/data/images/b.csv")))
		}, "inputs/data/images/b.csv: is a symbolic link"},
		{"fifo in a directory input", func(t *testing.T, dir string) {
			must(t, syscall.Mkfifo(filepath.Join(dir, "inputs/data/images/pipe"), 0o644))
		}, "inputs/data/images/pipe: is a named pipe (FIFO)"},
		{"device in a directory input", func(t *testing.T, dir string) {
			if err := syscall.Mknod(filepath.Join(dir, "inputs/data/images/null"), syscall.S_IFCHR|0o644, 1<<8|3); err != nil {
				t.Skipf("mknod needs root: %v", err)
			}
		}, "inputs/data/images/null: is a character device"},
		{"linked subdirectory", func(t *testing.T, dir string) {
			must(t, os.Symlink("/etc", filepath.Join(dir, "inputs/data/images/etc")))
		}, "inputs/data/images/etc: is a symbolic link"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newTestStore(t)
			dir := filepath.Join(t.TempDir(), "run")
			must(t, os.MkdirAll(dir, 0o755))
			dirInputRun(t, dir)
			tt.setup(t, dir)
			res, err := ImportRun(t.Context(), s, dir, ImportOptions{Now: importNow})
			if tt.want == "" {
				if err != nil {
					t.Fatalf("ImportRun = %v", err)
				}
				if res.Files != 11 {
					t.Errorf("imported %d files, want 11", res.Files)
				}
				return
			}
			var rde *RunDirError
			if !errors.As(err, &rde) {
				t.Fatalf("ImportRun = %v, want a *RunDirError", err)
			}
			found := false
			for _, p := range rde.Problems {
				found = found || strings.HasPrefix(p, tt.want)
			}
			if !found {
				t.Errorf("problems %q lack %q", rde.Problems, tt.want)
			}
			if objects, refs := storeCounts(t, s); objects != 0 || refs != 0 {
				t.Errorf("%d objects, %d refs stored by a refused import", objects, refs)
			}
		})
	}
}

// TestAddNamesSpecialFiles: rigor add skips a FIFO or a device with a
// warning naming it, and never blocks reading it.
func TestAddNamesSpecialFiles(t *testing.T) {
	s := newTestStore(t)
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"a.txt": "a\n"})
	must(t, syscall.Mkfifo(filepath.Join(dir, "pipe"), 0o644))
	res, err := New(s, Options{}).AddPath(t.Context(), dir, AddOptions{})
	must(t, err)
	var warned bytes.Buffer
	for _, w := range res.Warnings {
		fmt.Fprintln(&warned, w)
	}
	if !strings.Contains(warned.String(), "pipe: skipped: named pipe (FIFO)") {
		t.Errorf("warnings %q do not name the FIFO", warned.String())
	}
}
