package cas

import (
	"bytes"
	"strings"
	"testing"
	"time"

	digest "github.com/opencontainers/go-digest"
)

// FuzzDecodeRecord (issue 10): an object record read from a store someone
// else wrote never makes decodeRecord panic or allocate past its length,
// and what it accepts is consistent: a known kind, an inline value under
// the chunking threshold, chunk sizes that add up to the object's size.
func FuzzDecodeRecord(f *testing.F) {
	now := time.Unix(0, 1_700_000_000_000_000_000)
	inline := record{kind: KindBlob, size: 5, created: now, inline: []byte{fmtRaw, 'h', 'e', 'l', 'l', 'o'}}
	f.Add(inline.encode())
	chunked := record{kind: KindTree, size: 3 << 20, created: now, chunked: true,
		chunks: []chunkRef{{sum: sum{1}, size: 1 << 20}, {sum: sum{2}, size: 2 << 20}}}
	f.Add(chunked.encode())
	f.Add([]byte{recVersion, byte(KindBlob), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})
	f.Add([]byte{recVersion, byte(KindBlob), 0x80, 0x80, 0x80, 0x80, 0x04, 0, 0, 0, 0, 0, 0, 0, 0, layoutChunked, 0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Fuzz(func(t *testing.T, b []byte) {
		in := bytes.Clone(b)
		r, err := decodeRecord(in)
		if err != nil {
			return
		}
		if r.kind != KindBlob && r.kind != KindTree {
			t.Fatalf("accepted kind %d", r.kind)
		}
		if !r.chunked {
			if r.size >= minChunk || len(r.inline) == 0 {
				t.Fatalf("accepted inline record of size %d with %d stored bytes", r.size, len(r.inline))
			}
			return
		}
		var total int64
		for _, c := range r.chunks {
			if c.size <= 0 || c.size > maxChunk {
				t.Fatalf("accepted chunk size %d", c.size)
			}
			total += c.size
		}
		if total != r.size || len(r.chunks) > len(b)/hashSize {
			t.Fatalf("accepted %d chunks adding to %d for size %d", len(r.chunks), total, r.size)
		}
		// Re-encoding what was accepted decodes to the same record.
		r2, err := decodeRecord(r.encode())
		if err != nil || r2.size != r.size || len(r2.chunks) != len(r.chunks) || r2.kind != r.kind {
			t.Fatalf("re-encoded record: %+v, %v", r2, err)
		}
	})
}

// FuzzParseDigest (issue 10): untrusted digest strings (CLI arguments,
// manifests, refs, remote indexes) never panic the parser, and what it
// accepts is canonical and safe to hand to go-digest's accessors.
func FuzzParseDigest(f *testing.F) {
	f.Add("blake3:af4c718144705de8d02ea110b683734cf645f6219fba99e992446add054a14ea")
	f.Add("sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
	f.Add("blake3:AF4C")
	f.Add("sha512:")
	f.Add(":")
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDigest(s)
		if err != nil {
			return
		}
		if string(d) != s {
			t.Fatalf("ParseDigest(%q) = %q: not the input", s, d)
		}
		if d.Algorithm() == BLAKE3 {
			if _, err := toSum(d); err != nil {
				t.Fatalf("accepted %q, which toSum refuses: %v", s, err)
			}
		} else if err := digest.Digest(s).Validate(); err != nil {
			t.Fatalf("accepted %q, which go-digest refuses: %v", s, err)
		}
		_ = d.Encoded()
		if strings.ContainsAny(s, "\x00/ ") {
			t.Fatalf("accepted %q", s)
		}
	})
}
