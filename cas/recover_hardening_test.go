package cas

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// TestOpenAfterKillDuringVlogCreate (issue 10): a process killed between
// Badger creating its next value log (or memtable log) file and writing
// the file's header leaves a file of zero bytes; the next Open must succeed (Badger's own
// Open failed on it once) and lose nothing.
func TestOpenAfterKillDuringVlogCreate(t *testing.T) {
	ctx := t.Context()
	dir := filepath.Join(t.TempDir(), ".rigor")
	s, err := Init(ctx, dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Put(ctx, bytes.NewReader(bytes.Repeat([]byte("kept\n"), 1000)), PutOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SetRef(ctx, "kept", "", info.Digest); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"000098.vlog", "000099.vlog", "00098.mem", "00099.mem"} {
		if err := os.WriteFile(filepath.Join(dir, dbDir, name), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	s, err = Open(ctx, dir, Options{})
	if err != nil {
		t.Fatalf("Open after a kill during value log creation: %v", err)
	}
	defer s.Close()
	if d, err := s.GetRef(ctx, "kept"); err != nil || d != info.Digest {
		t.Errorf("ref kept = %s, %v", d, err)
	}
	fsckClean(t, s)
}
