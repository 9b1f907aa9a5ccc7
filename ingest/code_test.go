package ingest

import (
	"bytes"
	"os"
	osexec "os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/rigor-dev/rigor/spec"
)

// gitEnvForTest is a hermetic environment for git: no global or system
// configuration, fixed identities and dates.
func gitEnvForTest(t *testing.T) []string {
	t.Helper()
	home := t.TempDir()
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GIT_") && !strings.HasPrefix(kv, "HOME=") && !strings.HasPrefix(kv, "XDG_CONFIG_HOME=") {
			env = append(env, kv)
		}
	}
	return append(env, "HOME="+home, "XDG_CONFIG_HOME="+home, "GIT_CONFIG_NOSYSTEM=1",
		"GIT_AUTHOR_NAME=Test", "GIT_AUTHOR_EMAIL=test@example.com", "GIT_AUTHOR_DATE=2024-01-02T03:04:05Z",
		"GIT_COMMITTER_NAME=Test", "GIT_COMMITTER_EMAIL=test@example.com", "GIT_COMMITTER_DATE=2024-01-02T03:04:05Z")
}

func requireGit(t *testing.T) {
	t.Helper()
	if _, err := osexec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
}

// git runs git in dir and returns its trimmed output.
func git(t *testing.T, env []string, dir string, args ...string) string {
	t.Helper()
	cmd := osexec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// newRepo makes a git repository with files committed on branch main.
func newRepo(t *testing.T, env []string, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	git(t, env, dir, "init", "-q", "-b", "main")
	writeFiles(t, dir, files)
	git(t, env, dir, "add", "-A")
	git(t, env, dir, "commit", "-q", "-m", "initial")
	return dir
}

func snapshot(t *testing.T, s testStore, dir string, env []string, opts CodeOptions) CodeSnapshot {
	t.Helper()
	opts.Env = env
	snap, err := New(s, Options{}).SnapshotCode(t.Context(), dir, opts)
	if err != nil {
		t.Fatalf("SnapshotCode(%s): %v", dir, err)
	}
	// The stored record is the canonical encoding of the returned one.
	b := readBlob(t, s, snap.Digest)
	dec, err := spec.DecodeCodeRecord(b)
	if err != nil {
		t.Fatalf("stored record does not decode: %v\n%s", err, b)
	}
	again, _ := dec.Encode()
	if !bytes.Equal(again, b) {
		t.Errorf("stored record is not canonical:\n%s\n%s", b, again)
	}
	return snap
}

func filePaths(files []File) string {
	var p []string
	for _, f := range files {
		p = append(p, f.Path)
	}
	return strings.Join(p, " ")
}

func TestSnapshotCodeClean(t *testing.T) {
	requireGit(t)
	env := gitEnvForTest(t)
	dir := newRepo(t, env, map[string]string{
		"train.py": "import model\n", "model/__init__.py": "", "model/net.py": "W = 1\n",
		".gitignore": "data/\n*.log\n__pycache__/\n",
	})
	writeFiles(t, dir, map[string]string{"data/big.csv": "1,2\n", "run.log": "x", "model/__pycache__/net.pyc": "\x00"})
	s := newTestStore(t)
	snap := snapshot(t, s, filepath.Join(dir, "model"), env, CodeOptions{}) // from a subdirectory
	g := snap.Record.Git
	if g == nil {
		t.Fatalf("no git state: %+v", snap.Record)
	}
	if want := git(t, env, dir, "rev-parse", "HEAD"); g.Commit != want {
		t.Errorf("commit = %s, want %s", g.Commit, want)
	}
	if g.Ref != "refs/heads/main" || g.Detached || g.Dirty || g.Diff != nil {
		t.Errorf("clean repo: %+v", g)
	}
	if got, want := filePaths(snap.Files), ".gitignore model/__init__.py model/net.py train.py"; got != want {
		t.Errorf("files = %s, want %s", got, want)
	}
	if snap.Root != dir {
		t.Errorf("root = %s, want the work tree top %s", snap.Root, dir)
	}
	for _, f := range snap.Files {
		if len(f.SHA256) != 64 {
			t.Errorf("%s: no sha256", f.Path)
		}
	}
}

func TestSnapshotCodeDirty(t *testing.T) {
	requireGit(t)
	env := gitEnvForTest(t)
	dir := newRepo(t, env, map[string]string{"train.py": "lr = 0.1\n", "gone.py": "x\n", "bin.dat": "\x00\x01\x02", ".gitignore": "*.log\n"})
	writeFiles(t, dir, map[string]string{
		"train.py":        "lr = 0.2\n", // modified
		"new/util.py":     "def f(): pass\n",
		"new/*weird*.txt": "glob-looking name\n",
		"bin.dat":         "\x00\x01\x03",
		"debug.log":       "ignored\n",
		"notes me.txt":    "space in name\n",
	})
	if err := os.Remove(filepath.Join(dir, "gone.py")); err != nil {
		t.Fatal(err)
	}
	indexBefore, err := os.ReadFile(filepath.Join(dir, ".git", "index"))
	if err != nil {
		t.Fatal(err)
	}
	s := newTestStore(t)
	snap := snapshot(t, s, dir, env, CodeOptions{})
	g := snap.Record.Git
	if g == nil || !g.Dirty || g.Diff == nil {
		t.Fatalf("dirty repo: %+v", g)
	}
	if got, want := filePaths(snap.Files), ".gitignore bin.dat new/*weird*.txt new/util.py notes me.txt train.py"; got != want {
		t.Errorf("files = %q, want %q", got, want)
	}
	patch := readBlob(t, s, g.Diff.Digest)
	for _, want := range []string{"a/train.py b/train.py", "+lr = 0.2", "b/new/util.py", "new file mode", "deleted file mode", "GIT binary patch", "b/notes me.txt"} {
		if !bytes.Contains(patch, []byte(want)) {
			t.Errorf("diff lacks %q:\n%s", want, patch)
		}
	}
	if bytes.Contains(patch, []byte("debug.log")) {
		t.Error("diff contains an ignored file")
	}
	indexAfter, _ := os.ReadFile(filepath.Join(dir, ".git", "index"))
	if !bytes.Equal(indexBefore, indexAfter) {
		t.Error("the snapshot changed the repository's index")
	}
	if st := git(t, env, dir, "status", "--porcelain"); !strings.Contains(st, "?? new/") {
		t.Errorf("untracked files became tracked:\n%s", st)
	}

	// The patch takes a clean checkout of HEAD to the snapshotted work tree.
	clone := filepath.Join(t.TempDir(), "clone")
	git(t, env, dir, "clone", "-q", dir, clone)
	patchFile := filepath.Join(t.TempDir(), "p.diff")
	os.WriteFile(patchFile, patch, 0o644)
	git(t, env, clone, "apply", "--binary", patchFile)
	for _, f := range snap.Files {
		want, _ := os.ReadFile(filepath.Join(dir, filepath.FromSlash(f.Path)))
		got, err := os.ReadFile(filepath.Join(clone, filepath.FromSlash(f.Path)))
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s after applying the diff: %q, %v; want %q", f.Path, got, err, want)
		}
	}
	if _, err := os.Stat(filepath.Join(clone, "gone.py")); !os.IsNotExist(err) {
		t.Error("the diff does not delete gone.py")
	}
}

func TestSnapshotCodeDetachedHead(t *testing.T) {
	requireGit(t)
	env := gitEnvForTest(t)
	dir := newRepo(t, env, map[string]string{"a.py": "1\n"})
	first := git(t, env, dir, "rev-parse", "HEAD")
	writeFiles(t, dir, map[string]string{"a.py": "2\n"})
	git(t, env, dir, "commit", "-q", "-am", "second")
	git(t, env, dir, "checkout", "-q", "--detach", first)
	g := snapshot(t, newTestStore(t), dir, env, CodeOptions{}).Record.Git
	if g.Commit != first || !g.Detached || g.Ref != "" || g.Dirty {
		t.Errorf("detached HEAD: %+v, want commit %s detached", g, first)
	}
}

func TestSnapshotCodeSubmodule(t *testing.T) {
	requireGit(t)
	env := gitEnvForTest(t)
	lib := newRepo(t, env, map[string]string{"lib.py": "def f(): return 1\n"})
	libCommit := git(t, env, lib, "rev-parse", "HEAD")
	dir := newRepo(t, env, map[string]string{"train.py": "import lib\n"})
	git(t, env, dir, "-c", "protocol.file.allow=always", "submodule", "--quiet", "add", lib, "vendor/lib")
	git(t, env, dir, "commit", "-q", "-m", "add lib")
	s := newTestStore(t)
	snap := snapshot(t, s, dir, env, CodeOptions{})
	g := snap.Record.Git
	want := []spec.Submodule{{Path: "vendor/lib", Commit: libCommit}}
	if !slices.Equal(g.Submodules, want) || g.Dirty {
		t.Errorf("submodules = %+v dirty %v, want %+v clean", g.Submodules, g.Dirty, want)
	}
	if got, want := filePaths(snap.Files), ".gitmodules train.py vendor/lib/lib.py"; got != want {
		t.Errorf("files = %s, want %s", got, want)
	}

	writeFiles(t, dir, map[string]string{"vendor/lib/lib.py": "def f(): return 2\n", "vendor/lib/extra.py": "E = 1\n"})
	snap = snapshot(t, s, dir, env, CodeOptions{})
	g = snap.Record.Git
	if !g.Dirty || len(g.Submodules) != 1 || !g.Submodules[0].Dirty || g.Diff == nil {
		t.Fatalf("dirty submodule: %+v", g)
	}
	patch := string(readBlob(t, s, g.Diff.Digest))
	for _, want := range []string{"a/vendor/lib/lib.py b/vendor/lib/lib.py", "+def f(): return 2", "b/vendor/lib/extra.py"} {
		if !strings.Contains(patch, want) {
			t.Errorf("diff lacks %q:\n%s", want, patch)
		}
	}
	if got, want := filePaths(snap.Files), ".gitmodules train.py vendor/lib/extra.py vendor/lib/lib.py"; got != want {
		t.Errorf("files = %s, want %s", got, want)
	}
}

func TestSnapshotCodeWorktree(t *testing.T) {
	requireGit(t)
	env := gitEnvForTest(t)
	dir := newRepo(t, env, map[string]string{"a.py": "1\n"})
	wt := filepath.Join(t.TempDir(), "wt")
	git(t, env, dir, "worktree", "add", "-q", "-b", "feature", wt)
	writeFiles(t, wt, map[string]string{"a.py": "2\n", "b.py": "new\n"})
	s := newTestStore(t)
	snap := snapshot(t, s, wt, env, CodeOptions{})
	g := snap.Record.Git
	if snap.Root != wt || g.Ref != "refs/heads/feature" || !g.Dirty || g.Diff == nil {
		t.Fatalf("worktree: root %s, %+v", snap.Root, g)
	}
	if patch := string(readBlob(t, s, g.Diff.Digest)); !strings.Contains(patch, "+2") || !strings.Contains(patch, "b/b.py") {
		t.Errorf("worktree diff:\n%s", patch)
	}
	// The main work tree is still clean.
	if g := snapshot(t, s, dir, env, CodeOptions{}).Record.Git; g.Dirty {
		t.Errorf("main work tree reported dirty: %+v", g)
	}
}

func TestSnapshotCodeNoCommitYet(t *testing.T) {
	requireGit(t)
	env := gitEnvForTest(t)
	dir := t.TempDir()
	git(t, env, dir, "init", "-q", "-b", "main")
	writeFiles(t, dir, map[string]string{"a.py": "print('hi')\n"})
	s := newTestStore(t)
	g := snapshot(t, s, dir, env, CodeOptions{}).Record.Git
	if !spec.IsUnavailable(g.Commit) || g.Ref != "refs/heads/main" || !g.Dirty || g.Diff == nil {
		t.Fatalf("unborn branch: %+v", g)
	}
	if patch := string(readBlob(t, s, g.Diff.Digest)); !strings.Contains(patch, "+print('hi')") {
		t.Errorf("diff:\n%s", patch)
	}
}

func TestSnapshotCodeNotARepository(t *testing.T) {
	requireGit(t)
	env := gitEnvForTest(t)
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"train.py": "x", "pkg/m.py": "y", "pkg/__pycache__/m.cpython-311.pyc": "z",
		".venv/lib/site.py": "v", "data/raw.csv": "1", "notes.md": "n",
	})
	s := newTestStore(t)
	snap := snapshot(t, s, dir, env, CodeOptions{Exclude: []string{"data/"}})
	r := snap.Record
	if r.Git != nil || r.GitUnavailable != "UNAVAILABLE: not a git work tree" {
		t.Errorf("git = %+v, git_unavailable = %q", r.Git, r.GitUnavailable)
	}
	if got, want := filePaths(snap.Files), "notes.md pkg/m.py train.py"; got != want {
		t.Errorf("files = %s, want %s", got, want)
	}
	if r.Files != 3 || r.Bytes != 3 {
		t.Errorf("files %d bytes %d, want 3 and 3", r.Files, r.Bytes)
	}
	// Include narrows the snapshot.
	snap = snapshot(t, s, dir, env, CodeOptions{Include: []string{"**/*.py"}})
	if got, want := filePaths(snap.Files), "pkg/m.py train.py"; got != want {
		t.Errorf("with include: files = %s, want %s", got, want)
	}
	// Without git on PATH the record says so and the files are still taken.
	var noGit []string
	for _, kv := range env {
		if !strings.HasPrefix(kv, "PATH=") {
			noGit = append(noGit, kv)
		}
	}
	noGit = append(noGit, "PATH="+t.TempDir())
	t.Setenv("PATH", t.TempDir())
	snap = snapshot(t, s, dir, noGit, CodeOptions{})
	if !strings.HasPrefix(snap.Record.GitUnavailable, "UNAVAILABLE: git not found") || len(snap.Files) != 4 {
		t.Errorf("without git: %q, %d files", snap.Record.GitUnavailable, len(snap.Files))
	}
}

func TestPathMatcher(t *testing.T) {
	tests := []struct {
		include, exclude []string
		path             string
		want             bool
	}{
		{nil, nil, "a/b.py", true},
		{nil, []string{"*.pyc"}, "a/b.pyc", false},
		{nil, []string{"build"}, "x/build/y.py", false},
		{nil, []string{"/build"}, "x/build/y.py", true},
		{nil, []string{"build/"}, "build/y.py", false},
		{nil, []string{"a/**/c"}, "a/b/b/c/d.py", false},
		{nil, []string{"a/**/c"}, "a/c", false},
		{[]string{"src/**"}, nil, "src/x/y.py", true},
		{[]string{"src/**"}, nil, "tests/y.py", false},
		{[]string{"*.py"}, []string{"tests"}, "tests/t.py", false},
		{[]string{"*.py"}, nil, "README", false},
	}
	for _, tt := range tests {
		m, err := newPathMatcher(tt.include, tt.exclude)
		if err != nil {
			t.Fatal(err)
		}
		if got := m.keep(tt.path); got != tt.want {
			t.Errorf("include %q exclude %q: keep(%q) = %v, want %v", tt.include, tt.exclude, tt.path, got, tt.want)
		}
	}
	if _, err := newPathMatcher([]string{"[a-"}, nil); err == nil {
		t.Error("bad pattern accepted")
	}
}

// A rigor store inside the work tree that git does not ignore is not code:
// it neither makes the snapshot dirty nor enters the diff or the files.
func TestSnapshotCodeIgnoresUnignoredStore(t *testing.T) {
	requireGit(t)
	env := gitEnvForTest(t)
	dir := newRepo(t, env, map[string]string{"train.py": "print(1)\n"})
	writeFiles(t, dir, map[string]string{".rigor/db/000001.vlog": "store bytes", "sub/.rigor/format": "{}"})
	s := newTestStore(t)
	snap := snapshot(t, s, dir, env, CodeOptions{})
	if g := snap.Record.Git; g == nil || g.Dirty || g.Diff != nil {
		t.Fatalf("an unignored store made the snapshot dirty: %+v", snap.Record.Git)
	}
	if got := filePaths(snap.Files); got != "train.py" {
		t.Errorf("files = %s, want train.py", got)
	}

	// A real change is still seen, and the diff holds it but no store bytes.
	writeFiles(t, dir, map[string]string{"train.py": "print(2)\n"})
	snap = snapshot(t, s, dir, env, CodeOptions{})
	g := snap.Record.Git
	if g == nil || !g.Dirty || g.Diff == nil {
		t.Fatalf("changed train.py: %+v", g)
	}
	diff := readBlob(t, s, g.Diff.Digest)
	if !bytes.Contains(diff, []byte("print(2)")) || bytes.Contains(diff, []byte("store bytes")) || bytes.Contains(diff, []byte(".rigor")) {
		t.Errorf("diff:\n%s", diff)
	}
}

func TestPorcelainDirty(t *testing.T) {
	tests := []struct {
		out  string
		want bool
	}{
		{"", false},
		{"?? .rigor/\x00", false},
		{"?? sub/.rigor/\x00", false},
		{" M train.py\x00", true},
		{"?? .rigor/\x00 M a.py\x00", true},
		{"R  new.py\x00.rigor/old\x00", true},
		{"R  .rigor/x\x00old.py\x00", false},
		{"?? .rigorous.py\x00", true},
	}
	for _, tt := range tests {
		if got := porcelainDirty([]byte(tt.out)); got != tt.want {
			t.Errorf("porcelainDirty(%q) = %v, want %v", tt.out, got, tt.want)
		}
	}
}
