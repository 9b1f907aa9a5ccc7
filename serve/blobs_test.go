package serve

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"testing"

	digest "github.com/opencontainers/go-digest"

	"github.com/rigor-dev/rigor/cas"
	"github.com/rigor-dev/rigor/verify"
)

func randomBytes(n int, seed uint64) []byte {
	b := make([]byte, n)
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func putBlob(t testing.TB, s *cas.Store, b []byte) digest.Digest {
	t.Helper()
	info, err := s.Put(t.Context(), bytes.NewReader(b), cas.PutOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return info.Digest
}

func TestBlobDownload(t *testing.T) {
	s := newMemStore(t)
	small := []byte("id,p\n1,0.25\n2,0.75\n")
	big := randomBytes(3<<20+12345, 1) // chunked (in memory: 128 KiB to 1 MiB chunks)
	dSmall, dBig := putBlob(t, s, small), putBlob(t, s, big)
	if chunks, _ := s.ChunksForTest(t.Context(), dBig); len(chunks) < 3 {
		t.Fatalf("the big blob has %d chunks; the test wants several", len(chunks))
	}
	// The SHA-256 index, as ingest fills it, gives Repr-Digest.
	sum := sha256.Sum256(small)
	if err := s.PutIndex(t.Context(), verify.SHA256Index, []byte(dSmall.String()), []byte(hex.EncodeToString(sum[:]))); err != nil {
		t.Fatal(err)
	}
	ts, _ := serveMem(t, s, Options{})

	code, h, body := get(t, nil, ts.URL+"/blobs/"+dSmall.String()+"?name=predictions.csv")
	if code != 200 || !bytes.Equal(body, small) {
		t.Fatalf("GET small: %d %q", code, body)
	}
	for k, want := range map[string]string{
		"ETag": `"` + dSmall.String() + `"`, "Digest": dSmall.String(), "Content-Length": strconv.Itoa(len(small)),
		"Content-Type": "application/octet-stream", "Accept-Ranges": "bytes",
		"Repr-Digest":         "sha-256=:" + base64.StdEncoding.EncodeToString(sum[:]) + ":",
		"Content-Disposition": `attachment; filename=predictions.csv`,
	} {
		if got := h.Get(k); got != want {
			t.Errorf("%s: %q, want %q", k, got, want)
		}
	}
	if !strings.Contains(h.Get("Content-Security-Policy"), "sandbox") {
		t.Errorf("blob CSP %q: want sandbox", h.Get("Content-Security-Policy"))
	}

	code, h, body = get(t, nil, ts.URL+"/blobs/"+dBig.String())
	if code != 200 || cas.FromBytes(body) != dBig || h.Get("Repr-Digest") != "" {
		t.Fatalf("GET big: %d, %d bytes, Repr-Digest %q", code, len(body), h.Get("Repr-Digest"))
	}

	size := int64(len(big))
	tests := []struct {
		rng        string
		code       int
		start, end int64 // half-open, for 206
	}{
		{"bytes=0-9", 206, 0, 10},
		{"bytes=10-", 206, 10, size},
		{"bytes=-5", 206, size - 5, size},
		{"bytes=-99999999999", 206, 0, size},
		{"bytes=1000000-2500000", 206, 1000000, 2500001}, // across chunk boundaries
		{"bytes=5-999999999999", 206, 5, size},           // an end past the object is cut
		{"bytes=" + strconv.FormatInt(size-1, 10) + "-", 206, size - 1, size},
		{"bytes=" + strconv.FormatInt(size, 10) + "-", 416, 0, 0},
		{"bytes=99999999999999-", 416, 0, 0},
		{"bytes=0-99999999999999999999", 416, 0, 0}, // does not fit in 63 bits
		{"bytes=99999999999999999999-", 416, 0, 0},
		{"bytes=5-2", 416, 0, 0},
		{"bytes=-0", 416, 0, 0},
		{"bytes=0-1,4-5", 416, 0, 0},
		{"bytes=abc", 416, 0, 0},
		{"bytes=-", 416, 0, 0},
		{"bytes=+1-2", 416, 0, 0},
		{"items=0-1", 416, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.rng, func(t *testing.T) {
			code, h, body := get(t, nil, ts.URL+"/blobs/"+dBig.String(), "Range", tt.rng)
			if code != tt.code {
				t.Fatalf("Range %s: %d, want %d: %.200s", tt.rng, code, tt.code, body)
			}
			if code == 416 {
				if h.Get("Content-Range") != fmt.Sprintf("bytes */%d", size) {
					t.Errorf("Content-Range %q", h.Get("Content-Range"))
				}
				return
			}
			if !bytes.Equal(body, big[tt.start:tt.end]) {
				t.Errorf("Range %s: %d bytes, not bytes %d-%d", tt.rng, len(body), tt.start, tt.end)
			}
			if want := fmt.Sprintf("bytes %d-%d/%d", tt.start, tt.end-1, size); h.Get("Content-Range") != want {
				t.Errorf("Content-Range %q, want %q", h.Get("Content-Range"), want)
			}
		})
	}

	// HEAD: the headers, no body.
	req, _ := http.NewRequest(http.MethodHead, ts.URL+"/blobs/"+dBig.String(), nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.ContentLength != size {
		t.Errorf("HEAD: %d, length %d", resp.StatusCode, resp.ContentLength)
	}
	// Conditional requests.
	if code, _, _ := get(t, nil, ts.URL+"/blobs/"+dBig.String(), "If-None-Match", `"`+dBig.String()+`"`); code != 304 {
		t.Errorf("If-None-Match: %d, want 304", code)
	}
	if code, _, body := get(t, nil, ts.URL+"/blobs/"+dBig.String(), "Range", "bytes=0-9", "If-Range", `"blake3:other"`); code != 200 || len(body) != len(big) {
		t.Errorf("If-Range of another object: %d, %d bytes; want the whole object", code, len(body))
	}
	// A tree downloads as its canonical encoding.
	tree, err := s.PutTree(t.Context(), cas.Tree{Entries: []cas.Entry{{Name: "a.csv", Mode: cas.ModeFile, Size: int64(len(small)), Digest: dSmall}}})
	if err != nil {
		t.Fatal(err)
	}
	code, h, body = get(t, nil, ts.URL+"/blobs/"+tree.Digest.String())
	if code != 200 || cas.FromBytes(body) != tree.Digest || h.Get("X-Rigor-Kind") != "tree" {
		t.Errorf("tree: %d, kind %q", code, h.Get("X-Rigor-Kind"))
	}
}

// TestBlobDamaged: damaged stored bytes never reach a client as a complete
// response.
func TestBlobDamaged(t *testing.T) {
	s := newMemStore(t)
	small := []byte("a small inline blob\n")
	big := randomBytes(3<<20, 2)
	dSmall, dBig := putBlob(t, s, small), putBlob(t, s, big)
	chunks, err := s.ChunksForTest(t.Context(), dBig)
	if err != nil || len(chunks) < 3 {
		t.Fatalf("%d chunks, %v", len(chunks), err)
	}
	if err := s.CorruptForTest(t.Context(), dSmall, 3); err != nil {
		t.Fatal(err)
	}
	if err := s.CorruptChunkForTest(t.Context(), dBig, len(chunks)-1, 1000); err != nil {
		t.Fatal(err)
	}
	ts, _ := serveMem(t, s, Options{})

	// Damage found before any byte is sent: a proper error.
	code, _, body := get(t, nil, ts.URL+"/blobs/"+dSmall.String())
	if code != 500 || !strings.Contains(string(body), "digest mismatch") {
		t.Errorf("damaged inline blob: %d %s", code, body)
	}
	// Damage in the last chunk. A range within the first buffer is held
	// back until the whole object was read: a proper 500. A longer one,
	// or the whole object, is cut short of its Content-Length.
	for _, tt := range []struct {
		rng string
		cut bool
	}{{"", true}, {"bytes=0-99", false}, {"bytes=100000-200000", false}, {"bytes=200000-300000", true}, {"bytes=100-2000000", true}} {
		req, _ := http.NewRequest(http.MethodGet, ts.URL+"/blobs/"+dBig.String(), nil)
		if tt.rng != "" {
			req.Header.Set("Range", tt.rng)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		switch {
		case tt.cut && err == nil:
			t.Errorf("Range %q of a damaged object: a complete response of %d bytes (status %d), want it cut short", tt.rng, len(got), resp.StatusCode)
		case tt.cut && int64(len(got)) >= resp.ContentLength:
			t.Errorf("Range %q: %d of %d bytes arrived", tt.rng, len(got), resp.ContentLength)
		case !tt.cut && (resp.StatusCode != 500 || !strings.Contains(string(got), "digest mismatch")):
			t.Errorf("Range %q of a damaged object: %d %.200s, want 500", tt.rng, resp.StatusCode, got)
		}
	}
	// Damage in the first chunk. The server checks only the whole digest,
	// at the end (the bytes may have started out): the response is still
	// never complete, and a range in the first buffer still gets a 500 that
	// names the damaged chunk.
	big2 := randomBytes(3<<20, 3)
	dBig2 := putBlob(t, s, big2)
	chunks2, err := s.ChunksForTest(t.Context(), dBig2)
	if err != nil || len(chunks2) < 3 {
		t.Fatalf("%d chunks, %v", len(chunks2), err)
	}
	if err := s.CorruptChunkForTest(t.Context(), dBig2, 0, 10); err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(ts.URL + "/blobs/" + dBig2.String())
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 500 && (err == nil || int64(len(got)) >= resp.ContentLength) {
		t.Errorf("first chunk damaged: status %d, %d of %d bytes arrived (%v), want a 500 or the response cut short", resp.StatusCode, len(got), resp.ContentLength, err)
	}
	code, _, body = get(t, nil, ts.URL+"/blobs/"+dBig2.String(), "Range", "bytes=0-99")
	if code != 500 || !strings.Contains(string(body), "digest mismatch") || !strings.Contains(string(body), chunks2[0].Encoded()[:12]) {
		t.Errorf("Range in a damaged first chunk: %d %.300s, want 500 naming chunk %s", code, body, chunks2[0])
	}
}

func TestParseRange(t *testing.T) {
	tests := []struct {
		h          string
		size       int64
		start, end int64
		partial    bool
		ok         bool
	}{
		{"", 10, 0, 10, false, true},
		{"", 0, 0, 0, false, true},
		{"bytes=0-0", 10, 0, 1, true, true},
		{"bytes=9-", 10, 9, 10, true, true},
		{"bytes=-3", 10, 7, 10, true, true},
		{"bytes=-30", 10, 0, 10, true, true},
		{"bytes= 2-4", 10, 2, 5, true, true},
		{"bytes=0-", 0, 0, 0, false, false}, // nothing to serve of an empty object
		{"bytes=10-", 10, 0, 0, false, false},
		{"bytes=0-9223372036854775807", 10, 0, 10, true, true},
		{"bytes=0-9223372036854775808", 10, 0, 0, false, false},
		{"bytes=1-2,3-4", 10, 0, 0, false, false},
		{"bytes=a-b", 10, 0, 0, false, false},
		{"bytes=1-x", 10, 0, 0, false, false},
		{"bytes=--1", 10, 0, 0, false, false},
		{"bits=1-2", 10, 0, 0, false, false},
	}
	for _, tt := range tests {
		start, end, partial, err := parseRange(tt.h, tt.size)
		if (err == nil) != tt.ok || err == nil && (start != tt.start || end != tt.end || partial != tt.partial) {
			t.Errorf("parseRange(%q, %d) = %d, %d, %v, %v; want %d, %d, %v, ok %v", tt.h, tt.size, start, end, partial, err, tt.start, tt.end, tt.partial, tt.ok)
		}
	}
}

// FuzzParseRange: any header, any size: an accepted range lies inside the
// object and is not empty.
func FuzzParseRange(f *testing.F) {
	for _, s := range []string{"bytes=0-9", "bytes=-5", "bytes=5-", "bytes=0-99999999999999999999", "bytes=1-2,3-4", "bytes=-0"} {
		f.Add(s, int64(100))
	}
	f.Fuzz(func(t *testing.T, h string, size int64) {
		if size < 0 {
			size = -size
		}
		if size < 0 {
			return
		}
		start, end, partial, err := parseRange(h, size)
		if err != nil {
			return
		}
		if start < 0 || end > size || start > end || (partial && start == end) || (!partial && (start != 0 || end != size)) {
			t.Fatalf("parseRange(%q, %d) = [%d, %d) partial %v", h, size, start, end, partial)
		}
	})
}
