package cas

import (
	"bytes"
	"io"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestLargePutBoundedMemory streams 200 MB through Put and back through
// Open: the heap must stay far below the content size.
func TestLargePutBoundedMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 200 MB")
	}
	s := newDisk(t)
	const n = 200 << 20
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)

	var peak atomic.Uint64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > peak.Load() {
				peak.Store(ms.HeapInuse)
			}
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	})
	info, err := s.Put(t.Context(), newGen(n), PutOptions{})
	if err != nil {
		t.Fatal(err)
	}
	r, err := s.Open(t.Context(), info.Digest)
	if err != nil {
		t.Fatal(err)
	}
	got, m, err := FromReader(r)
	r.Close()
	close(stop)
	wg.Wait()
	if err != nil || m != n || got != info.Digest {
		t.Fatalf("read back %d bytes, %s, %v; want %d, %s", m, got, err, n, info.Digest)
	}
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	const limit = 200 << 20
	t.Logf("peak HeapInuse %d MiB, allocated %d MiB for %d MiB in and out",
		peak.Load()>>20, (after.TotalAlloc-before.TotalAlloc)>>20, n>>20)
	if p := peak.Load(); p > limit {
		t.Errorf("peak HeapInuse %d MiB, want under %d MiB", p>>20, limit>>20)
	}
	// Buffers are pooled: a Put and a read of n bytes must not allocate a
	// multiple of n.
	allocLimit := uint64(3 * n)
	if raceEnabled {
		allocLimit *= 3
	}
	if a := after.TotalAlloc - before.TotalAlloc; a > allocLimit {
		t.Errorf("allocated %d MiB for %d MiB", a>>20, n>>20)
	}
}

// TestDedup re-puts content with a small edit: only the chunks around the
// edit are written again.
func TestDedup(t *testing.T) {
	s := newDisk(t)
	ctx := t.Context()
	orig := randBytes(5, 24<<20)
	_, st, err := s.put(ctx, bytes.NewReader(orig), PutOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if st.chunks < 10 || st.newChunks != st.chunks {
		t.Fatalf("first Put: %+v, want ≥10 chunks, all new", st)
	}
	_, again, err := s.put(ctx, bytes.NewReader(orig), PutOptions{})
	if err != nil || again.newChunks != 0 {
		t.Fatalf("identical re-Put wrote %d chunks (%v), want 0", again.newChunks, err)
	}
	edits := []struct {
		name string
		edit func([]byte) []byte
	}{
		{"overwrite 100 bytes", func(b []byte) []byte {
			b = bytes.Clone(b)
			copy(b[12<<20:], bytes.Repeat([]byte{'x'}, 100))
			return b
		}},
		{"insert 10 bytes", func(b []byte) []byte {
			return append(append(bytes.Clone(b[:12<<20]), "0123456789"...), b[12<<20:]...)
		}},
		{"delete 1 KiB", func(b []byte) []byte {
			return append(bytes.Clone(b[:12<<20]), b[12<<20+1024:]...)
		}},
	}
	for _, e := range edits {
		b := e.edit(orig)
		info, st, err := s.put(ctx, bytes.NewReader(b), PutOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if st.newChunks < 1 || st.newChunks > 2 {
			t.Errorf("%s: wrote %d of %d chunks, want 1 or 2", e.name, st.newChunks, st.chunks)
		}
		r, _ := s.Open(ctx, info.Digest)
		got, _ := io.ReadAll(r)
		r.Close()
		if !bytes.Equal(got, b) {
			t.Errorf("%s: read back differs", e.name)
		}
	}
}

func FuzzPutOpen(f *testing.F) {
	s, err := Init(f.Context(), "", Options{InMemory: true})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { s.Close() })
	f.Add(uint64(0), 0, []byte(nil))
	f.Add(uint64(1), 100, []byte("hello"))
	f.Add(uint64(2), memoryCDC.min, []byte{})
	f.Add(uint64(3), memoryCDC.max+1, []byte("x"))
	f.Add(uint64(4), 3*memoryCDC.max+5, []byte("abc"))
	f.Fuzz(func(t *testing.T, seed uint64, n int, prefix []byte) {
		if n < 0 || n > 4<<20 {
			return
		}
		b := append(bytes.Clone(prefix), randBytes(seed, n)...)
		if seed%2 == 0 { // compressible variant
			for i := range b {
				b[i] &= 0x0f
			}
		}
		info, err := s.Put(t.Context(), bytes.NewReader(b), PutOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if info.Digest != FromBytes(b) || info.Size != int64(len(b)) {
			t.Fatalf("Put = %+v, want %s, %d bytes", info, FromBytes(b), len(b))
		}
		r, err := s.Open(t.Context(), info.Digest)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(r)
		r.Close()
		if err != nil || !bytes.Equal(got, b) {
			t.Fatalf("Open: %d bytes, %v; want %d bytes back", len(got), err, len(b))
		}
		// The whole-only reader, through WriteTo, and Verify agree.
		w, err := s.OpenWith(t.Context(), info.Digest, OpenOptions{WholeOnly: true})
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		_, err = w.(io.WriterTo).WriteTo(&buf)
		w.Close()
		if err != nil || !bytes.Equal(buf.Bytes(), b) {
			t.Fatalf("OpenWith(WholeOnly).WriteTo: %d bytes, %v; want %d bytes back", buf.Len(), err, len(b))
		}
		var checked int64
		if err := s.Verify(t.Context(), info.Digest, func(n int64) { checked += n }); err != nil || checked != int64(len(b)) {
			t.Fatalf("Verify: %v, %d of %d bytes checked", err, checked, len(b))
		}
	})
}
