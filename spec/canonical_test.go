package spec

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"
)

func TestCanonicalizeJSON(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"sorted keys, no space", `{ "b": 1, "a": [ true, false, null ] }`, `{"a":[true,false,null],"b":1}`},
		{"nested", `{"z":{"y":{"x":{}}},"a":[]}`, `{"a":[],"z":{"y":{"x":{}}}}`},
		{"byte order of keys", `{"é":1,"z":2,"Z":3,"_":4}`, `{"Z":3,"_":4,"z":2,"é":1}`},
		{"integers exact", `[0,-0,12345678901234567890123,-7]`, `[0,0,12345678901234567890123,-7]`},
		{"integral floats", `[1.0,1e2,-2.50e1,0.0,1E0]`, `[1,100,-25,0,1]`},
		{"fractions", `[0.1,1.5e-3,3.14159,1e-7,2.5e21]`, `[0.1,0.0015,3.14159,1e-7,2.5e+21]`},
		{"string escapes", `["a\"b\\c","\u0001\n\t","<&>","\u00e9\u2028","\/"]`, `["a\"b\\c","\u0001\n\t","<&>","é` + "\u2028" + `","/"]`},
		{"scalar", ` "x" `, `"x"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := CanonicalizeJSON([]byte(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("CanonicalizeJSON(%s) = %s, want %s", tt.in, got, tt.want)
			}
			again, err := CanonicalizeJSON(got)
			if err != nil || !bytes.Equal(again, got) {
				t.Errorf("not idempotent: %s -> %s (%v)", got, again, err)
			}
		})
	}
}

func TestParseJSONRejects(t *testing.T) {
	tests := map[string]string{
		`{"a":1,"a":2}`:          "duplicate key",
		`{"a":1}x`:               "after the top-level value",
		`{"a":1} {"b":2}`:        "after the top-level value",
		"\"\xff\"":               "invalid UTF-8",
		`{"a":}`:                 "malformed",
		``:                       "unexpected end",
		strings.Repeat("[", 600): "nesting deeper",
		`[1e999]`:                "",
	}
	for in, want := range tests {
		v, err := ParseJSON([]byte(in))
		if want == "" { // parses, but cannot be canonicalised
			if err == nil {
				_, err = Canonical(v)
			}
		}
		if !errors.Is(err, ErrSyntax) || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseJSON(%.40q) = %v, want ErrSyntax containing %q", in, err, want)
		}
	}
}

func TestCanonicalGoValues(t *testing.T) {
	type inner struct {
		B string `json:"b"`
		A int    `json:"a"`
	}
	got, err := Canonical(map[string]any{"x": inner{B: "<", A: 2}, "f": 0.5, "n": json.Number("1.0")})
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"f":0.5,"n":1,"x":{"a":2,"b":"<"}}`; string(got) != want {
		t.Errorf("Canonical = %s, want %s", got, want)
	}
	if _, err := Canonical(math.NaN()); err == nil {
		t.Error("NaN was encoded")
	}
	if _, err := Canonical(map[string]any{"x": math.Inf(1)}); err == nil {
		t.Error("+Inf was encoded")
	}
}

// FuzzCanonical checks that canonical encoding is a fixed point: decoding
// canonical bytes and encoding them again gives the same bytes, and the
// canonical form of any accepted input parses to the same value.
func FuzzCanonical(f *testing.F) {
	for _, s := range []string{`{"b":[1,2.5,"x"],"a":null}`, `[1e2,-0,0.1]`, `"\u00e9"`, `{"a":{"b":{"c":[]}}}`, `123456789012345678901234567890`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c1, err := CanonicalizeJSON(data)
		if err != nil {
			return
		}
		c2, err := CanonicalizeJSON(c1)
		if err != nil {
			t.Fatalf("canonical output does not parse: %v\n%s", err, c1)
		}
		if !bytes.Equal(c1, c2) {
			t.Fatalf("not a fixed point:\n%s\n%s", c1, c2)
		}
		if !json.Valid(c1) {
			t.Fatalf("canonical output is not JSON: %s", c1)
		}
	})
}
