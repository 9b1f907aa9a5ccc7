package spec

import (
	"fmt"
	"slices"
	"testing"
)

func TestDiffJSON(t *testing.T) {
	parse := func(s string) any {
		v, err := ParseJSON([]byte(s))
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	tests := []struct {
		a, b string
		want []string
	}{
		{`{"a":1}`, `{"a":1.0}`, nil},
		{`{"lr":0.1,"opt":{"name":"adam","betas":[0.9,0.999]}}`, `{"lr":0.01,"opt":{"name":"adam","betas":[0.9]},"seed":1}`, []string{
			"changed $.lr 0.1 0.01", "removed $.opt.betas[1] 0.999 ", "added $.seed  1",
		}},
		{`{"a b":{"c.d":true}}`, `{"a b":{"c.d":false}}`, []string{`changed $["a b"]["c.d"] true false`}},
		{`[1,{"x":"y"}]`, `{"x":"y"}`, []string{`changed $ [1,{"x":"y"}] {"x":"y"}`}},
		{`{"k":null}`, `{}`, []string{"removed $.k null "}},
	}
	for _, tt := range tests {
		var got []string
		for _, c := range DiffJSON(parse(tt.a), parse(tt.b)) {
			got = append(got, fmt.Sprintf("%s %s %s %s", c.Kind, c.Where, c.First, c.Second))
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("DiffJSON(%s, %s):\n  got  %q\n  want %q", tt.a, tt.b, got, tt.want)
		}
	}
}
