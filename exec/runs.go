package exec

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strings"

	digest "github.com/opencontainers/go-digest"

	"github.com/rigor-dev/rigor/cas"
	"github.com/rigor-dev/rigor/spec"
)

// RunFilter selects runs; a zero field matches every run.
type RunFilter struct {
	Row    string
	Seed   *int64
	Status string // completed, failed or aborted
}

// ListRuns returns the summaries of the recorded runs that f selects,
// from the "runs" index (no bundle is read), ordered by row, seed and
// attempt. A summary that does not decode is an error naming its key.
func ListRuns(ctx context.Context, idx cas.Indexer, f RunFilter) ([]spec.RunSummary, error) {
	var prefix string
	if f.Row != "" {
		prefix = f.Row + "__seed-"
		if f.Seed != nil {
			prefix += fmt.Sprintf("%d__attempt-", *f.Seed)
		}
	}
	var out []spec.RunSummary
	err := idx.ScanIndex(ctx, spec.RunsIndex, []byte(prefix), func(key, value []byte) error {
		s, err := spec.DecodeRunSummary(value)
		if err != nil {
			return fmt.Errorf("exec: runs index entry %q: %w", key, err)
		}
		if f.Seed != nil && s.Seed.Value != *f.Seed || f.Status != "" && s.Status != f.Status {
			return nil
		}
		out = append(out, *s)
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b spec.RunSummary) int {
		return cmp.Or(strings.Compare(a.Row, b.Row), cmp.Compare(a.Seed.Value, b.Seed.Value), cmp.Compare(a.Attempt, b.Attempt))
	})
	return out, nil
}

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
	if _, err := lookup(ctx, s, d, "manifest.json", nil); err != nil {
		if errors.Is(err, cas.ErrNotTree) || errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("%s: %w", d, ErrNotRun)
		}
		return "", err
	}
	return d, nil
}
