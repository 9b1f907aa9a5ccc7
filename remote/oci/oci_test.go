package oci

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	digest "github.com/opencontainers/go-digest"

	"github.com/rigor-dev/rigor/cas"
	"github.com/rigor-dev/rigor/remote"
	"github.com/rigor-dev/rigor/spec"
)

func statuses(st remote.Stats) map[string]remote.Status {
	m := map[string]remote.Status{}
	for _, r := range st.Runs {
		m[r.RunID] = r.Status
	}
	return m
}

// TestPushPull pushes three runs (two share a 3 MB input) to a real
// registry, pushes again (nothing sent), pulls them into a fresh store
// (same roots, verify --deep clean), and pulls again (nothing fetched).
func TestPushPull(t *testing.T) {
	reg := startRegistry(t)
	src := newStoreDir(t)
	shared := randomFile(t, 3<<20)
	a := recordRun(t, src, "EXP-01", 1, shared, "")
	b := recordRun(t, src, "EXP-01", 2, shared, "")
	c := recordRun(t, src, "EXP-02", 1, "", "")
	r := localRegistry(t, reg, "team/runs")

	s := openStore(t, src)
	st, err := r.Push(t.Context(), s, nil, remote.Options{})
	if err != nil {
		t.Fatalf("push: %v", err)
	}
	for _, res := range []string{a.RunID, b.RunID, c.RunID} {
		if got := statuses(st)[res]; got != remote.Sent {
			t.Errorf("push: %s %v, want sent", res, got)
		}
	}
	// The shared input went once: everything sent is less than two copies.
	if st.BytesSent >= 2*(3<<20) || st.BytesSent < 3<<20 {
		t.Errorf("push sent %d bytes; want one copy of the 3 MiB input plus small files", st.BytesSent)
	}
	if _, err := os.Stat(reg.blobData(sha256Of(t, shared))); err != nil {
		t.Errorf("shared input not in the registry: %v", err)
	}

	again, err := r.Push(t.Context(), s, nil, remote.Options{})
	if err != nil {
		t.Fatalf("second push: %v", err)
	}
	if again.ObjectsSent != 0 || again.BytesSent != 0 || again.BytesHashed != 0 {
		t.Errorf("second push sent %d objects, %d bytes, hashed %d; want nothing", again.ObjectsSent, again.BytesSent, again.BytesHashed)
	}
	for id, got := range statuses(again) {
		if got != remote.UpToDate {
			t.Errorf("second push: %s %v, want up-to-date", id, got)
		}
	}
	s.Close()

	dst := newStoreDir(t)
	d := openStore(t, dst)
	pst, err := r.Pull(t.Context(), d, nil, remote.Options{})
	if err != nil {
		t.Fatalf("pull: %v", err)
	}
	if len(pst.Runs) != 3 {
		t.Fatalf("pull: %d runs, want 3: %+v", len(pst.Runs), pst.Runs)
	}
	for _, want := range []struct {
		ref  string
		root string
	}{{a.Ref, a.Root.String()}, {b.Ref, b.Root.String()}, {c.Ref, c.Root.String()}} {
		got, err := d.GetRef(t.Context(), want.ref)
		if err != nil || got.String() != want.root {
			t.Errorf("pulled %s = %s, %v; want %s", want.ref, got, err, want.root)
		}
	}
	verifyDeep(t, d)
	rep, err := d.Fsck(t.Context(), cas.FsckOptions{})
	if err != nil || !rep.OK() {
		t.Errorf("fsck after pull: %v %+v", err, rep.Problems)
	}

	pst2, err := r.Pull(t.Context(), d, nil, remote.Options{})
	if err != nil {
		t.Fatalf("second pull: %v", err)
	}
	if pst2.ObjectsSent != 0 || pst2.BytesSent != 0 {
		t.Errorf("second pull fetched %d objects, %d bytes; want nothing", pst2.ObjectsSent, pst2.BytesSent)
	}
}

func sha256Of(t *testing.T, path string) digest.Digest {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	return digest.NewDigestFromEncoded(digest.SHA256, hex.EncodeToString(sum[:]))
}

// TestOrasPull pulls a pushed run with the oras CLI, as someone without
// rigor would, and checks every file the run manifest lists against its
// SHA-256.
func TestOrasPull(t *testing.T) {
	oras := toolPath(t, "RIGOR_TEST_ORAS_BIN", "oras")
	if oras == "" {
		t.Skip("no oras binary: run 'make tools' (builds bin/tools/oras) or set RIGOR_TEST_ORAS_BIN")
	}
	reg := startRegistry(t)
	src := newStoreDir(t)
	res := recordRun(t, src, "EXP-01", 42, randomFile(t, 100<<10), "")
	s := openStore(t, src)
	r := localRegistry(t, reg, "team/runs")
	if _, err := r.Push(t.Context(), s, []string{res.RunID}, remote.Options{}); err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	cmd := exec.Command(oras, "pull", "--plain-http", "-o", out, reg.addr+"/team/runs:"+spec.OCITag(res.RunID))
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir())
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("oras pull: %v\n%s", err, b)
	}
	manifest, err := os.ReadFile(filepath.Join(out, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	files := spec.ManifestFiles(manifest)
	if len(files) < 5 {
		t.Fatalf("manifest lists %d files", len(files))
	}
	for _, f := range files {
		if f.Rel == "" || f.SHA256 == "" {
			continue
		}
		b, err := os.ReadFile(filepath.Join(out, filepath.FromSlash(f.Rel)))
		if err != nil {
			t.Errorf("%s: %v", f.Label, err)
			continue
		}
		if sum := sha256.Sum256(b); hex.EncodeToString(sum[:]) != f.SHA256 {
			t.Errorf("%s: %s has sha256 %x, manifest says %s", f.Label, f.Rel, sum, f.SHA256)
		}
	}
	// Every file of the run tree is there, even those with the same
	// content as another (stdout.log and stderr.log may both be empty).
	var want []string
	err = s.Walk(t.Context(), res.Root, func(p string, e cas.Entry) error {
		if e.Mode != cas.ModeTree {
			want = append(want, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	filepath.WalkDir(out, func(p string, de os.DirEntry, err error) error {
		if err == nil && !de.IsDir() {
			rel, _ := filepath.Rel(out, p)
			got = append(got, filepath.ToSlash(rel))
		}
		return nil
	})
	slices.Sort(want)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("oras pull wrote\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestPushConflict: a run id recorded differently in two stores is refused
// by name, and replaced only with Force.
func TestPushConflict(t *testing.T) {
	reg := startRegistry(t)
	one, two := newStoreDir(t), newStoreDir(t)
	a := recordRun(t, one, "EXP-01", 1, "", "")
	b := recordRun(t, two, "EXP-01", 1, "", `echo other > "$RIGOR_OUT/predictions.csv"; echo '{"loss": 1}' > "$RIGOR_OUT/raw_metrics.jsonl"`)
	if a.Root == b.Root {
		t.Fatal("the two runs should differ")
	}
	r := localRegistry(t, reg, "runs")
	s1 := openStore(t, one)
	if _, err := r.Push(t.Context(), s1, nil, remote.Options{}); err != nil {
		t.Fatal(err)
	}
	s1.Close()
	s2 := openStore(t, two)
	st, err := r.Push(t.Context(), s2, nil, remote.Options{})
	if !errors.Is(err, remote.ErrConflict) || !strings.Contains(err.Error(), a.RunID) {
		t.Fatalf("push of a conflicting run: %v, want ErrConflict naming %s", err, a.RunID)
	}
	if got := st.Runs[0]; got.Status != remote.Conflict || got.Other != a.Root {
		t.Errorf("conflict result %+v, want other %s", got, a.Root)
	}
	rr, err := r.fetchRun(t.Context(), spec.OCITag(a.RunID))
	if err != nil || rr.run.Root != a.Root {
		t.Fatalf("after the refused push the tag holds %v, %v; want %s", rr, err, a.Root)
	}
	// Pulling it into the store that has the other one is refused too.
	if _, err := r.Pull(t.Context(), s2, nil, remote.Options{}); !errors.Is(err, remote.ErrConflict) {
		t.Errorf("pull of a conflicting run: %v, want ErrConflict", err)
	}
	if got, _ := s2.GetRef(t.Context(), b.Ref); got != b.Root {
		t.Errorf("refused pull changed the local ref to %s", got)
	}
	st, err = r.Push(t.Context(), s2, nil, remote.Options{Force: true})
	if err != nil {
		t.Fatalf("forced push: %v", err)
	}
	if got := st.Runs[0]; got.Status != remote.Replaced {
		t.Errorf("forced push: %+v, want replaced", got)
	}
	if rr, err := r.fetchRun(t.Context(), spec.OCITag(a.RunID)); err != nil || rr.run.Root != b.Root {
		t.Errorf("after the forced push the tag holds %v, %v; want %s", rr, err, b.Root)
	}
}
