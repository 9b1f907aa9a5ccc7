package ingest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	digest "github.com/opencontainers/go-digest"

	"github.com/rigor-dev/rigor/cas"
	"github.com/rigor-dev/rigor/spec"
)

// ErrInputInvalid: the role, revision or split of an input is missing or
// malformed.
var ErrInputInvalid = errors.New("ingest: bad input description")

// InputOptions describe one data input for [Ingester.RecordInput].
type InputOptions struct {
	// Role says what the run uses the input for ("data", "weights"...).
	// Required.
	Role string
	// SourceRevision names the upstream version; required when Role is
	// "data" (as light.run_manifest.v3 demands).
	SourceRevision string
	// SplitID names the frozen split the input belongs to, if any.
	SplitID string
	// Rehash reads every file even when the stat cache knows it.
	Rehash bool
	// Progress is passed on to AddOptions.Progress.
	Progress func(done, total int64)
}

// InputSnapshot is the result of [Ingester.RecordInput].
type InputSnapshot struct {
	Record spec.InputRecord
	Digest digest.Digest // the stored record
	Result Result        // the files, with their SHA-256, and warnings
}

// RecordInput stores the file or directory at p as a data input and
// returns its record, which holds both the BLAKE3 digest (the store's
// identity of the blob or tree) and the SHA-256 (Light's lineage hash): of
// the file, or for a directory of its sha256sum-style manifest, which is
// stored too. Both hashes come from one read, and an input whose files the
// stat cache knows is not read at all unless opts.Rehash is set.
func (in *Ingester) RecordInput(ctx context.Context, p string, opts InputOptions) (InputSnapshot, error) {
	if strings.TrimSpace(opts.Role) == "" {
		return InputSnapshot{}, fmt.Errorf("%w: %s: a role is required (for example data)", ErrInputInvalid, p)
	}
	if opts.Role == "data" && strings.TrimSpace(opts.SourceRevision) == "" {
		return InputSnapshot{}, fmt.Errorf("%w: %s: a data input needs its source revision", ErrInputInvalid, p)
	}
	res, err := in.AddPath(ctx, p, AddOptions{SHA256: true, Rehash: opts.Rehash, Progress: opts.Progress})
	if err != nil {
		return InputSnapshot{}, err
	}
	rec := spec.InputRecord{
		Schema: spec.SchemaInput, Role: opts.Role, Path: filepath.ToSlash(filepath.Clean(p)),
		SourceRevision: opts.SourceRevision, SplitID: opts.SplitID,
		Digest: res.Info.Digest, Size: res.Bytes, Files: len(res.Files),
	}
	if res.Mode == cas.ModeTree {
		rec.Kind = spec.InputTree
		manifest := SHA256Manifest(res.Files)
		obj, err := in.putBytes(ctx, manifest, true)
		if err != nil {
			return InputSnapshot{}, err
		}
		rec.SHA256, rec.SHA256Manifest = obj.SHA256, &obj
	} else {
		rec.Kind = spec.InputFile
		rec.SHA256 = res.Files[0].SHA256
	}
	info, err := in.PutRecord(ctx, &rec)
	if err != nil {
		return InputSnapshot{}, err
	}
	return InputSnapshot{Record: rec, Digest: info.Digest, Result: res}, nil
}

// SHA256Manifest renders files in the format of sha256sum: one
// "<sha256>  <path>\n" line per file, in the order given (AddPath's is
// sorted by path). A symlink's line holds the SHA-256 of its target text.
// Paths with a newline or backslash are escaped as GNU sha256sum does: the
// line starts with '\' and the path has "\\" and "\n".
func SHA256Manifest(files []File) []byte {
	var b bytes.Buffer
	for _, f := range files {
		p := f.Path
		if strings.ContainsAny(p, "\\\n\r") {
			p = strings.NewReplacer("\\", "\\\\", "\n", "\\n", "\r", "\\r").Replace(p)
			b.WriteByte('\\')
		}
		b.WriteString(f.SHA256)
		b.WriteString("  ")
		b.WriteString(p)
		b.WriteByte('\n')
	}
	return b.Bytes()
}
