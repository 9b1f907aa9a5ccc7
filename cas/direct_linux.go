package cas

import (
	"os"
	"syscall"
)

// openDirect creates a new pack file for writing with O_DIRECT.
func openDirect(name string) (*os.File, error) {
	return os.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL|syscall.O_DIRECT, 0o644)
}
