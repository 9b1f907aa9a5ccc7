package exec

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	osexec "os/exec"
	"runtime"
	"sync"
	"syscall"
	"time"

	"github.com/rigor-dev/rigor/spec"
)

// copyBufSize is the buffer each output stream is copied through: memory
// stays at this size per stream however much the child prints.
const copyBufSize = 256 << 10

// drainTimeout is how long rigor waits, after the main process exited, for
// the rest of its process group to close stdout and stderr before it kills
// the group, and then again before it stops reading.
const drainTimeout = 2 * time.Second

// procSpec is one child process to run.
type procSpec struct {
	argv []string
	env  []string
	dir  string
	// stdout and stderr receive a copy of the child's output as it comes
	// (the terminal); nil discards it. Write errors stop the copy to that
	// writer only: the spool files still get everything.
	stdout, stderr io.Writer
	// stdoutPath and stderrPath are the spool files the output is written to.
	stdoutPath, stderrPath string
	timeout, grace         time.Duration
	signals                <-chan os.Signal
	now                    func() time.Time
	// gpuInterval, when > 0, samples nvidia-smi (looked up in the child's
	// PATH) every interval while the child runs.
	gpuInterval time.Duration
}

// procResult is how the child ended and what it used.
type procResult struct {
	reason    string // natural_exit, timeout, user_cancel or error
	exitCode  *int
	signal    *int
	startErr  error
	startedAt time.Time
	endedAt   time.Time
	resources spec.Resources
	stops     []spec.StopSignal
	oom       *spec.OOMEvidence
	notes     []string
}

// runProcess runs the child in its own process group with stdin from
// /dev/null, copying its stdout and stderr to the spool files and the
// terminal as they come. It forwards signals from ps.signals to the group;
// on a timeout, a forwarded signal or ctx being done it stops the group
// (SIGTERM, or the forwarded signal; SIGKILL after the grace period or on a
// second signal). It returns an error only when the spool files cannot be
// created; a program that cannot be started is a result with startErr set.
func runProcess(ctx context.Context, ps procSpec) (procResult, error) {
	var res procResult
	outF, err := os.OpenFile(ps.stdoutPath, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return res, fmt.Errorf("exec: spool: %w", err)
	}
	defer outF.Close()
	errF, err := os.OpenFile(ps.stderrPath, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return res, fmt.Errorf("exec: spool: %w", err)
	}
	defer errF.Close()

	outR, outW, err := os.Pipe()
	if err != nil {
		return res, fmt.Errorf("exec: %w", err)
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		outR.Close()
		outW.Close()
		return res, fmt.Errorf("exec: %w", err)
	}
	growPipe(outR)
	growPipe(errR)

	cmd := osexec.Command(ps.argv[0], ps.argv[1:]...)
	cmd.Env = ps.env
	cmd.Dir = ps.dir
	cmd.Stdout = outW
	cmd.Stderr = errW
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if p, ok := lookPathIn(ps.argv[0], envValue(ps.env, "PATH")); ok {
		// Resolve the program in the child's PATH, not rigor's.
		cmd.Path = p
		cmd.Err = nil
	}

	oomBefore, oomSource := readOOMKills()
	res.startedAt = ps.now()
	t0 := time.Now()
	if err := cmd.Start(); err != nil {
		outR.Close()
		outW.Close()
		errR.Close()
		errW.Close()
		res.startErr = err
		res.reason = spec.ReasonError
		res.endedAt = ps.now()
		return res, nil
	}
	outW.Close()
	errW.Close()
	pgid := cmd.Process.Pid

	var gpu *gpuSampler
	if ps.gpuInterval > 0 {
		gpu = startGPUSampler(pgid, envValue(ps.env, "PATH"), ps.gpuInterval)
	}

	var copies sync.WaitGroup
	var outN, errN int64
	var outErrs, errErrs [2]error
	copies.Add(2)
	go func() {
		defer copies.Done()
		outN, outErrs = copyStream(outR, outF, ps.stdout)
	}()
	go func() {
		defer copies.Done()
		errN, errErrs = copyStream(errR, errF, ps.stderr)
	}()

	waitDone := make(chan struct{})
	var waitErr error
	go func() {
		waitErr = cmd.Wait()
		close(waitDone)
	}()

	send := func(sig syscall.Signal, why string) {
		if err := syscall.Kill(-pgid, sig); err == nil || !errors.Is(err, syscall.ESRCH) {
			res.stops = append(res.stops, spec.StopSignal{Signal: signalName(int(sig)), AtMS: time.Since(t0).Milliseconds(), Why: why})
		}
	}
	var timeoutC, killC <-chan time.Time
	if ps.timeout > 0 {
		t := time.NewTimer(ps.timeout)
		defer t.Stop()
		timeoutC = t.C
	}
	stopping := false
	stop := func(sig syscall.Signal, why string) {
		if stopping {
			send(syscall.SIGKILL, why)
			killC = nil
			return
		}
		stopping = true
		res.reason = why
		send(sig, why)
		k := time.NewTimer(ps.grace)
		killC = k.C
	}
	ctxDone := ctx.Done()
loop:
	for {
		select {
		case <-waitDone:
			break loop
		case s := <-ps.signals:
			stop(toSyscallSignal(s), spec.ReasonUserCancel)
		case <-ctxDone:
			ctxDone = nil
			// The CLI's context is cancelled by the same SIGINT that arrives
			// on ps.signals; forward that signal rather than a SIGTERM.
			select {
			case s := <-ps.signals:
				stop(toSyscallSignal(s), spec.ReasonUserCancel)
			case <-time.After(50 * time.Millisecond):
				stop(syscall.SIGTERM, spec.ReasonUserCancel)
			case <-waitDone:
				break loop
			}
		case <-timeoutC:
			timeoutC = nil
			stop(syscall.SIGTERM, spec.ReasonTimeout)
		case <-killC:
			killC = nil
			send(syscall.SIGKILL, "grace_expired")
		}
	}
	wall := time.Since(t0)
	res.endedAt = ps.now()

	// The main process is gone; its group may live on and hold the pipes.
	pipesDone := make(chan struct{})
	go func() {
		copies.Wait()
		close(pipesDone)
	}()
	select {
	case <-pipesDone:
	case <-time.After(drainTimeout):
		send(syscall.SIGKILL, "leftover")
		select {
		case <-pipesDone:
		case <-time.After(drainTimeout):
			// Something outside the group holds the pipes: stop reading.
			outR.Close()
			errR.Close()
			<-pipesDone
			res.notes = append(res.notes, "stdout/stderr were still open "+(2*drainTimeout).String()+" after the program exited (held by a process outside its group); the logs end there")
		}
	}
	outR.Close()
	errR.Close()
	if syscall.Kill(-pgid, 0) == nil {
		send(syscall.SIGKILL, "leftover")
		res.notes = append(res.notes, "processes of the run's group were still running after the program exited and were killed")
	}
	if gpu != nil {
		res.resources.GPU = gpu.stop()
	} else {
		res.resources.GPU = spec.GPUUse{Unavailable: spec.UnavailableReason("GPU sampling disabled")}
	}
	for _, e := range []struct {
		name string
		errs [2]error
	}{{"stdout", outErrs}, {"stderr", errErrs}} {
		if e.errs[0] != nil {
			res.notes = append(res.notes, fmt.Sprintf("%s spool write failed, the log is incomplete: %v", e.name, e.errs[0]))
		}
	}

	st := cmd.ProcessState
	if st == nil {
		// Wait failed without a state; should not happen after a Start.
		res.reason = spec.ReasonError
		res.notes = append(res.notes, fmt.Sprintf("wait: %v", waitErr))
		return res, nil
	}
	ws, _ := st.Sys().(syscall.WaitStatus)
	switch {
	case ws.Signaled():
		sig := int(ws.Signal())
		res.signal = &sig
	default:
		code := st.ExitCode()
		res.exitCode = &code
	}
	res.resources.WallMS = wall.Milliseconds()
	res.resources.UserCPUMS = st.UserTime().Milliseconds()
	res.resources.SystemCPUMS = st.SystemTime().Milliseconds()
	if ru, ok := st.SysUsage().(*syscall.Rusage); ok {
		res.resources.PeakRSSBytes = maxRSSBytes(ru)
	}
	res.resources.StdoutBytes = outN
	res.resources.StderrBytes = errN

	if !stopping {
		switch {
		case res.signal != nil:
			res.reason = spec.ReasonError
		case *res.exitCode != 0:
			res.reason = spec.ReasonError
		default:
			res.reason = spec.ReasonNaturalExit
		}
	}
	if res.signal != nil && *res.signal == int(syscall.SIGKILL) && !sentSignal(res.stops, "SIGKILL") {
		oomAfter, _ := readOOMKills()
		res.oom = &spec.OOMEvidence{
			Suspected:        true,
			Signal:           int(syscall.SIGKILL),
			PeakRSSBytes:     res.resources.PeakRSSBytes,
			MemoryLimitBytes: memoryLimit(),
			OOMKillsBefore:   oomBefore,
			OOMKillsAfter:    oomAfter,
			Source:           oomSource,
		}
		if oomBefore != nil && oomAfter != nil && *oomAfter > *oomBefore {
			res.oom.Confirmed = true
		}
	}
	return res, nil
}

// sentSignal reports whether rigor sent the named signal.
func sentSignal(stops []spec.StopSignal, name string) bool {
	for _, s := range stops {
		if s.Signal == name {
			return true
		}
	}
	return false
}

// copyStream copies src to file and, until it fails, to term, through one
// fixed buffer. It returns the bytes read and the first write error of the
// file and of term.
func copyStream(src io.Reader, file io.Writer, term io.Writer) (int64, [2]error) {
	buf := make([]byte, copyBufSize)
	var n int64
	var errs [2]error
	for {
		nr, rerr := src.Read(buf)
		if nr > 0 {
			n += int64(nr)
			if errs[0] == nil {
				_, errs[0] = file.Write(buf[:nr])
			}
			if term != nil && errs[1] == nil {
				_, errs[1] = term.Write(buf[:nr])
			}
		}
		if rerr != nil {
			return n, errs
		}
	}
}

// maxRSSBytes converts ru_maxrss, which Linux reports in KiB and Darwin in
// bytes.
func maxRSSBytes(ru *syscall.Rusage) int64 {
	if runtime.GOOS == "darwin" {
		return int64(ru.Maxrss)
	}
	return int64(ru.Maxrss) * 1024
}

func toSyscallSignal(s os.Signal) syscall.Signal {
	if ss, ok := s.(syscall.Signal); ok {
		return ss
	}
	return syscall.SIGTERM
}

// signalName returns "SIGKILL" for 9, and "signal N" for a number it does
// not know.
func signalName(sig int) string {
	if name, ok := signalNames[syscall.Signal(sig)]; ok {
		return name
	}
	return fmt.Sprintf("signal %d", sig)
}

var signalNames = map[syscall.Signal]string{
	syscall.SIGHUP: "SIGHUP", syscall.SIGINT: "SIGINT", syscall.SIGQUIT: "SIGQUIT",
	syscall.SIGILL: "SIGILL", syscall.SIGTRAP: "SIGTRAP", syscall.SIGABRT: "SIGABRT",
	syscall.SIGBUS: "SIGBUS", syscall.SIGFPE: "SIGFPE", syscall.SIGKILL: "SIGKILL",
	syscall.SIGUSR1: "SIGUSR1", syscall.SIGSEGV: "SIGSEGV", syscall.SIGUSR2: "SIGUSR2",
	syscall.SIGPIPE: "SIGPIPE", syscall.SIGALRM: "SIGALRM", syscall.SIGTERM: "SIGTERM",
	syscall.SIGXCPU: "SIGXCPU", syscall.SIGXFSZ: "SIGXFSZ",
}
