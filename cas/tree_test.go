package cas

import (
	"bytes"
	"encoding/hex"
	"errors"
	"reflect"
	"strings"
	"testing"

	digest "github.com/opencontainers/go-digest"
)

func exampleTree() Tree {
	return Tree{Entries: []Entry{
		{Name: "hello.txt", Mode: ModeFile, Size: 6, Digest: FromBytes([]byte("hello\n"))},
		{Name: "run.sh", Mode: ModeExec, Size: 0, Digest: FromBytes(nil)},
	}}
}

// TestTreeWorkedExample pins the worked example of doc.go.
func TestTreeWorkedExample(t *testing.T) {
	b, err := EncodeTree(exampleTree())
	if err != nil {
		t.Fatal(err)
	}
	want := "72677401" + "02" +
		"01" + "09" + hex.EncodeToString([]byte("hello.txt")) + "06" + FromBytes([]byte("hello\n")).Encoded() +
		"02" + "06" + hex.EncodeToString([]byte("run.sh")) + "00" + FromBytes(nil).Encoded()
	if got := hex.EncodeToString(b); got != want {
		t.Errorf("EncodeTree(example) =\n%s\nwant\n%s", got, want)
	}
}

func TestTreeRoundTrip(t *testing.T) {
	d := FromBytes([]byte("x"))
	trees := []Tree{
		{Entries: []Entry{}},
		exampleTree(),
		{Entries: []Entry{
			{Name: "A", Mode: ModeTree, Size: 1 << 40, Digest: d},
			{Name: "a", Mode: ModeSymlink, Size: 300, Digest: d},
			{Name: "a b", Mode: ModeFile, Size: 127, Digest: d},
			{Name: "a.b", Mode: ModeFile, Size: 128, Digest: d},
			{Name: strings.Repeat("n", maxNameLen), Mode: ModeFile, Size: 0, Digest: d},
			{Name: "ü\n", Mode: ModeExec, Size: 1<<63 - 1, Digest: d},
		}},
	}
	for i, tr := range trees {
		b, err := EncodeTree(tr)
		if err != nil {
			t.Fatalf("tree %d: %v", i, err)
		}
		got, err := DecodeTree(b)
		if err != nil {
			t.Fatalf("tree %d: DecodeTree: %v", i, err)
		}
		if !reflect.DeepEqual(got, tr) {
			t.Errorf("tree %d: round trip = %+v, want %+v", i, got, tr)
		}
		b2, _ := EncodeTree(got)
		if !bytes.Equal(b, b2) {
			t.Errorf("tree %d: re-encoding differs", i)
		}
	}
}

// entryBytes encodes one entry by hand, so the decoder can be fed what the
// encoder refuses to produce.
func entryBytes(mode byte, name string, size []byte, d digest.Digest) []byte {
	b := []byte{mode, byte(len(name))}
	b = append(b, name...)
	b = append(b, size...)
	s, _ := toSum(d)
	return append(b, s[:]...)
}

func TestDecodeTreeStrict(t *testing.T) {
	d := FromBytes([]byte("x"))
	one := []byte{1}
	tree := func(count byte, entries ...[]byte) []byte {
		b := append(append([]byte{}, treeMagic...), count)
		for _, e := range entries {
			b = append(b, e...)
		}
		return b
	}
	good := tree(1, entryBytes(1, "a", one, d))
	if _, err := DecodeTree(good); err != nil {
		t.Fatalf("control case: %v", err)
	}
	tests := []struct {
		name string
		in   []byte
	}{
		{"empty input", nil},
		{"bad magic", append([]byte("rgt\x02"), good[4:]...)},
		{"truncated", good[:len(good)-1]},
		{"trailing byte", append(bytes.Clone(good), 0)},
		{"count too high", tree(2, entryBytes(1, "a", one, d))},
		{"count huge", append(append([]byte{}, treeMagic...), 0xff, 0xff, 0xff, 0xff, 0x0f)},
		{"count non-minimal", append(append(append([]byte{}, treeMagic...), 0x81, 0x00), entryBytes(1, "a", one, d)...)},
		{"unsorted", tree(2, entryBytes(1, "b", one, d), entryBytes(1, "a", one, d))},
		{"duplicate", tree(2, entryBytes(1, "a", one, d), entryBytes(1, "a", one, d))},
		{"slash", tree(1, entryBytes(1, "a/b", one, d))},
		{"NUL", tree(1, entryBytes(1, "a\x00", one, d))},
		{"dot", tree(1, entryBytes(1, ".", one, d))},
		{"dotdot", tree(1, entryBytes(1, "..", one, d))},
		{"empty name", tree(1, entryBytes(1, "", one, d))},
		{"mode 0", tree(1, entryBytes(0, "a", one, d))},
		{"mode 5", tree(1, entryBytes(5, "a", one, d))},
		{"size non-minimal", tree(1, entryBytes(1, "a", []byte{0x80, 0x00}, d))},
		{"size over int64", tree(1, entryBytes(1, "a", []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, d))},
	}
	for _, tt := range tests {
		if got, err := DecodeTree(tt.in); !errors.Is(err, ErrBadTree) {
			t.Errorf("DecodeTree(%s) = %+v, %v, want ErrBadTree", tt.name, got, err)
		}
	}
}

func FuzzDecodeTree(f *testing.F) {
	for _, tr := range []Tree{{}, exampleTree()} {
		b, _ := EncodeTree(tr)
		f.Add(b)
	}
	for _, g := range readGolden(f) {
		if strings.HasPrefix(g.name, "tree/") {
			if b, err := hex.DecodeString(g.detail); err == nil {
				f.Add(b)
			}
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		tr, err := DecodeTree(b)
		if err != nil {
			if !errors.Is(err, ErrBadTree) {
				t.Fatalf("DecodeTree error %v does not wrap ErrBadTree", err)
			}
			return
		}
		enc, err := EncodeTree(tr)
		if err != nil {
			t.Fatalf("EncodeTree(DecodeTree(b)): %v", err)
		}
		if !bytes.Equal(enc, b) {
			t.Fatalf("decode→encode not identical:\n%x\n%x", b, enc)
		}
		tr2, err := DecodeTree(enc)
		if err != nil || !reflect.DeepEqual(tr, tr2) {
			t.Fatalf("decode→encode→decode unstable: %v", err)
		}
	})
}
