package gates

import (
	"bytes"
	"strings"
	"testing"

	"github.com/rigor-dev/rigor/spec"
)

func failingReport(producer, gate, rule, issue string, crit bool) *spec.Report {
	g := spec.Gate{Gate: gate, Status: spec.GateFail, Severity: spec.SeverityCritical,
		Findings: []spec.Finding{{Loc: "analysis.py:12", Issue: issue, Rule: rule}, {Loc: "analysis.py:30", Issue: issue, Rule: rule},
			{Loc: "a.py:1", Issue: issue}, {Loc: "a.py:2", Issue: issue}}}
	if !crit {
		g.Status, g.Severity = spec.GateWarn, spec.SeverityMajor
	}
	r := &spec.Report{Schema: spec.FindingsSchema, Producer: producer, Target: "t", Gates: []spec.Gate{g}}
	r.Verdict = spec.ComputeVerdict(r.Gates)
	return r
}

func TestSuggestReroute(t *testing.T) {
	rounds := func(m map[int]int) RerouteOptions {
		return RerouteOptions{Rounds: func(n int) (int, bool) { r, ok := m[n]; return r, ok }}
	}
	t.Run("7 to 6 on a reproducibility failure", func(t *testing.T) {
		rr := SuggestReroute(failingReport("result-analysis", "reproducible", "reproducible.incomplete_seed", "two runs differ", true), 7, rounds(map[int]int{6: 1}))
		if rr.Schema != "light.reroute.v1" || !rr.DecisionPoint || rr.TriggerSkill != "light-result-analysis" || len(rr.Suggestions) != 1 {
			t.Fatalf("reroute = %+v", rr)
		}
		s := rr.Suggestions[0]
		if s.RootCauseStage != 6 || s.Action != ActionRework || s.RootCauseSkill != "light-experiment-coding" ||
			s.EvidencePtr != "result-analysis:reproducible@analysis.py:12,analysis.py:30,a.py:1" || s.RevisionRoundsUsed != 1 ||
			s.RevisionRoundsMax != 2 || s.RouteKind != "back_edge" || !strings.Contains(s.Carry, "期望 vs 实得") {
			t.Errorf("suggestion = %+v", s)
		}
	})
	t.Run("Chinese signals", func(t *testing.T) {
		rr := SuggestReroute(failingReport("result-analysis", "claims", "", "结果不可复现", true), 7, RerouteOptions{})
		if len(rr.Suggestions) != 1 || rr.Suggestions[0].RootCauseStage != 6 {
			t.Errorf("suggestions = %+v", rr.Suggestions)
		}
	})
	t.Run("7 to 5 on an unsupported hypothesis", func(t *testing.T) {
		rr := SuggestReroute(failingReport("result-analysis", "claims", "claims.overreach", "the hypothesis is not supported by the effect", true), 7, RerouteOptions{})
		if len(rr.Suggestions) != 1 || rr.Suggestions[0].RootCauseStage != 5 || rr.Suggestions[0].RootCauseSkill != "light-research-plan" {
			t.Errorf("suggestions = %+v", rr.Suggestions)
		}
	})
	t.Run("both signals, each stage once", func(t *testing.T) {
		r := failingReport("result-analysis", "reproducible", "", "seed missing; hypothesis unsupported", true)
		r.Gates = append(r.Gates, r.Gates[0])
		r.Gates[1].Gate = "again"
		rr := SuggestReroute(r, 7, RerouteOptions{})
		if len(rr.Suggestions) != 2 || rr.Suggestions[0].RootCauseStage != 6 || rr.Suggestions[1].RootCauseStage != 5 {
			t.Errorf("suggestions = %+v", rr.Suggestions)
		}
	})
	t.Run("8 to 7 by the fallback", func(t *testing.T) {
		rr := SuggestReroute(failingReport("review", "figures", "fig.axis", "an axis is unlabelled", true), 8, RerouteOptions{})
		if len(rr.Suggestions) != 1 || rr.Suggestions[0].RootCauseStage != 7 {
			t.Errorf("suggestions = %+v", rr.Suggestions)
		}
	})
	t.Run("quota exhausted", func(t *testing.T) {
		rr := SuggestReroute(failingReport("result-analysis", "reproducible", "", "bug", true), 7, rounds(map[int]int{6: 2}))
		if s := rr.Suggestions[0]; s.Action != ActionKnownLimitation || s.RevisionRoundsUsed != 2 || !strings.Contains(s.QuotaNote, "known limitation") {
			t.Errorf("suggestion = %+v", s)
		}
	})
	t.Run("no match is manual", func(t *testing.T) {
		rr := SuggestReroute(failingReport("result-analysis", "figures", "", "an axis is unlabelled", true), 7, RerouteOptions{})
		if len(rr.Suggestions) != 1 || rr.Suggestions[0].RootCauseStage != -1 || rr.Suggestions[0].Action != ActionManual {
			t.Errorf("suggestions = %+v", rr.Suggestions)
		}
	})
	t.Run("stage 6 has no outgoing route", func(t *testing.T) {
		rr := SuggestReroute(failingReport("experiment-coding", "reproducible", "", "seed", true), 6, RerouteOptions{})
		if len(rr.Suggestions) != 1 || rr.Suggestions[0].Action != ActionManual {
			t.Errorf("suggestions = %+v", rr.Suggestions)
		}
	})
	t.Run("a warn report gets nothing", func(t *testing.T) {
		rr := SuggestReroute(failingReport("result-analysis", "reproducible", "", "seed", false), 7, RerouteOptions{})
		if len(rr.Suggestions) != 0 || rr.Verdict != spec.VerdictWarn {
			t.Errorf("reroute = %+v", rr)
		}
	})
	t.Run("passport skill wins", func(t *testing.T) {
		rr := SuggestReroute(failingReport("x", "reproducible", "", "seed", true), 7, RerouteOptions{Skill: func(n int) string {
			if n == 6 {
				return "my-coding"
			}
			return ""
		}})
		if rr.Suggestions[0].RootCauseSkill != "my-coding" {
			t.Errorf("skill = %q", rr.Suggestions[0].RootCauseSkill)
		}
		var b bytes.Buffer
		WriteRerouteText(&b, rr)
		if !strings.Contains(b.String(), "7→6 rework (my-coding)") || !strings.Contains(b.String(), "never writes a back edge") {
			t.Errorf("text:\n%s", b.String())
		}
	})
}
