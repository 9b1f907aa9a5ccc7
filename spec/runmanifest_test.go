package spec

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"testing"
	"time"
)

// memFiles is an in-memory run directory.
type memFiles map[string]string

func (m memFiles) SHA256(rel string) (string, error) {
	b, ok := m[rel]
	if !ok {
		return "", fmt.Errorf("%s: %w", rel, fs.ErrNotExist)
	}
	sum := sha256.Sum256([]byte(b))
	return hex.EncodeToString(sum[:]), nil
}

func sha(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

var testNow = time.Date(2026, 7, 3, 0, 0, 0, 0, time.UTC)

// bundle builds the fixture of the Light selftest (spec §5.1): its files and
// a valid manifest as a generic map that cases mutate.
func bundle() (memFiles, map[string]any) {
	files := memFiles{
		"config.json":        "{\"seed\":42}\n",
		"environment.json":   "{\"python\":\"3.11\"}\n",
		"train.py":           "print('train')\n",
		"data.csv":           "id,y\n1,0\n",
		"stdout.log":         "ok\n",
		"stderr.log":         "",
		"raw_metrics.jsonl":  "{\"brier\":0.04}\n",
		"predictions.csv":    "p\n0.2\n",
		"test_evidence.json": "{\"passed\":true}\n",
	}
	ref := func(p string) map[string]any { return map[string]any{"path": p, "sha256": sha(files[p])} }
	m := map[string]any{
		"schema":      RunManifestSchema,
		"run_id":      "EXP-01__seed-42__attempt-1",
		"matrix_row":  "EXP-01",
		"status":      "completed",
		"termination": map[string]any{"reason": "natural_exit", "exit_code": 0, "signal": nil},
		"seed":        map[string]any{"role": "fixed_repro", "value": 42},
		"command":     []any{"python", "train.py", "--seed", "42"},
		"started_at":  "2026-07-02T10:00:00+08:00",
		"ended_at":    "2026-07-02T10:01:00+08:00",
		"config":      ref("config.json"),
		"environment": ref("environment.json"),
		"code":        map[string]any{"commit": "abc123", "dirty": false, "diff_sha256": nil, "files": []any{ref("train.py")}},
		"inputs":      []any{map[string]any{"role": "data", "path": "data.csv", "sha256": sha(files["data.csv"]), "source_revision": "rev-1"}},
		"artifacts": map[string]any{
			"stdout": ref("stdout.log"), "stderr": ref("stderr.log"), "raw_metrics": ref("raw_metrics.jsonl"),
			"predictions": ref("predictions.csv"), "test_evidence": ref("test_evidence.json"), "failure": nil,
		},
		"completion": map[string]any{
			"status":             "PASS",
			"oracle":             []any{"declared test suite passed", "required raw outputs exist and are parseable"},
			"evidence_artifacts": []any{"test_evidence", "raw_metrics", "predictions"},
		},
		"reproducibility": map[string]any{"pair_id": "EXP-01__seed-42", "comparison_role": "first", "compare_artifacts": []any{"predictions", "raw_metrics"}},
		"notes":           []any{},
	}
	return files, m
}

func encode(t *testing.T, m map[string]any) []byte {
	t.Helper()
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestCheckRunManifestSelftestCases(t *testing.T) {
	tests := []struct {
		name       string
		mutate     func(files memFiles, m map[string]any)
		wantOK     bool
		wantErr    string
		wantVerify bool
	}{
		{name: "valid bundle", wantOK: true, wantVerify: true},
		{name: "dirty without diff", mutate: func(_ memFiles, m map[string]any) {
			m["code"].(map[string]any)["dirty"] = true
		}, wantErr: "dirty code requires code.diff_sha256"},
		{name: "secret flag", mutate: func(_ memFiles, m map[string]any) {
			m["command"] = append(m["command"].([]any), "--api-key", "do-not-store-this")
		}, wantErr: "secret-bearing flag"},
		{name: "secret flag with =", mutate: func(_ memFiles, m map[string]any) {
			m["command"] = append(m["command"].([]any), "--TOKEN=abc")
		}, wantErr: "secret-bearing flag"},
		{name: "future timestamps", mutate: func(_ memFiles, m map[string]any) {
			m["started_at"] = "2999-07-02T10:00:00+08:00"
			m["ended_at"] = "2999-07-02T10:01:00+08:00"
		}, wantErr: "future"},
		{name: "ended before started", mutate: func(_ memFiles, m map[string]any) {
			m["started_at"] = "2026-07-02T10:02:00+08:00"
		}, wantErr: "ended_at must be greater than or equal to started_at"},
		{name: "aborted at max_iterations is valid but not verified", mutate: func(files memFiles, m map[string]any) {
			files["failure.json"] = "{\"reason\":\"max_iterations\"}\n"
			m["status"] = "aborted"
			m["termination"] = map[string]any{"reason": "max_iterations", "exit_code": nil, "signal": nil}
			m["completion"] = map[string]any{"status": "NOT_EVALUATED", "oracle": []any{}, "evidence_artifacts": []any{}}
			m["artifacts"].(map[string]any)["failure"] = map[string]any{"path": "failure.json", "sha256": sha(files["failure.json"])}
		}, wantOK: true},
		{name: "metrics rewritten after hashing", mutate: func(files memFiles, _ map[string]any) {
			files["raw_metrics.jsonl"] = "{\"brier\":0.05}\n"
		}, wantErr: "sha256 mismatch"},
		{name: "naive timestamp", mutate: func(_ memFiles, m map[string]any) {
			m["started_at"] = "2026-07-02T10:00:00"
		}, wantErr: "started_at must be timezone-aware ISO-8601"},
		{name: "boolean exit code", mutate: func(_ memFiles, m map[string]any) {
			m["termination"].(map[string]any)["exit_code"] = true
		}, wantErr: "termination.exit_code must be integer or null"},
		{name: "path escapes", mutate: func(_ memFiles, m map[string]any) {
			m["config"].(map[string]any)["path"] = "../config.json"
		}, wantErr: "config: path escapes run directory: ../config.json"},
		{name: "missing file", mutate: func(files memFiles, _ map[string]any) {
			delete(files, "stdout.log")
		}, wantErr: "artifacts.stdout: file not found: stdout.log"},
		{name: "upper-case sha never matches", mutate: func(files memFiles, m map[string]any) {
			c := m["config"].(map[string]any)
			c["sha256"] = strings.ToUpper(c["sha256"].(string))
		}, wantErr: "config: sha256 mismatch"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files, m := bundle()
			if tt.mutate != nil {
				tt.mutate(files, m)
			}
			got := CheckRunManifest(encode(t, m), files, testNow)
			if got.OK != tt.wantOK {
				t.Fatalf("OK = %v, want %v; errors: %v", got.OK, tt.wantOK, got.Errors)
			}
			if got.CompletionVerified != tt.wantVerify {
				t.Errorf("CompletionVerified = %v, want %v", got.CompletionVerified, tt.wantVerify)
			}
			if tt.wantErr != "" && !strings.Contains(strings.Join(got.Errors, "\n"), tt.wantErr) {
				t.Errorf("errors %q do not contain %q", got.Errors, tt.wantErr)
			}
		})
	}
}

func TestCompareRunManifests(t *testing.T) {
	fa, ma := bundle()
	fb, mb := bundle()
	r := CompareRunManifests(encode(t, ma), encode(t, mb), fa, fb, "a", "b", testNow)
	if !r.SameSeedExact || len(r.Errors) != 0 {
		t.Fatalf("identical bundles: same_seed_exact=%v errors=%v", r.SameSeedExact, r.Errors)
	}
	if !r.ComparedArtifacts["predictions"].Match {
		t.Errorf("predictions should match: %+v", r.ComparedArtifacts)
	}

	fb["predictions.csv"] = "p\n0.3\n"
	mb["artifacts"].(map[string]any)["predictions"] = map[string]any{"path": "predictions.csv", "sha256": sha(fb["predictions.csv"])}
	r = CompareRunManifests(encode(t, ma), encode(t, mb), fa, fb, "a", "b", testNow)
	if r.SameSeedExact || !strings.Contains(strings.Join(r.Errors, "\n"), "artifact mismatch: predictions") {
		t.Fatalf("changed predictions: same_seed_exact=%v errors=%v", r.SameSeedExact, r.Errors)
	}

	fc, mc := bundle()
	mc["code"].(map[string]any)["commit"] = "def456"
	r = CompareRunManifests(encode(t, ma), encode(t, mc), fa, fc, "a", "c", testNow)
	if r.SameSeedExact || len(r.IdentityDifference) != 1 || r.IdentityDifference[0] != "code.commit" {
		t.Fatalf("changed commit: exact=%v identity=%v errors=%v", r.SameSeedExact, r.IdentityDifference, r.Errors)
	}

	fd, md := bundle()
	md["seed"] = map[string]any{"role": "randomness_estimation", "value": 42}
	r = CompareRunManifests(encode(t, md), encode(t, md), fd, fd, "d", "d", testNow)
	if r.SameSeedExact || !strings.Contains(strings.Join(r.Errors, "\n"), "runs must share seed role=fixed_repro") {
		t.Fatalf("randomness_estimation pair: %v", r.Errors)
	}
}

// TestCheckRunManifestTrailingData: Python's json.load refuses anything
// but whitespace after the manifest's value ("Extra data"); so does the
// checker (found by FuzzCheckRunManifest in CI: a valid manifest plus "P"
// was accepted, and rigor could then not decode it).
func TestCheckRunManifestTrailingData(t *testing.T) {
	files, m := bundle()
	valid, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		tail string
		ok   bool
	}{
		{"", true},
		{" \n\t\r\n", true},
		{"P", false},
		{" {}", false},
		{"\n]", false},
		{"\v", false}, // not JSON whitespace
	} {
		c := CheckRunManifest(append(slices.Clone(valid), tc.tail...), files, testNow)
		if c.OK != tc.ok {
			t.Errorf("manifest + %q: OK = %v, want %v (%q)", tc.tail, c.OK, tc.ok, c.Errors)
		}
		if !tc.ok && (len(c.Errors) != 1 || !strings.Contains(c.Errors[0], "extra data after the JSON value")) {
			t.Errorf("manifest + %q: errors %q, want the one extra-data error", tc.tail, c.Errors)
		}
	}
}
