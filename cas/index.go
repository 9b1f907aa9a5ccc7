package cas

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"

	badger "github.com/dgraph-io/badger/v4"
	digest "github.com/opencontainers/go-digest"
)

func indexKey(index string, key []byte) []byte {
	k := make([]byte, 0, len(pfxIndex)+len(index)+1+len(key))
	k = append(k, pfxIndex...)
	k = append(k, index...)
	k = append(k, 0)
	return append(k, key...)
}

func checkIndexName(index string) error {
	if index == "" || strings.IndexByte(index, 0) >= 0 {
		return fmt.Errorf("cas: index name %q: must be non-empty and free of NUL", index)
	}
	return nil
}

// PutIndex sets key to value in the named index, replacing any previous
// value. The index name must be non-empty and free of NUL; key and value
// may be empty. The Store does not retain key or value.
func (s *Store) PutIndex(ctx context.Context, index string, key, value []byte) error {
	if err := checkIndexName(index); err != nil {
		return err
	}
	if err := s.enterWrite(); err != nil {
		return err
	}
	defer s.leave()
	if err := ctx.Err(); err != nil {
		return err
	}
	k := indexKey(index, key)
	v := bytes.Clone(value)
	if err := s.db.Update(func(txn *badger.Txn) error { return txn.Set(k, v) }); err != nil {
		return fmt.Errorf("cas: put index %s: %v", index, err)
	}
	return nil
}

// DeleteIndex removes key from the named index; a missing key is not an
// error.
func (s *Store) DeleteIndex(ctx context.Context, index string, key []byte) error {
	if err := checkIndexName(index); err != nil {
		return err
	}
	if err := s.enterWrite(); err != nil {
		return err
	}
	defer s.leave()
	if err := ctx.Err(); err != nil {
		return err
	}
	k := indexKey(index, key)
	if err := s.db.Update(func(txn *badger.Txn) error { return txn.Delete(k) }); err != nil {
		return fmt.Errorf("cas: delete index %s: %v", index, err)
	}
	return nil
}

// GetIndex returns the value of key in the named index, and whether it is
// set. It is a point lookup (Badger's bloom filters answer most misses
// without reading a table), much cheaper than a ScanIndex of the key as a
// prefix. The value is the caller's.
func (s *Store) GetIndex(ctx context.Context, index string, key []byte) ([]byte, bool, error) {
	if err := checkIndexName(index); err != nil {
		return nil, false, err
	}
	if err := s.enter(); err != nil {
		return nil, false, err
	}
	defer s.leave()
	if err := ctx.Err(); err != nil {
		return nil, false, err
	}
	var v []byte
	err := s.db.View(func(txn *badger.Txn) error {
		item, err := txn.Get(indexKey(index, key))
		if err != nil {
			return err
		}
		v, err = item.ValueCopy(nil)
		return err
	})
	switch {
	case errors.Is(err, badger.ErrKeyNotFound):
		return nil, false, nil
	case err != nil:
		return nil, false, fmt.Errorf("cas: get index %s: %v", index, err)
	}
	return v, true, nil
}

// IndexGetter is implemented by stores with point lookups in their
// indexes; *Store does.
type IndexGetter interface {
	GetIndex(ctx context.Context, index string, key []byte) ([]byte, bool, error)
}

// ScanIndex calls fn, in the caller's goroutine, for each key of the named
// index that starts with prefix, in key order (bytewise). fn may keep key
// and value. An error from fn stops the scan and is returned.
func (s *Store) ScanIndex(ctx context.Context, index string, prefix []byte, fn func(key, value []byte) error) error {
	if err := checkIndexName(index); err != nil {
		return err
	}
	if err := s.enter(); err != nil {
		return err
	}
	defer s.leave()
	p := indexKey(index, prefix)
	skip := len(p) - len(prefix)
	return s.scan(ctx, p, false, func(k, v []byte) error {
		return fn(k[skip:], v)
	})
}

// Stat cache records, under s/<path>:
//
//	size uvarint, mtime varint (Unix ns), inode uvarint, ctime varint
//	(Unix ns), then the 32 bytes of the BLAKE3 digest.
//
// d must be a valid BLAKE3 digest (RememberStat checks it).
func encodeStat(k StatKey, d digest.Digest) []byte {
	sm, _ := toSum(d)
	b := make([]byte, 0, 4*binary.MaxVarintLen64+hashSize)
	b = binary.AppendUvarint(b, uint64(k.Size))
	b = binary.AppendVarint(b, k.Mtime.UnixNano())
	b = binary.AppendUvarint(b, k.Inode)
	b = binary.AppendVarint(b, k.Ctime.UnixNano())
	return append(b, sm[:]...)
}

// statMatches decodes a stat record and reports its digest if it was
// recorded for exactly k.
func statMatches(b []byte, k StatKey) (digest.Digest, bool) {
	size, n := binary.Uvarint(b)
	if n <= 0 || int64(size) != k.Size {
		return "", false
	}
	b = b[n:]
	mt, n := binary.Varint(b)
	if n <= 0 || mt != k.Mtime.UnixNano() {
		return "", false
	}
	b = b[n:]
	ino, n := binary.Uvarint(b)
	if n <= 0 || ino != k.Inode {
		return "", false
	}
	b = b[n:]
	ct, n := binary.Varint(b)
	if n <= 0 || ct != k.Ctime.UnixNano() || len(b[n:]) != hashSize {
		return "", false
	}
	var sm sum
	copy(sm[:], b[n:])
	return sm.digest(), true
}

// LookupStat returns the digest remembered for the file identified by key,
// if every field of key (path, size, mtime, inode, ctime, compared to the
// nanosecond) matches what [Store.RememberStat] recorded and the object is
// still stored. A miss returns "", false, nil.
func (s *Store) LookupStat(ctx context.Context, key StatKey) (digest.Digest, bool, error) {
	if err := s.enter(); err != nil {
		return "", false, err
	}
	defer s.leave()
	if err := ctx.Err(); err != nil {
		return "", false, err
	}
	var d digest.Digest
	var ok bool
	s.statMu.Lock()
	pending, inPending := s.statPending[key.Path]
	s.statMu.Unlock()
	err := s.db.View(func(txn *badger.Txn) error {
		if inPending {
			if d, ok = statMatches(pending, key); !ok {
				return nil
			}
		} else {
			item, err := txn.Get(append([]byte(pfxStat), key.Path...))
			if err != nil {
				return err
			}
			if err := item.Value(func(v []byte) error {
				d, ok = statMatches(v, key)
				d = digest.Digest(strings.Clone(string(d)))
				return nil
			}); err != nil || !ok {
				return err
			}
		}
		sm, err := toSum(d)
		if err != nil {
			ok = false
			return nil
		}
		if _, err := txn.Get(objectKey(sm)); err != nil {
			ok = false
			if errors.Is(err, badger.ErrKeyNotFound) {
				return nil
			}
			return err
		}
		return nil
	})
	if errors.Is(err, badger.ErrKeyNotFound) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("cas: lookup stat %s: %v", key.Path, err)
	}
	if !ok {
		return "", false, nil
	}
	return d, true, nil
}

// RememberStat records that the file identified by key had content d,
// replacing what was recorded for key.Path. Callers should not remember a
// file modified within the timestamp granularity of its file system (the
// "racily clean" problem of git's index): a later change in the same tick
// would go unnoticed. Entries are kept in memory and written in batches of
// statBatch and by Close, so a crash may forget the latest ones (they are
// a cache: the files are read again); LookupStat sees them at once.
func (s *Store) RememberStat(ctx context.Context, key StatKey, d digest.Digest) error {
	if _, err := toSum(d); err != nil {
		return fmt.Errorf("cas: remember stat %s: %w", key.Path, err)
	}
	if key.Path == "" {
		return fmt.Errorf("cas: remember stat: empty path")
	}
	if err := s.enterWrite(); err != nil {
		return err
	}
	defer s.leave()
	if err := ctx.Err(); err != nil {
		return err
	}
	s.statMu.Lock()
	if s.statPending == nil {
		s.statPending = make(map[string][]byte)
	}
	s.statPending[key.Path] = encodeStat(key, d)
	full := len(s.statPending) >= statBatch
	s.statMu.Unlock()
	if full {
		return s.flushStats()
	}
	return nil
}

// statBatch: RememberStat keeps up to this many entries in memory and
// writes them in one batch (a write each would cost a Badger commit per
// file; they are a cache, so a crash that loses them costs only a re-read).
const statBatch = 4096

// flushStats writes the pending stat cache entries. The caller holds
// s.enter (or is Close, before the database closes).
func (s *Store) flushStats() error {
	s.statFlushMu.Lock()
	defer s.statFlushMu.Unlock()
	s.statMu.Lock()
	pending := s.statPending
	s.statPending = nil
	s.statMu.Unlock()
	if len(pending) == 0 {
		return nil
	}
	wb := s.db.NewWriteBatch()
	defer wb.Cancel()
	for path, v := range pending {
		if err := wb.Set(append([]byte(pfxStat), path...), v); err != nil {
			return fmt.Errorf("cas: remember stat: %v", err)
		}
	}
	if err := wb.Flush(); err != nil {
		return fmt.Errorf("cas: remember stat: %v", err)
	}
	return nil
}
