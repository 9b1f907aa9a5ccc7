//go:build !linux

package cas

import "os"

// openDirect: O_DIRECT is used on Linux only; elsewhere packs are written
// through the page cache.
func openDirect(string) (*os.File, error) { return nil, errNoDirect }
