package cas

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"
)

// Key prefixes of the Badger key space; see "Key space" in doc.go.
const (
	pfxObject = "o/" // o/<32-byte sum>   → object record
	pfxChunk  = "c/" // c/<32-byte sum>   → stored chunk value
	pfxRef    = "r/" // r/<name>          → digest string
	pfxIndex  = "i/" // i/<index>\x00<key> → caller's value
	pfxStat   = "s/" // s/<path>          → stat record
)

func objectKey(s sum) []byte { return append([]byte(pfxObject), s[:]...) }
func chunkKey(s sum) []byte  { return append([]byte(pfxChunk), s[:]...) }

// Object record layout (version 1):
//
//	version  byte     0x01
//	kind     byte     Kind
//	size     uvarint  logical size
//	created  8 bytes  big-endian Unix nanoseconds
//	layout   byte     0x00 inline, 0x01 chunked
//	inline:  the stored value (format byte + payload) up to the end
//	chunked: count uvarint, then count × (32-byte chunk sum, uvarint size)
const (
	recVersion    byte = 0x01
	layoutInline  byte = 0x00
	layoutChunked byte = 0x01
)

type chunkRef struct {
	sum  sum
	size int64
}

type record struct {
	kind    Kind
	size    int64
	created time.Time
	inline  []byte // stored value, when not chunked
	chunks  []chunkRef
	chunked bool
}

var errBadRecord = errors.New("malformed object record")

func (r *record) encode() []byte {
	b := make([]byte, 0, 2+binary.MaxVarintLen64+8+1+len(r.inline)+len(r.chunks)*(hashSize+4)+binary.MaxVarintLen64)
	b = append(b, recVersion, byte(r.kind))
	b = binary.AppendUvarint(b, uint64(r.size))
	b = binary.BigEndian.AppendUint64(b, uint64(r.created.UnixNano()))
	if !r.chunked {
		b = append(b, layoutInline)
		return append(b, r.inline...)
	}
	b = append(b, layoutChunked)
	b = binary.AppendUvarint(b, uint64(len(r.chunks)))
	for _, c := range r.chunks {
		b = append(b, c.sum[:]...)
		b = binary.AppendUvarint(b, uint64(c.size))
	}
	return b
}

// decodeRecord parses an object record. The inline value aliases b.
func decodeRecord(b []byte) (record, error) {
	var r record
	if len(b) < 2 || b[0] != recVersion {
		return r, fmt.Errorf("%w: version byte", errBadRecord)
	}
	r.kind = Kind(b[1])
	if r.kind != KindBlob && r.kind != KindTree {
		return r, fmt.Errorf("%w: kind %d", errBadRecord, b[1])
	}
	b = b[2:]
	size, n := binary.Uvarint(b)
	if n <= 0 || size > math.MaxInt64 {
		return r, fmt.Errorf("%w: size", errBadRecord)
	}
	r.size = int64(size)
	b = b[n:]
	if len(b) < 9 {
		return r, fmt.Errorf("%w: truncated", errBadRecord)
	}
	r.created = time.Unix(0, int64(binary.BigEndian.Uint64(b)))
	layout := b[8]
	b = b[9:]
	switch layout {
	case layoutInline:
		r.inline = b
		if r.size >= minChunk {
			return r, fmt.Errorf("%w: inline object of %d bytes", errBadRecord, r.size)
		}
		if len(b) == 0 {
			return r, fmt.Errorf("%w: empty inline value", errBadRecord)
		}
		return r, nil
	case layoutChunked:
		r.chunked = true
		count, n := binary.Uvarint(b)
		if n <= 0 {
			return r, fmt.Errorf("%w: chunk count", errBadRecord)
		}
		b = b[n:]
		if count > uint64(len(b)/(hashSize+1)) {
			return r, fmt.Errorf("%w: chunk count %d exceeds record", errBadRecord, count)
		}
		r.chunks = make([]chunkRef, count)
		var total int64
		for i := range r.chunks {
			if len(b) < hashSize {
				return r, fmt.Errorf("%w: truncated chunk list", errBadRecord)
			}
			copy(r.chunks[i].sum[:], b)
			b = b[hashSize:]
			cs, n := binary.Uvarint(b)
			if n <= 0 || cs == 0 || cs > maxChunk {
				return r, fmt.Errorf("%w: chunk size", errBadRecord)
			}
			b = b[n:]
			r.chunks[i].size = int64(cs)
			total += int64(cs)
		}
		if len(b) != 0 {
			return r, fmt.Errorf("%w: trailing bytes", errBadRecord)
		}
		if total != r.size {
			return r, fmt.Errorf("%w: chunks add up to %d bytes, record says %d", errBadRecord, total, r.size)
		}
		return r, nil
	default:
		return r, fmt.Errorf("%w: layout %d", errBadRecord, layout)
	}
}
