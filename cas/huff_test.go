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

// huffInputs are values of the shapes the chooser meets: numeric text,
// float arrays, random bytes, one repeated byte, and sizes around the
// block boundary.
func huffInputs() map[string][]byte {
	rng := rand.New(rand.NewPCG(7, 8))
	csv := []byte{}
	for len(csv) < 300<<10 {
		csv = strconv.AppendFloat(csv, rng.NormFloat64()*10, 'f', 6, 64)
		csv = append(csv, ',')
		csv = strconv.AppendInt(csv, int64(rng.IntN(100)), 10)
		csv = append(csv, '\n')
	}
	floats := make([]byte, 0, 4*(260<<10)/4)
	for len(floats) < 260<<10 {
		floats = binary.LittleEndian.AppendUint32(floats, math.Float32bits(float32(rng.NormFloat64())))
	}
	random := make([]byte, 200<<10)
	for i := range random {
		random[i] = byte(rng.Uint32())
	}
	return map[string][]byte{
		"empty":          {},
		"one byte":       {'x'},
		"csv":            csv,
		"csv block":      csv[:huffBlock],
		"csv block+1":    csv[:huffBlock+1],
		"floats":         floats,
		"random":         random,
		"repeated byte":  bytes.Repeat([]byte{'A'}, 3*huffBlock/2),
		"two symbols":    bytes.Repeat([]byte("ab"), 1000),
		"random + text":  append(append([]byte{}, random[:huffBlock]...), csv[:huffBlock/2]...),
		"short, skewed ": []byte("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab"),
	}
}

func TestHuffRoundTrip(t *testing.T) {
	for name, p := range huffInputs() {
		t.Run(name, func(t *testing.T) {
			v := append([]byte{fmtHuff}, encodeHuff(nil, p)...)
			c, err := newCodec(1, CompressZstd)
			if err != nil {
				t.Fatal(err)
			}
			defer c.close()
			got, err := c.decode(nil, v, len(p))
			if err != nil || !bytes.Equal(got, p) {
				t.Fatalf("decode: %d bytes, %v; want the %d input bytes", len(got), err, len(p))
			}
			got, err = c.decodeUpTo(v, len(p))
			if err != nil || !bytes.Equal(got, p) {
				t.Fatalf("decodeUpTo: %d bytes, %v", len(got), err)
			}
			if _, err := c.decodeUpTo(v, len(p)-1); len(p) > 0 && !errors.Is(err, ErrDigestMismatch) {
				t.Errorf("decodeUpTo below the declared size: %v, want ErrDigestMismatch", err)
			}
			for _, size := range []int{len(p) - 1, len(p) + 1} {
				if size < 0 {
					continue
				}
				if _, err := c.decode(nil, v, size); !errors.Is(err, ErrDigestMismatch) {
					t.Errorf("decode with size %d (stored %d): %v, want ErrDigestMismatch", size, len(p), err)
				}
			}
			t.Logf("%d -> %d bytes", len(p), len(v))
		})
	}
}

// TestHuffDamaged: every truncation and a byte flipped at every position
// of a small huff value either decodes to exactly the size asked for or
// fails with ErrDigestMismatch; none panics or writes past the size.
func TestHuffDamaged(t *testing.T) {
	p := huffInputs()["csv"][:huffBlock+5000]
	damageSweep(t, p, append([]byte{fmtHuff}, encodeHuff(nil, p)...))
}

// damageSweep decodes stored value v of content p cut at many lengths,
// with a trailing byte, and with one byte flipped at many positions: each
// must decode to exactly len(p) bytes or fail with ErrDigestMismatch,
// never panicking or writing past len(p).
func damageSweep(t *testing.T, p, v []byte) {
	t.Helper()
	c, err := newCodec(1, CompressZstd)
	if err != nil {
		t.Fatal(err)
	}
	defer c.close()
	check := func(what string, v []byte) {
		dst := make([]byte, 0, len(p)+64)
		got, err := c.decode(dst, v, len(p))
		switch {
		case err == nil && len(got) != len(p):
			t.Fatalf("%s: decoded %d bytes without an error, want %d", what, len(got), len(p))
		case err != nil && !errors.Is(err, ErrDigestMismatch):
			t.Fatalf("%s: %v, want ErrDigestMismatch", what, err)
		}
		if dst[:cap(dst)][len(p)] != 0 {
			t.Fatalf("%s: wrote past the size", what)
		}
	}
	for n := 1; n < len(v); n += 1 + n/64 {
		check("truncated to "+strconv.Itoa(n), v[:n])
	}
	check("trailing byte", append(append([]byte{}, v...), 0))
	for i := 1; i < len(v); i += 1 + i/32 {
		w := append([]byte{}, v...)
		w[i] ^= 0x5a
		check("flip at "+strconv.Itoa(i), w)
	}
}

// fuzzDecode checks one fuzz input of format f: it decodes to exactly size
// bytes or fails with ErrDigestMismatch, and returns what it decoded.
func fuzzDecode(t *testing.T, c *codec, f byte, payload []byte, size int) ([]byte, bool) {
	got, err := c.decode(nil, append([]byte{f}, payload...), size)
	if err != nil {
		if !errors.Is(err, ErrDigestMismatch) {
			t.Fatalf("error %v does not wrap ErrDigestMismatch", err)
		}
		return nil, false
	}
	if len(got) != size {
		t.Fatalf("decoded %d bytes, want %d", len(got), size)
	}
	return got, true
}

// TestCompressChoice: the default compression picks huff for numeric text
// and float arrays, zstd for text full of repeats, raw for random bytes,
// and every choice decodes back.
func TestCompressChoice(t *testing.T) {
	c, err := newCodec(1, CompressZstd)
	if err != nil {
		t.Fatal(err)
	}
	defer c.close()
	in := huffInputs()
	logs := bytes.Repeat([]byte(`{"step": 100, "loss": 0.25, "lr": 0.001, "phase": "train"}`+"\n"), 6000)
	for _, tc := range []struct {
		name string
		p    []byte
		want byte
	}{
		{"csv", in["csv"], fmtHuff},
		{"float32", in["floats"], fmtLanes},
		{"float64", float64Input(300 << 10), fmtLanes},
		{"random", in["random"], fmtRaw},
		{"logs", logs, fmtZstd},
	} {
		out, ok := c.compressInto(nil, tc.p, nil, 0)
		got := fmtRaw
		if ok {
			got = out[0]
		}
		if got != tc.want {
			t.Errorf("%s: format 0x%02x, want 0x%02x", tc.name, got, tc.want)
		}
		if ok {
			back, err := c.decode(nil, out, len(tc.p))
			if err != nil || !bytes.Equal(back, tc.p) {
				t.Errorf("%s: round trip: %v", tc.name, err)
			}
			t.Logf("%s: %d -> %d bytes (format 0x%02x)", tc.name, len(tc.p), len(out), got)
		}
	}
}

// FuzzDecodeHuff: arbitrary huff payloads never panic, never decode to
// other than the size asked for, and fail only with ErrDigestMismatch.
func FuzzDecodeHuff(f *testing.F) {
	for _, p := range huffInputs() {
		if len(p) < 40<<10 {
			f.Add(encodeHuff(nil, p), len(p))
		}
	}
	f.Add(encodeHuff(nil, huffInputs()["csv"][:20000]), 20000)
	c, err := newCodec(1, CompressZstd)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, payload []byte, size int) {
		if size < 0 || size > 1<<20 {
			return
		}
		got, ok := fuzzDecode(t, c, fmtHuff, payload, size)
		if !ok {
			return
		}
		// What decodes re-encodes to a value that decodes the same.
		again, err := c.decode(nil, append([]byte{fmtHuff}, encodeHuff(nil, got)...), size)
		if err != nil || !bytes.Equal(again, got) {
			t.Fatalf("re-encoded value: %v", err)
		}
	})
}
