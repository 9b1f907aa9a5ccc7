package cas

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"

	badger "github.com/dgraph-io/badger/v4"
	digest "github.com/opencontainers/go-digest"
	"github.com/zeebo/blake3"
)

// directContent is n bytes of mixed content: random stretches (stored
// raw), float32-like arrays (fmtLanes) and text (zstd or fmtHuff), so that
// values of many sizes go through the staging buffers.
func directContent(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, 7))
	b := make([]byte, 0, n)
	for len(b) < n {
		k := min(n-len(b), 64<<10+r.IntN(3<<20))
		switch r.IntN(3) {
		case 0:
			for range k {
				b = append(b, byte(r.Uint32()))
			}
		case 1:
			for len(b)%4 != 0 {
				b = append(b, 0)
			}
			for range k / 4 {
				b = binary.LittleEndian.AppendUint32(b, 0x3f000000|r.Uint32()&0x7fffff)
			}
		default:
			for range k / 8 {
				b = append(b, "0.123456,"[r.IntN(9)], "789;\n"[r.IntN(5)], 'a', 'b', ' ', '1', '2', ',')
			}
		}
	}
	return b[:n]
}

// readPackValue reads chunk cs's stored value from its pack file with
// read(2), not through the store's mapping, as another process would.
func readPackValue(s *Store, cs sum) ([]byte, error) {
	var ptr packPtr
	err := s.db.View(func(txn *badger.Txn) error {
		item, err := txn.Get(chunkKey(cs))
		if err != nil {
			return err
		}
		return item.Value(func(v []byte) error {
			ptr, err = decodePackPtr(v)
			return err
		})
	})
	if err != nil {
		return nil, err
	}
	f, err := os.Open(s.packs.path(ptr.id))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	v := make([]byte, ptr.len)
	if _, err := f.ReadAt(v, ptr.off); err != nil {
		return nil, fmt.Errorf("pack %d at %d: %w", ptr.id, ptr.off, err)
	}
	return v, nil
}

// TestDirectPacks: chunk values written through the staging buffers,
// directly where the file system allows it and through the page cache
// where not, are on the disk when Put returns (each chunk read back from
// its pack file by another file handle and checked against its sum), read
// back right after through the mapping while later values still fill the
// same staging buffer, survive rotation into new packs, concurrent Puts and
// a reopen, and leave each pack ending exactly at its last value.
func TestDirectPacks(t *testing.T) {
	for _, direct := range []bool{true, false} {
		name := map[bool]string{true: "direct", false: "buffered"}[direct]
		t.Run(name, func(t *testing.T) {
			ctx := t.Context()
			dir := filepath.Join(t.TempDir(), ".rigor")
			if direct && (runtime.GOOS != "linux" || !directWorks(t.TempDir())) {
				t.Skip("no O_DIRECT here")
			}
			oldUse, oldTarget := useDirect, packTarget
			useDirect, packTarget = direct, 9<<20 // values span staging buffers and packs
			defer func() { useDirect, packTarget = oldUse, oldTarget }()

			s, err := Init(ctx, dir, Options{})
			if err != nil {
				t.Fatal(err)
			}
			contents := map[digest.Digest][]byte{}
			var mu sync.Mutex
			put := func(seed uint64, n int) {
				data := directContent(seed, n)
				info, err := s.Put(ctx, bytes.NewReader(data), PutOptions{})
				if err != nil {
					t.Error(err)
					return
				}
				chunks, err := s.ChunksForTest(ctx, info.Digest)
				if err != nil {
					t.Error(err)
					return
				}
				for _, c := range chunks {
					cs := mustSum(c)
					v, err := readPackValue(s, cs)
					if err != nil {
						t.Errorf("chunk %s read from its pack file after Put: %v", cs.digest(), err)
						continue
					}
					cd, err := newCodec(1, CompressZstd)
					if err != nil {
						t.Error(err)
						return
					}
					size, _ := declaredSizeOrRaw(cd, v)
					got, err := cd.decode(nil, v, size)
					cd.close()
					if err != nil || sum(blake3.Sum256(got)) != cs {
						t.Errorf("chunk %s read from its pack file after Put: %v", cs.digest(), err)
					}
				}
				checkContent(t, s, info.Digest, data)
				mu.Lock()
				contents[info.Digest] = data
				mu.Unlock()
			}
			// One after the other: values smaller than a staging buffer,
			// read back before the buffer is full.
			for i, n := range []int{900 << 10, 1<<20 + 3, 5 << 20, 13<<20 + 5} {
				put(uint64(i), n)
			}
			if direct && s.packs.directWriter() == nil {
				t.Fatal("no direct writer started")
			}
			var wg sync.WaitGroup
			for i := range 4 {
				wg.Go(func() { put(uint64(100+i), 3<<20+i*777_777) })
			}
			wg.Wait()
			for d, data := range contents {
				checkContent(t, s, d, data)
			}
			fsckClean(t, s)
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			packs := packFiles(t, dir)
			if len(packs) < 3 {
				t.Errorf("%d packs, want several (rotation)", len(packs))
			}
			for _, p := range packs {
				checkPackEnd(t, p)
			}
			s, err = Open(ctx, dir, Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			for d, data := range contents {
				checkContent(t, s, d, data)
			}
			fsckClean(t, s)
		})
	}
}

// declaredSizeOrRaw is the logical size of stored value v (raw values
// carry none: their length).
func declaredSizeOrRaw(c *codec, v []byte) (int, error) {
	switch v[0] {
	case fmtRaw:
		return len(v) - 1, nil
	case fmtZstd:
		out, err := c.decodeUpTo(v, 2*maxChunk)
		return len(out), err
	}
	return declaredSize(v)
}

// checkContent reads object d back and compares it with want.
func checkContent(t *testing.T, s *Store, d digest.Digest, want []byte) {
	t.Helper()
	r, err := s.Open(context.Background(), d)
	if err != nil {
		t.Errorf("open %s: %v", d, err)
		return
	}
	defer r.Close()
	got, err := io.ReadAll(r)
	if err != nil || !bytes.Equal(got, want) {
		t.Errorf("read %s back: %d bytes, %v; want %d bytes", d, len(got), err, len(want))
	}
}

// checkPackEnd walks the entries of the pack file at path: the last one
// must end exactly at the end of the file (no block padding left).
func checkPackEnd(t *testing.T, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	off := packHeader
	for off+packEntryHeader <= len(b) {
		off += packEntryHeader + int(binary.LittleEndian.Uint32(b[off+32:]))
	}
	if off != len(b) {
		t.Errorf("%s: entries end at %d, file at %d", filepath.Base(path), off, len(b))
	}
}

// TestDirectWriteError: when the direct writes fail (here: the pack is
// open read-only, so every write returns EBADF), Put returns the error
// instead of hanging or committing, later Puts fail the same way, and the
// store reopened afterwards fscks clean: no pointer was committed to bytes
// that never reached the file.
func TestDirectWriteError(t *testing.T) {
	if runtime.GOOS != "linux" || !directWorks(t.TempDir()) {
		t.Skip("no O_DIRECT here")
	}
	ctx := t.Context()
	dir := filepath.Join(t.TempDir(), ".rigor")
	s, err := Init(ctx, dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	old := openPack
	openPack = func(name string) (*os.File, error) {
		f, err := os.Create(name)
		if err != nil {
			return nil, err
		}
		f.Close()
		return os.Open(name)
	}
	defer func() { openPack = old }()
	kept, err := s.Put(ctx, bytes.NewReader([]byte("small content, stored inline")), PutOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		_, err := s.Put(ctx, bytes.NewReader(directContent(uint64(i), 3<<20)), PutOptions{})
		if err == nil {
			t.Fatalf("Put %d with failing pack writes succeeded", i)
		}
		t.Logf("Put %d: %v", i, err)
	}
	if err := s.Close(); err == nil {
		t.Error("Close after failed pack writes reported no error")
	}
	openPack = old
	s, err = Open(ctx, dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	rep := fsckClean(t, s)
	if rep.Objects != 1 {
		t.Errorf("fsck saw %d objects, want 1 (the inline one)", rep.Objects)
	}
	checkContent(t, s, kept.Digest, []byte("small content, stored inline"))
	// The store works again once writes do.
	data := directContent(9, 3<<20)
	info, err := s.Put(ctx, bytes.NewReader(data), PutOptions{})
	if err != nil {
		t.Fatal(err)
	}
	checkContent(t, s, info.Digest, data)
}
