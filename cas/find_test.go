package cas_test

import (
	"bytes"
	"errors"
	"io/fs"
	"testing"

	digest "github.com/opencontainers/go-digest"

	"github.com/rigor-dev/rigor/cas"
)

func TestFind(t *testing.T) {
	ctx := t.Context()
	s, err := cas.Open(ctx, "", cas.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	put := func(b string) cas.Info {
		info, err := s.Put(ctx, bytes.NewReader([]byte(b)), cas.PutOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return info
	}
	a, b := put("a\n"), put("bb\n")
	sub, err := s.PutTree(ctx, cas.Tree{Entries: []cas.Entry{{Name: "b.txt", Mode: cas.ModeFile, Size: b.Size, Digest: b.Digest}}})
	if err != nil {
		t.Fatal(err)
	}
	root, err := s.PutTree(ctx, cas.Tree{Entries: []cas.Entry{
		{Name: "a.txt", Mode: cas.ModeFile, Size: a.Size, Digest: a.Digest},
		{Name: "dir", Mode: cas.ModeTree, Size: sub.Size, Digest: sub.Digest},
	}})
	if err != nil {
		t.Fatal(err)
	}
	cache := map[digest.Digest]cas.Tree{}
	tests := []struct {
		rel  string
		want digest.Digest
	}{
		{"a.txt", a.Digest},
		{"./dir/b.txt", b.Digest},
		{"dir", sub.Digest},
		{"dir/../a.txt", a.Digest},
		{"missing", ""},
		{"a.txt/b", ""},
		{"dir/nope", ""},
	}
	for _, tt := range tests {
		e, err := cas.Find(ctx, s, root.Digest, tt.rel, cache)
		if tt.want == "" {
			if !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("Find(%q) = %v, %v; want fs.ErrNotExist", tt.rel, e, err)
			}
			continue
		}
		if err != nil || e.Digest != tt.want {
			t.Errorf("Find(%q) = %v, %v; want %s", tt.rel, e.Digest, err, tt.want)
		}
	}
	if len(cache) != 2 {
		t.Errorf("cache holds %d trees, want 2", len(cache))
	}
	if _, err := cas.Find(ctx, s, a.Digest, "x", nil); !errors.Is(err, cas.ErrNotTree) {
		t.Errorf("Find below a blob root: %v, want ErrNotTree", err)
	}
}
