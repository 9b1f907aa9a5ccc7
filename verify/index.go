package verify

import (
	"context"
	"fmt"
	"slices"
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
	// What the run-io entry must hold, as the lineage entries the bundle
	// calls for would give it.
	var wantIn, wantOut []spec.IndexEntry
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
		if index == spec.LineageOutIndex {
			wantOut = append(wantOut, spec.IndexEntry{Content: d.String()})
		} else if strings.HasPrefix(f.Label, "inputs[") {
			wantIn = append(wantIn, spec.IndexEntry{Content: d.String(), Link: spec.LineageLink{Kind: spec.LineageInput}})
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
	if d, ok := v.dirs[outputsDir]; ok {
		wantOut = append(wantOut, spec.IndexEntry{Content: d.String()}) // rigor run's output directory
	}
	p, err := v.checkRunIO(ctx, rec.RunID, spec.RunIOOf(wantIn, wantOut))
	if err != nil {
		return nil, err
	}
	return append(out, p...), nil
}

// checkRunIO compares the run's run-io index entry, when it has one (runs
// recorded before it existed have none), with the inputs and outputs of
// its bundle.
func (v *runVerifier) checkRunIO(ctx context.Context, runID string, want spec.RunIO) ([]Problem, error) {
	val, ok, err := lookupIndex(ctx, v.opts.Index, spec.RunIOIndex, []byte(runID))
	if err != nil || !ok {
		return nil, err
	}
	got, err := spec.DecodeRunIO(val)
	if err != nil {
		return []Problem{{Kind: IndexMismatch, Digest: v.root, Err: err,
			Message: fmt.Sprintf("the run-io index entry of %s does not decode: %v", runID, err)}}, nil
	}
	var out []Problem
	if !slices.Equal(got.Inputs, want.Inputs) {
		out = append(out, Problem{Kind: IndexMismatch, Digest: v.root,
			Message: fmt.Sprintf("the run-io index entry lists inputs %q, the run's bundle %q", got.Inputs, want.Inputs)})
	}
	if !slices.Equal(got.Outputs, want.Outputs) {
		out = append(out, Problem{Kind: IndexMismatch, Digest: v.root,
			Message: fmt.Sprintf("the run-io index entry lists outputs %q, the run's bundle %q", got.Outputs, want.Outputs)})
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
