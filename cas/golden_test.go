package cas

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata/")

const goldenFile = "testdata/golden.txt"

type golden struct {
	name, digest, detail string
}

// goldenCases computes the golden values: digests of fixed blobs and
// trees, and the chunk sizes of fixed streams (which pin the gear table and
// the chunking parameters).
func goldenCases(t testing.TB) []golden {
	ctx := context.Background()
	s, err := Init(ctx, filepath.Join(t.TempDir(), ".rigor"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var out []golden
	blobs := []struct {
		name string
		b    []byte
	}{
		{"empty", nil},
		{"hello", []byte("hello\n")},
		{"vector-102400", vectorInput(102400)},
		{"random-9MiB", randBytes(42, 9<<20)},
		{"csv-6MiB", csvBytes(6 << 20)},
	}
	for _, bl := range blobs {
		info, st, err := s.put(ctx, bytes.NewReader(bl.b), PutOptions{})
		if err != nil {
			t.Fatal(err)
		}
		sizes := chunkBoundaries(&defaultCDC, bl.b)
		if len(bl.b) < minChunk {
			sizes = nil
		}
		if st.chunks != len(sizes) {
			t.Fatalf("%s: Put made %d chunks, chunkBoundaries %d", bl.name, st.chunks, len(sizes))
		}
		detail := fmt.Sprint(len(bl.b), " bytes, chunks ", sizes)
		out = append(out, golden{"blob/" + bl.name, string(info.Digest), detail})
	}
	trees := []struct {
		name string
		t    Tree
	}{
		{"empty", Tree{}},
		{"example", exampleTree()},
		{"nested", Tree{Entries: []Entry{
			{Name: "data", Mode: ModeTree, Size: 0, Digest: FromBytes(nil)},
			{Name: "link", Mode: ModeSymlink, Size: 5, Digest: FromBytes([]byte("a.txt"))},
			{Name: "weights.bin", Mode: ModeFile, Size: 1 << 33, Digest: FromBytes([]byte("w"))},
		}}},
	}
	for _, tr := range trees {
		b, err := EncodeTree(tr.t)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, golden{"tree/" + tr.name, string(FromBytes(b)), hex.EncodeToString(b)})
	}
	return out
}

// csvBytes returns n bytes of deterministic CSV-like numeric text.
func csvBytes(n int) []byte {
	var b bytes.Buffer
	r := randBytes(7, 3*n/8+64)
	for i := 0; b.Len() < n; i += 3 {
		fmt.Fprintf(&b, "%d,%d.%03d,%d\n", i/3, r[i], int(r[i+1])*3, int(r[i+2])-128)
	}
	return b.Bytes()[:n]
}

func readGolden(t testing.TB) []golden {
	f, err := os.Open(goldenFile)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []golden
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		parts := strings.SplitN(line, "\t", 3)
		if len(parts) != 3 {
			t.Fatalf("%s: bad line %q", goldenFile, line)
		}
		out = append(out, golden{parts[0], parts[1], parts[2]})
	}
	return out
}

func TestGolden(t *testing.T) {
	got := goldenCases(t)
	if *update {
		var b bytes.Buffer
		b.WriteString("# Golden digests: go test ./cas -update rewrites this file.\n")
		b.WriteString("# name\tdigest\tdetail (blobs: size and chunk sizes; trees: canonical encoding, hex)\n")
		for _, g := range got {
			fmt.Fprintf(&b, "%s\t%s\t%s\n", g.name, g.digest, g.detail)
		}
		if err := os.WriteFile(goldenFile, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want := readGolden(t)
	if len(got) != len(want) {
		t.Fatalf("%d golden cases, %s has %d (run go test ./cas -update after an intended change)", len(got), goldenFile, len(want))
	}
	for i := range got {
		if got[i] != want[i] {
			t.Errorf("golden %s:\n got %s %s\nwant %s %s", want[i].name, got[i].digest, got[i].detail, want[i].digest, want[i].detail)
		}
	}
}
