package exec

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"

	digest "github.com/opencontainers/go-digest"

	"github.com/rigor-dev/rigor/cas"
	"github.com/rigor-dev/rigor/spec"
)

// runFinder is what [FindRun] needs of a store.
type runFinder interface {
	bundleReader
	GetRef(ctx context.Context, name string) (digest.Digest, error)
	ScanIndex(ctx context.Context, index string, prefix []byte, fn func(key, value []byte) error) error
	Resolve(ctx context.Context, s string) (digest.Digest, error)
}

// FindRun resolves what a user names a run by to its bundle's root: a ref
// ("runs/EXP-01/seed-42/attempt-1"), a run id ("EXP-01__seed-42__attempt-1")
// or a digest or unique digest prefix of the root. It returns an error
// wrapping [ErrRunNotFound] for an unknown ref or run id, [ErrNotRun] for a
// digest that is not a run bundle, and the store's errors for a malformed,
// unknown or ambiguous digest (cas.ErrBadDigest, cas.ErrNotFound,
// cas.ErrAmbiguous).
func FindRun(ctx context.Context, s runFinder, arg string) (digest.Digest, error) {
	if strings.HasPrefix(arg, "runs/") {
		d, err := s.GetRef(ctx, arg)
		if errors.Is(err, cas.ErrRefNotFound) || errors.Is(err, cas.ErrBadRefName) {
			return "", fmt.Errorf("%s: %w", arg, ErrRunNotFound)
		}
		return d, err
	}
	if _, _, _, ok := spec.ParseRunID(arg); ok {
		var root digest.Digest
		err := s.ScanIndex(ctx, spec.RunsIndex, []byte(arg), func(key, value []byte) error {
			if string(key) != arg {
				return nil
			}
			sum, err := spec.DecodeRunSummary(value)
			if err != nil {
				return fmt.Errorf("exec: runs index entry %q: %w", key, err)
			}
			root = sum.Root
			return nil
		})
		if err != nil {
			return "", err
		}
		if root == "" {
			return "", fmt.Errorf("%s: %w", arg, ErrRunNotFound)
		}
		return root, nil
	}
	d, err := s.Resolve(ctx, arg)
	if err != nil {
		return "", err
	}
	if _, err := cas.Find(ctx, s, d, "manifest.json", nil); err != nil {
		if errors.Is(err, cas.ErrNotTree) || errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("%s: %w", d, ErrNotRun)
		}
		return "", err
	}
	return d, nil
}
