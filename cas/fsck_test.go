package cas_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"testing"
	"time"

	digest "github.com/opencontainers/go-digest"
	"github.com/rigor-dev/rigor/cas"
)

func randomBytes(seed byte, n int) []byte {
	b := make([]byte, n)
	x := uint64(seed)*0x9e3779b97f4a7c15 + 1
	for i := range b {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		b[i] = byte(x)
	}
	return b
}

type fixture struct {
	s          *cas.Store
	small, big cas.Info
	tree       cas.Info
}

// newFixture stores: small (inline) and big (chunked) blobs, a tree
// {a.txt: small, dir/{b.bin: big}}, ref runs/x → tree, ref other → big.
func newFixture(t *testing.T) fixture {
	t.Helper()
	ctx := t.Context()
	s, err := cas.Init(ctx, filepath.Join(t.TempDir(), ".rigor"), cas.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	f := fixture{s: s}
	put := func(b []byte) cas.Info {
		info, err := s.Put(ctx, bytes.NewReader(b), cas.PutOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return info
	}
	f.small = put([]byte("a small file, stored inline\n"))
	f.big = put(randomBytes(1, 5<<20))
	dir, err := s.PutTree(ctx, cas.Tree{Entries: []cas.Entry{{Name: "b.bin", Mode: cas.ModeFile, Size: f.big.Size, Digest: f.big.Digest}}})
	if err != nil {
		t.Fatal(err)
	}
	f.tree, err = s.PutTree(ctx, cas.Tree{Entries: []cas.Entry{
		{Name: "a.txt", Mode: cas.ModeFile, Size: f.small.Size, Digest: f.small.Digest},
		{Name: "dir", Mode: cas.ModeTree, Size: dir.Size, Digest: dir.Digest},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SetRef(ctx, "runs/x", "", f.tree.Digest); err != nil {
		t.Fatal(err)
	}
	if err := s.SetRef(ctx, "other", "", f.big.Digest); err != nil {
		t.Fatal(err)
	}
	return f
}

// readErr reads d in every way a store reader offers (Read, WriteTo; each
// with and without WholeOnly) and checks it with Verify, and returns the
// error of the first, after checking that the others end alike: all fail
// with the same error, or all return the same bytes.
func readErr(s *cas.Store, d digest.Digest) error {
	type way struct {
		name  string
		opts  cas.OpenOptions
		write bool
	}
	ways := []way{
		{"Read", cas.OpenOptions{}, false},
		{"WriteTo", cas.OpenOptions{}, true},
		{"Read, WholeOnly", cas.OpenOptions{WholeOnly: true}, false},
		{"WriteTo, WholeOnly", cas.OpenOptions{WholeOnly: true}, true},
	}
	var first error
	var firstData []byte
	for i, w := range ways {
		r, err := s.OpenWith(nilCtx, d, w.opts)
		if err != nil {
			return err
		}
		var buf bytes.Buffer
		if w.write {
			_, err = r.(io.WriterTo).WriteTo(&buf)
		} else {
			_, err = io.Copy(&buf, struct{ io.Reader }{r})
		}
		r.Close()
		if i == 0 {
			first, firstData = err, buf.Bytes()
			continue
		}
		switch {
		case (err == nil) != (first == nil):
			return fmt.Errorf("%s ended with %v, Read with %v", w.name, err, first)
		case err != nil && err.Error() != first.Error():
			return fmt.Errorf("%s ended with %q, Read with %q", w.name, err, first)
		case err == nil && !bytes.Equal(buf.Bytes(), firstData):
			return fmt.Errorf("%s read other bytes than Read", w.name)
		}
	}
	var checked int64
	err := s.Verify(nilCtx, d, func(n int64) { checked += n })
	switch {
	case (err == nil) != (first == nil):
		return fmt.Errorf("Verify ended with %v, Read with %v", err, first)
	case err != nil && err.Error() != first.Error():
		return fmt.Errorf("Verify ended with %q, Read with %q", err, first)
	case err == nil && checked != int64(len(firstData)):
		return fmt.Errorf("Verify reported %d bytes checked, Read read %d", checked, len(firstData))
	}
	return first
}

func TestFsckCorruption(t *testing.T) {
	tests := []struct {
		name      string
		damage    func(t *testing.T, f fixture) error
		target    func(f fixture) cas.Info
		kind      cas.ProblemKind
		chunk     bool
		refs      []string
		path      string
		readError error
	}{
		{
			name:   "flip inline byte",
			damage: func(t *testing.T, f fixture) error { return f.s.CorruptForTest(t.Context(), f.small.Digest, 7) },
			target: func(f fixture) cas.Info { return f.small },
			kind:   cas.ProblemCorrupt, refs: []string{"runs/x"}, path: "a.txt", readError: cas.ErrDigestMismatch,
		},
		{
			name:   "flip chunk byte",
			damage: func(t *testing.T, f fixture) error { return f.s.CorruptForTest(t.Context(), f.big.Digest, 1000) },
			target: func(f fixture) cas.Info { return f.big },
			kind:   cas.ProblemCorrupt, chunk: true, refs: []string{"other", "runs/x"}, path: "", readError: cas.ErrDigestMismatch,
		},
		{
			name: "flip last chunk's last byte",
			damage: func(t *testing.T, f fixture) error {
				return f.s.CorruptChunkForTest(t.Context(), f.big.Digest, lastChunk(t, f), -1)
			},
			target: func(f fixture) cas.Info { return f.big },
			kind:   cas.ProblemCorrupt, chunk: true, refs: []string{"other", "runs/x"}, readError: cas.ErrDigestMismatch,
		},
		{
			name:   "format byte",
			damage: func(t *testing.T, f fixture) error { return f.s.CorruptForTest(t.Context(), f.small.Digest, 0) },
			target: func(f fixture) cas.Info { return f.small },
			kind:   cas.ProblemBadFormat, refs: []string{"runs/x"}, path: "a.txt", readError: cas.ErrUnknownFormat,
		},
		{
			name:   "delete chunk",
			damage: func(t *testing.T, f fixture) error { return f.s.DeleteChunkForTest(t.Context(), f.big.Digest, 1) },
			target: func(f fixture) cas.Info { return f.big },
			kind:   cas.ProblemMissing, chunk: true, refs: []string{"other", "runs/x"}, readError: cas.ErrNotFound,
		},
		{
			name:   "delete object",
			damage: func(t *testing.T, f fixture) error { return f.s.DeleteObjectForTest(t.Context(), f.small.Digest) },
			target: func(f fixture) cas.Info { return f.small },
			kind:   cas.ProblemMissing, refs: []string{"runs/x"}, path: "a.txt", readError: cas.ErrNotFound,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			rep, err := f.s.Fsck(t.Context(), cas.FsckOptions{})
			if err != nil || !rep.OK() {
				t.Fatalf("Fsck before damage = %+v, %v", rep, err)
			}
			if err := tt.damage(t, f); err != nil {
				t.Fatal(err)
			}
			var last, total int64
			rep, err = f.s.Fsck(t.Context(), cas.FsckOptions{Progress: func(d, n int64) { last, total = d, n }})
			if err != nil {
				t.Fatal(err)
			}
			if last != total || total == 0 {
				t.Errorf("progress ended at %d of %d", last, total)
			}
			if len(rep.Problems) != 1 {
				t.Fatalf("Fsck found %d problems, want 1: %v", len(rep.Problems), rep.Problems)
			}
			p := rep.Problems[0]
			target := tt.target(f)
			if p.Kind != tt.kind || p.Digest != target.Digest || !slices.Equal(p.Refs, tt.refs) || p.Path != tt.path {
				t.Errorf("problem = %v (kind %v, refs %q, path %q), want kind %v on %s, refs %q, path %q",
					p, p.Kind, p.Refs, p.Path, tt.kind, target.Digest, tt.refs, tt.path)
			}
			if tt.chunk != (p.Chunk != "") {
				t.Errorf("problem chunk = %q, want a chunk: %v", p.Chunk, tt.chunk)
			}
			if !errors.Is(p, tt.readError) {
				t.Errorf("problem error %v does not wrap %v", p.Err, tt.readError)
			}
			err = readErr(f.s, target.Digest)
			if !errors.Is(err, tt.readError) {
				t.Errorf("reading damaged object: %v, want %v", err, tt.readError)
			}
			if tt.chunk && tt.kind == cas.ProblemMissing && !bytes.Contains([]byte(err.Error()), []byte(p.Chunk)) {
				t.Errorf("missing-chunk error %q does not name chunk %s", err, p.Chunk)
			}
			// The damage does not spread: the other blob still reads.
			other := f.small
			if target == f.small {
				other = f.big
			}
			if err := readErr(f.s, other.Digest); err != nil {
				t.Errorf("reading undamaged object: %v", err)
			}
		})
	}
}

func lastChunk(t *testing.T, f fixture) int {
	cs, err := f.s.ChunksForTest(t.Context(), f.big.Digest)
	if err != nil || len(cs) < 3 {
		t.Fatalf("ChunksForTest = %d chunks, %v; want at least 3", len(cs), err)
	}
	return len(cs) - 1
}

func TestRePutRepairs(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	if err := f.s.CorruptForTest(ctx, f.small.Digest, 3); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.Put(ctx, bytes.NewReader([]byte("a small file, stored inline\n")), cas.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	if rep, err := f.s.Fsck(ctx, cas.FsckOptions{}); err != nil || !rep.OK() {
		t.Errorf("Fsck after re-put = %v, %v", rep.Problems, err)
	}
}

func TestGC(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	s := f.s
	orphan, err := s.Put(ctx, bytes.NewReader(randomBytes(9, 3<<20)), cas.PutOptions{})
	if err != nil {
		t.Fatal(err)
	}
	orphanChunks, _ := s.ChunksForTest(ctx, orphan.Digest)

	// Within the grace period nothing goes.
	rep, err := s.GC(ctx, cas.GCOptions{Grace: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if rep.ObjectsDeleted != 0 || rep.ChunksDeleted != 0 {
		t.Errorf("GC(grace 1h) = %+v, want nothing deleted", rep)
	}
	rep, err = s.GC(ctx, cas.GCOptions{DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if ok, _ := s.Has(ctx, orphan.Digest); rep.ObjectsDeleted != 1 || !ok {
		t.Errorf("GC(dry run) = %+v, orphan still there: %v; want 1 object reported, none deleted", rep, ok)
	}
	rep, err = s.GC(ctx, cas.GCOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.ObjectsDeleted != 1 || rep.ChunksDeleted != int64(len(orphanChunks)) || rep.ObjectsKept != 4 {
		t.Errorf("GC = %+v, want 1 object and %d chunks deleted, 4 objects kept", rep, len(orphanChunks))
	}
	if ok, _ := s.Has(ctx, orphan.Digest); ok {
		t.Errorf("orphan survived GC")
	}
	for _, d := range []digest.Digest{f.small.Digest, f.big.Digest, f.tree.Digest} {
		if err := readErr(s, d); err != nil {
			t.Errorf("reachable %s after GC: %v", d, err)
		}
	}
	if rep, err := s.Fsck(ctx, cas.FsckOptions{}); err != nil || !rep.OK() {
		t.Errorf("Fsck after GC = %v, %v", rep.Problems, err)
	}
	// Dropping the refs makes everything garbage.
	for _, n := range []string{"runs/x", "other"} {
		if err := s.DeleteRef(ctx, n, ""); err != nil {
			t.Fatal(err)
		}
	}
	rep, err = s.GC(ctx, cas.GCOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.ObjectsKept != 0 || rep.ChunksKept != 0 || rep.ObjectsDeleted != 4 {
		t.Errorf("GC without refs = %+v, want everything deleted", rep)
	}
}

func TestGCRefusesDamagedTree(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	if err := f.s.CorruptForTest(ctx, f.tree.Digest, 9); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.GC(ctx, cas.GCOptions{}); !errors.Is(err, cas.ErrDigestMismatch) {
		t.Fatalf("GC over a damaged tree = %v, want ErrDigestMismatch", err)
	}
	if err := readErr(f.s, f.big.Digest); err != nil {
		t.Errorf("GC deleted data below a damaged tree: %v", err)
	}
}
