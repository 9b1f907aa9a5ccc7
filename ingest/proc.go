package ingest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	osexec "os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// errNotInstalled: the program a probe needs is not on PATH.
var errNotInstalled = errors.New("not found on PATH")

// command is one probe process: name is looked up through PATH.
type command struct {
	dir     string
	env     []string // nil: inherit
	stdin   io.Reader
	stdout  io.Writer // nil: captured
	timeout time.Duration
}

// run starts name with args and waits for it, within c.timeout. It returns
// the captured stdout (when c.stdout is nil) and an error that says what
// went wrong in one line: the program is missing (wrapping
// errNotInstalled), timed out, or exited non-zero (with the first line of
// its stderr).
func (c command) run(ctx context.Context, name string, args ...string) ([]byte, error) {
	if c.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.timeout)
		defer cancel()
	}
	prog, err := lookPath(name, c.env)
	if err != nil {
		return nil, err
	}
	cmd := osexec.CommandContext(ctx, prog, args...)
	cmd.Args[0] = name
	cmd.Dir = c.dir
	cmd.Env = c.env
	cmd.Stdin = c.stdin
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 2 * time.Second
	var out, errb bytes.Buffer
	cmd.Stdout = &out
	if c.stdout != nil {
		cmd.Stdout = c.stdout
	}
	cmd.Stderr = &limitedBuffer{buf: &errb, max: 8 << 10}
	err = cmd.Run()
	switch {
	case err == nil:
		return out.Bytes(), nil
	case errors.Is(err, osexec.ErrNotFound):
		return nil, fmt.Errorf("%s %w", name, errNotInstalled)
	case ctx.Err() == context.DeadlineExceeded:
		return nil, fmt.Errorf("%s timed out after %v", name, c.timeout)
	case ctx.Err() != nil:
		return nil, ctx.Err()
	}
	var ee *osexec.ExitError
	if errors.As(err, &ee) {
		msg := firstLine(errb.String())
		if msg == "" {
			msg = firstLine(out.String())
		}
		return out.Bytes(), &exitError{name: name, code: ee.ExitCode(), msg: msg}
	}
	return nil, fmt.Errorf("%s: %v", name, err)
}

// exitError is a probe that ran and failed.
type exitError struct {
	name string
	code int
	msg  string
}

func (e *exitError) Error() string {
	if e.msg == "" {
		return fmt.Sprintf("%s exited with status %d", e.name, e.code)
	}
	return fmt.Sprintf("%s exited with status %d: %s", e.name, e.code, e.msg)
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return strings.TrimSpace(s)
}

// limitedBuffer keeps the first max bytes written to it and discards the rest.
type limitedBuffer struct {
	buf *bytes.Buffer
	max int
}

func (l *limitedBuffer) Write(p []byte) (int, error) {
	if room := l.max - l.buf.Len(); room > 0 {
		l.buf.Write(p[:min(room, len(p))])
	}
	return len(p), nil
}

// environ returns env, or the process environment when env is nil.
func environ(env []string) []string {
	if env == nil {
		return os.Environ()
	}
	return env
}

// getenv looks name up in an os.Environ-style list; the first entry wins.
func getenv(env []string, name string) string {
	for _, kv := range env {
		if k, v, ok := strings.Cut(kv, "="); ok && k == name {
			return v
		}
	}
	return ""
}

// lookPath finds name through the PATH of env (the process environment when
// env is nil), so that a probe runs the program the run itself would run.
// A name with a slash is used as it is.
func lookPath(name string, env []string) (string, error) {
	if strings.Contains(name, "/") {
		return name, nil
	}
	for _, dir := range filepath.SplitList(getenv(environ(env), "PATH")) {
		if dir == "" {
			dir = "."
		}
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s %w", name, errNotInstalled)
}
