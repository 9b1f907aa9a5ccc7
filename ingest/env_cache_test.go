package ingest

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rigor-dev/rigor/cas"
	"github.com/rigor-dev/rigor/spec"
)

// fakePython is a venv-like directory: bin/python3, a shell script that
// answers the probe from the *.dist-info directories of its site-packages
// (and of each PYTHONPATH entry, as sys.path entries) and counts its runs.
type fakePython struct {
	bin, exe, site, count string
}

func newFakePython(t *testing.T) fakePython {
	t.Helper()
	root := t.TempDir()
	f := fakePython{
		bin: filepath.Join(root, "bin"), site: filepath.Join(root, "lib", "site-packages"),
		count: filepath.Join(root, "runs"),
	}
	f.exe = filepath.Join(f.bin, "python3")
	for _, d := range []string{f.bin, f.site, filepath.Join(f.site, "numpy-1.26.4.dist-info")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	script := `#!/bin/sh
echo run >> '` + f.count + `'
dists=""
path=""
for sp in '` + f.site + `' $(echo "$PYTHONPATH" | tr ':' ' '); do
  path="$path,\"$sp\""
  for d in "$sp"/*.dist-info; do
    [ -e "$d" ] || continue
    n=$(basename "$d" .dist-info)
    dists="$dists${dists:+,}{\"name\":\"${n%-*}\",\"version\":\"${n##*-}\"}"
  done
done
printf '{"executable":"%s","version":"3.99.1","sys_version":"3.99.1 (fake)","implementation":"cpython","platform":"Fake-1","prefix":"%s","metadata":true,"distributions":[%s],"path":[""%s],"site":["%s"]}' \
  '` + f.exe + `' '` + root + `' "$dists" "$path" '` + f.site + `'
`
	if err := os.WriteFile(f.exe, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	// A cached answer is only kept when nothing it depends on changed
	// within moments of the probe (see probePython).
	time.Sleep(60 * time.Millisecond)
	return f
}

func (f fakePython) runs(t *testing.T) int {
	t.Helper()
	b, err := os.ReadFile(f.count)
	if os.IsNotExist(err) {
		return 0
	}
	if err != nil {
		t.Fatal(err)
	}
	return strings.Count(string(b), "run\n")
}

// cachedProbe probes with s as the cache and returns the stored record.
func cachedProbe(t *testing.T, s *cas.Store, opts EnvOptions) (EnvSnapshot, []byte) {
	t.Helper()
	opts.Cache = s
	opts.Tool = spec.ToolInfo{Version: "v0.0.0-test"}
	opts.Hostname = "host"
	snap, err := New(s, Options{}).ProbeEnv(t.Context(), opts)
	if err != nil {
		t.Fatal(err)
	}
	return snap, readBlob(t, s, snap.Digest)
}

func distNames(info spec.PythonInfo) string {
	var n []string
	for _, d := range info.Distributions {
		n = append(n, d.Name+"=="+d.Version)
	}
	return strings.Join(n, ",")
}

func TestPythonProbeCache(t *testing.T) {
	f := newFakePython(t)
	s := newTestStore(t)
	dir := t.TempDir()
	env := []string{"PATH=" + f.bin + ":/usr/bin:/bin", "HOME=" + dir}
	opts := EnvOptions{Dir: dir, Env: env}

	first, firstRec := cachedProbe(t, s, opts)
	if first.Record.Python.Unavailable != "" {
		t.Fatalf("python: %s", first.Record.Python.Unavailable)
	}
	if got := distNames(first.Record.Python); got != "numpy==1.26.4" {
		t.Fatalf("distributions %q", got)
	}
	if n := f.runs(t); n != 1 {
		t.Fatalf("first probe: %d interpreter runs, want 1", n)
	}

	// Hit: no interpreter starts, and the record is the same bytes.
	hit, hitRec := cachedProbe(t, s, opts)
	if n := f.runs(t); n != 1 {
		t.Fatalf("second probe: %d interpreter runs, want 1 (a cache hit)", n)
	}
	if hit.Digest != first.Digest || !bytes.Equal(hitRec, firstRec) {
		t.Fatalf("cached record differs from the probed one:\n%s\n%s", hitRec, firstRec)
	}
	// The same record as a probe without any cache.
	plain := probeEnv(t, EnvOptions{Dir: dir, Env: env, Hostname: "host"})
	if plain.Digest != first.Digest {
		t.Fatalf("record without cache %s, with %s", plain.Digest, first.Digest)
	}
	runs := f.runs(t)

	// Rehash forces a probe.
	o := opts
	o.Rehash = true
	if re, _ := cachedProbe(t, s, o); re.Digest != first.Digest {
		t.Fatalf("rehashed record %s, want %s", re.Digest, first.Digest)
	}
	if n := f.runs(t); n != runs+1 {
		t.Fatalf("--rehash: %d runs, want %d", n, runs+1)
	}
	runs++

	miss := func(t *testing.T, o EnvOptions, wantDists string) {
		t.Helper()
		snap, _ := cachedProbe(t, s, o)
		if n := f.runs(t); n != runs+1 {
			t.Fatalf("%d interpreter runs, want %d (a miss)", n, runs+1)
		}
		runs++
		if got := distNames(snap.Record.Python); got != wantDists {
			t.Fatalf("distributions %q, want %q", got, wantDists)
		}
		// Then hits again, once the change has settled (the miss's answer
		// is not kept if the change was within moments of it).
		time.Sleep(60 * time.Millisecond)
		cachedProbe(t, s, o)
		if n := f.runs(t); n > runs+1 {
			t.Fatalf("after the miss: %d interpreter runs, want at most %d", n, runs+1)
		}
		runs = f.runs(t)
		cachedProbe(t, s, o)
		if n := f.runs(t); n != runs {
			t.Fatalf("after the miss: %d interpreter runs, want %d (a hit)", n, runs)
		}
	}

	t.Run("installed distribution", func(t *testing.T) {
		if err := os.Mkdir(filepath.Join(f.site, "torch-2.3.0.dist-info"), 0o755); err != nil {
			t.Fatal(err)
		}
		miss(t, opts, "numpy==1.26.4,torch==2.3.0")
	})
	t.Run("removed distribution", func(t *testing.T) {
		if err := os.Remove(filepath.Join(f.site, "torch-2.3.0.dist-info")); err != nil {
			t.Fatal(err)
		}
		miss(t, opts, "numpy==1.26.4")
	})
	t.Run("touched interpreter", func(t *testing.T) {
		later := time.Now().Add(time.Hour)
		if err := os.Chtimes(f.exe, later, later); err != nil {
			t.Fatal(err)
		}
		miss(t, opts, "numpy==1.26.4")
	})
	t.Run("PYTHONPATH", func(t *testing.T) {
		extra := t.TempDir()
		if err := os.Mkdir(filepath.Join(extra, "mylib-0.1.dist-info"), 0o755); err != nil {
			t.Fatal(err)
		}
		time.Sleep(60 * time.Millisecond)
		o := opts
		o.Env = append(append([]string{}, env...), "PYTHONPATH="+extra)
		miss(t, o, "mylib==0.1,numpy==1.26.4")
		// Back to no PYTHONPATH: its own entry is still cached.
		cachedProbe(t, s, opts)
		if n := f.runs(t); n != runs {
			t.Fatalf("without PYTHONPATH again: %d runs, want %d (a hit)", n, runs)
		}
	})
	t.Run("distribution in the working directory", func(t *testing.T) {
		// The probe runs with "" on sys.path: new files there do not
		// matter, a distribution does.
		if err := os.WriteFile(filepath.Join(dir, "out.txt"), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
		cachedProbe(t, s, opts)
		if n := f.runs(t); n != runs {
			t.Fatalf("a plain file in the working directory: %d runs, want %d (a hit)", n, runs)
		}
		if err := os.Mkdir(filepath.Join(dir, "local-1.0.dist-info"), 0o755); err != nil {
			t.Fatal(err)
		}
		snap, _ := cachedProbe(t, s, opts)
		if n := f.runs(t); n != runs+1 {
			t.Fatalf("a distribution in the working directory: %d runs, want %d (a miss)", n, runs+1)
		}
		runs++
		_ = snap
	})
	t.Run("PYENV_VERSION", func(t *testing.T) {
		o := opts
		o.Env = append(append([]string{}, env...), "PYENV_VERSION=3.12.1")
		miss(t, o, "numpy==1.26.4")
	})
	t.Run("pyenv version file", func(t *testing.T) {
		if err := os.WriteFile(filepath.Join(dir, ".python-version"), []byte("3.12.1\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		cachedProbe(t, s, opts)
		if n := f.runs(t); n != runs+1 {
			t.Fatalf("a new .python-version: %d runs, want %d (a miss)", n, runs+1)
		}
		runs++
	})
}

// A probe that did not say where it looked is never cached.
func TestPythonProbeCacheNeedsPaths(t *testing.T) {
	f := newFakePython(t)
	script := "#!/bin/sh\necho run >> '" + f.count + "'\n" +
		`printf '{"executable":"/x/python3","version":"3.99.1","implementation":"cpython","distributions":[]}'` + "\n"
	if err := os.WriteFile(f.exe, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	time.Sleep(60 * time.Millisecond)
	s := newTestStore(t)
	opts := EnvOptions{Dir: t.TempDir(), Env: []string{"PATH=" + f.bin}}
	cachedProbe(t, s, opts)
	cachedProbe(t, s, opts)
	if n := f.runs(t); n != 2 {
		t.Fatalf("%d interpreter runs, want 2", n)
	}
}

// With the real interpreter, the cached record is the bytes a fresh probe
// records.
func TestPythonProbeCacheRealPython(t *testing.T) {
	py := realPython(t)
	s := newTestStore(t)
	dir := t.TempDir()
	bin := binDir(t, map[string]string{"python3": py})
	opts := EnvOptions{Dir: dir, Env: []string{"PATH=" + bin, "HOME=" + dir}}
	fresh, freshRec := cachedProbe(t, s, opts)
	if fresh.Record.Python.Unavailable != "" {
		t.Fatalf("python: %s", fresh.Record.Python.Unavailable)
	}
	var key string
	if key = pythonCacheKey("python3", dir, opts.Env); key == "" {
		t.Fatal("no cache key for python3")
	}
	if _, ok := cachedPython(t.Context(), s, key, dir); !ok {
		t.Skip("the interpreter's directories changed while it was probed; nothing cached")
	}
	hit, hitRec := cachedProbe(t, s, opts)
	if hit.Digest != fresh.Digest || !bytes.Equal(hitRec, freshRec) {
		t.Fatalf("cached record differs:\n%s\n%s", hitRec, freshRec)
	}
}
