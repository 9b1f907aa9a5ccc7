package serve

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/rigor-dev/rigor/cas"
)

// pool shares one open store between the requests of a burst and closes
// it when the burst is over, so that the store's process lock is free for
// other rigor processes between bursts (see the package documentation,
// "Store access").
//
// A request calls acquire, which returns the open store or opens it, and
// release when it has finished with it (a blob download releases it after
// the last byte). When the last user releases it, the store stays open for
// idle, then closes. A store held for longer than maxHold without a pause
// is drained: requests already in flight finish, new ones wait, the store
// closes, and it is not opened again for yield, so that a process polling
// for the lock gets its turn. A blob download holds the store until its
// last byte anyway, so while one streams no drain starts and new requests
// share the store. Every wait is bounded by wait; a request that cannot
// get the store in that time gets [ErrBusy].
type pool struct {
	open    Opener
	idle    time.Duration
	maxHold time.Duration
	yield   time.Duration
	wait    time.Duration
	now     func() time.Time

	mu       sync.Mutex
	cur      *session      // nil while closed
	users    int           // leases of cur not yet released
	opening  bool          // an acquire is opening the store, without mu
	draining bool          // cur takes no new users
	streams  int           // users of cur that are blob downloads
	reopenAt time.Time     // after a drain, no open before this
	changed  chan struct{} // closed (and replaced) when the state changes
	timer    *time.Timer   // idle close of cur
	gen      uint64        // sessions opened so far
	closed   bool          // Close was called

	stats poolStats
	runs  runCache // decoded run summaries, shared by the sessions
}

// poolStats count what the pool did; tests read them.
type poolStats struct {
	opens, closes, drains int
}

// session is one opening of the store. Data cached in it is valid for as
// long as it is open: the store's exclusive lock keeps every other
// process from writing meanwhile.
type session struct {
	st     Store
	gen    uint64
	opened time.Time

	cache  *runCache
	runsMu sync.Mutex
	runs   *runIndex // the runs index, read at most once per session
}

func newPool(open Opener, o Options) *pool {
	return &pool{
		open: open, idle: o.IdleClose, maxHold: o.MaxHold, yield: o.Yield, wait: o.LockTimeout,
		now: time.Now, changed: make(chan struct{}),
	}
}

// notify wakes every waiter; the caller holds p.mu.
func (p *pool) notify() {
	close(p.changed)
	p.changed = make(chan struct{})
}

// acquire returns the open store, opening it if needed. The caller must
// call release exactly once. It returns an error wrapping [ErrBusy] when
// the store could not be had within the pool's wait, and ctx.Err() when
// ctx ends first.
func (p *pool) acquire(ctx context.Context) (*session, error) {
	deadline := p.now().Add(p.wait)
	p.mu.Lock()
	for {
		if p.closed {
			p.mu.Unlock()
			return nil, errServerClosed
		}
		// While a download streams, the store stays held whatever new
		// requests do: holding them back would not free it sooner.
		if p.cur != nil && (!p.draining || p.streams > 0) {
			if p.maxHold > 0 && p.now().Sub(p.cur.opened) > p.maxHold && p.streams == 0 {
				// Held without a pause for too long: let the requests in
				// flight finish, then hand the lock to whoever waits.
				p.stats.drains++
				if p.users == 0 {
					p.closeLocked()
					p.reopenAt = p.now().Add(p.yield)
				} else {
					p.draining = true
				}
				continue
			}
			p.users++
			if p.timer != nil {
				p.timer.Stop()
				p.timer = nil
			}
			s := p.cur
			p.mu.Unlock()
			return s, nil
		}
		if p.cur == nil && !p.opening {
			if wait := p.reopenAt.Sub(p.now()); wait > 0 {
				if err := p.sleepLocked(ctx, wait, deadline); err != nil {
					p.mu.Unlock()
					return nil, err
				}
				continue
			}
			p.opening = true
			p.mu.Unlock()
			s, err := p.openSession(ctx, deadline)
			p.mu.Lock()
			p.opening = false
			p.notify()
			if err != nil {
				p.mu.Unlock()
				return nil, err
			}
			if p.closed {
				p.mu.Unlock()
				s.st.Close()
				return nil, errServerClosed
			}
			p.cur, p.draining = s, false
			p.users = 1
			p.stats.opens++
			p.mu.Unlock()
			return s, nil
		}
		// Someone is opening the store, or it is draining: wait for a change.
		if err := p.waitLocked(ctx, deadline); err != nil {
			p.mu.Unlock()
			return nil, err
		}
	}
}

// openSession opens the store, waiting for its lock until deadline.
func (p *pool) openSession(ctx context.Context, deadline time.Time) (*session, error) {
	left := deadline.Sub(p.now())
	if left <= 0 {
		return nil, fmt.Errorf("waited %v for the store: %w", p.wait, ErrBusy)
	}
	octx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	st, err := p.open(octx)
	switch {
	case err == nil:
	case errors.Is(err, cas.ErrLocked), ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded):
		return nil, fmt.Errorf("waited %v for the store: %w", p.wait, ErrBusy)
	default:
		return nil, err
	}
	p.mu.Lock()
	p.gen++
	gen := p.gen
	p.mu.Unlock()
	return &session{st: st, gen: gen, opened: p.now(), cache: &p.runs}, nil
}

// waitLocked waits, with p.mu held on entry and on return, for the pool's
// state to change, ctx to end or deadline to pass.
func (p *pool) waitLocked(ctx context.Context, deadline time.Time) error {
	left := deadline.Sub(p.now())
	if left <= 0 {
		return fmt.Errorf("waited %v for the store: %w", p.wait, ErrBusy)
	}
	ch := p.changed
	p.mu.Unlock()
	t := time.NewTimer(left)
	defer t.Stop()
	var err error
	select {
	case <-ch:
	case <-t.C:
		err = fmt.Errorf("waited %v for the store: %w", p.wait, ErrBusy)
	case <-ctx.Done():
		err = ctx.Err()
	}
	p.mu.Lock()
	return err
}

// sleepLocked sleeps for d (bounded by deadline) with p.mu released.
func (p *pool) sleepLocked(ctx context.Context, d time.Duration, deadline time.Time) error {
	if p.now().Add(d).After(deadline) {
		return fmt.Errorf("waited %v for the store: %w", p.wait, ErrBusy)
	}
	p.mu.Unlock()
	t := time.NewTimer(d)
	defer t.Stop()
	var err error
	select {
	case <-t.C:
	case <-ctx.Done():
		err = ctx.Err()
	}
	p.mu.Lock()
	return err
}

// stream marks one user of s as a blob download (n = 1) or its end (n =
// -1); see acquire.
func (p *pool) stream(s *session, n int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if s == p.cur {
		p.streams += n
		p.notify() // a waiter may go in now
	}
}

// release ends one use of s. The last user of a draining store closes it
// at once; otherwise the store closes after the idle period.
func (p *pool) release(s *session) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if s != p.cur {
		panic("serve: release of a session that is not current")
	}
	p.users--
	if p.users > 0 {
		return
	}
	if drained := p.draining; drained || p.idle <= 0 || p.closed {
		if drained {
			p.reopenAt = p.now().Add(p.yield)
		}
		p.closeLocked()
		return
	}
	if p.timer != nil {
		p.timer.Stop()
	}
	p.timer = time.AfterFunc(p.idle, func() {
		p.mu.Lock()
		defer p.mu.Unlock()
		if p.cur == s && p.users == 0 {
			p.closeLocked()
		}
	})
}

// closeLocked closes the current store; the caller holds p.mu and there
// are no users.
func (p *pool) closeLocked() {
	if p.cur == nil {
		return
	}
	if p.timer != nil {
		p.timer.Stop()
		p.timer = nil
	}
	p.cur.st.Close()
	p.cur, p.draining, p.streams = nil, false, 0
	p.stats.closes++
	p.notify()
}

// Close closes the store if no request uses it, and makes every later
// acquire fail; a store still in use closes when its last user releases it.
func (p *pool) Close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	if p.users == 0 {
		p.closeLocked()
	}
	p.notify()
}

// snapshot returns a copy of the statistics.
func (p *pool) snapshot() (poolStats, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stats, p.cur != nil
}
