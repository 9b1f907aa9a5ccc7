package main

// Hardening (issue 10): rigor killed with SIGKILL at many points of add,
// run, push, pull (to and from another store and, when make tools built
// the registry, an OCI registry) and gc, and rigor on a full disk. After every kill every
// store involved must fsck clean and keep every ref it had (nothing that
// was reported stored is lost), and the command, run again, must succeed.
//
// The kill points are spread over each command's measured duration: 3 per
// command here (2 under -race), 20 under RIGOR_SOAK=1 (make soak). The figures go to
// RELIABILITY.md.

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rigor-dev/rigor/internal/faults"
)

// soak reports whether the long versions run (make soak).
func soak() bool { return os.Getenv("RIGOR_SOAK") != "" }

// cli runs the rigor binary testscript put on PATH (the test binary
// itself), as a user would.
type cli struct {
	t   *testing.T
	bin string
	env []string
}

func newCLI(t *testing.T) *cli {
	t.Helper()
	bin, err := exec.LookPath("rigor")
	if err != nil {
		t.Fatalf("rigor not on PATH (testscript.Main puts it there): %v", err)
	}
	// A race-instrumented rigor sleeps a second at exit to let reports
	// out (GORACE atexit_sleep_ms); these tests start hundreds.
	env := []string{"HOME=" + t.TempDir(), "RIGOR_STORE=", "GORACE=atexit_sleep_ms=0 " + os.Getenv("GORACE")}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "HOME=") && !strings.HasPrefix(kv, "RIGOR_STORE=") && !strings.HasPrefix(kv, "GORACE=") {
			env = append(env, kv)
		}
	}
	return &cli{t: t, bin: bin, env: env}
}

func (c *cli) cmd(dir string, args ...string) (*exec.Cmd, *bytes.Buffer, *bytes.Buffer) {
	cmd := exec.Command(c.bin, args...)
	cmd.Dir, cmd.Env = dir, c.env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	return cmd, &stdout, &stderr
}

// run runs rigor in dir and returns its stdout, stderr and error.
func (c *cli) run(dir string, args ...string) (string, string, error) {
	cmd, stdout, stderr := c.cmd(dir, args...)
	err := cmd.Run()
	return stdout.String(), stderr.String(), err
}

// must runs rigor in dir and fails the test unless it exits 0.
func (c *cli) must(dir string, args ...string) string {
	c.t.Helper()
	out, errOut, err := c.run(dir, args...)
	if err != nil {
		c.t.Fatalf("rigor %s (in %s): %v\n%s%s", strings.Join(args, " "), dir, err, out, errOut)
	}
	return out
}

// killAfter starts rigor in dir, SIGKILLs it after d unless it exited
// first, and returns its stdout and whether it finished by itself.
func (c *cli) killAfter(d time.Duration, dir string, args ...string) (string, bool) {
	c.t.Helper()
	cmd, stdout, _ := c.cmd(dir, args...)
	if err := cmd.Start(); err != nil {
		c.t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	select {
	case <-done:
		return stdout.String(), true
	case <-time.After(d):
		cmd.Process.Signal(syscall.SIGKILL)
		<-done
		return stdout.String(), false
	}
}

// writeRandom writes n pseudo-random bytes (seeded) to path.
func writeRandom(t *testing.T, path string, n int, seed uint64) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8), byte(seed >> 16), 7}))
	b := make([]byte, n)
	for i := 0; i < n; i += 8 {
		v := rng.Uint64()
		for j := 0; j < 8 && i+j < n; j++ {
			b[i+j] = byte(v >> (8 * j))
		}
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// refLedger is every ref each store was seen to have after a command that
// reported success: none may ever go or change.
type refLedger map[string]map[string]string // store dir → ref → digest

func (c *cli) refs(store string) map[string]string {
	c.t.Helper()
	out := c.must(filepath.Dir(store), "--store", store, "ref", "list")
	m := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if d, name, ok := strings.Cut(line, "  "); ok {
			m[name] = d
		}
	}
	return m
}

// remember adds the current refs of store to the ledger.
func (l refLedger) remember(c *cli, store string) {
	if l[store] == nil {
		l[store] = map[string]string{}
	}
	for n, d := range c.refs(store) {
		l[store][n] = d
	}
}

// check fscks each store and checks it still has every ref of the
// ledger; with learn, it then adds the store's refs to the ledger.
func (l refLedger) check(c *cli, what string, learn bool, stores ...string) {
	c.t.Helper()
	for _, s := range stores {
		out, errOut, err := c.run(filepath.Dir(s), "--store", s, "fsck")
		if err != nil || !strings.Contains(out, ": 0 problems") {
			c.t.Fatalf("%s: fsck %s: %v\n%s%s", what, s, err, out, errOut)
		}
		have := c.refs(s)
		for n, d := range l[s] {
			if have[n] != d {
				c.t.Fatalf("%s: %s lost ref %s (was %s, now %q)", what, s, n, d, have[n])
			}
		}
		if learn {
			if l[s] == nil {
				l[s] = map[string]string{}
			}
			for n, d := range have {
				l[s][n] = d
			}
		}
	}
}

// killPhase runs one command at points spread over its duration: first to
// completion (timed), then killed at each point, checked, and run again to
// completion. prepare readies iteration i (0 is the timed one); cmd gives
// the directory and arguments.
func killPhase(c *cli, l refLedger, name string, points int, stores []string,
	prepare func(i int), cmd func(i int) (string, []string), after func(i int, out string), extra func(what string)) int {
	c.t.Helper()
	prepare(0)
	dir, args := cmd(0)
	start := time.Now()
	out := c.must(dir, args...)
	base := time.Since(start)
	after(0, out)
	for _, s := range stores {
		l.remember(c, s)
	}
	killed := 0
	for i := 1; i <= points; i++ {
		prepare(i)
		dir, args := cmd(i)
		d := time.Duration(float64(base) * (float64(i) - 0.5) / float64(points))
		t0 := time.Now()
		out, finished := c.killAfter(d, dir, args...)
		if !finished {
			killed++
		} else {
			// Faster than timed (a loaded machine varies): aim the next
			// points at this duration.
			base = time.Since(t0)
		}
		what := fmt.Sprintf("%s killed at %v of %v", name, d.Round(time.Millisecond), base.Round(time.Millisecond))
		l.check(c, what, false, stores...)
		if extra != nil {
			extra(what)
		}
		// Run again: it must succeed, whatever the kill left. (The next
		// kill's check, or the final verify, checks what it left.)
		out = c.must(dir, args...)
		after(i, out)
		for _, s := range stores {
			l.remember(c, s)
		}
	}
	c.t.Logf("%s: %d kill points over %v, %d landed before the command ended", name, points, base.Round(time.Millisecond), killed)
	return killed
}

func TestKillPoints(t *testing.T) {
	if testing.Short() {
		t.Skip("kills rigor at many points: not in -short")
	}
	points := 3
	if raceEnabled {
		points = 2 // every rigor the test starts is race-instrumented: 5x slower
	}
	if soak() {
		points = 20
	}
	c := newCLI(t)
	root := t.TempDir()
	a, b, cc := filepath.Join(root, "a"), filepath.Join(root, "b"), filepath.Join(root, "c")
	for _, d := range []string{a, b, cc} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		c.must(d, "init", "-q")
	}
	sa, sb, sc := filepath.Join(a, ".rigor"), filepath.Join(b, ".rigor"), filepath.Join(cc, ".rigor")
	c.must(a, "remote", "add", "b", b)
	l := refLedger{}
	total, landed := 0, 0
	const mb = 1 << 20

	// add: a fresh directory of 16 MB each time, named by a ref.
	landed += killPhase(c, l, "add", points, []string{sa},
		func(i int) {
			for f := 0; f < 8; f++ {
				writeRandom(t, filepath.Join(a, fmt.Sprintf("add-%d/f%d.bin", i, f)), 2*mb, uint64(i*100+f))
			}
		},
		func(i int) (string, []string) { return a, []string{"add", "-q", "--rehash", fmt.Sprintf("add-%d", i)} },
		func(i int, out string) {
			c.must(a, "ref", "set", fmt.Sprintf("kept/add-%d", i), strings.TrimSpace(out))
		}, nil)
	total += points

	// run: a program reading an 8 MB input and writing 8 MB of output.
	writeRandom(t, filepath.Join(a, "input.bin"), 8*mb, 1)
	prog := `cat input.bin; head -c 4000000 input.bin > "$RIGOR_OUT/predictions.csv"; echo '{"loss": 1}' > "$RIGOR_OUT/raw_metrics.jsonl"`
	runArgs := func(row string, i int) []string {
		return []string{"run", "-q", "--row", row, "--seed", fmt.Sprint(i + 1), "--input", "data=input.bin@v1", "--", "sh", "-c", prog}
	}
	landed += killPhase(c, l, "run", points, []string{sa},
		func(i int) {},
		func(i int) (string, []string) { return a, runArgs("KILL-RUN", i) },
		func(i int, out string) {}, nil)
	total += points

	// push: each time a new run with a new 8 MB input goes a -> b.
	newRun := func(row string, i int) {
		writeRandom(t, filepath.Join(a, "input.bin"), 8*mb, uint64(1000+len(row)*100+i))
		c.must(a, runArgs(row, i)...)
	}
	c.must(a, "push", "-q", "b") // what is there already: each push then sends one run
	landed += killPhase(c, l, "push", points, []string{sa, sb},
		func(i int) { newRun("PUSH", i) },
		func(i int) (string, []string) { return a, []string{"push", "-q", "b"} },
		func(i int, out string) {}, nil)
	total += points

	// pull: each time a new run reaches b, and c pulls everything from b.
	c.must(cc, "pull", "-q", b)
	landed += killPhase(c, l, "pull", points, []string{sb, sc},
		func(i int) { newRun("PULL", i); c.must(a, "push", "-q", "b") },
		func(i int) (string, []string) { return cc, []string{"pull", "-q", b} },
		func(i int, out string) {}, nil)
	total += points

	// gc: each time 16 MB of unreferenced data to collect.
	landed += killPhase(c, l, "gc", points, []string{sa},
		func(i int) {
			writeRandom(t, filepath.Join(a, fmt.Sprintf("junk-%d.bin", i)), 16*mb, uint64(5000+i))
			c.must(a, "add", "-q", fmt.Sprintf("junk-%d.bin", i))
		},
		func(i int) (string, []string) { return a, []string{"gc", "-q", "--grace", "0"} },
		func(i int, out string) {}, nil)
	total += points

	// The same against an OCI registry, when make tools built one.
	stores := []string{sa, sb, sc}
	if bin := testTool("RIGOR_TEST_REGISTRY_BIN", "registry"); bin == "" {
		t.Logf("no registry binary (make tools): OCI push and pull not killed")
	} else {
		reg, err := newScriptRegistry(bin, filepath.Join(root, "registry"))
		if err != nil {
			t.Fatal(err)
		}
		if err := reg.start(); err != nil {
			t.Fatal(err)
		}
		defer reg.kill()
		url := "oci://" + reg.addr + "/kill/runs"
		d := filepath.Join(root, "d")
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		c.must(d, "init", "-q")
		sd := filepath.Join(d, ".rigor")
		stores = append(stores, sd)
		c.must(a, "remote", "add", "origin", url, "--plain-http")
		c.must(d, "remote", "add", "origin", url, "--plain-http")
		c.must(a, "push", "-q", "origin")
		c.must(d, "pull", "-q", "origin")
		// Every run a push reported sent must stay whole on the registry.
		var pushed []string
		onRegistry := func(what string) {
			if len(pushed) == 0 {
				return
			}
			args := append([]string{"verify", "-q", "--remote", "origin"}, pushed...)
			if out, errOut, err := c.run(a, args...); err != nil {
				t.Fatalf("%s: verify --remote: %v\n%s%s", what, err, out, errOut)
			}
		}
		landed += killPhase(c, l, "push (OCI)", points, []string{sa},
			func(i int) { newRun("OCIPUSH", i) },
			func(i int) (string, []string) { return a, []string{"push", "-q", "origin"} },
			func(i int, out string) { pushed = append(pushed, fmt.Sprintf("OCIPUSH__seed-%d__attempt-1", i+1)) },
			onRegistry)
		total += points
		landed += killPhase(c, l, "pull (OCI)", points, []string{sd},
			func(i int) { newRun("OCIPULL", i); c.must(a, "push", "-q", "origin") },
			func(i int) (string, []string) { return d, []string{"pull", "-q", "origin"} },
			func(i int, out string) {}, nil)
		total += points
	}

	// Every run on every side verifies deep.
	for _, s := range stores {
		if out, errOut, err := c.run(filepath.Dir(s), "--store", s, "verify", "--all", "--deep"); err != nil {
			t.Fatalf("verify --all --deep %s: %v\n%s%s", s, err, out, errOut)
		}
	}
	t.Logf("kill points: %d tried, %d landed while the command ran; every store fscked clean and kept every ref after each", total, landed)
	if landed == 0 {
		t.Errorf("no kill point landed while a command ran: the commands are too fast for the delays")
	}
}

// okProgram writes the outputs a completed run needs.
const okProgram = `echo 1 > "$RIGOR_OUT/predictions.csv"; echo '{"loss": 1}' > "$RIGOR_OUT/raw_metrics.jsonl"`

// TestFullDiskCLI: rigor add and rigor run into a store whose filesystem
// fills up fail with an error naming the cause and the fix, and leave the
// store intact: it fscks clean and keeps what it had, and works again
// once there is room.
func TestFullDiskCLI(t *testing.T) {
	mnt := t.TempDir()
	const size = 160 << 20
	unmount, err := faults.MountTmpfs(mnt, size)
	if err != nil {
		t.Skipf("no tmpfs to fill: %v", err)
	}
	defer unmount()
	c := newCLI(t)
	proj := filepath.Join(mnt, "p")
	if err := os.MkdirAll(proj, 0o755); err != nil {
		t.Fatal(err)
	}
	c.must(proj, "init", "-q")
	store := filepath.Join(proj, ".rigor")
	data := t.TempDir() // on the real disk
	writeRandom(t, filepath.Join(data, "small.bin"), 1<<20, 1)
	small := strings.TrimSpace(c.must(proj, "add", "-q", filepath.Join(data, "small.bin")))
	c.must(proj, "ref", "set", "kept/small", small)
	c.must(proj, "run", "-q", "--row", "DISK", "--seed", "1", "--", "sh", "-c", okProgram)
	l := refLedger{}
	l.remember(c, store)

	// add: 200 MB into 160 MiB.
	writeRandom(t, filepath.Join(data, "big.bin"), 200<<20, 2)
	_, errOut, err := c.run(proj, "add", filepath.Join(data, "big.bin"))
	if err == nil || !strings.Contains(errOut, "not enough free disk space") || !strings.Contains(errOut, "free some space or move the store") {
		t.Fatalf("add onto a full disk: %v\n%s", err, errOut)
	}
	if strings.Contains(errOut, "SIGBUS") || strings.Contains(errOut, "goroutine ") {
		t.Fatalf("add crashed:\n%s", errOut)
	}
	t.Logf("add: %s", strings.TrimSpace(errOut))
	l.check(c, "after add hit the full disk", false, store)

	// run: the program writes 200 MB of output into the same filesystem
	// (the spool): the disk fills while it runs.
	_, errOut, err = c.run(proj, "run", "-q", "--row", "DISK", "--seed", "2", "--", "sh", "-c",
		"head -c 200000000 /dev/zero; echo 1 > \"$RIGOR_OUT/predictions.csv\"")
	if err == nil {
		t.Fatalf("run onto a full disk succeeded")
	}
	if strings.Contains(errOut, "SIGBUS") || strings.Contains(errOut, "goroutine ") {
		t.Fatalf("run crashed:\n%s", errOut)
	}
	if !strings.Contains(errOut, "no space left on device") && !strings.Contains(errOut, "not enough free disk space") {
		t.Errorf("run on a full disk: the error does not name the cause:\n%s", errOut)
	}
	t.Logf("run: %s", strings.TrimSpace(errOut))
	// Free the space the run's spool took (the hint names it), then the
	// store is intact and takes writes again.
	spool := filepath.Join(store, "spool")
	if err := os.RemoveAll(spool); err != nil {
		t.Fatal(err)
	}
	l.check(c, "after run hit the full disk", false, store)
	if err := faults.Remount(mnt, 512<<20, false); err != nil {
		t.Fatal(err)
	}
	c.must(proj, "add", "-q", filepath.Join(data, "big.bin"))
	c.must(proj, "run", "-q", "--row", "DISK", "--seed", "3", "--", "sh", "-c", okProgram)
	l.check(c, "after space was freed", false, store)
}
