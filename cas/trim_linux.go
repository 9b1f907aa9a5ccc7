//go:build linux

package cas

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// trimValueLog drops this process's mappings of the value log files that
// are complete (every one but the newest) from its resident set with
// madvise(MADV_DONTNEED). Badger writes values through a shared mapping of
// the value log and keeps every file mapped until Close, so without this
// each byte a Put writes stays in the process's RSS. For a shared file
// mapping MADV_DONTNEED only unmaps the pages: the data stays in the page
// cache (dirty pages are still written back), and a later read faults it
// in again.
//
// A complete file's mapping never moves: Badger remaps only the file being
// written (growing it, or shrinking it when it is done), and unmaps files
// only in value log GC and Close. The caller must therefore keep GC and
// Close out (s.enter and s.gcMu held shared, as in Put), so that no range
// read from /proc/self/maps can be unmapped and reused before madvise.
func (s *Store) trimValueLog() {
	if s.dir == "" {
		return
	}
	// The kernel names mapped files by their resolved absolute path.
	dir, err := filepath.Abs(filepath.Join(s.dir, dbDir))
	if err != nil {
		return
	}
	if d, err := filepath.EvalSymlinks(dir); err == nil {
		dir = d
	}
	maps, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		return
	}
	type span struct {
		start, end uintptr
		fid        uint64
	}
	var spans []span
	var newest uint64
	sc := bufio.NewScanner(bytes.NewReader(maps))
	for sc.Scan() {
		// start-end perms offset dev inode path (which may hold spaces)
		line := sc.Text()
		f := strings.Fields(line)
		slash := strings.IndexByte(line, '/')
		if len(f) < 6 || slash < 0 || len(f[1]) != 4 || f[1][3] != 's' {
			continue
		}
		path := line[slash:]
		if !strings.HasSuffix(path, ".vlog") || filepath.Dir(path) != dir {
			continue
		}
		fid, err := strconv.ParseUint(strings.TrimSuffix(filepath.Base(path), ".vlog"), 10, 32)
		if err != nil {
			continue
		}
		lo, hi, ok := strings.Cut(f[0], "-")
		if !ok {
			continue
		}
		start, err1 := strconv.ParseUint(lo, 16, 64)
		end, err2 := strconv.ParseUint(hi, 16, 64)
		if err1 != nil || err2 != nil || end <= start {
			continue
		}
		spans = append(spans, span{uintptr(start), uintptr(end), fid})
		newest = max(newest, fid)
	}
	for _, sp := range spans {
		if sp.fid == newest {
			continue // being written; Badger may remap it
		}
		syscall.Syscall(syscall.SYS_MADVISE, sp.start, sp.end-sp.start, syscall.MADV_DONTNEED)
	}
}
