package ingest

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/rigor-dev/rigor/cas"
)

// benchInputSize is the size of the input BenchmarkInputRecord records:
// 1 GiB, or RIGOR_BENCH_INPUT_BYTES.
func benchInputSize(b *testing.B) int64 {
	if s := os.Getenv("RIGOR_BENCH_INPUT_BYTES"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			b.Fatal(err)
		}
		return n
	}
	return 1 << 30
}

// writeRandomFile writes size incompressible, non-repeating bytes, so
// neither compression nor chunk deduplication can shortcut the first
// recording.
func writeRandomFile(b *testing.B, p string, size int64) {
	f, err := os.Create(p)
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.NewChaCha8([32]byte{'r', 'i', 'g', 'o', 'r'})
	buf := make([]byte, 4<<20)
	for left := size; left > 0; left -= int64(len(buf)) {
		n := min(int64(len(buf)), left)
		rng.Read(buf[:n])
		if _, err := f.Write(buf[:n]); err != nil {
			b.Fatal(err)
		}
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkInputRecord records one large data input into an on-disk
// store: "first" into an empty store (every byte read, hashed twice and
// stored), "unchanged" again into a store that already holds it (the stat
// cache and the SHA-256 index answer; nothing is read), "rehash" again
// with Rehash set. The goal (issue 3): unchanged costs under 5% of first.
func BenchmarkInputRecord(b *testing.B) {
	size := benchInputSize(b)
	dir := b.TempDir()
	input := filepath.Join(dir, "input.bin")
	writeRandomFile(b, input, size)
	opts := InputOptions{Role: "data", SourceRevision: "bench"}
	open := func(b *testing.B) *cas.Store {
		s, err := cas.Init(b.Context(), filepath.Join(b.TempDir(), ".rigor"), cas.Options{})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { s.Close() })
		return s
	}
	b.Run("first", func(b *testing.B) {
		b.SetBytes(size)
		for b.Loop() {
			b.StopTimer()
			in := New(open(b), Options{})
			b.StartTimer()
			if _, err := in.RecordInput(b.Context(), input, opts); err != nil {
				b.Fatal(err)
			}
		}
	})
	for _, rehash := range []bool{false, true} {
		name := "unchanged"
		if rehash {
			name = "rehash"
		}
		b.Run(name, func(b *testing.B) {
			in := New(open(b), Options{})
			if _, err := in.RecordInput(b.Context(), input, opts); err != nil {
				b.Fatal(err)
			}
			o := opts
			o.Rehash = rehash
			b.SetBytes(size)
			for b.Loop() {
				snap, err := in.RecordInput(b.Context(), input, o)
				if err != nil {
					b.Fatal(err)
				}
				if !rehash && snap.Result.ReadBytes != 0 {
					b.Fatalf("unchanged input read %d bytes", snap.Result.ReadBytes)
				}
			}
		})
	}
}

// BenchmarkAddPathManyFiles adds a tree of 2000 files of 64 KiB (125 MiB)
// into an on-disk store: "first" into an empty store, "unchanged" again.
func BenchmarkAddPathManyFiles(b *testing.B) {
	const files, size = 2000, 64 << 10
	dir := b.TempDir()
	rng := rand.NewChaCha8([32]byte{'t', 'r', 'e', 'e'})
	buf := make([]byte, size)
	for i := range files {
		p := filepath.Join(dir, "d"+strconv.Itoa(i%40), "f"+strconv.Itoa(i)+".bin")
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			b.Fatal(err)
		}
		rng.Read(buf)
		if err := os.WriteFile(p, buf, 0o644); err != nil {
			b.Fatal(err)
		}
	}
	open := func(b *testing.B) *cas.Store {
		s, err := cas.Init(b.Context(), filepath.Join(b.TempDir(), ".rigor"), cas.Options{})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { s.Close() })
		return s
	}
	b.Run("first", func(b *testing.B) {
		b.SetBytes(files * size)
		for b.Loop() {
			b.StopTimer()
			in := New(open(b), Options{})
			b.StartTimer()
			if _, err := in.AddPath(b.Context(), dir, AddOptions{}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("unchanged", func(b *testing.B) {
		in := New(open(b), Options{})
		if _, err := in.AddPath(b.Context(), dir, AddOptions{}); err != nil {
			b.Fatal(err)
		}
		b.SetBytes(files * size)
		for b.Loop() {
			if _, err := in.AddPath(b.Context(), dir, AddOptions{}); err != nil {
				b.Fatal(err)
			}
		}
	})
}
