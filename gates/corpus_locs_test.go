package gates

import (
	"slices"
	"strings"
	"testing"

	"github.com/rigor-dev/rigor/spec"
)

// TestCorpusFindingsLocated holds issue 6's promise about output on the
// whole corpus: every finding of the three gates names file:line:col (and
// the cell in a notebook), its rule and a fix; a leakage finding also
// points at the place the data was learnt from or used and at the split.
func TestCorpusFindingsLocated(t *testing.T) {
	gatesToRun := []struct {
		name string
		fn   scanFunc
	}{{"review", Review}, {"seeds", Seeds}, {"leakage", Leakage}}
	total := 0
	for _, ce := range readCorpus(t) {
		srcs, err := Load(t.Context(), []string{ce.path})
		if err != nil {
			t.Fatal(err)
		}
		for _, g := range gatesToRun {
			res := mustScan(t, g.fn, srcs)
			checkSARIFLocated(t, ce.name+" "+g.name, &res.Report)
			for _, f := range res.Findings {
				total++
				where := ce.name + " " + g.name + " " + f.Loc.String() + " " + f.Rule
				if f.Rule == "" || f.Fix == "" || f.Issue == "" {
					t.Errorf("%s: rule %q, issue %q, fix %q: none may be empty", where, f.Rule, f.Issue, f.Fix)
				}
				if f.Loc.Path == "" || f.Loc.Line <= 0 || f.Loc.Col <= 0 {
					t.Errorf("%s: location lacks a path, line or column", where)
				}
				if strings.HasSuffix(f.Loc.Path, ".ipynb") && f.Loc.Cell <= 0 {
					t.Errorf("%s: a notebook finding must name its cell", where)
				}
				if !strings.HasPrefix(f.Rule, "leakage.") {
					continue
				}
				var roles []string
				for _, r := range f.Related {
					roles = append(roles, r.Role)
					if r.Loc.Line <= 0 {
						t.Errorf("%s: related %s has no line", where, r.Role)
					}
				}
				if len(roles) < 2 || !slices.Contains(roles, "split") {
					t.Errorf("%s: related places %v, want the split and the fit, use or column", where, roles)
				}
				// The way the data went: "path: ..." from a fit or resample to
				// the split, "data: ..." to a split that ignores groups or
				// time, "test data: ..." for a selection on the test set.
				wantPath := "data: "
				if f.Kind == string(LeakPreprocessing) || f.Kind == string(LeakOverlap) {
					wantPath = "path: "
				}
				if !strings.Contains(f.Evidence, wantPath) {
					t.Errorf("%s: evidence %q has no %q", where, f.Evidence, wantPath)
				}
			}
		}
	}
	if total == 0 {
		t.Fatal("no findings on the corpus")
	}
	t.Logf("%d findings checked", total)
}

// checkSARIFLocated checks that the SARIF export of r has one result per
// finding, each with a file, a line and a column.
func checkSARIFLocated(t *testing.T, what string, r *spec.Report) {
	t.Helper()
	n := 0
	for _, g := range r.Gates {
		n += len(g.Findings)
	}
	log := r.SARIF(spec.SARIFOptions{ToolName: "rigor", RuleHelp: RuleHelp})
	if len(log.Runs) != 1 || len(log.Runs[0].Results) != n {
		t.Errorf("%s: SARIF has not one result per finding (%d)", what, n)
		return
	}
	for _, res := range log.Runs[0].Results {
		if len(res.Locations) == 0 || res.Locations[0].PhysicalLocation == nil {
			t.Errorf("%s: SARIF result %s has no physical location", what, res.RuleID)
			continue
		}
		pl := res.Locations[0].PhysicalLocation
		if pl.ArtifactLocation.URI == "" || pl.Region.StartLine <= 0 || pl.Region.StartColumn <= 0 {
			t.Errorf("%s: SARIF result %s at %+v %+v lacks a file, line or column", what, res.RuleID, pl.ArtifactLocation, pl.Region)
		}
	}
}
