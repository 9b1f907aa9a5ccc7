package oci

// Hardening (issue 10): pulling from a registry that someone else filled.
// A tree layer the store would never accept is refused by name, and the
// pulling store gets no ref, no index entry and not that tree.

import (
	"bytes"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	digest "github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/rigor-dev/rigor/cas"
	"github.com/rigor-dev/rigor/internal/faults"
	"github.com/rigor-dev/rigor/remote"
	"github.com/rigor-dev/rigor/spec"
)

// sum32 is the raw 32 bytes of a BLAKE3 digest, as a tree entry holds it.
func sum32(d digest.Digest) (s [32]byte) {
	hex.Decode(s[:], []byte(d.Encoded()))
	return s
}

// pushBlob uploads b to the repository and returns its descriptor.
func pushBlob(t *testing.T, r *Registry, mediaType string, b []byte, annotations map[string]string) ocispec.Descriptor {
	t.Helper()
	desc := ocispec.Descriptor{MediaType: mediaType, Digest: digest.FromBytes(b), Size: int64(len(b)), Annotations: annotations}
	exists, err := r.repo.Exists(t.Context(), desc)
	if err != nil {
		t.Fatal(err)
	}
	if !exists {
		if err := r.repo.Push(t.Context(), desc, bytes.NewReader(b)); err != nil {
			t.Fatal(err)
		}
	}
	return desc
}

// TestPullHostileRegistry writes, by hand, a run to the registry whose
// bundle holds a tree with an entry named "..", "/etc/passwd", "a/b", a
// NUL, a duplicate or a device mode, with every layer's SHA-256 and BLAKE3
// right. rigor pull refuses it naming the entry; nothing of the run
// becomes visible and the store checks clean. The control case, a
// well-formed tree laid out the same way, pulls and verifies, so the
// refusals are the entries' doing.
func TestPullHostileRegistry(t *testing.T) {
	reg := startRegistry(t)
	evil := []byte("evil")
	evilB3 := cas.FromBytes(evil)
	tests := []struct {
		name    string
		entries []faults.RawEntry
		want    string // in the error; "" for the control case
	}{
		{"control", []faults.RawEntry{{Mode: 1, Name: "ok.txt", Size: 4, Sum: sum32(evilB3)}}, ""},
		{"dotdot", []faults.RawEntry{{Mode: 1, Name: "..", Size: 4, Sum: sum32(evilB3)}}, `".."`},
		{"absolute", []faults.RawEntry{{Mode: 1, Name: "/etc/passwd", Size: 4, Sum: sum32(evilB3)}}, `"/etc/passwd"`},
		{"slash", []faults.RawEntry{{Mode: 1, Name: "a/b", Size: 4, Sum: sum32(evilB3)}}, `"a/b"`},
		{"nul", []faults.RawEntry{{Mode: 1, Name: "x\x00y", Size: 4, Sum: sum32(evilB3)}}, `"x\x00y"`},
		{"duplicate", []faults.RawEntry{
			{Mode: 1, Name: "a", Size: 4, Sum: sum32(evilB3)},
			{Mode: 1, Name: "a", Size: 4, Sum: sum32(evilB3)},
		}, `"a" after "a"`},
		{"device", []faults.RawEntry{{Mode: 9, Name: "sda", Size: 4, Sum: sum32(evilB3)}}, "mode 9"},
	}
	const runID, ref = "EXP-01__seed-1__attempt-1", "runs/EXP-01/seed-1/attempt-1"
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := localRegistry(t, reg, "hostile/"+tt.name)
			sub := faults.RawTree(tt.entries)
			subB3 := cas.FromBytes(sub)
			root := faults.RawTree([]faults.RawEntry{
				{Mode: 1, Name: "notes.txt", Size: uint64(len(evil)), Sum: sum32(evilB3)},
				{Mode: 4, Name: "rigor", Size: uint64(len(sub)), Sum: sum32(subB3)},
			})
			rootB3 := cas.FromBytes(root)
			index, err := (&spec.RunIndexEntries{RunID: runID, Ref: ref, Root: rootB3}).Encode()
			if err != nil {
				t.Fatal(err)
			}
			pushBlob(t, r, ocispec.DescriptorEmptyJSON.MediaType, ocispec.DescriptorEmptyJSON.Data, nil)
			m := ocispec.Manifest{
				Versioned:    specs.Versioned{SchemaVersion: 2},
				MediaType:    ocispec.MediaTypeImageManifest,
				ArtifactType: spec.OCIArtifactType,
				Config:       ocispec.DescriptorEmptyJSON,
				Layers: []ocispec.Descriptor{
					pushBlob(t, r, spec.OCIMediaTypeFile, evil, map[string]string{spec.OCIAnnotationTitle: "notes.txt", spec.OCIAnnotationBLAKE3: evilB3.String()}),
					// Children before parents, as rigor push lays them out.
					pushBlob(t, r, spec.OCIMediaTypeTree, sub, map[string]string{spec.OCIAnnotationBLAKE3: subB3.String()}),
					pushBlob(t, r, spec.OCIMediaTypeTree, root, map[string]string{spec.OCIAnnotationBLAKE3: rootB3.String()}),
					pushBlob(t, r, spec.OCIMediaTypeRunIndex, index, nil),
				},
				Annotations: map[string]string{
					spec.OCIAnnotationRunID: runID,
					spec.OCIAnnotationRef:   ref,
					spec.OCIAnnotationRoot:  rootB3.String(),
				},
			}
			pushManifest(t, r, m, spec.OCITag(runID))

			d := openStore(t, newStoreDir(t))
			st, err := r.Pull(t.Context(), d, nil, remote.Options{})
			if tt.want == "" {
				if err != nil {
					t.Fatalf("pull of the well-formed hand-made run: %v", err)
				}
				if got, err := d.GetRef(t.Context(), ref); err != nil || got != rootB3 {
					t.Fatalf("after the pull %s = %s, %v; want %s", ref, got, err, rootB3)
				}
				if rep, err := d.Fsck(t.Context(), cas.FsckOptions{}); err != nil || !rep.OK() {
					t.Errorf("fsck after the pull: %v %+v", err, rep.Problems)
				}
				return
			}
			if !errors.Is(err, remote.ErrBadRemoteData) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("pull of a tree with a hostile entry: %v; want ErrBadRemoteData naming %s", err, tt.want)
			}
			t.Logf("refused: %v", err)
			if len(st.Runs) != 1 || st.Runs[0].Status != remote.Failed {
				t.Errorf("stats %+v, want the run failed", st.Runs)
			}
			assertNothingVisible(t, d, ref, subB3)
			if ok, _ := d.Has(t.Context(), rootB3); ok {
				t.Errorf("the root %s above the hostile tree was stored", rootB3)
			}
		})
	}
}
