package exec

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rigor-dev/rigor/spec"
)

func procFor(t *testing.T, argv ...string) procSpec {
	dir := t.TempDir()
	return procSpec{
		argv:       argv,
		env:        os.Environ(),
		dir:        dir,
		stdoutPath: filepath.Join(dir, "stdout.log"),
		stderrPath: filepath.Join(dir, "stderr.log"),
		grace:      2 * time.Second,
		now:        time.Now,
	}
}

func TestRunProcess(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		argv       []string
		timeout    time.Duration
		wantReason string
		wantExit   int // -1: killed by a signal
		wantSignal syscall.Signal
		wantStdout string
		wantStderr string
		wantOOM    bool
	}{
		{name: "exit 0", argv: []string{"sh", "-c", "echo out; echo err >&2"}, wantReason: "natural_exit", wantStdout: "out\n", wantStderr: "err\n"},
		{name: "exit 3", argv: []string{"sh", "-c", "echo boom >&2; exit 3"}, wantReason: "error", wantExit: 3, wantStderr: "boom\n"},
		{name: "timeout", argv: []string{"sh", "-c", "echo started; exec sleep 30"}, timeout: 300 * time.Millisecond, wantReason: "timeout", wantExit: -1, wantSignal: syscall.SIGTERM, wantStdout: "started\n"},
		{name: "timeout ignoring SIGTERM", argv: []string{"sh", "-c", "trap '' TERM; echo x; while :; do sleep 0.05; done"}, timeout: 200 * time.Millisecond, wantReason: "timeout", wantExit: -1, wantSignal: syscall.SIGKILL, wantStdout: "x\n"},
		{name: "killed from outside", argv: []string{"sh", "-c", "kill -9 $$"}, wantReason: "error", wantExit: -1, wantSignal: syscall.SIGKILL, wantOOM: true},
		{name: "python", argv: []string{"python3", "-c", "import sys; print('py'); sys.exit(0)"}, wantReason: "natural_exit", wantStdout: "py\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ps := procFor(t, tt.argv...)
			ps.timeout = tt.timeout
			if tt.name == "timeout ignoring SIGTERM" {
				ps.grace = 300 * time.Millisecond
			}
			res, err := runProcess(t.Context(), ps)
			if err != nil {
				t.Fatal(err)
			}
			if res.reason != tt.wantReason {
				t.Errorf("reason = %q, want %q", res.reason, tt.wantReason)
			}
			if tt.wantExit >= 0 {
				if res.exitCode == nil || *res.exitCode != tt.wantExit || res.signal != nil {
					t.Errorf("exit = %v signal = %v, want exit %d", res.exitCode, res.signal, tt.wantExit)
				}
			} else if res.signal == nil || *res.signal != int(tt.wantSignal) || res.exitCode != nil {
				t.Errorf("exit = %v signal = %v, want signal %d", res.exitCode, res.signal, tt.wantSignal)
			}
			if got := readFile(t, ps.stdoutPath); got != tt.wantStdout {
				t.Errorf("stdout = %q, want %q", got, tt.wantStdout)
			}
			if got := readFile(t, ps.stderrPath); got != tt.wantStderr {
				t.Errorf("stderr = %q, want %q", got, tt.wantStderr)
			}
			if (res.oom != nil) != tt.wantOOM {
				t.Errorf("oom = %+v, want present %v", res.oom, tt.wantOOM)
			}
			if res.endedAt.Before(res.startedAt) {
				t.Errorf("ended %v before started %v", res.endedAt, res.startedAt)
			}
			if res.resources.StdoutBytes != int64(len(tt.wantStdout)) {
				t.Errorf("stdout bytes = %d, want %d", res.resources.StdoutBytes, len(tt.wantStdout))
			}
			if res.resources.PeakRSSBytes <= 0 {
				t.Errorf("peak RSS = %d, want > 0", res.resources.PeakRSSBytes)
			}
		})
	}
}

func TestRunProcessTee(t *testing.T) {
	t.Parallel()
	ps := procFor(t, "sh", "-c", "echo a; echo b >&2; echo c")
	var out, errb bytes.Buffer
	ps.stdout, ps.stderr = &out, &errb
	if _, err := runProcess(t.Context(), ps); err != nil {
		t.Fatal(err)
	}
	if out.String() != "a\nc\n" || errb.String() != "b\n" {
		t.Errorf("terminal got stdout %q stderr %q", out.String(), errb.String())
	}
}

func TestRunProcessForwardsSignal(t *testing.T) {
	t.Parallel()
	ps := procFor(t, "python3", "-c", `
import signal, sys, time
def h(n, f):
    print("got", n, flush=True)
    sys.exit(5)
signal.signal(signal.SIGINT, h)
sys.stdout.write("ready\n")  # one write: print() writes "ready" and "\n" apart when unbuffered
sys.stdout.flush()
time.sleep(30)
`)
	sigs := make(chan os.Signal, 1)
	ps.signals = sigs
	var out syncBuffer
	ps.stdout = &out
	go func() {
		// The whole line: a signal handled between two writes of one
		// print() ran before its newline (CI: "readygot 2\n").
		for !strings.Contains(out.String(), "ready\n") {
			time.Sleep(10 * time.Millisecond)
		}
		sigs <- syscall.SIGINT
	}()
	res, err := runProcess(t.Context(), ps)
	if err != nil {
		t.Fatal(err)
	}
	if res.reason != spec.ReasonUserCancel {
		t.Errorf("reason = %q, want user_cancel", res.reason)
	}
	if res.exitCode == nil || *res.exitCode != 5 {
		t.Errorf("exit = %v, want 5 (the child handled SIGINT)", res.exitCode)
	}
	if got := readFile(t, ps.stdoutPath); got != "ready\ngot 2\n" {
		t.Errorf("stdout = %q", got)
	}
	if len(res.stops) != 1 || res.stops[0].Signal != "SIGINT" || res.stops[0].Why != "user_cancel" {
		t.Errorf("stops = %+v, want one SIGINT for user_cancel", res.stops)
	}
}

func TestRunProcessStartError(t *testing.T) {
	t.Parallel()
	ps := procFor(t, "/no/such/program")
	res, err := runProcess(t.Context(), ps)
	if err != nil {
		t.Fatal(err)
	}
	if res.startErr == nil || res.reason != spec.ReasonError || res.exitCode != nil {
		t.Errorf("got startErr %v reason %q exit %v", res.startErr, res.reason, res.exitCode)
	}
}

func TestRunProcessKillsLeftovers(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "pid")
	// The background sleep keeps stdout open after sh exits.
	ps := procFor(t, "sh", "-c", "sleep 60 & echo $! > "+pidFile+"; echo done")
	start := time.Now()
	res, err := runProcess(t.Context(), ps)
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("took %v; leftovers should be killed after %v", d, drainTimeout)
	}
	if res.reason != spec.ReasonNaturalExit {
		t.Errorf("reason = %q", res.reason)
	}
	if !sentSignal(res.stops, "SIGKILL") {
		t.Errorf("stops = %+v, want a SIGKILL for the leftover", res.stops)
	}
	pid := strings.TrimSpace(readFile(t, pidFile))
	time.Sleep(100 * time.Millisecond)
	if b, err := os.ReadFile("/proc/" + pid + "/stat"); err == nil && !strings.Contains(string(b), ") Z ") {
		t.Errorf("leftover %s still running: %s", pid, b)
	}
}

func TestGPUSamplerFake(t *testing.T) {
	t.Parallel()
	bin := t.TempDir()
	// A stand-in nvidia-smi: two samples of two devices, no processes.
	script := `#!/bin/sh
case "$1" in
--query-gpu=*) printf '0, 50, 1000\n1, 100, 24\n0, 0, 2000\n1, [N/A], 3\n' ;;
*) : ;;
esac
`
	if err := os.WriteFile(filepath.Join(bin, "nvidia-smi"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	g := startGPUSampler(os.Getpid(), bin, time.Second)
	time.Sleep(200 * time.Millisecond)
	got := g.stop()
	want := spec.GPUUse{Samples: 2, IntervalMS: 1000, BusyMS: 1500, MaxMemoryUsedBytes: 2000 << 20, Devices: 2}
	if got != want {
		t.Errorf("gpu = %+v, want %+v", got, want)
	}
	if got := startGPUSampler(1, t.TempDir(), time.Second).stop(); !spec.IsUnavailable(got.Unavailable) {
		t.Errorf("without nvidia-smi: %+v", got)
	}
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
