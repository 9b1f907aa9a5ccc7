package remote

// Hardening (issue 10): pulling from a store someone else wrote. A tree
// the receiving side would never accept is refused by name before
// anything moves, and a deep or wide DAG is collected in bounded memory.

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	digest "github.com/opencontainers/go-digest"

	"github.com/rigor-dev/rigor/cas"
	"github.com/rigor-dev/rigor/internal/faults"
)

func rawSum(d digest.Digest) (s [32]byte) {
	hex.Decode(s[:], []byte(d.Encoded()))
	return s
}

// TestPullHostileStore: a run on the other side whose bundle holds a tree
// with an entry named "..", "/etc/passwd", a NUL, a duplicate or a device
// mode: the pull fails naming the entry and its path, and the receiving
// store gets no ref, no index entry, and stays clean.
func TestPullHostileStore(t *testing.T) {
	tests := []struct {
		name    string
		entries func(blob [32]byte) []faults.RawEntry
		want    string
	}{
		{"dotdot", func(b [32]byte) []faults.RawEntry {
			return []faults.RawEntry{{Mode: 1, Name: "..", Size: 4, Sum: b}}
		}, `".."`},
		{"absolute", func(b [32]byte) []faults.RawEntry {
			return []faults.RawEntry{{Mode: 1, Name: "/etc/passwd", Size: 4, Sum: b}}
		}, `"/etc/passwd"`},
		{"nul", func(b [32]byte) []faults.RawEntry {
			return []faults.RawEntry{{Mode: 1, Name: "x\x00y", Size: 4, Sum: b}}
		}, `"x\x00y"`},
		{"duplicate", func(b [32]byte) []faults.RawEntry {
			return []faults.RawEntry{{Mode: 1, Name: "a", Size: 4, Sum: b}, {Mode: 1, Name: "a", Size: 4, Sum: b}}
		}, `"a" after "a"`},
		{"device", func(b [32]byte) []faults.RawEntry {
			return []faults.RawEntry{{Mode: 9, Name: "sda", Size: 4, Sum: b}}
		}, "mode 9"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := t.Context()
			srcDir, dstDir := newStoreDir(t), newStoreDir(t)
			src := openStore(t, srcDir)
			blob, err := src.Put(ctx, strings.NewReader("evil"), cas.PutOptions{})
			if err != nil {
				t.Fatal(err)
			}
			raw := faults.RawTree(tt.entries(rawSum(blob.Digest)))
			bad, err := src.Put(ctx, bytes.NewReader(raw), cas.PutOptions{Kind: cas.KindTree})
			if err != nil {
				t.Fatal(err)
			}
			root, err := src.PutTree(ctx, cas.Tree{Entries: []cas.Entry{
				{Name: "manifest.json", Mode: cas.ModeFile, Size: blob.Size, Digest: blob.Digest},
				{Name: "rigor", Mode: cas.ModeTree, Size: bad.Size, Digest: bad.Digest},
			}})
			if err != nil {
				t.Fatal(err)
			}
			if err := src.SetRef(ctx, "runs/EXP-01/seed-1/attempt-1", "", root.Digest); err != nil {
				t.Fatal(err)
			}
			runs, err := FindRuns(ctx, src, nil)
			if err != nil || len(runs) != 1 {
				t.Fatalf("FindRuns: %v, %v", runs, err)
			}
			dst := openStore(t, dstDir)
			st, err := Transfer(ctx, src, dst, runs, Options{})
			if !errors.Is(err, cas.ErrBadTree) || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "rigor") {
				t.Fatalf("Transfer = %v, want ErrBadTree naming rigor and %s", err, tt.want)
			}
			if len(st.Runs) != 1 || st.Runs[0].Status != Failed {
				t.Errorf("stats %+v, want the run failed", st.Runs)
			}
			if _, err := dst.GetRef(ctx, runs[0].Ref); !errors.Is(err, cas.ErrRefNotFound) {
				t.Errorf("receiving side has ref %s: %v", runs[0].Ref, err)
			}
			rep, err := dst.Fsck(ctx, cas.FsckOptions{})
			if err != nil || !rep.OK() || rep.Objects != 0 {
				t.Errorf("receiving store after refusal: %d objects, %v, %v", rep.Objects, rep.Problems, err)
			}
		})
	}
}

// TestClosureDeepAndWide: the closure of a chain 10,000 trees deep and of
// a tree of 100,000 entries is collected without recursion and in memory
// proportional to the objects (paths shown in messages are bounded).
func TestClosureDeepAndWide(t *testing.T) {
	ctx := t.Context()
	s := openStore(t, newStoreDir(t))
	leaf, err := s.Put(ctx, strings.NewReader("bottom\n"), cas.PutOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		depth int
		elem  string
	}{
		{"10,000 levels", 10_000, "d"},
		{"1,000 levels of 1 KiB names", 1_000, strings.Repeat("n", 1024)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cur, err := s.PutTree(ctx, cas.Tree{Entries: []cas.Entry{{Name: "leaf", Mode: cas.ModeFile, Size: leaf.Size, Digest: leaf.Digest}}})
			if err != nil {
				t.Fatal(err)
			}
			for i := 1; i < tc.depth; i++ {
				cur, err = s.PutTree(ctx, cas.Tree{Entries: []cas.Entry{{Name: tc.elem, Mode: cas.ModeTree, Size: cur.Size, Digest: cur.Digest}}})
				if err != nil {
					t.Fatal(err)
				}
			}
			cl := NewClosure()
			peak := faults.PeakHeap(func() { err = cl.Add(ctx, s, cur.Digest) })
			if err != nil {
				t.Fatal(err)
			}
			if len(cl.Objects) != tc.depth+1 {
				t.Errorf("closure of %d objects, want %d", len(cl.Objects), tc.depth+1)
			}
			if cl.Objects[len(cl.Objects)-1].Digest != cur.Digest || cl.Objects[0].Digest != leaf.Digest {
				t.Errorf("closure order: want children before parents")
			}
			var paths int
			for _, o := range cl.Objects {
				paths += len(o.Path)
				if len(o.Path) > 1024+len("…") {
					t.Fatalf("path of %d bytes kept", len(o.Path))
				}
			}
			// The leaf's path is elided in the middle, head and tail kept.
			full := strings.Repeat(tc.elem+"/", tc.depth-1) + "leaf"
			if p := cl.Objects[0].Path; !strings.HasPrefix(p, full[:200]) || !strings.HasSuffix(p, full[len(full)-700:]) || !strings.Contains(p, "…") {
				t.Errorf("leaf path %.40q…%q: want the head and the tail around an ellipsis", p, p[max(0, len(p)-40):])
			}
			t.Logf("%s: peak heap %d MiB, %d bytes of paths kept", tc.name, peak>>20, paths)
			if peak > 64<<20 {
				t.Errorf("peak heap %d MiB, want under 64 MiB", peak>>20)
			}
			// FindMissing over the same DAG, against an empty side.
			n, missing, err := FindMissing(ctx, s.ReadTree, Object{Digest: cur.Digest, Kind: cas.KindTree}, func(_ context.Context, o Object) (bool, error) { return false, nil })
			if err != nil || n != tc.depth+1 || len(missing) != n {
				t.Errorf("FindMissing: %d reached, %d missing, %v", n, len(missing), err)
			}
		})
	}
	wide := 100_000
	if os.Getenv("RIGOR_SOAK") != "" {
		wide = 1_000_000
	}
	t.Run(fmt.Sprintf("%d entries", wide), func(t *testing.T) {
		tr := cas.Tree{Entries: make([]cas.Entry, wide)}
		for i := range tr.Entries {
			// Distinct blobs would cost 100,000 Puts; one blob under many
			// names is still 100,000 entries to walk.
			tr.Entries[i] = cas.Entry{Name: fmt.Sprintf("f%07d", i), Mode: cas.ModeFile, Size: leaf.Size, Digest: leaf.Digest}
		}
		info, err := s.PutTree(ctx, tr)
		if err != nil {
			t.Fatal(err)
		}
		cl := NewClosure()
		peak := faults.PeakHeap(func() { err = cl.Add(ctx, s, info.Digest) })
		if err != nil || len(cl.Objects) != 2 {
			t.Fatalf("closure: %d objects, %v", len(cl.Objects), err)
		}
		t.Logf("%d entries: peak heap %d MiB", wide, peak>>20)
		if budget := uint64(wide)*400 + 64<<20; peak > budget {
			t.Errorf("peak heap %d MiB, want under %d MiB", peak>>20, budget>>20)
		}
	})
}
