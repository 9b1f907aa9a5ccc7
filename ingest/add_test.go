package ingest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	digest "github.com/opencontainers/go-digest"

	"github.com/rigor-dev/rigor/cas"
)

// writeFiles creates files under dir from a map of slash path to content.
// A content starting with "->" makes a symlink to the rest; a path ending
// in "/" makes an empty directory; a path ending in "*" an executable file.
func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		mode := os.FileMode(0o644)
		if n, ok := strings.CutSuffix(name, "*"); ok {
			name, mode = n, 0o755
		}
		p := filepath.Join(dir, filepath.FromSlash(name))
		if strings.HasSuffix(name, "/") {
			if err := os.MkdirAll(p, 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if target, ok := strings.CutPrefix(content, "->"); ok {
			if err := os.Symlink(target, p); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.WriteFile(p, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil { // umask-proof
			t.Fatal(err)
		}
	}
}

// listing flattens the tree d into "path mode content" lines, depth-first in
// tree order, reading every blob back through the store.
func listing(t *testing.T, s testStore, d digest.Digest) []string {
	t.Helper()
	var out []string
	var walk func(prefix string, d digest.Digest)
	walk = func(prefix string, d digest.Digest) {
		tr, err := s.ReadTree(t.Context(), d)
		if err != nil {
			t.Fatalf("ReadTree(%s): %v", d, err)
		}
		for _, e := range tr.Entries {
			p := prefix + e.Name
			if e.Mode == cas.ModeTree {
				out = append(out, p+"/ tree")
				walk(p+"/", e.Digest)
				continue
			}
			b := readBlob(t, s, e.Digest)
			if int64(len(b)) != e.Size {
				t.Errorf("%s: entry size %d, blob has %d bytes", p, e.Size, len(b))
			}
			out = append(out, fmt.Sprintf("%s %s %s", p, modeName(e.Mode), b))
		}
	}
	walk("", d)
	return out
}

func readBlob(t *testing.T, s testStore, d digest.Digest) []byte {
	t.Helper()
	rc, err := s.Open(t.Context(), d)
	if err != nil {
		t.Fatalf("Open(%s): %v", d, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("read %s: %v", d, err)
	}
	return b
}

func modeName(m cas.Mode) string {
	return map[cas.Mode]string{cas.ModeFile: "file", cas.ModeExec: "exec", cas.ModeSymlink: "link", cas.ModeTree: "tree"}[m]
}

func TestAddPathTree(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"b.txt":        "bee",
		"a/x.py":       "print(1)",
		"a/run.sh*":    "#!/bin/sh",
		"a.txt":        "a dot",
		"empty/":       "",
		"link":         "->a/x.py",
		"dangling":     "->nowhere/at/all",
		"abs":          "->/etc/passwd",
		"deep/er/f.go": "package f",
	})
	if err := syscall.Mkfifo(filepath.Join(dir, "fifo"), 0o644); err != nil {
		t.Fatal(err)
	}
	s := newTestStore(t)
	in := New(s, Options{})
	res, err := in.AddPath(t.Context(), dir, AddOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Mode != cas.ModeTree || res.Info.Kind != cas.KindTree {
		t.Errorf("root mode %v kind %v, want a tree", res.Mode, res.Info.Kind)
	}
	got := listing(t, s, res.Info.Digest)
	want := []string{
		"a/ tree",
		"a/run.sh exec #!/bin/sh",
		"a/x.py file print(1)",
		"a.txt file a dot",
		"abs link /etc/passwd",
		"b.txt file bee",
		"dangling link nowhere/at/all",
		"deep/ tree",
		"deep/er/ tree",
		"deep/er/f.go file package f",
		"empty/ tree",
		"link link a/x.py",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("tree:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if len(res.Warnings) != 1 || res.Warnings[0].Path != "fifo" || !strings.Contains(res.Warnings[0].Reason, "FIFO") {
		t.Errorf("warnings = %v, want one for fifo", res.Warnings)
	}
	var paths []string
	for _, f := range res.Files {
		paths = append(paths, f.Path)
	}
	// Files are in path order, where "a.txt" < "a/run.sh".
	wantPaths := "a.txt a/run.sh a/x.py abs b.txt dangling deep/er/f.go link"
	if strings.Join(paths, " ") != wantPaths {
		t.Errorf("Files = %s, want %s", strings.Join(paths, " "), wantPaths)
	}
	if res.Bytes != res.ReadBytes+int64(len("/etc/passwd")+len("nowhere/at/all")+len("a/x.py")) {
		t.Errorf("Bytes %d, ReadBytes %d: the difference should be the link targets", res.Bytes, res.ReadBytes)
	}
}

func TestAddPathIdentityIgnoresTimesAndPermissions(t *testing.T) {
	files := map[string]string{"x/a": "1", "x/b*": "2", "y": "3"}
	d1, d2 := t.TempDir(), t.TempDir()
	writeFiles(t, d1, files)
	writeFiles(t, d2, files)
	old := time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)
	if err := os.Chtimes(filepath.Join(d2, "y"), old, old); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(d2, "x", "a"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := newTestStore(t)
	in := New(s, Options{})
	r1, err := in.AddPath(t.Context(), d1, AddOptions{})
	if err != nil {
		t.Fatal(err)
	}
	r2, err := in.AddPath(t.Context(), d2, AddOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if r1.Info.Digest != r2.Info.Digest {
		t.Errorf("same content, different times/permissions: %s != %s", r1.Info.Digest, r2.Info.Digest)
	}
	// The execute bit is identity.
	if err := os.Chmod(filepath.Join(d2, "x", "b"), 0o644); err != nil {
		t.Fatal(err)
	}
	r3, err := in.AddPath(t.Context(), d2, AddOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if r3.Info.Digest == r1.Info.Digest {
		t.Error("clearing the execute bit did not change the digest")
	}
}

// later is a clock an hour ahead, so files the test just wrote are old
// enough for the stat cache.
func later() time.Time { return time.Now().Add(time.Hour) }

func TestAddPathStatCache(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"a": "alpha", "sub/b": "bravo", "sub/c": "charlie"})
	s := newTestStore(t)
	in := New(s, Options{Now: later})
	ctx := t.Context()
	first, err := in.AddPath(ctx, dir, AddOptions{SHA256: true})
	if err != nil {
		t.Fatal(err)
	}
	if first.ReadBytes != first.Bytes || first.Bytes != int64(len("alpha")+len("bravo")+len("charlie")) {
		t.Fatalf("first add read %d of %d bytes", first.ReadBytes, first.Bytes)
	}
	again, err := in.AddPath(ctx, dir, AddOptions{SHA256: true})
	if err != nil {
		t.Fatal(err)
	}
	if again.ReadBytes != 0 {
		t.Errorf("unchanged tree: read %d bytes again, want 0", again.ReadBytes)
	}
	if again.Info != first.Info {
		t.Errorf("unchanged tree: %v != %v", again.Info, first.Info)
	}
	for i, f := range again.Files {
		if f.SHA256 != first.Files[i].SHA256 || f.SHA256 == "" {
			t.Errorf("%s: cached sha256 %q, first %q", f.Path, f.SHA256, first.Files[i].SHA256)
		}
	}

	// Same size, same mtime, new content: ctime and the content change.
	// File times come from a coarse clock; let it tick past the first write.
	time.Sleep(50 * time.Millisecond)
	p := filepath.Join(dir, "sub", "b")
	fi, _ := os.Stat(p)
	if err := os.WriteFile(p, []byte("BRAVO"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(p, fi.ModTime(), fi.ModTime()); err != nil {
		t.Fatal(err)
	}
	changed, err := in.AddPath(ctx, dir, AddOptions{SHA256: true})
	if err != nil {
		t.Fatal(err)
	}
	if changed.ReadBytes != 5 {
		t.Errorf("one 5-byte file changed: read %d bytes, want 5", changed.ReadBytes)
	}
	if changed.Info.Digest == first.Info.Digest {
		t.Error("changed content kept the tree digest")
	}
	sum := sha256.Sum256([]byte("BRAVO"))
	if got := changed.Files[1].SHA256; got != hex.EncodeToString(sum[:]) {
		t.Errorf("sub/b sha256 = %s, want %x", got, sum)
	}

	rehash, err := in.AddPath(ctx, dir, AddOptions{Rehash: true})
	if err != nil {
		t.Fatal(err)
	}
	if rehash.ReadBytes != rehash.Bytes {
		t.Errorf("Rehash read %d of %d bytes", rehash.ReadBytes, rehash.Bytes)
	}
}

func TestAddPathSingleFile(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"tool*": "#!/bin/sh\necho hi\n", "data.csv": "a,b\n1,2\n"})
	s := newTestStore(t)
	in := New(s, Options{})
	for _, tt := range []struct {
		name string
		mode cas.Mode
	}{{"tool", cas.ModeExec}, {"data.csv", cas.ModeFile}} {
		res, err := in.AddPath(t.Context(), filepath.Join(dir, tt.name), AddOptions{SHA256: true})
		if err != nil {
			t.Fatal(err)
		}
		content, _ := os.ReadFile(filepath.Join(dir, tt.name))
		sum := sha256.Sum256(content)
		if res.Mode != tt.mode || res.Info.Kind != cas.KindBlob || res.Info.Size != int64(len(content)) {
			t.Errorf("%s: mode %v kind %v size %d", tt.name, res.Mode, res.Info.Kind, res.Info.Size)
		}
		if len(res.Files) != 1 || res.Files[0].Path != tt.name || res.Files[0].SHA256 != hex.EncodeToString(sum[:]) {
			t.Errorf("%s: Files = %+v", tt.name, res.Files)
		}
		if string(readBlob(t, s, res.Info.Digest)) != string(content) {
			t.Errorf("%s: stored bytes differ", tt.name)
		}
	}
	// A symlink named as the root is resolved.
	if err := os.Symlink("data.csv", filepath.Join(dir, "alias")); err != nil {
		t.Fatal(err)
	}
	res, err := in.AddPath(t.Context(), filepath.Join(dir, "alias"), AddOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Mode != cas.ModeFile || res.Info.Size != 8 {
		t.Errorf("root symlink: mode %v size %d, want the file it names", res.Mode, res.Info.Size)
	}
	if _, err := in.AddPath(t.Context(), filepath.Join(dir, "missing"), AddOptions{}); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing path: err = %v, want ErrNotExist", err)
	}
}

func TestAddFiles(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"src/a.py": "a", "src/b.py": "b", "src/pkg/c.py": "c", "src/pkg/d.txt": "d",
		"data/big.bin": "big", "README": "r", "vendor/lib/x.py": "x",
	})
	s := newTestStore(t)
	in := New(s, Options{})
	res, err := in.AddFiles(t.Context(), dir, []string{"src/pkg/c.py", "README", "src/a.py", "vendor", "README"}, AddOptions{
		Filter: func(rel string, isDir bool) bool { return !strings.HasSuffix(rel, ".txt") },
	})
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(listing(t, s, res.Info.Digest), "\n")
	want := strings.Join([]string{
		"README file r",
		"src/ tree",
		"src/a.py file a",
		"src/pkg/ tree",
		"src/pkg/c.py file c",
		"vendor/ tree",
		"vendor/lib/ tree",
		"vendor/lib/x.py file x",
	}, "\n")
	if got != want {
		t.Errorf("AddFiles tree:\n%s\nwant:\n%s", got, want)
	}
	for _, bad := range []string{"/etc/passwd", "../x", "a/../../b", "./src", ""} {
		if _, err := in.AddFiles(t.Context(), dir, []string{bad}, AddOptions{}); !errors.Is(err, ErrBadPath) {
			t.Errorf("AddFiles(%q): err = %v, want ErrBadPath", bad, err)
		}
	}
	if _, err := in.AddFiles(t.Context(), dir, []string{"src/nope.py"}, AddOptions{}); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: err = %v, want ErrNotExist", err)
	}
}

func TestAddPathManyFilesAndProgress(t *testing.T) {
	dir := t.TempDir()
	const n = 600
	var total int64
	for i := range n {
		p := filepath.Join(dir, fmt.Sprintf("d%02d", i%17), fmt.Sprintf("f%04d", i))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		content := strings.Repeat(fmt.Sprint(i), i%50+1)
		total += int64(len(content))
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	s := newTestStore(t)
	var calls int
	var last, lastTotal int64
	res, err := New(s, Options{Concurrency: 8}).AddPath(t.Context(), dir, AddOptions{
		Progress: func(done, tot int64) {
			calls++
			if done < last {
				t.Errorf("progress went back from %d to %d", last, done)
			}
			last, lastTotal = done, tot
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Files) != n || res.Bytes != total {
		t.Errorf("added %d files, %d bytes; want %d, %d", len(res.Files), res.Bytes, n, total)
	}
	if last != total || lastTotal != total || calls == 0 {
		t.Errorf("progress ended at %d/%d after %d calls, want %d/%d", last, lastTotal, calls, total, total)
	}
	// Concurrency does not change identity.
	res1, err := New(newTestStore(t), Options{Concurrency: 1}).AddPath(t.Context(), dir, AddOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res1.Info.Digest != res.Info.Digest {
		t.Errorf("concurrency 1 gave %s, concurrency 8 gave %s", res1.Info.Digest, res.Info.Digest)
	}
}

func TestAddPathCancelled(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"a": "1", "b/c": "2"})
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := New(newTestStore(t), Options{}).AddPath(ctx, dir, AddOptions{}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled add: err = %v, want context.Canceled", err)
	}
}

func TestAddPathFreshFilesAreNotRemembered(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"new.csv": "just written"})
	s := newTestStore(t)
	now := time.Now()
	clock := func() time.Time { return now }
	in := New(s, Options{Now: clock})
	for i, want := range []int64{12, 12} {
		res, err := in.AddPath(t.Context(), dir, AddOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if res.ReadBytes != want {
			t.Errorf("add %d of a file written just now: read %d bytes, want %d (a fresh stat key must not be trusted)", i+1, res.ReadBytes, want)
		}
	}
	now = now.Add(time.Second) // the file is no longer fresh: remembered now
	if _, err := in.AddPath(t.Context(), dir, AddOptions{}); err != nil {
		t.Fatal(err)
	}
	res, err := in.AddPath(t.Context(), dir, AddOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res.ReadBytes != 0 {
		t.Errorf("settled file read again: %d bytes", res.ReadBytes)
	}
}
