package main

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"
)

// progress draws a one-line progress indicator on stderr, only when stderr
// is a terminal, not in CI, and not with -q or --json. It redraws at most
// every 100 ms. A nil *progress is valid and draws nothing.
type progress struct {
	mu    sync.Mutex
	label string
	total int64
	cur   int64
	start time.Time
	last  time.Time
	w     io.Writer
	count bool // units are items, not bytes
}

// counting makes the indicator show item counts instead of bytes.
func (p *progress) counting() *progress {
	if p != nil {
		p.count = true
	}
	return p
}

// setWithTotal records progress and the total at once.
func (p *progress) setWithTotal(done, total int64) {
	p.setTotal(total)
	p.set(done)
}

func newProgress(g *globalOptions, label string, total int64) *progress {
	if g.quiet || g.json || os.Getenv("CI") != "" {
		return nil
	}
	if !isTerminal(g.stderr) {
		return nil
	}
	return &progress{label: label, total: total, start: time.Now(), w: g.stderr}
}

// isTerminal reports whether w is a character device, or a writer of this
// package that says it is a terminal (the tests' stand-in for one).
func isTerminal(w io.Writer) bool {
	if t, ok := w.(interface{ terminal() bool }); ok {
		return t.terminal()
	}
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// set records the bytes done so far; it is safe for concurrent use.
func (p *progress) set(done int64) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cur = done
	now := time.Now()
	if now.Sub(p.last) < 100*time.Millisecond || now.Sub(p.start) < 500*time.Millisecond {
		return
	}
	p.last = now
	p.draw(now)
}

func (p *progress) setTotal(total int64) {
	if p == nil {
		return
	}
	p.mu.Lock()
	p.total = total
	p.mu.Unlock()
}

func (p *progress) draw(now time.Time) {
	rate := float64(p.cur) / now.Sub(p.start).Seconds()
	if p.count {
		fmt.Fprintf(p.w, "\r%s: %d / %d  %.0f/s   ", p.label, p.cur, p.total, rate)
		return
	}
	if p.total > 0 {
		pct := float64(p.cur) * 100 / float64(p.total)
		fmt.Fprintf(p.w, "\r%s: %5.1f%% %s / %s  %s/s   ", p.label, pct, humanBytes(p.cur), humanBytes(p.total), humanBytes(int64(rate)))
		return
	}
	fmt.Fprintf(p.w, "\r%s: %s  %s/s   ", p.label, humanBytes(p.cur), humanBytes(int64(rate)))
}

// done clears the line if anything was drawn.
func (p *progress) done() {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.last.IsZero() {
		fmt.Fprintf(p.w, "\r%*s\r", 72, "")
	}
}

func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
