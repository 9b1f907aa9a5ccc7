package cas

import (
	_ "crypto/sha256" // makes digest.SHA256 available to go-digest's Validate
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"strings"

	digest "github.com/opencontainers/go-digest"
	"github.com/zeebo/blake3"
)

// BLAKE3 is the store's canonical digest algorithm: BLAKE3 with its default
// 32-byte output, written as "blake3:" followed by 64 lowercase hex digits.
const BLAKE3 digest.Algorithm = "blake3"

const (
	hashSize  = 32        // bytes in a BLAKE3 digest
	blake3Pfx = "blake3:" // prefix of every digest the store issues
	digestLen = len(blake3Pfx) + 2*hashSize
)

// sum is a raw BLAKE3 digest, the form used inside keys and records.
type sum [hashSize]byte

func (s sum) digest() digest.Digest {
	var b [digestLen]byte
	copy(b[:], blake3Pfx)
	hex.Encode(b[len(blake3Pfx):], s[:])
	return digest.Digest(b[:])
}

// ParseDigest parses an untrusted digest string. It accepts
// "blake3:<64 lowercase hex>" and, deferring to go-digest, "sha256:<64 hex>".
// It returns an error wrapping [ErrBadDigest] for a malformed string and
// [ErrUnsupported] for any other algorithm.
func ParseDigest(s string) (digest.Digest, error) {
	alg, enc, ok := strings.Cut(s, ":")
	if !ok || alg == "" {
		return "", fmt.Errorf("%q: %w (want blake3:<64 hex digits>)", s, ErrBadDigest)
	}
	switch digest.Algorithm(alg) {
	case BLAKE3:
		if !isLowerHex(enc) || len(enc) != 2*hashSize {
			return "", fmt.Errorf("%q: %w (want blake3:<64 lowercase hex digits>)", s, ErrBadDigest)
		}
		return digest.Digest(s), nil
	case digest.SHA256:
		switch err := digest.Digest(s).Validate(); err {
		case nil:
			return digest.Digest(s), nil
		case digest.ErrDigestUnsupported:
			return "", fmt.Errorf("%q: %w", s, ErrUnsupported)
		default:
			return "", fmt.Errorf("%q: %w (%v)", s, ErrBadDigest, err)
		}
	default:
		if !digest.DigestRegexpAnchored.MatchString(s) {
			return "", fmt.Errorf("%q: %w", s, ErrBadDigest)
		}
		return "", fmt.Errorf("%q: %w %q (use blake3)", s, ErrUnsupported, alg)
	}
}

func isLowerHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// toSum converts a digest issued by this package to its raw form. It returns
// an error wrapping [ErrUnsupported] for another algorithm and [ErrBadDigest]
// for a malformed value.
func toSum(d digest.Digest) (sum, error) {
	var s sum
	str := string(d)
	if !strings.HasPrefix(str, blake3Pfx) {
		if _, err := ParseDigest(str); err != nil {
			return s, err
		}
		return s, fmt.Errorf("%s: %w (the store holds blake3 digests only)", d, ErrUnsupported)
	}
	enc := str[len(blake3Pfx):]
	if len(enc) != 2*hashSize || !isLowerHex(enc) {
		return s, fmt.Errorf("%q: %w", str, ErrBadDigest)
	}
	hex.Decode(s[:], []byte(enc))
	return s, nil
}

// FromBytes returns the BLAKE3 digest of p.
func FromBytes(p []byte) digest.Digest {
	return sum(blake3.Sum256(p)).digest()
}

// FromReader returns the BLAKE3 digest of everything read from r until
// io.EOF, and the number of bytes read.
func FromReader(r io.Reader) (digest.Digest, int64, error) {
	h := blake3.New()
	n, err := io.CopyBuffer(h, r, make([]byte, 64<<10))
	if err != nil {
		return "", n, err
	}
	return digest.NewDigest(BLAKE3, h), n, nil
}

// NewDigester returns a BLAKE3 [digest.Digester]: write to Hash(), then call
// Digest(). It is not safe for concurrent use.
func NewDigester() digest.Digester {
	return &digester{h: blake3.New()}
}

type digester struct{ h *blake3.Hasher }

func (d *digester) Hash() hash.Hash { return d.h }

func (d *digester) Digest() digest.Digest { return digest.NewDigest(BLAKE3, d.h) }
