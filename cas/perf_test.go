package cas

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"
)

// TestRememberStatBatched: stat cache entries wait in memory for a batch,
// are seen by LookupStat at once, and are on disk after Close.
func TestRememberStatBatched(t *testing.T) {
	ctx := t.Context()
	dir := filepath.Join(t.TempDir(), ".rigor")
	s, err := Init(ctx, dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Put(ctx, newGen(1000), PutOptions{})
	if err != nil {
		t.Fatal(err)
	}
	mt := time.Unix(1700000000, 5)
	key := func(i int) StatKey {
		return StatKey{Path: filepath.Join("/data", string(rune('a'+i%26)), time.Duration(i).String()), Size: 1000, Mtime: mt, Inode: uint64(i), Ctime: mt}
	}
	const n = statBatch + 10 // one full batch written, ten pending
	for i := range n {
		if err := s.RememberStat(ctx, key(i), info.Digest); err != nil {
			t.Fatal(err)
		}
	}
	check := func(s *Store, when string) {
		t.Helper()
		for _, i := range []int{0, statBatch - 1, statBatch, n - 1} {
			d, ok, err := s.LookupStat(ctx, key(i))
			if err != nil || !ok || d != info.Digest {
				t.Errorf("%s: LookupStat(%d) = %s, %v, %v; want %s, true, nil", when, i, d, ok, err, info.Digest)
			}
		}
		other := key(1)
		other.Inode++
		if _, ok, err := s.LookupStat(ctx, other); ok || err != nil {
			t.Errorf("%s: LookupStat with another inode = %v, %v; want a miss", when, ok, err)
		}
	}
	check(s, "before Close")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = Open(ctx, dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	check(s, "after reopening")
}

// TestPutTreeAgain: putting a stored tree again returns it without
// re-checking its children; a damaged tree record is repaired instead.
func TestPutTreeAgain(t *testing.T) {
	ctx := context.Background()
	s := newDisk(t)
	blob, err := s.Put(ctx, newGen(100), PutOptions{})
	if err != nil {
		t.Fatal(err)
	}
	tr := Tree{Entries: []Entry{{Name: "a", Mode: ModeFile, Size: 100, Digest: blob.Digest}}}
	first, err := s.PutTree(ctx, tr)
	if err != nil {
		t.Fatal(err)
	}
	s.forgetAll() // as in a new process: the record is read
	again, err := s.PutTree(ctx, tr)
	if err != nil || again != first {
		t.Fatalf("PutTree again = %+v, %v; want %+v", again, err, first)
	}
	if err := s.CorruptForTest(ctx, first.Digest, 3); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ReadTree(ctx, first.Digest); !errors.Is(err, ErrDigestMismatch) {
		t.Fatalf("ReadTree of a damaged tree: %v, want ErrDigestMismatch", err)
	}
	if _, err := s.PutTree(ctx, tr); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ReadTree(ctx, first.Digest); err != nil {
		t.Errorf("ReadTree after putting the tree again: %v, want it repaired", err)
	}
	// A tree naming a child that is gone is refused even though the
	// child's size and kind were known to this Store.
	if err := s.DeleteObjectForTest(ctx, blob.Digest); err != nil {
		t.Fatal(err)
	}
	tr.Entries[0].Name = "b"
	if _, err := s.PutTree(ctx, tr); !errors.Is(err, ErrNotFound) {
		t.Errorf("PutTree with a deleted child: %v, want ErrNotFound", err)
	}
}

func TestLooksRandom(t *testing.T) {
	tests := []struct {
		name string
		p    []byte
		want bool
	}{
		{"random", randBytes(9, smallSample), true},
		{"csv", benchData("csv", smallSample), false},
		{"zeros", make([]byte, smallSample), false},
		{"half the byte values", func() []byte {
			b := randBytes(10, smallSample)
			for i := range b {
				b[i] &= 0x7f
			}
			return b
		}(), false},
	}
	for _, tt := range tests {
		if got := looksRandom(tt.p); got != tt.want {
			t.Errorf("looksRandom(%s) = %v, want %v", tt.name, got, tt.want)
		}
	}
}
