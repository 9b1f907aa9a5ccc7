package cas

import (
	"bytes"
	"errors"
	"io"
	"path/filepath"
	"testing"

	digest "github.com/opencontainers/go-digest"
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
	// A small write fits what the margin leaves, or is refused the same way.
	tiny, err := s.Put(ctx, bytes.NewReader([]byte("tiny")), PutOptions{})
	switch {
	case errors.Is(err, ErrNoSpace):
	case err != nil:
		t.Errorf("small Put = %v, want success or ErrNoSpace", err)
	default:
		if got := readAllDigest(t, s, tiny.Digest); string(got) != "tiny" {
			t.Errorf("small Put stored %q", got)
		}
	}
	// The refused Put's chunks that reached a pack are garbage: GC gives
	// their space back.
	if err := s.SetRef(ctx, "kept", "", kept.Digest); err != nil {
		t.Fatal(err)
	}
	rep, err := s.GC(ctx, GCOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("GC after the refused Put: %+v", rep)
	if rep.DiskAfter >= rep.DiskBefore {
		t.Errorf("GC: disk %d → %d bytes, want the refused Put's chunks reclaimed", rep.DiskBefore, rep.DiskAfter)
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

// readAllDigest reads object d of s to the end.
func readAllDigest(t *testing.T, s *Store, d digest.Digest) []byte {
	t.Helper()
	rc, err := s.Open(t.Context(), d)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
