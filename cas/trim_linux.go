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
func (s *Store) trimValueLog(trim bool) {
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
			s.prefault(sp.fid, sp.start, sp.end-sp.start)
			continue // being written; Badger may remap it
		}
		if trim {
			syscall.Syscall(syscall.SYS_MADVISE, sp.start, sp.end-sp.start, syscall.MADV_DONTNEED)
		}
	}
}

// prefault keeps the pages of value log file fid (mapped at start, size
// bytes) prefaulted up to prefaultAhead past what this Store wrote since
// it saw the file appear (Badger's write offset, near enough). Called with
// s.trimming held.
func (s *Store) prefault(fid uint64, start, size uintptr) {
	if fid != s.popFid {
		s.popFid, s.popDone = fid, 0
		s.fileWritten.Store(0)
	}
	limit := min(size, uintptr(vlogFileSize)+4<<20) // Badger moves on after vlogFileSize
	page := uintptr(os.Getpagesize())
	end := min(uintptr(s.fileWritten.Load())+prefaultAhead, limit) &^ (page - 1) // madvise wants whole pages
	if end <= s.popDone+prefaultAhead/4 {
		return
	}
	from := s.popDone
	s.popDone = end
	s.bg.Go(func() { populate(start+from, end-from) })
}

// prefaultAhead is how far ahead of Badger's writes value log pages are
// prefaulted: a few checkEvery steps, and a bound on the pages a short
// session prefaults in vain (Badger truncates the file on Close).
const prefaultAhead = 24 << 20

// madvPopulateWrite is MADV_POPULATE_WRITE (Linux 5.14).
const madvPopulateWrite = 0x17

// populate prefaults the first bytes of the newest value log file's
// mapping, writable, in a goroutine of its own. Badger writes values
// through that mapping from its single writer goroutine, and every first
// touch of a page there faults and has the kernel zero-fill it (perf:
// 14% of an add's CPU); prefaulting moves that work off the writer onto
// another core. It changes no byte: on a range that was unmapped or
// reused meanwhile it fails or populates harmlessly, so it needs no
// exclusion. Older kernels return EINVAL, and Badger faults as before.
func populate(start, n uintptr) {
	syscall.Syscall(syscall.SYS_MADVISE, start, n, madvPopulateWrite)
}
