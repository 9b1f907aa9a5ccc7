package cas

import (
	"os"
	"syscall"
)

// startWriteback asks the kernel to start writing n bytes of f from off
// to the disk, without waiting (sync_file_range with
// SYNC_FILE_RANGE_WRITE). A hint: errors are ignored, the fsync that
// follows is what makes the bytes durable.
func startWriteback(f *os.File, off, n int64) {
	const syncFileRangeWrite = 2
	syscall.Syscall6(syscall.SYS_SYNC_FILE_RANGE, f.Fd(), uintptr(off), uintptr(n), syncFileRangeWrite, 0, 0)
}
