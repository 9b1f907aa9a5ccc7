package remote

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	digest "github.com/opencontainers/go-digest"

	"github.com/rigor-dev/rigor/cas"
)

func TestParseURL(t *testing.T) {
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		in   string
		want URL
		err  error
	}{
		{"/srv/rigor/.rigor", URL{Kind: KindStore, Path: "/srv/rigor/.rigor"}, nil},
		{"../other", URL{Kind: KindStore, Path: filepath.Join(filepath.Dir(wd), "other")}, nil},
		{"file:///srv/rigor", URL{Kind: KindStore, Path: "/srv/rigor"}, nil},
		{"file://localhost/srv/rigor/", URL{Kind: KindStore, Path: "/srv/rigor"}, nil},
		{"oci://127.0.0.1:5000/team/runs", URL{Kind: KindOCI, Host: "127.0.0.1:5000", Repository: "team/runs"}, nil},
		{"oci://ghcr.io/org/exp-01_runs", URL{Kind: KindOCI, Host: "ghcr.io", Repository: "org/exp-01_runs"}, nil},
		{"", URL{}, ErrBadURL},
		{"file://host/srv", URL{}, ErrBadURL},
		{"file:relative", URL{}, ErrBadURL},
		{"oci://ghcr.io", URL{}, ErrBadURL},
		{"oci:///runs", URL{}, ErrBadURL},
		{"oci://ghcr.io/Org/Runs", URL{}, ErrBadURL},
		{"oci://ghcr.io/org/runs:latest", URL{}, ErrBadURL},
		{"oci://ghcr.io/org/runs@sha256:00", URL{}, ErrBadURL},
		{"https://ghcr.io/org/runs", URL{}, ErrBadURL},
	}
	for _, tt := range tests {
		got, err := ParseURL(tt.in)
		if !errors.Is(err, tt.err) || got != tt.want {
			t.Errorf("ParseURL(%q) = %+v, %v; want %+v, %v", tt.in, got, err, tt.want, tt.err)
		}
	}
	for _, s := range []string{"/srv/x", "oci://h:1/a/b"} {
		u, _ := ParseURL(s)
		if u.String() != s {
			t.Errorf("ParseURL(%q).String() = %q", s, u.String())
		}
	}
}

func TestParseRunName(t *testing.T) {
	tests := []struct {
		in, id, ref string
		ok          bool
	}{
		{"EXP-01__seed-42__attempt-1", "EXP-01__seed-42__attempt-1", "runs/EXP-01/seed-42/attempt-1", true},
		{"runs/EXP-01/seed-42/attempt-1", "EXP-01__seed-42__attempt-1", "runs/EXP-01/seed-42/attempt-1", true},
		{"runs/EXP-01/seed-42/attempt-01", "", "", false},
		{"runs/EXP-01/seed-42", "", "", false},
		{"EXP-01", "", "", false},
		{"blake3:00", "", "", false},
	}
	for _, tt := range tests {
		id, ref, err := ParseRunName(tt.in)
		if (err == nil) != tt.ok || id != tt.id || ref != tt.ref {
			t.Errorf("ParseRunName(%q) = %q, %q, %v", tt.in, id, ref, err)
		}
		if err != nil && !errors.Is(err, ErrBadName) {
			t.Errorf("ParseRunName(%q) error %v does not wrap ErrBadName", tt.in, err)
		}
	}
}

func memStore(t *testing.T) *cas.Store {
	t.Helper()
	s, err := cas.Open(t.Context(), "", cas.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestRemotes(t *testing.T) {
	s := memStore(t)
	ctx := t.Context()
	if _, err := AddRemote(ctx, s, Remote{Name: "origin", URL: "oci://127.0.0.1:5000/runs", PlainHTTP: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := AddRemote(ctx, s, Remote{Name: "backup", URL: "file:///srv/backup"}); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []struct {
		r   Remote
		err error
	}{
		{Remote{Name: "origin", URL: "/x"}, ErrRemoteExists},
		{Remote{Name: "-x", URL: "/x"}, ErrBadName},
		{Remote{Name: "a/b", URL: "/x"}, ErrBadName},
		{Remote{Name: "x", URL: "s3://bucket"}, ErrBadURL},
		{Remote{Name: "x", URL: "/x", PlainHTTP: true}, ErrBadURL},
	} {
		if _, err := AddRemote(ctx, s, bad.r); !errors.Is(err, bad.err) {
			t.Errorf("AddRemote(%+v) = %v, want %v", bad.r, err, bad.err)
		}
	}
	list, err := ListRemotes(ctx, s)
	if err != nil || len(list) != 2 || list[0].Name != "backup" || list[0].URL != "/srv/backup" || list[1] != (Remote{Name: "origin", URL: "oci://127.0.0.1:5000/runs", PlainHTTP: true}) {
		t.Errorf("ListRemotes = %+v, %v", list, err)
	}
	if err := RemoveRemote(ctx, s, "origin"); err != nil {
		t.Fatal(err)
	}
	if _, err := GetRemote(ctx, s, "origin"); !errors.Is(err, ErrNoRemote) {
		t.Errorf("GetRemote after remove: %v", err)
	}
	if err := RemoveRemote(ctx, s, "origin"); !errors.Is(err, ErrNoRemote) {
		t.Errorf("second remove: %v", err)
	}
	// A prefix of a name is not the name.
	if _, err := GetRemote(ctx, s, "back"); !errors.Is(err, ErrNoRemote) {
		t.Errorf("GetRemote(prefix): %v", err)
	}
}

func putBlob(t *testing.T, s *cas.Store, content string) cas.Entry {
	t.Helper()
	info, err := s.Put(t.Context(), bytes.NewReader([]byte(content)), cas.PutOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return cas.Entry{Mode: cas.ModeFile, Size: info.Size, Digest: info.Digest}
}

func putTree(t *testing.T, s *cas.Store, entries ...cas.Entry) cas.Entry {
	t.Helper()
	info, err := s.PutTree(t.Context(), cas.Tree{Entries: entries})
	if err != nil {
		t.Fatal(err)
	}
	return cas.Entry{Mode: cas.ModeTree, Size: info.Size, Digest: info.Digest}
}

func named(e cas.Entry, name string) cas.Entry { e.Name = name; return e }

// TestClosureOrder: every object once, each tree after all its entries,
// a subtree shared by two roots (and twice within one) collected once.
func TestClosureOrder(t *testing.T) {
	s := memStore(t)
	x, y := putBlob(t, s, "x"), putBlob(t, s, "y")
	shared := putTree(t, s, named(x, "x"), named(y, "y"))
	root1 := putTree(t, s, named(shared, "a"), named(shared, "b"), named(x, "z"))
	root2 := putTree(t, s, named(shared, "data"), named(putBlob(t, s, "w"), "w"))

	c := NewClosure()
	for _, r := range []digest.Digest{root1.Digest, root2.Digest, root1.Digest} {
		if err := c.Add(t.Context(), s, r); err != nil {
			t.Fatal(err)
		}
	}
	pos := map[digest.Digest]int{}
	for i, o := range c.Objects {
		if _, dup := pos[o.Digest]; dup {
			t.Errorf("%s collected twice", o.Digest)
		}
		pos[o.Digest] = i
	}
	if len(c.Objects) != 6 {
		t.Errorf("closure has %d objects, want 6 (x, y, shared, root1, w, root2)", len(c.Objects))
	}
	for _, tr := range []cas.Entry{shared, root1, root2} {
		tree, err := s.ReadTree(t.Context(), tr.Digest)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range tree.Entries {
			if pos[e.Digest] >= pos[tr.Digest] {
				t.Errorf("entry %s comes after its tree %s", e.Name, tr.Digest)
			}
		}
	}
	if o := c.Objects[pos[x.Digest]]; o.Path != "a/x" || o.Kind != cas.KindBlob {
		t.Errorf("x collected as %+v, want path a/x", o)
	}
	if err := NewClosure().Add(t.Context(), s, cas.FromBytes([]byte("absent"))); !errors.Is(err, cas.ErrNotFound) {
		t.Errorf("closure of an absent root: %v", err)
	}
}
