//go:build linux || darwin || freebsd || netbsd || openbsd

package ingest

import (
	"io/fs"
	"syscall"
	"time"

	"github.com/rigor-dev/rigor/cas"
)

// statKey builds the stat-cache key of the file at abs from its lstat (or
// fstat) information.
func statKey(abs string, fi fs.FileInfo) cas.StatKey {
	k := cas.StatKey{Path: abs, Size: fi.Size(), Mtime: fi.ModTime().UTC()}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		k.Inode = uint64(st.Ino)
		sec, nsec := ctimeOf(st)
		k.Ctime = time.Unix(sec, nsec).UTC()
	}
	return k
}
