package gates

import (
	"context"
	"fmt"
	"strings"
	"testing"
)

// srcs makes sources from name/text pairs.
func srcs(pairs ...string) []Source {
	var out []Source
	for i := 0; i+1 < len(pairs); i += 2 {
		out = append(out, Source{Path: pairs[i], Text: []byte(pairs[i+1])})
	}
	return out
}

type scanFunc func(context.Context, []Source, Options) (*Result, error)

func mustScan(t *testing.T, fn scanFunc, s []Source) *Result {
	t.Helper()
	res, err := fn(t.Context(), s, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := res.Report.Validate(); err != nil {
		t.Fatalf("report does not validate: %v", err)
	}
	return res
}

// describe renders findings one per line for failure messages.
func describe(fs []Finding) string {
	var b strings.Builder
	for _, f := range fs {
		fmt.Fprintf(&b, "  %s: %s %s: %s\n    evidence: %s\n", f.Loc, f.Rule, f.Severity, f.Issue, f.Evidence)
	}
	if b.Len() == 0 {
		return "  (no findings)\n"
	}
	return b.String()
}

func rulesOf(fs []Finding) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.Rule)
	}
	return out
}
