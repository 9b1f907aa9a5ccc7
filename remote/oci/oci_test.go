package oci

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

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

// TestPushResumesAfterRegistryKilled kills the registry in the middle of a
// push, starts it again, and pushes again: the push completes, sending only
// what had not arrived, and the pulled runs verify.
func TestPushResumesAfterRegistryKilled(t *testing.T) {
	reg := startRegistry(t)
	src := newStoreDir(t)
	recordRun(t, src, "EXP-01", 1, randomFile(t, 2<<20), "")
	recordRun(t, src, "EXP-01", 2, randomFile(t, 6<<20), "")
	recordRun(t, src, "EXP-01", 3, randomFile(t, 2<<20), "")
	s := openStore(t, src)
	r := localRegistry(t, reg, "runs")

	killed := false
	var total int64
	_, err := r.Push(t.Context(), s, nil, remote.Options{Concurrency: 1, Progress: func(done, tot int64) {
		total = tot
		if !killed && done > tot/2 {
			killed = true
			reg.kill()
		}
	}})
	if err == nil || !killed {
		t.Fatalf("push with the registry killed: err %v, killed %v", err, killed)
	}
	reg.start()
	st1, err := r.Push(t.Context(), s, nil, remote.Options{Concurrency: 1})
	if err != nil {
		t.Fatalf("push after restart: %v", err)
	}
	if st1.ObjectsSkipped == 0 {
		t.Errorf("push after restart skipped nothing: %+v", st1)
	}
	if blobBytes := st1.BytesSent - manifestBytes(t, r, st1); blobBytes >= total || blobBytes <= 0 {
		t.Errorf("push after restart sent %d blob bytes of %d: want only what was missing", blobBytes, total)
	}
	if st1.BytesSkipped+st1.BytesSent-manifestBytes(t, r, st1) != total {
		t.Errorf("sent %d + skipped %d (less manifests) != %d", st1.BytesSent, st1.BytesSkipped, total)
	}
	st2, err := r.Push(t.Context(), s, nil, remote.Options{})
	if err != nil || st2.BytesSent != 0 {
		t.Errorf("third push: %v, sent %d bytes; want nothing", err, st2.BytesSent)
	}
	d := openStore(t, newStoreDir(t))
	if _, err := r.Pull(t.Context(), d, nil, remote.Options{}); err != nil {
		t.Fatalf("pull: %v", err)
	}
	verifyDeep(t, d)
}

// manifestBytes adds up the sizes of the manifests of the runs st sent.
func manifestBytes(t *testing.T, r *Registry, st remote.Stats) int64 {
	t.Helper()
	var n int64
	for _, res := range st.Runs {
		if res.Status != remote.Sent && res.Status != remote.Replaced {
			continue
		}
		rr, err := r.fetchRun(t.Context(), spec.OCITag(res.RunID))
		if err != nil {
			t.Fatal(err)
		}
		n += rr.desc.Size
	}
	return n
}

// TestPullRefusesCorruptBlob: a registry that serves a blob whose bytes no
// longer match its SHA-256 (a flipped byte on its disk) makes the pull
// fail, and nothing of the run becomes visible in the local store.
func TestPullRefusesCorruptBlob(t *testing.T) {
	reg := startRegistry(t)
	src := newStoreDir(t)
	input := randomFile(t, 1<<20)
	res := recordRun(t, src, "EXP-01", 1, input, "")
	s := openStore(t, src)
	r := localRegistry(t, reg, "runs")
	if _, err := r.Push(t.Context(), s, nil, remote.Options{}); err != nil {
		t.Fatal(err)
	}
	data := reg.blobData(sha256Of(t, input))
	b, err := os.ReadFile(data)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 0x40
	if err := os.WriteFile(data, b, 0o644); err != nil {
		t.Fatal(err)
	}
	b3, _, err := cas.FromReader(mustOpen(t, input))
	if err != nil {
		t.Fatal(err)
	}

	d := openStore(t, newStoreDir(t))
	_, err = r.Pull(t.Context(), d, nil, remote.Options{})
	if !errors.Is(err, remote.ErrBadRemoteData) {
		t.Fatalf("pull of a corrupt blob: %v, want ErrBadRemoteData", err)
	}
	assertNothingVisible(t, d, res.Ref, b3)
}

// TestPullRefusesWrongBLAKE3: a manifest whose layer claims another BLAKE3
// than its bytes have (its SHA-256 being right) is refused by the store's
// own check, with nothing visible.
func TestPullRefusesWrongBLAKE3(t *testing.T) {
	reg := startRegistry(t)
	src := newStoreDir(t)
	res := recordRun(t, src, "EXP-01", 1, "", "")
	s := openStore(t, src)
	r := localRegistry(t, reg, "runs")
	if _, err := r.Push(t.Context(), s, nil, remote.Options{}); err != nil {
		t.Fatal(err)
	}
	// Swap the BLAKE3 annotations of config.json and environment.json.
	tag := spec.OCITag(res.RunID)
	rr, err := r.fetchRun(t.Context(), tag)
	if err != nil {
		t.Fatal(err)
	}
	var ci, ei int = -1, -1
	for i, l := range rr.manifest.Layers {
		switch l.Annotations[spec.OCIAnnotationTitle] {
		case "config.json":
			ci = i
		case "environment.json":
			ei = i
		}
	}
	if ci < 0 || ei < 0 {
		t.Fatal("config.json or environment.json is not a layer")
	}
	m := rr.manifest
	lc, le := m.Layers[ci], m.Layers[ei]
	victim := digest.Digest(le.Annotations[spec.OCIAnnotationBLAKE3])
	lc.Annotations = map[string]string{spec.OCIAnnotationTitle: "config.json", spec.OCIAnnotationBLAKE3: le.Annotations[spec.OCIAnnotationBLAKE3]}
	le.Annotations = map[string]string{spec.OCIAnnotationTitle: "environment.json", spec.OCIAnnotationBLAKE3: m.Layers[ci].Annotations[spec.OCIAnnotationBLAKE3]}
	m.Layers = slices.Clone(m.Layers)
	m.Layers[ci], m.Layers[ei] = lc, le
	pushManifest(t, r, m, tag)

	d := openStore(t, newStoreDir(t))
	_, err = r.Pull(t.Context(), d, nil, remote.Options{})
	if !errors.Is(err, remote.ErrBadRemoteData) || !errors.Is(err, cas.ErrDigestMismatch) {
		t.Fatalf("pull with a wrong BLAKE3: %v, want ErrBadRemoteData wrapping cas.ErrDigestMismatch", err)
	}
	assertNothingVisible(t, d, res.Ref, victim)
}

// assertNothingVisible checks that the pulled run left no ref, no index
// entries and not the object bad, and that the store checks clean.
func assertNothingVisible(t *testing.T, d *cas.Store, ref string, bad digest.Digest) {
	t.Helper()
	if _, err := d.GetRef(t.Context(), ref); !errors.Is(err, cas.ErrRefNotFound) {
		t.Errorf("ref %s after a refused pull: %v, want none", ref, err)
	}
	runs, _ := remote.ListRuns(t.Context(), d)
	if len(runs) != 0 {
		t.Errorf("runs after a refused pull: %v", runs)
	}
	for _, index := range []string{spec.RunsIndex, spec.LineageInIndex, spec.LineageOutIndex} {
		d.ScanIndex(t.Context(), index, nil, func(k, _ []byte) error {
			t.Errorf("index %s entry %q after a refused pull", index, k)
			return nil
		})
	}
	if ok, _ := d.Has(t.Context(), bad); ok {
		t.Errorf("the bad object %s was stored", bad)
	}
	if rep, err := d.Fsck(t.Context(), cas.FsckOptions{}); err != nil || !rep.OK() {
		t.Errorf("fsck after a refused pull: %v %+v", err, rep.Problems)
	}
}

func mustOpen(t testing.TB, p string) *os.File {
	t.Helper()
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func pushManifest(t *testing.T, r *Registry, m ocispec.Manifest, tag string) {
	t.Helper()
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	desc := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: digest.FromBytes(b), Size: int64(len(b))}
	if err := r.repo.PushReference(t.Context(), desc, bytes.NewReader(b), tag); err != nil {
		t.Fatal(err)
	}
}

// TestCheck: a pushed run checks complete; with a blob gone from the
// registry's disk the check names it, from a store that has the run (no
// download) and from an empty one (reading only the tree layers).
func TestCheck(t *testing.T) {
	reg := startRegistry(t)
	src := newStoreDir(t)
	input := randomFile(t, 200<<10)
	res := recordRun(t, src, "EXP-01", 1, input, "")
	s := openStore(t, src)
	r := localRegistry(t, reg, "runs")
	empty := openStore(t, newStoreDir(t))

	results, err := r.Check(t.Context(), s, nil)
	if err != nil || len(results) != 1 || results[0].Problem != "not on the remote" {
		t.Fatalf("check before push: %+v, %v; want 'not on the remote'", results, err)
	}
	if _, err := r.Push(t.Context(), s, nil, remote.Options{}); err != nil {
		t.Fatal(err)
	}
	for name, local := range map[string]*cas.Store{"with the run": s, "empty": empty} {
		results, err := r.Check(t.Context(), local, []string{res.RunID})
		if err != nil || len(results) != 1 || !results[0].OK() || results[0].Objects < 10 {
			t.Errorf("check %s after push: %+v, %v; want complete", name, results, err)
		}
	}
	if err := os.RemoveAll(filepath.Dir(reg.blobData(sha256Of(t, input)))); err != nil {
		t.Fatal(err)
	}
	for name, local := range map[string]*cas.Store{"with the run": s, "empty": empty} {
		results, err := r.Check(t.Context(), local, []string{res.Ref})
		if err != nil || len(results) != 1 {
			t.Fatalf("check %s: %+v, %v", name, results, err)
		}
		got := results[0]
		if got.OK() || len(got.Missing) != 1 || got.Missing[0].Path != "inputs/data/data.bin" {
			t.Errorf("check %s with the input gone: %+v, want inputs/data/data.bin missing", name, got)
		}
	}
}

// TestPullResumes interrupts a pull half way and pulls again: the second
// pull fetches only what had not arrived, and the interrupted one left no
// ref. A repository nothing was pushed to has no runs.
func TestPullResumes(t *testing.T) {
	reg := startRegistry(t)
	src := newStoreDir(t)
	res := recordRun(t, src, "EXP-01", 1, randomFile(t, 3<<20), "")
	recordRun(t, src, "EXP-01", 2, randomFile(t, 3<<20), "")
	s := openStore(t, src)
	r := localRegistry(t, reg, "runs")
	if _, err := r.Push(t.Context(), s, nil, remote.Options{}); err != nil {
		t.Fatal(err)
	}
	d := openStore(t, newStoreDir(t))
	empty := localRegistry(t, reg, "nothing/here")
	if st, err := empty.Pull(t.Context(), d, nil, remote.Options{}); err != nil || len(st.Runs) != 0 {
		t.Errorf("pull from an empty repository: %+v, %v; want no runs", st, err)
	}

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	st1, err := r.Pull(ctx, d, nil, remote.Options{Concurrency: 1, Progress: func(done, total int64) {
		if done > total/2 {
			cancel()
		}
	}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted pull: %v, want context.Canceled", err)
	}
	if st1.ObjectsSent == 0 {
		t.Fatal("nothing arrived before the interruption; the test proves nothing")
	}
	for _, run := range st1.Runs {
		if run.Status != remote.Failed {
			t.Errorf("interrupted pull reports %s %v, want failed", run.RunID, run.Status)
		}
	}
	if _, err := d.GetRef(t.Context(), res.Ref); !errors.Is(err, cas.ErrRefNotFound) {
		t.Errorf("ref after an interrupted pull: %v", err)
	}
	st2, err := r.Pull(t.Context(), d, nil, remote.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if st2.ObjectsSkipped != st1.ObjectsSent {
		t.Errorf("resumed pull skipped %d objects; the interrupted one fetched %d", st2.ObjectsSkipped, st1.ObjectsSent)
	}
	verifyDeep(t, d)
}
