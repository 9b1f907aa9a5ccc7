package verify

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	digest "github.com/opencontainers/go-digest"
)

// Error vocabulary of the verify package.
var (
	// ErrRunNotFound: no run has the run id, ref or digest given.
	ErrRunNotFound = errors.New("verify: run not found")
	// ErrNotRun: the object is not a run bundle (not a tree, or no
	// manifest.json in it).
	ErrNotRun = errors.New("verify: not a run bundle")
	// ErrAmbiguous: a run argument matches several runs.
	ErrAmbiguous = errors.New("verify: ambiguous run")
)

// Kind classifies a [Problem]. Kinds are printed and persisted in JSON
// reports: do not reorder; append only.
type Kind uint8

const (
	// ManifestRule: the run manifest breaks a rule of the Light
	// run-artifact check; Message is the checker's exact message.
	ManifestRule Kind = iota + 1
	// MissingObject: an object (or a chunk of one) that the run reaches is
	// not in the store.
	MissingObject
	// CorruptObject: an object's stored bytes do not hash to its digest
	// (or cannot be decoded).
	CorruptObject
	// SizeMismatch: a tree entry, or the manifest, gives a size the stored
	// object does not have.
	SizeMismatch
	// BadTree: a tree object does not decode as a canonical tree.
	BadTree
	// ManifestDigest: the BLAKE3 digest the manifest records for a file is
	// not the digest of the file in the run's tree.
	ManifestDigest
	// NotRun: the root is not a run bundle (a blob, or a tree without
	// manifest.json).
	NotRun
	// IndexMismatch: the store's run index disagrees with the run's ref or
	// bundle (a missing or stale "runs" entry).
	IndexMismatch
)

var kindNames = [...]string{
	ManifestRule:   "manifest-rule",
	MissingObject:  "missing-object",
	CorruptObject:  "corrupt-object",
	SizeMismatch:   "size-mismatch",
	BadTree:        "bad-tree",
	ManifestDigest: "manifest-digest",
	NotRun:         "not-run",
	IndexMismatch:  "index-mismatch",
}

func (k Kind) String() string {
	if int(k) < len(kindNames) && kindNames[k] != "" {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", k)
}

// MarshalText writes the kind's name.
func (k Kind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// UnmarshalText reads a kind's name.
func (k *Kind) UnmarshalText(b []byte) error {
	for i, n := range kindNames {
		if n != "" && n == string(b) {
			*k = Kind(i)
			return nil
		}
	}
	return fmt.Errorf("verify: unknown problem kind %q", b)
}

// Problem is one thing wrong with a stored run.
type Problem struct {
	Kind Kind
	// Run names the run: its run id when known, else the root digest.
	Run string
	// Path is the slash path inside the run bundle ("" for the root or the
	// manifest as a whole).
	Path string
	// Digest is the object at fault, when there is one.
	Digest digest.Digest
	// Message says what is wrong. For ManifestRule it is the Light
	// checker's message, verbatim.
	Message string
	// Err is the underlying error, when there is one (it wraps
	// cas.ErrNotFound, cas.ErrDigestMismatch...).
	Err error
}

func (p *Problem) Error() string {
	var b strings.Builder
	b.WriteString(p.Kind.String())
	if p.Run != "" {
		b.WriteString(" " + p.Run)
	}
	if p.Path != "" {
		fmt.Fprintf(&b, " %s", p.Path)
	}
	if p.Digest != "" {
		fmt.Fprintf(&b, " (%s)", p.Digest)
	}
	b.WriteString(": " + p.Message)
	return b.String()
}

func (p *Problem) Unwrap() error { return p.Err }

type problemJSON struct {
	Kind    Kind          `json:"kind"`
	Run     string        `json:"run,omitempty"`
	Path    string        `json:"path,omitempty"`
	Digest  digest.Digest `json:"digest,omitempty"`
	Message string        `json:"message"`
}

// MarshalJSON writes the problem as {kind, run, path, digest, message}.
func (p Problem) MarshalJSON() ([]byte, error) {
	return json.Marshal(problemJSON{p.Kind, p.Run, p.Path, p.Digest, p.Message})
}

// UnmarshalJSON reads what MarshalJSON writes (Err is not kept).
func (p *Problem) UnmarshalJSON(b []byte) error {
	var j problemJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*p = Problem{Kind: j.Kind, Run: j.Run, Path: j.Path, Digest: j.Digest, Message: j.Message}
	return nil
}
