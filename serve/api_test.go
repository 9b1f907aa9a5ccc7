package serve

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/rigor-dev/rigor/cas"
	"github.com/rigor-dev/rigor/spec"
	"github.com/rigor-dev/rigor/verify"
)

// xss is what a hostile program prints and writes; pages must show it as
// text.
const xss = `<script>alert("pwned")</script><img src=x onerror=alert(1)>`

// findingsReport is a light.findings.v1 report a run wrote, with a
// location in its code.
const findingsReport = `{
  "schema": "light.findings.v1",
  "producer": "leakage_gate",
  "target": "code",
  "verdict": "fail",
  "gates": [{"gate": "leakage", "status": "fail", "severity": "critical",
    "findings": [{"loc": "train.py:2", "issue": "scaler fitted before the split", "fix": "fit inside each fold", "rule": "L001"},
                 {"loc": "(rows)", "issue": "duplicate rows across folds"}]}],
  "summary": "1 blocking gate",
  "fresh_evidence": true
}
`

// fixture is the standard store of the API tests.
type fixture struct {
	s *cas.Store
	// pairA and pairB are a same-seed pair (EXP-01 seed 1, attempts 1 and
	// 2) whose predictions agree within tolerance; seed2 is EXP-01 seed 2.
	pairA, pairB, seed2 spec.RunSummary
	// hostile is a failed run whose logs, config and file names are
	// hostile markup.
	hostile spec.RunSummary
	// chain0 produced the predictions chain1 read as its data.
	chain0, chain1 spec.RunSummary
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	s := newMemStore(t)
	f := &fixture{s: s}
	metrics := "{\"fold\":0,\"loss\":0.5,\"acc\":0.8}\n{\"fold\":1,\"loss\":0.4,\"acc\":0.85}\n{\"fold\":2,\"loss\":0.45,\"acc\":0.83}\n"
	f.pairA = putRun(t, s, runSpec{row: "EXP-01", seed: 1, metrics: metrics, durationMS: 1500,
		stdout: "epoch 1\nepoch 2\nneedle here\nepoch 3\n", diff: "diff --git a/train.py b/train.py\n--- a/train.py\n+++ b/train.py\n@@ -1 +1,2 @@\n-old\n+new\n+more\n",
		extra: map[string]string{"rigor/outputs/findings.json": findingsReport}})
	f.pairB = putRun(t, s, runSpec{row: "EXP-01", seed: 1, attempt: 2, metrics: strings.Replace(metrics, "0.85", "0.8500001", 1), durationMS: 1700,
		predictions: "id,p\n1,0.25\n2,0.7500001\n", diff: "diff --git a/train.py b/train.py\n--- a/train.py\n+++ b/train.py\n@@ -1 +1,2 @@\n-old\n+new\n+more\n",
		extra: map[string]string{"rigor/outputs/findings.json": findingsReport}})
	f.seed2 = putRun(t, s, runSpec{row: "EXP-01", seed: 2, metrics: strings.Replace(metrics, "0.4,", "0.3,", 1), durationMS: 900,
		predictions: "id,p\n1,0.3\n2,0.6\n", config: "{\"matrix_row\":\"EXP-01\",\"seed\":{\"role\":\"fixed_repro\",\"value\":2},\"lr\":0.1}\n"})
	f.hostile = putRun(t, s, runSpec{row: "EXP-02", seed: 7, status: spec.StatusFailed, durationMS: 20,
		stdout: "starting\n" + xss + "\n", stderr: "Traceback: " + xss + "\n",
		config: `{"name": "` + strings.ReplaceAll(xss, `"`, `\"`) + `"}` + "\n",
		code:   map[string]string{"train.py": "print(1)\n", `"><svg onload=alert(1)>.py`: xss + "\n"}})
	f.chain0 = putRun(t, s, runSpec{row: "CHAIN", seed: 0, predictions: "p\nchain-0\n"})
	f.chain1 = putRun(t, s, runSpec{row: "CHAIN", seed: 1, data: "p\nchain-0\n", predictions: "p\nchain-1\n"})
	putRun(t, s, runSpec{row: "EXP-03", seed: 1, status: spec.StatusAborted})
	return f
}

func TestRunsAPI(t *testing.T) {
	f := newFixture(t)
	ts, _ := serveMem(t, f.s, Options{PageSize: 3})
	var all RunsView
	getJSON(t, ts.URL+"/api/runs?limit=100", 200, &all)
	if all.Total != 7 || all.Stored != 7 || len(all.Runs) != 7 || all.NextOffset != nil {
		t.Fatalf("all runs: total %d stored %d, %d runs, next %v", all.Total, all.Stored, len(all.Runs), all.NextOffset)
	}
	ids := func(v RunsView) []string {
		var out []string
		for _, r := range v.Runs {
			out = append(out, r.RunID)
		}
		return out
	}
	tests := []struct {
		query string
		want  []string
	}{
		{"row=EXP-01&limit=10", []string{"EXP-01__seed-1__attempt-1", "EXP-01__seed-1__attempt-2", "EXP-01__seed-2__attempt-1"}},
		{"row=EXP-01&seed=1", []string{"EXP-01__seed-1__attempt-1", "EXP-01__seed-1__attempt-2"}},
		{"status=failed", []string{"EXP-02__seed-7__attempt-1"}},
		{"status=aborted&completion=NOT_EVALUATED", []string{"EXP-03__seed-1__attempt-1"}},
		{"completion=NOT_EVALUATED&sort=row&order=desc", []string{"EXP-03__seed-1__attempt-1", "EXP-02__seed-7__attempt-1"}},
		{"q=chain", []string{"CHAIN__seed-0__attempt-1", "CHAIN__seed-1__attempt-1"}},
		{"row=EXP-01&sort=duration", []string{"EXP-01__seed-2__attempt-1", "EXP-01__seed-1__attempt-1", "EXP-01__seed-1__attempt-2"}},
		{"row=EXP-01&sort=duration&order=desc", []string{"EXP-01__seed-1__attempt-2", "EXP-01__seed-1__attempt-1", "EXP-01__seed-2__attempt-1"}},
		{"sort=run&order=desc&limit=2", []string{"EXP-03__seed-1__attempt-1", "EXP-02__seed-7__attempt-1"}},
		{"row=NOPE", nil},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			var v RunsView
			getJSON(t, ts.URL+"/api/runs?"+tt.query, 200, &v)
			if got := ids(v); !slices.Equal(got, tt.want) {
				t.Errorf("runs?%s = %v, want %v", tt.query, got, tt.want)
			}
		})
	}
	// Paging: the default page size, next_offset to the end.
	var seen []string
	offset := 0
	for pages := 0; ; pages++ {
		var v RunsView
		getJSON(t, fmt.Sprintf("%s/api/runs?offset=%d", ts.URL, offset), 200, &v)
		if len(v.Runs) > 3 {
			t.Fatalf("page of %d runs, want at most 3", len(v.Runs))
		}
		seen = append(seen, ids(v)...)
		if v.NextOffset == nil {
			break
		}
		offset = *v.NextOffset
		if pages > 5 {
			t.Fatal("paging does not end")
		}
	}
	if !slices.Equal(seen, ids(all)) {
		t.Errorf("pages give %v, want %v", seen, ids(all))
	}
}

func TestRunsAPIBadParameters(t *testing.T) {
	f := newFixture(t)
	ts, _ := serveMem(t, f.s, Options{})
	for _, q := range []string{"seed=abc", "seed=1e3", "status=running", "completion=pass", "sort=../../etc/passwd", "sort=root%00",
		"order=sideways", "limit=0", "limit=100001", "offset=-1", "offset=99999999999999999999"} {
		t.Run(q, func(t *testing.T) {
			var e errorView
			getJSON(t, ts.URL+"/api/runs?"+q, 400, &e)
			if e.Status != 400 || e.Error == "" {
				t.Errorf("error body %+v", e)
			}
		})
	}
}

func TestRunAPI(t *testing.T) {
	f := newFixture(t)
	ts, _ := serveMem(t, f.s, Options{})
	var v RunView
	getJSON(t, ts.URL+"/api/runs/"+f.pairA.RunID, 200, &v)
	if v.RunID != f.pairA.RunID || v.Root != f.pairA.Root || v.Manifest == nil || v.Summary == nil {
		t.Fatalf("run view: %+v", v)
	}
	if v.Manifest.Status != "completed" || v.Manifest.Completion.Status != "PASS" {
		t.Errorf("status %q completion %q", v.Manifest.Status, v.Manifest.Completion.Status)
	}
	if v.Config == nil || !strings.Contains(v.Config.Text, `"matrix_row": "EXP-01"`) {
		t.Errorf("config %+v", v.Config)
	}
	if len(v.Inputs) != 1 {
		t.Fatalf("inputs %+v", v.Inputs)
	}
	in := v.Inputs[0]
	data := []byte("id,x,y\n1,0.5,0\n2,0.25,1\n")
	if in.Digest != cas.FromBytes(data) || in.SHA256 != sha(data) || in.Role != "data" || in.SourceRevision != "v1" {
		t.Errorf("input %+v: want both digests of the data", in)
	}
	if !v.Code.Dirty || v.Code.Diff == nil || len(v.Code.Diff.Lines) != 7 {
		t.Fatalf("code %+v", v.Code)
	}
	classes := []string{}
	for _, l := range v.Code.Diff.Lines {
		classes = append(classes, l.Class)
	}
	if want := []string{"file", "file", "file", "hunk", "del", "add", "add"}; !slices.Equal(classes, want) {
		t.Errorf("diff classes %v, want %v", classes, want)
	}
	if len(v.Logs) != 2 || v.Logs[0].Name != "stdout" || len(v.Logs[0].Tail) != 4 || v.Logs[0].Tail[2].Text != "needle here" || v.Logs[0].Tail[2].N != 3 {
		t.Errorf("logs %+v", v.Logs)
	}
	if v.Metrics == nil || v.Metrics.Label != "fold" || !slices.Equal(v.Metrics.Keys, []string{"acc", "loss"}) || len(v.Metrics.Rows) != 3 {
		t.Fatalf("metrics %+v", v.Metrics)
	}
	if r := v.Metrics.Rows[1]; r.Label != "1" || *r.Values[0] != 0.85 || *r.Values[1] != 0.4 {
		t.Errorf("metrics row 1: %+v", r)
	}
	if len(v.Findings) != 1 || v.Findings[0].Path != "rigor/outputs/findings.json" || v.Findings[0].Verdict != "fail" || v.Findings[0].Findings != 2 {
		t.Errorf("findings %+v", v.Findings)
	}
	var related []string
	for _, r := range v.Related {
		related = append(related, r.RunID)
	}
	if want := []string{f.pairB.RunID, f.seed2.RunID}; !slices.Equal(related, want) {
		t.Errorf("related %v, want %v", related, want)
	}
	var names []string
	for _, a := range v.Artifacts {
		names = append(names, a.Name)
		if a.Missing || a.Digest == "" {
			t.Errorf("artifact %+v", a)
		}
	}
	if want := []string{"stdout", "stderr", "predictions", "raw_metrics", "test_evidence"}; !slices.Equal(names, want) {
		t.Errorf("artifacts %v, want %v", names, want)
	}

	// By digest prefix, the same run.
	var byDigest RunView
	getJSON(t, ts.URL+"/api/runs/"+f.pairA.Root.Encoded()[:12], 200, &byDigest)
	if byDigest.Root != f.pairA.Root {
		t.Errorf("by prefix: root %s", byDigest.Root)
	}
	// A digest that is a blob, not a bundle.
	getJSON(t, ts.URL+"/api/runs/"+url.PathEscape(in.Digest.String()), 404, nil)
	getJSON(t, ts.URL+"/api/runs/EXP-09__seed-1__attempt-1", 404, nil)
}

func TestLogAPI(t *testing.T) {
	f := newFixture(t)
	ts, _ := serveMem(t, f.s, Options{})
	var lv LogView
	getJSON(t, ts.URL+"/api/runs/"+f.pairA.RunID+"/logs/stdout?q=NEEDLE", 200, &lv)
	if lv.Matches != 1 || len(lv.Lines) != 1 || lv.Lines[0].N != 3 || lv.TotalLines != 4 {
		t.Errorf("search: %+v", lv)
	}
	getJSON(t, ts.URL+"/api/runs/"+f.pairA.RunID+"/logs/stdout?tail=2", 200, &lv)
	if len(lv.Lines) != 2 || lv.Lines[0].Text != "needle here" || lv.Lines[1].Text != "epoch 3" {
		t.Errorf("tail 2: %+v", lv.Lines)
	}
	getJSON(t, ts.URL+"/api/runs/"+f.pairA.RunID+"/logs/stdout?tail=0", 400, nil)
	getJSON(t, ts.URL+"/api/runs/"+f.pairA.RunID+"/logs/stdout?tail=99999999", 400, nil)
	getJSON(t, ts.URL+"/api/runs/"+f.pairA.RunID+"/logs/passwd", 404, nil)
}

func TestTailLongLog(t *testing.T) {
	var sb strings.Builder
	for i := 1; i <= 5000; i++ {
		fmt.Fprintf(&sb, "line %d\n", i)
	}
	sb.WriteString(strings.Repeat("x", 100000)) // a last line without newline, too long to show whole
	s := newMemStore(t)
	r := putRun(t, s, runSpec{row: "LOG", seed: 1, stdout: sb.String()})
	ts, _ := serveMem(t, s, Options{})
	var lv LogView
	getJSON(t, ts.URL+"/api/runs/"+r.RunID+"/logs/stdout?tail=3", 200, &lv)
	if lv.TotalLines != 5001 || len(lv.Lines) != 3 {
		t.Fatalf("tail: %d lines of %d", len(lv.Lines), lv.TotalLines)
	}
	if lv.Lines[0].Text != "line 4999" || lv.Lines[1].Text != "line 5000" || !lv.Lines[2].Cut || len(lv.Lines[2].Text) != maxLineShown || lv.Lines[2].N != 5001 {
		t.Errorf("tail lines %q %q cut=%v len %d", lv.Lines[0].Text, lv.Lines[1].Text, lv.Lines[2].Cut, len(lv.Lines[2].Text))
	}
}

func TestCompareAPI(t *testing.T) {
	f := newFixture(t)
	ts, _ := serveMem(t, f.s, Options{})
	var pair CompareView
	getJSON(t, ts.URL+"/api/compare?"+url.Values{"a": {f.pairA.RunID}, "b": {f.pairB.RunID}}.Encode(), 200, &pair)
	if pair.Mode != "same_seed" || pair.Comparison == nil || pair.Comparison.SameSeedExact || pair.Verdict != "within_tolerance" {
		t.Fatalf("same-seed pair: mode %q verdict %q comparison %+v", pair.Mode, pair.Verdict, pair.Comparison)
	}
	if len(pair.Diff.Identity) != 0 {
		t.Errorf("same-seed pair identity diffs %+v", pair.Diff.Identity)
	}
	var preds *verify.ArtifactDiff
	for i := range pair.Diff.Outputs {
		if pair.Diff.Outputs[i].Name == "predictions" {
			preds = &pair.Diff.Outputs[i]
		}
	}
	if preds == nil || preds.Content == nil || preds.Content.DifferingRows != 1 || !preds.Content.WithinTolerance ||
		len(preds.Content.Differences) != 1 || preds.Content.Differences[0].Row != 2 || !preds.Content.Differences[0].WithinTolerance {
		t.Fatalf("predictions diff %+v", preds)
	}
	if pair.Folds == nil || pair.Folds.Differing != 1 || pair.Folds.Outside != 0 {
		t.Errorf("folds %+v", pair.Folds)
	}

	var seeds CompareView
	getJSON(t, ts.URL+"/api/compare?"+url.Values{"a": {f.pairA.RunID}, "b": {f.seed2.RunID}, "rtol": {"0"}, "atol": {"0"}}.Encode(), 200, &seeds)
	if seeds.Mode != "diff" || seeds.Comparison != nil || seeds.Verdict != "differs" {
		t.Fatalf("two seeds: mode %q verdict %q", seeds.Mode, seeds.Verdict)
	}
	var comps []string
	for _, d := range seeds.Diff.Identity {
		comps = append(comps, d.Component)
	}
	if !slices.Contains(comps, "seed") || !slices.Contains(comps, "config") {
		t.Errorf("identity diffs %v: want seed and config", comps)
	}
	var lossDelta *verify.MetricDiff
	for i := range seeds.Diff.Metrics {
		if seeds.Diff.Metrics[i].Key == "$.loss" || seeds.Diff.Metrics[i].Key == "loss" {
			lossDelta = &seeds.Diff.Metrics[i]
		}
	}
	if seeds.Folds == nil || seeds.Folds.Outside != 1 {
		t.Errorf("folds of two seeds %+v (metric diffs %+v)", seeds.Folds, lossDelta)
	}

	// An exact pair, and a pair the checker refuses (failed runs) though
	// nothing differs.
	exactA := putRun(t, f.s, runSpec{row: "EXP-05", seed: 1})
	exactB := putRun(t, f.s, runSpec{row: "EXP-05", seed: 1, attempt: 2})
	failA := putRun(t, f.s, runSpec{row: "EXP-06", seed: 1, status: spec.StatusFailed})
	failB := putRun(t, f.s, runSpec{row: "EXP-06", seed: 1, attempt: 2, status: spec.StatusFailed})
	ts2, _ := serveMem(t, f.s, Options{})
	for _, tt := range []struct{ a, b, verdict string }{{exactA.RunID, exactB.RunID, "exact"}, {failA.RunID, failB.RunID, "check_failed"}} {
		var v CompareView
		getJSON(t, ts2.URL+"/api/compare?a="+tt.a+"&b="+tt.b, 200, &v)
		if v.Verdict != tt.verdict {
			t.Errorf("compare %s %s: verdict %q, want %q (errors %q)", tt.a, tt.b, v.Verdict, tt.verdict, v.Comparison.Errors)
		}
	}

	for _, q := range []string{"a=" + f.pairA.RunID, "a=&b=", "a=x&b=y&rtol=nan", "a=x&b=y&atol=-1", "a=x&b=y&rtol=1e400"} {
		getJSON(t, ts.URL+"/api/compare?"+q, 400, nil)
	}
	getJSON(t, ts.URL+"/api/compare?a=../../etc/passwd&b="+f.pairA.RunID, 404, nil)
}

func TestLineageAPI(t *testing.T) {
	f := newFixture(t)
	ts, _ := serveMem(t, f.s, Options{})
	d := cas.FromBytes([]byte("p\nchain-0\n"))
	var v LineageView
	getJSON(t, ts.URL+"/api/lineage/"+d.String(), 200, &v)
	if len(v.Lineage.ProducedBy()) != 1 || v.Lineage.ProducedBy()[0].Run != f.chain0.RunID ||
		len(v.Lineage.UsedBy()) != 1 || v.Lineage.UsedBy()[0].Run != f.chain1.RunID {
		t.Fatalf("lineage %+v", v.Lineage)
	}
	if v.Object == nil || v.Object.Size != int64(len("p\nchain-0\n")) {
		t.Errorf("object %+v", v.Object)
	}
	kinds := map[string]string{}
	for _, n := range v.Graph.Nodes {
		kinds[n.ID] = n.Kind
	}
	if kinds[f.chain0.RunID] != "run" || kinds[f.chain1.RunID] != "run" || kinds[d.String()] != "content" {
		t.Errorf("graph nodes %v", kinds)
	}
	edges := map[string]bool{}
	for _, e := range v.Graph.Edges {
		edges[e.From+" > "+e.To] = true
	}
	if !edges[f.chain0.RunID+" > "+d.String()] || !edges[d.String()+" > "+f.chain1.RunID] {
		t.Errorf("graph edges %v", edges)
	}
	// By SHA-256, as the manifest records it.
	var bySHA LineageView
	getJSON(t, ts.URL+"/api/lineage/sha256:"+sha([]byte("p\nchain-0\n")), 200, &bySHA)
	if len(bySHA.Lineage.UsedBy()) != 1 {
		t.Errorf("by sha256: %+v", bySHA.Lineage)
	}
	for _, bad := range []string{"not-a-digest", "blake3:1234", "md5:" + strings.Repeat("0", 32), "blake3:" + strings.Repeat("G", 64), "..%2F..%2Fetc%2Fpasswd"} {
		getJSON(t, ts.URL+"/api/lineage/"+bad, 400, nil)
	}
}

func TestFindingsAPI(t *testing.T) {
	f := newFixture(t)
	info, err := f.s.Put(t.Context(), strings.NewReader(findingsReport), cas.PutOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.s.SetRef(t.Context(), FindingsRefPrefix+"leakage/exp-01", "", info.Digest); err != nil {
		t.Fatal(err)
	}
	notReport, _ := f.s.Put(t.Context(), strings.NewReader(`{"schema":"something.else"}`), cas.PutOptions{})
	if err := f.s.SetRef(t.Context(), FindingsRefPrefix+"bogus", "", notReport.Digest); err != nil {
		t.Fatal(err)
	}
	ts, _ := serveMem(t, f.s, Options{})
	var list FindingsListView
	getJSON(t, ts.URL+"/api/findings", 200, &list)
	if len(list.Reports) != 2 || list.Reports[1].Ref != "findings/leakage/exp-01" || list.Reports[1].Findings != 2 || list.Reports[0].Error == "" {
		t.Fatalf("findings list %+v", list.Reports)
	}
	var rep ReportView
	getJSON(t, ts.URL+"/api/findings/"+info.Digest.String()+"?run="+f.pairA.RunID, 200, &rep)
	loc := rep.Locs[0][0]
	if loc.Path != "train.py" || loc.Line != 2 || loc.URL != "/runs/"+f.pairA.RunID+"/files/code/train.py#L2" {
		t.Errorf("location %+v", loc)
	}
	if rep.Locs[0][1].URL != "" || rep.Locs[0][1].Line != 0 {
		t.Errorf("location without a line: %+v", rep.Locs[0][1])
	}
	getJSON(t, ts.URL+"/api/findings/"+notReport.Digest.String(), 400, nil)
	getJSON(t, ts.URL+"/api/findings/blake3:"+strings.Repeat("0", 64), 404, nil)
}

func TestHostileParameters(t *testing.T) {
	f := newFixture(t)
	ts, _ := serveMem(t, f.s, Options{})
	run := f.pairA.RunID
	absent := "blake3:" + strings.Repeat("0", 64)
	tests := []struct {
		path string
		want int
	}{
		{"/api/runs/..%2F..%2Fetc%2Fpasswd", 404},
		{"/api/runs/%2e%2e", 404},
		{"/runs/" + run + "/files/..%2F..%2Fetc%2Fpasswd", 400},
		{"/runs/" + run + "/files/%2e%2e/%2e%2e/etc/passwd", 400},
		{"/runs/" + run + "/files/code/..%2Fmanifest.json", 400},
		{"/runs/" + run + "/files/code/.%2Ftrain.py", 400},
		{"/runs/" + run + "/files/code//train.py", 307}, // the mux redirects to the clean path
		{"/runs/" + run + "/files/etc/passwd", 404},
		{"/runs/" + run + "/files/code%00/train.py", 400},
		{"/api/runs/" + run + "/files/code/train.py", 200},
		{"/blobs/..%2F..%2Fetc%2Fpasswd", 400},
		{"/blobs/%2Fetc%2Fpasswd", 400},
		{"/blobs/blake3:xyz", 400},
		{"/blobs/blake3:" + strings.Repeat("a", 63), 400},
		{"/blobs/blake3:" + strings.Repeat("a", 65), 400},
		{"/blobs/BLAKE3:" + strings.Repeat("A", 64), 400},
		{"/blobs/blake3:" + strings.Repeat("A", 64), 400},
		{"/blobs/sha256:" + strings.Repeat("a", 64), 400},
		{"/blobs/" + f.pairA.Root.Encoded()[:12], 400},
		{"/blobs/" + absent, 404},
		{"/blobs/" + f.pairA.Root.String() + "?name=..%2F..%2Fx", 400},
		{"/blobs/" + f.pairA.Root.String() + "?name=a%0d%0aSet-Cookie:x=1", 400},
		{"/api/lineage/" + absent, 200},
		{"/findings/not-a-digest", 400},
		{"/nothing/here", 404},
		{"/static/", 404},
		{"/static/../serve.go", 307}, // to /serve.go, which is not a page
		{"/lineage?digest=%3Cscript%3E", 400},
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			code, h, body := get(t, client, ts.URL+tt.path)
			if code != tt.want {
				t.Fatalf("GET %s: %d, want %d: %s", tt.path, code, tt.want, body)
			}
			if strings.Contains(string(body), "root:x:0:0") {
				t.Fatalf("GET %s: served a file of the host", tt.path)
			}
			if code >= 400 && strings.HasPrefix(tt.path, "/blobs/") && !strings.HasPrefix(h.Get("Content-Type"), "application/json") {
				t.Errorf("blob error Content-Type %q", h.Get("Content-Type"))
			}
		})
	}
	// Methods other than GET and HEAD, and a foreign Host.
	for _, m := range []string{http.MethodPost, http.MethodPut, http.MethodDelete} {
		req, _ := http.NewRequest(m, ts.URL+"/api/runs", strings.NewReader("{}"))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("%s /api/runs: %d, want 405", m, resp.StatusCode)
		}
	}
	req, _ := http.NewRequest(http.MethodGet, ts.URL+"/api/runs", nil)
	req.Host = "attacker.example:80"
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMisdirectedRequest {
		t.Errorf("foreign Host: %d, want 421", resp.StatusCode)
	}
}

// TestUntrustedContentEscaped: a run whose logs, config and file names are
// markup is shown as text on every page, in HTML and JSON.
func TestUntrustedContentEscaped(t *testing.T) {
	f := newFixture(t)
	ts, _ := serveMem(t, f.s, Options{})
	run := f.hostile.RunID
	pages := []string{
		"/runs/" + run,
		"/runs/" + run + "/logs/stdout",
		"/runs/" + run + "/logs/stderr?q=script",
		"/runs/" + run + "/files/stdout.log",
		"/runs/" + run + "/files/code/" + url.PathEscape(`"><svg onload=alert(1)>.py`),
		"/compare?a=" + run + "&b=" + f.pairA.RunID,
		"/lineage/" + cas.FromBytes([]byte("starting\n"+xss+"\n")).String(),
		"/runs/" + url.PathEscape(xss),
		"/api/runs/" + run,
	}
	for _, p := range pages {
		t.Run(p, func(t *testing.T) {
			code, h, body := get(t, nil, ts.URL+p)
			if code != 200 && code != 404 {
				t.Fatalf("GET %s: %d: %s", p, code, body)
			}
			for _, bad := range []string{"<script>alert", "<img src=x", "<svg onload", "onerror=alert(1)>"} {
				if strings.Contains(string(body), bad) {
					t.Errorf("GET %s: the page contains %q unescaped", p, bad)
				}
			}
			if csp := h.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") {
				t.Errorf("CSP %q", csp)
			}
			if h.Get("X-Content-Type-Options") != "nosniff" {
				t.Errorf("no nosniff")
			}
			if strings.HasPrefix(p, "/api/") {
				var v RunView
				if err := json.Unmarshal(body, &v); err != nil {
					t.Fatal(err)
				}
				if !strings.Contains(v.Logs[0].Tail[1].Text, xss) {
					t.Errorf("the JSON lost the log text: %+v", v.Logs[0].Tail)
				}
			}
		})
	}
	// The page shows the markup as text.
	_, _, body := get(t, nil, ts.URL+"/runs/"+run)
	if !strings.Contains(string(body), "&lt;script&gt;alert(&#34;pwned&#34;)&lt;/script&gt;") {
		t.Errorf("the run page does not show the log line as text")
	}
}

func TestStaticAssets(t *testing.T) {
	s := newMemStore(t)
	ts, srv := serveMem(t, s, Options{})
	for _, p := range []string{"/static/app.js", "/static/style.css"} {
		code, h, body := get(t, nil, ts.URL+p)
		if code != 200 || len(body) == 0 {
			t.Fatalf("GET %s: %d", p, code)
		}
		if ct := h.Get("Content-Type"); !strings.Contains(ct, "javascript") && !strings.Contains(ct, "css") {
			t.Errorf("%s: Content-Type %q", p, ct)
		}
	}
	// Assets never open the store.
	if st, open := srv.pool.snapshot(); st.opens != 0 || open {
		t.Errorf("static files opened the store: %+v", st)
	}
}

func TestToken(t *testing.T) {
	s := newMemStore(t)
	putRun(t, s, runSpec{row: "T", seed: 1})
	ts, _ := serveMem(t, s, Options{Token: "s3cret"})
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

	code, h, _ := get(t, nil, ts.URL+"/api/runs")
	if code != 401 || !strings.HasPrefix(h.Get("WWW-Authenticate"), "Bearer") {
		t.Errorf("no token: %d, WWW-Authenticate %q", code, h.Get("WWW-Authenticate"))
	}
	for _, auth := range []string{"Bearer wrong", "Bearer s3cre", "Bearer s3cretX", "Basic s3cret", "s3cret"} {
		if code, _, _ := get(t, nil, ts.URL+"/api/runs", "Authorization", auth); code != 401 {
			t.Errorf("Authorization %q: %d, want 401", auth, code)
		}
	}
	if code, _, _ := get(t, nil, ts.URL+"/api/runs", "Authorization", "Bearer s3cret"); code != 200 {
		t.Errorf("the right bearer token: %d", code)
	}
	// With a token the Host check is off: the server may listen anywhere.
	req, _ := http.NewRequest(http.MethodGet, ts.URL+"/api/runs", nil)
	req.Host = "rigor.lab.example:8765"
	req.Header.Set("Authorization", "Bearer s3cret")
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 200 {
		t.Errorf("a token and another Host: %v %v", resp.StatusCode, err)
	} else {
		resp.Body.Close()
	}
	// A browser: ?token= once sets the cookie and drops the token from the URL.
	if code, _, _ := get(t, noRedirect, ts.URL+"/?row=T&token=wrong"); code != 401 {
		t.Errorf("?token=wrong: %d", code)
	}
	code, h, _ = get(t, noRedirect, ts.URL+"/?row=T&token=s3cret")
	if code != http.StatusSeeOther || h.Get("Location") != "/?row=T" {
		t.Fatalf("?token=: %d, Location %q", code, h.Get("Location"))
	}
	cookie := h.Get("Set-Cookie")
	if !strings.Contains(cookie, "rigor_token=s3cret") || !strings.Contains(cookie, "HttpOnly") || !strings.Contains(cookie, "SameSite=Strict") {
		t.Errorf("Set-Cookie %q", cookie)
	}
	if code, h, _ := get(t, noRedirect, ts.URL+"//evil.example/x?token=s3cret"); code != http.StatusSeeOther || h.Get("Location") != "/evil.example/x" {
		t.Errorf("?token= on //evil.example/x: %d, Location %q: want a path on this server", code, h.Get("Location"))
	}
	if code, _, _ := get(t, nil, ts.URL+"/?row=T", "Cookie", "rigor_token=s3cret"); code != 200 {
		t.Errorf("with the cookie: %d", code)
	}
	if code, _, _ := get(t, nil, ts.URL+"/", "Cookie", "rigor_token=nope"); code != 401 {
		t.Errorf("with a wrong cookie: %d", code)
	}
}
