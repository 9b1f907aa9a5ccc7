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
