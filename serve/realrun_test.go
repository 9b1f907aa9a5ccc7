package serve

import (
	"context"
	"fmt"
	"os"
	osexec "os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rigor-dev/rigor/cas"
	runexec "github.com/rigor-dev/rigor/exec"
	"github.com/rigor-dev/rigor/spec"
)

// trainSh is the experiment of the real-run fixture: a shell program that
// writes the Light outputs to RIGOR_OUT. Its predictions depend on the
// seed; a second attempt of a seed moves one prediction by 1e-7 (within
// the default tolerance). MODE=xss prints markup and fails; MODE=findings
// also writes a light.findings.v1 report.
const trainSh = `#!/bin/sh
set -e
out="$RIGOR_OUT"
echo "training row $RIGOR_MATRIX_ROW seed $RIGOR_SEED attempt $RIGOR_ATTEMPT"
p2=0.75
if [ "$RIGOR_ATTEMPT" = 2 ]; then p2=0.7500001; fi
if [ "$RIGOR_SEED" = 2 ]; then p2=0.6; fi
printf 'id,p\n1,0.%s5\n2,%s\n' "$RIGOR_SEED" "$p2" > "$out/predictions.csv"
for fold in 0 1 2 3 4; do
  printf '{"fold": %s, "loss": 0.%s%s, "acc": 0.8%s}\n' "$fold" "$RIGOR_SEED" "$fold" "$fold" >> "$out/raw_metrics.jsonl"
done
if [ -n "$DATA" ]; then echo "read $(wc -l < "$DATA") lines of data"; fi
case "$MODE" in
xss)
  echo '<script>alert("pwned")</script><img src=x onerror=alert(1)>'
  echo 'error: <b>bold</b> & "quoted"' >&2
  : > "$out/<img src=x onerror=alert(2)>.txt"
  exit 1;;
findings)
  cat > "$out/findings.json" <<'EOF'
{"schema": "light.findings.v1", "producer": "leakage_gate", "target": "code", "verdict": "fail",
 "gates": [{"gate": "leakage", "status": "fail", "severity": "critical",
   "findings": [{"loc": "train.sh:8", "issue": "predictions written before the folds are split", "fix": "split first", "rule": "L001"}]}],
 "summary": "1 blocking gate", "fresh_evidence": true}
EOF
  ;;
esac
`

// realFixture is a store of runs recorded by exec.Run, the path rigor run
// takes: a same-seed pair, another seed, a failing run with markup in its
// output and file names, and a chain where one run reads another's
// predictions, and the next one reads those.
type realFixture struct {
	store                  string // the .rigor directory
	pairA, pairB           runexec.Result
	seed2, xss             runexec.Result
	chain0, chain1, chain2 runexec.Result
}

var (
	realOnce sync.Once
	realFix  *realFixture
	realErr  error
	realDir  string
)

// newRealFixture builds the fixture once per test binary; it needs sh and
// git, and skips the test without them.
func newRealFixture(t *testing.T) *realFixture {
	t.Helper()
	for _, tool := range []string{"sh", "git"} {
		if _, err := osexec.LookPath(tool); err != nil {
			t.Skipf("the real-run fixture needs %s: %v", tool, err)
		}
	}
	realOnce.Do(func() {
		realDir, realErr = os.MkdirTemp("", "rigor-serve-fixture-")
		if realErr == nil {
			realFix, realErr = buildRealFixture(realDir)
		}
	})
	if realErr != nil {
		t.Fatal(realErr)
	}
	return realFix
}

func buildRealFixture(dir string) (*realFixture, error) {
	ctx := context.Background()
	f := &realFixture{store: filepath.Join(dir, ".rigor")}
	s, err := cas.Init(ctx, f.store, cas.Options{})
	if err != nil {
		return nil, err
	}
	if err := s.Close(); err != nil {
		return nil, err
	}
	proj := filepath.Join(dir, "project")
	write := func(rel, content string) error {
		p := filepath.Join(proj, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		return os.WriteFile(p, []byte(content), 0o755)
	}
	if err := write("train.sh", trainSh); err != nil {
		return nil, err
	}
	if err := write("data/input.csv", "id,x,y\n1,0.5,0\n2,0.25,1\n"); err != nil {
		return nil, err
	}
	git := func(args ...string) error {
		cmd := osexec.Command("git", append([]string{"-c", "user.name=rigor test", "-c", "user.email=test@example.com", "-c", "commit.gpgsign=false"}, args...)...)
		cmd.Dir = proj
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("git %v: %v: %s", args, err, out)
		}
		return nil
	}
	for _, args := range [][]string{{"init", "-q"}, {"add", "train.sh"}, {"commit", "-q", "-m", "train"}} {
		if err := git(args...); err != nil {
			return nil, err
		}
	}
	// A dirty work tree: the runs record the diff.
	if err := write("train.sh", trainSh+"# tuned by hand\n"); err != nil {
		return nil, err
	}
	open := func(ctx context.Context) (*cas.Store, error) {
		for i := 0; ; i++ {
			s, err := cas.Open(ctx, f.store, cas.Options{})
			if err == nil || i == 50 || !strings.Contains(err.Error(), "Cannot acquire directory lock") {
				return s, err
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	clock := time.Date(2026, 7, 2, 9, 0, 0, 0, time.UTC)
	run := func(row string, seed int64, env []string, inputs ...runexec.InputSpec) (runexec.Result, error) {
		clock = clock.Add(time.Minute)
		start := clock
		opts := runexec.Options{
			Argv: []string{"sh", "train.sh"}, Row: row, Seed: &seed, Dir: proj, Inputs: inputs,
			Env: append(os.Environ(), env...), GPUInterval: -1, Grace: 2 * time.Second,
			Now: func() time.Time { return start },
		}
		res, err := runexec.Run(ctx, open, opts)
		if err != nil {
			return res, fmt.Errorf("run %s seed %d: %w", row, seed, err)
		}
		return res, nil
	}
	data := runexec.InputSpec{Role: "data", Path: filepath.Join(proj, "data/input.csv"), Revision: "v1"}
	if f.pairA, err = run("EXP-01", 1, []string{"MODE=findings", "DATA=" + data.Path}, data); err != nil {
		return nil, err
	}
	if f.pairB, err = run("EXP-01", 1, []string{"MODE=findings", "DATA=" + data.Path}, data); err != nil {
		return nil, err
	}
	if f.seed2, err = run("EXP-01", 2, []string{"DATA=" + data.Path}, data); err != nil {
		return nil, err
	}
	if f.xss, err = run("XSS", 1, []string{"MODE=xss"}); err != nil {
		return nil, err
	}
	// A chain: each link reads the predictions the previous one produced.
	if f.chain0, err = run("CHAIN", 5, nil); err != nil {
		return nil, err
	}
	link := func(prev runexec.Result, seed int64) (runexec.Result, error) {
		s, err := open(ctx)
		if err != nil {
			return runexec.Result{}, err
		}
		pred, _, err := newBundle(s, prev.Root).read(ctx, "predictions.csv", 1<<20)
		s.Close()
		if err != nil {
			return runexec.Result{}, err
		}
		p := filepath.Join(dir, prev.RunID+"-predictions.csv")
		if err := os.WriteFile(p, pred, 0o644); err != nil {
			return runexec.Result{}, err
		}
		return run("CHAIN", seed, []string{"DATA=" + p}, runexec.InputSpec{Role: "data", Path: p, Revision: prev.RunID})
	}
	if f.chain1, err = link(f.chain0, 6); err != nil {
		return nil, err
	}
	if f.chain2, err = link(f.chain1, 7); err != nil {
		return nil, err
	}
	for _, r := range []runexec.Result{f.pairA, f.pairB, f.seed2, f.chain0, f.chain1, f.chain2} {
		if r.Manifest.Status != spec.StatusCompleted {
			return nil, fmt.Errorf("fixture run %s: status %s", r.RunID, r.Manifest.Status)
		}
	}
	if f.xss.Manifest.Status != spec.StatusFailed {
		return nil, fmt.Errorf("fixture run %s: status %s, want failed", f.xss.RunID, f.xss.Manifest.Status)
	}
	return f, nil
}

// TestMain removes the real-run fixture after the tests.
func TestMain(m *testing.M) {
	code := m.Run()
	if realDir != "" {
		os.RemoveAll(realDir)
	}
	os.Exit(code)
}

// TestRealRuns serves runs recorded by exec.Run: every page renders, the
// API has the records rigor run writes, and downloads carry both digests.
func TestRealRuns(t *testing.T) {
	f := newRealFixture(t)
	srv := New(OpenDir(f.store, 0), Options{})
	ts := newTestServer(t, srv)

	var v RunView
	getJSON(t, ts.URL+"/api/runs/"+f.pairA.RunID, 200, &v)
	if v.Oracle == nil || v.Oracle.Status != "PASS" || !v.Code.Dirty || v.Code.Diff == nil || len(v.Inputs) != 1 {
		t.Fatalf("run view: oracle %+v dirty %v diff %v inputs %+v problems %q", v.Oracle, v.Code.Dirty, v.Code.Diff != nil, v.Inputs, v.Problems)
	}
	if !strings.Contains(strings.Join(diffTexts(v.Code.Diff), "\n"), "+# tuned by hand") {
		t.Errorf("the dirty diff does not show the change: %q", diffTexts(v.Code.Diff))
	}
	if v.Metrics == nil || v.Metrics.Label != "fold" || len(v.Metrics.Rows) != 5 {
		t.Errorf("metrics %+v", v.Metrics)
	}
	if len(v.Findings) != 1 || v.Findings[0].Path != "rigor/outputs/findings.json" {
		t.Errorf("findings %+v", v.Findings)
	}
	in := v.Inputs[0]
	if in.Digest == "" || in.SHA256 == "" {
		t.Fatalf("input %+v: want both digests", in)
	}
	// The SHA-256 that ingest indexed comes back as Repr-Digest.
	code, h, body := get(t, nil, ts.URL+"/blobs/"+in.Digest.String())
	if code != 200 || cas.FromBytes(body) != in.Digest || sha(body) != in.SHA256 || h.Get("Repr-Digest") == "" {
		t.Errorf("input download: %d, Repr-Digest %q", code, h.Get("Repr-Digest"))
	}
	for _, p := range []string{"/", "/runs/" + f.pairA.RunID, "/runs/" + f.xss.RunID, "/runs/" + f.pairA.RunID + "/logs/stdout",
		"/compare?a=" + f.pairA.RunID + "&b=" + f.pairB.RunID, "/compare?a=" + f.pairA.RunID + "&b=" + f.seed2.RunID,
		"/lineage/" + f.chain1.Manifest.Inputs[0].BLAKE3, "/findings/" + v.Findings[0].Digest.String() + "?run=" + f.pairA.RunID} {
		code, _, body := get(t, nil, ts.URL+p)
		if code != 200 {
			t.Errorf("GET %s: %d: %.300s", p, code, body)
		}
		if strings.Contains(string(body), "<script>alert") || strings.Contains(string(body), "<img src=x") {
			t.Errorf("GET %s: markup from the run is not escaped", p)
		}
	}
}

func diffTexts(d *DiffView) []string {
	var out []string
	for _, l := range d.Lines {
		out = append(out, l.Text)
	}
	return out
}
