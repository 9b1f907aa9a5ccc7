package verify

import (
	"context"
	"fmt"

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
		e, ok := v.files[f.Rel]
		if f.Rel == "" || !ok {
			continue
		}
		index := spec.LineageOutIndex
		if f.Role != "" || len(f.Label) > 7 && f.Label[:7] == "inputs[" {
			index = spec.LineageInIndex
		} else if len(f.Label) < 10 || f.Label[:10] != "artifacts." {
			continue // config, environment and code are identity, not lineage
		}
		key := spec.LineageKey(e.Digest.String(), rec.RunID)
		found := false
		err := v.opts.Index.ScanIndex(ctx, index, key, func(k, _ []byte) error {
			if string(k) == string(key) {
				found = true
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		if !found {
			out = append(out, Problem{Kind: IndexMismatch, Path: f.Rel, Digest: e.Digest,
				Message: fmt.Sprintf("%s: no %s index entry links %s to the run", f.Label, index, e.Digest)})
		}
	}
	return out, nil
}
