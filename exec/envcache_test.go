package exec

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A second run with an unchanged interpreter takes the Python section of
// its environment record from the store: no interpreter starts, and the
// record is the same bytes; RehashEnv probes again.
func TestRunPythonProbeCached(t *testing.T) {
	t.Parallel()
	p := newTestProject(t)
	bin, site := t.TempDir(), t.TempDir()
	count := filepath.Join(t.TempDir(), "runs")
	if err := os.Mkdir(filepath.Join(site, "numpy-1.26.4.dist-info"), 0o755); err != nil {
		t.Fatal(err)
	}
	script := "#!/bin/sh\necho run >> '" + count + "'\n" +
		`printf '{"executable":"` + filepath.Join(bin, "python3") + `","version":"3.99.1","sys_version":"3.99.1","implementation":"cpython","platform":"Fake-1","prefix":"/x","metadata":true,"distributions":[{"name":"numpy","version":"1.26.4"}],"path":["","` + site + `"],"site":["` + site + `"]}'` + "\n"
	if err := os.WriteFile(filepath.Join(bin, "python3"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	time.Sleep(60 * time.Millisecond) // answers about just-changed files are not kept
	runs := func() int {
		b, _ := os.ReadFile(count)
		return strings.Count(string(b), "run\n")
	}
	opts := p.options("true")
	opts.Env = []string{"PATH=" + bin + ":" + os.Getenv("PATH"), "HOME=" + p.dir}
	a := p.run(opts)
	b := p.run(opts)
	if n := runs(); n != 1 {
		t.Fatalf("two runs started the interpreter %d times, want 1", n)
	}
	opts.RehashEnv = true
	c := p.run(opts)
	if n := runs(); n != 2 {
		t.Fatalf("RehashEnv: %d interpreter runs, want 2", n)
	}
	ea, eb, ec := p.file(a.Root, "environment.json"), p.file(b.Root, "environment.json"), p.file(c.Root, "environment.json")
	if ea != eb || ea != ec {
		t.Fatalf("environment records differ:\nprobed: %s\ncached: %s\nrehashed: %s", ea, eb, ec)
	}
	if !strings.Contains(ea, `"numpy"`) {
		t.Fatalf("no numpy in %s", ea)
	}
}
