package cas

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Helper processes: the test binary re-executes itself with
// CAS_TEST_HELPER set; TestMain then runs the helper instead of the tests.
func TestMain(m *testing.M) {
	if h := os.Getenv("CAS_TEST_HELPER"); h != "" {
		if err := runHelper(h, os.Getenv("CAS_TEST_DIR"), os.Getenv("CAS_TEST_ARG")); err != nil {
			fmt.Fprintln(os.Stderr, "helper:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// genReader yields n deterministic bytes (n < 0: endlessly), a mix of
// compressible text and random blocks, cheap to generate.
type genReader struct {
	n, off int64
	x      uint64
	// progress, if set, is called every 8 MiB.
	progress func(off int64)
}

func (g *genReader) Read(p []byte) (int, error) {
	if g.n >= 0 && g.off >= g.n {
		return 0, io.EOF
	}
	if g.n >= 0 && int64(len(p)) > g.n-g.off {
		p = p[:g.n-g.off]
	}
	for i := range p {
		pos := g.off + int64(i)
		if (pos>>16)%3 == 0 {
			p[i] = "0123456789,.\n"[(pos*7+pos>>9)%13]
		} else {
			if pos%8 == 0 {
				g.x ^= g.x << 13
				g.x ^= g.x >> 7
				g.x ^= g.x << 17
			}
			p[i] = byte(g.x >> (8 * (pos % 8)))
		}
	}
	before := g.off
	g.off += int64(len(p))
	if g.progress != nil && before>>23 != g.off>>23 {
		g.progress(g.off)
	}
	return len(p), nil
}

func newGen(n int64) *genReader { return &genReader{n: n, x: 0x2545f4914f6cdd1d} }

func runHelper(name, dir, arg string) error {
	ctx := context.Background()
	s, err := Open(ctx, dir, Options{LockTimeout: 2 * time.Minute})
	if err != nil {
		return err
	}
	defer s.Close()
	switch name {
	case "crash":
		// Put an endless stream, reporting progress, until killed.
		g := newGen(-1)
		g.progress = func(off int64) { fmt.Printf("progress %d\n", off) }
		_, err := s.Put(ctx, g, PutOptions{})
		return err
	case "concurrent":
		i, _ := strconv.Atoi(arg)
		info, err := s.Put(ctx, strings.NewReader(string(randBytes(uint64(i), 2<<20+i))), PutOptions{})
		if err != nil {
			return err
		}
		return s.SetRef(ctx, fmt.Sprintf("runs/EXP-01/seed-%d/attempt-1", i), "", info.Digest)
	}
	return fmt.Errorf("unknown helper %q", name)
}

func startHelper(t *testing.T, name, dir, arg string, stdout *os.File) *os.Process {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	env := append(os.Environ(), "CAS_TEST_HELPER="+name, "CAS_TEST_DIR="+dir, "CAS_TEST_ARG="+arg)
	p, err := os.StartProcess(exe, []string{exe, "-test.run=^$"}, &os.ProcAttr{
		Env:   env,
		Files: []*os.File{nil, stdout, os.Stderr},
	})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func initDir(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), ".rigor")
	s, err := Init(t.Context(), dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	return dir
}

func fsckClean(t *testing.T, s *Store) FsckReport {
	t.Helper()
	rep, err := s.Fsck(t.Context(), FsckOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range rep.Problems {
		t.Errorf("fsck: %v", p)
	}
	return rep
}

// TestCrashMidPut SIGKILLs a process in the middle of a large Put: the
// store must open, fsck clean, and take the same content afterwards.
func TestCrashMidPut(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns a process that writes ~48 MB")
	}
	dir := initDir(t)
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	p := startHelper(t, "crash", dir, "", pw)
	pw.Close()
	sc := bufio.NewScanner(pr)
	killed := false
	for sc.Scan() {
		var off int64
		if _, err := fmt.Sscanf(sc.Text(), "progress %d", &off); err == nil && off >= 48<<20 {
			p.Signal(syscall.SIGKILL)
			killed = true
			break
		}
	}
	st, _ := p.Wait()
	pr.Close()
	if !killed || st == nil || st.Success() {
		t.Fatalf("helper was not killed mid-Put (state %v)", st)
	}

	// A read-only open comes first: it must recover the store (Badger's
	// read-only mode cannot replay a log) and see it as a writer would.
	ro, err := Open(t.Context(), dir, Options{LockTimeout: 10 * time.Second, ReadOnly: true})
	if err != nil {
		t.Fatalf("read-only Open after crash: %v", err)
	}
	if rep := fsckClean(t, ro); rep.Objects != 0 {
		t.Errorf("read-only: fsck saw %d objects after a crashed Put, want 0", rep.Objects)
	}
	if err := ro.Close(); err != nil {
		t.Fatal(err)
	}

	s, err := Open(t.Context(), dir, Options{LockTimeout: 10 * time.Second})
	if err != nil {
		t.Fatalf("Open after crash: %v", err)
	}
	defer s.Close()
	rep := fsckClean(t, s)
	if rep.Objects != 0 {
		t.Errorf("fsck saw %d objects after a crashed Put, want 0 (the object must not be visible)", rep.Objects)
	}
	if rep.Chunks == 0 {
		t.Logf("no orphan chunks survived the crash (they were still in flight)")
	}
	const n = 64 << 20
	info, err := s.Put(t.Context(), newGen(n), PutOptions{})
	if err != nil {
		t.Fatalf("Put after crash: %v", err)
	}
	want, _, _ := FromReader(newGen(n))
	if info.Digest != want || info.Size != n {
		t.Errorf("Put after crash = %+v, want %s", info, want)
	}
	r, err := s.Open(t.Context(), info.Digest)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if got, _, err := FromReader(r); err != nil || got != want {
		t.Errorf("reading back = %s, %v", got, err)
	}
	fsckClean(t, s)
	if gr, err := s.GC(t.Context(), GCOptions{}); err != nil || gr.ObjectsDeleted != 1 {
		t.Errorf("GC after crash = %+v, %v; want the unreferenced object deleted", gr, err)
	}
}

// TestConcurrentProcesses starts 8 processes on one store at once, as a
// seed sweep does; each Puts and sets a ref. All must succeed.
func TestConcurrentProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns 8 processes")
	}
	dir := initDir(t)
	const n = 8
	var procs []*os.Process
	for i := range n {
		procs = append(procs, startHelper(t, "concurrent", dir, strconv.Itoa(i), os.Stdout))
	}
	for i, p := range procs {
		st, err := p.Wait()
		if err != nil || !st.Success() {
			t.Errorf("process %d: %v %v", i, st, err)
		}
	}
	s, err := Open(t.Context(), dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for i := range n {
		d, err := s.GetRef(t.Context(), fmt.Sprintf("runs/EXP-01/seed-%d/attempt-1", i))
		if err != nil {
			t.Errorf("ref of process %d: %v", i, err)
			continue
		}
		if want := FromBytes(randBytes(uint64(i), 2<<20+i)); d != want {
			t.Errorf("ref of process %d = %s, want %s", i, d, want)
		}
	}
	fsckClean(t, s)
}
