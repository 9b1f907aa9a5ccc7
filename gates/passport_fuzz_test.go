package gates

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"
)

// billionLaughs is YAML whose aliases expand to 10^levels scalars.
func billionLaughs(levels int) string {
	var b strings.Builder
	b.WriteString("l0: &l0 [x, x, x, x, x, x, x, x, x, x]\n")
	for i := 1; i <= levels; i++ {
		p := "*l" + string(rune('0'+i-1))
		b.WriteString("l" + string(rune('0'+i)) + ": &l" + string(rune('0'+i)) + " [" + strings.Repeat(p+", ", 9) + p + "]\n")
	}
	return b.String()
}

// TestPassportAliasBomb (issue 10): a passport of a few hundred bytes
// whose aliases expand to 10^9 values is refused quickly, not expanded.
func TestPassportAliasBomb(t *testing.T) {
	p, err := ParsePassport([]byte(billionLaughs(8)))
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = p.Tree()
	if !errors.Is(err, ErrPassport) || !strings.Contains(err.Error(), "aliases") {
		t.Errorf("Tree = %v, want ErrPassport about aliases", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Tree took %v", d)
	}
	if _, err := p.Validate(false); err == nil {
		t.Errorf("Validate accepted an alias bomb")
	}
}

// FuzzParsePassport (issue 10): no YAML makes the passport reader panic,
// loop or blow up: what parses converts to a tree or fails with
// ErrPassport, validates or not, and encodes to YAML that parses again to
// the same tree.
func FuzzParsePassport(f *testing.F) {
	if b, err := os.ReadFile("testdata/checkpoint/passport.yaml"); err == nil {
		f.Add(b)
	}
	f.Add([]byte("version: 3\nstages:\n  - {stage: 6, state: open}\n"))
	f.Add([]byte("a: &a [1, 2]\nb: *a\nc: !!binary aGVsbG8=\nd: 2001-12-14t21:59:43.10-05:00\n"))
	f.Add([]byte("? [a, b]\n: c\n"))
	f.Add([]byte(billionLaughs(3)))
	f.Add([]byte("a: 1\na: 2\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := ParsePassport(data)
		if err != nil {
			if !errors.Is(err, ErrPassport) {
				t.Fatalf("ParsePassport error %v does not wrap ErrPassport", err)
			}
			return
		}
		tree, err := p.Tree()
		if err != nil {
			if !errors.Is(err, ErrPassport) {
				t.Fatalf("Tree error %v does not wrap ErrPassport", err)
			}
			return
		}
		p.Validate(false)
		p.HasStage(6)
		p.Skill(6)
		p.RevisionRounds(6)
		out, err := p.Encode()
		if err != nil {
			return
		}
		q, err := ParsePassport(out)
		if err != nil {
			t.Fatalf("encoded passport does not parse: %v\n%s", err, out)
		}
		tree2, err := q.Tree()
		if err != nil {
			t.Fatalf("encoded passport's tree: %v\n%s", err, out)
		}
		if len(tree2) != len(tree) {
			t.Fatalf("round trip changed the top level: %d keys, then %d", len(tree), len(tree2))
		}
	})
}
