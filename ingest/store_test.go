package ingest

import (
	"context"
	"testing"

	digest "github.com/opencontainers/go-digest"

	"github.com/rigor-dev/rigor/cas"
)

// testStore is what the tests need of a store.
type testStore interface {
	blobStore
	cas.Getter
	ReadTree(ctx context.Context, d digest.Digest) (cas.Tree, error)
}

// newTestStore returns a fresh in-memory store, closed when the test ends.
func newTestStore(t *testing.T) *cas.Store {
	t.Helper()
	s, err := cas.Init(t.Context(), "", cas.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}
