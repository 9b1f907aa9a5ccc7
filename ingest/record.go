package ingest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	digest "github.com/opencontainers/go-digest"

	"github.com/rigor-dev/rigor/cas"
	"github.com/rigor-dev/rigor/spec"
)

// runRecorder is what registering a run needs of a store; *cas.Store
// satisfies it.
type runRecorder interface {
	cas.Refs
	cas.Indexer
}

// LineageItem is one piece of content a run used (an input) or produced
// (an artifact), as recorded in the lineage indexes.
type LineageItem struct {
	// Digest is the BLAKE3 digest of the content (its store identity).
	Digest digest.Digest
	// SHA256 is the lower-case hex SHA-256 of the same bytes; "" when not
	// known, in which case no "sha256:" key is written.
	SHA256 string
	// Path is where the content sits in the run bundle, relative to its
	// root ("inputs/data/train.csv", "predictions.csv").
	Path string
	// Kind says what an input is: spec.LineageInput (the default),
	// LineageConfig or LineageCode; Role is the role of an input. Name is
	// the artifact name of an output.
	Kind string
	Role string
	Name string
}

// RunEntry is a stored run bundle to be registered by [RecordRun].
type RunEntry struct {
	// Summary is the run's entry in the "runs" index. Its RunID, Ref and
	// Root name the run.
	Summary spec.RunSummary
	// Inputs and Outputs are indexed in "lineage-in" and "lineage-out".
	Inputs  []LineageItem
	Outputs []LineageItem
}

// RecordRun registers the run bundle e.Summary.Root as a run, the one way
// every recorder (rigor run, rigor import) should do it: it points the ref
// e.Summary.Ref at the root, creating it (a ref that already exists gives
// an error wrapping [cas.ErrRefConflict] and nothing is written), then
// writes the run's summary to the [spec.RunsIndex] index under its run id
// and one [spec.LineageInIndex] / [spec.LineageOutIndex] entry per input and
// output (values as [spec.LineageLink]), under its "blake3:" digest and,
// when its SHA-256 is known, its "sha256:" digest too, and the run's
// [spec.RunIOIndex] entry (its data inputs and outputs, for lineage). The summary must
// validate. If an index write fails after the ref was set, the error
// is returned and the run stays reachable by its ref; rigor verify reports
// the missing index entry.
func RecordRun(ctx context.Context, s runRecorder, e RunEntry) error {
	sum := e.Summary
	if sum.Schema == "" {
		sum.Schema = spec.SchemaRunSummary
	}
	val, err := sum.Encode()
	if err != nil {
		return fmt.Errorf("ingest: record run: %w", err)
	}
	type entry struct {
		index string
		key   []byte
		val   []byte
	}
	var entries []entry
	var linksIn, linksOut []spec.IndexEntry
	for _, side := range []struct {
		index string
		items []LineageItem
		input bool
	}{{spec.LineageInIndex, e.Inputs, true}, {spec.LineageOutIndex, e.Outputs, false}} {
		for _, it := range side.items {
			link := spec.LineageLink{Path: it.Path}
			if side.input {
				link.Kind, link.Role = it.Kind, it.Role
				if link.Kind == "" {
					link.Kind = spec.LineageInput
				}
			} else {
				link.Name = it.Name
			}
			v, err := link.Encode()
			if err != nil {
				return fmt.Errorf("ingest: record run %s: lineage of %s: %w", sum.RunID, it.Path, err)
			}
			if !spec.ValidDigest(it.Digest) {
				return fmt.Errorf("ingest: record run %s: lineage of %s: bad digest %q", sum.RunID, it.Path, it.Digest)
			}
			entries = append(entries, entry{side.index, spec.LineageKey(it.Digest.String(), sum.RunID), v})
			if sd := spec.SHA256Digest(it.SHA256); sd != "" {
				entries = append(entries, entry{side.index, spec.LineageKey(sd, sum.RunID), v})
			}
			ie := spec.IndexEntry{Content: it.Digest.String(), Link: link}
			if side.input {
				linksIn = append(linksIn, ie)
			} else {
				linksOut = append(linksOut, ie)
			}
		}
	}
	rio := spec.RunIOOf(linksIn, linksOut)
	rioVal, err := rio.Encode()
	if err != nil {
		return fmt.Errorf("ingest: record run %s: %w", sum.RunID, err)
	}
	entries = append(entries, entry{spec.RunIOIndex, []byte(sum.RunID), rioVal})
	if err := s.SetRef(ctx, sum.Ref, "", sum.Root); err != nil {
		return fmt.Errorf("ingest: record run %s: %w", sum.RunID, err)
	}
	if err := s.PutIndex(ctx, spec.RunsIndex, []byte(sum.RunID), val); err != nil {
		return fmt.Errorf("ingest: record run %s: %w", sum.RunID, err)
	}
	for _, en := range entries {
		if err := s.PutIndex(ctx, en.index, en.key, en.val); err != nil {
			return fmt.Errorf("ingest: record run %s: %w", sum.RunID, err)
		}
	}
	return nil
}

// LineageFromManifest lists the inputs (the config, then inputs[]) and
// outputs (every non-null artifact) of a run manifest as lineage items, as
// rigor run indexes them. The BLAKE3 digest of each comes from the
// manifest's blake3 member or, when that is absent, from digests, keyed by
// the cleaned path (see [spec.RunRelPath]); an item whose digest is known
// neither way is left out. When digests holds "code" (the digest of the
// bundle's code/ tree) it is listed as the code input.
func LineageFromManifest(m *spec.RunManifest, digests map[string]digest.Digest) (inputs, outputs []LineageItem) {
	find := func(p, b3 string) (string, digest.Digest, bool) {
		rel, ok := spec.RunRelPath(p)
		if !ok {
			return "", "", false
		}
		if d := digest.Digest(b3); b3 != "" && spec.ValidDigest(d) {
			return rel, d, true
		}
		d, ok := digests[rel]
		return rel, d, ok
	}
	if m.Config != nil {
		if rel, d, ok := find(m.Config.Path, m.Config.BLAKE3); ok {
			inputs = append(inputs, LineageItem{Digest: d, Path: rel, Kind: spec.LineageConfig})
		}
	}
	if d, ok := digests["code"]; ok {
		inputs = append(inputs, LineageItem{Digest: d, Path: "code", Kind: spec.LineageCode})
	}
	for _, in := range m.Inputs {
		if rel, d, ok := find(in.Path, in.BLAKE3); ok {
			inputs = append(inputs, LineageItem{Digest: d, SHA256: in.SHA256, Path: rel, Kind: spec.LineageInput, Role: in.Role})
		}
	}
	names := make([]string, 0, len(m.Artifacts))
	for name, a := range m.Artifacts {
		if a != nil {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	for _, name := range names {
		a := m.Artifacts[name]
		if rel, d, ok := find(a.Path, a.BLAKE3); ok {
			outputs = append(outputs, LineageItem{Digest: d, SHA256: a.SHA256, Path: rel, Name: name})
		}
	}
	return inputs, outputs
}

// NextAttempt returns the attempt number the next run of row and seed
// gets: one more than the highest recorded under runs/<row>/seed-<n>/ or
// reserved in [spec.ReservationsIndex] by a rigor run still running, or 1.
func NextAttempt(ctx context.Context, s runRecorder, row string, seed int64) (int, error) {
	prefix := fmt.Sprintf("runs/%s/seed-%d/attempt-", row, seed)
	highest := 0
	err := s.ListRefs(ctx, prefix, func(name string, _ digest.Digest) error {
		if n, err := strconv.Atoi(strings.TrimPrefix(name, prefix)); err == nil {
			highest = max(highest, n)
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	kp := spec.ReservationPrefix(row, seed)
	err = s.ScanIndex(ctx, spec.ReservationsIndex, kp, func(key, _ []byte) error {
		if n, err := strconv.Atoi(string(key[len(kp):])); err == nil {
			highest = max(highest, n)
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return highest + 1, nil
}

// recordNewAttempt registers e under the next free attempt of its row and
// seed (setting the summary's Attempt, RunID and Ref), retrying when a
// concurrent recorder takes the same number.
func recordNewAttempt(ctx context.Context, s runRecorder, e RunEntry) (RunEntry, error) {
	const tries = 8
	for try := 0; ; try++ {
		n, err := NextAttempt(ctx, s, e.Summary.Row, e.Summary.Seed.Value)
		if err != nil {
			return e, err
		}
		e.Summary.Attempt = n
		e.Summary.RunID = spec.RunID(e.Summary.Row, e.Summary.Seed.Value, n)
		e.Summary.Ref = spec.RunRef(e.Summary.Row, e.Summary.Seed.Value, n)
		err = RecordRun(ctx, s, e)
		if errors.Is(err, cas.ErrRefConflict) && try < tries {
			continue
		}
		return e, err
	}
}
