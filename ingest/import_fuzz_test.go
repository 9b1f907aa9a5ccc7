package ingest

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/rigor-dev/rigor/cas"
)

// FuzzImportRun (issue 10): whatever manifest a run directory holds, and
// although the directory has a link to a secret outside it, import either
// refuses and stores nothing, or stores a run that holds neither the
// secret nor any link.
func FuzzImportRun(f *testing.F) {
	base := f.TempDir()
	dir := filepath.Join(base, "run")
	if err := os.MkdirAll(filepath.Join(base, "outside"), 0o755); err != nil {
		f.Fatal(err)
	}
	secret := []byte("secret outside the run\n")
	if err := os.WriteFile(filepath.Join(base, "outside", "secret"), secret, 0o644); err != nil {
		f.Fatal(err)
	}
	r := selftestRun()
	r.files["inputs/data/images.sha256sum"] = shaHex("1,2\n") + "  a.csv\n"
	r.files["inputs/data/images/a.csv"] = "1,2\n"
	b, _ := json.Marshal(r.manifest)
	f.Add(b)
	for _, p := range []string{"link/secret", "../outside/secret", "inputs/data/images.sha256sum", "linkdir", "inputs/data/images/../../../link/secret"} {
		r.manifest["inputs"] = []any{map[string]any{"role": "data", "path": p, "sha256": shaHex(string(secret)), "source_revision": "v1"}}
		b, _ := json.Marshal(r.manifest)
		f.Add(b)
	}
	for k, v := range r.files {
		p := filepath.Join(dir, filepath.FromSlash(k))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			f.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(v), 0o644); err != nil {
			f.Fatal(err)
		}
	}
	if err := os.Symlink("../outside", filepath.Join(dir, "link")); err != nil {
		f.Fatal(err)
	}
	if err := os.Symlink("../../../outside/secret", filepath.Join(dir, "inputs", "data", "secret")); err != nil {
		f.Fatal(err)
	}
	secretDigest := cas.FromBytes(secret)
	s, err := cas.Init(f.Context(), "", cas.Options{InMemory: true})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { s.Close() })
	f.Fuzz(func(t *testing.T, manifest []byte) {
		if err := os.WriteFile(filepath.Join(dir, ManifestName), manifest, 0o644); err != nil {
			t.Fatal(err)
		}
		objects, refs := storeCounts(t, s)
		res, err := ImportRun(t.Context(), s, dir, ImportOptions{Now: importNow})
		if err != nil {
			var rde *RunDirError
			if errors.As(err, &rde) {
				if o2, r2 := storeCounts(t, s); o2 != objects || r2 != refs {
					t.Fatalf("refused import stored %d objects and %d refs", o2-objects, r2-refs)
				}
			}
			return
		}
		if ok, _ := s.Has(t.Context(), secretDigest); ok {
			t.Fatalf("import stored the secret from outside the run")
		}
		err = s.Walk(t.Context(), res.Summary.Root, func(p string, e cas.Entry) error {
			if e.Mode == cas.ModeSymlink {
				t.Fatalf("import stored a link at %s", p)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}
