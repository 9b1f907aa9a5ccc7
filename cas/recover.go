package cas

import (
	"os"
	"path/filepath"
	"strings"
)

// dropEmptyValueLogs removes the value log and memtable log files of zero
// bytes from Badger's directory before Badger opens it. Badger creates the
// next such file, then sizes it and writes its header; a process killed
// between the two leaves a file of zero bytes, which holds nothing, and on
// which the next badger.Open fails ("Open existing file: ...vlog: Create a
// new file", "while opening memtables err: while opening fid: 1 err:
// Create a new file": it sizes the file and reports that as an error).
// Issue 10: a SIGKILL early in rigor add or rigor run made the next
// command fail that way.
func dropEmptyValueLogs(dbPath string) error {
	entries, err := os.ReadDir(dbPath)
	if err != nil {
		if os.IsNotExist(err) {
			return nil
		}
		return err
	}
	for _, e := range entries {
		if !e.Type().IsRegular() || !(strings.HasSuffix(e.Name(), ".vlog") || strings.HasSuffix(e.Name(), ".mem")) {
			continue
		}
		fi, err := e.Info()
		if err != nil || fi.Size() != 0 {
			continue
		}
		if err := os.Remove(filepath.Join(dbPath, e.Name())); err != nil && !os.IsNotExist(err) {
			return err
		}
	}
	return nil
}
