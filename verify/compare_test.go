package verify

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/rigor-dev/rigor/spec"
)

// TestSelftestCases runs the nine cases of the Light selftest (spec §5.1)
// on stored runs: verify for the single-manifest cases, Compare for the
// pairs.
func TestSelftestCases(t *testing.T) {
	single := []struct {
		name       string
		mutate     func(b *bundle)
		wantOK     bool
		wantErr    string
		wantVerify bool
	}{
		{name: "1 valid bundle", wantOK: true, wantVerify: true},
		{name: "4 dirty without diff hash", mutate: func(b *bundle) { b.obj("code")["dirty"] = true },
			wantErr: "dirty code requires code.diff_sha256"},
		{name: "5 secret flag", mutate: func(b *bundle) {
			b.manifest["command"] = append(b.manifest["command"].([]any), "--api-key", "do-not-store-this")
		}, wantErr: "secret-bearing flag"},
		{name: "6 timestamps in 2999", mutate: func(b *bundle) {
			b.manifest["started_at"] = "2999-07-02T10:00:00+08:00"
			b.manifest["ended_at"] = "2999-07-02T10:01:00+08:00"
		}, wantErr: "future"},
		{name: "7 ended before started", mutate: func(b *bundle) { b.manifest["started_at"] = "2026-07-02T10:02:00+08:00" },
			wantErr: "ended_at must be greater than or equal to started_at"},
		{name: "8 aborted at max_iterations", mutate: func(b *bundle) {
			b.files["failure.json"] = "{\"reason\":\"max_iterations\"}\n"
			b.manifest["status"] = "aborted"
			b.manifest["termination"] = map[string]any{"reason": "max_iterations", "exit_code": nil, "signal": nil}
			b.manifest["completion"] = map[string]any{"status": "NOT_EVALUATED", "oracle": []any{}, "evidence_artifacts": []any{}}
			b.obj("artifacts")["failure"] = map[string]any{"path": "failure.json", "sha256": sha(b.files["failure.json"])}
		}, wantOK: true},
		{name: "9 raw metrics rewritten after hashing", mutate: func(b *bundle) { b.files["raw_metrics.jsonl"] = "{\"brier\":0.05}\n" },
			wantErr: "sha256 mismatch"},
	}
	for _, tt := range single {
		t.Run(tt.name, func(t *testing.T) {
			s := newStore(t)
			b := selftestBundle()
			if tt.mutate != nil {
				tt.mutate(b)
			}
			rep, err := Run(t.Context(), s, b.put(t, s), Options{Now: nowFn})
			must(t, err)
			if rep.OK != tt.wantOK || rep.Check == nil || rep.Check.OK != tt.wantOK {
				t.Fatalf("OK = %v, want %v: %q", rep.OK, tt.wantOK, messages(rep.Problems))
			}
			if rep.Check.CompletionVerified != tt.wantVerify {
				t.Errorf("completion_verified = %v, want %v", rep.Check.CompletionVerified, tt.wantVerify)
			}
			if tt.wantErr != "" && !strings.Contains(strings.Join(messages(rep.Problems), "\n"), tt.wantErr) {
				t.Errorf("problems %q lack %q", messages(rep.Problems), tt.wantErr)
			}
		})
	}

	t.Run("2 identical bundles are same_seed_exact", func(t *testing.T) {
		s := newStore(t)
		a, b := selftestBundle(), selftestBundle()
		a.manifest["run_id"], b.manifest["run_id"] = "run-a", "run-b"
		c, err := Compare(t.Context(), s, RunInfo{Root: a.put(t, s)}, RunInfo{Root: b.put(t, s)}, CompareOptions{Now: nowFn})
		must(t, err)
		if !c.SameSeedExact || len(c.Errors) != 0 || c.First != "run-a" || c.Second != "run-b" {
			t.Fatalf("same_seed_exact=%v errors=%q first=%q second=%q", c.SameSeedExact, c.Errors, c.First, c.Second)
		}
		if len(c.ComparedArtifacts) != 2 || !c.ComparedArtifacts["predictions"].Match || !c.ComparedArtifacts["raw_metrics"].Match {
			t.Errorf("compared artifacts = %+v", c.ComparedArtifacts)
		}
		if c.Rigor.WithinTolerance || len(c.Rigor.Artifacts) != 0 {
			t.Errorf("rigor details of an exact pair: %+v", c.Rigor)
		}
	})
	t.Run("3 changed predictions", func(t *testing.T) {
		s := newStore(t)
		a, b := selftestBundle(), selftestBundle()
		b.setFile("predictions.csv", "p\n0.3\n", b.obj("artifacts", "predictions"))
		c, err := Compare(t.Context(), s, RunInfo{Root: a.put(t, s)}, RunInfo{Root: b.put(t, s)}, CompareOptions{Now: nowFn, Tolerance: DefaultTolerance})
		must(t, err)
		if c.SameSeedExact || !slices.Equal(c.Errors, []string{"artifact mismatch: predictions"}) {
			t.Fatalf("same_seed_exact=%v errors=%q", c.SameSeedExact, c.Errors)
		}
		if len(c.Rigor.Artifacts) != 1 || c.Rigor.Artifacts[0].Content == nil {
			t.Fatalf("artifact details = %+v", c.Rigor.Artifacts)
		}
		cd := c.Rigor.Artifacts[0].Content
		if cd.DifferingRows != 1 || cd.WithinTolerance || c.Rigor.WithinTolerance ||
			len(cd.Differences) != 1 || cd.Differences[0].Column != "p" || cd.Differences[0].First != "0.2" || cd.Differences[0].Second != "0.3" {
			t.Errorf("content diff = %+v", cd)
		}
		if d := cd.MaxAbsDiff - 0.1; d > 1e-12 || d < -1e-12 {
			t.Errorf("max abs diff = %v, want 0.1", cd.MaxAbsDiff)
		}
	})
}

func TestCompareWithinTolerance(t *testing.T) {
	s := newStore(t)
	a, b := selftestBundle(), selftestBundle()
	b.setFile("predictions.csv", "p\n0.2000000001\n", b.obj("artifacts", "predictions"))
	b.setFile("raw_metrics.jsonl", "{\"brier\":0.0400000002}\n", b.obj("artifacts", "raw_metrics"))
	ra, rb := RunInfo{Root: a.put(t, s)}, RunInfo{Root: b.put(t, s)}

	c, err := Compare(t.Context(), s, ra, rb, CompareOptions{Now: nowFn, Tolerance: DefaultTolerance})
	must(t, err)
	if c.SameSeedExact {
		t.Fatal("runs that differ within tolerance were counted as exact")
	}
	want := []string{"artifact mismatch: predictions", "artifact mismatch: raw_metrics"}
	if !slices.Equal(c.Errors, want) {
		t.Errorf("errors = %q, want %q", c.Errors, want)
	}
	if !c.Rigor.WithinTolerance {
		t.Errorf("within_tolerance = false: %+v", c.Rigor.Artifacts)
	}
	for _, ad := range c.Rigor.Artifacts {
		if ad.Content == nil || !ad.Content.WithinTolerance || ad.Content.MaxAbsDiff <= 0 || ad.Content.MaxRelDiff <= 0 {
			t.Errorf("%s: content = %+v", ad.Name, ad.Content)
		}
	}
	// The light.repro_comparison.v1 fields stay the original's.
	js, err := json.Marshal(c)
	must(t, err)
	var top map[string]any
	must(t, json.Unmarshal(js, &top))
	for _, k := range []string{"schema", "first", "second", "same_seed_exact", "compared_artifacts", "errors", "rigor"} {
		if _, ok := top[k]; !ok {
			t.Errorf("JSON lacks %q: %s", k, js)
		}
	}
	if top["schema"] != spec.ReproComparisonSchema {
		t.Errorf("schema = %v", top["schema"])
	}

	c, err = Compare(t.Context(), s, ra, rb, CompareOptions{Now: nowFn}) // exact numbers
	must(t, err)
	if c.Rigor.WithinTolerance {
		t.Error("within_tolerance with a zero tolerance")
	}
}

func TestCompareIdentityDetails(t *testing.T) {
	s := newStore(t)
	a, b := selftestBundle(), selftestBundle()
	a.setFile("environment.json", `{"python":{"distributions":[{"name":"numpy","version":"1.26.4"},{"name":"torch","version":"2.2.0"}],"version":"3.11"}}`, a.obj("environment"))
	b.setFile("environment.json", `{"python":{"distributions":[{"name":"numpy","version":"2.0.0"},{"name":"scipy","version":"1.13.0"}],"version":"3.12"}}`, b.obj("environment"))
	b.setFile("config.json", "{\"seed\":42,\"lr\":0.1}\n", b.obj("config"))
	b.setFile("train.py", "print('train v2')\n", b.obj("code")["files"].([]any)[0].(map[string]any))
	b.obj("code")["commit"] = "def456"
	in := b.manifest["inputs"].([]any)[0].(map[string]any)
	in["source_revision"] = "rev-2"
	c, err := Compare(t.Context(), s, RunInfo{Root: a.put(t, s)}, RunInfo{Root: b.put(t, s)}, CompareOptions{Now: nowFn})
	must(t, err)
	if c.SameSeedExact || !slices.Contains(c.Errors, "run identity differs (matrix/config/environment/code/input)") {
		t.Fatalf("errors = %q", c.Errors)
	}
	got := map[string][]string{}
	for _, d := range c.Rigor.Identity {
		for _, ch := range d.Changes {
			got[d.Component] = append(got[d.Component], ch.Kind+" "+ch.Where+" "+ch.First+" -> "+ch.Second)
		}
		if len(d.Changes) == 0 {
			got[d.Component] = append(got[d.Component], d.First+" -> "+d.Second)
		}
	}
	want := map[string][]string{
		"config": {"added $.lr  -> 0.1"},
		"environment": {
			"changed package numpy 1.26.4 -> 2.0.0",
			"added package scipy  -> 1.13.0",
			"removed package torch 2.2.0 -> ",
			"changed $.python.version \"3.11\" -> \"3.12\"",
		},
		"code.commit": {"abc123 -> def456"},
		"code.files":  {"changed train.py " + sha("print('train')\n") + " -> " + sha("print('train v2')\n")},
		"inputs": {
			"changed data data.csv revision rev-1, sha256 " + sha("id,y\n1,0\n") + " -> revision rev-2, sha256 " + sha("id,y\n1,0\n"),
		},
	}
	if len(got) != len(want) {
		t.Errorf("components = %v, want %v", got, want)
	}
	for k, w := range want {
		if !slices.Equal(got[k], w) {
			t.Errorf("%s:\n  got  %q\n  want %q", k, got[k], w)
		}
	}
}

func TestDiffTwoSeeds(t *testing.T) {
	s := newStore(t)
	a, b := selftestBundle(), selftestBundle()
	b.obj("seed")["value"] = 7
	b.setFile("config.json", "{\"seed\":7}\n", b.obj("config"))
	b.setFile("predictions.csv", "p\n0.25\n", b.obj("artifacts", "predictions"))
	b.setFile("raw_metrics.jsonl", "{\"brier\":0.05}\n{\"brier\":0.03,\"auc\":0.9}\n", b.obj("artifacts", "raw_metrics"))
	ra, rb := recordRun(t, s, a, 1), recordRun(t, s, b, 1)
	d, err := Diff(t.Context(), s, ra, rb, CompareOptions{Now: nowFn, Tolerance: DefaultTolerance})
	must(t, err)
	if d.First != ra.RunID || d.Second != rb.RunID {
		t.Errorf("labels %q %q", d.First, d.Second)
	}
	var comps []string
	for _, id := range d.Identity {
		comps = append(comps, id.Component)
	}
	if !slices.Equal(comps, []string{"seed", "config"}) {
		t.Errorf("identity components = %q", comps)
	}
	if d.Identity[1].Changes[0].Where != "$.seed" {
		t.Errorf("config changes = %+v", d.Identity[1].Changes)
	}
	var outs []string
	for _, o := range d.Outputs {
		outs = append(outs, o.Name)
	}
	if !slices.Equal(outs, []string{"predictions", "raw_metrics"}) {
		t.Errorf("outputs = %q", outs)
	}
	if d.Outputs[1].Content == nil || d.Outputs[1].Content.RowsSecond != 2 || d.Outputs[1].Content.WithinTolerance {
		t.Errorf("raw_metrics content = %+v", d.Outputs[1].Content)
	}
	var ms []string
	for _, m := range d.Metrics {
		ms = append(ms, m.Kind+" "+m.Key+" "+m.First+" "+m.Second)
	}
	if !slices.Equal(ms, []string{"added $.auc  0.9", "changed $.brier 0.04 0.03"}) {
		t.Errorf("metrics = %q", ms)
	}

	same, err := Diff(t.Context(), s, ra, ra, CompareOptions{Now: nowFn})
	must(t, err)
	if len(same.Identity)+len(same.Outputs)+len(same.Metrics) != 0 {
		t.Errorf("diff of a run with itself: %+v", same)
	}
}

// TestCompareArtifactsBehindIdentity: the checker stops before the
// artifacts when the identity differs; rigor still says how they differ.
func TestCompareArtifactsBehindIdentity(t *testing.T) {
	s := newStore(t)
	a, b := selftestBundle(), selftestBundle()
	b.obj("code")["commit"] = "def456"
	b.setFile("predictions.csv", "p\n0.2000001\n", b.obj("artifacts", "predictions"))
	c, err := Compare(t.Context(), s, RunInfo{Root: a.put(t, s)}, RunInfo{Root: b.put(t, s)}, CompareOptions{Now: nowFn, Tolerance: DefaultTolerance})
	must(t, err)
	if len(c.ComparedArtifacts) != 0 || !slices.Equal(c.Errors, []string{"run identity differs (matrix/config/environment/code/input)"}) {
		t.Fatalf("light result: compared=%v errors=%q", c.ComparedArtifacts, c.Errors)
	}
	if len(c.Rigor.Artifacts) != 1 || c.Rigor.Artifacts[0].Name != "predictions" || c.Rigor.Artifacts[0].Content == nil || !c.Rigor.Artifacts[0].Content.WithinTolerance {
		t.Fatalf("artifacts = %+v", c.Rigor.Artifacts)
	}
	if c.Rigor.WithinTolerance {
		t.Error("within_tolerance despite an identity difference")
	}
}
