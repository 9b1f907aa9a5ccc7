package cas

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	badger "github.com/dgraph-io/badger/v4"
	digest "github.com/opencontainers/go-digest"
)

// GCOptions tune [Store.GC].
type GCOptions struct {
	// Grace keeps unreachable objects created (or last re-put) less than
	// Grace ago, and everything they reach. The zero value keeps none:
	// every object no ref reaches is deleted. The CLI passes a grace
	// period, so objects a caller has put but not yet named by a ref
	// survive a concurrent gc.
	Grace time.Duration
	// DryRun reports what would be deleted and deletes nothing.
	DryRun bool
}

// GCReport says what [Store.GC] did.
type GCReport struct {
	ObjectsKept, ObjectsDeleted int64
	ChunksKept, ChunksDeleted   int64
	// BytesDeleted is the stored (compressed) size of the deleted values.
	BytesDeleted int64
	// DiskBefore and DiskAfter are the store's on-disk size (Badger's
	// LSM tree and value log, and the pack files) before and after, 0 for
	// an in-memory store.
	DiskBefore, DiskAfter int64
	// PacksDeleted counts pack files removed, PacksRewritten those of them
	// whose live values were first copied into a new pack (see packGarbage).
	PacksDeleted, PacksRewritten int64
}

// GC deletes what no ref reaches: it marks every object reachable from a
// ref or younger than opts.Grace (walking trees), deletes the other
// objects, then every chunk no remaining object uses, and finally reclaims
// space in Badger's value log. Puts and ref updates in this process wait
// while GC runs. If a reachable tree cannot be read GC deletes nothing and
// returns an error: run fsck first, since deleting would lose what the
// damaged tree points at. If reclaiming disk space fails after the
// deletions, the report of what was deleted comes with the error.
func (s *Store) GC(ctx context.Context, opts GCOptions) (GCReport, error) {
	if err := s.enterWrite(); err != nil {
		return GCReport{}, err
	}
	defer s.leave()
	rep, err := s.gcSweep(ctx, opts)
	if err != nil {
		return GCReport{}, err
	}
	if opts.DryRun {
		return *rep, nil
	}
	if err := s.reclaim(ctx, rep); err != nil {
		return *rep, err
	}
	rep.DiskAfter = s.diskSize()
	return *rep, nil
}

func (s *Store) gcSweep(ctx context.Context, opts GCOptions) (*GCReport, error) {
	s.gcMu.Lock()
	defer s.gcMu.Unlock()

	rep := &GCReport{}
	rep.DiskBefore = s.diskSize()
	cutoff := time.Now().Add(-opts.Grace)

	// Roots: ref targets and young objects.
	var roots []sum
	if err := s.scan(ctx, []byte(pfxRef), false, func(k, v []byte) error {
		if sm, err := toSum(digest.Digest(v)); err == nil {
			roots = append(roots, sm)
		}
		return nil
	}); err != nil {
		return nil, err
	}
	if opts.Grace > 0 {
		if err := s.scan(ctx, []byte(pfxObject), false, func(k, v []byte) error {
			rec, err := decodeRecord(v)
			if err != nil || rec.created.After(cutoff) {
				// Damaged records are left for fsck to report.
				var sm sum
				copy(sm[:], k[len(pfxObject):])
				roots = append(roots, sm)
			}
			return nil
		}); err != nil {
			return nil, err
		}
	}

	// Mark.
	live := make(map[sum]bool)
	stack := roots
	for len(stack) > 0 {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		sm := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if live[sm] {
			continue
		}
		live[sm] = true
		rec, err := s.getRecord(sm)
		if errors.Is(err, ErrNotFound) {
			continue // nothing to keep; fsck reports it
		}
		if err != nil {
			return nil, fmt.Errorf("cas: gc: %w (run fsck; nothing was deleted)", err)
		}
		if rec.kind != KindTree {
			continue
		}
		t, err := s.readTree(ctx, sm.digest())
		if err != nil {
			return nil, fmt.Errorf("cas: gc: %w (run fsck; nothing was deleted)", err)
		}
		for _, e := range t.Entries {
			cs, _ := toSum(e.Digest)
			if !live[cs] {
				stack = append(stack, cs)
			}
		}
	}

	// Sweep objects; collect the chunks of the survivors.
	liveChunks := make(map[sum]bool)
	var dead [][]byte
	if err := s.scan(ctx, []byte(pfxObject), false, func(k, v []byte) error {
		var sm sum
		copy(sm[:], k[len(pfxObject):])
		if !live[sm] {
			rep.ObjectsDeleted++
			rep.BytesDeleted += int64(len(v))
			dead = append(dead, k)
			return nil
		}
		rep.ObjectsKept++
		if rec, err := decodeRecord(v); err == nil {
			for _, c := range rec.chunks {
				liveChunks[c.sum] = true
			}
		}
		return nil
	}); err != nil {
		return nil, err
	}
	if err := s.scan(ctx, []byte(pfxChunk), true, func(k, _ []byte) error {
		var sm sum
		copy(sm[:], k[len(pfxChunk):])
		if liveChunks[sm] {
			rep.ChunksKept++
			return nil
		}
		rep.ChunksDeleted++
		dead = append(dead, k)
		return nil
	}); err != nil {
		return nil, err
	}
	if opts.DryRun {
		rep.DiskAfter = rep.DiskBefore
		return rep, nil
	}
	if err := s.deleteKeys(ctx, dead, &rep.BytesDeleted); err != nil {
		return nil, err
	}
	return rep, nil
}

// deleteKeys deletes keys in batches, adding the size of deleted chunk
// values to *bytes.
func (s *Store) deleteKeys(ctx context.Context, keys [][]byte, bytes *int64) error {
	s.forgetAll()
	wb := s.db.NewWriteBatch()
	defer wb.Cancel()
	for i, k := range keys {
		if i%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		if string(k[:len(pfxChunk)]) == pfxChunk {
			_ = s.db.View(func(txn *badger.Txn) error {
				item, err := txn.Get(k)
				if err != nil {
					return nil
				}
				*bytes += item.ValueSize()
				if item.ValueSize() < 32 {
					return item.Value(func(v []byte) error {
						if len(v) > 0 && v[0] == fmtPack {
							if p, err := decodePackPtr(v); err == nil {
								*bytes += p.len - int64(len(v))
							}
						}
						return nil
					})
				}
				return nil
			})
		}
		if err := wb.Delete(k); err != nil {
			return fmt.Errorf("cas: gc: %v", err)
		}
	}
	if err := wb.Flush(); err != nil {
		return fmt.Errorf("cas: gc: %v", err)
	}
	return nil
}

// reclaim gives value log space back. Badger learns which value log
// entries are garbage only when compaction drops their keys, and deletes
// sit in the memtable until it fills; so reclaim waits (up to
// reclaimWait) until no other call is in flight, holds new ones, closes and
// reopens the database, which flushes the memtable, compacts the LSM tree
// into one level, then rewrites value log files until none is worth it.
// If the store does not become idle in time, space is reclaimed by a later
// GC instead.
func (s *Store) reclaim(ctx context.Context, rep *GCReport) error {
	if s.opts.InMemory {
		return nil
	}
	resume, ok := s.pause(ctx)
	if !ok {
		return ctx.Err()
	}
	defer resume()
	if err := s.compactPacks(ctx, rep); err != nil {
		return err
	}
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("cas: gc: close: %v", err)
	}
	db, err := badger.Open(badgerOptions(filepath.Join(s.dir, dbDir), false))
	if err != nil {
		// The store cannot go on without its database: close it.
		s.mu.Lock()
		s.closed = true
		s.mu.Unlock()
		releaseLock(s.lock)
		s.lock = nil
		return fmt.Errorf("cas: gc: reopen: %v (the store is closed)", err)
	}
	s.db = db
	if err := s.db.Flatten(2); err != nil {
		return fmt.Errorf("cas: gc: flatten: %v", err)
	}
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		err := s.db.RunValueLogGC(0.3)
		if errors.Is(err, badger.ErrNoRewrite) || errors.Is(err, badger.ErrRejected) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("cas: gc: value log: %v", err)
		}
	}
}

const reclaimWait = 30 * time.Second

// pause waits until the calling GC is the only call in flight and makes
// new calls wait. It reports false if that did not happen within
// reclaimWait or ctx ended.
func (s *Store) pause(ctx context.Context) (resume func(), ok bool) {
	deadline := time.Now().Add(reclaimWait)
	s.mu.Lock()
	s.paused = true
	for s.active > 1 {
		s.mu.Unlock()
		if ctx.Err() != nil || time.Now().After(deadline) {
			s.mu.Lock()
			s.paused = false
			s.cond.Broadcast()
			s.mu.Unlock()
			return nil, false
		}
		time.Sleep(5 * time.Millisecond)
		s.mu.Lock()
	}
	s.mu.Unlock()
	return func() {
		s.mu.Lock()
		s.paused = false
		s.cond.Broadcast()
		s.mu.Unlock()
	}, true
}

// packGarbage: GC rewrites a pack file when more than this share of it
// holds values nothing points at any more.
const packGarbage = 0.5

// compactPacks gives back the space of pack values GC deleted: a pack
// with no live value is removed; a pack more than packGarbage garbage has
// its live values copied into a new pack, their pointers moved in one
// batch, and is removed after the new pack is synced. A crash in between
// leaves a pack that no pointer names, which the next GC removes. The
// caller has paused the store.
func (s *Store) compactPacks(ctx context.Context, rep *GCReport) error {
	if s.packs == nil {
		return nil
	}
	if err := s.packs.seal(); err != nil {
		return fmt.Errorf("cas: gc: %w", err)
	}
	type entry struct {
		key []byte
		ptr packPtr
	}
	live := make(map[uint32]int64)
	entries := make(map[uint32][]entry)
	// Only pointers are read: a version 1 store's chunk entries hold
	// whole values of up to 4 MiB, which a scan with values would copy.
	prefix := []byte(pfxChunk)
	if err := s.db.View(func(txn *badger.Txn) error {
		opt := badger.DefaultIteratorOptions
		opt.Prefix = prefix
		opt.PrefetchValues = false
		it := txn.NewIterator(opt)
		defer it.Close()
		for it.Rewind(); it.ValidForPrefix(prefix); it.Next() {
			if err := ctx.Err(); err != nil {
				return err
			}
			item := it.Item()
			if item.ValueSize() > 1+3*binary.MaxVarintLen64 {
				continue // a value, not a pointer
			}
			v, err := item.ValueCopy(nil)
			if err != nil {
				return err
			}
			if len(v) == 0 || v[0] != fmtPack {
				continue
			}
			p, err := decodePackPtr(v)
			if err != nil {
				continue // fsck reports it
			}
			live[p.id] += packEntryHeader + p.len
			entries[p.id] = append(entries[p.id], entry{item.KeyCopy(nil), p})
		}
		return nil
	}); err != nil {
		return fmt.Errorf("cas: gc: %w", err)
	}
	ids, err := s.packs.list()
	if err != nil {
		return fmt.Errorf("cas: gc: packs: %w", err)
	}
	var rewrite []uint32
	for _, id := range ids {
		fi, err := os.Stat(s.packs.path(id))
		if err != nil {
			continue
		}
		switch {
		case live[id] == 0:
			if err := s.packs.remove(id); err != nil {
				return fmt.Errorf("cas: gc: %w", err)
			}
			rep.PacksDeleted++
		case float64(fi.Size()-packHeader-live[id]) > packGarbage*float64(fi.Size()):
			rewrite = append(rewrite, id)
		}
	}
	for _, id := range rewrite {
		if err := ctx.Err(); err != nil {
			return err
		}
		wb := s.db.NewWriteBatch()
		for _, e := range entries[id] {
			var np packPtr
			var cs sum
			copy(cs[:], e.key[len(pfxChunk):])
			err := s.packs.view(e.ptr, func(v []byte) error {
				var err error
				np, err = s.packs.appendValue(cs, v[0], v[1:])
				return err
			})
			if err != nil {
				wb.Cancel()
				return fmt.Errorf("cas: gc: move chunk %s: %w (run fsck)", cs.digest(), err)
			}
			if err := wb.Set(e.key, np.encode()); err != nil {
				wb.Cancel()
				return fmt.Errorf("cas: gc: %v", err)
			}
		}
		if err := s.packs.sync(); err != nil {
			wb.Cancel()
			return fmt.Errorf("cas: gc: %w", err)
		}
		if err := wb.Flush(); err != nil {
			return fmt.Errorf("cas: gc: %v", err)
		}
		if err := s.db.Sync(); err != nil {
			return fmt.Errorf("cas: gc: %v", err)
		}
		if err := s.packs.remove(id); err != nil {
			return fmt.Errorf("cas: gc: %w", err)
		}
		rep.PacksDeleted++
		rep.PacksRewritten++
	}
	if err := s.packs.seal(); err != nil {
		return fmt.Errorf("cas: gc: %w", err)
	}
	return nil
}

// diskSize is the disk space the Badger files and packs use (allocated
// blocks, as du counts them: value log files are sparse while open).
func (s *Store) diskSize() int64 {
	if s.opts.InMemory {
		return 0
	}
	return dirAllocated(filepath.Join(s.dir, dbDir)) + dirAllocated(filepath.Join(s.dir, packDirName))
}

// dirAllocated sums the allocated blocks of the regular files in dir (0
// if it cannot be read).
func dirAllocated(dir string) int64 {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return 0
	}
	var n int64
	for _, e := range entries {
		if fi, err := e.Info(); err == nil && fi.Mode().IsRegular() {
			n += allocated(fi)
		}
	}
	return n
}
