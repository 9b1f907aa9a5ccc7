package main

import (
	"context"
	"errors"

	digest "github.com/opencontainers/go-digest"

	"github.com/rigor-dev/rigor/cas"
)

const digestHint = "give a full blake3:<64 hex> digest or a unique prefix of 8 or more hex digits"

// resolveDigest turns a command-line digest or prefix into a stored object's
// digest. Malformed, unknown and ambiguous arguments are usage errors.
func resolveDigest(ctx context.Context, s *cas.Store, arg string) (digest.Digest, error) {
	d, err := s.Resolve(ctx, arg)
	switch {
	case err == nil:
		return d, nil
	case errors.Is(err, cas.ErrBadDigest), errors.Is(err, cas.ErrUnsupported):
		return "", usagef(digestHint, "malformed digest %q: %v", arg, err)
	case errors.Is(err, cas.ErrAmbiguous):
		return "", usagef("give more hex digits to make the prefix unique", "%v", err)
	case errors.Is(err, cas.ErrNotFound):
		return "", usagef("list stored objects with 'rigor ls' or 'rigor runs'", "unknown digest %q: no stored object has it", arg)
	default:
		return "", err
	}
}
