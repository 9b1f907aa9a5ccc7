package cas

import (
	"bytes"
	"errors"
	"io"
	"path/filepath"
	"testing"

	"github.com/rigor-dev/rigor/internal/faults"
)

// TestFullDisk (issue 10): a Put that would fill the store's filesystem
// fails with ErrNoSpace before Badger writes through a mapping the
// filesystem cannot back (which killed the process with SIGBUS), and the
// store stays intact: what was stored before reads back, fsck is clean,
// and once space is freed the same Put succeeds.
func TestFullDisk(t *testing.T) {
	mnt := t.TempDir()
	const size = 128 << 20
	unmount, err := faults.MountTmpfs(mnt, size)
	if err != nil {
		t.Skipf("no tmpfs to fill: %v", err)
	}
	defer unmount()
	ctx := t.Context()
	dir := filepath.Join(mnt, ".rigor")
	s, err := Init(ctx, dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if s != nil {
			s.Close()
		}
	}()
	before := bytes.Repeat([]byte("kept before the disk filled\n"), 40_000)
	kept, err := s.Put(ctx, bytes.NewReader(before), PutOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// 200 MB into a 128 MiB filesystem.
	_, err = s.Put(ctx, newGen(200<<20), PutOptions{})
	if !errors.Is(err, ErrNoSpace) {
		t.Fatalf("Put onto a full disk = %v, want ErrNoSpace", err)
	}
	t.Logf("Put: %v", err)
	// Small writes still refused while the disk is short.
	if _, err := s.Put(ctx, bytes.NewReader([]byte("tiny")), PutOptions{}); !errors.Is(err, ErrNoSpace) {
		t.Errorf("small Put = %v, want ErrNoSpace", err)
	}
	rc, err := s.Open(ctx, kept.Digest)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(rc)
	rc.Close()
	if err != nil || !bytes.Equal(got, before) {
		t.Fatalf("object stored before: %d bytes, %v", len(got), err)
	}
	fsckClean(t, s)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = nil
	// More room: the store opens, checks clean, and takes the Put.
	if err := faults.Remount(mnt, 512<<20, false); err != nil {
		t.Fatal(err)
	}
	s, err = Open(ctx, dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	fsckClean(t, s)
	if _, err := s.Put(ctx, newGen(200<<20), PutOptions{}); err != nil {
		t.Fatalf("Put after space was freed: %v", err)
	}
	fsckClean(t, s)
}
