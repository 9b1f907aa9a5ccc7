package cas

// Hardening (issue 10): hostile trees, decompression bombs, and trees
// that are very wide or very deep. Every consumer of the store must refuse
// a bad tree with a message naming the entry, decode a bomb into no more
// than the record promises, and walk a wide or deep DAG in bounded memory
// without recursion.

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"testing"
	"time"

	badger "github.com/dgraph-io/badger/v4"
	"github.com/klauspost/compress/zstd"
	digest "github.com/opencontainers/go-digest"
	"github.com/zeebo/blake3"

	"github.com/rigor-dev/rigor/internal/faults"
)

// putRaw stores b under its digest with the given kind, bypassing every
// check PutTree would make: what a store handed over by someone else may
// hold.
func putRaw(t *testing.T, s *Store, b []byte, kind Kind) digest.Digest {
	t.Helper()
	info, err := s.Put(t.Context(), bytes.NewReader(b), PutOptions{Kind: kind})
	if err != nil {
		t.Fatal(err)
	}
	return info.Digest
}

func TestHostileTreeRefused(t *testing.T) {
	ctx := t.Context()
	s, err := Init(ctx, t.TempDir(), Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	blob := putRaw(t, s, []byte("payload\n"), KindBlob)
	bsum := mustSum(blob)
	file := func(name string) faults.RawEntry {
		return faults.RawEntry{Mode: byte(ModeFile), Name: name, Size: 8, Sum: bsum}
	}
	tests := []struct {
		name    string
		entries []faults.RawEntry
		want    string // the message must name this
	}{
		{"dotdot", []faults.RawEntry{file("..")}, `".."`},
		{"dot", []faults.RawEntry{file(".")}, `"."`},
		{"slash", []faults.RawEntry{file("a/../../etc")}, `"a/../../etc"`},
		{"absolute", []faults.RawEntry{file("/etc/passwd")}, `"/etc/passwd"`},
		{"nul", []faults.RawEntry{file("a\x00b")}, `"a\x00b"`},
		{"duplicate", []faults.RawEntry{file("a"), file("a")}, `"a"`},
		{"unsorted", []faults.RawEntry{file("b"), file("a")}, `"a" after "b"`},
		{"device mode", []faults.RawEntry{{Mode: 5, Name: "sda", Size: 8, Sum: bsum}}, "mode 5"},
		{"mode zero", []faults.RawEntry{{Mode: 0, Name: "x", Size: 8, Sum: bsum}}, "mode 0"},
		{"long name", []faults.RawEntry{file(strings.Repeat("n", 1025))}, "bad name length"},
		{"empty name", []faults.RawEntry{file("")}, "cannot fit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw := faults.RawTree(tt.entries)
			_, err := DecodeTree(raw)
			if !errors.Is(err, ErrBadTree) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("DecodeTree = %v, want ErrBadTree naming %s", err, tt.want)
			}
			// The same entries through EncodeTree: refused too.
			var tr Tree
			for _, e := range tt.entries {
				tr.Entries = append(tr.Entries, Entry{Name: e.Name, Mode: Mode(e.Mode), Size: int64(e.Size), Digest: blob})
			}
			if _, err := s.PutTree(ctx, tr); !errors.Is(err, ErrBadTree) {
				t.Errorf("PutTree = %v, want ErrBadTree", err)
			}
			// Stored raw (a store someone else wrote) and reached through a
			// good parent: every reader refuses it, naming the entry.
			d := putRaw(t, s, raw, KindTree)
			parent, err := s.PutTree(ctx, Tree{Entries: []Entry{{Name: "sub", Mode: ModeTree, Size: int64(len(raw)), Digest: d}}})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.ReadTree(ctx, d); !errors.Is(err, ErrBadTree) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("ReadTree = %v, want ErrBadTree naming %s", err, tt.want)
			}
			err = s.Walk(ctx, parent.Digest, func(string, Entry) error { return nil })
			if !errors.Is(err, ErrBadTree) || !strings.Contains(err.Error(), `walk "sub"`) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Walk = %v, want ErrBadTree naming sub and %s", err, tt.want)
			}
			ref := "hostile/" + strings.ReplaceAll(tt.name, " ", "-")
			if err := s.SetRef(ctx, ref, "", parent.Digest); err != nil {
				t.Fatal(err)
			}
			defer s.DeleteRef(ctx, ref, parent.Digest)
			rep, err := s.Fsck(ctx, FsckOptions{})
			if err != nil {
				t.Fatal(err)
			}
			found := false
			for _, p := range rep.Problems {
				if p.Kind == ProblemBadTree && p.Digest == d {
					found = true
					if p.Path != "sub" || len(p.Refs) != 1 || p.Refs[0] != ref {
						t.Errorf("fsck problem %+v: want path sub and ref %s", p, ref)
					}
				}
			}
			if !found {
				t.Errorf("fsck found %v, want a bad-tree problem for %s", rep.Problems, d)
			}
			// GC deletes nothing when a reachable tree cannot be read.
			if _, err := s.GC(ctx, GCOptions{}); !errors.Is(err, ErrBadTree) {
				t.Errorf("GC = %v, want it to refuse (ErrBadTree)", err)
			}
			if ok, _ := s.Has(ctx, blob); !ok {
				t.Errorf("GC deleted %s although it refused", blob)
			}
		})
	}
}

// bombRecord writes, under the digest of want, an object record whose
// stored value is v: inline when chunk is false, else one chunk.
func bombRecord(t *testing.T, s *Store, want []byte, v []byte, chunk bool) digest.Digest {
	t.Helper()
	sm := sum(blake3.Sum256(want))
	rec := record{kind: KindBlob, size: int64(len(want)), created: time.Now(), inline: v}
	err := s.db.Update(func(txn *badger.Txn) error {
		if chunk {
			cs := sum(blake3.Sum256(append([]byte("chunk"), want...)))
			rec.chunked, rec.inline = true, nil
			rec.chunks = []chunkRef{{sum: cs, size: int64(len(want))}}
			if err := txn.Set(chunkKey(cs), v); err != nil {
				return err
			}
		}
		return txn.Set(objectKey(sm), rec.encode())
	})
	if err != nil {
		t.Fatal(err)
	}
	s.forgetAll()
	return sm.digest()
}

// TestDecompressionBomb: a stored value of a few KiB that decodes to a
// gibibyte is an error wrapping ErrDigestMismatch, found after decoding
// at most the record's size, for Open, Fsck (as an object's value and as
// an orphan chunk) and Materialize-style reads.
func TestDecompressionBomb(t *testing.T) {
	const expands = 1 << 30
	// The frames are real: an unbounded decoder expands them (to 8 MiB
	// here, to keep this cheap: the same blocks, fewer of them).
	for _, declare := range []bool{false, true} {
		dec, err := zstd.NewReader(nil, zstd.WithDecoderMaxMemory(1<<30))
		if err != nil {
			t.Fatal(err)
		}
		out, err := dec.DecodeAll(faults.ZstdBomb(8<<20, declare), nil)
		dec.Close()
		if err != nil || len(out) != 8<<20 {
			t.Fatalf("reference decoder (declared size %v): %d bytes, %v; want 8 MiB", declare, len(out), err)
		}
	}
	t.Logf("bomb: %d stored bytes expand to %d", len(faults.ZstdBomb(expands, false)), expands)
	for _, tc := range []struct {
		name           string
		declare, chunk bool
	}{
		{"inline, size unknown", false, false},
		{"inline, size declared", true, false},
		{"chunk, size unknown", false, true},
		{"chunk, size declared", true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := t.Context()
			s, err := Init(ctx, t.TempDir(), Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			bomb := append([]byte{fmtZstd}, faults.ZstdBomb(expands, tc.declare)...)
			want := bytes.Repeat([]byte("A"), 1000)
			if tc.chunk {
				want = bytes.Repeat([]byte("A"), 600<<10)
			}
			d := bombRecord(t, s, want, bomb, tc.chunk)
			var readErr error
			peak := faults.PeakHeap(func() {
				rc, err := s.Open(ctx, d)
				if err != nil {
					readErr = err
					return
				}
				defer rc.Close()
				_, readErr = io.Copy(io.Discard, rc)
			})
			if !errors.Is(readErr, ErrDigestMismatch) {
				t.Errorf("read = %v, want ErrDigestMismatch", readErr)
			}
			var rep FsckReport
			peakFsck := faults.PeakHeap(func() { rep, err = s.Fsck(ctx, FsckOptions{}) })
			if err != nil {
				t.Fatal(err)
			}
			if len(rep.Problems) != 1 || rep.Problems[0].Digest != d {
				t.Errorf("fsck problems %v, want one, for %s", rep.Problems, d)
			}
			t.Logf("read: %v; peak heap %d KiB (read), %d KiB (fsck)", readErr, peak>>10, peakFsck>>10)
			if peak > 64<<20 || peakFsck > 64<<20 {
				t.Errorf("peak heap %d / %d bytes while decoding a bomb, want under 64 MiB", peak, peakFsck)
			}
		})
	}
	t.Run("orphan chunk", func(t *testing.T) {
		ctx := t.Context()
		s, err := Init(ctx, t.TempDir(), Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		bomb := append([]byte{fmtZstd}, faults.ZstdBomb(expands, false)...)
		cs := sum(blake3.Sum256([]byte("orphan")))
		if err := s.db.Update(func(txn *badger.Txn) error { return txn.Set(chunkKey(cs), bomb) }); err != nil {
			t.Fatal(err)
		}
		var rep FsckReport
		peak := faults.PeakHeap(func() { rep, err = s.Fsck(ctx, FsckOptions{}) })
		if err != nil {
			t.Fatal(err)
		}
		if len(rep.Problems) != 1 || !errors.Is(rep.Problems[0].Err, ErrDigestMismatch) {
			t.Errorf("fsck problems %v, want the orphan chunk as corrupt", rep.Problems)
		}
		if peak > 64<<20 {
			t.Errorf("peak heap %d bytes, want under 64 MiB", peak)
		}
		// GC drops it.
		if _, err := s.GC(ctx, GCOptions{}); err != nil {
			t.Fatal(err)
		}
		fsckClean(t, s)
	})
}

// wideTree stores a tree of n entries, all naming the same small blob.
func wideTree(t *testing.T, s *Store, n int) (Info, digest.Digest) {
	t.Helper()
	ctx := t.Context()
	blob := putRaw(t, s, []byte("x"), KindBlob)
	tr := Tree{Entries: make([]Entry, n)}
	for i := range tr.Entries {
		tr.Entries[i] = Entry{Name: fmt.Sprintf("f%08d", i), Mode: ModeFile, Size: 1, Digest: blob}
	}
	info, err := s.PutTree(ctx, tr)
	if err != nil {
		t.Fatal(err)
	}
	return info, blob
}

// chain stores a chain of depth trees, each holding the next under name,
// the last holding one blob; it returns the top.
func chain(t *testing.T, s *Store, depth int, name string) digest.Digest {
	t.Helper()
	ctx := t.Context()
	blob := putRaw(t, s, []byte("bottom\n"), KindBlob)
	cur, err := s.PutTree(ctx, Tree{Entries: []Entry{{Name: "leaf", Mode: ModeFile, Size: 7, Digest: blob}}})
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i < depth; i++ {
		cur, err = s.PutTree(ctx, Tree{Entries: []Entry{{Name: name, Mode: ModeTree, Size: cur.Size, Digest: cur.Digest}}})
		if err != nil {
			t.Fatal(err)
		}
	}
	return cur.Digest
}

// HardeningScale is how big the wide and deep cases are: the CI sizes by
// default, the sizes (a million entries) under RIGOR_SOAK=1.
func hardeningWide() int {
	if os.Getenv("RIGOR_SOAK") != "" {
		return 1_000_000
	}
	return 100_000
}

// TestWideTree: a tree of 100,000 entries (a million under RIGOR_SOAK=1)
// is read, walked, checked and collected in memory proportional to it.
func TestWideTree(t *testing.T) {
	n := hardeningWide()
	if testing.Short() {
		n = 20_000
	}
	ctx := t.Context()
	s, err := Init(ctx, t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	info, _ := wideTree(t, s, n)
	if err := s.SetRef(ctx, "wide", "", info.Digest); err != nil {
		t.Fatal(err)
	}
	t.Logf("tree of %d entries: %d bytes encoded", n, info.Size)
	// Budget: a few hundred bytes of heap per entry.
	budget := uint64(n)*400 + 64<<20
	var count int
	peak := faults.PeakHeap(func() {
		err = s.Walk(ctx, info.Digest, func(p string, e Entry) error { count++; return nil })
	})
	if err != nil || count != n+1 {
		t.Fatalf("Walk: %d calls, %v; want %d", count, err, n+1)
	}
	t.Logf("Walk: peak heap %d MiB", peak>>20)
	if peak > budget {
		t.Errorf("Walk peak heap %d bytes, want at most %d", peak, budget)
	}
	var rep FsckReport
	peak = faults.PeakHeap(func() { rep, err = s.Fsck(ctx, FsckOptions{}) })
	if err != nil || !rep.OK() {
		t.Fatalf("Fsck: %v, %v", err, rep.Problems)
	}
	t.Logf("Fsck: peak heap %d MiB", peak>>20)
	if peak > budget {
		t.Errorf("Fsck peak heap %d bytes, want at most %d", peak, budget)
	}
	var gc GCReport
	peak = faults.PeakHeap(func() { gc, err = s.GC(ctx, GCOptions{}) })
	if err != nil || gc.ObjectsDeleted != 0 {
		t.Fatalf("GC: %+v, %v", gc, err)
	}
	t.Logf("GC: peak heap %d MiB", peak>>20)
	if peak > budget {
		t.Errorf("GC peak heap %d bytes, want at most %d", peak, budget)
	}
}

// TestDeepChain: a chain of 10,000 trees is walked, checked and collected
// without recursion, and the walk keeps memory proportional to the depth
// and the longest path, not to their product.
func TestDeepChain(t *testing.T) {
	ctx := t.Context()
	s, err := Init(ctx, t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	const depth = 10_000
	top := chain(t, s, depth, "d")
	if err := s.SetRef(ctx, "deep", "", top); err != nil {
		t.Fatal(err)
	}
	var maxLen, calls int
	peak := faults.PeakHeap(func() {
		err = s.Walk(ctx, top, func(p string, e Entry) error {
			calls++
			maxLen = max(maxLen, len(p))
			return nil
		})
	})
	if err != nil || calls != depth+1 {
		t.Fatalf("Walk: %d calls, %v", calls, err)
	}
	t.Logf("Walk of %d levels: longest path %d bytes, peak heap %d KiB", depth, maxLen, peak>>10)
	rep := fsckClean(t, s)
	if rep.Objects != depth+1 {
		t.Errorf("fsck checked %d objects, want %d", rep.Objects, depth+1)
	}
	if gc, err := s.GC(ctx, GCOptions{}); err != nil || gc.ObjectsDeleted != 0 {
		t.Fatalf("GC: %+v, %v", gc, err)
	}
	// Damage the bottom: fsck names it by its whole path.
	blob := FromBytes([]byte("bottom\n"))
	if err := s.CorruptForTest(ctx, blob, 3); err != nil {
		t.Fatal(err)
	}
	r2, err := s.Fsck(ctx, FsckOptions{})
	if err != nil || len(r2.Problems) != 1 {
		t.Fatalf("fsck after damage: %v, %v", r2.Problems, err)
	}
	if want := strings.Repeat("d/", depth-1) + "leaf"; r2.Problems[0].Path != want {
		t.Errorf("problem path has %d bytes, want the %d of the full path", len(r2.Problems[0].Path), len(want))
	}
}

// TestDeepChainLongNames: 2,000 levels of 1,024-byte names make paths of
// 2 MB. The walk's own memory must stay proportional to the longest path
// (a few MB), not to depth × path (2 GB): it may hand fn one path at a
// time, but must not keep one per level.
func TestDeepChainLongNames(t *testing.T) {
	ctx := t.Context()
	s, err := Init(ctx, t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	const depth = 2_000
	top := chain(t, s, depth, strings.Repeat("n", 1024))
	calls := 0
	peak := faults.PeakHeap(func() {
		err = s.Walk(ctx, top, func(p string, e Entry) error {
			calls++
			if e.Mode == ModeTree && calls > depth/2 {
				return fs.SkipDir // stop half way down
			}
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("Walk of %d levels of 1 KiB names: %d calls, peak heap %d MiB", depth, calls, peak>>20)
	if peak > 256<<20 {
		t.Errorf("Walk peak heap %d MiB, want under 256 MiB (the paths of 1,000 levels are 1 MB each)", peak>>20)
	}
}
