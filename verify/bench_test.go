package verify

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	digest "github.com/opencontainers/go-digest"
	"github.com/zeebo/blake3"

	"github.com/rigor-dev/rigor/cas"
	"github.com/rigor-dev/rigor/ingest"
	"github.com/rigor-dev/rigor/spec"
)

// Benchmarks of issue 5. They build their data once under
// $RIGOR_BENCH_DIR (default: a directory in the system temp dir, kept
// between runs) so that repeated runs measure verification, not setup:
//
//	RIGOR_BENCH_DIR=/tmp/rigor-verify-bench go test ./verify -run '^$' \
//	    -bench 'VerifyDeep1GB|Lineage10k|RunsByRow10k' -benchtime 5x
//
// scripts/bench_verify.sh runs them next to b3sum over the same files and
// writes the figures to BENCHMARKS.md.

func benchDir(b *testing.B, name string) string {
	b.Helper()
	base := os.Getenv("RIGOR_BENCH_DIR")
	if base == "" {
		base = filepath.Join(os.TempDir(), "rigor-verify-bench")
	}
	dir := filepath.Join(base, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.Fatal(err)
	}
	return dir
}

// benchSize is the bytes of inputs and outputs of the deep-verify run:
// 1 GiB, or $RIGOR_BENCH_SIZE_MB.
func benchSize(b *testing.B) int64 {
	if v := os.Getenv("RIGOR_BENCH_SIZE_MB"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			b.Fatal(err)
		}
		return int64(n) << 20
	}
	return 1 << 30
}

// writeRandom writes n deterministic pseudo-random bytes to p.
func writeRandom(p string, n int64, seed uint64) (sha string, err error) {
	f, err := os.Create(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	r := rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8)})
	if _, err := io.Copy(io.MultiWriter(f, h), io.LimitReader(r, n)); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), f.Close()
}

// buildBigRun writes a Light run directory whose inputs and outputs total
// size bytes (eight input shards, predictions holding a fifth), and
// imports it into a store, unless a previous run left both behind.
func buildBigRun(b *testing.B, dir string, size int64) (*cas.Store, RunInfo, string) {
	b.Helper()
	ctx := context.Background()
	runDir := filepath.Join(dir, "run")
	storeDir := filepath.Join(dir, "store")
	done := filepath.Join(dir, fmt.Sprintf("complete-%d", size))
	if _, err := os.Stat(done); err != nil {
		os.RemoveAll(runDir)
		os.RemoveAll(storeDir)
		must(b, os.MkdirAll(filepath.Join(runDir, "inputs", "data"), 0o755))
		small := map[string]string{
			"config.json": "{\"seed\":42}\n", "environment.json": "{\"python\":\"3.11\"}\n", "train.py": "print('train')\n",
			"stdout.log": "ok\n", "stderr.log": "", "raw_metrics.jsonl": "{\"brier\":0.04}\n", "test_evidence.json": "{\"passed\":true}\n",
		}
		for name, content := range small {
			must(b, os.WriteFile(filepath.Join(runDir, name), []byte(content), 0o644))
		}
		ref := func(p string) map[string]any { return map[string]any{"path": p, "sha256": sha(small[p])} }
		predSize := size / 5
		shard := (size - predSize) / 8
		var inputs []any
		for i := range 8 {
			p := fmt.Sprintf("inputs/data/part-%d.bin", i)
			s, err := writeRandom(filepath.Join(runDir, p), shard, uint64(i+1))
			must(b, err)
			inputs = append(inputs, map[string]any{"role": "data", "path": p, "sha256": s, "source_revision": "v1"})
		}
		predSHA, err := writeRandom(filepath.Join(runDir, "predictions.csv"), size-8*shard, 99)
		must(b, err)
		m := map[string]any{
			"schema": spec.RunManifestSchema, "run_id": "BIG__seed-42__attempt-1", "matrix_row": "BIG", "status": "completed",
			"termination": map[string]any{"reason": "natural_exit", "exit_code": 0, "signal": nil},
			"seed":        map[string]any{"role": "fixed_repro", "value": 42}, "command": []any{"python", "train.py"},
			"started_at": "2026-07-02T10:00:00+08:00", "ended_at": "2026-07-02T10:01:00+08:00",
			"config": ref("config.json"), "environment": ref("environment.json"),
			"code":   map[string]any{"commit": "abc123", "dirty": false, "diff_sha256": nil, "files": []any{ref("train.py")}},
			"inputs": inputs,
			"artifacts": map[string]any{"stdout": ref("stdout.log"), "stderr": ref("stderr.log"), "raw_metrics": ref("raw_metrics.jsonl"),
				"predictions": map[string]any{"path": "predictions.csv", "sha256": predSHA}, "test_evidence": ref("test_evidence.json"), "failure": nil},
			"completion":      map[string]any{"status": "PASS", "oracle": []any{"tests"}, "evidence_artifacts": []any{"test_evidence", "raw_metrics", "predictions"}},
			"reproducibility": map[string]any{"pair_id": "BIG__seed-42", "comparison_role": "first", "compare_artifacts": []any{"predictions", "raw_metrics"}},
			"notes":           []any{},
		}
		mb, err := json.MarshalIndent(m, "", "  ")
		must(b, err)
		must(b, os.WriteFile(filepath.Join(runDir, "manifest.json"), mb, 0o644))
		s, err := cas.Init(ctx, storeDir, cas.Options{})
		must(b, err)
		_, err = ingest.ImportRun(ctx, s, runDir, ingest.ImportOptions{})
		must(b, err)
		must(b, s.Close())
		must(b, os.WriteFile(done, nil, 0o644))
	}
	s, err := cas.Open(ctx, storeDir, cas.Options{})
	must(b, err)
	b.Cleanup(func() { s.Close() })
	info, err := FindRun(ctx, s, "BIG__seed-42__attempt-1")
	must(b, err)
	return s, info, runDir
}

// BenchmarkVerifyDeep1GB is rigor verify --deep of one run holding 1 GiB of
// inputs and outputs: every blob re-read from the store, BLAKE3 checked
// against its digest and SHA-256 computed for the manifest check. Compare
// its MB/s with b3sum over run/ (scripts/bench_verify.sh).
func BenchmarkVerifyDeep1GB(b *testing.B) {
	size := benchSize(b)
	s, info, _ := buildBigRun(b, benchDir(b, "deep"), size)
	b.SetBytes(size)
	b.ResetTimer()
	for b.Loop() {
		rep, err := Run(b.Context(), s, info.Root, Options{Deep: true, Recorded: &info, Index: s})
		if err != nil {
			b.Fatal(err)
		}
		if !rep.OK || rep.HashedBytes < size {
			b.Fatalf("verify: ok=%v hashed %d of %d bytes: %q", rep.OK, rep.HashedBytes, size, messages(rep.Problems))
		}
	}
}

// BenchmarkStoreRead1GB reads every blob of the same run through the
// store's verifying reader (cas.Getter.Open) into io.Discard, two blobs at
// a time, and hashes nothing else: the floor any deep verification through
// that reader costs.
func BenchmarkStoreRead1GB(b *testing.B) {
	size := benchSize(b)
	s, info, _ := buildBigRun(b, benchDir(b, "deep"), size)
	var blobs []digest.Digest
	must(b, s.Walk(b.Context(), info.Root, func(p string, e cas.Entry) error {
		if e.Mode != cas.ModeTree {
			blobs = append(blobs, e.Digest)
		}
		return nil
	}))
	b.SetBytes(size)
	b.ResetTimer()
	for b.Loop() {
		errs := make(chan error, len(blobs))
		sem := make(chan struct{}, 2)
		for _, d := range blobs {
			go func() {
				sem <- struct{}{}
				defer func() { <-sem }()
				rc, err := s.Open(b.Context(), d)
				if err != nil {
					errs <- err
					return
				}
				defer rc.Close()
				_, err = io.CopyBuffer(io.Discard, rc, make([]byte, 1<<20))
				errs <- err
			}()
		}
		for range blobs {
			if err := <-errs; err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkBLAKE3Files1GB hashes the same files from disk with BLAKE3 in
// Go, one goroutine per file: a floor for what a BLAKE3-only pass costs.
func BenchmarkBLAKE3Files1GB(b *testing.B) {
	size := benchSize(b)
	_, _, runDir := buildBigRun(b, benchDir(b, "deep"), size)
	var files []string
	filepath.WalkDir(runDir, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			files = append(files, p)
		}
		return err
	})
	b.SetBytes(size)
	b.ResetTimer()
	for b.Loop() {
		errs := make(chan error, len(files))
		sem := make(chan struct{}, 2)
		for _, p := range files {
			go func() {
				sem <- struct{}{}
				defer func() { <-sem }()
				f, err := os.Open(p)
				if err != nil {
					errs <- err
					return
				}
				defer f.Close()
				h := blake3.New()
				_, err = io.CopyBuffer(h, f, make([]byte, 1<<20))
				errs <- err
			}()
		}
		for range files {
			if err := <-errs; err != nil {
				b.Fatal(err)
			}
		}
	}
}

// benchRuns is the number of runs of the generated store: 10,000, or
// $RIGOR_BENCH_RUNS.
func benchRuns(b *testing.B) int {
	if v := os.Getenv("RIGOR_BENCH_RUNS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 100 || n%100 != 0 {
			b.Fatalf("RIGOR_BENCH_RUNS=%q: want a multiple of 100", v)
		}
		return n
	}
	return 10000
}

// genRuns records n synthetic runs through ingest.RecordRun (the path
// rigor run and rigor import take): 100 rows × n/100 seeds; each run reads
// the previous seed's predictions of its row, so lineage forms chains.
func genRuns(b *testing.B, dir string, n int) *cas.Store {
	b.Helper()
	ctx := context.Background()
	storeDir := filepath.Join(dir, "store")
	done := filepath.Join(dir, fmt.Sprintf("complete-%d", n))
	if _, err := os.Stat(done); err != nil {
		os.RemoveAll(storeDir)
		s, err := cas.Init(ctx, storeDir, cas.Options{})
		must(b, err)
		const rows = 100
		start := time.Now()
		for i := range n {
			row, seed := fmt.Sprintf("EXP-%03d", i%rows), int64(i/rows)
			bd := selftestBundle()
			bd.manifest["matrix_row"] = row
			bd.obj("seed")["value"] = int(seed)
			input := fmt.Sprintf("p\n%d.%d\n", i%rows, seed-1)
			if seed == 0 {
				input = fmt.Sprintf("raw data of %s\n", row)
			}
			bd.files["data.csv"] = input
			setInput(bd, input)
			bd.setFile("config.json", fmt.Sprintf("{\"seed\":%d}\n", seed), bd.obj("config"))
			bd.setFile("predictions.csv", fmt.Sprintf("p\n%d.%d\n", i%rows, seed), bd.obj("artifacts", "predictions"))
			recordRun(b, s, bd, 1)
			if i%1000 == 999 {
				b.Logf("generated %d runs in %v", i+1, time.Since(start).Round(time.Second))
			}
		}
		must(b, s.Close())
		must(b, os.WriteFile(done, nil, 0o644))
	}
	s, err := cas.Open(ctx, storeDir, cas.Options{})
	must(b, err)
	b.Cleanup(func() { s.Close() })
	return s
}

// BenchmarkLineage10k is rigor lineage on a store of 10,000 runs: the
// predictions of one run, traced up and down its chain.
func BenchmarkLineage10k(b *testing.B) {
	s := genRuns(b, benchDir(b, "runs10k"), benchRuns(b))
	target := blobOf(fmt.Sprintf("p\n42.%d\n", benchRuns(b)/200)).String() // EXP-042, mid-chain: produced by one run, read by the next
	b.ResetTimer()
	for b.Loop() {
		l, err := TraceLineage(b.Context(), s, s, target, LineageOptions{})
		if err != nil {
			b.Fatal(err)
		}
		if len(l.ProducedBy()) != 1 || len(l.UsedBy()) != 1 {
			b.Fatalf("lineage of %s: produced by %d, used by %d", target, len(l.ProducedBy()), len(l.UsedBy()))
		}
	}
}

// BenchmarkLineageDirect10k answers only "which runs used it, which produced
// it" (depth 1) on the same store.
func BenchmarkLineageDirect10k(b *testing.B) {
	s := genRuns(b, benchDir(b, "runs10k"), benchRuns(b))
	target := blobOf(fmt.Sprintf("p\n42.%d\n", benchRuns(b)/200)).String()
	b.ResetTimer()
	for b.Loop() {
		if _, err := TraceLineage(b.Context(), s, s, target, LineageOptions{MaxDepth: 1}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRunsByRow10k is the query behind rigor runs --row on a store of
// 10,000 runs: one prefix scan of the runs index, 100 summaries decoded.
func BenchmarkRunsByRow10k(b *testing.B) {
	n := benchRuns(b)
	s := genRuns(b, benchDir(b, "runs10k"), n)
	b.ResetTimer()
	for b.Loop() {
		runs, err := ListRuns(b.Context(), s, RunFilter{Row: "EXP-042"})
		if err != nil {
			b.Fatal(err)
		}
		if len(runs) != n/100 {
			b.Fatalf("%d runs of EXP-042", len(runs))
		}
	}
}

// BenchmarkRunsByInput10k is rigor runs --input on the same store.
func BenchmarkRunsByInput10k(b *testing.B) {
	s := genRuns(b, benchDir(b, "runs10k"), benchRuns(b))
	input := blobOf("raw data of EXP-042\n").String()
	b.ResetTimer()
	for b.Loop() {
		runs, err := RunsUsing(b.Context(), s, input)
		if err != nil {
			b.Fatal(err)
		}
		if len(runs) != 1 {
			b.Fatalf("%d runs used %s", len(runs), input)
		}
	}
}
