package oci

import (
	"context"
	"crypto/rand"
	"os"
	"path/filepath"
	"testing"

	"github.com/rigor-dev/rigor/cas"
	runexec "github.com/rigor-dev/rigor/exec"
	"github.com/rigor-dev/rigor/remote"
	"github.com/rigor-dev/rigor/verify"
)

// newStoreDir creates an empty store and returns its directory.
func newStoreDir(t testing.TB) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), ".rigor")
	s, err := cas.Init(t.Context(), dir, cas.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	return dir
}

// openStore opens dir for the rest of the test (or until closed).
func openStore(t testing.TB, dir string) *cas.Store {
	t.Helper()
	s, err := cas.Open(t.Context(), dir, cas.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// randomFile writes n random bytes to a new file and returns its path.
func randomFile(t testing.TB, n int) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "data.bin")
	b := make([]byte, n)
	rand.Read(b)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// recordRun records one attempt of row and seed in the store at dir: a
// shell program that writes predictions, metrics and extra bytes of its
// own, with the given data input (a file path, or "" for 1000 random
// bytes).
func recordRun(t testing.TB, dir, row string, seed int64, input, script string) runexec.Result {
	t.Helper()
	work := t.TempDir()
	if script == "" {
		script = `echo "id,p" > "$RIGOR_OUT/predictions.csv"; echo "1,$RIGOR_SEED" >> "$RIGOR_OUT/predictions.csv"; echo '{"loss": 0.5}' > "$RIGOR_OUT/raw_metrics.jsonl"`
	}
	if err := os.WriteFile(filepath.Join(work, "train.sh"), []byte(script+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if input == "" {
		input = randomFile(t, 1000)
	}
	opts := runexec.Options{Row: row, Seed: &seed, Dir: work, Argv: []string{"sh", "train.sh"}, Env: []string{"PATH=" + os.Getenv("PATH")},
		Inputs: []runexec.InputSpec{{Role: "data", Path: input, Revision: "v1"}}}
	open := func(ctx context.Context) (*cas.Store, error) { return cas.Open(ctx, dir, cas.Options{}) }
	res, err := runexec.Run(t.Context(), open, opts)
	if err != nil {
		t.Fatalf("record %s seed %d: %v", row, seed, err)
	}
	return res
}

// verifyDeep runs verify.Run with Deep on every run of s and fails the
// test on any problem.
func verifyDeep(t testing.TB, s *cas.Store) {
	t.Helper()
	runs, err := remote.ListRuns(t.Context(), s)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range runs {
		info, err := verify.FindRun(t.Context(), s, r.RunID)
		if err != nil {
			t.Fatal(err)
		}
		rep, err := verify.Run(t.Context(), s, r.Root, verify.Options{Deep: true, Recorded: &info, Index: s})
		if err != nil {
			t.Fatal(err)
		}
		if !rep.OK {
			t.Errorf("verify --deep %s: %+v", r.RunID, rep.Problems)
		}
	}
}

// localRegistry returns the test registry's repository name as a remote.
func localRegistry(t testing.TB, reg *testRegistry, repo string) *Registry {
	t.Helper()
	r, err := New(reg.addr, repo, Options{PlainHTTP: true})
	if err != nil {
		t.Fatal(err)
	}
	return r
}
