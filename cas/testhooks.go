package cas

// Test-only damage hooks. Other packages' corruption tests (verify, the
// CLI) use these to break a store in precise ways; nothing else may call
// them.

import (
	"context"
	"errors"
	"fmt"
	"os"

	badger "github.com/dgraph-io/badger/v4"
	digest "github.com/opencontainers/go-digest"
)

// CorruptForTest flips (XOR 0xff) one byte of the stored bytes of object
// d: of its inline value when d is stored inline, else of its first
// chunk's value. flipAt is an offset into that value, taken modulo its
// length; offset 0 is the format byte (which makes the value's format
// unknown), any other offset damages the content. For tests only.
func (s *Store) CorruptForTest(ctx context.Context, d digest.Digest, flipAt int) error {
	return s.damage(ctx, d, func(txn *badger.Txn, rec record) error {
		if !rec.chunked {
			enc := rec.encode()
			off := len(enc) - len(rec.inline) + mod(flipAt, len(rec.inline))
			enc[off] ^= 0xff
			return txn.Set(objectKey(mustSum(d)), enc)
		}
		return flipChunk(txn, s.packs, rec.chunks[0].sum, flipAt)
	})
}

// CorruptChunkForTest flips one byte, at flipAt modulo the value's length,
// of the stored value of chunk i of object d. For tests only.
func (s *Store) CorruptChunkForTest(ctx context.Context, d digest.Digest, i, flipAt int) error {
	return s.damage(ctx, d, func(txn *badger.Txn, rec record) error {
		if i < 0 || i >= len(rec.chunks) {
			return fmt.Errorf("cas: %s has %d chunks, no chunk %d", d, len(rec.chunks), i)
		}
		return flipChunk(txn, s.packs, rec.chunks[i].sum, flipAt)
	})
}

// DeleteChunkForTest deletes chunk i of object d, leaving the object's
// record pointing at it. For tests only.
func (s *Store) DeleteChunkForTest(ctx context.Context, d digest.Digest, i int) error {
	return s.damage(ctx, d, func(txn *badger.Txn, rec record) error {
		if i < 0 || i >= len(rec.chunks) {
			return fmt.Errorf("cas: %s has %d chunks, no chunk %d", d, len(rec.chunks), i)
		}
		return txn.Delete(chunkKey(rec.chunks[i].sum))
	})
}

// DeleteObjectForTest deletes the record of object d (not its chunks), as
// if it had never been stored, leaving trees and refs that point at it
// dangling. For tests only.
func (s *Store) DeleteObjectForTest(ctx context.Context, d digest.Digest) error {
	return s.damage(ctx, d, func(txn *badger.Txn, rec record) error {
		return txn.Delete(objectKey(mustSum(d)))
	})
}

// ChunksForTest returns the digests of the chunks object d is stored in
// (none when it is stored inline). For tests only.
func (s *Store) ChunksForTest(ctx context.Context, d digest.Digest) ([]digest.Digest, error) {
	var out []digest.Digest
	err := s.damage(ctx, d, func(txn *badger.Txn, rec record) error {
		for _, c := range rec.chunks {
			out = append(out, c.sum.digest())
		}
		return errReadOnly
	})
	if errors.Is(err, errReadOnly) {
		err = nil
	}
	return out, err
}

var errReadOnly = errors.New("read only")

func (s *Store) damage(ctx context.Context, d digest.Digest, fn func(*badger.Txn, record) error) error {
	if err := s.enter(); err != nil {
		return err
	}
	defer s.leave()
	_, rec, err := s.lookup(ctx, d)
	if err != nil {
		return err
	}
	s.forgetAll()
	return s.db.Update(func(txn *badger.Txn) error { return fn(txn, rec) })
}

func flipChunk(txn *badger.Txn, packs *packSet, cs sum, flipAt int) error {
	item, err := txn.Get(chunkKey(cs))
	if err != nil {
		return fmt.Errorf("cas: chunk %s: %v", cs.digest(), err)
	}
	v, err := item.ValueCopy(nil)
	if err != nil {
		return err
	}
	if len(v) > 0 && v[0] == fmtPack {
		return flipPacked(packs, v, flipAt)
	}
	v[mod(flipAt, len(v))] ^= 0xff
	return txn.Set(chunkKey(cs), v)
}

// flipPacked flips one byte of the pack value ptr points at, in the file.
func flipPacked(packs *packSet, ptr []byte, flipAt int) error {
	p, err := decodePackPtr(ptr)
	if err != nil {
		return err
	}
	if packs == nil {
		return fmt.Errorf("cas: pack pointer in a store without packs")
	}
	f, err := os.OpenFile(packs.path(p.id), os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	off := p.off + int64(mod(flipAt, int(p.len)))
	b := make([]byte, 1)
	if _, err := f.ReadAt(b, off); err != nil {
		return err
	}
	b[0] ^= 0xff
	_, err = f.WriteAt(b, off)
	return err
}

func mod(a, n int) int { return ((a % n) + n) % n }

func mustSum(d digest.Digest) sum {
	s, err := toSum(d)
	if err != nil {
		panic(err)
	}
	return s
}
