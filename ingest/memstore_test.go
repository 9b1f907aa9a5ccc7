package ingest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"sync"

	digest "github.com/opencontainers/go-digest"
	"github.com/zeebo/blake3"

	"github.com/rigor-dev/rigor/cas"
)

// memStore is a minimal in-memory store for tests that runs until the
// real cas.Store is used.
type memStore struct {
	mu      sync.Mutex
	objs    map[digest.Digest][]byte
	kinds   map[digest.Digest]cas.Kind
	stats   map[cas.StatKey]digest.Digest
	idx     map[string]string
	lookups int
}

func newMemStore() *memStore {
	return &memStore{objs: map[digest.Digest][]byte{}, kinds: map[digest.Digest]cas.Kind{}, stats: map[cas.StatKey]digest.Digest{}, idx: map[string]string{}}
}

func (m *memStore) Put(ctx context.Context, r io.Reader, o cas.PutOptions) (cas.Info, error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return cas.Info{}, err
	}
	sum := blake3.Sum256(b)
	d := digest.NewDigestFromEncoded("blake3", fmt.Sprintf("%x", sum[:]))
	k := o.Kind
	if k == 0 {
		k = cas.KindBlob
	}
	m.mu.Lock()
	m.objs[d] = b
	m.kinds[d] = k
	m.mu.Unlock()
	return cas.Info{Digest: d, Kind: k, Size: int64(len(b))}, nil
}

func (m *memStore) PutTree(ctx context.Context, t cas.Tree) (cas.Info, error) {
	b, _ := json.Marshal(t)
	return m.Put(ctx, bytes.NewReader(b), cas.PutOptions{Kind: cas.KindTree})
}

func (m *memStore) ReadTree(ctx context.Context, d digest.Digest) (cas.Tree, error) {
	m.mu.Lock()
	b, ok := m.objs[d]
	m.mu.Unlock()
	if !ok {
		return cas.Tree{}, cas.ErrNotFound
	}
	var t cas.Tree
	return t, json.Unmarshal(b, &t)
}

func (m *memStore) Open(ctx context.Context, d digest.Digest) (io.ReadCloser, error) {
	m.mu.Lock()
	b, ok := m.objs[d]
	m.mu.Unlock()
	if !ok {
		return nil, cas.ErrNotFound
	}
	return io.NopCloser(bytes.NewReader(b)), nil
}

func (m *memStore) LookupStat(ctx context.Context, k cas.StatKey) (digest.Digest, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.lookups++
	d, ok := m.stats[k]
	return d, ok, nil
}

func (m *memStore) RememberStat(ctx context.Context, k cas.StatKey, d digest.Digest) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.stats[k] = d
	return nil
}

func (m *memStore) PutIndex(ctx context.Context, index string, key, value []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.idx[index+"\x00"+string(key)] = string(value)
	return nil
}

func (m *memStore) ScanIndex(ctx context.Context, index string, prefix []byte, fn func(key, value []byte) error) error {
	m.mu.Lock()
	var keys, vals []string
	for k, v := range m.idx {
		if rest, ok := strings.CutPrefix(k, index+"\x00"); ok && strings.HasPrefix(rest, string(prefix)) {
			keys, vals = append(keys, rest), append(vals, v)
		}
	}
	m.mu.Unlock()
	for i := range keys {
		if err := fn([]byte(keys[i]), []byte(vals[i])); err != nil {
			return err
		}
	}
	return nil
}

// testStore is what the tests need of a store.
type testStore interface {
	blobStore
	cas.Getter
	ReadTree(ctx context.Context, d digest.Digest) (cas.Tree, error)
}

func (m *memStore) Stat(ctx context.Context, d digest.Digest) (cas.Info, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	b, ok := m.objs[d]
	if !ok {
		return cas.Info{}, cas.ErrNotFound
	}
	return cas.Info{Digest: d, Kind: m.kinds[d], Size: int64(len(b))}, nil
}

func newTestStore(t interface{ Helper() }) testStore { return newMemStore() }
