package verify

import (
	"slices"
	"strings"
	"testing"
)

func rule(path, msg string) string { return "manifest-rule " + path + ": " + msg }

const mf = "manifest.json"

const reasons = "['error', 'max_iterations', 'natural_exit', 'preempted', 'timeout', 'user_cancel']"

// failedBundle is the selftest bundle turned into a failed run with a
// hashed failure.json.
func failedBundle(status, reason string, exit any) *bundle {
	b := selftestBundle()
	b.files["failure.json"] = "{\"reason\":\"" + reason + "\"}\n"
	b.manifest["status"] = status
	b.manifest["termination"] = map[string]any{"reason": reason, "exit_code": exit, "signal": nil}
	b.obj("artifacts")["failure"] = map[string]any{"path": "failure.json", "sha256": sha(b.files["failure.json"])}
	return b
}

// TestRunManifestRules checks every rule of run_artifact_check (spec §3.5,
// rules 1 to 32, and each hashed-file rule) on a stored run: one case per
// rule and sub-rule, asserting the exact problems verify.Run reports.
func TestRunManifestRules(t *testing.T) {
	cfgSHA := sha("{\"seed\":42}\n")
	tests := []struct {
		name   string
		build  func() *bundle
		mutate func(b *bundle)
		want   []string
	}{
		{name: "valid selftest bundle", want: nil},
		{name: "rule 1: bad JSON", mutate: func(b *bundle) { b.rawManifest = []byte("{not json") },
			want: []string{rule(mf, "cannot read manifest: invalid character 'n' looking for beginning of object key string")}},
		{name: "rule 1: top level not an object", mutate: func(b *bundle) { b.rawManifest = []byte("[1]") },
			want: []string{rule(mf, "cannot read manifest: top level must be an object")}},
		{name: "rule 2: schema", mutate: func(b *bundle) { b.manifest["schema"] = "light.run_manifest.v2" },
			want: []string{rule(mf, "schema must be light.run_manifest.v3")}},
		{name: "rule 3: blank run_id", mutate: func(b *bundle) { b.manifest["run_id"] = "  " },
			want: []string{rule(mf, "missing non-empty string: run_id")}},
		{name: "rule 3: missing matrix_row", mutate: func(b *bundle) { delete(b.manifest, "matrix_row") },
			want: []string{rule(mf, "missing non-empty string: matrix_row")}},
		{name: "rule 4: naive started_at", mutate: func(b *bundle) { b.manifest["started_at"] = "2026-07-02T10:00:00" },
			want: []string{rule(mf, "started_at must be timezone-aware ISO-8601")}},
		{name: "rule 4: unparsable ended_at", mutate: func(b *bundle) { b.manifest["ended_at"] = "yesterday" },
			want: []string{rule(mf, "ended_at must be timezone-aware ISO-8601")}},
		{name: "rule 5: ended before started", mutate: func(b *bundle) { b.manifest["started_at"] = "2026-07-02T10:02:00+08:00" },
			want: []string{rule(mf, "ended_at must be greater than or equal to started_at")}},
		{name: "rule 6: in the future", mutate: func(b *bundle) {
			b.manifest["started_at"] = "2999-07-02T10:00:00+08:00"
			b.manifest["ended_at"] = "2999-07-02T10:01:00+08:00"
		}, want: []string{rule(mf, "started_at is in the future"), rule(mf, "ended_at is in the future")}},
		{name: "rule 7: status", mutate: func(b *bundle) { b.manifest["status"] = "done" },
			want: []string{rule(mf, "status must be one of ['aborted', 'completed', 'failed']")}},
		{name: "rule 8: termination not an object", mutate: func(b *bundle) { b.manifest["termination"] = "natural_exit" },
			want: []string{rule(mf, "termination must be an object"), rule(mf, "termination.reason must be one of "+reasons),
				rule(mf, "completed requires termination.reason=natural_exit and exit_code=0")}},
		{name: "rule 9: reason", mutate: func(b *bundle) { b.obj("termination")["reason"] = "crashed" },
			want: []string{rule(mf, "termination.reason must be one of "+reasons), rule(mf, "completed requires termination.reason=natural_exit and exit_code=0")}},
		{name: "rule 10: boolean exit code", mutate: func(b *bundle) { b.obj("termination")["exit_code"] = false },
			want: []string{rule(mf, "termination.exit_code must be integer or null"), rule(mf, "completed requires termination.reason=natural_exit and exit_code=0")}},
		{name: "rule 11: completed with exit code 1", mutate: func(b *bundle) { b.obj("termination")["exit_code"] = 1 },
			want: []string{rule(mf, "completed requires termination.reason=natural_exit and exit_code=0")}},
		{name: "rule 12: failed needs reason error", build: func() *bundle { return failedBundle("failed", "natural_exit", 1) },
			want: []string{rule(mf, "failed requires termination.reason=error")}},
		{name: "rule 13: aborted needs a stop reason", build: func() *bundle { return failedBundle("aborted", "error", nil) },
			want: []string{rule(mf, "aborted requires timeout/max_iterations/user_cancel/preempted")}},
		{name: "rule 14: seed not an object", mutate: func(b *bundle) { b.manifest["seed"] = 42 },
			want: []string{rule(mf, "seed must be an object")}},
		{name: "rule 14: seed role", mutate: func(b *bundle) { b.obj("seed")["role"] = "fixed" },
			want: []string{rule(mf, "seed.role must be one of ['fixed_repro', 'randomness_estimation']")}},
		{name: "rule 14: seed value", mutate: func(b *bundle) { b.obj("seed")["value"] = "42" },
			want: []string{rule(mf, "seed.value must be an integer")}},
		{name: "rule 15: empty command", mutate: func(b *bundle) { b.manifest["command"] = []any{} },
			want: []string{rule(mf, "command must be a non-empty argv list")}},
		{name: "rule 15: empty argv item", mutate: func(b *bundle) { b.manifest["command"] = []any{"python", ""} },
			want: []string{rule(mf, "command must be a non-empty argv list")}},
		{name: "rule 16: secret flag", mutate: func(b *bundle) {
			b.manifest["command"] = []any{"python", "train.py", "--api-key", "do-not-store-this"}
		}, want: []string{rule(mf, "command appears to contain a secret-bearing flag; record only an env/key name")}},
		{name: "rule 16: secret flag with =", mutate: func(b *bundle) { b.manifest["command"] = []any{"python", "--Password=x"} },
			want: []string{rule(mf, "command appears to contain a secret-bearing flag; record only an env/key name")}},
		{name: "rule 17: config not an object", mutate: func(b *bundle) { b.manifest["config"] = "config.json" },
			want: []string{rule(mf, "config must be an object with path + sha256")}},
		{name: "rule 17: config path missing", mutate: func(b *bundle) { b.obj("config")["path"] = " " },
			want: []string{rule(mf, "config.path missing")}},
		{name: "rule 17: config sha256 malformed", mutate: func(b *bundle) { b.obj("config")["sha256"] = "abc" },
			want: []string{rule("config.json", "config.sha256 must be a 64-char hexadecimal digest")}},
		{name: "rule 17: config path escapes", mutate: func(b *bundle) { b.obj("config")["path"] = "../config.json" },
			want: []string{rule(mf, "config: path escapes run directory: ../config.json")}},
		{name: "rule 17: environment file not found", mutate: func(b *bundle) { delete(b.files, "environment.json") },
			want: []string{rule("environment.json", "environment: file not found: environment.json")}},
		{name: "rule 17: config sha256 mismatch", mutate: func(b *bundle) { b.files["config.json"] = "{\"seed\":43}\n" },
			want: []string{rule("config.json", "config: sha256 mismatch expected="+cfgSHA+" actual="+sha("{\"seed\":43}\n"))}},
		{name: "rule 17: upper-case sha256 never matches", mutate: func(b *bundle) { b.obj("config")["sha256"] = strings.ToUpper(cfgSHA) },
			want: []string{rule("config.json", "config: sha256 mismatch expected="+strings.ToUpper(cfgSHA)+" actual="+cfgSHA)}},
		{name: "rule 18: code not an object", mutate: func(b *bundle) { b.manifest["code"] = "abc123" },
			want: []string{rule(mf, "code must be an object")}},
		{name: "rule 18: empty commit", mutate: func(b *bundle) { b.obj("code")["commit"] = "" },
			want: []string{rule(mf, "missing non-empty string: commit")}},
		{name: "rule 18: dirty not boolean", mutate: func(b *bundle) { b.obj("code")["dirty"] = "no" },
			want: []string{rule(mf, "code.dirty must be boolean")}},
		{name: "rule 18: dirty without diff", mutate: func(b *bundle) { b.obj("code")["dirty"] = true },
			want: []string{rule(mf, "dirty code requires code.diff_sha256")}},
		{name: "rule 18: clean with a bad diff hash", mutate: func(b *bundle) { b.obj("code")["diff_sha256"] = "xyz" },
			want: []string{rule(mf, "code.diff_sha256 must be null or a 64-char hexadecimal digest")}},
		{name: "rule 18: no code files", mutate: func(b *bundle) { b.obj("code")["files"] = []any{} },
			want: []string{rule(mf, "code.files must retain at least one path + sha256")}},
		{name: "rule 18: code file hash-verified", mutate: func(b *bundle) { b.files["train.py"] = "print('changed')\n" },
			want: []string{rule("train.py", "code.files[0]: sha256 mismatch expected="+sha("print('train')\n")+" actual="+sha("print('changed')\n"))}},
		{name: "rule 19: no inputs", mutate: func(b *bundle) { b.manifest["inputs"] = []any{} },
			want: []string{rule(mf, "inputs must retain at least one hashed input")}},
		{name: "rule 19: input not an object", mutate: func(b *bundle) { b.manifest["inputs"] = []any{"data.csv"} },
			want: []string{rule(mf, "inputs[0] must be an object")}},
		{name: "rule 19: input role missing", mutate: func(b *bundle) { b.manifest["inputs"].([]any)[0].(map[string]any)["role"] = "" },
			want: []string{rule("data.csv", "inputs[0].role missing")}},
		{name: "rule 19: data input without revision", mutate: func(b *bundle) {
			delete(b.manifest["inputs"].([]any)[0].(map[string]any), "source_revision")
		}, want: []string{rule("data.csv", "inputs[0].source_revision missing for data input")}},
		{name: "rule 19: input hash-verified", mutate: func(b *bundle) { delete(b.files, "data.csv") },
			want: []string{rule("data.csv", "inputs[0]: file not found: data.csv")}},
		{name: "rule 20: artifacts not an object", mutate: func(b *bundle) { b.manifest["artifacts"] = []any{} },
			want: []string{
				rule(mf, "artifacts must be an object"),
				rule(mf, "artifacts.stdout must be an object with path + sha256"),
				rule(mf, "artifacts.stderr must be an object with path + sha256"),
				rule(mf, "artifacts.test_evidence must be an object with path + sha256"),
				rule(mf, "artifacts.raw_metrics must be an object with path + sha256"),
				rule(mf, "artifacts.predictions must be an object with path + sha256"),
				rule(mf, "completion evidence not declared: artifacts.test_evidence"),
				rule(mf, "completion evidence not declared: artifacts.raw_metrics"),
				rule(mf, "completion evidence not declared: artifacts.predictions"),
				rule(mf, "compare artifact not declared: artifacts.predictions"),
				rule(mf, "compare artifact not declared: artifacts.raw_metrics"),
			}},
		{name: "rule 21: stdout always required", mutate: func(b *bundle) { delete(b.obj("artifacts"), "stdout") },
			want: []string{rule(mf, "artifacts.stdout must be an object with path + sha256")}},
		{name: "rule 21: stderr hash-verified", mutate: func(b *bundle) { b.files["stderr.log"] = "warning\n" },
			want: []string{rule("stderr.log", "artifacts.stderr: sha256 mismatch expected="+sha("")+" actual="+sha("warning\n"))}},
		{name: "rule 21: predictions required when completed", mutate: func(b *bundle) { b.obj("artifacts")["predictions"] = nil },
			want: []string{
				rule(mf, "artifacts.predictions must be an object with path + sha256"),
				rule(mf, "completion evidence not declared: artifacts.predictions"),
			}},
		{name: "rule 22: completed with a failure artifact", mutate: func(b *bundle) {
			b.files["failure.json"] = "{}\n"
			b.obj("artifacts")["failure"] = map[string]any{"path": "failure.json", "sha256": sha("{}\n")}
		}, want: []string{rule(mf, "completed run must set artifacts.failure to null")}},
		{name: "rule 23: failed without failure artifact", build: func() *bundle {
			b := failedBundle("failed", "error", 1)
			b.obj("artifacts")["failure"] = nil
			delete(b.files, "failure.json")
			return b
		}, want: []string{rule(mf, "artifacts.failure must be an object with path + sha256")}},
		{name: "rule 23: failure hash-verified", build: func() *bundle {
			b := failedBundle("aborted", "timeout", nil)
			b.files["failure.json"] = "{}\n"
			return b
		}, want: []string{rule("failure.json", "artifacts.failure: sha256 mismatch expected="+sha("{\"reason\":\"timeout\"}\n")+" actual="+sha("{}\n"))}},
		{name: "rule 24: completion not an object", mutate: func(b *bundle) { b.manifest["completion"] = "PASS" },
			want: []string{rule(mf, "completion must be an object; execution end is not task completion")}},
		{name: "rule 25: completion status", mutate: func(b *bundle) { b.obj("completion")["status"] = "DONE" },
			want: []string{rule(mf, "completion.status must be one of ['FAIL', 'NOT_EVALUATED', 'PASS']")}},
		{name: "rule 26: blank oracle", mutate: func(b *bundle) { b.obj("completion")["oracle"] = []any{"tests", " "} },
			want: []string{rule(mf, "completion.oracle must be a list of non-empty checks"), rule(mf, "completion PASS requires at least one oracle")}},
		{name: "rule 27: evidence not a list", mutate: func(b *bundle) { b.obj("completion")["evidence_artifacts"] = "predictions" },
			want: []string{rule(mf, "completion.evidence_artifacts must be a list of artifact names"), rule(mf, "completion PASS requires evidence_artifacts")}},
		{name: "rule 28: FAIL without oracle", mutate: func(b *bundle) {
			b.obj("completion")["status"] = "FAIL"
			b.obj("completion")["oracle"] = []any{}
		}, want: []string{rule(mf, "completion FAIL requires at least one oracle")}},
		{name: "rule 29: PASS without evidence", mutate: func(b *bundle) { b.obj("completion")["evidence_artifacts"] = []any{} },
			want: []string{rule(mf, "completion PASS requires evidence_artifacts")}},
		{name: "rule 30: evidence not declared", mutate: func(b *bundle) {
			b.obj("completion")["evidence_artifacts"] = []any{"test_evidence", "guardrail_evidence"}
		}, want: []string{rule(mf, "completion evidence not declared: artifacts.guardrail_evidence")}},
		{name: "rule 31: reproducibility not an object", mutate: func(b *bundle) { b.manifest["reproducibility"] = nil },
			want: []string{rule(mf, "reproducibility must be an object")}},
		{name: "rule 31: empty compare_artifacts", mutate: func(b *bundle) { b.obj("reproducibility")["compare_artifacts"] = []any{} },
			want: []string{rule(mf, "reproducibility.compare_artifacts must be a non-empty list")}},
		{name: "rule 32: compare artifact not declared", mutate: func(b *bundle) {
			b.obj("reproducibility")["compare_artifacts"] = []any{"predictions", "model"}
		}, want: []string{rule(mf, "compare artifact not declared: artifacts.model")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := selftestBundle()
			if tt.build != nil {
				b = tt.build()
			}
			if tt.mutate != nil {
				tt.mutate(b)
			}
			s := newStore(t)
			root := b.put(t, s)
			rep, err := Run(t.Context(), s, root, Options{Now: nowFn})
			if err != nil {
				t.Fatal(err)
			}
			got := messages(rep.Problems)
			if !slices.Equal(got, tt.want) {
				t.Errorf("problems:\n  got  %q\n  want %q", got, tt.want)
			}
			if rep.OK != (len(tt.want) == 0) {
				t.Errorf("OK = %v with %d problems", rep.OK, len(got))
			}
			for _, p := range rep.Problems {
				if p.Run == "" {
					t.Errorf("problem %v names no run", p)
				}
			}
		})
	}
}
