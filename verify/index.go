package verify

import (
	"context"
	"fmt"
	"strings"

	"github.com/rigor-dev/rigor/cas"
	"github.com/rigor-dev/rigor/spec"
)

// checkIndex compares the run's index entries with its ref and bundle.
func (v *runVerifier) checkIndex(ctx context.Context, files []spec.ManifestFile) ([]Problem, error) {
	rec := v.opts.Recorded
	var out []Problem
	sum, err := LookupSummary(ctx, v.opts.Index, rec.RunID)
	if err != nil {
		out = append(out, Problem{Kind: IndexMismatch, Message: err.Error(), Err: err})
	} else if sum == nil {
		out = append(out, Problem{Kind: IndexMismatch, Digest: v.root,
			Message: fmt.Sprintf("the runs index has no entry for %s", rec.RunID)})
	} else {
		if sum.Root != v.root {
			out = append(out, Problem{Kind: IndexMismatch, Digest: v.root,
				Message: fmt.Sprintf("the runs index records root %s, the run is %s", sum.Root, v.root)})
		}
		if rec.Ref != "" && sum.Ref != rec.Ref {
			out = append(out, Problem{Kind: IndexMismatch, Digest: v.root,
				Message: fmt.Sprintf("the runs index records ref %s, the run is %s", sum.Ref, rec.Ref)})
		}
	}
	for _, f := range files {
		if f.Rel == "" {
			continue
		}
		var index string
		switch {
		case f.Label == "config", strings.HasPrefix(f.Label, "inputs["):
			index = spec.LineageInIndex
		case strings.HasPrefix(f.Label, "artifacts."):
			index = spec.LineageOutIndex
		default:
			continue // environment and code files are identity, not lineage
		}
		d, ok := v.lineageDigest(f)
		if !ok {
			continue // not in the bundle: the manifest check reports it
		}
		key := spec.LineageKey(d.String(), rec.RunID)
		_, found, err := lookupIndex(ctx, v.opts.Index, index, key)
		if err != nil {
			return nil, err
		}
		if !found {
			out = append(out, Problem{Kind: IndexMismatch, Path: f.Rel, Digest: d,
				Message: fmt.Sprintf("%s: no %s index entry links %s to the run", f.Label, index, d)})
		}
	}
	return out, nil
}

// lookupIndex returns the value of key in an index: a point lookup where
// the store offers one ([cas.IndexGetter]), else a scan of key as a prefix.
func lookupIndex(ctx context.Context, idx cas.Indexer, index string, key []byte) ([]byte, bool, error) {
	if g, ok := idx.(cas.IndexGetter); ok {
		return g.GetIndex(ctx, index, key)
	}
	var val []byte
	found := false
	err := idx.ScanIndex(ctx, index, key, func(k, v []byte) error {
		if string(k) == string(key) {
			val, found = v, true
		}
		return nil
	})
	return val, found, err
}
