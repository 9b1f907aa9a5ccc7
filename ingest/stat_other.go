//go:build !(linux || darwin || freebsd || netbsd || openbsd)

package ingest

import (
	"io/fs"

	"github.com/rigor-dev/rigor/cas"
)

// statKey builds the stat-cache key of the file at abs. Without inode and
// ctime the key is weaker: size and mtime only.
func statKey(abs string, fi fs.FileInfo) cas.StatKey {
	return cas.StatKey{Path: abs, Size: fi.Size(), Mtime: fi.ModTime().UTC()}
}
