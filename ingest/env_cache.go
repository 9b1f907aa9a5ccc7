package ingest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/rigor-dev/rigor/cas"
	"github.com/rigor-dev/rigor/spec"
)

// PythonProbeIndex is the store index that caches the Python section of
// environment records (see EnvOptions.Cache). Its keys are the hex BLAKE3
// digest of what names the interpreter (its resolved path and stat, the
// environment variables and version files that select or configure it, the
// kernel release and the C library cache); its values are JSON: the Python
// section and the stat fingerprints of every place a distribution could
// appear, which must all still match for the entry to be used.
const PythonProbeIndex = "python-probe"

// pythonCacheEntry is one value of PythonProbeIndex.
type pythonCacheEntry struct {
	Checks map[string]string `json:"checks"` // path -> fingerprint
	Python spec.PythonInfo   `json:"python"`
}

// pythonEnvKeys are the environment variables, beyond every PYTHON* and
// PYENV* one, that can change the interpreter a name resolves to or what
// it finds installed.
var pythonEnvKeys = []string{"PATH", "HOME", "VIRTUAL_ENV", "CONDA_PREFIX", "LD_LIBRARY_PATH", "LD_PRELOAD", "ASDF_DATA_DIR", "XDG_DATA_HOME"}

// versionFiles are the files that version managers (pyenv, asdf) read up
// the directory tree to pick the interpreter behind a shim.
var versionFiles = []string{".python-version", ".tool-versions"}

// pythonCacheKey describes what selects the interpreter name in dir with
// env, before it runs: "" when name does not resolve (nothing to cache).
func pythonCacheKey(name, dir string, env []string) string {
	prog, err := lookPath(name, env)
	if err != nil {
		return ""
	}
	if !filepath.IsAbs(prog) {
		prog = filepath.Join(dir, prog)
	}
	absDir, err := filepath.Abs(dir)
	if err != nil {
		return ""
	}
	var b strings.Builder
	line := func(k, v string) { fmt.Fprintf(&b, "%s=%q\n", k, v) }
	line("v", "1")
	line("name", name)
	line("prog", prog)
	line("prog.stat", fingerprint(prog, true))
	line("prog.lstat", fingerprint(prog, false))
	line("dir", absDir)
	var keys []string
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "PYTHON") || strings.HasPrefix(k, "PYENV") || slices.Contains(pythonEnvKeys, k) {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for _, k := range slices.Compact(keys) {
		line("env."+k, getenv(env, k))
	}
	for d := absDir; ; d = filepath.Dir(d) {
		for _, f := range versionFiles {
			line("version:"+filepath.Join(d, f), contentOf(filepath.Join(d, f)))
		}
		if d == filepath.Dir(d) {
			break
		}
	}
	root := getenv(env, "PYENV_ROOT")
	if root == "" && getenv(env, "HOME") != "" {
		root = filepath.Join(getenv(env, "HOME"), ".pyenv")
	}
	if root != "" {
		line("pyenv.version", contentOf(filepath.Join(root, "version")))
		// A version prefix ("3.12") picks the latest installed match.
		line("pyenv.versions", fingerprint(filepath.Join(root, "versions"), true))
	}
	line("kernel", readTrim("/proc/sys/kernel/osrelease"))
	line("ld.so.cache", fingerprint("/etc/ld.so.cache", true))
	return cas.FromBytes([]byte(b.String())).Encoded()
}

// contentOf is a file's content, quoted, or "-" when it cannot be read.
func contentOf(p string) string {
	c, err := os.ReadFile(p)
	if err != nil {
		return "-"
	}
	return strconv.Quote(string(c))
}

// fingerprint is the stat of p (following links when follow): kind, size,
// mtime, inode and ctime, or "absent".
func fingerprint(p string, follow bool) string {
	stat := os.Lstat
	if follow {
		stat = os.Stat
	}
	fi, err := stat(p)
	if err != nil {
		return "absent"
	}
	return statString(p, fi)
}

func statString(p string, fi fs.FileInfo) string {
	k := statKey(p, fi)
	return fmt.Sprintf("%v/%d/%d/%d/%d", fi.Mode().Type(), k.Size, k.Mtime.UnixNano(), k.Inode, k.Ctime.UnixNano())
}

// metadataEntry reports whether a directory entry name is one through
// which importlib.metadata or site finds distributions or more paths.
func metadataEntry(name string) bool {
	for _, ext := range []string{".dist-info", ".egg-info", ".egg", ".egg-link", ".pth"} {
		if strings.HasSuffix(name, ext) {
			return true
		}
	}
	return false
}

// pathFingerprint describes a sys.path entry: the entry's own stat (unless
// it is the working directory, whose files come and go with every run),
// and for a directory the name and stat of every metadata entry in it. The
// latest ctime or mtime seen is returned too.
func pathFingerprint(p string, own bool) (string, time.Time) {
	fi, err := os.Stat(p)
	if err != nil {
		return "absent", time.Time{}
	}
	var b strings.Builder
	var latest time.Time
	seen := func(fi fs.FileInfo) {
		k := statKey(p, fi)
		latest = maxTime(latest, maxTime(k.Mtime, k.Ctime))
	}
	if own {
		b.WriteString(statString(p, fi))
		seen(fi)
	} else {
		b.WriteString(fi.Mode().Type().String())
	}
	if !fi.IsDir() {
		return b.String(), latest
	}
	ents, err := os.ReadDir(p)
	if err != nil {
		return "unreadable", latest
	}
	for _, e := range ents { // sorted by name
		if !metadataEntry(e.Name()) {
			continue
		}
		efi, err := e.Info()
		if err != nil {
			b.WriteString("\n" + e.Name() + " gone")
			continue
		}
		seen(efi)
		b.WriteString("\n" + e.Name() + " " + statString(p, efi))
	}
	return b.String(), latest
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// pythonChecks lists what a probe's answer depends on beyond its key: the
// interpreter it reports, a venv's pyvenv.cfg, and every sys.path entry and
// site directory. ok is false when the probe did not say where it looked
// (nothing can be cached) or something changed while it ran (after).
func pythonChecks(po pythonOutput, dir string, after time.Time) (map[string]string, bool) {
	if po.Path == nil || po.Site == nil || po.Executable == "" {
		return nil, false
	}
	absDir, err := filepath.Abs(dir)
	if err != nil {
		return nil, false
	}
	checks := map[string]string{}
	var latest time.Time
	add := func(p string, own bool) {
		if !filepath.IsAbs(p) {
			p = filepath.Join(absDir, p)
		}
		p = filepath.Clean(p)
		own = own && p != absDir
		if _, dup := checks[p]; dup {
			return
		}
		fp, t := pathFingerprint(p, own)
		checks[p] = fp
		latest = maxTime(latest, t)
	}
	exe := filepath.Clean(po.Executable)
	checks["exe:"+exe] = fingerprint(exe, true)
	for _, p := range []string{filepath.Join(filepath.Dir(exe), "pyvenv.cfg"), filepath.Join(filepath.Dir(filepath.Dir(exe)), "pyvenv.cfg")} {
		checks["file:"+p] = fingerprint(p, true)
	}
	for _, p := range po.Path {
		add(p, true)
	}
	for _, p := range po.Site {
		add(p, true)
	}
	if !latest.Before(after) {
		return nil, false
	}
	return checks, true
}

// checksHold reports whether every check still gives the same fingerprint.
func checksHold(checks map[string]string, dir string) bool {
	absDir, err := filepath.Abs(dir)
	if err != nil || len(checks) == 0 {
		return false
	}
	for p, want := range checks {
		var got string
		switch {
		case strings.HasPrefix(p, "exe:"):
			got = fingerprint(strings.TrimPrefix(p, "exe:"), true)
		case strings.HasPrefix(p, "file:"):
			got = fingerprint(strings.TrimPrefix(p, "file:"), true)
		default:
			got, _ = pathFingerprint(p, p != absDir)
		}
		if got != want {
			return false
		}
	}
	return true
}

// cachedPython returns the cached Python section for key if its checks
// still hold. Any doubt (no entry, a store error, an undecodable entry, a
// changed fingerprint) is a miss.
func cachedPython(ctx context.Context, idx cas.Indexer, key, dir string) (spec.PythonInfo, bool) {
	var val []byte
	err := idx.ScanIndex(ctx, PythonProbeIndex, []byte(key), func(k, v []byte) error {
		if string(k) == key {
			val = v
		}
		return nil
	})
	if err != nil || val == nil {
		return spec.PythonInfo{}, false
	}
	var e pythonCacheEntry
	dec := json.NewDecoder(bytes.NewReader(val))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil || e.Python.Version == "" || e.Python.Unavailable != "" {
		return spec.PythonInfo{}, false
	}
	if !checksHold(e.Checks, dir) {
		return spec.PythonInfo{}, false
	}
	return e.Python, true
}

// savePython stores a fresh probe's answer under key; failing to is not an
// error (the next run probes again).
func savePython(ctx context.Context, idx cas.Indexer, key string, checks map[string]string, info spec.PythonInfo) {
	v, err := json.Marshal(pythonCacheEntry{Checks: checks, Python: info})
	if err != nil {
		return
	}
	_ = idx.PutIndex(ctx, PythonProbeIndex, []byte(key), v)
}
