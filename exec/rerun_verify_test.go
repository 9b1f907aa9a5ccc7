package exec

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"

	digest "github.com/opencontainers/go-digest"

	"github.com/rigor-dev/rigor/cas"
	"github.com/rigor-dev/rigor/spec"
	"github.com/rigor-dev/rigor/verify"
)

// putAt stores a copy of the tree root in which the slash path rel holds
// the object (blob or tree) info instead, and returns the new root.
func putAt(ctx context.Context, t *testing.T, s *cas.Store, root digest.Digest, rel string, info cas.Info) cas.Info {
	t.Helper()
	tr, err := s.ReadTree(ctx, root)
	if err != nil {
		t.Fatal(err)
	}
	name, rest, deeper := strings.Cut(rel, "/")
	i := 0
	for i < len(tr.Entries) && tr.Entries[i].Name != name {
		i++
	}
	if i == len(tr.Entries) {
		t.Fatalf("%s: no entry %q", root, name)
	}
	if deeper {
		info = putAt(ctx, t, s, tr.Entries[i].Digest, rest, info)
	}
	tr.Entries[i].Digest, tr.Entries[i].Size = info.Digest, info.Size
	out, err := s.PutTree(ctx, tr)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func storeBytes(ctx context.Context, t *testing.T, s *cas.Store, b []byte) cas.Info {
	t.Helper()
	info, err := s.Put(ctx, bytes.NewReader(b), cas.PutOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return info
}

// TestRerunVerifiesRestoredFiles reruns bundles forged so that what the
// store restores is not what the manifest records: a code file, an input
// and the config. Each rerun is refused with ErrBundleMismatch before the
// program starts, and nothing is recorded.
func TestRerunVerifiesRestoredFiles(t *testing.T) {
	t.Parallel()
	p := newTestProject(t)
	orig := p.run(p.options("python3", "src/train.py"))
	ctx := t.Context()
	env := append(os.Environ(), "MY_API_TOKEN=x")

	forge := func(edit func(s *cas.Store, root digest.Digest) digest.Digest) digest.Digest {
		s, err := p.open(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		return edit(s, orig.Root)
	}
	record := func(s *cas.Store, root digest.Digest, rel string) []byte {
		b, err := readBundleFile(ctx, s, root, rel, 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}

	tests := []struct {
		name string
		want string // in the error
		edit func(s *cas.Store, root digest.Digest) digest.Digest
	}{
		{"code file", "code file src/train.py", func(s *cas.Store, root digest.Digest) digest.Digest {
			// The code record's tree holds another train.py than the one
			// whose SHA-256 the manifest lists.
			rec, err := spec.DecodeCodeRecord(record(s, root, "rigor/code_snapshot.json"))
			if err != nil {
				t.Fatal(err)
			}
			evil := storeBytes(ctx, t, s, []byte("print('not the recorded code')\n"))
			tree := putAt(ctx, t, s, rec.Tree.Digest, "src/train.py", evil)
			rec.Tree = spec.Object{Digest: tree.Digest, Size: tree.Size}
			b, err := rec.Encode()
			if err != nil {
				t.Fatal(err)
			}
			return putAt(ctx, t, s, root, "rigor/code_snapshot.json", storeBytes(ctx, t, s, b)).Digest
		}},
		{"input", "input inputs/data/input.csv", func(s *cas.Store, root digest.Digest) digest.Digest {
			// The input record and the manifest agree on a BLAKE3 digest
			// whose content does not have the recorded SHA-256.
			const rel = "rigor/inputs/data/input.csv.json"
			rec, err := spec.DecodeInputRecord(record(s, root, rel))
			if err != nil {
				t.Fatal(err)
			}
			evil := storeBytes(ctx, t, s, []byte("id,x,y\n1,9,9\n"))
			rec.Digest = evil.Digest
			b, err := rec.Encode()
			if err != nil {
				t.Fatal(err)
			}
			root = putAt(ctx, t, s, root, rel, storeBytes(ctx, t, s, b)).Digest
			var m map[string]any
			dec := json.NewDecoder(bytes.NewReader(record(s, root, "manifest.json")))
			dec.UseNumber()
			if err := dec.Decode(&m); err != nil {
				t.Fatal(err)
			}
			m["inputs"].([]any)[0].(map[string]any)["blake3"] = evil.Digest.String()
			mb, err := json.Marshal(m)
			if err != nil {
				t.Fatal(err)
			}
			return putAt(ctx, t, s, root, "manifest.json", storeBytes(ctx, t, s, mb)).Digest
		}},
		{"config", "differs from the recorded config source", func(s *cas.Store, root digest.Digest) digest.Digest {
			// The config record names source bytes that are not the
			// config file of the recorded code tree.
			rec, err := spec.DecodeConfigRecord(record(s, root, "rigor/config_record.json"))
			if err != nil {
				t.Fatal(err)
			}
			src := record(s, root, "code/configs/exp01.json")
			evil := storeBytes(ctx, t, s, bytes.Replace(src, []byte(`"logreg"`), []byte(`"forged"`), 1))
			rec.Source = spec.Object{Digest: evil.Digest, Size: evil.Size, SHA256: sha256Hex(bytes.Replace(src, []byte(`"logreg"`), []byte(`"forged"`), 1))}
			b, err := rec.Encode()
			if err != nil {
				t.Fatal(err)
			}
			return putAt(ctx, t, s, root, "rigor/config_record.json", storeBytes(ctx, t, s, b)).Digest
		}},
	}
	for _, tt := range tests {
		forged := forge(tt.edit)
		if forged == orig.Root {
			t.Fatalf("%s: the forged bundle is the original", tt.name)
		}
		_, err := Rerun(ctx, p.open, forged.String(), RerunOptions{Env: env, GPUInterval: -1})
		if !errors.Is(err, ErrBundleMismatch) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: rerun of the forged bundle: %v, want ErrBundleMismatch mentioning %q", tt.name, err, tt.want)
		}
	}

	// The unforged bundle still reruns, and the refused reruns left no run.
	p.rerun(orig.RunID, RerunOptions{Env: env})
	s, err := p.open(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	runs, err := verify.ListRuns(ctx, s, verify.RunFilter{})
	if err != nil || len(runs) != 2 {
		t.Errorf("runs after three refused reruns and one rerun: %d, %v; want 2", len(runs), err)
	}
}
