package verify

// Hardening (issue 10): verify walks a bundle with an explicit stack, so a
// chain 10,000 trees deep or a tree of 100,000 entries is reported on, not
// a crash. Its memory holds every file's and directory's path (problems
// and the manifest name them), so it grows with the sum of the path
// lengths: the figures below are in RELIABILITY.md.

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/rigor-dev/rigor/cas"
	"github.com/rigor-dev/rigor/internal/faults"
)

func TestVerifyDeepAndWide(t *testing.T) {
	ctx := t.Context()
	s := newStore(t)
	leaf, err := s.Put(ctx, strings.NewReader("bottom\n"), cas.PutOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cur, err := s.PutTree(ctx, cas.Tree{Entries: []cas.Entry{{Name: "leaf", Mode: cas.ModeFile, Size: leaf.Size, Digest: leaf.Digest}}})
	if err != nil {
		t.Fatal(err)
	}
	const depth = 10_000
	for i := 1; i < depth; i++ {
		cur, err = s.PutTree(ctx, cas.Tree{Entries: []cas.Entry{{Name: "d", Mode: cas.ModeTree, Size: cur.Size, Digest: cur.Digest}}})
		if err != nil {
			t.Fatal(err)
		}
	}
	n := 100_000
	if os.Getenv("RIGOR_SOAK") != "" {
		n = 1_000_000
	}
	tr := cas.Tree{Entries: make([]cas.Entry, n)}
	for i := range tr.Entries {
		tr.Entries[i] = cas.Entry{Name: fmt.Sprintf("f%07d", i), Mode: cas.ModeFile, Size: leaf.Size, Digest: leaf.Digest}
	}
	wide, err := s.PutTree(ctx, tr)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		root    cas.Info
		objects int
		budget  uint64
	}{
		{"10,000 levels", cur, depth + 1, 256 << 20},
		{fmt.Sprintf("%d entries", n), wide, 2, uint64(n)*600 + 64<<20},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var rep Report
			peak := faults.PeakHeap(func() { rep, err = Run(ctx, s, tc.root.Digest, Options{Deep: true, Now: nowFn}) })
			if err != nil {
				t.Fatal(err)
			}
			if rep.Objects != tc.objects || rep.OK {
				t.Errorf("report: %d objects, ok %v; want %d objects, not a run", rep.Objects, rep.OK, tc.objects)
			}
			if len(rep.Problems) == 0 || rep.Problems[0].Kind != NotRun {
				t.Errorf("problems %v, want not-a-run", rep.Problems)
			}
			t.Logf("%s: peak heap %d MiB", tc.name, peak>>20)
			if peak > tc.budget {
				t.Errorf("peak heap %d MiB, want at most %d MiB", peak>>20, tc.budget>>20)
			}
		})
	}
}
