package serve

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"strconv"

	digest "github.com/opencontainers/go-digest"

	"github.com/rigor-dev/rigor/spec"
	"github.com/rigor-dev/rigor/verify"
)

// RunRef names a run on the compare page.
type RunRef struct {
	RunID   string           `json:"run_id,omitempty"`
	Root    digest.Digest    `json:"root"`
	Summary *spec.RunSummary `json:"summary,omitempty"`
}

// Name is the run id, else the root digest.
func (r RunRef) Name() string {
	if r.RunID != "" {
		return r.RunID
	}
	return r.Root.String()
}

// CompareView is the compare page of two runs. For a same-seed pair (same
// matrix row and seed) Comparison holds the Light checker's compare mode
// with rigor's account of the differences; for any pair Diff lists the
// identity differences, the outputs that differ (with row-level content
// diffs) and the metric deltas.
type CompareView struct {
	A, B RunRef `json:"-"`
	// Mode is "same_seed" or "diff".
	Mode       string             `json:"mode"`
	First      RunRef             `json:"first"`
	Second     RunRef             `json:"second"`
	Tolerance  verify.Tolerance   `json:"tolerance"`
	Comparison *verify.Comparison `json:"comparison,omitempty"`
	Diff       *verify.RunDiff    `json:"diff"`
	// Folds compares raw_metrics.jsonl row by row (fold by fold): every
	// number of both runs, rows paired by their label (the fold).
	Folds *FoldTable `json:"folds,omitempty"`
	// Verdict sums it up: exact, within_tolerance, differs or (nothing
	// differs but a manifest broke a rule of the checker) check_failed for
	// a same-seed pair; identical or differs otherwise.
	Verdict string `json:"verdict"`
}

// maxTolerance bounds rtol and atol from a request.
const maxTolerance = 1e6

func parseTolerance(r *http.Request) (verify.Tolerance, error) {
	t := verify.DefaultTolerance
	for _, p := range []struct {
		name string
		dst  *float64
	}{{"rtol", &t.RTol}, {"atol", &t.ATol}} {
		s := r.URL.Query().Get(p.name)
		if s == "" {
			continue
		}
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || math.IsNaN(f) || f < 0 || f > maxTolerance {
			return t, fmt.Errorf("%s %q is not a number from 0 to %g: %w", p.name, s, float64(maxTolerance), ErrBadRequest)
		}
		*p.dst = f
	}
	return t, nil
}

func (s *Server) compareView(ctx context.Context, sess *session, r *http.Request) (any, error) {
	q := r.URL.Query()
	if q.Get("a") == "" || q.Get("b") == "" {
		return nil, fmt.Errorf("name two runs: /compare?a=RUN&b=RUN (run ids or digests): %w", ErrBadRequest)
	}
	tol, err := parseTolerance(r)
	if err != nil {
		return nil, err
	}
	a, err := findRun(ctx, sess.st, q.Get("a"))
	if err != nil {
		return nil, fmt.Errorf("a: %w", err)
	}
	b, err := findRun(ctx, sess.st, q.Get("b"))
	if err != nil {
		return nil, fmt.Errorf("b: %w", err)
	}
	v := &CompareView{A: runRef(a), B: runRef(b), Tolerance: tol, Mode: "diff"}
	v.First, v.Second = v.A, v.B
	opts := verify.CompareOptions{Tolerance: tol, Now: s.opts.Now, Shown: 50}
	if sameSeed(ctx, sess, a, b) {
		v.Mode = "same_seed"
		if v.Comparison, err = verify.Compare(ctx, sess.st, a, b, opts); err != nil {
			return nil, err
		}
	}
	if v.Diff, err = verify.Diff(ctx, sess.st, a, b, opts); err != nil {
		return nil, err
	}
	if v.Folds, err = foldTable(ctx, sess.st, a, b, tol); err != nil {
		return nil, err
	}
	switch {
	case v.Comparison != nil && v.Comparison.SameSeedExact:
		v.Verdict = "exact"
	case v.Comparison != nil && v.Comparison.Rigor.WithinTolerance:
		v.Verdict = "within_tolerance"
	case len(v.Diff.Identity) == 0 && len(v.Diff.Outputs) == 0 && !metricsDiffer(v.Diff.Metrics):
		if v.Comparison != nil {
			// Nothing differs, yet the checker did not pass the pair: a
			// manifest broke a rule (its errors say which).
			v.Verdict = "check_failed"
		} else {
			v.Verdict = "identical"
		}
	default:
		v.Verdict = "differs"
	}
	return v, nil
}

func metricsDiffer(ms []verify.MetricDiff) bool { return len(ms) > 0 }

func runRef(info verify.RunInfo) RunRef {
	return RunRef{RunID: info.RunID, Root: info.Root, Summary: info.Summary}
}

// sameSeed reports whether two runs are a same-seed pair: the same matrix
// row and seed value (from the runs index, else from the manifests).
func sameSeed(ctx context.Context, sess *session, a, b verify.RunInfo) bool {
	key := func(info verify.RunInfo) (string, int64, bool) {
		if info.Summary != nil {
			return info.Summary.Row, info.Summary.Seed.Value, true
		}
		raw, _, err := newBundle(sess.st, info.Root).read(ctx, verify.ManifestName, maxManifest)
		if err != nil {
			return "", 0, false
		}
		m, err := decodeManifest(raw)
		if err != nil {
			return "", 0, false
		}
		return m.MatrixRow, m.Seed.Value, true
	}
	ra, sa, okA := key(a)
	rb, sb, okB := key(b)
	return okA && okB && ra == rb && sa == sb
}

// FoldTable pairs the per-fold metrics of two runs.
type FoldTable struct {
	Label string      `json:"label"`
	Rows  []FoldDelta `json:"rows"`
	// Differing counts the values that differ at all; Outside those
	// outside the tolerance.
	Differing int  `json:"differing"`
	Outside   int  `json:"outside_tolerance"`
	Truncated bool `json:"truncated,omitempty"`
}

// FoldDelta is one metric of one fold in both runs.
type FoldDelta struct {
	Label  string   `json:"label"`
	Key    string   `json:"key"`
	First  *float64 `json:"first"`
	Second *float64 `json:"second"`
	// Delta is second − first, when both are present.
	Delta           *float64 `json:"delta,omitempty"`
	Equal           bool     `json:"equal"`
	WithinTolerance bool     `json:"within_tolerance"`
}

const maxFoldDeltas = 2000

// foldTable reads both runs' raw metrics; nil when either has none.
func foldTable(ctx context.Context, st Store, a, b verify.RunInfo, tol verify.Tolerance) (*FoldTable, error) {
	ma, err := runMetrics(ctx, st, a)
	if err != nil || ma == nil {
		return nil, err
	}
	mb, err := runMetrics(ctx, st, b)
	if err != nil || mb == nil {
		return nil, err
	}
	ft := &FoldTable{Label: ma.Label, Rows: []FoldDelta{}}
	pair := func(i int) int { return i } // by position
	if ma.Label == mb.Label && ma.Label != "line" {
		at := map[string]int{}
		for j, r := range mb.Rows {
			at[r.Label] = j
		}
		pair = func(i int) int {
			if j, ok := at[ma.Rows[i].Label]; ok {
				return j
			}
			return -1
		}
	}
	keys := map[string][2]int{}
	var order []string
	for i, k := range ma.Keys {
		keys[k] = [2]int{i, -1}
		order = append(order, k)
	}
	for j, k := range mb.Keys {
		ix, ok := keys[k]
		if !ok {
			ix = [2]int{-1, j}
			order = append(order, k)
		}
		ix[1] = j
		keys[k] = ix
	}
	for i, ra := range ma.Rows {
		j := pair(i)
		for _, k := range order {
			ix := keys[k]
			fd := FoldDelta{Label: ra.Label, Key: k}
			if ix[0] >= 0 {
				fd.First = ra.Values[ix[0]]
			}
			if j >= 0 && j < len(mb.Rows) && ix[1] >= 0 {
				fd.Second = mb.Rows[j].Values[ix[1]]
			}
			if fd.First == nil && fd.Second == nil {
				continue
			}
			if fd.First != nil && fd.Second != nil {
				d := *fd.Second - *fd.First
				fd.Delta = &d
				fd.Equal = *fd.First == *fd.Second
				fd.WithinTolerance = math.Abs(d) <= tol.ATol+tol.RTol*math.Abs(*fd.Second)
			}
			if !fd.Equal {
				ft.Differing++
				if !fd.WithinTolerance {
					ft.Outside++
				}
			}
			if len(ft.Rows) == maxFoldDeltas {
				ft.Truncated = true
				continue
			}
			ft.Rows = append(ft.Rows, fd)
		}
	}
	return ft, nil
}

// runMetrics reads a run's raw metrics table; nil when it has none.
func runMetrics(ctx context.Context, st Store, info verify.RunInfo) (*MetricsView, error) {
	b := newBundle(st, info.Root)
	raw, _, err := b.read(ctx, verify.ManifestName, maxManifest)
	if err != nil {
		return nil, err
	}
	m, err := decodeManifest(raw)
	if err != nil || m.Artifacts["raw_metrics"] == nil {
		return nil, nil
	}
	rel, e, err := b.manifestEntry(ctx, m.Artifacts["raw_metrics"].Path)
	if err != nil {
		return nil, nil
	}
	return readMetrics(ctx, st, fileView("raw_metrics", rel, e, ""))
}
