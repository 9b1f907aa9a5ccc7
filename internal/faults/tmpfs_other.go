//go:build !linux

package faults

import "errors"

// MountTmpfs is Linux only; elsewhere it fails, and callers skip.
func MountTmpfs(dir string, size int64) (unmount func() error, err error) {
	return nil, errors.New("faults: tmpfs mounts are Linux only")
}

// Remount is Linux only.
func Remount(dir string, size int64, readOnly bool) error {
	return errors.New("faults: remount is Linux only")
}
