package ingest

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	osexec "os/exec"
	"path/filepath"
	"testing"

	"github.com/rigor-dev/rigor/cas"
	"github.com/rigor-dev/rigor/spec"
)

func TestRecordInputFile(t *testing.T) {
	dir := t.TempDir()
	content := []byte("id,label\n1,0\n2,1\n")
	p := filepath.Join(dir, "train.csv")
	if err := os.WriteFile(p, content, 0o644); err != nil {
		t.Fatal(err)
	}
	s := newTestStore(t)
	in := New(s, Options{Now: later})
	opts := InputOptions{Role: "data", SourceRevision: "v2024.03", SplitID: "fold-0"}
	snap, err := in.RecordInput(t.Context(), p, opts)
	if err != nil {
		t.Fatal(err)
	}
	r := snap.Record
	sum := sha256.Sum256(content)
	if r.Kind != spec.InputFile || r.SHA256 != hex.EncodeToString(sum[:]) || r.Digest != cas.FromBytes(content) || r.Size != int64(len(content)) || r.Files != 1 {
		t.Errorf("record = %+v", r)
	}
	if r.Role != "data" || r.SourceRevision != "v2024.03" || r.SplitID != "fold-0" {
		t.Errorf("description lost: %+v", r)
	}
	if dec, err := spec.DecodeInputRecord(readBlob(t, s, snap.Digest)); err != nil || *dec != r {
		t.Errorf("stored record %+v, %v", dec, err)
	}
	again, err := in.RecordInput(t.Context(), p, opts)
	if err != nil {
		t.Fatal(err)
	}
	if again.Result.ReadBytes != 0 || again.Digest != snap.Digest {
		t.Errorf("unchanged input: read %d bytes, record %s (first %s)", again.Result.ReadBytes, again.Digest, snap.Digest)
	}
	forced, err := in.RecordInput(t.Context(), p, InputOptions{Role: "data", SourceRevision: "v2024.03", SplitID: "fold-0", Rehash: true})
	if err != nil {
		t.Fatal(err)
	}
	if forced.Result.ReadBytes != int64(len(content)) || forced.Digest != snap.Digest {
		t.Errorf("--rehash: read %d bytes, record %s", forced.Result.ReadBytes, forced.Digest)
	}
}

func TestRecordInputTree(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"shard-0.bin": "aaaa", "shard-1.bin": "bbbb", "meta/info.json": `{"n":2}`})
	s := newTestStore(t)
	snap, err := New(s, Options{}).RecordInput(t.Context(), dir, InputOptions{Role: "weights"})
	if err != nil {
		t.Fatal(err)
	}
	r := snap.Record
	if r.Kind != spec.InputTree || r.Files != 3 || r.Size != 15 || r.SHA256Manifest == nil {
		t.Fatalf("record = %+v", r)
	}
	manifest := readBlob(t, s, r.SHA256Manifest.Digest)
	sum := sha256.Sum256(manifest)
	if r.SHA256 != hex.EncodeToString(sum[:]) {
		t.Errorf("sha256 %s is not the manifest's %x", r.SHA256, sum)
	}
	if tr, err := s.ReadTree(t.Context(), r.Digest); err != nil || len(tr.Entries) != 3 {
		t.Errorf("digest is not the input's tree: %+v, %v", tr, err)
	}
	// The manifest checks out with sha256sum itself.
	if _, err := osexec.LookPath("sha256sum"); err == nil {
		mf := filepath.Join(t.TempDir(), "SHA256SUMS")
		os.WriteFile(mf, manifest, 0o644)
		cmd := osexec.Command("sha256sum", "--check", "--strict", mf)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("sha256sum --check: %v\n%s\nmanifest:\n%s", err, out, manifest)
		}
	}
}

func TestRecordInputRejects(t *testing.T) {
	p := filepath.Join(t.TempDir(), "x.csv")
	os.WriteFile(p, []byte("x"), 0o644)
	in := New(newTestStore(t), Options{})
	for _, o := range []InputOptions{{}, {Role: "data"}, {Role: " "}} {
		if _, err := in.RecordInput(t.Context(), p, o); !errors.Is(err, ErrInputInvalid) {
			t.Errorf("RecordInput(%+v) = %v, want ErrInputInvalid", o, err)
		}
	}
	if _, err := in.RecordInput(t.Context(), p+".missing", InputOptions{Role: "aux"}); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing input: %v", err)
	}
}

func TestSHA256Manifest(t *testing.T) {
	h := "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
	got := string(SHA256Manifest([]File{{Path: "a b", SHA256: h}, {Path: "odd\nname", SHA256: h}, {Path: `back\slash`, SHA256: h}}))
	want := h + "  a b\n\\" + h + "  odd\\nname\n\\" + h + "  back\\\\slash\n"
	if got != want {
		t.Errorf("manifest:\n%q\nwant\n%q", got, want)
	}
}
