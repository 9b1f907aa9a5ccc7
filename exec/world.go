package exec

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	digest "github.com/opencontainers/go-digest"

	"github.com/rigor-dev/rigor/cas"
	"github.com/rigor-dev/rigor/ingest"
	"github.com/rigor-dev/rigor/spec"
)

// configInfo is the recorded config of a run.
type configInfo struct {
	record       spec.ConfigRecord
	recordDigest digest.Digest
	// doc is the config as a JSON tree (for matrix_row, seed and data).
	doc       map[string]any
	canonical cas.Entry
	sha256    string
	// synthetic is true when the config was made from the flags.
	synthetic bool
}

// recordConfig reads the config at p (JSON or YAML), validates it against
// the JSON Schema at schemaPath if given, and stores it through ingest.
func recordConfig(ctx context.Context, in *ingest.Ingester, p, schemaPath string) (configInfo, error) {
	src, err := os.ReadFile(p)
	if err != nil {
		return configInfo{}, fmt.Errorf("%w: config: %v", ErrUsage, err)
	}
	opts := ingest.ConfigOptions{Path: p}
	if schemaPath != "" {
		raw, err := os.ReadFile(schemaPath)
		if err != nil {
			return configInfo{}, fmt.Errorf("%w: schema: %v", ErrUsage, err)
		}
		if opts.Schema, err = ingest.CompileSchema(raw); err != nil {
			return configInfo{}, fmt.Errorf("%w: schema %s: %w", ErrUsage, schemaPath, err)
		}
	}
	snap, err := in.RecordConfig(ctx, src, opts)
	if errors.Is(err, ingest.ErrConfigSyntax) || errors.Is(err, ingest.ErrConfigInvalid) {
		return configInfo{}, fmt.Errorf("%w: config %s: %w", ErrUsage, p, err)
	}
	if err != nil {
		return configInfo{}, err
	}
	return configFromSnapshot(snap, false)
}

func configFromSnapshot(snap ingest.ConfigSnapshot, synthetic bool) (configInfo, error) {
	tree, err := spec.ParseJSON(snap.Canonical)
	if err != nil {
		return configInfo{}, err
	}
	doc, ok := tree.(map[string]any)
	if !ok {
		return configInfo{}, fmt.Errorf("%w: the config is not an object", ErrUsage)
	}
	c := snap.Record.Canonical
	return configInfo{
		record: snap.Record, recordDigest: snap.Digest, doc: doc,
		canonical: cas.Entry{Mode: cas.ModeFile, Size: c.Size, Digest: c.Digest}, sha256: c.SHA256,
		synthetic: synthetic,
	}, nil
}

// syntheticConfig records the config of a run started without one: its
// row and seed.
func syntheticConfig(ctx context.Context, in *ingest.Ingester, row string, seed spec.Seed) (configInfo, error) {
	doc := map[string]any{"matrix_row": row, "seed": map[string]any{"role": seed.Role, "value": seed.Value}}
	canon, err := spec.Canonical(doc)
	if err != nil {
		return configInfo{}, err
	}
	snap, err := in.RecordConfig(ctx, canon, ingest.ConfigOptions{Format: "json"})
	if err != nil {
		return configInfo{}, err
	}
	return configFromSnapshot(snap, true)
}

// envInfo is the recorded environment of a run.
type envInfo struct {
	entry  cas.Entry
	sha256 string
}

// probeEnv records the environment the child runs in through ingest, and
// reads the stored record back for its size and SHA-256.
func probeEnv(ctx context.Context, s cas.Getter, in *ingest.Ingester, opts ingest.EnvOptions) (envInfo, error) {
	snap, err := in.ProbeEnv(ctx, opts)
	if err != nil {
		return envInfo{}, err
	}
	rc, err := s.Open(ctx, snap.Digest)
	if err != nil {
		return envInfo{}, err
	}
	defer rc.Close()
	h := sha256.New()
	n, err := io.Copy(h, rc)
	if err != nil {
		return envInfo{}, err
	}
	return envInfo{entry: cas.Entry{Mode: cas.ModeFile, Size: n, Digest: snap.Digest}, sha256: hex.EncodeToString(h.Sum(nil))}, nil
}

// pythonOf returns the interpreter a command runs, when argv[0] is one
// (python, python3, python3.11, a path to one); "" lets the probe choose.
func pythonOf(argv []string) string {
	base := filepath.Base(argv[0])
	if base == "python" || strings.HasPrefix(base, "python3") || strings.HasPrefix(base, "python2") {
		return argv[0]
	}
	return ""
}

// inputInfo is one recorded data input.
type inputInfo struct {
	record       spec.InputRecord
	recordDigest digest.Digest
	// name is the base name under inputs/<role>/.
	name  string
	entry cas.Entry // the file blob or the tree
}

// recordInput stores the input at is.Path (relative to dir) through ingest:
// by digest, with its SHA-256; the store keeps the only copy.
func recordInput(ctx context.Context, in *ingest.Ingester, dir string, is InputSpec) (inputInfo, error) {
	p := is.Path
	if !filepath.IsAbs(p) {
		p = filepath.Join(dir, p)
	}
	if _, err := os.Stat(p); err != nil {
		return inputInfo{}, fmt.Errorf("%w: input %s: %v", ErrUsage, is.Role, err)
	}
	snap, err := in.RecordInput(ctx, p, ingest.InputOptions{Role: is.Role, SourceRevision: is.Revision, SplitID: is.SplitID})
	if errors.Is(err, ingest.ErrInputInvalid) {
		return inputInfo{}, fmt.Errorf("%w: %w", ErrUsage, err)
	}
	if err != nil {
		return inputInfo{}, err
	}
	mode := snap.Result.Mode
	if snap.Record.Kind == spec.InputFile {
		mode = cas.ModeFile // the data, not its permission bits
	}
	return inputInfo{
		record: snap.Record, recordDigest: snap.Digest, name: filepath.Base(p),
		entry: cas.Entry{Mode: mode, Size: snap.Result.Info.Size, Digest: snap.Result.Info.Digest},
	}, nil
}

// sha256Hex is the lower-case hex SHA-256 of b.
func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }
