package cas

import (
	"errors"
	"fmt"
)

// ErrNoSpace is returned by writes when the store's filesystem has less
// free space than [MinFreeSpace] (plus what the write needs).
var ErrNoSpace = errors.New("cas: not enough free disk space")

// MinFreeSpace is the free space a store keeps on its filesystem: Put
// refuses to write below it. Badger writes its value log and memtable
// through shared mappings of sparse files, and a page the filesystem cannot
// back does not fail the write with ENOSPC: it kills the process with
// SIGBUS (issue 10: rigor add onto a full tmpfs crashed). The margin covers
// the value log batches in flight (at most two of 32 MiB) and the
// memtable's log. Another process filling the disk meanwhile can still beat
// it; nothing committed is lost either way (see Crashes in doc.go).
const MinFreeSpace = 96 << 20

// spaceCheckEvery: bytes written between two free-space checks.
const spaceCheckEvery = 8 << 20

// checkSpace returns an error wrapping [ErrNoSpace] when fewer than
// MinFreeSpace+need bytes are free where the store lives. In-memory stores
// and systems where free space cannot be read always pass.
func (s *Store) checkSpace(need int) error {
	if s.opts.InMemory || s.dir == "" {
		return nil
	}
	// After a check that found room, writes of up to spaceCheckEvery in
	// all pass without asking the filesystem again (the margin covers
	// them): an add of thousands of small files made a statfs per file.
	if s.spaceUnchecked.Add(int64(need)) < spaceCheckEvery && s.spaceRoom.Load() {
		return nil
	}
	s.spaceUnchecked.Store(0)
	free, ok := freeSpace(s.dir)
	if !ok || free >= uint64(MinFreeSpace+need) {
		s.spaceRoom.Store(true)
		return nil
	}
	s.spaceRoom.Store(false)
	return fmt.Errorf("%s: only %d MiB free, and a store keeps %d MiB free for its mapped files: %w (free some space or move the store, then retry)",
		s.dir, free>>20, MinFreeSpace>>20, ErrNoSpace)
}
