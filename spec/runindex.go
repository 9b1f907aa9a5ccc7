package spec

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	digest "github.com/opencontainers/go-digest"
)

// Names of the store indexes written when a run is recorded (by rigor run
// and rigor import) and read by listing, lineage and verification. Their
// keys and values:
//
//	runs                  <run-id>                      → canonical rigor.run_summary.v1
//	lineage-in            <content digest> NUL <run-id> → JSON [LineageLink] {kind, role, path}
//	lineage-out           <content digest> NUL <run-id> → JSON [LineageLink] {name, path}
//	attempt-reservations  <row> NUL <seed> NUL <attempt, 10 digits> → JSON reservation
//	run-io                <run-id>                      → JSON [RunIO] {inputs, outputs}
//
// A content digest is the store's "blake3:<hex>"; rigor import also writes
// each input and artifact under "sha256:<hex>" (the Light identity), so
// either finds the run. lineage-in holds every input (kind "input"), the
// config ("config") and the code tree ("code") a run read; lineage-out every
// artifact it produced. Because a row name never contains "__", the runs of
// one matrix row are the keys that start with "<row>__"; the runs that used
// some content are the lineage-in keys that start with "<digest> NUL". An
// attempt number is taken when its ref exists or it is reserved (rigor run
// reserves it before the program starts). run-io is the reverse of the
// lineage indexes for one run: the "blake3:" digests of its data inputs
// (kind "input") and of its outputs, so that a lineage query follows a
// chain of runs without reading their manifests.
const (
	RunsIndex         = "runs"
	LineageInIndex    = "lineage-in"
	LineageOutIndex   = "lineage-out"
	ReservationsIndex = "attempt-reservations"
	RunIOIndex        = "run-io"
)

// Kinds of lineage-in entries.
const (
	LineageInput  = "input"
	LineageConfig = "config"
	LineageCode   = "code"
)

// LineageLink is the value of a lineage index entry: where in the run the
// content sits. A lineage-in entry has Kind (and Role for an input); a
// lineage-out entry has the artifact Name.
type LineageLink struct {
	Kind string `json:"kind,omitempty"`
	Role string `json:"role,omitempty"`
	Name string `json:"name,omitempty"`
	Path string `json:"path"`
}

// Encode returns the JSON encoding of l, the form the indexes hold.
func (l *LineageLink) Encode() ([]byte, error) {
	if _, ok := RunRelPath(l.Path); !ok {
		return nil, fmt.Errorf("%w: lineage link path %q must be a relative path inside the run", ErrInvalid, l.Path)
	}
	return json.Marshal(l)
}

// DecodeLineageLink decodes a lineage index value. Unknown members are
// ignored, so that later recorders may add some.
func DecodeLineageLink(data []byte) (*LineageLink, error) {
	l := new(LineageLink)
	if err := json.Unmarshal(data, l); err != nil {
		return nil, fmt.Errorf("%w: lineage link: %v", ErrSyntax, err)
	}
	return l, nil
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

// ReservationPrefix returns the attempt-reservations key prefix of row and
// seed; the key of attempt k appends k as 10 decimal digits.
func ReservationPrefix(row string, seed int64) []byte {
	return fmt.Appendf(nil, "%s\x00%d\x00", row, seed)
}

// RunIO is the value of a run-io index entry: the "blake3:" digests of the
// data inputs a run read and of the outputs it produced, each list sorted
// and without repeats.
type RunIO struct {
	Inputs  []string `json:"inputs"`
	Outputs []string `json:"outputs"`
}

// RunIOOf derives a run's run-io entry from its lineage entries: the
// "blake3:" contents of the lineage-in entries of kind "input" and of every
// lineage-out entry ("sha256:" entries name the same files again).
func RunIOOf(in, out []IndexEntry) RunIO {
	r := RunIO{Inputs: []string{}, Outputs: []string{}}
	for _, e := range in {
		if e.Link.Kind == LineageInput && strings.HasPrefix(e.Content, "blake3:") {
			r.Inputs = append(r.Inputs, e.Content)
		}
	}
	for _, e := range out {
		if strings.HasPrefix(e.Content, "blake3:") {
			r.Outputs = append(r.Outputs, e.Content)
		}
	}
	slices.Sort(r.Inputs)
	slices.Sort(r.Outputs)
	r.Inputs = slices.Compact(r.Inputs)
	r.Outputs = slices.Compact(r.Outputs)
	return r
}

// Encode returns the JSON form of r, the form the index holds. Every entry
// must be a valid "blake3:" digest.
func (r *RunIO) Encode() ([]byte, error) {
	if err := r.validate(); err != nil {
		return nil, err
	}
	return json.Marshal(r)
}

// DecodeRunIO decodes a run-io index value strictly: unknown members and
// entries that are not "blake3:" digests are errors.
func DecodeRunIO(data []byte) (*RunIO, error) {
	r := new(RunIO)
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(r); err != nil {
		return nil, fmt.Errorf("%w: run-io entry: %v", ErrSyntax, err)
	}
	if len(bytes.TrimLeft(data[dec.InputOffset():], " \t\n\r")) > 0 {
		return nil, fmt.Errorf("%w: run-io entry: data after the value", ErrSyntax)
	}
	if r.Inputs == nil || r.Outputs == nil {
		return nil, fmt.Errorf("%w: run-io entry: inputs and outputs must be lists", ErrInvalid)
	}
	if err := r.validate(); err != nil {
		return nil, err
	}
	return r, nil
}

func (r *RunIO) validate() error {
	for _, list := range [][]string{r.Inputs, r.Outputs} {
		for _, d := range list {
			if !strings.HasPrefix(d, "blake3:") || !ValidDigest(digest.Digest(d)) {
				return fmt.Errorf("%w: run-io entry: %q is not a blake3 digest", ErrInvalid, d)
			}
		}
	}
	return nil
}
