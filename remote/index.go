package remote

import (
	"bytes"
	"context"
	"fmt"

	digest "github.com/opencontainers/go-digest"

	"github.com/rigor-dev/rigor/cas"
	"github.com/rigor-dev/rigor/spec"
)

// SHA256Index is the store index that maps a blob's BLAKE3 digest string to
// the lower-case hex SHA-256 of the same bytes. It is the index ingest
// keeps (ingest.SHA256Index); registry pushes read it instead of re-hashing
// and add what they had to hash, and registry pulls add what they
// verified. A test keeps the names equal.
const SHA256Index = "sha256"

// LookupSHA256 returns the SHA-256 the index holds for d, or "" when it
// holds none (or a malformed one).
func LookupSHA256(ctx context.Context, idx cas.Indexer, d digest.Digest) (string, error) {
	key := []byte(d.String())
	var sha string
	err := idx.ScanIndex(ctx, SHA256Index, key, func(k, v []byte) error {
		if bytes.Equal(k, key) {
			sha = string(v)
		}
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("sha256 index: %w", err)
	}
	if !spec.IsHex64(sha) {
		return "", nil
	}
	return sha, nil
}

// RememberSHA256 records that blob d has SHA-256 sha (64 lower-case hex).
func RememberSHA256(ctx context.Context, idx cas.Indexer, d digest.Digest, sha string) error {
	if !spec.IsHex64(sha) {
		return fmt.Errorf("sha256 index: %q is not a hex SHA-256", sha)
	}
	return idx.PutIndex(ctx, SHA256Index, []byte(d.String()), []byte(sha))
}

// ReadIndexEntries returns the index entries of each run, keyed by run id:
// its summary in the runs index (nil when it has none) and its lineage
// entries. The lineage indexes are scanned once for all runs. Lineage
// entries that do not validate (a link path outside the run, as early
// recorders wrote) are left out.
func ReadIndexEntries(ctx context.Context, idx cas.Indexer, runs []Run) (map[string]*spec.RunIndexEntries, error) {
	out := make(map[string]*spec.RunIndexEntries, len(runs))
	for _, r := range runs {
		e := &spec.RunIndexEntries{Schema: spec.SchemaRunIndex, RunID: r.RunID, Ref: r.Ref, Root: r.Root,
			LineageIn: []spec.IndexEntry{}, LineageOut: []spec.IndexEntry{}}
		key := []byte(r.RunID)
		var sumErr error
		err := idx.ScanIndex(ctx, spec.RunsIndex, key, func(k, v []byte) error {
			if bytes.Equal(k, key) {
				e.Summary, sumErr = spec.DecodeRunSummary(v)
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("run %s: runs index: %w", r.RunID, err)
		}
		if sumErr != nil {
			return nil, fmt.Errorf("run %s: runs index entry: %w", r.RunID, sumErr)
		}
		if e.Summary != nil && (e.Summary.Ref != r.Ref || e.Summary.Root != r.Root) {
			// The summary belongs to another recording of this run id (a
			// replaced run); do not carry it.
			e.Summary = nil
		}
		out[r.RunID] = e
	}
	for _, side := range []struct {
		index string
		add   func(e *spec.RunIndexEntries, en spec.IndexEntry)
	}{
		{spec.LineageInIndex, func(e *spec.RunIndexEntries, en spec.IndexEntry) { e.LineageIn = append(e.LineageIn, en) }},
		{spec.LineageOutIndex, func(e *spec.RunIndexEntries, en spec.IndexEntry) { e.LineageOut = append(e.LineageOut, en) }},
	} {
		err := idx.ScanIndex(ctx, side.index, nil, func(k, v []byte) error {
			content, runID, ok := spec.ParseLineageKey(k)
			if !ok {
				return nil
			}
			e := out[runID]
			if e == nil {
				return nil
			}
			link, err := spec.DecodeLineageLink(v)
			if err != nil {
				return fmt.Errorf("run %s: %s entry of %s: %w", runID, side.index, content, err)
			}
			if _, err := link.Encode(); err != nil || !spec.ValidDigest(digest.Digest(content)) {
				// Written by an older recorder (an absolute source path):
				// not carried, the receiving side's verify reports it.
				return nil
			}
			side.add(e, spec.IndexEntry{Content: content, Link: *link})
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// indexDeleter is the optional capability that lets a forced replacement
// drop the old run's index entries; *cas.Store has it.
type indexDeleter interface {
	DeleteIndex(ctx context.Context, index string, key []byte) error
}

// WriteIndexEntries writes e into idx: the summary (when there is one)
// under the run id in the runs index, with the run-io entry derived from
// the lineage entries, and every lineage entry. With
// replace, lineage entries of the same run id that e does not hold are
// deleted first (when idx can delete), so a replaced run leaves no stale
// lineage behind.
func WriteIndexEntries(ctx context.Context, idx cas.Indexer, e *spec.RunIndexEntries, replace bool) error {
	if err := e.Validate(); err != nil {
		return err
	}
	if del, ok := idx.(indexDeleter); ok && replace {
		suffix := append([]byte{0}, e.RunID...)
		for _, index := range []string{spec.LineageInIndex, spec.LineageOutIndex} {
			var stale [][]byte
			err := idx.ScanIndex(ctx, index, nil, func(k, _ []byte) error {
				if bytes.HasSuffix(k, suffix) {
					stale = append(stale, bytes.Clone(k))
				}
				return nil
			})
			if err != nil {
				return err
			}
			for _, k := range stale {
				if err := del.DeleteIndex(ctx, index, k); err != nil {
					return err
				}
			}
		}
		if e.Summary == nil {
			for _, index := range []string{spec.RunsIndex, spec.RunIOIndex} {
				if err := del.DeleteIndex(ctx, index, []byte(e.RunID)); err != nil {
					return err
				}
			}
		}
	}
	if e.Summary != nil {
		v, err := e.Summary.Encode()
		if err != nil {
			return fmt.Errorf("run %s: summary: %w", e.RunID, err)
		}
		if err := idx.PutIndex(ctx, spec.RunsIndex, []byte(e.RunID), v); err != nil {
			return err
		}
		// The run's run-io entry follows from its lineage entries: a pulled
		// run gets it as a recorded one does (and a replaced run's is new).
		rio := spec.RunIOOf(e.LineageIn, e.LineageOut)
		rv, err := rio.Encode()
		if err != nil {
			return fmt.Errorf("run %s: %w", e.RunID, err)
		}
		if err := idx.PutIndex(ctx, spec.RunIOIndex, []byte(e.RunID), rv); err != nil {
			return err
		}
	}
	for _, side := range []struct {
		index   string
		entries []spec.IndexEntry
	}{{spec.LineageInIndex, e.LineageIn}, {spec.LineageOutIndex, e.LineageOut}} {
		for _, en := range side.entries {
			v, err := en.Link.Encode()
			if err != nil {
				return fmt.Errorf("run %s: %w", e.RunID, err)
			}
			if err := idx.PutIndex(ctx, side.index, spec.LineageKey(en.Content, e.RunID), v); err != nil {
				return err
			}
		}
	}
	return nil
}
