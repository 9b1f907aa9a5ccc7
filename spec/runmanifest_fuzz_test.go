package spec

import (
	"encoding/json"
	"strings"
	"sync"
	"testing"
)

// recordingFiles is a memFiles that remembers every path it was asked for.
type recordingFiles struct {
	memFiles
	mu    sync.Mutex
	asked []string
}

func (r *recordingFiles) SHA256(rel string) (string, error) {
	r.mu.Lock()
	r.asked = append(r.asked, rel)
	r.mu.Unlock()
	return r.memFiles.SHA256(rel)
}

// FuzzCheckRunManifest (issue 10): the run-manifest checker never panics
// on any bytes, is deterministic, says OK exactly when it lists no error,
// accepts only manifests rigor can decode, and never asks the run
// directory for a path outside it (import reads what it asks for).
func FuzzCheckRunManifest(f *testing.F) {
	files, m := bundle()
	valid, _ := json.Marshal(m)
	f.Add(valid)
	f.Add(append([]byte("\xef\xbb\xbf"), valid...))
	for _, p := range []string{"../etc/passwd", "/etc/passwd", "a/../../x", `..\..\x`, "code/\x00x", "./config.json", ""} {
		m["config"] = map[string]any{"path": p, "sha256": sha("x")}
		b, _ := json.Marshal(m)
		f.Add(b)
	}
	f.Add([]byte(`{"schema": "light.run_manifest.v3"}`))
	f.Add([]byte(strings.Repeat("[", 20000) + strings.Repeat("]", 20000)))
	f.Add([]byte(`{"inputs": [{"path": "x", "sha256": 1e999}], "seed": {"value": -1}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		rf := &recordingFiles{memFiles: files}
		c := CheckRunManifest(data, rf, testNow)
		if c.OK != (len(c.Errors) == 0) {
			t.Fatalf("OK %v with errors %q", c.OK, c.Errors)
		}
		for _, rel := range rf.asked {
			if clean, ok := RunRelPath(rel); !ok || clean != rel {
				t.Fatalf("checker asked for %q, which is not a clean path inside the run", rel)
			}
		}
		if c.OK {
			var rm RunManifest
			if err := json.Unmarshal(data[len(data)-len(strings.TrimPrefix(string(data), "\xef\xbb\xbf")):], &rm); err != nil {
				t.Fatalf("checker accepted a manifest rigor cannot decode: %v", err)
			}
		}
		for _, p := range ManifestPaths(data) {
			if clean, ok := RunRelPath(p); !ok || clean != p {
				t.Fatalf("ManifestPaths gave %q, not a clean path inside the run", p)
			}
		}
		c2 := CheckRunManifest(data, &recordingFiles{memFiles: files}, testNow)
		if strings.Join(c.Errors, "\n") != strings.Join(c2.Errors, "\n") || c.OK != c2.OK {
			t.Fatalf("not deterministic: %q then %q", c.Errors, c2.Errors)
		}
	})
}
