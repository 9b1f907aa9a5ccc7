// Command benchgen writes a deterministic, experiment-like tree for the
// store benchmarks: a numeric CSV, float32 arrays and many small
// incompressible files. Sizes scale with -scale (1.0 is about 1 GB).
package main

import (
	"bufio"
	"encoding/binary"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
)

func main() {
	dir := flag.String("dir", "bench-data", "output directory")
	scale := flag.Float64("scale", 1.0, "size factor; 1.0 is about 1 GB")
	flag.Parse()
	if err := generate(*dir, *scale); err != nil {
		fmt.Fprintln(os.Stderr, "benchgen:", err)
		os.Exit(1)
	}
}

func generate(dir string, scale float64) error {
	rng := rand.New(rand.NewPCG(1, 2))
	if err := os.MkdirAll(filepath.Join(dir, "arrays"), 0o755); err != nil {
		return err
	}
	// ~150 MB numeric CSV.
	if err := writeCSV(filepath.Join(dir, "features.csv"), int64(150e6*scale), rng); err != nil {
		return err
	}
	// ~600 MB of float32 arrays in 6 files.
	for i := 0; i < 6; i++ {
		p := filepath.Join(dir, "arrays", fmt.Sprintf("embeddings-%d.f32", i))
		if err := writeFloats(p, int64(100e6*scale), rng); err != nil {
			return err
		}
	}
	// 5,000 small incompressible files, ~100 MB in all, in 50 directories.
	n := int(5000 * scale)
	if n < 10 {
		n = 10
	}
	buf := make([]byte, 40000)
	for i := 0; i < n; i++ {
		sub := filepath.Join(dir, "samples", fmt.Sprintf("shard-%02d", i%50))
		if err := os.MkdirAll(sub, 0o755); err != nil {
			return err
		}
		size := 10000 + rng.IntN(30000)
		for j := 0; j < size; j += 8 {
			binary.LittleEndian.PutUint64(buf[j:], rng.Uint64())
		}
		if err := os.WriteFile(filepath.Join(sub, fmt.Sprintf("sample-%05d.bin", i)), buf[:size], 0o644); err != nil {
			return err
		}
	}
	return nil
}

func writeCSV(p string, size int64, rng *rand.Rand) error {
	f, err := os.Create(p)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	var written int64
	n, _ := w.WriteString("id,patient,age,f1,f2,f3,f4,f5,f6,label\n")
	written += int64(n)
	line := make([]byte, 0, 256)
	for row := 0; written < size; row++ {
		line = line[:0]
		line = strconv.AppendInt(line, int64(row), 10)
		line = append(line, ',', 'P')
		line = strconv.AppendInt(line, int64(rng.IntN(5000)), 10)
		line = append(line, ',')
		line = strconv.AppendInt(line, int64(20+rng.IntN(60)), 10)
		for k := 0; k < 6; k++ {
			line = append(line, ',')
			line = strconv.AppendFloat(line, rng.NormFloat64()*10, 'f', 6, 64)
		}
		line = append(line, ',')
		line = strconv.AppendInt(line, int64(rng.IntN(2)), 10)
		line = append(line, '\n')
		n, err := w.Write(line)
		if err != nil {
			return err
		}
		written += int64(n)
	}
	if err := w.Flush(); err != nil {
		return err
	}
	return f.Close()
}

func writeFloats(p string, size int64, rng *rand.Rand) error {
	f, err := os.Create(p)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	var b [4]byte
	for i := int64(0); i < size/4; i++ {
		binary.LittleEndian.PutUint32(b[:], math.Float32bits(float32(rng.NormFloat64())))
		if _, err := w.Write(b[:]); err != nil {
			return err
		}
	}
	if err := w.Flush(); err != nil {
		return err
	}
	return f.Close()
}
