package exec

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"

	digest "github.com/opencontainers/go-digest"

	"github.com/rigor-dev/rigor/cas"
	"github.com/rigor-dev/rigor/ingest"
	"github.com/rigor-dev/rigor/spec"
)

// worldStore is what snapshotting the world before a run needs.
type worldStore interface {
	cas.Putter
	cas.Getter
	cas.StatCache
	PutTree(ctx context.Context, t cas.Tree) (cas.Info, error)
}

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

// recordConfig reads, validates and stores the config at p (JSON).
func recordConfig(ctx context.Context, s worldStore, in *ingest.Ingester, p, schemaPath string) (configInfo, error) {
	src, err := os.ReadFile(p)
	if err != nil {
		return configInfo{}, fmt.Errorf("%w: config: %v", ErrUsage, err)
	}
	tree, err := spec.ParseJSON(src)
	if err != nil {
		return configInfo{}, fmt.Errorf("%w: config %s: %v", ErrUsage, p, err)
	}
	doc, ok := tree.(map[string]any)
	if !ok {
		return configInfo{}, fmt.Errorf("%w: config %s is not a JSON object", ErrUsage, p)
	}
	var validated *spec.SchemaRef
	if schemaPath != "" {
		if validated, err = validateConfig(ctx, s, doc, schemaPath); err != nil {
			return configInfo{}, err
		}
	}
	canon, err := spec.Canonical(tree)
	if err != nil {
		return configInfo{}, fmt.Errorf("%w: config %s: %v", ErrUsage, p, err)
	}
	srcInfo, err := s.Put(ctx, bytes.NewReader(src), cas.PutOptions{})
	if err != nil {
		return configInfo{}, err
	}
	e, sha, err := putBytes(ctx, s, canon)
	if err != nil {
		return configInfo{}, err
	}
	rec := spec.ConfigRecord{
		Schema:           spec.SchemaConfig,
		Path:             p,
		Format:           "json",
		Source:           spec.Object{Digest: srcInfo.Digest, Size: srcInfo.Size},
		Canonical:        spec.Object{Digest: e.Digest, Size: e.Size, SHA256: sha},
		ValidatedAgainst: validated,
	}
	info, err := in.PutRecord(ctx, &rec)
	if err != nil {
		return configInfo{}, err
	}
	return configInfo{record: rec, recordDigest: info.Digest, doc: doc, canonical: e, sha256: sha}, nil
}

// syntheticConfig records the config of a run started without one: its
// row and seed.
func syntheticConfig(ctx context.Context, s worldStore, in *ingest.Ingester, row string, seed spec.Seed) (configInfo, error) {
	doc := map[string]any{"matrix_row": row, "seed": map[string]any{"role": seed.Role, "value": seed.Value}}
	canon, err := spec.Canonical(doc)
	if err != nil {
		return configInfo{}, err
	}
	e, sha, err := putBytes(ctx, s, canon)
	if err != nil {
		return configInfo{}, err
	}
	obj := spec.Object{Digest: e.Digest, Size: e.Size, SHA256: sha}
	rec := spec.ConfigRecord{Schema: spec.SchemaConfig, Format: "json", Source: spec.Object{Digest: e.Digest, Size: e.Size}, Canonical: obj}
	info, err := in.PutRecord(ctx, &rec)
	if err != nil {
		return configInfo{}, err
	}
	return configInfo{record: rec, recordDigest: info.Digest, doc: doc, canonical: e, sha256: sha, synthetic: true}, nil
}

// validateConfig is a stand-in until ingest validates configs against JSON
// Schema: it reports the schema as unsupported rather than pretend.
func validateConfig(ctx context.Context, s worldStore, doc map[string]any, schemaPath string) (*spec.SchemaRef, error) {
	return nil, fmt.Errorf("%w: --schema: JSON Schema validation is not available in this build", ErrUsage)
}

// envInfo is the recorded environment of a run.
type envInfo struct {
	entry  cas.Entry
	sha256 string
}

// probeEnv records the environment the child runs in.
func probeEnv(ctx context.Context, s worldStore, childEnv []string) (envInfo, error) {
	rec := spec.EnvRecord{
		Schema: spec.SchemaEnvironment,
		OS:     spec.OSInfo{Name: runtime.GOOS, Arch: runtime.GOARCH},
		CPU:    spec.CPUInfo{Cores: runtime.NumCPU(), Usable: runtime.GOMAXPROCS(0)},
		Memory: spec.MemoryInfo{Unavailable: spec.UnavailableReason("not probed")},
		GPU: spec.GPUInfo{
			CUDA: spec.UnavailableReason("not probed"), CUDNN: spec.UnavailableReason("not probed"),
			Unavailable: spec.UnavailableReason("not probed"),
		},
		Python:   spec.PythonInfo{Unavailable: spec.UnavailableReason("not probed")},
		Env:      spec.RedactEnv(childEnv, nil),
		Locale:   locale(childEnv),
		TimeZone: timeZone(childEnv),
		Rigor:    toolInfo(),
	}
	if h, err := os.Hostname(); err == nil {
		rec.OS.Hostname = h
	}
	b, err := rec.Encode()
	if err != nil {
		return envInfo{}, err
	}
	e, sha, err := putBytes(ctx, s, b)
	if err != nil {
		return envInfo{}, err
	}
	return envInfo{entry: e, sha256: sha}, nil
}

func locale(env []string) string {
	for _, k := range []string{"LC_ALL", "LC_CTYPE", "LANG"} {
		if v := envValue(env, k); v != "" {
			return v
		}
	}
	return "C"
}

func timeZone(env []string) string {
	if tz := envValue(env, "TZ"); tz != "" {
		return tz
	}
	if p, err := os.Readlink("/etc/localtime"); err == nil {
		if i := strings.Index(p, "zoneinfo/"); i >= 0 {
			return p[i+len("zoneinfo/"):]
		}
	}
	return spec.UnavailableReason("no TZ and /etc/localtime names no zone")
}

// toolInfo identifies this rigor build.
func toolInfo() spec.ToolInfo {
	ti := spec.ToolInfo{Version: "devel", GoVersion: runtime.Version()}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return ti
	}
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		ti.Version = v
	}
	for _, st := range bi.Settings {
		switch st.Key {
		case "vcs.revision":
			ti.Revision = st.Value
		case "vcs.modified":
			ti.Modified = st.Value == "true"
		}
	}
	return ti
}

// inputInfo is one recorded data input.
type inputInfo struct {
	record       spec.InputRecord
	recordDigest digest.Digest
	// name is the base name under inputs/<role>/.
	name  string
	entry cas.Entry // the file blob or the tree
}

// recordInput stores the input at is.Path (by digest: no copy of the data
// beyond the store's own) with its SHA-256.
func recordInput(ctx context.Context, s worldStore, ing *ingest.Ingester, dir string, is InputSpec) (inputInfo, error) {
	p := is.Path
	if !filepath.IsAbs(p) {
		p = filepath.Join(dir, p)
	}
	fi, err := os.Stat(p)
	if err != nil {
		return inputInfo{}, fmt.Errorf("%w: input %s: %v", ErrUsage, is.Role, err)
	}
	res, err := ing.AddPath(ctx, p, ingest.AddOptions{SHA256: true})
	if err != nil {
		return inputInfo{}, err
	}
	rec := spec.InputRecord{
		Schema: spec.SchemaInput, Role: is.Role, Path: is.Path,
		SourceRevision: is.Revision, SplitID: is.SplitID,
		Digest: res.Info.Digest, Size: res.Bytes, Files: len(res.Files),
	}
	mode := res.Mode
	if fi.IsDir() {
		rec.Kind = spec.InputTree
		var sums bytes.Buffer
		for _, f := range res.Files {
			fmt.Fprintf(&sums, "%s  %s\n", f.SHA256, f.Path)
		}
		e, sha, err := putBytes(ctx, s, sums.Bytes())
		if err != nil {
			return inputInfo{}, err
		}
		rec.SHA256 = sha
		rec.SHA256Manifest = &spec.Object{Digest: e.Digest, Size: e.Size, SHA256: sha}
		mode = cas.ModeTree
	} else {
		rec.Kind = spec.InputFile
		rec.SHA256 = res.Files[0].SHA256
		rec.Size = res.Info.Size
	}
	info, err := ing.PutRecord(ctx, &rec)
	if err != nil {
		return inputInfo{}, fmt.Errorf("%w: input %s: %v", ErrUsage, is.Role, err)
	}
	name := filepath.Base(p)
	return inputInfo{record: rec, recordDigest: info.Digest, name: name, entry: cas.Entry{Mode: mode, Size: res.Info.Size, Digest: res.Info.Digest}}, nil
}

// sha256Hex is the lower-case hex SHA-256 of b.
func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }
