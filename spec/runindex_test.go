package spec

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestLineageKeys(t *testing.T) {
	k := LineageKey("blake3:ab", "EXP-01__seed-1__attempt-2")
	if !bytes.HasPrefix(k, LineagePrefix("blake3:ab")) {
		t.Errorf("key %q lacks its prefix", k)
	}
	c, r, ok := ParseLineageKey(k)
	if !ok || c != "blake3:ab" || r != "EXP-01__seed-1__attempt-2" {
		t.Errorf("ParseLineageKey(%q) = %q, %q, %v", k, c, r, ok)
	}
	for _, bad := range []string{"no-separator", "\x00run", "content\x00"} {
		if _, _, ok := ParseLineageKey([]byte(bad)); ok {
			t.Errorf("ParseLineageKey(%q) ok", bad)
		}
	}
	if got := string(RowPrefix("EXP-1")); got != "EXP-1__" {
		t.Errorf("RowPrefix = %q", got)
	}
	if got := string(ReservationPrefix("EXP-1", 42)); got != "EXP-1\x0042\x00" {
		t.Errorf("ReservationPrefix = %q", got)
	}
	h := "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
	if SHA256Digest(h) != "sha256:"+h || SHA256Digest("ABC") != "" {
		t.Errorf("SHA256Digest")
	}
}

func TestLineageLinkRoundTrip(t *testing.T) {
	tests := []struct {
		link LineageLink
		want string
	}{
		// The bytes rigor run writes (exec's writeLineage), so that both
		// recorders' entries read alike.
		{LineageLink{Kind: LineageInput, Role: "data", Path: "inputs/data/x.csv"}, `{"kind":"input","role":"data","path":"inputs/data/x.csv"}`},
		{LineageLink{Kind: LineageConfig, Path: "config.json"}, `{"kind":"config","path":"config.json"}`},
		{LineageLink{Name: "predictions", Path: "predictions.csv"}, `{"name":"predictions","path":"predictions.csv"}`},
	}
	for _, tt := range tests {
		b, err := tt.link.Encode()
		if err != nil || string(b) != tt.want {
			t.Errorf("Encode(%+v) = %s, %v; want %s", tt.link, b, err, tt.want)
		}
		got, err := DecodeLineageLink(b)
		if err != nil || *got != tt.link {
			t.Errorf("DecodeLineageLink(%s) = %+v, %v", b, got, err)
		}
	}
	if _, err := (&LineageLink{Path: "../x"}).Encode(); !errors.Is(err, ErrInvalid) {
		t.Errorf("Encode of an escaping path: %v", err)
	}
	if _, err := DecodeLineageLink([]byte("{")); !errors.Is(err, ErrSyntax) {
		t.Errorf("DecodeLineageLink of bad JSON: %v", err)
	}
	// Unknown members (a later recorder's) are ignored.
	if l, err := DecodeLineageLink([]byte(`{"path":"a","extra":1}`)); err != nil || l.Path != "a" {
		t.Errorf("unknown member: %+v, %v", l, err)
	}
}

func FuzzDecodeLineageLink(f *testing.F) {
	f.Add([]byte(`{"kind":"input","role":"data","path":"inputs/data/x.csv"}`))
	f.Add([]byte(`{"name":"predictions","path":"predictions.csv"}`))
	f.Add([]byte(`{"path":"../x"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		l, err := DecodeLineageLink(data)
		if err != nil {
			return
		}
		b, err := l.Encode()
		if err != nil {
			return // a path the recorders never write
		}
		l2, err := DecodeLineageLink(b)
		if err != nil || *l2 != *l {
			t.Fatalf("round trip of %q: %+v -> %s -> %+v, %v", data, l, b, l2, err)
		}
	})
}

func TestRunIOOf(t *testing.T) {
	b := func(c byte) string { return "blake3:" + strings.Repeat(string(c), 64) }
	sha := "sha256:" + strings.Repeat("9", 64)
	in := []IndexEntry{
		{Content: b('c'), Link: LineageLink{Kind: LineageConfig, Path: "config.json"}},
		{Content: b('d'), Link: LineageLink{Kind: LineageCode, Path: "code"}},
		{Content: b('2'), Link: LineageLink{Kind: LineageInput, Role: "data", Path: "b.csv"}},
		{Content: b('1'), Link: LineageLink{Kind: LineageInput, Role: "data", Path: "a.csv"}},
		{Content: b('1'), Link: LineageLink{Kind: LineageInput, Role: "again", Path: "a2.csv"}},
		{Content: sha, Link: LineageLink{Kind: LineageInput, Role: "data", Path: "a.csv"}},
	}
	out := []IndexEntry{
		{Content: b('f'), Link: LineageLink{Name: "predictions", Path: "predictions.csv"}},
		{Content: sha, Link: LineageLink{Name: "predictions", Path: "predictions.csv"}},
		{Content: b('e'), Link: LineageLink{Name: "outputs", Path: "rigor/outputs"}},
	}
	r := RunIOOf(in, out)
	if want := []string{b('1'), b('2')}; !slices.Equal(r.Inputs, want) {
		t.Errorf("inputs = %q, want %q (data inputs only, blake3 only, sorted, once)", r.Inputs, want)
	}
	if want := []string{b('e'), b('f')}; !slices.Equal(r.Outputs, want) {
		t.Errorf("outputs = %q, want %q", r.Outputs, want)
	}
	enc, err := r.Encode()
	if err != nil {
		t.Fatal(err)
	}
	back, err := DecodeRunIO(enc)
	if err != nil || !slices.Equal(back.Inputs, r.Inputs) || !slices.Equal(back.Outputs, r.Outputs) {
		t.Errorf("round trip: %+v, %v", back, err)
	}
	empty := RunIOOf(nil, nil)
	if enc, err := empty.Encode(); err != nil || string(enc) != `{"inputs":[],"outputs":[]}` {
		t.Errorf("empty run-io encodes as %s, %v", enc, err)
	}
	for _, bad := range []string{
		`{"inputs":["` + sha + `"],"outputs":[]}`,
		`{"inputs":[],"outputs":[],"x":1}`,
		`{"inputs":[]}`,
		`{"inputs":[],"outputs":[]} x`,
		`[]`,
	} {
		if _, err := DecodeRunIO([]byte(bad)); err == nil {
			t.Errorf("DecodeRunIO(%s) succeeded", bad)
		}
	}
}

func FuzzDecodeRunIO(f *testing.F) {
	f.Add([]byte(`{"inputs":["blake3:` + strings.Repeat("a", 64) + `"],"outputs":[]}`))
	f.Add([]byte(`{"inputs":[],"outputs":["blake3:` + strings.Repeat("0", 64) + `"]}`))
	f.Add([]byte(`{"inputs":null,"outputs":[]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := DecodeRunIO(data)
		if err != nil {
			return
		}
		b, err := r.Encode()
		if err != nil {
			t.Fatalf("decoded %q but cannot encode it: %v", data, err)
		}
		r2, err := DecodeRunIO(b)
		if err != nil || !slices.Equal(r2.Inputs, r.Inputs) || !slices.Equal(r2.Outputs, r.Outputs) {
			t.Fatalf("round trip of %q: %+v -> %s -> %+v, %v", data, r, b, r2, err)
		}
	})
}
