package gates

import (
	"fmt"
	"io"
	"strings"

	"github.com/rigor-dev/rigor/spec"
)

// WriteContractMarkdown writes the human summary of a contract report: a
// title, the status, advancement and declared decision, the blocking gates,
// a table of gate | status | severity | findings, each finding of a gate
// that did not pass, and a closing note on what the gate can and cannot
// establish.
func WriteContractMarkdown(w io.Writer, r *spec.ContractReport) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# execution contract: %s\n\n", r.Project)
	fmt.Fprintf(&b, "- status: **%s**\n- advancement: **%s**\n- declared decision: %s\n", r.Status, r.Advancement, contractOrDash(r.Decision))
	if len(r.BlockingGates) > 0 {
		fmt.Fprintf(&b, "- blocking gates: %s\n", strings.Join(r.BlockingGates, ", "))
	}
	b.WriteString("\n")
	writeStage6Table(&b, r.Findings.Gates)
	b.WriteString("\nA contract only records claims; this gate checks that they are complete, consistent and\n" +
		"fail-closed. Bind it to the stored runs (--runs) to check the claims against the evidence.\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// writeStage6Table writes the gate table and, below it, the findings of every
// gate that did not pass.
func writeStage6Table(b *strings.Builder, gates []spec.Gate) {
	b.WriteString("| gate | status | severity | findings |\n|---|---|---|---:|\n")
	for _, g := range gates {
		fmt.Fprintf(b, "| %s | %s | %s | %d |\n", g.Gate, g.Status, g.Severity, len(g.Findings))
	}
	for _, g := range gates {
		if len(g.Findings) == 0 {
			continue
		}
		fmt.Fprintf(b, "\n## %s (%s/%s)\n\n", g.Gate, g.Status, g.Severity)
		for _, f := range g.Findings {
			fmt.Fprintf(b, "- `%s` %s: %s", f.Rule, f.Loc, f.Issue)
			if f.Evidence != "" {
				fmt.Fprintf(b, " [%s]", f.Evidence)
			}
			if f.Fix != "" {
				fmt.Fprintf(b, " (fix: %s)", f.Fix)
			}
			b.WriteString("\n")
		}
	}
}

func contractOrDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
