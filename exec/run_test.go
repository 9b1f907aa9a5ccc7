package exec

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	digest "github.com/opencontainers/go-digest"

	"github.com/rigor-dev/rigor/cas"
	"github.com/rigor-dev/rigor/spec"
	"github.com/rigor-dev/rigor/verify"
)

// testProject is a store and a project directory with code, a config and
// data, as a Light scaffold has them.
type testProject struct {
	t     *testing.T
	store string
	dir   string
}

const testConfig = `{
  "matrix_row": "EXP-01",
  "seed": {"role": "fixed_repro", "value": 42},
  "data": {"path": "data/input.csv", "sha256": "%s", "source_revision": "v1", "split_id": "s1"},
  "model": {"name": "logreg"}
}`

const testData = "id,x,y\n1,0.5,0\n2,0.25,1\n"

// trainPy writes the Light outputs to RIGOR_OUT; its behaviour is chosen by
// the first argument.
const trainPy = `import json, os, sys
out = os.environ["RIGOR_OUT"]
mode = sys.argv[1] if len(sys.argv) > 1 else "ok"
env = {k: os.environ.get(k) for k in ["PYTHONHASHSEED", "RIGOR_SEED", "RIGOR_RUN_ID", "CUBLAS_WORKSPACE_CONFIG", "RIGOR_ATTEMPT"]}
print(json.dumps(env, sort_keys=True))
print("training", file=sys.stderr)
with open(os.path.join(out, "predictions.csv"), "w") as f:
    f.write("id,p\n1,0.2\n2,0.7\n")
with open(os.path.join(out, "raw_metrics.jsonl"), "w") as f:
    loss = float("nan") if mode == "nan" else 0.125
    f.write(json.dumps({"fold": 0, "loss": loss}) + "\n")
with open(os.path.join(out, "extra.txt"), "w") as f:
    f.write("kept under rigor/outputs\n")
if mode == "maxiter":
    open(os.path.join(out, "max_iterations"), "w").write("cap 10\n")
`

func newTestProject(t *testing.T) *testProject {
	t.Helper()
	p := &testProject{t: t, store: filepath.Join(t.TempDir(), ".rigor"), dir: t.TempDir()}
	s, err := cas.Init(t.Context(), p.store, cas.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	p.write("src/train.py", trainPy)
	p.write("data/input.csv", testData)
	p.write("configs/exp01.json", strings.Replace(testConfig, "%s", sha256Hex([]byte(testData)), 1))
	return p
}

func (p *testProject) write(rel, content string) {
	p.t.Helper()
	f := filepath.Join(p.dir, rel)
	if err := os.MkdirAll(filepath.Dir(f), 0o755); err != nil {
		p.t.Fatal(err)
	}
	if err := os.WriteFile(f, []byte(content), 0o644); err != nil {
		p.t.Fatal(err)
	}
}

// open opens the project's store. The tests of this package run in
// parallel in one process and start child processes all the time; a child
// between fork and exec still holds the descriptors of Badger's directory
// lock that another test has just closed, and Badger, unlike cas's own
// lock, does not wait for it. Retrying here is what a second process would
// see anyway; a single rigor process never forks while it reopens the store.
func (p *testProject) open(ctx context.Context) (*cas.Store, error) {
	for i := 0; ; i++ {
		s, err := cas.Open(ctx, p.store, cas.Options{})
		if err == nil || i == 50 || !strings.Contains(err.Error(), "Cannot acquire directory lock") {
			return s, err
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (p *testProject) options(argv ...string) Options {
	return Options{
		Argv:        argv,
		ConfigPath:  filepath.Join(p.dir, "configs/exp01.json"),
		Dir:         p.dir,
		Env:         append(os.Environ(), "MY_API_TOKEN=tok-should-not-be-recorded"),
		GPUInterval: -1,
		Grace:       2 * time.Second,
	}
}

func (p *testProject) run(opts Options) Result {
	p.t.Helper()
	res, err := Run(p.t.Context(), p.open, opts)
	if err != nil {
		p.t.Fatalf("Run: %v", err)
	}
	return res
}

// bundle opens the store and returns the stored manifest and its check.
func (p *testProject) check(root digest.Digest) (*spec.RunManifest, spec.ManifestCheck) {
	p.t.Helper()
	s, err := p.open(p.t.Context())
	if err != nil {
		p.t.Fatal(err)
	}
	defer s.Close()
	b, m, err := ReadManifest(p.t.Context(), s, root)
	if err != nil {
		p.t.Fatal(err)
	}
	return m, spec.CheckRunManifest(b, BundleFiles(p.t.Context(), s, root), time.Now())
}

// file returns a bundle file's bytes.
func (p *testProject) file(root digest.Digest, rel string) string {
	p.t.Helper()
	s, err := p.open(p.t.Context())
	if err != nil {
		p.t.Fatal(err)
	}
	defer s.Close()
	b, err := readBundleFile(p.t.Context(), s, root, rel, 1<<30)
	if err != nil {
		p.t.Fatalf("%s: %v", rel, err)
	}
	return string(b)
}

func (p *testProject) hasFile(root digest.Digest, rel string) bool {
	p.t.Helper()
	s, err := p.open(p.t.Context())
	if err != nil {
		p.t.Fatal(err)
	}
	defer s.Close()
	_, err = cas.Find(p.t.Context(), s, root, rel, nil)
	return err == nil
}

func wantOK(t *testing.T, c spec.ManifestCheck) {
	t.Helper()
	if !c.OK {
		t.Errorf("run_artifact_check failed:\n  %s", strings.Join(c.Errors, "\n  "))
	}
}

func TestRunCompleted(t *testing.T) {
	t.Parallel()
	p := newTestProject(t)
	var stdout, stderr syncBuffer
	opts := p.options("python3", "src/train.py")
	opts.Stdout, opts.Stderr = &stdout, &stderr
	var started Started
	opts.OnStart = func(s Started) { started = s }
	res := p.run(opts)

	if res.RunID != "EXP-01__seed-42__attempt-1" || res.Ref != "runs/EXP-01/seed-42/attempt-1" || res.Attempt != 1 {
		t.Errorf("identity = %s %s %d", res.RunID, res.Ref, res.Attempt)
	}
	if started.RunID != res.RunID {
		t.Errorf("OnStart got %+v", started)
	}
	m, c := p.check(res.Root)
	wantOK(t, c)
	if !c.CompletionVerified {
		t.Errorf("completion not verified: %+v", m.Completion)
	}
	if m.Status != "completed" || m.Termination.Reason != "natural_exit" || *m.Termination.ExitCode != 0 || m.Completion.Status != "PASS" {
		t.Errorf("status %s / %+v / %s", m.Status, m.Termination, m.Completion.Status)
	}
	// The child's environment, as it printed it: the terminal tee got it
	// and so did the store.
	wantEnv := `{"CUBLAS_WORKSPACE_CONFIG": ":4096:8", "PYTHONHASHSEED": "42", "RIGOR_ATTEMPT": "1", "RIGOR_RUN_ID": "EXP-01__seed-42__attempt-1", "RIGOR_SEED": "42"}` + "\n"
	if stdout.String() != wantEnv {
		t.Errorf("terminal stdout = %q, want %q", stdout.String(), wantEnv)
	}
	if got := p.file(res.Root, "stdout.log"); got != wantEnv {
		t.Errorf("stdout.log = %q", got)
	}
	if got := p.file(res.Root, "stderr.log"); got != "training\n" || stderr.String() != "training\n" {
		t.Errorf("stderr.log = %q, terminal %q", got, stderr.String())
	}
	if got := p.file(res.Root, "rigor/outputs/extra.txt"); got != "kept under rigor/outputs\n" {
		t.Errorf("extra output = %q", got)
	}
	if got := p.file(res.Root, "inputs/data/input.csv"); got != testData {
		t.Errorf("input = %q", got)
	}
	if len(m.Inputs) != 1 || m.Inputs[0].SourceRevision != "v1" || m.Inputs[0].SplitID != "s1" || m.Inputs[0].SHA256 != sha256Hex([]byte(testData)) {
		t.Errorf("inputs = %+v", m.Inputs)
	}
	if got := p.file(res.Root, "code/src/train.py"); got != trainPy {
		t.Errorf("code snapshot of train.py differs")
	}
	if p.hasFile(res.Root, "failure.json") || m.Artifacts["failure"] != nil {
		t.Errorf("a completed run has a failure artifact")
	}
	for _, name := range []string{"stdout", "stderr", "test_evidence", "raw_metrics", "predictions"} {
		a := m.Artifacts[name]
		if a == nil || !strings.HasPrefix(a.BLAKE3, "blake3:") || len(a.SHA256) != 64 {
			t.Errorf("artifact %s = %+v", name, a)
		}
	}
	var ev spec.TestEvidence
	if err := json.Unmarshal([]byte(p.file(res.Root, "test_evidence.json")), &ev); err != nil || ev.Status != "NOT_EVALUATED" {
		t.Errorf("test evidence = %+v, %v", ev, err)
	}
	var rr spec.RunRecord
	if err := json.Unmarshal([]byte(p.file(res.Root, "rigor/run.json")), &rr); err != nil {
		t.Fatal(err)
	}
	for _, v := range rr.Env {
		if v.Name == "MY_API_TOKEN" && (!v.Redacted || v.Value != spec.Redacted) {
			t.Errorf("secret env recorded: %+v", v)
		}
	}
	if len(rr.EnvSet) != 8 {
		t.Errorf("env set = %+v", rr.EnvSet)
	}
	if _, err := time.Parse(time.RFC3339, m.StartedAt); err != nil {
		t.Errorf("started_at %q: %v", m.StartedAt, err)
	}
	var res2 spec.ResourcesRecord
	if err := json.Unmarshal([]byte(p.file(res.Root, "rigor/resources.json")), &res2); err != nil || res2.Resources.PeakRSSBytes <= 0 {
		t.Errorf("resources = %+v, %v", res2, err)
	}

	// The ref, the runs index and the lineage indexes.
	s, err := p.open(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if d, err := s.GetRef(t.Context(), res.Ref); err != nil || d != res.Root {
		t.Errorf("ref = %s, %v; want %s", d, err, res.Root)
	}
	runs, err := verify.ListRuns(t.Context(), s, verify.RunFilter{})
	if err != nil || len(runs) != 1 || !reflect.DeepEqual(runs[0], res.Summary) || runs[0].Completion != "PASS" {
		t.Errorf("ListRuns = %+v, %v", runs, err)
	}
	var in, out int
	s.ScanIndex(t.Context(), spec.LineageInIndex, []byte(m.Inputs[0].BLAKE3+"\x00"), func(k, v []byte) error { in++; return nil })
	s.ScanIndex(t.Context(), spec.LineageOutIndex, []byte(m.Artifacts["predictions"].BLAKE3+"\x00"), func(k, v []byte) error { out++; return nil })
	if in != 1 || out != 1 {
		t.Errorf("lineage: %d in, %d out; want 1 and 1", in, out)
	}
	for _, arg := range []string{res.Ref, res.RunID, res.Root.String(), res.Root.Encoded()[:12]} {
		if d, err := FindRun(t.Context(), s, arg); err != nil || d != res.Root {
			t.Errorf("FindRun(%s) = %s, %v", arg, d, err)
		}
	}
	if _, err := FindRun(t.Context(), s, "EXP-01__seed-42__attempt-9"); !errors.Is(err, ErrRunNotFound) {
		t.Errorf("FindRun(unknown) = %v", err)
	}
	if _, err := FindRun(t.Context(), s, m.Code.Files[0].BLAKE3); !errors.Is(err, ErrNotRun) {
		t.Errorf("FindRun(blob) = %v", err)
	}
	// The spool is gone once recorded.
	if ents, _ := os.ReadDir(filepath.Join(p.store, "spool")); len(ents) != 0 {
		t.Errorf("spool left: %v", ents)
	}
}

func TestRunOutcomes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		argv        []string
		timeout     time.Duration
		cancel      bool
		status      string
		reason      string
		exit        *int
		signal      syscall.Signal
		completion  string
		failureWant string // substring of failure.json
	}{
		{name: "exit 3", argv: []string{"sh", "-c", "echo doing; echo 'Traceback: boom' >&2; exit 3"},
			status: "failed", reason: "error", exit: ptr(3), completion: "NOT_EVALUATED", failureWant: "Traceback: boom"},
		{name: "timeout", argv: []string{"sh", "-c", "echo slow; sleep 30"}, timeout: 300 * time.Millisecond,
			status: "aborted", reason: "timeout", signal: syscall.SIGTERM, completion: "NOT_EVALUATED", failureWant: "--timeout passed"},
		{name: "sigint cancel", argv: []string{"sh", "-c", "echo ready; sleep 30"}, cancel: true,
			status: "aborted", reason: "user_cancel", signal: syscall.SIGINT, completion: "NOT_EVALUATED", failureWant: "cancelled"},
		{name: "nan in raw metrics", argv: []string{"python3", "src/train.py", "nan"},
			status: "completed", reason: "natural_exit", exit: ptr(0), completion: "FAIL"},
		{name: "max iterations", argv: []string{"python3", "src/train.py", "maxiter"},
			status: "aborted", reason: "max_iterations", exit: ptr(0), completion: "NOT_EVALUATED", failureWant: "iteration cap"},
		{name: "killed by SIGKILL from outside", argv: []string{"sh", "-c", "kill -9 $$"},
			status: "failed", reason: "error", signal: syscall.SIGKILL, completion: "NOT_EVALUATED", failureWant: `"suspected_oom":true`},
		{name: "program not found", argv: []string{"no-such-program-rigor-test"},
			status: "failed", reason: "error", completion: "NOT_EVALUATED", failureWant: "could not be started"},
		{name: "exit 0 without outputs", argv: []string{"true"},
			status: "completed", reason: "natural_exit", exit: ptr(0), completion: "FAIL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := newTestProject(t)
			opts := p.options(tt.argv...)
			opts.Timeout = tt.timeout
			if tt.cancel {
				sigs := make(chan os.Signal, 1)
				opts.Signals = sigs
				var out syncBuffer
				opts.Stdout = &out
				go func() {
					for !strings.Contains(out.String(), "ready") {
						time.Sleep(10 * time.Millisecond)
					}
					sigs <- syscall.SIGINT
				}()
			}
			res := p.run(opts)
			m, c := p.check(res.Root)
			if tt.name == "exit 0 without outputs" {
				// Completed but without the outputs a completed Light run
				// needs: the checker says so, and the oracle failed.
				if c.OK || !strings.Contains(strings.Join(c.Errors, "\n"), "artifacts.raw_metrics must be an object") {
					t.Errorf("check = %+v", c)
				}
			} else {
				wantOK(t, c)
			}
			if m.Status != tt.status || m.Termination.Reason != tt.reason || m.Completion.Status != tt.completion {
				t.Errorf("got %s/%s/%s, want %s/%s/%s", m.Status, m.Termination.Reason, m.Completion.Status, tt.status, tt.reason, tt.completion)
			}
			if tt.exit != nil && (m.Termination.ExitCode == nil || *m.Termination.ExitCode != *tt.exit) {
				t.Errorf("exit code = %v, want %d", m.Termination.ExitCode, *tt.exit)
			}
			if tt.signal != 0 && (m.Termination.Signal == nil || *m.Termination.Signal != int(tt.signal)) {
				t.Errorf("signal = %v, want %d", m.Termination.Signal, tt.signal)
			}
			if tt.failureWant != "" {
				f := p.file(res.Root, "failure.json")
				if !strings.Contains(f, tt.failureWant) {
					t.Errorf("failure.json = %s\nwant it to contain %q", f, tt.failureWant)
				}
			} else if p.hasFile(res.Root, "failure.json") {
				t.Errorf("unexpected failure.json")
			}
			if tt.name == "nan in raw metrics" {
				o := p.file(res.Root, "rigor/oracle.json")
				if !strings.Contains(o, `raw_metrics.jsonl line 1: holds NaN`) {
					t.Errorf("oracle.json = %s", o)
				}
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

func TestRunTwiceKeepsBothAttempts(t *testing.T) {
	t.Parallel()
	p := newTestProject(t)
	a := p.run(p.options("python3", "src/train.py"))
	b := p.run(p.options("python3", "src/train.py"))
	if a.Attempt != 1 || b.Attempt != 2 || a.Root == b.Root {
		t.Fatalf("attempts %d and %d, roots %s %s", a.Attempt, b.Attempt, a.Root, b.Root)
	}
	ma, _ := p.check(a.Root)
	mb, _ := p.check(b.Root)
	if ma.Reproducibility.ComparisonRole != "first" || mb.Reproducibility.ComparisonRole != "repeat" || ma.Reproducibility.PairID != mb.Reproducibility.PairID {
		t.Errorf("reproducibility %+v / %+v", ma.Reproducibility, mb.Reproducibility)
	}
	// Same code, config, inputs and seed: the outputs compare equal.
	s, err := p.open(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ba, _, _ := ReadManifest(t.Context(), s, a.Root)
	bb, _, _ := ReadManifest(t.Context(), s, b.Root)
	cmp := spec.CompareRunManifests(ba, bb, BundleFiles(t.Context(), s, a.Root), BundleFiles(t.Context(), s, b.Root), "a", "b", time.Now())
	if !cmp.SameSeedExact {
		t.Errorf("compare: %+v", cmp)
	}
	runs, err := verify.ListRuns(t.Context(), s, verify.RunFilter{Row: "EXP-01", Seed: ptr(int64(42))})
	if err != nil || len(runs) != 2 || runs[0].Attempt != 1 || runs[1].Attempt != 2 {
		t.Errorf("ListRuns = %+v, %v", runs, err)
	}
	if runs, _ := verify.ListRuns(t.Context(), s, verify.RunFilter{Status: "failed"}); len(runs) != 0 {
		t.Errorf("ListRuns(failed) = %+v", runs)
	}
	if d, err := s.GetRef(t.Context(), a.Ref); err != nil || d != a.Root {
		t.Errorf("first attempt's ref = %s, %v", d, err)
	}
}

func TestRunSecretsRedacted(t *testing.T) {
	t.Parallel()
	p := newTestProject(t)
	const secret = "s3cr3t-value-xyz"
	opts := p.options("python3", "src/train.py", "--token", secret, "--api-key="+secret, "--lr", "0.1")
	opts.Env = append(opts.Env, "WANDB_API_KEY="+secret)
	opts.OracleCmd = "true --password " + secret
	res := p.run(opts)
	m, c := p.check(res.Root)
	wantOK(t, c)
	want := []string{"python3", "src/train.py", "--lr", "0.1"}
	if strings.Join(m.Command, " ") != strings.Join(want, " ") {
		t.Errorf("manifest command = %q, want %q", m.Command, want)
	}
	run := p.file(res.Root, "rigor/run.json")
	if !strings.Contains(run, `"--token","<redacted>"`) || !strings.Contains(run, `"--api-key=<redacted>"`) {
		t.Errorf("run.json argv not redacted as expected: %s", run)
	}
	// No stored file of the bundle holds the secret.
	s, err := p.open(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	err = s.Walk(t.Context(), res.Root, func(path string, e cas.Entry) error {
		if e.Mode == cas.ModeTree {
			return nil
		}
		rc, err := s.Open(t.Context(), e.Digest)
		if err != nil {
			return err
		}
		defer rc.Close()
		b, err := io.ReadAll(rc)
		if err != nil {
			return err
		}
		if strings.Contains(string(b), secret) {
			t.Errorf("%s holds the secret", path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestRunTestAndOracleCommands(t *testing.T) {
	t.Parallel()
	p := newTestProject(t)
	opts := p.options("python3", "src/train.py")
	opts.TestCmd = `echo "3 passed"; test -n "$RIGOR_RUN_ID"`
	opts.OracleCmd = `test -s "$RIGOR_OUT/predictions.csv" && echo oracle-ok`
	res := p.run(opts)
	m, c := p.check(res.Root)
	wantOK(t, c)
	if m.Completion.Status != "PASS" || strings.Join(m.Completion.Oracle, ",") != "outputs_present,raw_metrics_finite,tests_passed,oracle_command" {
		t.Errorf("completion = %+v", m.Completion)
	}
	var ev spec.TestEvidence
	if err := json.Unmarshal([]byte(p.file(res.Root, "test_evidence.json")), &ev); err != nil || ev.Status != "PASS" || ev.Tail != "3 passed\n" {
		t.Errorf("test evidence = %+v, %v", ev, err)
	}
	if got := p.file(res.Root, "rigor/test/stdout.log"); got != "3 passed\n" {
		t.Errorf("test log = %q", got)
	}
	if got := p.file(res.Root, "rigor/oracle/stdout.log"); got != "oracle-ok\n" {
		t.Errorf("oracle log = %q", got)
	}

	// A failing test command makes completion FAIL.
	opts.TestCmd = "echo '1 failed'; exit 1"
	res = p.run(opts)
	m, c = p.check(res.Root)
	wantOK(t, c)
	if m.Completion.Status != "FAIL" || m.Status != "completed" {
		t.Errorf("with failing tests: %s / %s", m.Status, m.Completion.Status)
	}
}

func TestRunRejectsBadOptions(t *testing.T) {
	t.Parallel()
	p := newTestProject(t)
	p.write("configs/strict.schema.json", `{"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object",
		"properties": {"model": {"type": "object", "required": ["layers"]}}}`)
	nonEmpty := t.TempDir()
	if err := os.WriteFile(filepath.Join(nonEmpty, "old.csv"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		mod  func(*Options)
		want error
		msg  string
	}{
		{"seed conflict", func(o *Options) { o.Seed = ptr(int64(7)) }, ErrConfigConflict, "--seed 7 but the config's seed is 42"},
		{"row conflict", func(o *Options) { o.Row = "EXP-02" }, ErrConfigConflict, "--row EXP-02"},
		{"role conflict", func(o *Options) { o.SeedRole = "randomness_estimation" }, ErrConfigConflict, "seed-role"},
		{"no seed", func(o *Options) { o.ConfigPath = ""; o.Row = "EXP-01" }, ErrUsage, "no seed"},
		{"no row", func(o *Options) { o.ConfigPath = ""; o.Seed = ptr(int64(1)) }, ErrUsage, "no matrix row"},
		{"bad row", func(o *Options) { o.ConfigPath = ""; o.Row = "a/b"; o.Seed = ptr(int64(1)) }, ErrUsage, "row"},
		{"seed out of range", func(o *Options) { o.ConfigPath = ""; o.Row = "R"; o.Seed = ptr(int64(1 << 33)) }, ErrUsage, "PYTHONHASHSEED"},
		{"data without revision", func(o *Options) { o.Inputs = []InputSpec{{Role: "data", Path: "data/input.csv"}} }, ErrUsage, "needs a source revision"},
		{"missing input", func(o *Options) { o.Inputs = []InputSpec{{Role: "weights", Path: "nope.bin"}} }, ErrUsage, "nope.bin"},
		{"non-empty out", func(o *Options) { o.OutDir = nonEmpty }, ErrUsage, "not empty"},
		{"no program", func(o *Options) { o.Argv = nil }, ErrUsage, "no program"},
		{"schema violated", func(o *Options) { o.SchemaPath = filepath.Join(p.dir, "configs/strict.schema.json") }, ErrUsage, "/model"},
		{"schema without config", func(o *Options) {
			o.ConfigPath, o.Row, o.Seed = "", "R", ptr(int64(1))
			o.SchemaPath = filepath.Join(p.dir, "configs/strict.schema.json")
		}, ErrUsage, "--schema needs --config"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := p.options("true")
			tt.mod(&opts)
			_, err := Run(t.Context(), p.open, opts)
			if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("err = %v, want %v containing %q", err, tt.want, tt.msg)
			}
		})
	}
	// The config's data sha256 must match the data.
	p.write("data/input.csv", testData+"3,1,1\n")
	_, err := Run(t.Context(), p.open, p.options("true"))
	if !errors.Is(err, ErrUsage) || !strings.Contains(err.Error(), "data.sha256") {
		t.Errorf("changed data: err = %v", err)
	}
	// Nothing was recorded or reserved.
	s, err := p.open(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	n := 0
	s.ScanIndex(t.Context(), spec.ReservationsIndex, nil, func(k, v []byte) error { n++; return nil })
	if n != 0 {
		t.Errorf("%d attempts reserved by rejected runs", n)
	}
}

func TestRunYAMLConfigWithSchema(t *testing.T) {
	t.Parallel()
	p := newTestProject(t)
	p.write("configs/exp02.yaml", "matrix_row: EXP-02\nseed: {role: fixed_repro, value: 5}\nlr: 1.0e-3\n")
	p.write("configs/row.schema.json", `{"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object",
		"required": ["matrix_row", "seed"], "properties": {"lr": {"type": "number"}}}`)
	opts := p.options("python3", "src/train.py")
	opts.ConfigPath = filepath.Join(p.dir, "configs/exp02.yaml")
	opts.SchemaPath = filepath.Join(p.dir, "configs/row.schema.json")
	opts.Inputs = []InputSpec{{Role: "data", Path: "data/input.csv", Revision: "v1"}}
	res := p.run(opts)
	m, c := p.check(res.Root)
	wantOK(t, c)
	if m.RunID != "EXP-02__seed-5__attempt-1" {
		t.Errorf("run id = %s", m.RunID)
	}
	if got := p.file(res.Root, "config.json"); got != `{"lr":0.001,"matrix_row":"EXP-02","seed":{"role":"fixed_repro","value":5}}` {
		t.Errorf("config.json = %s", got)
	}
	var rec spec.ConfigRecord
	if err := json.Unmarshal([]byte(p.file(res.Root, "rigor/config_record.json")), &rec); err != nil || rec.Format != "yaml" || rec.ValidatedAgainst == nil {
		t.Errorf("config record = %+v, %v", rec, err)
	}
}

func TestRunWithoutConfig(t *testing.T) {
	t.Parallel()
	p := newTestProject(t)
	opts := p.options("python3", "src/train.py")
	opts.ConfigPath, opts.Row, opts.Seed, opts.SeedRole = "", "EXP-07", ptr(int64(3)), "randomness_estimation"
	opts.Inputs = []InputSpec{{Role: "data", Path: "data", Revision: "git:abc"}}
	out := filepath.Join(t.TempDir(), "out")
	opts.OutDir = out
	res := p.run(opts)
	m, c := p.check(res.Root)
	wantOK(t, c)
	if m.RunID != "EXP-07__seed-3__attempt-1" || m.Seed.Role != "randomness_estimation" {
		t.Errorf("identity %s %+v", m.RunID, m.Seed)
	}
	if got := p.file(res.Root, "config.json"); got != `{"matrix_row":"EXP-07","seed":{"role":"randomness_estimation","value":3}}` {
		t.Errorf("config.json = %s", got)
	}
	// A directory input: the tree under inputs/, its sha256sum beside it.
	if m.Inputs[0].Path != "inputs/data/data.sha256sum" {
		t.Errorf("input path = %s", m.Inputs[0].Path)
	}
	if got := p.file(res.Root, "inputs/data/data.sha256sum"); got != sha256Hex([]byte(testData))+"  input.csv\n" {
		t.Errorf("sha256sum = %q", got)
	}
	// --out is the user's and stays.
	if _, err := os.Stat(filepath.Join(out, "predictions.csv")); err != nil {
		t.Errorf("--out was not kept: %v", err)
	}
}

func TestRunKeepsSpoolWhenRecordingFails(t *testing.T) {
	t.Parallel()
	p := newTestProject(t)
	opens := 0
	open := func(ctx context.Context) (*cas.Store, error) {
		opens++
		if opens == 2 {
			return nil, errors.New("disk on fire")
		}
		return p.open(ctx)
	}
	opts := p.options("python3", "src/train.py")
	_, err := Run(t.Context(), open, opts)
	var re *RecordError
	if !errors.As(err, &re) || !strings.Contains(err.Error(), "disk on fire") || re.RunID != "EXP-01__seed-42__attempt-1" {
		t.Fatalf("err = %v, want a *RecordError", err)
	}
	// Nothing is lost: the logs and the outputs wait in the spool.
	if got := readFile(t, filepath.Join(re.Spool, "stderr.log")); got != "training\n" {
		t.Errorf("spooled stderr = %q", got)
	}
	if _, err := os.Stat(filepath.Join(re.Spool, "out", "predictions.csv")); err != nil {
		t.Errorf("spooled outputs: %v", err)
	}
	// The attempt number stays taken: the next run is attempt 2.
	res := p.run(opts)
	if res.Attempt != 2 {
		t.Errorf("next attempt = %d, want 2", res.Attempt)
	}
}
