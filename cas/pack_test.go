package cas

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// packFiles lists the pack files of the store in dir.
func packFiles(t *testing.T, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, packDirName, "*"+packExt))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestPackedChunks: the chunks of a large Put go to pack files, not to
// Badger; each pack starts with its header, and every value in it is
// preceded by its chunk's sum and length.
func TestPackedChunks(t *testing.T) {
	ctx := t.Context()
	dir := filepath.Join(t.TempDir(), ".rigor")
	s, err := Init(ctx, dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Put(ctx, newGen(6<<20), PutOptions{})
	if err != nil {
		t.Fatal(err)
	}
	chunks, err := s.ChunksForTest(ctx, info.Digest)
	if err != nil || len(chunks) < 2 {
		t.Fatalf("chunks %v, %v; want several", chunks, err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	packs := packFiles(t, dir)
	if len(packs) != 1 {
		t.Fatalf("pack files %v, want one", packs)
	}
	b, err := os.ReadFile(packs[0])
	if err != nil {
		t.Fatal(err)
	}
	if string(b[:4]) != packMagic || b[4] != packVersion {
		t.Fatalf("pack header %q", b[:packHeader])
	}
	// Walk the entries: sums in the order written, lengths adding up.
	off, seen := packHeader, map[string]bool{}
	for off < len(b) {
		var cs sum
		copy(cs[:], b[off:off+32])
		n := int(uint32(b[off+32]) | uint32(b[off+33])<<8 | uint32(b[off+34])<<16 | uint32(b[off+35])<<24)
		seen[cs.digest().String()] = true
		off += packEntryHeader + n
	}
	if off != len(b) {
		t.Errorf("entries end at %d, pack is %d bytes", off, len(b))
	}
	for _, c := range chunks {
		if !seen[c.String()] {
			t.Errorf("chunk %s not in the pack", c)
		}
	}
	s, err = Open(ctx, dir, Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got := readAllDigest(t, s, info.Digest); int64(len(got)) != 6<<20 {
		t.Errorf("read back %d bytes", len(got))
	}
}

// TestPackDamage: a pack cut short, a pack removed and a byte flipped in a
// pack are each found by Open and Fsck, naming the chunk, without a crash
// (a read past the end of a mapped file faults; view turns that into an
// error).
func TestPackDamage(t *testing.T) {
	for _, tc := range []struct {
		name   string
		damage func(t *testing.T, pack string)
		want   error
		kind   ProblemKind
	}{
		{"truncated", func(t *testing.T, pack string) {
			fi, _ := os.Stat(pack)
			if err := os.Truncate(pack, fi.Size()/2); err != nil {
				t.Fatal(err)
			}
		}, ErrNotFound, ProblemMissing},
		{"removed", func(t *testing.T, pack string) {
			if err := os.Remove(pack); err != nil {
				t.Fatal(err)
			}
		}, ErrNotFound, ProblemMissing},
		{"flipped", func(t *testing.T, pack string) {
			f, err := os.OpenFile(pack, os.O_RDWR, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			fi, _ := f.Stat()
			b := []byte{0}
			f.ReadAt(b, fi.Size()-100)
			b[0] ^= 0xff
			f.WriteAt(b, fi.Size()-100)
		}, ErrDigestMismatch, ProblemCorrupt},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := t.Context()
			dir := filepath.Join(t.TempDir(), ".rigor")
			s, err := Init(ctx, dir, Options{})
			if err != nil {
				t.Fatal(err)
			}
			info, err := s.Put(ctx, newGen(3<<20), PutOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			tc.damage(t, packFiles(t, dir)[0])
			s, err = Open(ctx, dir, Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			rc, err := s.Open(ctx, info.Digest)
			if err == nil {
				_, err = io.Copy(io.Discard, rc)
				rc.Close()
			}
			if !errors.Is(err, tc.want) {
				t.Errorf("read = %v, want %v", err, tc.want)
			}
			t.Logf("read: %v", err)
			if err := s.Verify(ctx, info.Digest, nil); !errors.Is(err, tc.want) {
				t.Errorf("Verify = %v, want %v", err, tc.want)
			}
			rep, err := s.Fsck(ctx, FsckOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if len(rep.Problems) == 0 || rep.Problems[0].Kind != tc.kind || rep.Problems[0].Digest != info.Digest || rep.Problems[0].Chunk == "" {
				t.Errorf("fsck problems %v, want %v naming %s and a chunk", rep.Problems, tc.kind, info.Digest)
			}
		})
	}
}

// TestFormatOneStore: a version 1 store (chunk values in Badger) is read
// as it is, takes new chunks in packs, and is marked version 2 by its
// first writable open.
func TestFormatOneStore(t *testing.T) {
	ctx := t.Context()
	dir := filepath.Join(t.TempDir(), ".rigor")
	s, err := Init(ctx, dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	// Make it a version 1 store: no packs, chunk values in Badger.
	old := s.packs
	s.packs = nil
	v1, err := s.Put(ctx, newGen(2<<20), PutOptions{})
	s.packs = old
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	os.RemoveAll(filepath.Join(dir, packDirName))
	if err := os.WriteFile(filepath.Join(dir, formatFile), []byte(`{"format":"rigor-store","version":1}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	version := func() int {
		var h formatHeader
		b, _ := os.ReadFile(filepath.Join(dir, formatFile))
		json.Unmarshal(b, &h)
		return h.Version
	}
	r, err := Open(ctx, dir, Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	if got := readAllDigest(t, r, v1.Digest); len(got) != 2<<20 {
		t.Errorf("read-only: %d bytes", len(got))
	}
	r.Close()
	if v := version(); v != 1 {
		t.Errorf("after a read-only open: version %d, want 1 still", v)
	}
	s, err = Open(ctx, dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if v := version(); v != formatVersion {
		t.Errorf("after a writable open: version %d, want %d", v, formatVersion)
	}
	v2, err := s.Put(ctx, newGen(3<<20+7), PutOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(packFiles(t, dir)) != 1 {
		t.Errorf("no pack after a Put into an upgraded store")
	}
	for _, d := range []Info{v1, v2} {
		if got := readAllDigest(t, s, d.Digest); int64(len(got)) != d.Size {
			t.Errorf("%s: %d bytes, want %d", d.Digest, len(got), d.Size)
		}
	}
	fsckClean(t, s)
	// GC keeps both kinds of chunk, and compacts only packs.
	if err := s.SetRef(ctx, "a", "", v1.Digest); err != nil {
		t.Fatal(err)
	}
	if err := s.SetRef(ctx, "b", "", v2.Digest); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GC(ctx, GCOptions{}); err != nil {
		t.Fatal(err)
	}
	fsckClean(t, s)
}

// TestGCCompactsPacks: GC removes a pack holding only garbage, rewrites
// one mostly garbage, leaves one mostly live alone, and everything live
// still reads back.
func TestGCCompactsPacks(t *testing.T) {
	ctx := t.Context()
	dir := filepath.Join(t.TempDir(), ".rigor")
	s, err := Init(ctx, dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	put := func(n int64, ref string) Info {
		t.Helper()
		info, err := s.Put(ctx, bytes.NewReader(randBytes(uint64(n), int(n))), PutOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if ref != "" {
			if err := s.SetRef(ctx, ref, "", info.Digest); err != nil {
				t.Fatal(err)
			}
		}
		return info
	}
	// Pack 0: all garbage. Pack 1: one small live object in much garbage.
	// Pack 2: all live.
	put(5<<20, "")
	if err := s.packs.seal(); err != nil {
		t.Fatal(err)
	}
	small := put(1<<20+3, "small")
	put(8<<20+1, "")
	if err := s.packs.seal(); err != nil {
		t.Fatal(err)
	}
	big := put(4<<20+5, "big")
	before := packFiles(t, dir)
	if len(before) != 3 {
		t.Fatalf("packs %v, want 3", before)
	}
	rep, err := s.GC(ctx, GCOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("GC: %+v", rep)
	if rep.PacksDeleted != 2 || rep.PacksRewritten != 1 {
		t.Errorf("packs deleted %d, rewritten %d; want 2 and 1", rep.PacksDeleted, rep.PacksRewritten)
	}
	after := packFiles(t, dir)
	if len(after) != 2 || after[0] != before[2] {
		t.Errorf("packs after GC %v, want %s and one new", after, filepath.Base(before[2]))
	}
	for _, info := range []Info{small, big} {
		got := readAllDigest(t, s, info.Digest)
		if !bytes.Equal(got, randBytes(uint64(info.Size), int(info.Size))) {
			t.Errorf("%s changed", info.Digest)
		}
	}
	fsckClean(t, s)
}

// FuzzDecodePackPtr: any chunk entry value starting with fmtPack decodes
// to a pointer within bounds or fails with ErrDigestMismatch, and what
// decodes encodes back to the same bytes.
func FuzzDecodePackPtr(f *testing.F) {
	f.Add(packPtr{id: 3, off: 4096, len: 1 << 20}.encode())
	f.Add([]byte{fmtPack, 0x80})
	f.Fuzz(func(t *testing.T, v []byte) {
		v = append([]byte{fmtPack}, v...)
		p, err := decodePackPtr(v)
		if err != nil {
			if !errors.Is(err, ErrDigestMismatch) {
				t.Fatalf("error %v does not wrap ErrDigestMismatch", err)
			}
			return
		}
		if p.len <= 0 || p.len > 2*maxChunk || p.off < packHeader+packEntryHeader {
			t.Fatalf("out of bounds pointer %+v accepted", p)
		}
		if !bytes.Equal(p.encode(), v) {
			// Non-minimal varints decode too; re-encoding them must
			// give a pointer to the same place.
			q, err := decodePackPtr(p.encode())
			if err != nil || q != p {
				t.Fatalf("re-encoded %+v: %+v, %v", p, q, err)
			}
		}
	})
}

// TestPacksRetired: a Put that fills many packs keeps at most a couple of
// them open for writing (each retired pack is synced and closed once its
// last write is done), and every pack reads back after Close.
func TestPacksRetired(t *testing.T) {
	if _, err := os.ReadDir("/proc/self/fd"); err != nil {
		t.Skip("no /proc/self/fd")
	}
	old := packTarget
	packTarget = 2 << 20
	defer func() { packTarget = old }()
	ctx := t.Context()
	dir := filepath.Join(t.TempDir(), ".rigor")
	s, err := Init(ctx, dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	openPacks := func() int {
		fds, _ := os.ReadDir("/proc/self/fd")
		n := 0
		for _, fd := range fds {
			if target, err := os.Readlink(filepath.Join("/proc/self/fd", fd.Name())); err == nil && filepath.Dir(target) == filepath.Join(dir, packDirName) {
				n++
			}
		}
		return n
	}
	info, err := s.Put(ctx, bytes.NewReader(randBytes(5, 40<<20)), PutOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s.packs.syncs.Wait()
	packs := len(packFiles(t, dir))
	if n := openPacks(); packs < 15 || n > 1 {
		t.Errorf("%d packs written, %d still open after the Put; want many packs, at most the current one open", packs, n)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if n := openPacks(); n != 0 {
		t.Errorf("%d packs open after Close", n)
	}
	s, err = Open(ctx, dir, Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Verify(ctx, info.Digest, nil); err != nil {
		t.Fatal(err)
	}
}
