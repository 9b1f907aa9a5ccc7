//go:build unix

package cas

import (
	"os"
	"syscall"
)

// mapPack maps n bytes of pack file f read-only. n may exceed the file's
// size: the pages past its end become readable as the file grows.
func mapPack(f *os.File, n int64) ([]byte, error) {
	return syscall.Mmap(int(f.Fd()), 0, int(n), syscall.PROT_READ, syscall.MAP_SHARED)
}

func unmapPack(m []byte) { syscall.Munmap(m) }

// willNeed asks the kernel to read m[off:off+n] ahead, in one request,
// instead of page fault by page fault (a pack read from a cold cache).
func willNeed(m []byte, off, n int64) {
	start := off &^ int64(os.Getpagesize()-1)
	syscall.Madvise(m[start:off+n], syscall.MADV_WILLNEED)
}
