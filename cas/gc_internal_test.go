package cas

import (
	"path/filepath"
	"testing"
)

// TestGCReclaimsDisk checks that GC gives value log space back: with 8 MiB
// value log files, deleting 48 MB of chunks must shrink the store.
func TestGCReclaimsDisk(t *testing.T) {
	old := vlogFileSize
	vlogFileSize = 8 << 20
	defer func() { vlogFileSize = old }()
	ctx := t.Context()
	s, err := Init(ctx, filepath.Join(t.TempDir(), ".rigor"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Put(ctx, newGen(48<<20), PutOptions{}); err != nil {
		t.Fatal(err)
	}
	keep, err := s.Put(ctx, newGen(1<<20+5), PutOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SetRef(ctx, "keep", "", keep.Digest); err != nil {
		t.Fatal(err)
	}
	rep, err := s.GC(ctx, GCOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("GC: %+v", rep)
	if rep.ObjectsDeleted != 1 || rep.ChunksDeleted == 0 {
		t.Errorf("GC = %+v, want the unreferenced object and its chunks deleted", rep)
	}
	if rep.DiskAfter >= rep.DiskBefore-16<<20 {
		t.Errorf("disk %d → %d bytes: want at least 16 MiB reclaimed", rep.DiskBefore, rep.DiskAfter)
	}
	fsckClean(t, s)
}
