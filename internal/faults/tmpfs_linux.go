package faults

import (
	"fmt"
	"os"
	"syscall"
)

// MountTmpfs mounts a tmpfs of at most size bytes on dir, which must
// exist, and returns a function that unmounts it (lazily, so a file still
// open does not keep it). It fails unless the process may mount (root, or
// CAP_SYS_ADMIN): callers skip their test then.
func MountTmpfs(dir string, size int64) (unmount func() error, err error) {
	if os.Geteuid() != 0 {
		return nil, fmt.Errorf("faults: mounting a tmpfs needs root")
	}
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, fmt.Sprintf("size=%d,mode=0755", size)); err != nil {
		return nil, fmt.Errorf("faults: mount tmpfs on %s: %w", dir, err)
	}
	return func() error { return syscall.Unmount(dir, syscall.MNT_DETACH) }, nil
}

// Remount changes the flags of the filesystem mounted on dir: readOnly
// turns it read-only (as a failing disk or an operator would), false back
// to read-write.
func Remount(dir string, size int64, readOnly bool) error {
	flags := uintptr(syscall.MS_REMOUNT)
	if readOnly {
		flags |= syscall.MS_RDONLY
	}
	return syscall.Mount("tmpfs", dir, "tmpfs", flags, fmt.Sprintf("size=%d,mode=0755", size))
}
