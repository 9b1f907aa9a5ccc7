//go:build !unix

package cas

import (
	"errors"
	"os"
)

func tryLock(f *os.File, shared bool) (bool, error) {
	return false, errors.New("cas: store locking is not supported on this platform")
}

func unlock(f *os.File) error { return nil }

func allocated(fi os.FileInfo) int64 { return fi.Size() }
