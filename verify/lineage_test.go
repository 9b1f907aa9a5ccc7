package verify

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/rigor-dev/rigor/cas"
	"github.com/rigor-dev/rigor/spec"
)

// chainBundle is a run of row that reads input (as role "data") and
// writes predictions.
func chainBundle(row string, input, predictions string) *bundle {
	b := selftestBundle()
	b.manifest["matrix_row"] = row
	b.files["data.csv"] = input
	setInput(b, input)
	b.setFile("predictions.csv", predictions, b.obj("artifacts", "predictions"))
	return b
}

func hops(hs []Hop) []string {
	out := make([]string, len(hs))
	for i, h := range hs {
		out[i] = fmt.Sprintf("%d %s %s %s%s via=%s", h.Depth, h.Run, h.Path, h.Role, h.Name, h.Via)
	}
	return out
}

// TestTraceLineage records a chain of three runs, each reading the
// previous one's predictions, and traces it from each end and the middle.
func TestTraceLineage(t *testing.T) {
	s := newStore(t)
	raw, p1, p2, p3 := "id,y\n1,0\n", "p\n0.1\n", "p\n0.2\n", "p\n0.3\n"
	r1 := recordRun(t, s, chainBundle("PREP", raw, p1), 1)
	r2 := recordRun(t, s, chainBundle("TRAIN", p1, p2), 1)
	r3 := recordRun(t, s, chainBundle("EVAL", p2, p3), 1)

	l, err := TraceLineage(t.Context(), s, s, blobOf(p1).String(), LineageOptions{})
	must(t, err)
	if got, want := hops(l.Upstream), []string{"1 " + r1.RunID + " predictions.csv predictions via="}; !slices.Equal(got, want) {
		t.Errorf("upstream of p1:\n  got  %q\n  want %q", got, want)
	}
	if got, want := hops(l.Downstream), []string{
		"1 " + r2.RunID + " data.csv data via=",
		"2 " + r3.RunID + " data.csv data via=" + r2.RunID,
	}; !slices.Equal(got, want) {
		t.Errorf("downstream of p1:\n  got  %q\n  want %q", got, want)
	}
	if u := l.UsedBy(); len(u) != 1 || u[0].Run != r2.RunID {
		t.Errorf("UsedBy = %v", u)
	}
	if p := l.ProducedBy(); len(p) != 1 || p[0].Run != r1.RunID {
		t.Errorf("ProducedBy = %v", p)
	}

	// From the last output back to the raw data, by SHA-256.
	l, err = TraceLineage(t.Context(), s, s, "sha256:"+sha(p3), LineageOptions{})
	must(t, err)
	if got, want := hops(l.Upstream), []string{
		"1 " + r3.RunID + " predictions.csv predictions via=",
		"2 " + r2.RunID + " predictions.csv predictions via=" + r3.RunID,
		"3 " + r1.RunID + " predictions.csv predictions via=" + r2.RunID,
	}; !slices.Equal(got, want) {
		t.Errorf("upstream of p3:\n  got  %q\n  want %q", got, want)
	}
	if len(l.Downstream) != 0 {
		t.Errorf("downstream of p3 = %q", hops(l.Downstream))
	}

	// MaxDepth cuts the chain and says so.
	l, err = TraceLineage(t.Context(), s, s, blobOf(raw).String(), LineageOptions{MaxDepth: 2})
	must(t, err)
	if got := hops(l.Downstream); len(got) != 2 || !l.Truncated {
		t.Errorf("downstream of raw to depth 2: %q truncated=%v", got, l.Truncated)
	}

	// Content no run touched.
	l, err = TraceLineage(t.Context(), s, s, blobOf("nothing").String(), LineageOptions{})
	must(t, err)
	if len(l.Upstream)+len(l.Downstream) != 0 {
		t.Errorf("lineage of unknown content: %+v", l)
	}
}

func TestListRuns(t *testing.T) {
	s := newStore(t)
	var want []string
	for _, row := range []string{"EXP-1", "EXP-10", "EXP-2"} {
		for attempt := 1; attempt <= 2; attempt++ {
			b := chainBundle(row, "input of "+row+"\n", "p\n0.1\n")
			r := recordRun(t, s, b, attempt)
			if row == "EXP-1" {
				want = append(want, r.RunID)
			}
		}
	}
	ids := func(ss []spec.RunSummary) []string {
		var out []string
		for _, s := range ss {
			out = append(out, s.RunID)
		}
		return out
	}
	got, err := ListRuns(t.Context(), s, RunFilter{Row: "EXP-1"})
	must(t, err)
	if !slices.Equal(ids(got), want) {
		t.Errorf("runs of EXP-1 = %q, want %q (EXP-10 must not match)", ids(got), want)
	}
	all, err := ListRuns(t.Context(), s, RunFilter{})
	must(t, err)
	if len(all) != 6 {
		t.Errorf("all runs = %q", ids(all))
	}
	using, err := RunsUsing(t.Context(), s, blobOf("input of EXP-2\n").String())
	must(t, err)
	if !slices.Equal(ids(using), []string{"EXP-2__seed-42__attempt-1", "EXP-2__seed-42__attempt-2"}) {
		t.Errorf("runs using EXP-2's input = %q", ids(using))
	}
	using, err = ListRuns(t.Context(), s, RunFilter{Input: "sha256:" + sha("input of EXP-2\n"), Row: "EXP-1"})
	must(t, err)
	if len(using) != 0 {
		t.Errorf("row and input filters combined: %q", ids(using))
	}
}

func TestFindRun(t *testing.T) {
	s := newStore(t)
	r := recordRun(t, s, selftestBundle(), 3)
	for _, arg := range []string{r.RunID, r.Ref, r.Root.String(), r.Root.Encoded()[:12]} {
		got, err := FindRun(t.Context(), s, arg)
		if err != nil {
			t.Fatalf("FindRun(%q): %v", arg, err)
		}
		if got.Root != r.Root {
			t.Errorf("FindRun(%q).Root = %s, want %s", arg, got.Root, r.Root)
		}
		if arg == r.RunID && (got.Ref != r.Ref || got.Summary == nil || got.Summary.Attempt != 3) {
			t.Errorf("FindRun(%q) = %+v", arg, got)
		}
	}
	for _, arg := range []string{"EXP-01__seed-42__attempt-9", "runs/EXP-01/seed-42/attempt-9", "runs/x", "deadbeefdeadbeef", "not a run"} {
		if _, err := FindRun(t.Context(), s, arg); !errors.Is(err, ErrRunNotFound) {
			t.Errorf("FindRun(%q) = %v, want ErrRunNotFound", arg, err)
		}
	}
	all, err := AllRuns(t.Context(), s)
	must(t, err)
	if len(all) != 1 || all[0].RunID != r.RunID || all[0].Summary == nil {
		t.Errorf("AllRuns = %+v", all)
	}
}

// TestRunIndexConsistency: a recorded run checks clean against its index
// entries; a dropped entry is an IndexMismatch naming what is missing.
func TestRunIndexConsistency(t *testing.T) {
	s := newStore(t)
	r := recordRun(t, s, selftestBundle(), 1)
	opts := Options{Now: nowFn, Recorded: &r, Index: s}
	rep, err := Run(t.Context(), s, r.Root, opts)
	must(t, err)
	if !rep.OK || rep.Run != r.RunID {
		t.Fatalf("recorded run: %q (run %q)", messages(rep.Problems), rep.Run)
	}
	pred := blobOf("p\n0.2\n")
	must(t, s.DeleteIndex(t.Context(), spec.LineageOutIndex, spec.LineageKey(pred.String(), r.RunID)))
	must(t, s.DeleteIndex(t.Context(), spec.RunsIndex, []byte(r.RunID)))
	rep, err = Run(t.Context(), s, r.Root, opts)
	must(t, err)
	want := []string{
		"index-mismatch : the runs index has no entry for " + r.RunID,
		"index-mismatch predictions.csv: artifacts.predictions: no lineage-out index entry links " + pred.String() + " to the run",
	}
	if got := messages(rep.Problems); !slices.Equal(got, want) {
		t.Errorf("problems:\n  got  %q\n  want %q", got, want)
	}
}

// TestSampleCoversEverything: successive seeds move the sampled window
// over the whole digest space.
func TestSampleCoversEverything(t *testing.T) {
	for _, pct := range []float64{10, 25, 30, 100.0 / 3, 99.5} {
		seen := map[int]bool{}
		const n = 2000
		rounds := int(100/pct) + 1
		if float64(int(100/pct)) == 100/pct {
			rounds = int(100 / pct)
		}
		picked := 0
		for seed := range rounds {
			sm := newSampler(pct, uint64(seed))
			for i := range n {
				if sm.pick(cas.FromBytes(fmt.Appendf(nil, "%d", i))) {
					seen[i] = true
					if seed == 0 {
						picked++
					}
				}
			}
		}
		if len(seen) != n {
			t.Errorf("%.2f%%: %d seeds covered %d of %d digests", pct, rounds, len(seen), n)
		}
		if lo, hi := pct/100*n*0.8, pct/100*n*1.2; float64(picked) < lo || float64(picked) > hi {
			t.Errorf("%.2f%%: seed 0 picked %d of %d", pct, picked, n)
		}
	}
}

// TestRunSample re-hashes a share of the blobs and reports it.
func TestRunSample(t *testing.T) {
	s := newStore(t)
	b := selftestBundle()
	root := b.put(t, s)
	indexSHA(t, s, b)
	must(t, s.CorruptForTest(t.Context(), blobOf(b.files["predictions.csv"]), 2))
	found := false
	total := 0
	for seed := uint64(0); seed < 4; seed++ {
		rep, err := Run(t.Context(), s, root, Options{Now: nowFn, Sample: 25, SampleSeed: seed})
		must(t, err)
		if rep.Sample == nil || rep.Sample.Seed != seed || rep.Sample.NextSeed != seed+1 || rep.Sample.Percent != 25 {
			t.Fatalf("sample report = %+v", rep.Sample)
		}
		total += rep.Sample.Objects
		for _, p := range rep.Problems {
			if p.Kind == CorruptObject && p.Path == "predictions.csv" {
				found = true
			}
		}
	}
	if !found {
		t.Error("four 25% samples with successive seeds missed the corrupt blob")
	}
	if want := len(b.files) + 1; total != want { // every distinct blob exactly once, manifest.json included
		t.Errorf("four seeds sampled %d blobs, want %d", total, want)
	}
}

// TestLineageRunIOIndex: the run-io index answers what the manifests
// would (the same lineage with the entries and without them, for runs
// recorded before the index), and rigor verify reports an entry that
// disagrees with its run's bundle.
func TestLineageRunIOIndex(t *testing.T) {
	s := newStore(t)
	raw, p1, p2, p3 := "id,y\n1,0\n", "p\n0.1\n", "p\n0.2\n", "p\n0.3\n"
	runs := []RunInfo{
		recordRun(t, s, chainBundle("PREP", raw, p1), 1),
		recordRun(t, s, chainBundle("TRAIN", p1, p2), 1),
		recordRun(t, s, chainBundle("EVAL", p2, p3), 1),
	}
	trace := func() string {
		var out []string
		for _, c := range []string{blobOf(raw).String(), blobOf(p1).String(), "sha256:" + sha(p3)} {
			l, err := TraceLineage(t.Context(), s, s, c, LineageOptions{})
			must(t, err)
			out = append(out, strings.Join(hops(l.Upstream), "|")+" // "+strings.Join(hops(l.Downstream), "|"))
		}
		return strings.Join(out, "\n")
	}
	with := trace()
	if strings.Count(with, "via=") < 6 {
		t.Fatalf("the chain was not followed:\n%s", with)
	}
	for _, r := range runs {
		v, ok, err := s.GetIndex(t.Context(), spec.RunIOIndex, []byte(r.RunID))
		if err != nil || !ok {
			t.Fatalf("run %s has no run-io entry (%v)", r.RunID, err)
		}
		rio, err := spec.DecodeRunIO(v)
		if err != nil || len(rio.Inputs) != 1 || len(rio.Outputs) == 0 {
			t.Fatalf("run-io of %s = %s (%v)", r.RunID, v, err)
		}
	}
	for _, r := range runs {
		must(t, s.DeleteIndex(t.Context(), spec.RunIOIndex, []byte(r.RunID)))
	}
	if without := trace(); without != with {
		t.Errorf("lineage from the run-io index:\n%s\nfrom the manifests:\n%s", with, without)
	}

	// A run-io entry that disagrees with the bundle is an index mismatch.
	r := runs[1]
	bad := spec.RunIO{Inputs: []string{blobOf(raw).String()}, Outputs: []string{}}
	v, err := bad.Encode()
	must(t, err)
	must(t, s.PutIndex(t.Context(), spec.RunIOIndex, []byte(r.RunID), v))
	rep, err := Run(t.Context(), s, r.Root, Options{Now: nowFn, Recorded: &r, Index: s})
	must(t, err)
	got := messages(rep.Problems)
	if len(got) != 2 || !strings.Contains(got[0], "run-io index entry lists inputs") || !strings.Contains(got[1], "run-io index entry lists outputs") {
		t.Errorf("a wrong run-io entry: problems %q, want the inputs and the outputs mismatch", got)
	}
}
