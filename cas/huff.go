package cas

import (
	"encoding/binary"
	"fmt"
	"sync"

	"github.com/klauspost/compress/huff0"
)

// The huff format (fmtHuff) is entropy coding without match finding: the
// value is cut into blocks of huffBlock bytes (the last one shorter), each
// Huffman-coded on its own by klauspost's huff0 (four interleaved
// streams). Numeric text and float arrays owe almost all of their
// redundancy to skewed byte frequencies, not to repeats, and huff0 codes
// them at 700–800 MB/s a core where zstd's fastest level, searching for
// matches it mostly does not find, runs at 100–180 MB/s (see "Compression"
// in doc.go).
//
// Layout after the format byte:
//
//	size:uvarint, then per block: n:uvarint, n bytes
//
// where n = 0 means the block is stored raw (its length follows from size
// and huffBlock) and n > 0 is a huff0 4X block, table included.
const huffBlock = 128 << 10

// huffScratch: huff0 encoding state, one per concurrent encode.
var huffScratch = sync.Pool{New: func() any {
	s := &huff0.Scratch{Reuse: huff0.ReusePolicyNone}
	return s
}}

// huffDecScratch: huff0 table state, one per concurrent decode.
var huffDecScratch = sync.Pool{New: func() any { return &huff0.Scratch{} }}

// encodeHuff appends the fmtHuff payload of p (without the format byte)
// to dst.
func encodeHuff(dst, p []byte) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(p)))
	s := huffScratch.Get().(*huff0.Scratch)
	defer huffScratch.Put(s)
	for off := 0; off < len(p); off += huffBlock {
		blk := p[off:min(off+huffBlock, len(p))]
		out, _, err := huff0.Compress4X(blk, s)
		if err != nil || len(out) >= len(blk) {
			// Incompressible, a single repeated byte (huff0 wants RLE
			// there), or too small: stored raw.
			dst = append(dst, 0)
			dst = append(dst, blk...)
			continue
		}
		dst = binary.AppendUvarint(dst, uint64(len(out)))
		dst = append(dst, out...)
	}
	return dst
}

// decodeHuff appends the size bytes that fmtHuff payload decodes to onto
// dst[:0] (cap(dst) ≥ size). Any inconsistency — a declared size other
// than size, a block longer than the payload, trailing bytes, a huff0
// stream that does not decode to exactly its block — wraps
// [ErrDigestMismatch]; nothing is written past size.
func decodeHuff(dst, payload []byte, size int) ([]byte, error) {
	n, k := binary.Uvarint(payload)
	if k <= 0 || n != uint64(size) {
		return nil, fmt.Errorf("huff: declared size does not match %d: %w", size, ErrDigestMismatch)
	}
	in := payload[k:]
	dst = dst[:0]
	s := huffDecScratch.Get().(*huff0.Scratch)
	defer huffDecScratch.Put(s)
	for len(dst) < size {
		want := min(huffBlock, size-len(dst))
		bn, k := binary.Uvarint(in)
		if k <= 0 || bn > uint64(len(in)-k) {
			return nil, fmt.Errorf("huff: block header at %d: %w", len(dst), ErrDigestMismatch)
		}
		in = in[k:]
		if bn == 0 {
			if len(in) < want {
				return nil, fmt.Errorf("huff: raw block at %d is short: %w", len(dst), ErrDigestMismatch)
			}
			dst = append(dst, in[:want]...)
			in = in[want:]
			continue
		}
		blk := in[:bn]
		in = in[bn:]
		ts, rest, err := huff0.ReadTable(blk, s)
		if err != nil {
			return nil, fmt.Errorf("huff: block at %d: %v: %w", len(dst), err, ErrDigestMismatch)
		}
		start := len(dst)
		out, err := ts.Decoder().Decompress4X(dst[start:start:start+want], rest)
		if err != nil || len(out) != want {
			return nil, fmt.Errorf("huff: block at %d does not decode to %d bytes: %w", start, want, ErrDigestMismatch)
		}
		dst = dst[:start+want]
	}
	if len(in) != 0 {
		return nil, fmt.Errorf("huff: %d bytes after the last block: %w", len(in), ErrDigestMismatch)
	}
	return dst, nil
}
