package cas

import (
	"math/rand/v2"
	"testing"
)

// scanCutBytewise is the plain definition scanCut must agree with.
func scanCutBytewise(h uint64, p []byte, shift uint) (uint64, int) {
	for i, b := range p {
		h = h<<1 + gear[b]
		if h>>shift == 0 {
			return h, i + 1
		}
	}
	return h, -1
}

func TestScanCutMatchesBytewise(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	buf := make([]byte, 1<<16)
	for i := range buf {
		buf[i] = byte(rng.Uint32())
	}
	tests := []struct {
		name  string
		shift uint
	}{
		{"often", 64 - 6},
		{"sometimes", 64 - 10},
		{"small mask", 64 - defaultCDC.smallBits},
		{"large mask", 64 - defaultCDC.largeBits},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cuts := 0
			for trial := 0; trial < 2000; trial++ {
				start := rng.IntN(len(buf))
				end := start + rng.IntN(len(buf)-start+1)
				h0 := rng.Uint64()
				if trial%2 == 0 {
					h0 = 0
				}
				gh, gk := scanCut(h0, buf[start:end], tt.shift)
				wh, wk := scanCutBytewise(h0, buf[start:end], tt.shift)
				if gh != wh || gk != wk {
					t.Fatalf("scanCut(%#x, buf[%d:%d], %d) = %#x, %d; want %#x, %d", h0, start, end, tt.shift, gh, gk, wh, wk)
				}
				if gk >= 0 {
					cuts++
				}
			}
			if tt.shift >= 54 && cuts == 0 {
				t.Errorf("no cut found in 2000 trials: the test exercises nothing")
			}
		})
	}
}

func BenchmarkScanCut(b *testing.B) {
	data := benchData("random", 16<<20)
	shift := 64 - uint(40) // never cuts: measures the scan itself
	for _, bb := range []struct {
		name string
		fn   func(uint64, []byte, uint) (uint64, int)
	}{{"unrolled", scanCut}, {"bytewise", scanCutBytewise}} {
		b.Run(bb.name, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				bb.fn(0, data, shift)
			}
		})
	}
}
