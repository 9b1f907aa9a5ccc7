package ingest

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/rigor-dev/rigor/cas"
)

// fuzzNode is a directory of the tree a FuzzMaterialize input describes.
type fuzzNode struct {
	kids map[string]*fuzzNode
	leaf *cas.Entry // nil for a directory
}

// buildFuzzTree turns lines "f PATH", "x PATH", "d PATH" or "l PATH
// TARGET" into a stored tree. Names cas refuses make it give up.
func buildFuzzTree(t *testing.T, s *cas.Store, script []byte) (cas.Info, bool) {
	ctx := t.Context()
	root := &fuzzNode{kids: map[string]*fuzzNode{}}
	for _, line := range bytes.Split(script, []byte("\n")) {
		f := strings.SplitN(string(line), " ", 3)
		if len(f) < 2 || len(f[1]) > 200 {
			continue
		}
		els := strings.Split(f[1], "/")
		n := root
		for _, el := range els[:len(els)-1] {
			k := n.kids[el]
			if k == nil {
				k = &fuzzNode{kids: map[string]*fuzzNode{}}
				n.kids[el] = k
			}
			if k.leaf != nil {
				return cas.Info{}, false
			}
			n = k
		}
		last := els[len(els)-1]
		if n.kids[last] != nil {
			continue
		}
		var content string
		mode := cas.ModeFile
		switch f[0] {
		case "f":
			content = "content of " + f[1]
		case "x":
			content, mode = "#!/bin/sh\n", cas.ModeExec
		case "l":
			if len(f) < 3 {
				continue
			}
			content, mode = f[2], cas.ModeSymlink
		case "d":
			n.kids[last] = &fuzzNode{kids: map[string]*fuzzNode{}}
			continue
		default:
			continue
		}
		info, err := s.Put(ctx, strings.NewReader(content), cas.PutOptions{})
		if err != nil {
			t.Fatal(err)
		}
		n.kids[last] = &fuzzNode{leaf: &cas.Entry{Mode: mode, Size: info.Size, Digest: info.Digest}}
	}
	var put func(n *fuzzNode) (cas.Info, bool)
	put = func(n *fuzzNode) (cas.Info, bool) {
		names := make([]string, 0, len(n.kids))
		for k := range n.kids {
			names = append(names, k)
		}
		slices.Sort(names)
		var tr cas.Tree
		for _, name := range names {
			k := n.kids[name]
			e := cas.Entry{Name: name}
			if k.leaf != nil {
				e = *k.leaf
				e.Name = name
			} else {
				info, ok := put(k)
				if !ok {
					return cas.Info{}, false
				}
				e.Mode, e.Size, e.Digest = cas.ModeTree, info.Size, info.Digest
			}
			tr.Entries = append(tr.Entries, e)
		}
		info, err := s.PutTree(ctx, tr)
		return info, err == nil
	}
	return put(root)
}

// FuzzMaterialize (issue 10): whatever tree the store holds, Materialize
// (and Materialize again with Force over what it wrote) creates nothing
// outside the target and no link that resolves outside it.
func FuzzMaterialize(f *testing.F) {
	f.Add([]byte("f a\nl b a\nd c\nx c/run.sh\n"))
	f.Add([]byte("l b .\nl l b/../escape\n"))
	f.Add([]byte("l a z/../x\nl z .\n"))
	f.Add([]byte("d sub\nl sub/l ../../outside/secret\n"))
	f.Add([]byte("l up ..\nf up/x\n"))
	f.Add([]byte("l d /tmp\nf d/x\n"))
	f.Add([]byte("l a b\nl b c\nl c ../outside\n"))
	f.Add([]byte("l s sub\nd sub\nl sub/up ..\nl t s/up/../outside\n"))
	s, err := cas.Init(f.Context(), "", cas.Options{InMemory: true})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { s.Close() })
	f.Fuzz(func(t *testing.T, script []byte) {
		info, ok := buildFuzzTree(t, s, script)
		if !ok {
			return
		}
		base := t.TempDir()
		outside := filepath.Join(base, "outside")
		must(t, os.MkdirAll(outside, 0o755))
		must(t, os.WriteFile(filepath.Join(outside, "secret"), []byte("secret\n"), 0o644))
		target := filepath.Join(base, "t")
		Materialize(t.Context(), s, info.Digest, target, MaterializeOptions{})
		Materialize(t.Context(), s, info.Digest, target, MaterializeOptions{Force: true})
		entries, _ := os.ReadDir(base)
		for _, e := range entries {
			if e.Name() != "t" && e.Name() != "outside" {
				t.Fatalf("%s created outside the target", e.Name())
			}
		}
		if got := listAll(t, outside); len(got) != 1 {
			t.Fatalf("outside holds %q", got)
		}
		if b, _ := os.ReadFile(filepath.Join(outside, "secret")); string(b) != "secret\n" {
			t.Fatalf("outside/secret overwritten: %q", b)
		}
		realTarget, _ := filepath.EvalSymlinks(target)
		filepath.WalkDir(target, func(p string, d os.DirEntry, err error) error {
			if err != nil || d.Type()&os.ModeSymlink == 0 {
				return nil
			}
			if r, err := filepath.EvalSymlinks(p); err == nil {
				if rel, err := filepath.Rel(realTarget, r); err != nil || rel == ".." || strings.HasPrefix(rel, "../") {
					link, _ := os.Readlink(p)
					t.Fatalf("%s -> %s resolves to %s, outside the target", p, link, r)
				}
			}
			return nil
		})
	})
}
