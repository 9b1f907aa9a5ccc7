package gates

import (
	"fmt"
	"slices"
	"strings"

	"github.com/rigor-dev/rigor/spec"
)

// RerouteSchema tags a reroute suggestion (spec §4.3).
const RerouteSchema = "light.reroute.v1"

// Reroute actions. Printed and persisted: do not reorder; append only.
const (
	ActionRework          = "rework"
	ActionKnownLimitation = "known_limitation"
	ActionManual          = "manual"
)

// Reroute is a suggestion of where a failure at a stage comes from. It is
// only a suggestion: rigor never writes a back edge, which needs a real
// downstream root cause and the user's authorization.
type Reroute struct {
	Schema        string              `json:"schema"`
	TriggerStage  int                 `json:"trigger_stage"`
	TriggerSkill  string              `json:"trigger_skill"`
	Verdict       spec.Verdict        `json:"verdict"`
	DecisionPoint bool                `json:"decision_point"`
	Suggestions   []RerouteSuggestion `json:"suggestions"`
	Note          string              `json:"note"`
}

// RerouteSuggestion is one suggested back edge, to the stage that holds
// the root cause, or a manual decision (RootCauseStage -1).
type RerouteSuggestion struct {
	RootCauseStage     int    `json:"root_cause_stage"`
	RootCauseSkill     string `json:"root_cause_skill"`
	Reason             string `json:"reason"`
	Carry              string `json:"carry"`
	EvidencePtr        string `json:"evidence_ptr"`
	Gate               string `json:"gate"`
	Action             string `json:"action"`
	RouteKind          string `json:"route_kind"`
	RevisionRoundsUsed int    `json:"revision_rounds_used"`
	RevisionRoundsMax  int    `json:"revision_rounds_max"`
	QuotaNote          string `json:"quota_note"`
}

// rerouteRoute is one route of a trigger stage: a root-cause stage and the
// signals (substrings of a blocking gate's text) that point to it; a route
// without signals is the stage's fallback.
type rerouteRoute struct {
	to      int
	signals []string
	reason  string
	carry   string
}

// rerouteRoutes are the orchestrator's routes that rigor knows: from
// result analysis (7) back to experiment coding (6) for a result that does
// not reproduce or an implementation bug, or to the research plan (5) for a
// hypothesis the result does not support; from stage 8 back to 7. Stage 6
// has no outgoing route: its failures are fixed within it.
var rerouteRoutes = map[int][]rerouteRoute{
	7: {
		{to: 6, signals: []string{"reproduc", "repro", "bug", "seed", "种子", "复现", "不可复现"},
			reason: "the result does not reproduce, or the implementation has a bug (结果不可复现 / 实现 bug)",
			carry:  "the failing reproduction evidence: the command, and what was expected against what came (失败的复现证据（命令 + 期望 vs 实得）)"},
		{to: 5, signals: []string{"hypothesis", "support", "假设", "支撑", "效应", "显著"},
			reason: "the result does not support the hypothesis as planned: revisit the research plan",
			carry:  "the result, its effect size and the failure-tree branch it reached"},
	},
	8: {
		{to: 7, reason: "the finding is a result-analysis problem: revisit the analysis",
			carry: "the reviewer's finding and the analysis it concerns"},
	},
}

// stageSkills names the skill of the stages rigor knows, when no passport
// says it.
var stageSkills = map[int]string{5: "light-research-plan", 6: "light-experiment-coding", 7: "light-result-analysis"}

// RerouteOptions tune [SuggestReroute]. The zero value is ready to use.
type RerouteOptions struct {
	// Rounds returns the revision rounds stage n has used; nil, or ok
	// false, counts 0.
	Rounds func(n int) (rounds int, ok bool)
	// Skill returns the skill of stage n; nil or "" falls back to the
	// skills rigor knows.
	Skill func(n int) string
}

// SuggestReroute suggests root-cause back edges for a failed report at
// trigger stage stage, as reroute.py does (spec §4.3). Only a report whose
// verdict is fail gets suggestions. For each blocking gate, the lower-cased
// text of its name, its findings' rules and issues is matched against the
// trigger stage's routes: first the routes whose signal occurs in it, then
// the fallback route; each root-cause stage is suggested once. The action
// is rework while the root stage has used fewer than 2 revision rounds,
// known_limitation after; a gate no route explains gets one manual
// suggestion (root stage -1). It never writes anything.
func SuggestReroute(r *spec.Report, stage int, opts RerouteOptions) *Reroute {
	skill := func(n int) string {
		if opts.Skill != nil {
			if s := opts.Skill(n); s != "" {
				return s
			}
		}
		return stageSkills[n]
	}
	out := &Reroute{Schema: RerouteSchema, TriggerStage: stage, TriggerSkill: skill(stage), Verdict: r.Verdict,
		DecisionPoint: true, Suggestions: []RerouteSuggestion{},
		Note: "suggestions only: rigor never writes a back edge; one needs a real downstream root cause and the user's authorization"}
	if r.Verdict != spec.VerdictFail {
		out.Note = "the report does not fail: nothing to reroute"
		return out
	}
	seen := map[int]bool{}
	for _, g := range r.Gates {
		if !g.Blocks() {
			continue
		}
		text := strings.ToLower(g.Gate)
		var locs []string
		for _, f := range g.Findings {
			text += " " + strings.ToLower(f.Rule) + " " + strings.ToLower(f.Issue)
			if len(locs) < 3 {
				locs = append(locs, f.Loc)
			}
		}
		ptr := r.Producer + ":" + g.Gate + "@" + strings.Join(locs, ",")
		var routes []rerouteRoute
		for _, rt := range rerouteRoutes[stage] {
			if slices.ContainsFunc(rt.signals, func(s string) bool { return strings.Contains(text, s) }) {
				routes = append(routes, rt)
			}
		}
		for _, rt := range rerouteRoutes[stage] {
			if len(rt.signals) == 0 {
				routes = append(routes, rt)
			}
		}
		if len(routes) == 0 {
			if !seen[-1] {
				seen[-1] = true
				out.Suggestions = append(out.Suggestions, RerouteSuggestion{RootCauseStage: -1, Gate: g.Gate, EvidencePtr: ptr,
					Action: ActionManual, RouteKind: "none", RevisionRoundsMax: spec.MaxRevisionRounds,
					Reason:    fmt.Sprintf("no route from stage %d explains this gate: the user decides", stage),
					Carry:     "the blocking evidence",
					QuotaNote: "no revision round is used until the user decides"})
			}
			continue
		}
		for _, rt := range routes {
			if seen[rt.to] {
				continue
			}
			seen[rt.to] = true
			used := 0
			if opts.Rounds != nil {
				used, _ = opts.Rounds(rt.to)
			}
			s := RerouteSuggestion{RootCauseStage: rt.to, RootCauseSkill: skill(rt.to), Reason: rt.reason, Carry: rt.carry,
				EvidencePtr: ptr, Gate: g.Gate, RouteKind: "back_edge", RevisionRoundsUsed: used, RevisionRoundsMax: spec.MaxRevisionRounds}
			if used < spec.MaxRevisionRounds {
				s.Action = ActionRework
				s.QuotaNote = fmt.Sprintf("%d of %d revision rounds used; a %d→%d edge needs the user's authorization", used, spec.MaxRevisionRounds, stage, rt.to)
			} else {
				s.Action = ActionKnownLimitation
				s.QuotaNote = fmt.Sprintf("all %d revision rounds of stage %d are used: record the failure as a known limitation", spec.MaxRevisionRounds, rt.to)
			}
			out.Suggestions = append(out.Suggestions, s)
		}
	}
	return out
}

// WriteRerouteText writes the suggestions as text, one block each.
func WriteRerouteText(w interface{ Write([]byte) (int, error) }, rr *Reroute) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# reroute from stage %d (%s): verdict %s\n\n", rr.TriggerStage, contractOrDash(rr.TriggerSkill), rr.Verdict)
	if len(rr.Suggestions) == 0 {
		b.WriteString("No suggestion.\n")
	}
	for _, s := range rr.Suggestions {
		if s.RootCauseStage < 0 {
			fmt.Fprintf(&b, "- manual: %s\n  gate %s; evidence %s\n", s.Reason, s.Gate, s.EvidencePtr)
			continue
		}
		fmt.Fprintf(&b, "- %d→%d %s (%s): %s\n  carry: %s\n  gate %s; evidence %s\n  %s\n", rr.TriggerStage, s.RootCauseStage,
			s.Action, contractOrDash(s.RootCauseSkill), s.Reason, s.Carry, s.Gate, s.EvidencePtr, s.QuotaNote)
	}
	fmt.Fprintf(&b, "\n%s.\n", rr.Note)
	_, err := w.Write([]byte(b.String()))
	return err
}
