package oci

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	digest "github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/rigor-dev/rigor/cas"
	"github.com/rigor-dev/rigor/remote"
	"github.com/rigor-dev/rigor/spec"
)

func sampleManifest() ocispec.Manifest {
	sha := func(s string) digest.Digest { return digest.FromString(s) }
	b3 := func(s string) string { return cas.FromBytes([]byte(s)).String() }
	return ocispec.Manifest{
		Versioned:    specs.Versioned{SchemaVersion: 2},
		MediaType:    ocispec.MediaTypeImageManifest,
		ArtifactType: spec.OCIArtifactType,
		Config:       ocispec.DescriptorEmptyJSON,
		Layers: []ocispec.Descriptor{
			{MediaType: spec.OCIMediaTypeFile, Digest: sha("a"), Size: 1, Annotations: map[string]string{spec.OCIAnnotationTitle: "a.txt", spec.OCIAnnotationBLAKE3: b3("a")}},
			{MediaType: spec.OCIMediaTypeFile, Digest: sha("a"), Size: 1, Annotations: map[string]string{spec.OCIAnnotationTitle: "b.txt", spec.OCIAnnotationBLAKE3: b3("a")}},
			{MediaType: spec.OCIMediaTypeTree, Digest: sha("t"), Size: 1, Annotations: map[string]string{spec.OCIAnnotationBLAKE3: b3("t")}},
			{MediaType: spec.OCIMediaTypeRunIndex, Digest: sha("i"), Size: 1},
		},
		Annotations: map[string]string{
			spec.OCIAnnotationRunID: "EXP-01__seed-1__attempt-1",
			spec.OCIAnnotationRef:   "runs/EXP-01/seed-1/attempt-1",
			spec.OCIAnnotationRoot:  b3("t"),
		},
	}
}

func encodeManifest(t testing.TB, m ocispec.Manifest) []byte {
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseRun(t *testing.T) {
	const tag = "EXP-01__seed-1__attempt-1"
	rr, err := parseRun("reg/runs", tag, ocispec.Descriptor{}, encodeManifest(t, sampleManifest()))
	if err != nil {
		t.Fatal(err)
	}
	if rr.run.RunID != tag || rr.run.Ref != "runs/EXP-01/seed-1/attempt-1" || len(rr.layers) != 2 || rr.index == nil {
		t.Errorf("parseRun = %+v", rr)
	}
	bad := []struct {
		name string
		edit func(m *ocispec.Manifest)
		want error
	}{
		{"another artifact", func(m *ocispec.Manifest) { m.ArtifactType = "application/vnd.example" }, ErrNotRun},
		{"run id of another tag", func(m *ocispec.Manifest) {
			m.Annotations[spec.OCIAnnotationRunID] = "EXP-01__seed-2__attempt-1"
			m.Annotations[spec.OCIAnnotationRef] = "runs/EXP-01/seed-2/attempt-1"
		}, remote.ErrBadRemoteData},
		{"ref of another run", func(m *ocispec.Manifest) { m.Annotations[spec.OCIAnnotationRef] = "runs/EXP-01/seed-2/attempt-1" }, remote.ErrBadRemoteData},
		{"sha256 root", func(m *ocispec.Manifest) { m.Annotations[spec.OCIAnnotationRoot] = digest.FromString("x").String() }, remote.ErrBadRemoteData},
		{"layer without blake3", func(m *ocispec.Manifest) { m.Layers[0].Annotations = nil }, remote.ErrBadRemoteData},
		{"layer with a sha512 digest", func(m *ocispec.Manifest) { m.Layers[0].Digest = digest.SHA512.FromString("a") }, remote.ErrBadRemoteData},
		{"one blake3, two sha256", func(m *ocispec.Manifest) { m.Layers[1].Digest = digest.FromString("b") }, remote.ErrBadRemoteData},
		{"no index layer", func(m *ocispec.Manifest) { m.Layers = m.Layers[:3] }, remote.ErrBadRemoteData},
		{"negative size", func(m *ocispec.Manifest) { m.Layers[2].Size = -1 }, remote.ErrBadRemoteData},
	}
	for _, tt := range bad {
		m := sampleManifest()
		tt.edit(&m)
		_, err := parseRun("reg/runs", tag, ocispec.Descriptor{}, encodeManifest(t, m))
		if !errors.Is(err, tt.want) {
			t.Errorf("%s: parseRun = %v, want %v", tt.name, err, tt.want)
		}
	}
	if _, err := parseRun("reg/runs", tag, ocispec.Descriptor{}, []byte("{")); !errors.Is(err, remote.ErrBadRemoteData) {
		t.Errorf("truncated JSON: %v", err)
	}
}

// FuzzParseRun: whatever a registry serves, parseRun returns a run whose
// every file and tree layer has a BLAKE3 and a SHA-256 digest, or an error.
func FuzzParseRun(f *testing.F) {
	f.Add(encodeManifest(f, sampleManifest()))
	f.Add([]byte(`{"artifactType":"application/vnd.rigor.run.v1"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		rr, err := parseRun("reg/runs", "EXP-01__seed-1__attempt-1", ocispec.Descriptor{}, b)
		if err != nil {
			if !errors.Is(err, remote.ErrBadRemoteData) && !errors.Is(err, ErrNotRun) {
				t.Fatalf("error %v wraps neither ErrBadRemoteData nor ErrNotRun", err)
			}
			return
		}
		if rr.index == nil || rr.run.Root.Algorithm() != cas.BLAKE3 {
			t.Fatalf("accepted %+v", rr.run)
		}
		for b3, l := range rr.layers {
			if b3.Algorithm() != cas.BLAKE3 || l.Digest.Algorithm() != digest.SHA256 || l.Size < 0 || !strings.HasPrefix(l.MediaType, "application/vnd.rigor.") {
				t.Fatalf("accepted layer %s %+v", b3, l)
			}
		}
	})
}
