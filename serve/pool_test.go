package serve

import (
	"context"
	"errors"
	"net/http/httptest"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rigor-dev/rigor/cas"
	"github.com/rigor-dev/rigor/spec"
	"github.com/rigor-dev/rigor/verify"
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
	srv := New(co.open, Options{IdleClose: 50 * time.Millisecond, MaxHold: time.Hour})
	ts := httptest.NewServer(srv)
	defer ts.Close()
	defer srv.Close()

	// Concurrent requests share one opening. (A lease held by the test
	// keeps the burst together however the machine schedules it.)
	lease, err := srv.pool.acquire(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			getJSON(t, ts.URL+"/api/runs", 200, nil)
		}()
	}
	wg.Wait()
	srv.pool.release(lease)
	if n := co.opens.Load(); n != 1 {
		t.Errorf("a burst of 8 requests opened the store %d times, want once", n)
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

// TestRunCache: the runs index kept between sessions is always what
// verify.ListRuns reads, and unchanged entries are not decoded again.
func TestRunCache(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	var c runCache
	check := func(ix *runIndex) {
		t.Helper()
		want, err := verify.ListRuns(ctx, f.s, verify.RunFilter{})
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(ix.all, want) {
			t.Fatalf("cached runs differ from verify.ListRuns:\n got %+v\nwant %+v", ix.all, want)
		}
	}
	ix1, err := c.load(ctx, f.s)
	if err != nil {
		t.Fatal(err)
	}
	check(ix1)
	if !slices.Equal(ix1.rows, []string{"CHAIN", "EXP-01", "EXP-02", "EXP-03"}) {
		t.Errorf("rows %v", ix1.rows)
	}
	if ix2, _ := c.load(ctx, f.s); ix2 != ix1 {
		t.Error("an unchanged index was rebuilt")
	}
	// A run recorded since.
	putRun(t, f.s, runSpec{row: "EXP-01", seed: 3})
	ix3, err := c.load(ctx, f.s)
	if err != nil {
		t.Fatal(err)
	}
	check(ix3)
	if len(ix3.all) != len(ix1.all)+1 {
		t.Errorf("%d runs after one more, had %d", len(ix3.all), len(ix1.all))
	}
	// An entry rewritten with other bytes (a remote pull of the same run
	// id, say) is decoded again.
	sum := f.seed2
	sum.DurationMS = 424242
	b, err := sum.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if err := f.s.PutIndex(ctx, spec.RunsIndex, []byte(sum.RunID), b); err != nil {
		t.Fatal(err)
	}
	ix4, err := c.load(ctx, f.s)
	if err != nil {
		t.Fatal(err)
	}
	check(ix4)
	// A damaged entry fails the listing, as it fails verify.ListRuns.
	if err := f.s.PutIndex(ctx, spec.RunsIndex, []byte("EXP-09__seed-1__attempt-1"), []byte("{not json")); err != nil {
		t.Fatal(err)
	}
	if _, err := c.load(ctx, f.s); err == nil || !strings.Contains(err.Error(), "EXP-09__seed-1__attempt-1") {
		t.Errorf("a damaged entry: %v", err)
	}
}

// TestRunCacheParallelDecode decodes a first load of many runs on every
// core, with the same result.
func TestRunCacheParallelDecode(t *testing.T) {
	s := newMemStore(t)
	for i := range decodeParallel + 10 {
		sum := spec.RunSummary{Schema: spec.SchemaRunSummary, RunID: spec.RunID("P", int64(i), 1), Row: "P", Seed: spec.Seed{Role: "fixed_repro", Value: int64(i)},
			Attempt: 1, Ref: spec.RunRef("P", int64(i), 1), Status: "completed", Termination: "natural_exit", ExitCode: new(int), Completion: "PASS",
			Root: cas.FromBytes([]byte{byte(i)}), Config: cas.FromBytes(nil)}
		b, err := sum.Encode()
		if err != nil {
			t.Fatal(err)
		}
		if err := s.PutIndex(t.Context(), spec.RunsIndex, []byte(sum.RunID), b); err != nil {
			t.Fatal(err)
		}
	}
	var c runCache
	ix, err := c.load(t.Context(), s)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := verify.ListRuns(t.Context(), s, verify.RunFilter{})
	if !reflect.DeepEqual(ix.all, want) || len(want) != decodeParallel+10 {
		t.Errorf("%d runs, ListRuns has %d", len(ix.all), len(want))
	}
}

func TestWarm(t *testing.T) {
	srv := New(OpenDir(t.TempDir(), time.Second), Options{})
	defer srv.Close()
	if err := srv.Warm(t.Context()); !errors.Is(err, cas.ErrNotStore) {
		t.Errorf("Warm on a directory that is not a store: %v", err)
	}
	s := newMemStore(t)
	putRun(t, s, runSpec{row: "W", seed: 1})
	co := &countingOpener{s: s}
	srv = New(co.open, Options{})
	defer srv.Close()
	if err := srv.Warm(t.Context()); err != nil {
		t.Fatal(err)
	}
	if srv.pool.runs.last == nil || len(srv.pool.runs.last.all) != 1 {
		t.Errorf("Warm did not read the runs index")
	}
}

// TestPoolNoDrainDuringDownload: a download holds the store until its last
// byte, so holding back new requests would not free it sooner; they go in.
func TestPoolNoDrainDuringDownload(t *testing.T) {
	co := &countingOpener{s: newMemStore(t)}
	o := Options{MaxHold: 30 * time.Millisecond, Yield: 50 * time.Millisecond, LockTimeout: 200 * time.Millisecond}.withDefaults()
	p := newPool(co.open, o)
	defer p.Close()
	ctx := context.Background()
	dl, err := p.acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	p.stream(dl, 1)
	time.Sleep(50 * time.Millisecond) // past MaxHold
	s2, err := p.acquire(ctx)
	if err != nil {
		t.Fatalf("a request during a download: %v", err)
	}
	if s2 != dl {
		t.Error("a request during a download got another store session")
	}
	p.release(s2)
	// The download ends: the next request drains the store and waits.
	p.stream(dl, -1)
	got := make(chan error, 1)
	go func() {
		s3, err := p.acquire(ctx)
		if err == nil {
			p.release(s3)
		}
		got <- err
	}()
	time.Sleep(20 * time.Millisecond)
	select {
	case err := <-got:
		t.Fatalf("a request after the download went in at once (%v); want a drain", err)
	default:
	}
	p.release(dl)
	if err := <-got; err != nil {
		t.Fatal(err)
	}
	if st, _ := p.snapshot(); st.drains != 1 || st.opens != 2 {
		t.Errorf("stats %+v", st)
	}
}
