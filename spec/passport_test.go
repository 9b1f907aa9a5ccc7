package spec

import (
	"encoding/json"
	"math"
	"slices"
	"strings"
	"testing"
)

// marshPassport is a passport tree; its expected encoding and hash come
// from Python's json.dumps(sort_keys=True, separators=(",", ":"),
// ensure_ascii=False) run on the same data.
func marshPassport() map[string]any {
	return map[string]any{
		"schema": "light.passport.v3", "project": "marsh-sensing", "pipeline": "core-13",
		"created": "2026-05-01T09:00+02:00", "updated": "2026-05-01T09:00+02:00",
		"current_stage": int64(6), "state_revision": int64(3), "evidence_state": "PLANNED",
		"next_action": "run the stage 6 gates — then checkpoint", "delivery_status": "IN_PROGRESS",
		"delivery_authorization_id": nil,
		"stages": []any{
			map[string]any{"stage": int64(5), "depends_on": []any{}, "status": "delivered", "skill": "light-research-plan",
				"input": "brief", "output": "plan.json", "artifacts": []any{"plan.json"}},
			map[string]any{"stage": int64(6), "depends_on": []any{int64(5)}, "status": "in_progress", "node_kind": "pipeline",
				"evidence_state": "PLANNED", "revision_rounds": int64(1), "skill": "light-experiment-coding",
				"input": "plan.json", "output": "runs/", "weight": 0.25, "tiny": 1e-05, "big": 1e16, "ctl": "a\tb\u2028c\u0001"},
		},
		"known_limitations": []any{"n=1 site"},
		"state_hash":        "sha256:0000000000000000000000000000000000000000000000000000000000000000",
	}
}

func TestPythonJSON(t *testing.T) {
	p := marshPassport()
	delete(p, "state_hash")
	got, err := PythonJSON(p)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"created":"2026-05-01T09:00+02:00","current_stage":6,"delivery_authorization_id":null,"delivery_status":"IN_PROGRESS","evidence_state":"PLANNED","known_limitations":["n=1 site"],"next_action":"run the stage 6 gates — then checkpoint","pipeline":"core-13","project":"marsh-sensing","schema":"light.passport.v3","stages":[{"artifacts":["plan.json"],"depends_on":[],"input":"brief","output":"plan.json","skill":"light-research-plan","stage":5,"status":"delivered"},{"big":1e+16,"ctl":"a\tb` + "\u2028" + `c\u0001","depends_on":[5],"evidence_state":"PLANNED","input":"plan.json","node_kind":"pipeline","output":"runs/","revision_rounds":1,"skill":"light-experiment-coding","stage":6,"status":"in_progress","tiny":1e-05,"weight":0.25}],"state_revision":3,"updated":"2026-05-01T09:00+02:00"}`
	if string(got) != want {
		t.Errorf("PythonJSON:\n got %s\nwant %s", got, want)
	}
	if _, err := PythonJSON(map[string]any{"x": struct{}{}}); err == nil {
		t.Error("an unknown type was encoded")
	}
	if b, _ := PythonJSON([]any{json.Number("2"), json.Number("2.50"), true}); string(b) != "[2,2.5,true]" {
		t.Errorf("numbers = %s", b)
	}
}

func TestPassportStateHash(t *testing.T) {
	got, err := PassportStateHash(marshPassport())
	if err != nil {
		t.Fatal(err)
	}
	if want := "sha256:c230c3623ab15c5781138abb3fcae31dec09e56890420e94eafaf517c1d2f375"; got != want {
		t.Errorf("PassportStateHash = %s, want %s", got, want)
	}
}

func TestPyFloatRepr(t *testing.T) {
	tests := map[float64]string{1: "1.0", 0.1: "0.1", 1e-05: "1e-05", 1e16: "1e+16", 1.5e16: "1.5e+16",
		123456789012345.6: "123456789012345.6", 0.0001: "0.0001", 2.5e-10: "2.5e-10", 1e22: "1e+22", 100: "100.0",
		-3.25: "-3.25", math.Inf(1): "Infinity"}
	for f, want := range tests {
		if got := PyFloatRepr(f); got != want {
			t.Errorf("PyFloatRepr(%v) = %s, want %s", f, got, want)
		}
	}
	if got := PyFloatRepr(math.Copysign(0, -1)); got != "-0.0" {
		t.Errorf("PyFloatRepr(-0) = %s", got)
	}
}

func TestEvidenceDigest(t *testing.T) {
	// The stage-6 example of §4.2: one gate, repro_findings.json, fail/critical.
	g := []Gate{{Gate: "repro_findings.json", Status: GateFail, Severity: SeverityCritical}}
	if got := EvidenceDigest(g, 6); got != "4fc950fab0b8b0c89fe4b09453410c990f86db8a1fed51448dcce820143197b9" {
		t.Errorf("EvidenceDigest = %s", got)
	}
	two := append(slices.Clone(g), Gate{Gate: "clean.json", Status: GatePass, Severity: SeverityInfo})
	rev := []Gate{two[1], two[0]}
	if EvidenceDigest(two, 6) != EvidenceDigest(rev, 6) {
		t.Error("the digest depends on gate order")
	}
	if EvidenceDigest(two, 6) == EvidenceDigest(g, 6) || EvidenceDigest(g, 6) == EvidenceDigest(g, 7) {
		t.Error("the digest does not change with the gate set or the stage")
	}
}

func TestCheckPassport(t *testing.T) {
	p := marshPassport()
	h, _ := PassportStateHash(p)
	p["state_hash"] = h
	if errs, warns := CheckPassport(p, true); len(errs) > 0 || len(warns) > 0 {
		t.Fatalf("clean passport: %v %v", errs, warns)
	}
	stage6 := func(p map[string]any) map[string]any { return p["stages"].([]any)[1].(map[string]any) }
	tests := []struct {
		name   string
		mutate func(p map[string]any)
		err    string // "" means a warning is expected instead
		warn   string
	}{
		{"stale hash", func(p map[string]any) { p["updated"] = "2026-05-02T09:00+02:00" }, "is not the hash", ""},
		{"gate not fresh", func(p map[string]any) {
			stage6(p)["gate"] = map[string]any{"type": "confirm", "evidence": "sha256:ab@x", "evidence_state": "FAILED", "fresh": false}
		}, "must be fresh", ""},
		{"gate bad evidence_state", func(p map[string]any) {
			stage6(p)["gate"] = map[string]any{"type": "confirm", "evidence": "sha256:ab@x", "evidence_state": "GOOD", "fresh": true}
		}, `evidence_state "GOOD"`, ""},
		{"placeholder gate", func(p map[string]any) { stage6(p)["gate"] = map[string]any{"type": "confirm", "evidence": ""} }, "", "PLANNED placeholder"},
		{"forward edge", func(p map[string]any) {
			stage6(p)["back_edges"] = []any{map[string]any{"from": int64(5), "to": int64(6)}}
		}, "points forward", ""},
		{"self edge", func(p map[string]any) {
			stage6(p)["back_edges"] = []any{map[string]any{"from": int64(6), "to": int64(6)}}
		}, "points forward or to itself", ""},
		{"unknown stage", func(p map[string]any) {
			stage6(p)["back_edges"] = []any{map[string]any{"from": int64(7), "to": int64(6)}}
		}, "lacks", ""},
		{"duplicate stage", func(p map[string]any) { p["stages"] = append(p["stages"].([]any), stage6(p)) }, "appears twice", ""},
		{"too many rounds", func(p map[string]any) { stage6(p)["revision_rounds"] = int64(3) }, "more than 2", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := marshPassport()
			tt.mutate(p)
			h, _ := PassportStateHash(p)
			if tt.name != "stale hash" {
				p["state_hash"] = h
			}
			errs, warns := CheckPassport(p, true)
			if tt.err != "" && !slices.ContainsFunc(errs, func(e string) bool { return strings.Contains(e, tt.err) }) {
				t.Errorf("errors %v, want one containing %q", errs, tt.err)
			}
			if tt.warn != "" && (len(errs) > 0 || !slices.ContainsFunc(warns, func(e string) bool { return strings.Contains(e, tt.warn) })) {
				t.Errorf("errors %v warnings %v, want only a warning containing %q", errs, warns, tt.warn)
			}
		})
	}
}

func TestPassportSchemaIsJSON(t *testing.T) {
	var v map[string]any
	if err := json.Unmarshal(PassportJSONSchema, &v); err != nil || v["$schema"] == nil {
		t.Fatalf("PassportJSONSchema: %v", err)
	}
}

// FuzzPythonJSON checks that any JSON value re-encodes in Python's form
// to JSON that parses back to the same canonical value.
func FuzzPythonJSON(f *testing.F) {
	f.Add([]byte(`{"b":[1,2.5,"x\u2028"],"a":null}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		tree, err := ParseJSON(data)
		if err != nil {
			return
		}
		b, err := PythonJSON(tree)
		if err != nil {
			return
		}
		back, err := ParseJSON(b)
		if err != nil {
			t.Fatalf("PythonJSON output does not parse: %s: %v", b, err)
		}
		c1, e1 := Canonical(tree)
		c2, e2 := Canonical(back)
		if (e1 == nil) != (e2 == nil) || string(c1) != string(c2) {
			t.Fatalf("value changed: %s -> %s", c1, c2)
		}
	})
}
