package exec

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	osexec "os/exec"
	"path/filepath"
	"testing"
	"time"
)

// The benchmarks of issue 4 run the rigor binary as a user would; their
// figures are in BENCHMARKS.md ("## Run"), with the command that produced
// them:
//
//	go test ./exec -run '^$' -bench . -benchtime 20x -timeout 30m

// benchStore makes a warm store and a small code tree (a git work tree of a
// few files), as a project has them.
func benchStore(b *testing.B, bin string) (store, dir string) {
	b.Helper()
	dir = b.TempDir()
	store = filepath.Join(dir, ".rigor")
	for rel, content := range map[string]string{
		"src/train.py": trainPy, "src/model.py": "W = 1\n", "README.md": "project\n",
		"configs/exp01.json": "{}\n", ".gitignore": ".rigor/\n",
	} {
		p := filepath.Join(dir, rel)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	for _, args := range [][]string{
		{"git", "init", "-q"}, {"git", "add", "-A"},
		{"git", "-c", "user.email=bench@example.test", "-c", "user.name=bench", "commit", "-qm", "init"},
		{bin, "--store", store, "init", "-q"},
	} {
		c := osexec.Command(args[0], args[1:]...)
		c.Dir = dir
		if out, err := c.CombinedOutput(); err != nil {
			b.Fatalf("%v: %v\n%s", args, err, out)
		}
	}
	// Warm: the stat cache knows the code, the page cache the store.
	for range 2 {
		benchRun(b, bin, store, dir, io.Discard, "true")
	}
	return store, dir
}

// benchRun runs `rigor --json run` and returns its result.
func benchRun(b *testing.B, bin, store, dir string, stdout io.Writer, argv ...string) runJSON {
	b.Helper()
	var out bytes.Buffer
	c := osexec.Command(bin, append([]string{"--store", store, "--json", "run", "--row", "BENCH", "--seed", "1", "--"}, argv...)...)
	c.Dir = dir
	c.Stdout = &out
	c.Stderr = stdout // with --json the program's stdout goes to stderr
	err := c.Run()
	if ee, ok := err.(*osexec.ExitError); ok && ee.ExitCode() == 1 {
		err = nil // completed without outputs: completion FAIL, recorded
	}
	if err != nil {
		b.Fatalf("rigor run: %v\n%s", err, out.String())
	}
	var r runJSON
	if err := json.Unmarshal(out.Bytes(), &r); err != nil {
		b.Fatalf("%v in %q", err, out.String())
	}
	return r
}

type runJSON struct {
	RunID      string `json:"run_id"`
	Status     string `json:"status"`
	DurationMS int64  `json:"duration_ms"`
}

// BenchmarkRunOverhead compares `rigor run -- true` with `true` on a warm
// store and a small code tree, each iteration running both, so that a
// change in machine load hits both alike. "overhead-ms" is the mean
// difference: two store opens, the config, code and environment snapshots
// (on a warm store the Python section comes from the store's cache, see
// ingest.PythonProbeIndex: no interpreter starts), the attempt
// reservation, and the recording.
func BenchmarkRunOverhead(b *testing.B) {
	bin := rigorBinary(b)
	store, dir := benchStore(b, bin)
	var plain, rigor time.Duration
	for b.Loop() {
		t0 := time.Now()
		if err := osexec.Command("true").Run(); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		benchRun(b, bin, store, dir, io.Discard, "true")
		plain += t1.Sub(t0)
		rigor += time.Since(t1)
	}
	n := float64(b.N)
	b.ReportMetric(float64(plain.Milliseconds())/n, "true-ms")
	b.ReportMetric(float64(rigor.Milliseconds())/n, "rigor-ms")
	b.ReportMetric(float64((rigor-plain).Milliseconds())/n, "overhead-ms")
}

// BenchmarkStdoutThroughput streams 1 GiB of incompressible bytes, from the
// same page-cached file, each iteration through all three of:
//
//   - cat-null: cat | cat > /dev/null (nothing kept);
//   - cat-file: cat | cat > FILE, FILE in the store directory (the stream
//     kept on the same file system, which is what rigor must do too);
//   - rigor: rigor run -- cat FILE, terminal side /dev/null, the stream
//     spooled into the store directory.
//
// The rigor rate is the rate while the program ran (its duration_ms), the
// part that competes with cat; "rigor-record-s" is the time rigor then takes
// to record the 1 GiB log in the store (BLAKE3, zstd, Badger).
func BenchmarkStdoutThroughput(b *testing.B) {
	bin := rigorBinary(b)
	store, dir := benchStore(b, bin)
	big := filepath.Join(b.TempDir(), "big.bin")
	f, err := os.Create(big)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := io.CopyN(f, newXorshift(1), 1<<30); err != nil {
		b.Fatal(err)
	}
	f.Close()
	devnull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		b.Fatal(err)
	}
	defer devnull.Close()
	osexec.Command("cat", big).Run() // into the page cache
	catTo := func(dst string) time.Duration {
		t0 := time.Now()
		if err := osexec.Command("sh", "-c", "cat \"$0\" | cat > \"$1\"", big, dst).Run(); err != nil {
			b.Fatal(err)
		}
		d := time.Since(t0)
		if dst != os.DevNull {
			os.Remove(dst)
		}
		return d
	}
	var null, file, stream, total time.Duration
	for b.Loop() {
		null += catTo(os.DevNull)
		file += catTo(filepath.Join(store, "bench-stream.bin"))
		t0 := time.Now()
		r := benchRun(b, bin, store, dir, devnull, "cat", big)
		total += time.Since(t0)
		stream += time.Duration(r.DurationMS) * time.Millisecond
	}
	mbps := func(d time.Duration) float64 { return float64(b.N) * (1 << 30) / 1e6 / d.Seconds() }
	b.ReportMetric(mbps(null), "cat-null-MB/s")
	b.ReportMetric(mbps(file), "cat-file-MB/s")
	b.ReportMetric(mbps(stream), "rigor-MB/s")
	b.ReportMetric(mbps(stream)/mbps(file), "rigor/cat-file")
	b.ReportMetric(mbps(stream)/mbps(null), "rigor/cat-null")
	b.ReportMetric((total-stream).Seconds()/float64(b.N), "rigor-record-s")
}

// xorshift is a fast deterministic source of incompressible bytes.
type xorshift struct{ s uint64 }

func newXorshift(seed uint64) *xorshift { return &xorshift{s: seed*0x9E3779B97F4A7C15 + 1} }

func (x *xorshift) Read(p []byte) (int, error) {
	for i := range p {
		if i%8 == 0 {
			x.s ^= x.s << 13
			x.s ^= x.s >> 7
			x.s ^= x.s << 17
		}
		p[i] = byte(x.s >> (8 * (i % 8)))
	}
	return len(p), nil
}
