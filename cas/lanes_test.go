package cas

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"math/rand/v2"
	"strconv"
	"testing"
)

func float64Input(n int) []byte {
	rng := rand.New(rand.NewPCG(9, 10))
	b := make([]byte, 0, n)
	for len(b) < n {
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(rng.NormFloat64()*3))
	}
	return b
}

func TestLanesRoundTrip(t *testing.T) {
	c, err := newCodec(1, CompressZstd)
	if err != nil {
		t.Fatal(err)
	}
	defer c.close()
	in := huffInputs()
	f32, f64 := in["floats"], float64Input(300<<10)
	for _, tc := range []struct {
		name string
		p    []byte
	}{
		{"empty", nil}, {"1 byte", f32[:1]}, {"3 bytes", f32[:3]}, {"4 bytes", f32[:4]},
		{"7 bytes", f64[:7]}, {"8 bytes", f64[:8]}, {"9 bytes", f64[:9]},
		{"float32", f32}, {"float32 + 3", f32[:len(f32)-1]}, {"float64", f64},
		{"float64 + 5", f64[:len(f64)-3]}, {"csv", in["csv"]}, {"random", in["random"]},
		{"repeated", in["repeated byte"]},
	} {
		for _, sk := range [][2]int{{4, 0}, {4, 3}, {8, 0}, {8, 5}} {
			stride, skip := sk[0], sk[1]
			t.Run(tc.name+"/"+strconv.Itoa(stride)+"+"+strconv.Itoa(skip), func(t *testing.T) {
				v := append([]byte{fmtLanes}, encodeLanes(nil, tc.p, stride, skip)...)
				got, err := c.decode(make([]byte, 0, len(tc.p)), v, len(tc.p))
				if err != nil || !bytes.Equal(got, tc.p) {
					t.Fatalf("decode: %d bytes, %v; want the %d input bytes", len(got), err, len(tc.p))
				}
				got, err = c.decodeUpTo(v, len(tc.p))
				if err != nil || !bytes.Equal(got, tc.p) {
					t.Fatalf("decodeUpTo: %d bytes, %v", len(got), err)
				}
				for _, size := range []int{len(tc.p) - 1, len(tc.p) + 1} {
					if size < 0 {
						continue
					}
					if _, err := c.decode(nil, v, size); !errors.Is(err, ErrDigestMismatch) {
						t.Errorf("decode with size %d (stored %d): %v, want ErrDigestMismatch", size, len(tc.p), err)
					}
				}
				if len(tc.p) > 1000 {
					t.Logf("%d -> %d bytes (%.3f)", len(tc.p), len(v), float64(len(v))/float64(len(tc.p)))
				}
			})
		}
	}
}

// TestLanesDamaged: truncations and flipped bytes decode to exactly the
// size asked for or fail with ErrDigestMismatch, never writing past it.
func TestLanesDamaged(t *testing.T) {
	p := huffInputs()["floats"][:40003]
	damageSweep(t, p, append([]byte{fmtLanes}, encodeLanes(nil, p, 4, 1)...))
}

// FuzzDecodeLanes: arbitrary lanes payloads never panic, never decode to
// other than the size asked for, and fail only with ErrDigestMismatch.
func FuzzDecodeLanes(f *testing.F) {
	f.Add(encodeLanes(nil, huffInputs()["floats"][:4000], 4, 0), 4000)
	f.Add(encodeLanes(nil, huffInputs()["floats"][:4001], 4, 3), 4001)
	f.Add(encodeLanes(nil, float64Input(4000), 8, 2), 4000)
	f.Add(encodeLanes(nil, []byte("abcdefg"), 8, 0), 7)
	c, err := newCodec(1, CompressZstd)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, payload []byte, size int) {
		if size < 0 || size > 1<<20 {
			return
		}
		fuzzDecode(t, c, fmtLanes, payload, size)
	})
}

// TestLaneGuess: the guess finds the element width and where elements
// start in float arrays cut at any offset, and stands back on text and
// random bytes.
func TestLaneGuess(t *testing.T) {
	in := huffInputs()
	f32, f64 := in["floats"], float64Input(64<<10)
	for off := range 8 {
		if stride, skip, ok := laneGuess(f32[off : off+32<<10]); !ok || stride != 4 || skip != (4-off%4)%4 {
			t.Errorf("float32 from offset %d: stride %d skip %d ok %v; want 4, %d", off, stride, skip, ok, (4-off%4)%4)
		}
		if stride, skip, ok := laneGuess(f64[off : off+32<<10]); !ok || stride != 8 || skip != (8-off)%8 {
			t.Errorf("float64 from offset %d: stride %d skip %d ok %v; want 8, %d", off, stride, skip, ok, (8-off)%8)
		}
	}
	for _, name := range []string{"csv", "random"} {
		if stride, skip, ok := laneGuess(in[name][:32<<10]); ok {
			t.Errorf("%s: guessed stride %d skip %d, want no guess", name, stride, skip)
		}
	}
}

// TestCompressChoiceUnaligned: a float array cut mid-element (as chunks
// are) is still stored in fmtLanes with the element grid found.
func TestCompressChoiceUnaligned(t *testing.T) {
	c, err := newCodec(1, CompressZstd)
	if err != nil {
		t.Fatal(err)
	}
	defer c.close()
	f32 := huffInputs()["floats"]
	for off := range 4 {
		p := f32[off:]
		out, ok := c.compressInto(nil, p, nil, 0)
		if !ok || out[0] != fmtLanes || float64(len(out)) > 0.86*float64(len(p)) {
			t.Errorf("float32 from offset %d: format 0x%02x, %d of %d bytes; want fmtLanes at under 86%%", off, out[0], len(out), len(p))
			continue
		}
		back, err := c.decode(nil, out, len(p))
		if err != nil || !bytes.Equal(back, p) {
			t.Errorf("offset %d: round trip: %v", off, err)
		}
	}
}

func BenchmarkLanes(b *testing.B) {
	p := huffInputs()["floats"][:256<<10]
	enc := encodeLanes(nil, p, 4, 0)
	b.Run("gather", func(b *testing.B) {
		lane, rest := make([]byte, len(p)/4), make([]byte, len(p)+8)
		b.SetBytes(int64(len(p)))
		for b.Loop() {
			gather(lane, rest, p, 4)
		}
	})
	b.Run("encode", func(b *testing.B) {
		dst := make([]byte, 0, len(p)+64)
		b.SetBytes(int64(len(p)))
		for b.Loop() {
			encodeLanes(dst[:0], p, 4, 0)
		}
	})
	b.Run("decode", func(b *testing.B) {
		dst := make([]byte, 0, len(p))
		b.SetBytes(int64(len(p)))
		for b.Loop() {
			if _, err := decodeLanes(dst, enc, len(p)); err != nil {
				b.Fatal(err)
			}
		}
	})
}
