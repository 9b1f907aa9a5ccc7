package ingest

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	digest "github.com/opencontainers/go-digest"

	"github.com/rigor-dev/rigor/cas"
	"github.com/rigor-dev/rigor/spec"
)

var importNow = func() time.Time { return time.Date(2026, 7, 3, 0, 0, 0, 0, time.UTC) }

func shaHex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// lightRun is a run directory of the Light selftest (spec §5.1): files and
// a manifest that cases mutate before it is written.
type lightRun struct {
	files    map[string]string
	manifest map[string]any
}

func selftestRun() *lightRun {
	files := map[string]string{
		"config.json": "{\"seed\":42}\n", "environment.json": "{\"python\":\"3.11\"}\n", "src/train.py": "print('train')\n",
		"data/input.csv": "id,y\n1,0\n", "stdout.log": "ok\n", "stderr.log": "", "raw_metrics.jsonl": "{\"brier\":0.04}\n",
		"predictions.csv": "p\n0.2\n", "test_evidence.json": "{\"passed\":true}\n",
	}
	ref := func(p string) map[string]any { return map[string]any{"path": p, "sha256": shaHex(files[p])} }
	m := map[string]any{
		"schema": spec.RunManifestSchema, "run_id": "EXP-01__seed-42__1", "matrix_row": "EXP-01", "status": "completed",
		"termination": map[string]any{"reason": "natural_exit", "exit_code": 0, "signal": nil},
		"seed":        map[string]any{"role": "fixed_repro", "value": 42},
		"command":     []any{"python", "src/train.py", "--seed", "42"},
		"started_at":  "2026-07-02T10:00:00+08:00", "ended_at": "2026-07-02T10:01:00+08:00",
		"config": ref("config.json"), "environment": ref("environment.json"),
		"code":   map[string]any{"commit": "abc123", "dirty": false, "diff_sha256": nil, "files": []any{ref("src/train.py")}},
		"inputs": []any{map[string]any{"role": "data", "path": "data/input.csv", "sha256": shaHex(files["data/input.csv"]), "source_revision": "rev-1"}},
		"artifacts": map[string]any{
			"stdout": ref("stdout.log"), "stderr": ref("stderr.log"), "raw_metrics": ref("raw_metrics.jsonl"),
			"predictions": ref("predictions.csv"), "test_evidence": ref("test_evidence.json"), "failure": nil,
		},
		"completion": map[string]any{"status": "PASS", "oracle": []any{"declared test suite passed", "outputs parse"},
			"evidence_artifacts": []any{"test_evidence", "raw_metrics", "predictions"}},
		"reproducibility": map[string]any{"pair_id": "EXP-01__seed-42", "comparison_role": "first", "compare_artifacts": []any{"predictions", "raw_metrics"}},
		"notes":           []any{},
	}
	return &lightRun{files: files, manifest: m}
}

func (r *lightRun) write(t *testing.T, dir string) {
	t.Helper()
	b, err := json.MarshalIndent(r.manifest, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	all := map[string]string{ManifestName: string(b) + "\n"}
	for k, v := range r.files {
		all[k] = v
	}
	writeFiles(t, dir, all)
}

// storeCounts counts the objects and refs of a store.
func storeCounts(t *testing.T, s *cas.Store) (objects int64, refs int) {
	t.Helper()
	rep, err := s.Fsck(t.Context(), cas.FsckOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.ListRefs(t.Context(), "", func(string, digest.Digest) error { refs++; return nil }); err != nil {
		t.Fatal(err)
	}
	return rep.Objects, refs
}

// TestImportRunSelftestCases imports the nine cases of the Light selftest
// (spec §5.1, the pairs as single runs): valid ones are stored as attempts,
// the others refused with the checker's message and nothing stored.
func TestImportRunSelftestCases(t *testing.T) {
	s := newTestStore(t)
	tests := []struct {
		name    string
		mutate  func(r *lightRun)
		wantErr string // "" → imported
		attempt int
	}{
		{name: "1 valid", attempt: 1},
		{name: "2 identical bundle, other run_id", mutate: func(r *lightRun) { r.manifest["run_id"] = "EXP-01__seed-42__b" }, attempt: 2},
		{name: "3 predictions changed", mutate: func(r *lightRun) {
			r.files["predictions.csv"] = "p\n0.3\n"
			r.manifest["artifacts"].(map[string]any)["predictions"] = map[string]any{"path": "predictions.csv", "sha256": shaHex("p\n0.3\n")}
		}, attempt: 3},
		{name: "4 dirty without diff", mutate: func(r *lightRun) { r.manifest["code"].(map[string]any)["dirty"] = true },
			wantErr: "dirty code requires code.diff_sha256"},
		{name: "5 secret flag", mutate: func(r *lightRun) {
			r.manifest["command"] = []any{"python", "src/train.py", "--api-key", "do-not-store-this"}
		}, wantErr: "command appears to contain a secret-bearing flag; record only an env/key name"},
		{name: "6 future", mutate: func(r *lightRun) {
			r.manifest["started_at"], r.manifest["ended_at"] = "2999-07-02T10:00:00+08:00", "2999-07-02T10:01:00+08:00"
		}, wantErr: "started_at is in the future"},
		{name: "7 ended before started", mutate: func(r *lightRun) { r.manifest["started_at"] = "2026-07-02T10:02:00+08:00" },
			wantErr: "ended_at must be greater than or equal to started_at"},
		{name: "8 aborted at max_iterations", mutate: func(r *lightRun) {
			r.files["failure.json"] = "{\"reason\":\"max_iterations\"}\n"
			r.manifest["status"] = "aborted"
			r.manifest["termination"] = map[string]any{"reason": "max_iterations", "exit_code": nil, "signal": nil}
			r.manifest["completion"] = map[string]any{"status": "NOT_EVALUATED", "oracle": []any{}, "evidence_artifacts": []any{}}
			r.manifest["artifacts"].(map[string]any)["failure"] = map[string]any{"path": "failure.json", "sha256": shaHex(r.files["failure.json"])}
		}, attempt: 4},
		{name: "9 metrics rewritten after hashing", mutate: func(r *lightRun) { r.files["raw_metrics.jsonl"] = "{\"brier\":0.05}\n" },
			wantErr: "artifacts.raw_metrics: sha256 mismatch expected=" + shaHex("{\"brier\":0.04}\n") + " actual=" + shaHex("{\"brier\":0.05}\n")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := selftestRun()
			if tt.mutate != nil {
				tt.mutate(r)
			}
			dir := filepath.Join(t.TempDir(), "run")
			r.write(t, dir)
			objects, refs := storeCounts(t, s)
			res, err := ImportRun(t.Context(), s, dir, ImportOptions{Now: importNow})
			if tt.wantErr != "" {
				var rde *RunDirError
				if !errors.As(err, &rde) || !errors.Is(err, ErrRefused) || !slices.Contains(rde.Problems, tt.wantErr) {
					t.Fatalf("err = %v, want a refusal listing %q", err, tt.wantErr)
				}
				if o, rf := storeCounts(t, s); o != objects || rf != refs {
					t.Errorf("a refused import stored something: objects %d -> %d, refs %d -> %d", objects, o, refs, rf)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			sum := res.Summary
			if sum.Attempt != tt.attempt || sum.RunID != spec.RunID("EXP-01", 42, tt.attempt) || sum.Ref != spec.RunRef("EXP-01", 42, tt.attempt) || res.Existing {
				t.Errorf("summary = %+v existing=%v", sum, res.Existing)
			}
			if got, err := s.GetRef(t.Context(), sum.Ref); err != nil || got != sum.Root {
				t.Errorf("ref %s = %s, %v; want %s", sum.Ref, got, err, sum.Root)
			}
			if sum.Status != r.manifest["status"] || sum.DurationMS != 60000 {
				t.Errorf("status %q duration %d", sum.Status, sum.DurationMS)
			}
			// The bundle holds the manifest and the files it names, as they were.
			for p, content := range r.files {
				e, err := bundleEntry(t.Context(), s, sum.Root, p, map[digest.Digest]cas.Tree{})
				if err != nil || e.Digest != cas.FromBytes([]byte(content)) {
					t.Errorf("%s in the bundle: %v %v", p, e.Digest, err)
				}
			}
		})
	}

	t.Run("re-import records nothing", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "run")
		selftestRun().write(t, dir)
		objects, refs := storeCounts(t, s)
		res, err := ImportRun(t.Context(), s, dir, ImportOptions{Now: importNow})
		if err != nil || !res.Existing || res.Summary.Attempt != 1 {
			t.Fatalf("re-import: %+v, %v", res, err)
		}
		if o, rf := storeCounts(t, s); o != objects || rf != refs {
			t.Errorf("re-import stored something: objects %d -> %d, refs %d -> %d", objects, o, refs, rf)
		}
	})
}

func TestImportRunRefusals(t *testing.T) {
	s := newTestStore(t)
	tests := []struct {
		name    string
		setup   func(t *testing.T, dir string)
		wantErr string
	}{
		{name: "no manifest", setup: func(t *testing.T, dir string) { writeFiles(t, dir, map[string]string{"a.txt": "a"}) },
			wantErr: "cannot read manifest: open "},
		{name: "symbolic link", setup: func(t *testing.T, dir string) {
			r := selftestRun()
			r.write(t, dir)
			must(t, os.Rename(filepath.Join(dir, "predictions.csv"), filepath.Join(filepath.Dir(dir), "elsewhere.csv")))
			must(t, os.Symlink("../elsewhere.csv", filepath.Join(dir, "predictions.csv")))
		}, wantErr: "predictions.csv: is a symbolic link; rigor import stores regular files only (replace the link with a copy of the file)"},
		{name: "row that cannot name a run", setup: func(t *testing.T, dir string) {
			r := selftestRun()
			r.manifest["matrix_row"] = "EXP__01"
			r.write(t, dir)
		}, wantErr: "matrix_row \"EXP__01\" cannot name a rigor run: use 1 to 128 letters, digits, '.', '_' or '-', without \"__\""},
		{name: "link escaping the directory", setup: func(t *testing.T, dir string) {
			r := selftestRun()
			r.write(t, dir)
			must(t, os.WriteFile(filepath.Join(filepath.Dir(dir), "outside.log"), []byte("ok\n"), 0o644))
			must(t, os.Remove(filepath.Join(dir, "stdout.log")))
			must(t, os.Symlink("../outside.log", filepath.Join(dir, "stdout.log")))
		}, wantErr: "artifacts.stdout: path escapes run directory: stdout.log"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "run")
			must(t, os.MkdirAll(dir, 0o755))
			tt.setup(t, dir)
			_, err := ImportRun(t.Context(), s, dir, ImportOptions{Now: importNow})
			var rde *RunDirError
			if !errors.As(err, &rde) {
				t.Fatalf("err = %v, want a *RunDirError", err)
			}
			found := false
			for _, p := range rde.Problems {
				found = found || strings.HasPrefix(p, tt.wantErr)
			}
			if !found {
				t.Errorf("problems %q lack %q", rde.Problems, tt.wantErr)
			}
		})
	}
	if _, refs := storeCounts(t, s); refs != 0 {
		t.Errorf("%d refs after refusals", refs)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestExportRun exports an imported run and gets the same directory back;
// a bundle that breaks a rule is not exported.
func TestExportRun(t *testing.T) {
	s := newTestStore(t)
	src := filepath.Join(t.TempDir(), "run")
	r := selftestRun()
	r.files["guardrails.json"] = "{\"ok\":true}\n"
	r.manifest["artifacts"].(map[string]any)["guardrail_evidence"] = map[string]any{"path": "guardrails.json", "sha256": shaHex("{\"ok\":true}\n")}
	r.write(t, src)
	writeFiles(t, src, map[string]string{"scratch/notes.txt": "not in the manifest\n"})
	res, err := ImportRun(t.Context(), s, src, ImportOptions{Now: importNow})
	must(t, err)

	out := filepath.Join(t.TempDir(), "out")
	exp, err := ExportRun(t.Context(), s, res.Summary.Root, out, ExportOptions{Now: importNow})
	must(t, err)
	if !exp.Check.OK || !exp.Check.CompletionVerified || exp.Files != len(r.files)+1 {
		t.Errorf("export: %+v", exp)
	}
	for p := range r.files {
		a, _ := os.ReadFile(filepath.Join(src, p))
		b, err := os.ReadFile(filepath.Join(out, p))
		if err != nil || !bytes.Equal(a, b) {
			t.Errorf("%s: exported %q (%v), want %q", p, b, err, a)
		}
	}
	if _, err := os.Stat(filepath.Join(out, "scratch")); !os.IsNotExist(err) {
		t.Errorf("a file the manifest does not name was imported or exported: %v", err)
	}
	// The exported directory passes the Light checker on its own.
	m, err := os.ReadFile(filepath.Join(out, ManifestName))
	must(t, err)
	if c := spec.CheckRunManifest(m, NewDirFiles(out), importNow()); !c.OK {
		t.Errorf("exported directory: %q", c.Errors)
	}

	if _, err := ExportRun(t.Context(), s, res.Summary.Root, out, ExportOptions{Now: importNow}); !errors.Is(err, ErrTargetExists) {
		t.Errorf("export onto an existing directory: %v", err)
	}

	// A tree whose manifest names a file it lacks.
	bad := selftestRun()
	badDir := filepath.Join(t.TempDir(), "bad")
	bad.write(t, badDir)
	must(t, os.Remove(filepath.Join(badDir, "predictions.csv")))
	added, err := New(s, Options{}).AddPath(t.Context(), badDir, AddOptions{})
	must(t, err)
	out2 := filepath.Join(t.TempDir(), "out2")
	_, err = ExportRun(t.Context(), s, added.Info.Digest, out2, ExportOptions{Now: importNow})
	var rde *RunDirError
	if !errors.As(err, &rde) || !slices.Contains(rde.Problems, "artifacts.predictions: file not found: predictions.csv") {
		t.Fatalf("export of a broken bundle: %v", err)
	}
	if _, err := os.Stat(out2); !os.IsNotExist(err) {
		t.Errorf("a refused export left %s behind", out2)
	}
	entries, _ := os.ReadDir(filepath.Dir(out2))
	if len(entries) != 0 {
		t.Errorf("a refused export left temporary files: %v", entries)
	}
}

// TestRecordRun checks the ref and index entries RecordRun writes, and that
// a taken ref writes nothing.
func TestRecordRun(t *testing.T) {
	s := newTestStore(t)
	ctx := t.Context()
	info, err := s.Put(ctx, strings.NewReader("bundle stand-in"), cas.PutOptions{})
	must(t, err)
	in, out := cas.FromBytes([]byte("in")), cas.FromBytes([]byte("out"))
	zero := 0
	sum := spec.RunSummary{ExitCode: &zero,
		Schema: spec.SchemaRunSummary, RunID: spec.RunID("EXP-01", 7, 2), Row: "EXP-01", Seed: spec.Seed{Role: "fixed_repro", Value: 7},
		Attempt: 2, Ref: spec.RunRef("EXP-01", 7, 2), Status: "completed", Termination: "natural_exit", Completion: "PASS",
		Root: info.Digest, Config: info.Digest,
	}
	e := RunEntry{Summary: sum,
		Inputs:  []LineageItem{{Digest: in, SHA256: shaHex("in"), Path: "inputs/data/in.csv", Role: "data"}},
		Outputs: []LineageItem{{Digest: out, Path: "predictions.csv", Name: "predictions"}},
	}
	must(t, RecordRun(ctx, s, e))
	if got, err := s.GetRef(ctx, sum.Ref); err != nil || got != info.Digest {
		t.Fatalf("ref: %s %v", got, err)
	}
	get := func(index, key string) string {
		var v string
		must(t, s.ScanIndex(ctx, index, []byte(key), func(k, val []byte) error {
			if string(k) == key {
				v = string(val)
			}
			return nil
		}))
		return v
	}
	if v := get(spec.RunsIndex, sum.RunID); !strings.Contains(v, `"run_id":"EXP-01__seed-7__attempt-2"`) {
		t.Errorf("runs index: %q", v)
	}
	wantIn := `{"kind":"input","role":"data","path":"inputs/data/in.csv"}`
	for _, k := range []string{in.String(), "sha256:" + shaHex("in")} {
		if v := get(spec.LineageInIndex, string(spec.LineageKey(k, sum.RunID))); v != wantIn {
			t.Errorf("lineage-in %s = %q, want %q", k, v, wantIn)
		}
	}
	if v := get(spec.LineageOutIndex, string(spec.LineageKey(out.String(), sum.RunID))); v != `{"name":"predictions","path":"predictions.csv"}` {
		t.Errorf("lineage-out = %q", v)
	}

	// The same ref again: a conflict, and no index entry is touched.
	e2 := e
	e2.Outputs = []LineageItem{{Digest: cas.FromBytes([]byte("other")), Path: "x.csv", Name: "x"}}
	if err := RecordRun(ctx, s, e2); !errors.Is(err, cas.ErrRefConflict) {
		t.Fatalf("second RecordRun: %v, want ErrRefConflict", err)
	}
	if v := get(spec.LineageOutIndex, string(spec.LineageKey(cas.FromBytes([]byte("other")).String(), sum.RunID))); v != "" {
		t.Errorf("a refused RecordRun wrote lineage: %q", v)
	}

	// NextAttempt counts refs and rigor run's reservations.
	if n, err := NextAttempt(ctx, s, "EXP-01", 7); err != nil || n != 3 {
		t.Errorf("NextAttempt = %d, %v; want 3", n, err)
	}
	must(t, s.PutIndex(ctx, spec.ReservationsIndex, append(spec.ReservationPrefix("EXP-01", 7), []byte("0000000005")...), []byte("{}")))
	if n, err := NextAttempt(ctx, s, "EXP-01", 7); err != nil || n != 6 {
		t.Errorf("NextAttempt with a reservation of 5 = %d, %v; want 6", n, err)
	}
	if n, err := NextAttempt(ctx, s, "EXP-01", 70); err != nil || n != 1 {
		t.Errorf("NextAttempt of a fresh seed = %d, %v; want 1", n, err)
	}
}
