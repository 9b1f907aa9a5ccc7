package verify

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	digest "github.com/opencontainers/go-digest"

	"github.com/rigor-dev/rigor/cas"
	"github.com/rigor-dev/rigor/spec"
)

// Catalog is the store's record of runs: the refs runs/<row>/seed-<n>/
// attempt-<k> and the indexes [spec.RunsIndex], [spec.LineageInIndex] and
// [spec.LineageOutIndex]. *cas.Store satisfies it.
type Catalog interface {
	cas.Indexer
	GetRef(ctx context.Context, name string) (digest.Digest, error)
	ListRefs(ctx context.Context, prefix string, fn func(name string, d digest.Digest) error) error
}

// resolver is the optional capability of turning a digest prefix into a
// stored object's digest; *cas.Store has it.
type resolver interface {
	Resolve(ctx context.Context, s string) (digest.Digest, error)
}

// RunInfo names a stored run.
type RunInfo struct {
	// RunID and Ref are empty for a bundle named only by its digest.
	RunID string        `json:"run_id,omitempty"`
	Ref   string        `json:"ref,omitempty"`
	Root  digest.Digest `json:"root"`
	// Summary is the run's entry in the runs index, nil when it has none.
	Summary *spec.RunSummary `json:"summary,omitempty"`
}

// Name is how problems and reports name the run: its run id, else its
// root digest.
func (r RunInfo) Name() string {
	if r.RunID != "" {
		return r.RunID
	}
	return r.Root.String()
}

const runsRefPrefix = "runs/"

// parseRunRef splits "runs/<row>/seed-<n>/attempt-<k>" into a run id.
func parseRunRef(ref string) (string, bool) {
	parts := strings.Split(strings.TrimPrefix(ref, runsRefPrefix), "/")
	if !strings.HasPrefix(ref, runsRefPrefix) || len(parts) != 3 {
		return "", false
	}
	id := parts[0] + "__" + parts[1] + "__" + parts[2]
	row, seed, attempt, ok := spec.ParseRunID(id)
	if !ok || spec.RunRef(row, seed, attempt) != ref {
		return "", false
	}
	return id, true
}

// FindRun resolves what a user typed into a run: a run id
// ("EXP-01__seed-42__attempt-1"), a ref ("runs/EXP-01/seed-42/attempt-1"),
// or, when cat can resolve digests (as *cas.Store can), the digest of a run
// bundle or a unique prefix of 8 or more hex digits. It returns an error
// wrapping [ErrRunNotFound] when nothing matches and [ErrAmbiguous] for an
// ambiguous prefix. The run's summary is attached when the runs index has
// one.
func FindRun(ctx context.Context, cat Catalog, arg string) (RunInfo, error) {
	var info RunInfo
	switch {
	case strings.HasPrefix(arg, runsRefPrefix):
		id, ok := parseRunRef(arg)
		if !ok {
			return info, fmt.Errorf("%q is not a run ref runs/<row>/seed-<n>/attempt-<k>: %w", arg, ErrRunNotFound)
		}
		info.RunID, info.Ref = id, arg
	default:
		if row, seed, attempt, ok := spec.ParseRunID(arg); ok {
			info.RunID, info.Ref = arg, spec.RunRef(row, seed, attempt)
		}
	}
	if info.Ref != "" {
		root, err := cat.GetRef(ctx, info.Ref)
		if errors.Is(err, cas.ErrRefNotFound) {
			return info, fmt.Errorf("run %s: %w", arg, ErrRunNotFound)
		}
		if err != nil {
			return info, err
		}
		info.Root = root
		sum, err := LookupSummary(ctx, cat, info.RunID)
		if err != nil {
			return info, err
		}
		info.Summary = sum
		return info, nil
	}
	res, ok := cat.(resolver)
	if !ok {
		return info, fmt.Errorf("%q is not a run id or run ref: %w", arg, ErrRunNotFound)
	}
	d, err := res.Resolve(ctx, arg)
	switch {
	case errors.Is(err, cas.ErrAmbiguous):
		return info, fmt.Errorf("%w: %v", ErrAmbiguous, err)
	case errors.Is(err, cas.ErrBadDigest), errors.Is(err, cas.ErrUnsupported):
		return info, fmt.Errorf("%q is not a run id, run ref or digest: %w", arg, ErrRunNotFound)
	case errors.Is(err, cas.ErrNotFound):
		return info, fmt.Errorf("%q: no run id, run ref or stored object matches: %w", arg, ErrRunNotFound)
	case err != nil:
		return info, err
	}
	info.Root = d
	return info, nil
}

// AllRuns lists every recorded run (every ref under runs/), in ref order,
// with its summary when the runs index has one.
func AllRuns(ctx context.Context, cat Catalog) ([]RunInfo, error) {
	var out []RunInfo
	err := cat.ListRefs(ctx, runsRefPrefix, func(name string, d digest.Digest) error {
		id, ok := parseRunRef(name)
		if !ok {
			return nil // not a run attempt ref
		}
		out = append(out, RunInfo{RunID: id, Ref: name, Root: d})
		return nil
	})
	if err != nil {
		return nil, err
	}
	for i := range out {
		sum, err := LookupSummary(ctx, cat, out[i].RunID)
		if err != nil {
			return nil, err
		}
		out[i].Summary = sum
	}
	return out, nil
}

// LookupSummary returns the runs-index entry of runID, or nil when there
// is none. An entry that does not decode is an error.
func LookupSummary(ctx context.Context, idx cas.Indexer, runID string) (*spec.RunSummary, error) {
	v, ok, err := lookupIndex(ctx, idx, spec.RunsIndex, []byte(runID))
	if err != nil || !ok {
		return nil, err
	}
	s, err := spec.DecodeRunSummary(v)
	if err != nil {
		return nil, fmt.Errorf("verify: runs index entry %s: %w", runID, err)
	}
	return s, nil
}

// RunFilter selects runs for [ListRuns]. The zero value selects every run.
type RunFilter struct {
	// Row keeps the runs of one matrix row.
	Row string
	// Seed, if set, keeps the runs with this seed value.
	Seed *int64
	// Status, if set, keeps the runs with this status (completed, failed
	// or aborted).
	Status string
	// Input keeps the runs that used the content with this digest
	// ("blake3:…" or "sha256:…") as an input.
	Input string
}

func (f RunFilter) keeps(s *spec.RunSummary) bool {
	return (f.Seed == nil || s.Seed.Value == *f.Seed) && (f.Status == "" || s.Status == f.Status)
}

// sortRuns orders summaries by row, seed and attempt.
func sortRuns(runs []spec.RunSummary) {
	slices.SortFunc(runs, func(a, b spec.RunSummary) int {
		return cmp.Or(strings.Compare(a.Row, b.Row), cmp.Compare(a.Seed.Value, b.Seed.Value), cmp.Compare(a.Attempt, b.Attempt))
	})
}

// ListRuns returns the summaries of the recorded runs that pass f, sorted
// by row, seed and attempt. It reads only the indexes: the runs of a row are one prefix
// scan of the runs index, the users of an input one prefix scan of the
// lineage-in index; no run bundle is read.
func ListRuns(ctx context.Context, idx cas.Indexer, f RunFilter) ([]spec.RunSummary, error) {
	var out []spec.RunSummary
	if f.Input != "" {
		ids, err := runsLinked(ctx, idx, spec.LineageInIndex, f.Input)
		if err != nil {
			return nil, err
		}
		for _, id := range ids {
			if f.Row != "" && !strings.HasPrefix(id, string(spec.RowPrefix(f.Row))) {
				continue
			}
			sum, err := LookupSummary(ctx, idx, id)
			if err != nil {
				return nil, err
			}
			if sum != nil && f.keeps(sum) {
				out = append(out, *sum)
			}
		}
		sortRuns(out)
		return out, nil
	}
	var prefix []byte
	if f.Row != "" {
		prefix = spec.RowPrefix(f.Row)
	}
	err := idx.ScanIndex(ctx, spec.RunsIndex, prefix, func(k, v []byte) error {
		s, err := spec.DecodeRunSummary(v)
		if err != nil {
			return fmt.Errorf("verify: runs index entry %s: %w", k, err)
		}
		if f.keeps(s) {
			out = append(out, *s)
		}
		return nil
	})
	sortRuns(out)
	return out, err
}

// RunsUsing returns the summaries of the runs that used content (a
// "blake3:…" or "sha256:…" digest) as an input, sorted as ListRuns: the
// query behind rigor runs --input.
func RunsUsing(ctx context.Context, idx cas.Indexer, content string) ([]spec.RunSummary, error) {
	return ListRuns(ctx, idx, RunFilter{Input: content})
}

// runsLinked returns the run ids under content in a lineage index, sorted
// and distinct.
func runsLinked(ctx context.Context, idx cas.Indexer, index, content string) ([]string, error) {
	var ids []string
	err := idx.ScanIndex(ctx, index, spec.LineagePrefix(content), func(k, _ []byte) error {
		if _, id, ok := spec.ParseLineageKey(k); ok {
			ids = append(ids, id)
		}
		return nil
	})
	slices.Sort(ids)
	return slices.Compact(ids), err
}
