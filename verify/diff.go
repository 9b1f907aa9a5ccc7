package verify

import (
	"context"
	"io"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/rigor-dev/rigor/spec"
)

// SchemaRunDiff tags the result of [Diff].
const SchemaRunDiff = "rigor.run_diff.v1"

// RunDiff is a structured diff of two runs.
type RunDiff struct {
	Schema string `json:"schema"`
	First  string `json:"first"`
	Second string `json:"second"`
	// Identity lists every identity component that differs (config by
	// JSON path, environment by package and JSON path, code by file,
	// inputs by role and path, and matrix row, seed, commit, dirty flag,
	// diff digest by value), in [spec.IdentityComponents] order.
	Identity []IdentityDiff `json:"identity"`
	// Outputs lists every artifact whose content differs, or that only one
	// run has, by name; CSV and JSONL ones get a content diff.
	Outputs []ArtifactDiff `json:"outputs"`
	// Metrics compares the raw metrics (raw_metrics artifact, JSONL) key by
	// key: the last numeric value of each key in each run.
	Metrics []MetricDiff `json:"metrics"`
	// Problems are the store-level problems found while loading the runs;
	// the manifest rules are not checked by a diff (use Run).
	Problems []Problem `json:"problems,omitempty"`
}

// MetricDiff compares one metric key of two runs.
type MetricDiff struct {
	// Key is the JSON path of the metric in a raw_metrics line ("$.loss").
	Key string `json:"key"`
	// Kind is spec.ChangeAdded, ChangeRemoved or ChangeChanged.
	Kind string `json:"change"`
	// First and Second are the last values (as written) in each run.
	First   string   `json:"first,omitempty"`
	Second  string   `json:"second,omitempty"`
	AbsDiff *float64 `json:"abs_diff,omitempty"`
	RelDiff *float64 `json:"rel_diff,omitempty"`
	// WithinTolerance says whether the two values agree within the
	// tolerance.
	WithinTolerance bool `json:"within_tolerance"`
}

// maxMetricKeys bounds the metric keys tracked per run.
const maxMetricKeys = 10000

// Diff compares any two runs (two seeds, two rows, two attempts): config
// by JSON path, code by file, environment by package and version, inputs,
// outputs (with a content diff of CSV and JSONL artifacts) and metrics.
// Unlike [Compare] it judges nothing; every list is empty for two runs
// with equal content. It returns an error only when it could not run.
func Diff(ctx context.Context, src Store, first, second RunInfo, opts CompareOptions) (*RunDiff, error) {
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	a, err := load(ctx, src, first, opts.Deep, now)
	if err != nil {
		return nil, err
	}
	b, err := load(ctx, src, second, opts.Deep, now)
	if err != nil {
		return nil, err
	}
	d := &RunDiff{Schema: SchemaRunDiff, First: a.label(), Second: b.label(), Identity: []IdentityDiff{}, Outputs: []ArtifactDiff{}, Metrics: []MetricDiff{}}
	for _, r := range []*loadedRun{a, b} {
		for _, p := range r.rep.Problems {
			if p.Kind != ManifestRule {
				d.Problems = append(d.Problems, p)
			}
		}
	}
	if a.loose == nil || b.loose == nil {
		return d, nil
	}
	var comps []string
	ia, ib := identityValues(a), identityValues(b)
	for _, c := range spec.IdentityComponents {
		if ia[c] != ib[c] {
			comps = append(comps, c)
		}
	}
	if d.Identity, err = identityDiffs(ctx, a, b, comps); err != nil {
		return nil, err
	}
	if d.Identity == nil {
		d.Identity = []IdentityDiff{}
	}

	names := map[string]bool{}
	for _, r := range []*loadedRun{a, b} {
		for _, f := range r.files() {
			if n, ok := strings.CutPrefix(f.Label, "artifacts."); ok {
				names[n] = true
			}
		}
	}
	for _, n := range slices.Sorted(maps.Keys(names)) {
		fa, okA := a.artifactRecord(n)
		fb, okB := b.artifactRecord(n)
		if okA && okB && a.sha256Of(fa.Rel, fa.SHA256) == b.sha256Of(fb.Rel, fb.SHA256) {
			continue
		}
		ad, err := artifactDiff(ctx, a, b, n, opts)
		if err != nil {
			return nil, err
		}
		d.Outputs = append(d.Outputs, ad)
	}

	ma, errA := a.metrics(ctx)
	mb, errB := b.metrics(ctx)
	for _, err := range []error{errA, errB} {
		if err != nil && fatal(ctx, err) {
			return nil, err
		}
	}
	d.Metrics = metricDiffs(ma, mb, opts.Tolerance)
	return d, nil
}

// identityValues renders each identity component of a run as text, the way
// the Light checker's identity tuple sees it.
func identityValues(l *loadedRun) map[string]string {
	code, _ := l.loose["code"].(map[string]any)
	out := map[string]string{
		"matrix_row":       text(l.loose["matrix_row"]),
		"seed":             text(l.loose["seed"]),
		"code.commit":      text(code["commit"]),
		"code.dirty":       text(code["dirty"]),
		"code.diff_sha256": text(code["diff_sha256"]),
	}
	var codeFiles, inputs []string
	for _, f := range l.files() {
		switch {
		case f.Label == "config", f.Label == "environment":
			out[f.Label] = f.SHA256
		case strings.HasPrefix(f.Label, "code.files["):
			codeFiles = append(codeFiles, f.Path+"\x00"+f.SHA256)
		case strings.HasPrefix(f.Label, "inputs["):
			inputs = append(inputs, f.Role+"\x00"+f.SourceRevision+"\x00"+f.SHA256)
		}
	}
	slices.Sort(codeFiles)
	slices.Sort(inputs)
	out["code.files"] = strings.Join(codeFiles, "\n")
	out["inputs"] = strings.Join(inputs, "\n")
	return out
}

// metricValue is the last numeric value of one metric key.
type metricValue struct {
	text string
	num  float64
}

// metrics reads the run's raw_metrics artifact (JSONL), keeping the last
// numeric value of each key; nil when there is none.
func (l *loadedRun) metrics(ctx context.Context) (map[string]metricValue, error) {
	f, ok := l.artifactRecord("raw_metrics")
	if !ok || f.Rel == "" || ContentFormat(f.Rel) != FormatJSONL {
		return nil, nil
	}
	rc, err := l.open(ctx, f.Rel)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return lastMetrics(ctx, rc)
}

func lastMetrics(ctx context.Context, r io.Reader) (map[string]metricValue, error) {
	out := map[string]metricValue{}
	sc := newLines(r)
	for n := 0; sc.Scan(); n++ {
		if n%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		lv, err := leaves(sc.Bytes())
		if err != nil {
			continue // not a JSON line: the content diff reports it
		}
		for k, v := range lv {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				continue
			}
			if _, ok := out[k]; !ok && len(out) >= maxMetricKeys {
				continue
			}
			out[k] = metricValue{v, f}
		}
	}
	return out, sc.Err()
}

func metricDiffs(a, b map[string]metricValue, tol Tolerance) []MetricDiff {
	keys := slices.Sorted(maps.Keys(a))
	for k := range b {
		if _, ok := a[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	out := []MetricDiff{}
	for _, k := range keys {
		va, inA := a[k]
		vb, inB := b[k]
		switch {
		case !inB:
			out = append(out, MetricDiff{Key: k, Kind: spec.ChangeRemoved, First: va.text})
		case !inA:
			out = append(out, MetricDiff{Key: k, Kind: spec.ChangeAdded, Second: vb.text})
		case va.text != vb.text:
			m := MetricDiff{Key: k, Kind: spec.ChangeChanged, First: va.text, Second: vb.text, WithinTolerance: tol.close(va.num, vb.num)}
			if !math.IsNaN(va.num) && !math.IsNaN(vb.num) && !math.IsInf(va.num, 0) && !math.IsInf(vb.num, 0) {
				abs := math.Abs(va.num - vb.num)
				rel := 0.0
				if mx := max(math.Abs(va.num), math.Abs(vb.num)); mx > 0 {
					rel = abs / mx
				}
				m.AbsDiff, m.RelDiff = &abs, &rel
			}
			out = append(out, m)
		}
	}
	return out
}
