//go:build race

package cas

// raceEnabled: the race detector makes sync.Pool drop items, so tests
// that count allocations relax.
const raceEnabled = true
