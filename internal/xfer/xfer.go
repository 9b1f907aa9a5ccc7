// Package xfer holds the small helpers that moving objects between stores
// and registries shares: a byte-progress counter and a bounded worker loop.
// It has no compatibility promise.
package xfer

import (
	"context"
	"io"
	"sync"
	"sync/atomic"
)

// Progress reports bytes moved to a callback. A Progress with a nil callback
// does nothing; it is safe for concurrent use, and the callback is called
// with the lock held, so calls never overlap.
type Progress struct {
	mu    sync.Mutex
	fn    func(done, total int64)
	done  int64
	total int64
}

// NewProgress returns a Progress towards total bytes that reports to fn.
func NewProgress(fn func(done, total int64), total int64) *Progress {
	return &Progress{fn: fn, total: total}
}

// Add records n more bytes moved.
func (p *Progress) Add(n int64) {
	if p.fn == nil || n == 0 {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done += n
	p.fn(p.done, p.total)
}

// Reader counts what is read through r.
func (p *Progress) Reader(r io.Reader) io.Reader {
	if p.fn == nil {
		return r
	}
	return &countingReader{r: r, p: p}
}

type countingReader struct {
	r io.Reader
	p *Progress
}

func (c *countingReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.p.Add(int64(n))
	return n, err
}

// Parallel calls fn for 0..n-1 on up to workers goroutines and returns the
// first error (or ctx's), after which no new calls start.
func Parallel(ctx context.Context, workers, n int, fn func(ctx context.Context, i int) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(workers, n) {
		wg.Go(func() {
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				if err := fn(ctx, i); err != nil {
					cancel(err)
					return
				}
			}
		})
	}
	wg.Wait()
	return context.Cause(ctx)
}
