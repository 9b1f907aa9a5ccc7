package serve

import (
	"context"
	"errors"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rigor-dev/rigor/cas"
)

// countingOpener opens the same in-memory store and counts opens and
// closes.
type countingOpener struct {
	s              *cas.Store
	opens, closes  atomic.Int64
	fail           error // returned instead of the store, when set
	blockUntilDone bool
}

func (c *countingOpener) open(ctx context.Context) (Store, error) {
	if c.blockUntilDone {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	if c.fail != nil {
		return nil, c.fail
	}
	c.opens.Add(1)
	return memStore{Store: c.s, closes: &c.closes}, nil
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestPoolOpensPerBurst(t *testing.T) {
	s := newMemStore(t)
	putRun(t, s, runSpec{row: "A", seed: 1})
	co := &countingOpener{s: s}
	srv := New(co.open, Options{IdleClose: 50 * time.Millisecond})
	ts := httptest.NewServer(srv)
	defer ts.Close()
	defer srv.Close()

	// A burst of concurrent requests shares one opening.
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			getJSON(t, ts.URL+"/api/runs", 200, nil)
		}()
	}
	wg.Wait()
	if n := co.opens.Load(); n < 1 || n > 2 {
		t.Errorf("a burst of 8 requests opened the store %d times", n)
	}
	// Idle: closed.
	waitFor(t, "the idle close", func() bool { _, open := srv.pool.snapshot(); return !open })
	if co.closes.Load() != co.opens.Load() {
		t.Errorf("opens %d, closes %d", co.opens.Load(), co.closes.Load())
	}
	// The next request opens it again.
	before := co.opens.Load()
	getJSON(t, ts.URL+"/api/runs", 200, nil)
	if co.opens.Load() != before+1 {
		t.Errorf("a request after the idle close did not reopen the store")
	}
}

func TestPoolBusy(t *testing.T) {
	for _, tt := range []struct {
		name string
		co   *countingOpener
	}{
		{"locked", &countingOpener{fail: cas.ErrLocked}},
		{"lock wait outlasts the timeout", &countingOpener{blockUntilDone: true}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv := New(tt.co.open, Options{LockTimeout: 100 * time.Millisecond})
			ts := httptest.NewServer(srv)
			defer ts.Close()
			var e errorView
			code, h, _ := get(t, nil, ts.URL+"/api/runs")
			if code != 503 || h.Get("Retry-After") == "" {
				t.Fatalf("busy store: %d, Retry-After %q", code, h.Get("Retry-After"))
			}
			getJSON(t, ts.URL+"/api/runs", 503, &e)
			if e.Hint == "" {
				t.Errorf("no hint in %+v", e)
			}
			// The page says the same in HTML.
			if code, _, _ := get(t, nil, ts.URL+"/"); code != 503 {
				t.Errorf("page: %d, want 503", code)
			}
		})
	}
}

// TestPoolDrains: a store held past MaxHold takes no new users; it closes
// when the users in flight are done and stays closed for Yield.
func TestPoolDrains(t *testing.T) {
	s := newMemStore(t)
	co := &countingOpener{s: s}
	o := Options{MaxHold: 40 * time.Millisecond, Yield: 80 * time.Millisecond, IdleClose: time.Second}.withDefaults()
	p := newPool(co.open, o)
	defer p.Close()
	ctx := context.Background()
	s1, err := p.acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(60 * time.Millisecond) // past MaxHold, still in use
	got := make(chan *session, 1)
	var acquiredAt atomic.Int64
	go func() {
		s2, err := p.acquire(ctx)
		if err != nil {
			t.Error(err)
		}
		acquiredAt.Store(time.Now().UnixNano())
		got <- s2
	}()
	time.Sleep(30 * time.Millisecond)
	select {
	case <-got:
		t.Fatal("a new user got a store held past MaxHold")
	default:
	}
	released := time.Now()
	p.release(s1)
	s2 := <-got
	defer p.release(s2)
	if s2 == s1 || s2.gen != s1.gen+1 {
		t.Errorf("the new user got session %d after %d; want a new opening", s2.gen, s1.gen)
	}
	if wait := time.Unix(0, acquiredAt.Load()).Sub(released); wait < 70*time.Millisecond {
		t.Errorf("reopened %v after the drain; want at least Yield (80ms)", wait)
	}
	if st, _ := p.snapshot(); st.drains != 1 || st.opens != 2 || st.closes != 1 {
		t.Errorf("stats %+v", st)
	}
}

func TestPoolClosed(t *testing.T) {
	co := &countingOpener{s: newMemStore(t)}
	p := newPool(co.open, Options{}.withDefaults())
	p.Close()
	if _, err := p.acquire(context.Background()); !errors.Is(err, errServerClosed) {
		t.Errorf("acquire after Close: %v", err)
	}
}

// TestServerLeavesStoreToOthers runs the server on a store on disk and
// checks that it holds the store's process lock only while it serves:
// another opener (as rigor run recording its result would be) gets the
// store while the server idles, and gets it within a few seconds under
// steady traffic; the server sees the new run afterwards.
func TestServerLeavesStoreToOthers(t *testing.T) {
	dir := filepath.Join(t.TempDir(), ".rigor")
	ctx := context.Background()
	s, err := cas.Init(ctx, dir, cas.Options{})
	if err != nil {
		t.Fatal(err)
	}
	putRun(t, s, runSpec{row: "DISK", seed: 1})
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	srv := New(OpenDir(dir, 0), Options{IdleClose: 50 * time.Millisecond, MaxHold: 200 * time.Millisecond, LockTimeout: 300 * time.Millisecond})
	ts := httptest.NewServer(srv)
	defer ts.Close()
	defer srv.Close()

	var v RunsView
	getJSON(t, ts.URL+"/api/runs", 200, &v)
	if v.Total != 1 {
		t.Fatalf("%d runs", v.Total)
	}
	// Idle: another process gets the store at once.
	other, err := cas.Open(ctx, dir, cas.Options{LockTimeout: 2 * time.Second})
	if err != nil {
		t.Fatalf("the store stayed locked while the server idled: %v", err)
	}
	// While the other holds it, requests wait for LockTimeout, then 503.
	getJSON(t, ts.URL+"/api/runs", 503, nil)
	putRun(t, other, runSpec{row: "DISK", seed: 2})
	if err := other.Close(); err != nil {
		t.Fatal(err)
	}
	getJSON(t, ts.URL+"/api/runs", 200, &v)
	if v.Total != 2 {
		t.Errorf("after the other process recorded a run the server lists %d runs, want 2", v.Total)
	}

	// Steady traffic: four clients, a request every few milliseconds.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var served, busy atomic.Int64
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				code, _, _ := get(t, nil, ts.URL+"/api/runs?limit=1")
				switch code {
				case 200:
					served.Add(1)
				case 503:
					busy.Add(1)
				default:
					t.Errorf("status %d under load", code)
				}
				time.Sleep(2 * time.Millisecond)
			}
		}()
	}
	time.Sleep(100 * time.Millisecond)
	start := time.Now()
	other, err = cas.Open(ctx, dir, cas.Options{LockTimeout: 5 * time.Second})
	waited := time.Since(start)
	if err != nil {
		close(stop)
		wg.Wait()
		t.Fatalf("under steady traffic the store stayed locked: %v", err)
	}
	putRun(t, other, runSpec{row: "DISK", seed: 3})
	other.Close()
	time.Sleep(100 * time.Millisecond)
	close(stop)
	wg.Wait()
	t.Logf("another opener waited %v under steady traffic; %d requests served, %d busy", waited, served.Load(), busy.Load())
	if served.Load() == 0 {
		t.Error("no request was served under load")
	}
	getJSON(t, ts.URL+"/api/runs", 200, &v)
	if v.Total != 3 {
		t.Errorf("%d runs after the third was recorded", v.Total)
	}
}
