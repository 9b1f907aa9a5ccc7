//go:build linux

package cas

import (
	"bytes"
	"fmt"
	"os"
	"testing"
)

// rssFile returns the process's resident file-backed memory in bytes.
func rssFile(t *testing.T) int64 {
	t.Helper()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Skip("no /proc/self/status:", err)
	}
	i := bytes.Index(b, []byte("RssFile:"))
	if i < 0 {
		t.Skip("no RssFile in /proc/self/status")
	}
	var kib int64
	if _, err := fmt.Sscan(string(b[i+len("RssFile:"):]), &kib); err != nil {
		t.Fatal(err)
	}
	return kib << 10
}

// TestValueLogTrimmed: Badger writes values through a shared mapping of
// its value log, which would keep every byte Put writes resident; Put
// drops complete value log files from the resident set as it goes, and
// the content reads back intact afterwards.
func TestValueLogTrimmed(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 256 MB")
	}
	s := newDisk(t)
	const n = 256 << 20
	before := rssFile(t)
	info, err := s.Put(t.Context(), newGen(n), PutOptions{})
	if err != nil {
		t.Fatal(err)
	}
	grown := rssFile(t) - before
	t.Logf("RssFile grew by %d MiB for a %d MiB Put", grown>>20, n>>20)
	// At most the value log file being written and trimEvery not yet
	// trimmed, plus slack for the binary and Badger's tables.
	if limit := vlogFileSize + trimEvery + 16<<20; grown > limit {
		t.Errorf("RssFile grew by %d MiB, want at most %d MiB", grown>>20, limit>>20)
	}
	r, err := s.Open(t.Context(), info.Digest)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	got, m, err := FromReader(r)
	if err != nil || m != n || got != info.Digest {
		t.Fatalf("read back %d bytes, %s, %v; want %d, %s", m, got, err, n, info.Digest)
	}
}
