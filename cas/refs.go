package cas

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"

	badger "github.com/dgraph-io/badger/v4"
	digest "github.com/opencontainers/go-digest"
)

const maxRefName = 1024

// CheckRefName reports whether name is a valid ref name: slash-separated
// elements such as "runs/EXP-01/seed-42/attempt-1", with no empty, "." or
// ".." element, no leading or trailing "/", no NUL or other control
// character, at most 1024 bytes. The error wraps [ErrBadRefName].
func CheckRefName(name string) error {
	if name == "" {
		return fmt.Errorf("%w: empty name", ErrBadRefName)
	}
	if len(name) > maxRefName {
		return fmt.Errorf("%w: %d bytes exceeds %d", ErrBadRefName, len(name), maxRefName)
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; c < 0x20 || c == 0x7f {
			return fmt.Errorf("%w: %q contains control character 0x%02x", ErrBadRefName, name, c)
		}
	}
	for _, el := range strings.Split(name, "/") {
		switch el {
		case "":
			return fmt.Errorf("%w: %q has an empty element (leading, trailing or double '/')", ErrBadRefName, name)
		case ".", "..":
			return fmt.Errorf("%w: %q has a %q element", ErrBadRefName, name, el)
		}
	}
	return nil
}

func refKey(name string) []byte { return append([]byte(pfxRef), name...) }

// GetRef returns the digest ref name points at, or an error wrapping
// [ErrRefNotFound] if it is unset ([ErrBadRefName] for an invalid name).
func (s *Store) GetRef(ctx context.Context, name string) (digest.Digest, error) {
	if err := CheckRefName(name); err != nil {
		return "", err
	}
	if err := s.enter(); err != nil {
		return "", err
	}
	defer s.leave()
	if err := ctx.Err(); err != nil {
		return "", err
	}
	var d digest.Digest
	err := s.db.View(func(txn *badger.Txn) error {
		var err error
		d, err = getRefTxn(txn, name)
		return err
	})
	return d, err
}

func getRefTxn(txn *badger.Txn, name string) (digest.Digest, error) {
	item, err := txn.Get(refKey(name))
	if errors.Is(err, badger.ErrKeyNotFound) {
		return "", fmt.Errorf("%s: %w", name, ErrRefNotFound)
	}
	if err != nil {
		return "", fmt.Errorf("cas: ref %s: %v", name, err)
	}
	v, err := item.ValueCopy(nil)
	if err != nil {
		return "", fmt.Errorf("cas: ref %s: %v", name, err)
	}
	return digest.Digest(v), nil
}

// SetRef points name at new if it currently points at old, where old ""
// means the ref must not exist. Otherwise it returns an error wrapping
// [ErrRefConflict] and changes nothing. new must be a stored object
// ([ErrNotFound] otherwise). The check and the update are one transaction,
// retried on Badger write conflicts, so concurrent SetRefs on one name
// serialise: exactly one of two racing updates from the same old wins.
func (s *Store) SetRef(ctx context.Context, name string, old, new digest.Digest) error {
	if err := CheckRefName(name); err != nil {
		return err
	}
	sm, err := toSum(new)
	if err != nil {
		return fmt.Errorf("cas: set ref %s: %w", name, err)
	}
	return s.updateRef(ctx, name, old, false, func(txn *badger.Txn, cur digest.Digest) error {
		if _, err := txn.Get(objectKey(sm)); errors.Is(err, badger.ErrKeyNotFound) {
			return fmt.Errorf("cas: set ref %s: %s: %w", name, new, ErrNotFound)
		} else if err != nil {
			return err
		}
		return txn.Set(refKey(name), []byte(new))
	})
}

// DeleteRef removes name if it currently points at old; old "" deletes it
// whatever it points at. It returns an error wrapping [ErrRefNotFound] if
// name is unset and [ErrRefConflict] if it points elsewhere.
func (s *Store) DeleteRef(ctx context.Context, name string, old digest.Digest) error {
	if err := CheckRefName(name); err != nil {
		return err
	}
	return s.updateRef(ctx, name, old, true, func(txn *badger.Txn, cur digest.Digest) error {
		if cur == "" {
			return fmt.Errorf("%s: %w", name, ErrRefNotFound)
		}
		return txn.Delete(refKey(name))
	})
}

// updateRef runs apply in a transaction after checking that name points
// at old ("" meaning unset), retrying on conflicts. With anyIfEmpty, an
// empty old skips the check. apply gets the current value ("" if unset).
func (s *Store) updateRef(ctx context.Context, name string, old digest.Digest, anyIfEmpty bool, apply func(*badger.Txn, digest.Digest) error) error {
	if err := s.enterWrite(); err != nil {
		return err
	}
	defer s.leave()
	s.gcMu.RLock()
	defer s.gcMu.RUnlock()
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		err := s.db.Update(func(txn *badger.Txn) error {
			cur, err := getRefTxn(txn, name)
			switch {
			case errors.Is(err, ErrRefNotFound):
				cur = ""
			case err != nil:
				return err
			}
			if cur != old && !(anyIfEmpty && old == "") {
				switch {
				case cur == "" && anyIfEmpty:
					return fmt.Errorf("%s: %w", name, ErrRefNotFound)
				case cur == "":
					return fmt.Errorf("%s: is unset, not %s: %w", name, old, ErrRefConflict)
				case old == "":
					return fmt.Errorf("%s: exists (points at %s): %w", name, cur, ErrRefConflict)
				}
				return fmt.Errorf("%s: points at %s, not %s: %w", name, cur, old, ErrRefConflict)
			}
			return apply(txn, cur)
		})
		if errors.Is(err, badger.ErrConflict) {
			continue
		}
		return err
	}
}

// ListRefs calls fn, in the caller's goroutine, for each ref whose name
// starts with prefix, in name order. An error from fn stops the listing and
// is returned. fn may call other methods of the Store.
func (s *Store) ListRefs(ctx context.Context, prefix string, fn func(name string, d digest.Digest) error) error {
	if err := s.enter(); err != nil {
		return err
	}
	defer s.leave()
	return s.scan(ctx, refKey(prefix), false, func(k, v []byte) error {
		return fn(string(k[len(pfxRef):]), digest.Digest(v))
	})
}

// scan calls fn with each key (and value, unless keysOnly) under prefix, in
// key order. It reads in batches, so fn runs outside any transaction and
// long scans do not pin old data.
func (s *Store) scan(ctx context.Context, prefix []byte, keysOnly bool, fn func(k, v []byte) error) error {
	const batch = 512
	seek := bytes.Clone(prefix)
	type kv struct{ k, v []byte }
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		var got []kv
		err := s.db.View(func(txn *badger.Txn) error {
			opt := badger.DefaultIteratorOptions
			opt.Prefix = prefix
			opt.PrefetchValues = !keysOnly
			opt.PrefetchSize = 64
			it := txn.NewIterator(opt)
			defer it.Close()
			for it.Seek(seek); it.ValidForPrefix(prefix) && len(got) < batch; it.Next() {
				item := it.Item()
				k := item.KeyCopy(nil)
				var v []byte
				if !keysOnly {
					var err error
					if v, err = item.ValueCopy(nil); err != nil {
						return err
					}
				}
				got = append(got, kv{k, v})
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("cas: scan: %v", err)
		}
		for i, e := range got {
			if i%64 == 0 {
				if err := ctx.Err(); err != nil {
					return err
				}
			}
			if err := fn(e.k, e.v); err != nil {
				return err
			}
		}
		if len(got) < batch {
			return nil
		}
		seek = append(got[len(got)-1].k, 0) // the next possible key
	}
}
