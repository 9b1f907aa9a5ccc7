package exec

import (
	"bytes"
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
	"sync"

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
		if opts.Schema, err = compileSchema(schemaPath); err != nil {
			return configInfo{}, err
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

// compileSchema reads and compiles the JSON Schema at p.
func compileSchema(p string) (*ingest.Schema, error) {
	raw, err := os.ReadFile(p)
	if err != nil {
		return nil, fmt.Errorf("%w: schema: %v", ErrUsage, err)
	}
	schema, err := ingest.CompileSchema(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: schema %s: %w", ErrUsage, p, err)
	}
	return schema, nil
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

// envProbe is an environment probe running in the background. It stores
// into memory (the env record and the lock files it finds) until [store]
// copies that into the store, so it needs no store lock while it runs.
type envProbe struct {
	mem    *memStore
	index  *lazyIndex
	done   chan struct{}
	snap   ingest.EnvSnapshot
	err    error
	cancel context.CancelFunc
}

// startEnvProbe starts probing the environment of a run of row and seed.
func startEnvProbe(ctx context.Context, o Options, row string, seed spec.Seed) *envProbe {
	pctx, cancel := context.WithCancel(ctx)
	e := &envProbe{mem: newMemStore(), index: &lazyIndex{ready: make(chan struct{})}, done: make(chan struct{}), cancel: cancel}
	go func() {
		defer close(e.done)
		in := ingest.New(e.mem, ingest.Options{})
		e.snap, e.err = in.ProbeEnv(pctx, ingest.EnvOptions{
			Python: pythonOf(o.Argv), Dir: o.Dir, Env: stableEnv(o.Env, row, seed),
			Cache: e.index, Rehash: o.RehashEnv || o.Rehash,
		})
	}()
	return e
}

// attach gives the probe the open store, for its cache of the Python
// probe's answer. The store must stay open until the probe is done
// (store or abandon).
func (e *envProbe) attach(s cas.Indexer) { e.index.attach(s) }

// lazyIndex is the store's index for a probe that starts before the store
// is open: each call waits until attach hands the store over (or ctx ends).
type lazyIndex struct {
	ready chan struct{}
	s     cas.Indexer
}

func (l *lazyIndex) attach(s cas.Indexer) {
	l.s = s
	close(l.ready)
}

func (l *lazyIndex) wait(ctx context.Context) error {
	select {
	case <-l.ready:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (l *lazyIndex) PutIndex(ctx context.Context, index string, key, value []byte) error {
	if err := l.wait(ctx); err != nil {
		return err
	}
	return l.s.PutIndex(ctx, index, key, value)
}

func (l *lazyIndex) ScanIndex(ctx context.Context, index string, prefix []byte, fn func(key, value []byte) error) error {
	if err := l.wait(ctx); err != nil {
		return err
	}
	return l.s.ScanIndex(ctx, index, prefix, fn)
}

// abandon stops the probe and waits for it.
func (e *envProbe) abandon() {
	e.cancel()
	<-e.done
}

// store waits for the probe, copies what it stored into s, and returns the
// record's entry and SHA-256 (environment.json).
func (e *envProbe) store(ctx context.Context, s cas.Putter) (envInfo, error) {
	<-e.done
	e.cancel()
	if e.err != nil {
		return envInfo{}, e.err
	}
	if err := e.mem.replay(ctx, s); err != nil {
		return envInfo{}, err
	}
	b, ok := e.mem.bytes(e.snap.Digest)
	if !ok {
		return envInfo{}, fmt.Errorf("exec: the environment record %s was not stored", e.snap.Digest)
	}
	return envInfo{entry: cas.Entry{Mode: cas.ModeFile, Size: int64(len(b)), Digest: e.snap.Digest}, sha256: sha256Hex(b)}, nil
}

// memStore stages objects in memory for a store that is not open yet. It
// satisfies what an ingest.Ingester needs; its stat cache remembers
// nothing. It holds at most memStoreLimit bytes.
type memStore struct {
	mu    sync.Mutex
	objs  map[digest.Digest]memObject
	order []digest.Digest
	total int64
}

type memObject struct {
	kind cas.Kind
	data []byte
}

const memStoreLimit = 64 << 20

func newMemStore() *memStore { return &memStore{objs: map[digest.Digest]memObject{}} }

func (m *memStore) Put(ctx context.Context, r io.Reader, opts cas.PutOptions) (cas.Info, error) {
	b, err := io.ReadAll(io.LimitReader(r, memStoreLimit+1))
	if err != nil {
		return cas.Info{}, err
	}
	if len(b) > memStoreLimit {
		return cas.Info{}, fmt.Errorf("exec: the environment probe stored more than %d bytes (lock files?)", memStoreLimit)
	}
	d := cas.FromBytes(b)
	if opts.Expected != "" && opts.Expected != d {
		return cas.Info{}, fmt.Errorf("%s: %w", opts.Expected, cas.ErrDigestMismatch)
	}
	if opts.Size > 0 && opts.Size != int64(len(b)) {
		return cas.Info{}, fmt.Errorf("%s: %w", d, cas.ErrSizeMismatch)
	}
	kind := opts.Kind
	if kind == 0 {
		kind = cas.KindBlob
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.objs[d]; !ok {
		if m.total+int64(len(b)) > memStoreLimit {
			return cas.Info{}, fmt.Errorf("exec: the environment probe stored more than %d bytes (lock files?)", memStoreLimit)
		}
		m.objs[d] = memObject{kind: kind, data: b}
		m.order = append(m.order, d)
		m.total += int64(len(b))
	}
	return cas.Info{Digest: d, Kind: kind, Size: int64(len(b))}, nil
}

func (m *memStore) PutTree(ctx context.Context, t cas.Tree) (cas.Info, error) {
	b, err := cas.EncodeTree(t)
	if err != nil {
		return cas.Info{}, err
	}
	return m.Put(ctx, bytes.NewReader(b), cas.PutOptions{Kind: cas.KindTree})
}

func (m *memStore) LookupStat(context.Context, cas.StatKey) (digest.Digest, bool, error) {
	return "", false, nil
}

func (m *memStore) RememberStat(context.Context, cas.StatKey, digest.Digest) error { return nil }

func (m *memStore) bytes(d digest.Digest) ([]byte, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	o, ok := m.objs[d]
	return o.data, ok
}

// replay stores every staged object in s, in the order staged (children
// before the trees that name them), each verified against its digest.
func (m *memStore) replay(ctx context.Context, s cas.Putter) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, d := range m.order {
		o := m.objs[d]
		if _, err := s.Put(ctx, bytes.NewReader(o.data), cas.PutOptions{Kind: o.kind, Expected: d}); err != nil {
			return err
		}
	}
	return nil
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
// by digest, with its SHA-256; the store keeps the only copy. rehash reads
// it even when the stat cache vouches for it.
func recordInput(ctx context.Context, in *ingest.Ingester, dir string, is InputSpec, rehash bool) (inputInfo, error) {
	p := is.Path
	if !filepath.IsAbs(p) {
		p = filepath.Join(dir, p)
	}
	if _, err := os.Stat(p); err != nil {
		return inputInfo{}, fmt.Errorf("%w: input %s: %v", ErrUsage, is.Role, err)
	}
	snap, err := in.RecordInput(ctx, p, ingest.InputOptions{Role: is.Role, SourceRevision: is.Revision, SplitID: is.SplitID, Rehash: rehash})
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
