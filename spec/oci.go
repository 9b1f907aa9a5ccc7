package spec

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"

	digest "github.com/opencontainers/go-digest"
)

// OCI layout of a run. rigor push stores each run in an OCI distribution
// registry as one OCI image manifest (image-spec v1.1) tagged [OCITag] of
// its run id; oci.md next to this file is the full description, with a
// worked example. In short:
//
//	artifactType  OCIArtifactType
//	config        manifest.json of the run, media type OCIMediaTypeConfig
//	              (the empty descriptor for a bundle without one)
//	layers        one per file of the run tree, in walk order, media type
//	              OCIMediaTypeFile, annotated with its path (OCIAnnotationTitle)
//	              and BLAKE3 digest (OCIAnnotationBLAKE3); then one per tree
//	              object, children before parents, media type
//	              OCIMediaTypeTree, the canonical cas tree encoding, annotated
//	              with its BLAKE3 digest and no title; last the run's index
//	              entries, OCIMediaTypeRunIndex ([RunIndexEntries])
//	annotations   OCIAnnotationRunID, OCIAnnotationRef, OCIAnnotationRoot
//
// Layer digests are SHA-256, as registries require; the BLAKE3 annotation
// names the same bytes in the store. A puller checks both. Because layers
// carry titles, `oras pull` of the tag writes the run directory; because the
// tree objects travel too, rigor pull rebuilds the run with the same root
// digest.
const (
	OCIArtifactType      = "application/vnd.rigor.run.v1"
	OCIMediaTypeConfig   = "application/vnd.rigor.run.manifest.v1+json"
	OCIMediaTypeFile     = "application/vnd.rigor.file.v1"
	OCIMediaTypeTree     = "application/vnd.rigor.tree.v1"
	OCIMediaTypeRunIndex = "application/vnd.rigor.run.index.v1+json"

	// OCIAnnotationTitle is the OCI pre-defined annotation that oras (and
	// other tools) use as a layer's file name; rigor puts the file's
	// slash-separated path in the run there.
	OCIAnnotationTitle  = "org.opencontainers.image.title"
	OCIAnnotationBLAKE3 = "dev.rigor.blake3"
	OCIAnnotationRunID  = "dev.rigor.run-id"
	OCIAnnotationRef    = "dev.rigor.ref"
	OCIAnnotationRoot   = "dev.rigor.root"
)

// MaxOCITag is the longest tag the OCI distribution spec allows.
const MaxOCITag = 128

// OCITag returns the registry tag of a run id. Tags must match
// [a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}. A run id that already does (every run
// id of a row name shorter than about 100 characters) is its own tag.
// Otherwise every character outside that set becomes '-', a leading '.' or
// '-' becomes '_', the result is cut to 115 characters and "-" and the first
// 12 hex digits of the SHA-256 of the run id are appended, so that two run
// ids that sanitise alike still get distinct tags:
//
//	EXP-01__seed-42__attempt-1   EXP-01__seed-42__attempt-1
//	lr=0.1/a__seed-1__attempt-2  lr-0.1-a__seed-1__attempt-2-<12 hex>
//	<row of 128 chars>__seed-1__attempt-1
//	                             <first 115 chars>-<12 hex>
//
// The run id itself travels in the manifest's [OCIAnnotationRunID]; a
// puller checks that the tag it read is OCITag of that run id.
func OCITag(runID string) string {
	if validOCITag(runID) {
		return runID
	}
	b := []byte(runID)
	for i, c := range b {
		if !tagChar(c) {
			b[i] = '-'
		}
	}
	if len(b) > 0 && (b[0] == '.' || b[0] == '-') {
		b[0] = '_'
	}
	const keep = MaxOCITag - 13
	if len(b) > keep {
		b = b[:keep]
	}
	sum := sha256.Sum256([]byte(runID))
	tag := string(b) + "-" + hex.EncodeToString(sum[:])[:12]
	if tag[0] == '-' {
		tag = "_" + tag[1:]
	}
	return tag
}

func tagChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-'
}

func validOCITag(s string) bool {
	if s == "" || len(s) > MaxOCITag || s[0] == '.' || s[0] == '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !tagChar(s[i]) {
			return false
		}
	}
	return true
}

// SchemaRunIndex names the [RunIndexEntries] format.
const SchemaRunIndex = "rigor.run_index.v1"

// RunIndexEntries ("rigor.run_index.v1") are a run's entries in a store's
// indexes, as rigor push and pull carry them from one store to another: its
// summary in [RunsIndex] and its [LineageInIndex] and [LineageOutIndex]
// entries. The lineage keys are Content NUL RunID. It is the last layer of
// a run's OCI manifest, canonical JSON.
type RunIndexEntries struct {
	Schema string        `json:"schema"`
	RunID  string        `json:"run_id"`
	Ref    string        `json:"ref"`
	Root   digest.Digest `json:"root"`
	// Summary is nil for a run the runs index does not list.
	Summary    *RunSummary  `json:"summary,omitempty"`
	LineageIn  []IndexEntry `json:"lineage_in"`
	LineageOut []IndexEntry `json:"lineage_out"`
}

// IndexEntry is one lineage entry of a run: the content digest of its key
// ("blake3:…" or "sha256:…") and its value.
type IndexEntry struct {
	Content string      `json:"content"`
	Link    LineageLink `json:"link"`
}

// Validate checks that e names one run consistently: the run id parses,
// the ref is its ref, the root is a BLAKE3 digest, a summary (if any)
// validates and names the same run, ref and root, and every lineage entry
// has a digest and a link path inside the run.
func (e *RunIndexEntries) Validate() error {
	p := &problems{schema: SchemaRunIndex}
	p.schemaIs(e.Schema)
	row, seed, attempt, ok := ParseRunID(e.RunID)
	switch {
	case !ok:
		p.addf("run_id %q is not <row>__seed-<n>__attempt-<k>", e.RunID)
	case e.Ref != RunRef(row, seed, attempt):
		p.addf("ref %q is not the ref of run %s", e.Ref, e.RunID)
	}
	if !ValidDigest(e.Root) || !strings.HasPrefix(string(e.Root), "blake3:") {
		p.addf("root %q is not a blake3 digest", e.Root)
	}
	if s := e.Summary; s != nil {
		if err := s.Validate(); err != nil {
			p.addf("summary: %v", err)
		} else if s.RunID != e.RunID || s.Ref != e.Ref || s.Root != e.Root {
			p.addf("summary names run %s, ref %s, root %s", s.RunID, s.Ref, s.Root)
		}
	}
	for _, side := range []struct {
		name    string
		entries []IndexEntry
	}{{"lineage_in", e.LineageIn}, {"lineage_out", e.LineageOut}} {
		for i, en := range side.entries {
			if !ValidDigest(digest.Digest(en.Content)) {
				p.addf("%s[%d]: content %q is not a digest", side.name, i, en.Content)
			}
			if _, err := en.Link.Encode(); err != nil {
				p.addf("%s[%d]: %v", side.name, i, err)
			}
		}
	}
	return p.err()
}

// Encode returns the canonical encoding of e after validating it.
func (e *RunIndexEntries) Encode() ([]byte, error) {
	if e.Schema == "" {
		e.Schema = SchemaRunIndex
	}
	if e.LineageIn == nil {
		e.LineageIn = []IndexEntry{}
	}
	if e.LineageOut == nil {
		e.LineageOut = []IndexEntry{}
	}
	return encodeRecord(e)
}

// DecodeRunIndexEntries decodes and validates a "rigor.run_index.v1" record
// strictly.
func DecodeRunIndexEntries(data []byte) (*RunIndexEntries, error) {
	e := new(RunIndexEntries)
	if err := decodeRecord(data, SchemaRunIndex, e); err != nil {
		return nil, err
	}
	return e, nil
}
