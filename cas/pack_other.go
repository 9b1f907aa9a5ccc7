//go:build !unix

package cas

import "os"

// mapPack reads the pack into memory where files cannot be mapped.
func mapPack(f *os.File, n int64) ([]byte, error) {
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	b := make([]byte, fi.Size())
	_, err = f.ReadAt(b, 0)
	return b, err
}

func unmapPack([]byte) {}

func willNeed([]byte, int64, int64) {}
