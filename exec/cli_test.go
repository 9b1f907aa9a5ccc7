package exec

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	osexec "os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rigor-dev/rigor/spec"
)

// The tests in this file run the rigor binary as separate processes: the
// store lock, signal handling and memory use are properties of a process.

var (
	buildOnce sync.Once
	binPath   string
	binDir    string
	buildErr  error
)

// rigorBinary builds cmd/rigor once per test binary, or returns
// $RIGOR_TEST_BINARY when set.
func rigorBinary(t testing.TB) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs the rigor binary; skipped with -short")
	}
	buildOnce.Do(func() {
		if bin := os.Getenv("RIGOR_TEST_BINARY"); bin != "" {
			binPath = bin // a rigor built beforehand
			return
		}
		dir, err := os.MkdirTemp("", "rigor-exec-test-")
		if err != nil {
			buildErr = err
			return
		}
		binDir = dir
		binPath = filepath.Join(dir, "rigor")
		out, err := osexec.Command("go", "build", "-o", binPath, "github.com/rigor-dev/rigor/cmd/rigor").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// rigorProc runs the binary on the project's store and returns its stdout,
// stderr, exit code and rusage.
type procOut struct {
	stdout, stderr string
	code           int
	maxRSS         int64
}

func (p *testProject) rigorCmd(ctx context.Context, bin string, stdout io.Writer, args ...string) *osexec.Cmd {
	c := osexec.CommandContext(ctx, bin, append([]string{"--store", p.store}, args...)...)
	c.Dir = p.dir
	c.Stdout = stdout
	return c
}

func finish(t *testing.T, c *osexec.Cmd, stderr *bytes.Buffer, stdout string) procOut {
	t.Helper()
	err := c.Wait()
	out := procOut{stdout: stdout, stderr: stderr.String()}
	if ee, ok := err.(*osexec.ExitError); ok {
		out.code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	if ru, ok := c.ProcessState.SysUsage().(*syscall.Rusage); ok {
		out.maxRSS = maxRSSBytes(ru)
	}
	return out
}

func TestCLILargeStdoutBoundedMemory(t *testing.T) {
	bin := rigorBinary(t)
	if _, err := os.Stat("/proc/self/status"); err != nil {
		t.Skip("needs /proc to sample rigor's anonymous memory")
	}
	p := newTestProject(t)
	// The child prints incompressible bytes in 1 MiB writes, then a newline.
	child := func(mib int) string {
		return fmt.Sprintf("import os, sys\nw = sys.stdout.buffer\nfor i in range(%d):\n    w.write(os.urandom(1 << 20))\nw.write(b'\\n')\n", mib)
	}
	type sample struct {
		stdoutBytes int64
		peakAnon    int64 // bytes, sampled from /proc/<pid>/status
		maxRSS      int64 // rusage: includes the store's memory-mapped files
	}
	run := func(row string, mib int) sample {
		var stderr bytes.Buffer
		counter := &countWriter{}
		c := p.rigorCmd(t.Context(), bin, counter, "run", "--row", row, "--seed", "1", "--", "python3", "-c", child(mib))
		c.Stderr = &stderr
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		peak := make(chan int64)
		go func() {
			var max int64
			for {
				if n, ok := rssAnon(c.Process.Pid); ok {
					max = maxInt(max, n)
				} else {
					peak <- max
					return
				}
				time.Sleep(5 * time.Millisecond)
			}
		}()
		out := finish(t, c, &stderr, "")
		// A run without predictions exits 1 (completion FAIL); it is recorded.
		if out.code != 1 {
			t.Fatalf("rigor run exited %d: %s", out.code, out.stderr)
		}
		return sample{stdoutBytes: counter.n, peakAnon: <-peak, maxRSS: out.maxRSS}
	}
	small := run("SMALL", 1)
	big := run("BIG", 200)
	t.Logf("rigor's peak anonymous memory: %d MiB with 200 MiB of stdout, %d MiB with 1 MiB (rusage maxrss %d and %d MiB, which counts the store's memory-mapped value log)",
		big.peakAnon>>20, small.peakAnon>>20, big.maxRSS>>20, small.maxRSS>>20)
	digestLine := int64(len("blake3:") + 64 + 1)
	if big.stdoutBytes != 200<<20+1+digestLine {
		t.Errorf("terminal got %d bytes, want the 200 MiB and the digest line", big.stdoutBytes)
	}
	// Bounded: the output never sits in memory. The store's own buffers
	// (memtables, chunk pipeline) are the margin.
	if big.peakAnon == 0 || big.peakAnon > 160<<20 || big.peakAnon > small.peakAnon+128<<20 {
		t.Errorf("peak anonymous memory %d MiB (1 MiB run: %d MiB): output is being held in memory", big.peakAnon>>20, small.peakAnon>>20)
	}
	// The whole log is in the store.
	var summaries []spec.RunSummary
	decodeJSON(t, runBin(t, p, bin, "--json", "runs", "--row", "BIG"), &summaries)
	if len(summaries) != 1 {
		t.Fatalf("runs = %+v", summaries)
	}
	m, _ := p.check(summaries[0].Root)
	if size := *m.Artifacts["stdout"].Size; size != 200<<20+1 {
		t.Errorf("stdout.log is %d bytes, want %d", size, 200<<20+1)
	}
}

// rssAnon reads RssAnon of a live process, in bytes.
func rssAnon(pid int) (int64, bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, false
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "RssAnon:"); ok {
			var kib int64
			fmt.Sscan(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), &kib)
			return kib << 10, true
		}
	}
	return 0, false // a zombie has no RssAnon line
}

func maxInt(a, b int64) int64 {
	if a > b {
		return a
	}
	return b
}

// countWriter counts what it is given.
type countWriter struct{ n int64 }

func (w *countWriter) Write(p []byte) (int, error) { w.n += int64(len(p)); return len(p), nil }

func TestCLIParallelRuns(t *testing.T) {
	bin := rigorBinary(t)
	p := newTestProject(t)
	// A seed sweep of four seeds, each started twice, all eight at once.
	const n = 8
	var wg sync.WaitGroup
	outs := make([]procOut, n)
	for i := range n {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			var stdout, stderr bytes.Buffer
			c := p.rigorCmd(t.Context(), bin, &stdout, "run", "--row", "SWEEP", "--seed", fmt.Sprint(i%4),
				"--input", "data=data/input.csv@v1", "--", "python3", "src/train.py")
			c.Stderr = &stderr
			if err := c.Start(); err != nil {
				t.Error(err)
				return
			}
			outs[i] = finish(t, c, &stderr, "")
			outs[i].stdout = stdout.String()
		}(i)
	}
	wg.Wait()
	roots := map[string]bool{}
	for i, o := range outs {
		if o.code != 0 {
			t.Errorf("run %d exited %d: %s", i, o.code, o.stderr)
			continue
		}
		roots[strings.TrimSpace(lastLine(o.stdout))] = true
	}
	var runs []spec.RunSummary
	decodeJSON(t, runBin(t, p, bin, "--json", "runs", "--row", "SWEEP"), &runs)
	if len(runs) != n || len(roots) != n {
		t.Fatalf("%d runs recorded, %d distinct roots printed; want %d", len(runs), len(roots), n)
	}
	seen := map[string]bool{}
	for _, r := range runs {
		if seen[r.RunID] {
			t.Errorf("run id %s twice", r.RunID)
		}
		seen[r.RunID] = true
		if !roots[r.Root.String()] {
			t.Errorf("%s: root %s was not printed by any process", r.RunID, r.Root)
		}
		if r.Attempt != 1 && r.Attempt != 2 {
			t.Errorf("%s: attempt %d, want 1 or 2", r.RunID, r.Attempt)
		}
		_, c := p.check(r.Root)
		wantOK(t, c)
	}
}

func TestCLISigintCancel(t *testing.T) {
	bin := rigorBinary(t)
	p := newTestProject(t)
	var stdout syncBuffer
	var stderr bytes.Buffer
	c := p.rigorCmd(t.Context(), bin, &stdout, "run", "--row", "CANCEL", "--seed", "0", "--input", "data=data/input.csv@v1", "--", "python3", "-c",
		"import time; print('ready', flush=True); time.sleep(60)")
	c.Stderr = &stderr
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(stdout.String(), "ready") {
		if time.Now().After(deadline) {
			t.Fatalf("child never started; stderr: %s", stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	start := time.Now()
	c.Process.Signal(syscall.SIGINT)
	out := finish(t, c, &stderr, stdout.String())
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("rigor took %v to stop after SIGINT", d)
	}
	if out.code != 130 {
		t.Errorf("exit code %d, want 130; stderr: %s", out.code, out.stderr)
	}
	var runs []spec.RunSummary
	decodeJSON(t, runBin(t, p, bin, "--json", "runs", "--row", "CANCEL"), &runs)
	if len(runs) != 1 || runs[0].Status != "aborted" || runs[0].Termination != "user_cancel" {
		t.Fatalf("runs = %+v", runs)
	}
	if runs[0].Signal == nil || *runs[0].Signal != int(syscall.SIGINT) {
		t.Errorf("child ended with signal %v, want SIGINT (forwarded)", runs[0].Signal)
	}
	m, c2 := p.check(runs[0].Root)
	wantOK(t, c2)
	if m.Artifacts["failure"] == nil || !strings.Contains(p.file(runs[0].Root, "stdout.log"), "ready") {
		t.Errorf("failure %+v, stdout %q", m.Artifacts["failure"], p.file(runs[0].Root, "stdout.log"))
	}
}

// runBin runs the binary to completion and returns its stdout; a non-zero
// exit fails the test.
func runBin(t *testing.T, p *testProject, bin string, args ...string) string {
	t.Helper()
	var stdout, stderr bytes.Buffer
	c := p.rigorCmd(t.Context(), bin, &stdout, args...)
	c.Stderr = &stderr
	if err := c.Run(); err != nil {
		t.Fatalf("rigor %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String()
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return lines[len(lines)-1]
}
