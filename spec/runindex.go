package spec

import "bytes"

// Names of the store indexes written when a run is recorded (by rigor run
// and rigor import) and read by listing, lineage and verification. Their
// keys and values:
//
//	runs         <run-id>                      → canonical rigor.run_summary.v1
//	lineage-in   <content digest> NUL <run-id> → canonical rigor.lineage_link.v1
//	lineage-out  <content digest> NUL <run-id> → canonical rigor.lineage_link.v1
//
// A content digest is written both as "blake3:<hex>" (the store identity)
// and as "sha256:<hex>" (the Light identity), so that either finds the run.
// Because a row name never contains "__", the runs of one matrix row are
// the keys that start with "<row>__"; the runs that used some content are
// the lineage-in keys that start with "<digest> NUL".
const (
	RunsIndex       = "runs"
	LineageInIndex  = "lineage-in"
	LineageOutIndex = "lineage-out"
)

// SchemaLineageLink tags the value of a lineage index entry.
const SchemaLineageLink = "rigor.lineage_link.v1"

// LineageLink is the value of a lineage index entry: where in the run the
// content sits. Role is the input role (lineage-in); Name the artifact name
// (lineage-out).
type LineageLink struct {
	Schema string `json:"schema"`
	Path   string `json:"path"`
	Role   string `json:"role,omitempty"`
	Name   string `json:"name,omitempty"`
}

// Validate checks the rules of "rigor.lineage_link.v1".
func (l *LineageLink) Validate() error {
	p := &problems{schema: SchemaLineageLink}
	p.schemaIs(l.Schema)
	if _, ok := RunRelPath(l.Path); !ok || l.Path == "" {
		p.addf("path %q must be a relative path inside the run", l.Path)
	}
	if (l.Role == "") == (l.Name == "") {
		p.addf("exactly one of role (an input) and name (an artifact) must be set")
	}
	return p.err()
}

// Encode validates l and returns its canonical JSON encoding.
func (l *LineageLink) Encode() ([]byte, error) { return encodeRecord(l) }

// DecodeLineageLink decodes and validates a lineage index value strictly.
func DecodeLineageLink(data []byte) (*LineageLink, error) {
	l := new(LineageLink)
	return l, decodeRecord(data, SchemaLineageLink, l)
}

// LineageKey returns the lineage index key of content (a digest string such
// as "blake3:…" or "sha256:…") used or produced by run runID.
func LineageKey(content, runID string) []byte {
	k := make([]byte, 0, len(content)+1+len(runID))
	k = append(k, content...)
	k = append(k, 0)
	return append(k, runID...)
}

// LineagePrefix returns the prefix shared by the lineage keys of content.
func LineagePrefix(content string) []byte {
	return append([]byte(content), 0)
}

// ParseLineageKey splits a lineage index key; ok is false when it has no
// NUL separator or an empty part.
func ParseLineageKey(key []byte) (content, runID string, ok bool) {
	c, r, found := bytes.Cut(key, []byte{0})
	if !found || len(c) == 0 || len(r) == 0 {
		return "", "", false
	}
	return string(c), string(r), true
}

// RowPrefix returns the runs-index key prefix of the runs of matrix row
// row: "<row>__".
func RowPrefix(row string) []byte { return []byte(row + "__") }

// SHA256Digest returns the "sha256:<hex>" form of a lower-case hex SHA-256,
// the form lineage keys use; it returns "" for anything else.
func SHA256Digest(hexSum string) string {
	if !IsHex64(hexSum) {
		return ""
	}
	return "sha256:" + hexSum
}
