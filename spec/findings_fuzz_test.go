package spec

import (
	"bytes"
	"os"
	"testing"
)

// FuzzDecodeFindings checks that DecodeFindings never panics, that whatever
// it accepts encodes canonically, that the canonical form decodes back to the
// same bytes, and that a complete canonical input re-encodes to itself.
func FuzzDecodeFindings(f *testing.F) {
	if b, err := os.ReadFile("testdata/findings/report.json"); err == nil {
		f.Add(b)
	}
	f.Add([]byte(`{"schema":"light.findings.v1","producer":"p","target":"t","verdict":"pass","gates":[]}`))
	f.Add([]byte(`{"schema":"light.findings.v1","producer":"p","target":"t","verdict":"warn","_degraded":true,"gates":[{"gate":"g","status":"warn","severity":"minor","findings":[{"loc":"a.py:1","issue":"i"}],"note":"n"}],"summary":"s","fresh_evidence":true}`))
	f.Add([]byte(`{"schema":"light.findings.v1","gates":[{"findings":[{}]}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := DecodeFindings(data)
		if err != nil {
			return
		}
		enc, err := r.Encode()
		if err != nil {
			t.Fatalf("decoded report does not encode: %v", err)
		}
		back, err := DecodeFindings(enc)
		if err != nil {
			t.Fatalf("canonical encoding does not decode: %v\n%s", err, enc)
		}
		again, err := back.Encode()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(enc, again) {
			t.Fatalf("encoding is not stable:\n%s\n%s", enc, again)
		}
		// A canonical input that spells out every member re-encodes to itself.
		complete := bytes.Contains(data, []byte(`"fresh_evidence":`)) && bytes.Contains(data, []byte(`"summary":`)) &&
			bytes.Count(data, []byte(`"findings":`)) == len(r.Gates) && bytes.Count(data, []byte(`"fix":`)) == countFindings(r) &&
			!bytes.Contains(data, []byte(`"_`))
		if canon, err := CanonicalizeJSON(data); err == nil && complete && bytes.Equal(canon, data) {
			if !bytes.Equal(enc, data) {
				t.Fatalf("canonical input re-encodes differently:\n%s\n%s", data, enc)
			}
		}
	})
}

func countFindings(r *Report) int {
	n := 0
	for _, g := range r.Gates {
		n += len(g.Findings)
	}
	return n
}
