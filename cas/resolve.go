package cas

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	digest "github.com/opencontainers/go-digest"
)

// minPrefix is the shortest hex prefix Resolve accepts.
const minPrefix = 8

// Resolve turns what a user typed into the digest of a stored object: a
// full digest, or a hex prefix of at least 8 digits, with or without
// "blake3:", as git abbreviates commits. It returns an error wrapping
// [ErrBadDigest] for fewer than 8 hex digits or non-hex input,
// [ErrUnsupported] for another algorithm, [ErrNotFound] if nothing matches
// and [ErrAmbiguous] if several objects do.
func (s *Store) Resolve(ctx context.Context, str string) (digest.Digest, error) {
	hexPart := strings.ToLower(str)
	if alg, enc, ok := strings.Cut(hexPart, ":"); ok {
		if digest.Algorithm(alg) != BLAKE3 {
			return "", fmt.Errorf("%q: %w (the store holds blake3 digests)", str, ErrUnsupported)
		}
		hexPart = enc
	}
	if len(hexPart) < minPrefix || len(hexPart) > 2*hashSize || !isLowerHex(hexPart) {
		return "", fmt.Errorf("%q: %w (want %d to %d hex digits, optionally after blake3:)", str, ErrBadDigest, minPrefix, 2*hashSize)
	}
	if err := s.enter(); err != nil {
		return "", err
	}
	defer s.leave()
	if err := ctx.Err(); err != nil {
		return "", err
	}
	if len(hexPart) == 2*hashSize {
		d := digest.Digest(blake3Pfx + hexPart)
		ok, err := s.Has(ctx, d)
		if err != nil {
			return "", err
		}
		if !ok {
			return "", fmt.Errorf("%s: %w", d, ErrNotFound)
		}
		return d, nil
	}
	whole, _ := hex.DecodeString(hexPart[:len(hexPart)&^1])
	prefix := append([]byte(pfxObject), whole...)
	var found []digest.Digest
	errStop := errors.New("stop")
	err := s.scan(ctx, prefix, true, func(k, _ []byte) error {
		var sm sum
		copy(sm[:], k[len(pfxObject):])
		d := sm.digest()
		if !strings.HasPrefix(d.Encoded(), hexPart) {
			return nil
		}
		found = append(found, d)
		if len(found) > 1 {
			return errStop
		}
		return nil
	})
	if err != nil && err != errStop {
		return "", err
	}
	switch len(found) {
	case 0:
		return "", fmt.Errorf("%q: %w", str, ErrNotFound)
	case 1:
		return found[0], nil
	default:
		return "", fmt.Errorf("%q: %w (matches %s and %s at least; type more digits)", str, ErrAmbiguous, found[0], found[1])
	}
}
