package cas

import (
	"encoding/binary"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/klauspost/compress/s2"
	"github.com/klauspost/compress/zstd"
)

// Stored value formats: the first byte of every chunk value and of every
// inline object payload. Persisted: do not reorder; append only.
const (
	fmtRaw   byte = 0x00 // the bytes themselves
	fmtZstd  byte = 0x01 // one zstd frame
	fmtS2    byte = 0x02 // one s2 block (klauspost/compress/s2)
	fmtHuff  byte = 0x03 // Huffman-coded blocks (klauspost/compress/huff0), see huff.go
	fmtLanes byte = 0x04 // top byte of each 4- or 8-byte element Huffman-coded, see lanes.go
)

// Compression selects how a Store compresses the values it writes; see
// "Compression" in doc.go for the measurements behind the choice. Values
// in any format are read whatever the setting. Do not reorder; append only.
type Compression uint8

const (
	// CompressZstd: per value, zstd at its fastest level where repeats
	// pay, Huffman coding alone (fmtHuff) where only skewed byte
	// frequencies do (numeric text, float arrays), raw where nothing
	// pays. The default.
	CompressZstd Compression = iota
	// CompressS2: klauspost's s2, about twice as fast as zstd on numeric
	// text but storing it about 1.8 times larger. For speed over space.
	CompressS2
	// CompressNone stores every value raw.
	CompressNone
)

func (c Compression) format() byte {
	switch c {
	case CompressS2:
		return fmtS2
	case CompressNone:
		return fmtRaw
	default:
		return fmtZstd
	}
}

const (
	// sampleSize is how much of a value is trial-compressed to decide whether
	// compressing the whole value pays.
	sampleSize = 64 << 10
	// smallSample is the trial sample of values under 2×sampleSize.
	smallSample = 4 << 10
	// minCompress: shorter values are stored raw.
	minCompress = 128
)

// codec holds the Store's shared zstd encoder and decoder. Both are safe for
// concurrent use (EncodeAll/DecodeAll).
type codec struct {
	enc   *zstd.Encoder
	dec   *zstd.Decoder
	write byte // format of new values
}

func newCodec(concurrency int, comp Compression) (*codec, error) {
	enc, err := zstd.NewWriter(nil,
		zstd.WithEncoderLevel(zstd.SpeedFastest),
		zstd.WithEncoderConcurrency(concurrency),
		zstd.WithEncoderCRC(false), // BLAKE3 verifies every value
		zstd.WithWindowSize(maxChunk),
		zstd.WithZeroFrames(true),
		zstd.WithLowerEncoderMem(true),
	)
	if err != nil {
		return nil, fmt.Errorf("cas: zstd encoder: %v", err)
	}
	dec, err := zstd.NewReader(nil,
		zstd.WithDecoderConcurrency(concurrency),
		zstd.WithDecoderMaxMemory(maxChunk),
		zstd.WithDecoderMaxWindow(maxChunk),
		zstd.WithDecodeAllCapLimit(true),
		zstd.IgnoreChecksum(true),
	)
	if err != nil {
		enc.Close()
		return nil, fmt.Errorf("cas: zstd decoder: %v", err)
	}
	return &codec{enc: enc, dec: dec, write: comp.format()}, nil
}

func (c *codec) close() {
	c.enc.Close()
	c.dec.Close()
}

// getCodec creates the shared codec on first use.
func (s *Store) getCodec() (*codec, error) {
	s.codecOnce.Do(func() {
		s.codec, s.codecErr = newCodec(s.opts.Concurrency, s.opts.Compression)
	})
	return s.codec, s.codecErr
}

// compressInto appends the compressed stored form of p (format byte
// included) to dst[:0] and reports whether compressing paid; when it did not,
// dst's content is unspecified and the caller stores p raw. h, if not nil,
// carries the choice made for earlier chunks of the same content, and off
// is p's offset in that content.
func (c *codec) compressInto(dst, p []byte, h *codecHint, off int64) ([]byte, bool) {
	if len(p) < minCompress || c.write == fmtRaw {
		return dst, false
	}
	if c.write == fmtZstd && len(p) > 2*sampleSize {
		if out, ok, done := c.compressHinted(dst, p, h, off); done {
			return out, ok
		}
		return c.compressLarge(dst, p, h, off)
	}
	if !c.samplePays(p) {
		return dst, false
	}
	return c.compressAll(dst, p)
}

// A codecHint carries compressLarge's choice from chunk to chunk of one
// Put: the chunks of a file are mostly alike (a float array, a CSV, random
// bytes), so the sample is coded only for one chunk in hintEvery, and the
// others are coded the way it chose, as long as that keeps paying. Safe
// for concurrent use by a Put's workers.
type codecHint struct {
	// v is 0 (no choice yet) or choiceSet | stride<<8 | skip, with the
	// skip taken relative to the start of the content.
	v    atomic.Uint32
	uses atomic.Uint32
}

const (
	choiceSet   = 1 << 16
	strideRaw   = 0xfe // the sample said: store raw
	strideZstd  = 0xff // the sample said: zstd
	strideHuff  = 0    // fmtHuff
	hintEvery   = 8    // a sample is coded at least once in hintEvery chunks
	hintMinSave = 20   // a hinted huff or lanes coding must save 1/hintMinSave
)

func (h *codecHint) set(stride, skip int) {
	if h != nil {
		h.v.Store(choiceSet | uint32(stride)<<8 | uint32(skip))
	}
}

// compressHinted codes p the way h says, unless h says nothing yet or it
// is time to look at a sample again. done reports whether it decided;
// otherwise the caller codes a sample.
func (c *codec) compressHinted(dst, p []byte, h *codecHint, off int64) (out []byte, ok, done bool) {
	if h == nil {
		return dst, false, false
	}
	v := h.v.Load()
	if v&choiceSet == 0 || h.uses.Add(1)%hintEvery == 0 {
		return dst, false, false
	}
	stride, skip := int(v>>8&0xff), int(v&0xff)
	switch stride {
	case strideRaw:
		return dst, false, true
	case strideZstd:
		out, ok = c.compressAll(dst, p)
	case strideHuff:
		out = encodeHuff(append(dst[:0], fmtHuff), p)
		ok = len(out)-1 <= len(p)-len(p)/hintMinSave
	default:
		pskip := (skip + stride - int(off%int64(stride))) % stride
		out = encodeLanes(append(dst[:0], fmtLanes), p, stride, pskip)
		ok = len(out)-1 <= len(p)-len(p)/hintMinSave
	}
	if !ok {
		// It stopped paying: the next chunk looks at a sample again.
		h.v.CompareAndSwap(v, 0)
	}
	return out, ok, true
}

// compressLarge is compressInto's choice for a chunk-sized value under
// the default compression. A sample (huffSample bytes from the middle of
// the value) is coded four ways: zstd, fmtHuff, and fmtLanes for 4- and
// 8-byte elements. zstd is chosen only when its matches beat the best of
// the others by a clear margin (≤ 7/8 of it), since it costs four to
// eight times their CPU; otherwise the smallest of the others, when it
// saves at least 1/20 (float arrays save 8–16%); else the value is
// stored raw. The choice is left in h for the next chunks.
func (c *codec) compressLarge(dst, p []byte, h *codecHint, at int64) ([]byte, bool) {
	off := (len(p) - huffSample) / 2
	smp := p[off : off+huffSample]
	sb := sampleBufs.Get().(*[]byte)
	defer sampleBufs.Put(sb)
	// stride 0 is fmtHuff, 4 and 8 are fmtLanes with that element width.
	bestStride, bestSkip, bestN := -1, 0, huffSample
	out := encodeHuff((*sb)[:0], smp)
	if len(out) < bestN {
		bestStride, bestN = strideHuff, len(out)
	}
	if stride, skip, ok := laneGuess(smp); ok {
		// The sample starts at off in p: the skip at the start of p.
		pskip := (off + skip) % stride
		out = encodeLanes(out[:0], smp, stride, skip)
		if len(out) < bestN {
			bestStride, bestSkip, bestN = stride, pskip, len(out)
		}
	}
	if cap(out) <= 2*sampleSize {
		*sb = out[:0]
	}
	// zstd, four to eight times slower, codes only a quarter of the
	// sample; its size is scaled up to compare.
	zs := smp[huffSample*3/8 : huffSample*5/8]
	z := c.enc.EncodeAll(zs, (*sb)[:0])
	if zn := 4 * len(z); zn <= bestN-bestN/8 && pays(zn, huffSample) {
		h.set(strideZstd, 0)
		return c.compressAll(dst, p)
	}
	if bestStride < 0 || bestN > huffSample-huffSample/20 {
		h.set(strideRaw, 0)
		return dst, false
	}
	if bestStride == strideHuff {
		h.set(strideHuff, 0)
		out = encodeHuff(append(dst[:0], fmtHuff), p)
	} else {
		h.set(bestStride, int((int64(bestSkip)+at)%int64(bestStride)))
		out = encodeLanes(append(dst[:0], fmtLanes), p, bestStride, bestSkip)
	}
	return out, len(out)-1 <= len(p)-len(p)/20
}

// huffSample: the sample compressLarge codes both ways.
const huffSample = 32 << 10

// compressAll is compressInto without the trial on a sample.
func (c *codec) compressAll(dst, p []byte) ([]byte, bool) {
	out := c.encodeFormat(dst[:0], p, c.write)
	if !pays(len(out)-1, len(p)) {
		return out, false
	}
	return out, true
}

// samplePays trial-compresses a sample of p (see sampleLen) and reports
// whether compressing p looks worth trying.
func (c *codec) samplePays(p []byte) bool {
	n := sampleLen(len(p))
	if n == 0 {
		return true
	}
	if n == smallSample {
		return !looksRandom(p[:n])
	}
	sb := sampleBufs.Get().(*[]byte)
	defer sampleBufs.Put(sb)
	trial := c.encodeFormat((*sb)[:0], p[:n], c.write)
	if cap(trial) <= cap(*sb) {
		*sb = trial[:0]
	}
	return pays(len(trial)-1, n)
}

// looksRandom reports whether the bytes of p are spread so evenly over
// all 256 values that entropy coding cannot save 1/8: their collision
// entropy -log2(Σ pᵢ²) exceeds 7.5 bits a byte (Σ cᵢ² < n²/181). It
// stands in for a trial compression of small values, where zstd spends
// ~10 µs a call on set-up (a 20 KB random file: 7.9 bits; numeric CSV:
// about 3.5). Content compressible only through long repeats is missed,
// which costs space, never correctness.
func looksRandom(p []byte) bool {
	var h [256]uint32
	for _, b := range p {
		h[b]++
	}
	var sq uint64
	for _, c := range h {
		sq += uint64(c) * uint64(c)
	}
	n := uint64(len(p))
	return sq*181 < n*n
}

// sampleBufs receive trial compressions of samples.
var sampleBufs = sync.Pool{New: func() any { b := make([]byte, 0, 2*sampleSize); return &b }}

// sampleLen is how much of an n-byte value to trial-compress first (0:
// none): sampleSize of a large value, smallSample of a small one (zstd
// takes as long to give up on 20 KB of random bytes as to compress them).
func sampleLen(n int) int {
	switch {
	case n > 2*sampleSize:
		return sampleSize
	case n >= 4*smallSample:
		return smallSample
	}
	return 0
}

// pays reports whether compressing n bytes into c bytes saves at least 1/8.
func pays(c, n int) bool { return c <= n-n/8 }

func (c *codec) encodeFormat(dst, p []byte, f byte) []byte {
	dst = append(dst, f)
	switch f {
	case fmtZstd:
		return c.enc.EncodeAll(p, dst)
	case fmtHuff:
		return encodeHuff(dst, p)
	case fmtS2:
		n := s2.MaxEncodedLen(len(p))
		if cap(dst)-len(dst) < n {
			nd := make([]byte, len(dst), len(dst)+n)
			copy(nd, dst)
			dst = nd
		}
		enc := s2.Encode(dst[len(dst):len(dst)+n], p)
		return dst[:len(dst)+len(enc)]
	default:
		return append(dst, p...)
	}
}

// encode returns the stored form of p: compressed where it pays, else raw.
// The result never aliases p.
func (c *codec) encode(p []byte) []byte {
	if out, ok := c.compressInto(make([]byte, 0, len(p)/2+64), p, nil, 0); ok {
		return out
	}
	out := make([]byte, 1+len(p))
	out[0] = fmtRaw
	copy(out[1:], p)
	return out
}

// decode appends the logical bytes of stored value v to dst[:0], which
// must have capacity for size bytes. It never produces more than size bytes
// (a decompression bomb stops there) and returns an error wrapping
// [ErrUnknownFormat] for an unknown format byte, or [ErrDigestMismatch]
// when the value does not decode to exactly size bytes.
func (c *codec) decode(dst, v []byte, size int) ([]byte, error) {
	if len(v) == 0 {
		return nil, fmt.Errorf("empty stored value: %w", ErrDigestMismatch)
	}
	if cap(dst) < size {
		dst = make([]byte, 0, size)
	}
	dst = dst[:0] // keep the capacity: a reader reuses its buffer for chunks of other sizes
	f, payload := v[0], v[1:]
	switch f {
	case fmtRaw:
		if len(payload) != size {
			return nil, fmt.Errorf("stored %d bytes, want %d: %w", len(payload), size, ErrDigestMismatch)
		}
		return append(dst, payload...), nil
	case fmtZstd:
		out, err := c.dec.DecodeAll(payload, dst)
		if err != nil {
			return nil, fmt.Errorf("zstd: %v: %w", err, ErrDigestMismatch)
		}
		if len(out) != size {
			return nil, fmt.Errorf("decoded %d bytes, want %d: %w", len(out), size, ErrDigestMismatch)
		}
		return out, nil
	case fmtS2:
		n, err := s2.DecodedLen(payload)
		if err != nil || n != size {
			return nil, fmt.Errorf("s2 block of %d bytes, want %d: %w", n, size, ErrDigestMismatch)
		}
		out, err := s2.Decode(dst[:size], payload)
		if err != nil {
			return nil, fmt.Errorf("s2: %v: %w", err, ErrDigestMismatch)
		}
		return out, nil
	case fmtHuff:
		return decodeHuff(dst, payload, size)
	case fmtLanes:
		return decodeLanes(dst, payload, size)
	default:
		return nil, fmt.Errorf("format byte 0x%02x: %w", f, ErrUnknownFormat)
	}
}

// declaredSize returns the logical size that a stored value of a format
// carrying its length (s2, huff, lanes) declares.
func declaredSize(v []byte) (int, error) {
	var n uint64
	var k int
	switch v[0] {
	case fmtS2:
		m, err := s2.DecodedLen(v[1:])
		return m, err
	case fmtHuff:
		n, k = binary.Uvarint(v[1:])
	case fmtLanes:
		if len(v) < 3 {
			return 0, ErrDigestMismatch
		}
		n, k = binary.Uvarint(v[3:]) // after the stride and skip bytes
	default:
		return 0, ErrUnknownFormat
	}
	if k <= 0 || n > 1<<40 {
		return 0, ErrDigestMismatch
	}
	return int(n), nil
}

// decodeUpTo decodes stored value v whose logical size is unknown but at
// most limit bytes.
func (c *codec) decodeUpTo(v []byte, limit int) ([]byte, error) {
	if len(v) == 0 {
		return nil, fmt.Errorf("empty stored value: %w", ErrDigestMismatch)
	}
	switch v[0] {
	case fmtRaw:
		if len(v)-1 > limit {
			return nil, fmt.Errorf("stored %d bytes, more than %d: %w", len(v)-1, limit, ErrDigestMismatch)
		}
		return v[1:], nil
	case fmtZstd:
		out, err := c.dec.DecodeAll(v[1:], make([]byte, 0, limit))
		if err != nil {
			return nil, fmt.Errorf("zstd: %v: %w", err, ErrDigestMismatch)
		}
		return out, nil
	case fmtS2, fmtHuff, fmtLanes:
		n, err := declaredSize(v)
		if err != nil || n > limit {
			return nil, fmt.Errorf("value declaring %d bytes, at most %d: %w", n, limit, ErrDigestMismatch)
		}
		return c.decode(nil, v, n)
	default:
		return nil, fmt.Errorf("format byte 0x%02x: %w", v[0], ErrUnknownFormat)
	}
}
