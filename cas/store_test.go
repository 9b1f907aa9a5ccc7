package cas

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"
)

// newMem returns an in-memory store closed at the end of the test.
func newMem(t testing.TB) *Store {
	t.Helper()
	s, err := Init(context.Background(), "", Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// newDisk returns an on-disk store in a temporary directory.
func newDisk(t testing.TB) *Store {
	t.Helper()
	s, err := Init(context.Background(), filepath.Join(t.TempDir(), ".rigor"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// randBytes returns n deterministic pseudo-random bytes.
func randBytes(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	b := make([]byte, n)
	for i := 0; i+8 <= n; i += 8 {
		v := r.Uint64()
		for k := range 8 {
			b[i+k] = byte(v >> (8 * k))
		}
	}
	for i := n &^ 7; i < n; i++ {
		b[i] = byte(r.Uint32())
	}
	return b
}

func TestPutOpenSizes(t *testing.T) {
	s := newDisk(t)
	ctx := t.Context()
	sizes := []int{0, 1, 100, minChunk - 1, minChunk, minChunk + 1, maxChunk, maxChunk + 1, 3*maxChunk + 12345}
	for _, n := range sizes {
		for _, kind := range []string{"random", "text"} {
			var b []byte
			if kind == "random" {
				b = randBytes(uint64(n), n)
			} else {
				b = bytes.Repeat([]byte("1.25,2.5,3.75,hello\n"), n/20+1)[:n]
			}
			info, err := s.Put(ctx, bytes.NewReader(b), PutOptions{})
			if err != nil {
				t.Fatalf("Put(%d %s): %v", n, kind, err)
			}
			if want := FromBytes(b); info.Digest != want || info.Size != int64(n) || info.Kind != KindBlob {
				t.Fatalf("Put(%d %s) = %+v, want digest %s", n, kind, info, want)
			}
			r, err := s.Open(ctx, info.Digest)
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(r)
			r.Close()
			if err != nil {
				t.Fatalf("read %d %s: %v", n, kind, err)
			}
			if !bytes.Equal(got, b) {
				t.Fatalf("read %d %s: content differs (got %d bytes)", n, kind, len(got))
			}
		}
	}
}

func TestInitOpen(t *testing.T) {
	ctx := t.Context()
	dir := filepath.Join(t.TempDir(), ".rigor")
	if _, err := Open(ctx, dir, Options{}); !errors.Is(err, ErrNotStore) {
		t.Fatalf("Open(empty) = %v, want ErrNotStore", err)
	}
	s, err := Init(ctx, dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Put(ctx, bytes.NewReader([]byte("hello")), PutOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// A second opener waits for the lock and times out.
	if _, err := Open(ctx, dir, Options{LockTimeout: 50 * time.Millisecond}); !errors.Is(err, ErrLocked) {
		t.Fatalf("Open(locked) = %v, want ErrLocked", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := Open(cctx, dir, Options{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("Open(locked, cancelled) = %v, want context.Canceled", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); !errors.Is(err, ErrClosed) {
		t.Fatalf("second Close = %v, want ErrClosed", err)
	}
	if _, err := s.Stat(ctx, info.Digest); !errors.Is(err, ErrClosed) {
		t.Fatalf("Stat after Close = %v, want ErrClosed", err)
	}
	if _, err := Init(ctx, dir, Options{}); !errors.Is(err, ErrStoreExists) {
		t.Fatalf("Init(existing) = %v, want ErrStoreExists", err)
	}
	s, err = Open(ctx, dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if ok, err := s.Has(ctx, info.Digest); !ok || err != nil {
		t.Fatalf("Has after reopen = %v, %v", ok, err)
	}
}
