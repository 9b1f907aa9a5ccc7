package verify

import (
	"encoding/binary"
	"encoding/hex"
	"math"

	digest "github.com/opencontainers/go-digest"
)

// sampler picks blobs for a sampled verification. Digests are uniform, so
// the top 64 bits of a digest place it uniformly in [0, 2^64); the seed
// places a window of the sampled share there, and successive seeds tile the
// whole space.
type sampler struct {
	start, width uint64 // window [start, start+width) modulo 2^64
	all          bool
}

func newSampler(percent float64, seed uint64) *sampler {
	w := math.Ceil(percent / 100 * math.Exp2(64))
	if percent >= 100 || w >= math.Exp2(64) {
		return &sampler{all: true}
	}
	width := uint64(w)
	return &sampler{start: seed * width, width: width}
}

func (s *sampler) pick(d digest.Digest) bool {
	if s.all {
		return true
	}
	enc := d.Encoded()
	if len(enc) < 16 {
		return false
	}
	var b [8]byte
	if _, err := hex.Decode(b[:], []byte(enc[:16])); err != nil {
		return false
	}
	pos := binary.BigEndian.Uint64(b[:])
	return pos-s.start < s.width // unsigned arithmetic wraps around
}
