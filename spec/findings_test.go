package spec

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var updateFindings = flag.Bool("update-findings", false, "rewrite the findings golden files in testdata/findings")

func gate(name string, st GateStatus, sev Severity, fs ...Finding) Gate {
	if fs == nil {
		fs = []Finding{}
	}
	return Gate{Gate: name, Status: st, Severity: sev, Findings: fs}
}

func TestComputeVerdict(t *testing.T) {
	tests := []struct {
		name  string
		gates []Gate
		want  Verdict
		worst Severity
	}{
		{"no gates", nil, VerdictPass, SeverityInfo},
		{"all pass", []Gate{gate("a", GatePass, SeverityInfo), gate("b", GateSkip, SeverityCritical)}, VerdictPass, SeverityInfo},
		{"skip critical is pass", []Gate{gate("a", GateSkip, SeverityCritical)}, VerdictPass, SeverityInfo},
		{"warn", []Gate{gate("a", GateWarn, SeverityMajor)}, VerdictWarn, SeverityMajor},
		{"fail but not critical warns", []Gate{gate("a", GateFail, SeverityMajor)}, VerdictWarn, SeverityMajor},
		{"warn critical does not block", []Gate{gate("a", GateWarn, SeverityCritical)}, VerdictWarn, SeverityCritical},
		{"blocking", []Gate{gate("a", GateWarn, SeverityMinor), gate("b", GateFail, SeverityCritical)}, VerdictFail, SeverityCritical},
		{"pass gate severity ignored", []Gate{gate("a", GatePass, SeverityCritical), gate("b", GateWarn, SeverityMinor)}, VerdictWarn, SeverityMinor},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ComputeVerdict(tt.gates); got != tt.want {
				t.Errorf("ComputeVerdict = %q, want %q", got, tt.want)
			}
			if got := WorstSeverity(tt.gates); got != tt.worst {
				t.Errorf("WorstSeverity = %q, want %q", got, tt.worst)
			}
		})
	}
}

func validReport() *Report {
	return &Report{
		Schema: FindingsSchema, Producer: "experiment-coding", Target: "code_diff", Verdict: VerdictFail,
		Gates: []Gate{
			gate("DATA-LEAKAGE", GateFail, SeverityCritical, Finding{Loc: "train.py:12:5", Issue: "scaler fitted before the split", Fix: "fit on the training split", Rule: "DATA-LEAKAGE", Evidence: "X (12) -> X_test (13)"}),
			gate("FLOAT-EQ", GateWarn, SeverityMajor, Finding{Loc: "nb.ipynb:cell 3:4:8", Issue: "float compared with ==", Fix: "math.isclose"}),
		},
		Summary: "2 findings", FreshEvidence: true,
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name    string
		mutate  func(r *Report)
		wantErr error
		wantMsg string
	}{
		{"valid", func(r *Report) {}, nil, ""},
		{"wrong schema", func(r *Report) { r.Schema = "light.findings.v2" }, ErrSchema, "light.findings.v2"},
		{"no producer", func(r *Report) { r.Producer = "" }, ErrInvalid, "producer"},
		{"blank target", func(r *Report) { r.Target = "  " }, ErrInvalid, "target"},
		{"bad verdict", func(r *Report) { r.Verdict = "ok" }, ErrInvalid, `verdict "ok"`},
		{"bad status", func(r *Report) { r.Gates[0].Status = "failed" }, ErrInvalid, `gates[0].status "failed"`},
		{"bad severity", func(r *Report) { r.Gates[1].Severity = "important" }, ErrInvalid, `gates[1].severity "important"`},
		{"no gate name", func(r *Report) { r.Gates[1].Gate = "" }, ErrInvalid, "gates[1].gate"},
		{"finding without loc", func(r *Report) { r.Gates[0].Findings[0].Loc = "" }, ErrInvalid, "gates[0].findings[0].loc"},
		{"finding without issue", func(r *Report) { r.Gates[1].Findings[0].Issue = "" }, ErrInvalid, "gates[1].findings[0].issue"},
		{"verdict contradicts gates", func(r *Report) { r.Verdict = VerdictPass }, ErrInvalid, `contradicts the gates, which give "fail"`},
		{"empty fix allowed", func(r *Report) { r.Gates[0].Findings[0].Fix = "" }, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := validReport()
			tt.mutate(r)
			err := r.Validate()
			if tt.wantErr == nil {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Validate() = %v, want %v", err, tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("Validate() = %q, want it to mention %q", err, tt.wantMsg)
			}
		})
	}
}

func TestDecodeFindings(t *testing.T) {
	const head = `"schema":"light.findings.v1","producer":"p","target":"t"`
	tests := []struct {
		name    string
		in      string
		wantErr error
		check   func(t *testing.T, r *Report)
	}{
		{"minimal", `{` + head + `,"verdict":"pass","gates":[]}`, nil, func(t *testing.T, r *Report) {
			if r.FreshEvidence || r.Summary != "" || len(r.Gates) != 0 {
				t.Errorf("got %+v", r)
			}
		}},
		{"underscore annotation dropped", `{` + head + `,"_degraded":true,"verdict":"pass","gates":[{"gate":"g","status":"pass","severity":"info","_x":1}]}`, nil, func(t *testing.T, r *Report) {
			if len(r.Gates) != 1 || r.Gates[0].Findings == nil {
				t.Errorf("got %+v", r)
			}
		}},
		{"optional finding members absent", `{` + head + `,"verdict":"warn","gates":[{"gate":"g","status":"warn","severity":"major","findings":[{"loc":"a.py:1","issue":"x"}]}]}`, nil, func(t *testing.T, r *Report) {
			if f := r.Gates[0].Findings[0]; f.Fix != "" || f.Rule != "" || f.Loc != "a.py:1" {
				t.Errorf("got %+v", f)
			}
		}},
		{"unknown report member", `{` + head + `,"verdict":"pass","gates":[],"extra":1}`, ErrUnknownField, nil},
		{"unknown finding member", `{` + head + `,"verdict":"warn","gates":[{"gate":"g","status":"warn","severity":"major","findings":[{"loc":"a","issue":"b","sev":"x"}]}]}`, ErrUnknownField, nil},
		{"missing gates", `{` + head + `,"verdict":"pass"}`, ErrInvalid, nil},
		{"missing target", `{"schema":"light.findings.v1","producer":"p","verdict":"pass","gates":[]}`, ErrInvalid, nil},
		{"wrong schema", `{"schema":"light.findings.v0","producer":"p","target":"t","verdict":"pass","gates":[]}`, ErrSchema, nil},
		{"no schema", `{"producer":"p","target":"t","verdict":"pass","gates":[]}`, ErrSchema, nil},
		{"not an object", `[1]`, ErrSyntax, nil},
		{"duplicate key", `{` + head + `,"verdict":"pass","verdict":"fail","gates":[]}`, ErrSyntax, nil},
		{"trailing data", `{` + head + `,"verdict":"pass","gates":[]} {}`, ErrSyntax, nil},
		{"gates null", `{` + head + `,"verdict":"pass","gates":null}`, ErrInvalid, nil},
		{"findings not array", `{` + head + `,"verdict":"pass","gates":[{"gate":"g","status":"pass","severity":"info","findings":{}}]}`, ErrInvalid, nil},
		{"fresh_evidence string", `{` + head + `,"verdict":"pass","gates":[],"fresh_evidence":"yes"}`, ErrInvalid, nil},
		{"loc number", `{` + head + `,"verdict":"warn","gates":[{"gate":"g","status":"warn","severity":"major","findings":[{"loc":3,"issue":"b"}]}]}`, ErrInvalid, nil},
		{"bad severity", `{` + head + `,"verdict":"pass","gates":[{"gate":"g","status":"pass","severity":"important"}]}`, ErrInvalid, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := DecodeFindings([]byte(tt.in))
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("DecodeFindings = %v, want error wrapping %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("DecodeFindings: %v", err)
			}
			tt.check(t, r)
		})
	}
}

// TestFindingsGolden pins the canonical encoding and the SARIF export of a
// report; -update-findings rewrites the golden files.
func TestFindingsGolden(t *testing.T) {
	r := validReport()
	enc, err := r.Encode()
	if err != nil {
		t.Fatal(err)
	}
	sarif, err := json.MarshalIndent(r.SARIF(SARIFOptions{ToolVersion: "test", RuleHelp: map[string]string{"DATA-LEAKAGE": "statistics fitted on data that reaches the test side"}}), "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	golden := []struct {
		file string
		got  []byte
	}{
		{"report.json", append(enc, '\n')},
		{"report.sarif", append(sarif, '\n')},
	}
	for _, g := range golden {
		path := filepath.Join("testdata", "findings", g.file)
		if *updateFindings {
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, g.got, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (run with -update-findings to create it)", err)
		}
		if !bytes.Equal(g.got, want) {
			t.Errorf("%s differs from the golden file:\n got: %s\nwant: %s", g.file, g.got, want)
		}
	}
	// The canonical encoding decodes to the same report and re-encodes to
	// the same bytes.
	back, err := DecodeFindings(enc)
	if err != nil {
		t.Fatal(err)
	}
	again, err := back.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(enc, again) {
		t.Errorf("re-encoding differs:\n%s\n%s", enc, again)
	}
}

func TestEncodeRejectsInvalid(t *testing.T) {
	r := validReport()
	r.Verdict = "nope"
	if _, err := r.Encode(); !errors.Is(err, ErrInvalid) {
		t.Fatalf("Encode = %v, want ErrInvalid", err)
	}
}

func TestEncodeEmptySlices(t *testing.T) {
	r := &Report{Schema: FindingsSchema, Producer: "p", Target: "t", Verdict: VerdictPass,
		Gates: []Gate{{Gate: "g", Status: GatePass, Severity: SeverityInfo}}}
	enc, err := r.Encode()
	if err != nil {
		t.Fatal(err)
	}
	want := `{"fresh_evidence":false,"gates":[{"findings":[],"gate":"g","severity":"info","status":"pass"}],"producer":"p","schema":"light.findings.v1","summary":"","target":"t","verdict":"pass"}`
	if string(enc) != want {
		t.Errorf("Encode =\n%s\nwant\n%s", enc, want)
	}
	if r.Gates[0].Findings != nil {
		t.Error("Encode modified its receiver")
	}
}

func TestLoc(t *testing.T) {
	tests := []struct {
		in   string
		want Loc
		ok   bool
	}{
		{"train.py:12", Loc{Path: "train.py", Line: 12}, true},
		{"src/train.py:12:5", Loc{Path: "src/train.py", Line: 12, Col: 5}, true},
		{"nb.ipynb:cell 3:12:5", Loc{Path: "nb.ipynb", Cell: 3, Line: 12, Col: 5}, true},
		{"nb.ipynb:cell 3:12", Loc{Path: "nb.ipynb", Cell: 3, Line: 12}, true},
		{`C:\src\a.py:3:1`, Loc{Path: `C:\src\a.py`, Line: 3, Col: 1}, true},
		{"P:leakage", Loc{Path: "P:leakage"}, false},
		{"(rows)", Loc{Path: "(rows)"}, false},
		{"a.py:0", Loc{Path: "a.py:0"}, false},
		{":3", Loc{Path: ":3"}, false},
		{"a.py:+3", Loc{Path: "a.py:+3"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, ok := ParseLoc(tt.in)
			if got != tt.want || ok != tt.ok {
				t.Fatalf("ParseLoc(%q) = %+v, %v; want %+v, %v", tt.in, got, ok, tt.want, tt.ok)
			}
			if ok && got.String() != tt.in {
				t.Errorf("ParseLoc(%q).String() = %q", tt.in, got.String())
			}
		})
	}
	if s := (Loc{Path: "a.py"}).String(); s != "a.py" {
		t.Errorf("String() = %q, want a.py", s)
	}
}

func TestSARIF(t *testing.T) {
	r := validReport()
	r.Gates = append(r.Gates, gate("unsafe_scan", GateWarn, SeverityMinor, Finding{Loc: "P:leakage", Issue: "x"}),
		gate("info", GatePass, SeverityInfo, Finding{Loc: "/abs/dir with space/a.py:2", Issue: "y", Rule: "R"}))
	r.Verdict = ComputeVerdict(r.Gates)
	log := r.SARIF(SARIFOptions{})
	if log.Version != "2.1.0" || len(log.Runs) != 1 || log.Runs[0].Tool.Driver.Name != "rigor" {
		t.Fatalf("log header = %+v", log)
	}
	res := log.Runs[0].Results
	if len(res) != 4 {
		t.Fatalf("%d results, want 4", len(res))
	}
	tests := []struct {
		i            int
		rule, level  string
		uri          string
		line, col    int
		logical      string
		messageSufix string
	}{
		{0, "DATA-LEAKAGE", "error", "train.py", 12, 5, "", "(fix: fit on the training split)"},
		{1, "FLOAT-EQ", "error", "nb.ipynb", 4, 8, "cell 3", "(fix: math.isclose)"},
		{2, "unsafe_scan", "warning", "", 0, 0, "P:leakage", "x"},
		{3, "R", "note", "file:///abs/dir%20with%20space/a.py", 2, 0, "", "y"},
	}
	for _, tt := range tests {
		got := res[tt.i]
		if got.RuleID != tt.rule || got.Level != tt.level {
			t.Errorf("result %d: rule %q level %q, want %q %q", tt.i, got.RuleID, got.Level, tt.rule, tt.level)
		}
		if !strings.HasSuffix(got.Message.Text, tt.messageSufix) {
			t.Errorf("result %d: message %q", tt.i, got.Message.Text)
		}
		loc := got.Locations[0]
		if tt.uri != "" {
			pl := loc.PhysicalLocation
			if pl == nil || pl.ArtifactLocation.URI != tt.uri || pl.Region.StartLine != tt.line || pl.Region.StartColumn != tt.col {
				t.Errorf("result %d: physical location %+v %+v, want %s:%d:%d", tt.i, pl, pl.Region, tt.uri, tt.line, tt.col)
			}
		}
		if tt.logical != "" && (len(loc.LogicalLocations) != 1 || loc.LogicalLocations[0].Name != tt.logical) {
			t.Errorf("result %d: logical locations %+v, want %q", tt.i, loc.LogicalLocations, tt.logical)
		}
	}
	if len(log.Runs[0].Tool.Driver.Rules) != 4 {
		t.Errorf("rules = %+v", log.Runs[0].Tool.Driver.Rules)
	}
}
