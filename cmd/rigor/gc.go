package main

import "runtime/debug"

// relaxGC makes the garbage collector wait for a larger heap, for the short
// queries (runs, show, lineage): they allocate a few MiB and exit, and with
// the default setting (a first collection at 4 MiB) collecting that costs
// them a fifth of their time. The heap may grow to 11 times what is live,
// but not past 256 MiB (a soft memory limit; a lower GOMEMLIMIT stays), so
// a large answer still runs in bounded memory. GOGC=off is left alone. The
// returned function restores the previous settings (tests run commands in
// one process).
func relaxGC() (restore func()) {
	percent := debug.SetGCPercent(-1)
	limit := debug.SetMemoryLimit(-1)
	if percent < 0 {
		debug.SetGCPercent(percent)
		return func() {}
	}
	debug.SetMemoryLimit(min(limit, 256<<20))
	debug.SetGCPercent(max(percent, 1000))
	return func() {
		debug.SetGCPercent(percent)
		debug.SetMemoryLimit(limit)
	}
}
