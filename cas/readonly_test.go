package cas_test

import (
	"bytes"
	"errors"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rigor-dev/rigor/cas"
)

// TestReadOnly: read-only opens share the lock with each other and exclude
// a writer, read everything, and refuse every write with ErrReadOnly.
func TestReadOnly(t *testing.T) {
	ctx := t.Context()
	dir := filepath.Join(t.TempDir(), ".rigor")
	w, err := cas.Init(ctx, dir, cas.Options{})
	if err != nil {
		t.Fatal(err)
	}
	content := bytes.Repeat([]byte("read-only content\n"), 200000) // chunked
	info, err := w.Put(ctx, bytes.NewReader(content), cas.PutOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.SetRef(ctx, "runs/x", "", info.Digest); err != nil {
		t.Fatal(err)
	}
	if err := w.PutIndex(ctx, "idx", []byte("k"), []byte("v")); err != nil {
		t.Fatal(err)
	}
	// The writer holds the lock: a read-only open waits, then gives up.
	if _, err := cas.Open(ctx, dir, cas.Options{ReadOnly: true, LockTimeout: 50 * time.Millisecond}); !errors.Is(err, cas.ErrLocked) {
		t.Fatalf("read-only Open while a writer holds the store: %v, want ErrLocked", err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}

	r1, err := cas.Open(ctx, dir, cas.Options{ReadOnly: true, LockTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	r2, err := cas.Open(ctx, dir, cas.Options{ReadOnly: true, LockTimeout: time.Second})
	if err != nil {
		t.Fatalf("a second read-only Open: %v", err)
	}
	if _, err := cas.Open(ctx, dir, cas.Options{LockTimeout: 50 * time.Millisecond}); !errors.Is(err, cas.ErrLocked) {
		t.Fatalf("writable Open while readers hold the store: %v, want ErrLocked", err)
	}
	for i, r := range []*cas.Store{r1, r2} {
		d, err := r.GetRef(ctx, "runs/x")
		if err != nil || d != info.Digest {
			t.Fatalf("reader %d: GetRef = %s, %v", i, d, err)
		}
		rc, err := r.Open(ctx, d)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(rc)
		rc.Close()
		if err != nil || !bytes.Equal(got, content) {
			t.Fatalf("reader %d: read %d bytes, %v", i, len(got), err)
		}
		var v string
		if err := r.ScanIndex(ctx, "idx", nil, func(_, val []byte) error { v = string(val); return nil }); err != nil || v != "v" {
			t.Fatalf("reader %d: ScanIndex = %q, %v", i, v, err)
		}
	}
	writes := map[string]func() error{
		"Put": func() error {
			_, err := r1.Put(ctx, strings.NewReader("new"), cas.PutOptions{})
			return err
		},
		"PutTree": func() error { _, err := r1.PutTree(ctx, cas.Tree{}); return err },
		"SetRef":  func() error { return r1.SetRef(ctx, "runs/y", "", info.Digest) },
		"DeleteRef": func() error {
			return r1.DeleteRef(ctx, "runs/x", info.Digest)
		},
		"PutIndex":    func() error { return r1.PutIndex(ctx, "idx", []byte("k2"), []byte("v")) },
		"DeleteIndex": func() error { return r1.DeleteIndex(ctx, "idx", []byte("k")) },
		"RememberStat": func() error {
			return r1.RememberStat(ctx, cas.StatKey{Path: "/x", Size: 1}, info.Digest)
		},
		"GC": func() error { _, err := r1.GC(ctx, cas.GCOptions{}); return err },
	}
	for name, write := range writes {
		if err := write(); !errors.Is(err, cas.ErrReadOnly) {
			t.Errorf("%s on a read-only store: %v, want ErrReadOnly", name, err)
		}
	}
	if rep, err := r1.Fsck(ctx, cas.FsckOptions{}); err != nil || !rep.OK() {
		t.Errorf("Fsck of a read-only store: %+v, %v", rep, err)
	}
	for _, r := range []*cas.Store{r1, r2} {
		if err := r.Close(); err != nil {
			t.Fatal(err)
		}
	}
	// Nothing was written: a writer finds the store as it was.
	w, err = cas.Open(ctx, dir, cas.Options{LockTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if _, err := w.GetRef(ctx, "runs/y"); !errors.Is(err, cas.ErrRefNotFound) {
		t.Errorf("runs/y after read-only writes: %v", err)
	}
	if d, err := w.GetRef(ctx, "runs/x"); err != nil || d != info.Digest {
		t.Errorf("runs/x after read-only writes: %s, %v", d, err)
	}
}
