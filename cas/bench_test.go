package cas

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/zeebo/blake3"
)

// Benchmark data shaped like an experiment directory: numeric CSV, float32
// arrays (weights, predictions) and random bytes.
func benchData(kind string, n int) []byte {
	switch kind {
	case "csv":
		return csvBytes(n)
	case "float32":
		r := rand.New(rand.NewPCG(1, 2))
		b := make([]byte, n)
		for i := 0; i+4 <= n; i += 4 {
			binary.LittleEndian.PutUint32(b[i:], math.Float32bits(float32(r.NormFloat64()*0.05)))
		}
		return b
	default:
		return randBytes(3, n)
	}
}

// xorInPlace makes the content of each iteration new, so Put measures
// storing rather than deduplication.
func xorInPlace(b []byte, k byte) {
	for i := range b {
		b[i] ^= k
	}
}

func BenchmarkPut(b *testing.B) {
	for _, kind := range []string{"csv", "float32", "random"} {
		b.Run(kind, func(b *testing.B) {
			benchPut(b, kind, CompressZstd)
		})
	}
	// The same with s2 as the write codec, for comparison.
	b.Run("csv-s2", func(b *testing.B) { benchPut(b, "csv", CompressS2) })
}

func benchPut(b *testing.B, kind string, comp Compression) {
	s, err := Init(b.Context(), filepath.Join(b.TempDir(), ".rigor"), Options{Compression: comp})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	data := benchData(kind, 64<<20)
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		xorInPlace(data, byte(i+1)|1)
		b.StartTimer()
		if _, err := s.Put(b.Context(), bytes.NewReader(data), PutOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPutDedup puts content that is already stored.
func BenchmarkPutDedup(b *testing.B) {
	s := newDisk(b)
	data := benchData("random", 64<<20)
	if _, err := s.Put(b.Context(), bytes.NewReader(data), PutOptions{}); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := s.Put(b.Context(), bytes.NewReader(data), PutOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPutSmallFiles puts 20 KB random files, one Put each.
func BenchmarkPutSmallFiles(b *testing.B) {
	s := newDisk(b)
	data := randBytes(9, 20000+b.N*8)
	b.SetBytes(20000)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := s.Put(b.Context(), bytes.NewReader(data[i*8:i*8+20000]), PutOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkOpenRead(b *testing.B) {
	for _, kind := range []string{"csv", "random"} {
		b.Run(kind, func(b *testing.B) {
			s := newDisk(b)
			data := benchData(kind, 64<<20)
			info, err := s.Put(b.Context(), bytes.NewReader(data), PutOptions{})
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(len(data)))
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				r, err := s.Open(b.Context(), info.Digest)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := io.Copy(io.Discard, r); err != nil {
					b.Fatal(err)
				}
				r.Close()
			}
		})
	}
}

// BenchmarkChunker measures the gear chunker alone, for the chosen
// parameters and alternatives; avg-KiB reports the mean chunk size.
func BenchmarkChunker(b *testing.B) {
	params := []struct {
		name string
		p    cdcParams
	}{
		{"128K-512K-2M", cdcParams{min: 128 << 10, avg: 512 << 10, max: 2 << 20, smallBits: 21, largeBits: 17}},
		{"256K-1M-4M", cdcParams{min: 256 << 10, avg: 1 << 20, max: 4 << 20, smallBits: 22, largeBits: 18}},
		{"512K-1M-4M", cdcParams{min: 512 << 10, avg: 1 << 20, max: 4 << 20, smallBits: 22, largeBits: 18}},
		{"768K-1M-4M (default)", defaultCDC},
		{"512K-1M-8M", cdcParams{min: 512 << 10, avg: 1 << 20, max: 8 << 20, smallBits: 22, largeBits: 18}},
		{"512K-2M-8M", cdcParams{min: 512 << 10, avg: 2 << 20, max: 8 << 20, smallBits: 23, largeBits: 19}},
	}
	data := benchData("random", 64<<20)
	for _, pp := range params {
		b.Run(pp.name, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			var n int
			for i := 0; i < b.N; i++ {
				n = len(chunkBoundaries(&pp.p, data))
			}
			b.ReportMetric(float64(len(data))/float64(n)/1024, "avg-KiB")
		})
	}
}

func BenchmarkHash(b *testing.B) {
	data := benchData("random", 4<<20)
	b.SetBytes(int64(len(data)))
	for i := 0; i < b.N; i++ {
		blake3.Sum256(data)
	}
}

// BenchmarkCompress compares the codecs on 1 MiB chunks; ratio is stored
// size over logical size.
func BenchmarkCompress(b *testing.B) {
	c, err := newCodec(1, CompressZstd)
	if err != nil {
		b.Fatal(err)
	}
	defer c.close()
	for _, kind := range []string{"csv", "float32", "random"} {
		data := benchData(kind, 1<<20)
		format := func(f byte) func(dst, p []byte) []byte {
			return func(dst, p []byte) []byte { return c.encodeFormat(dst, p, f) }
		}
		for _, f := range []struct {
			name string
			enc  func(dst, p []byte) []byte
		}{
			{"zstd", format(fmtZstd)}, {"s2", format(fmtS2)}, {"huff", format(fmtHuff)},
			{"lanes", func(dst, p []byte) []byte { return encodeLanes(append(dst, fmtLanes), p, 4, 0) }},
		} {
			b.Run(fmt.Sprintf("%s/%s", kind, f.name), func(b *testing.B) {
				b.SetBytes(int64(len(data)))
				dst := make([]byte, 0, 2<<20)
				var out []byte
				for i := 0; i < b.N; i++ {
					out = f.enc(dst[:0], data)
				}
				b.ReportMetric(float64(len(out))/float64(len(data)), "ratio")
			})
			b.Run(fmt.Sprintf("%s/%s-decode", kind, f.name), func(b *testing.B) {
				v := f.enc(nil, data)
				dst := make([]byte, 0, len(data))
				b.SetBytes(int64(len(data)))
				for i := 0; i < b.N; i++ {
					if _, err := c.decode(dst, v, len(data)); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkCodecHint codes 64 MiB of each kind in chunk-sized values
// (1 MiB, cut 777 bytes apart so that element alignment varies) the way
// Put's workers do, with the choice carried from chunk to chunk
// (codecHint) and without it (a sample coded for every chunk). bytes is
// the total stored: the hint must not cost space.
func BenchmarkCodecHint(b *testing.B) {
	for _, kind := range []string{"float32", "csv", "random"} {
		data := benchData(kind, 64<<20)
		for _, hinted := range []bool{false, true} {
			name := kind + map[bool]string{false: "/sample-each", true: "/hint"}[hinted]
			b.Run(name, func(b *testing.B) {
				c, err := newCodec(1, CompressZstd)
				if err != nil {
					b.Fatal(err)
				}
				defer c.close()
				dst := make([]byte, 0, maxChunk+maxChunk/8)
				b.SetBytes(int64(len(data)))
				var total int
				for b.Loop() {
					var h *codecHint
					if hinted {
						h = new(codecHint)
					}
					total = 0
					for off := 0; off+1<<20 <= len(data); off += 1<<20 + 777 {
						out, ok := c.compressInto(dst, data[off:off+1<<20], h, int64(off))
						if ok {
							total += len(out)
						} else {
							total += 1 + 1<<20
						}
					}
				}
				b.ReportMetric(float64(total), "bytes")
			})
		}
	}
}
