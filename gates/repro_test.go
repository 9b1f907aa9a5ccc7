package gates

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/rigor-dev/rigor/spec"
)

// The §5.3 fixtures, written for rigor.
const (
	reproClean = `import os, random
import math
import numpy as np
import torch
from sklearn.preprocessing import StandardScaler
from sklearn.model_selection import train_test_split

os.environ["PYTHONHASHSEED"] = "0"
random.seed(0)
np.random.seed(0)
torch.manual_seed(0)

def main(X, y):
    Xtr, Xte, ytr, yte = train_test_split(X, y, random_state=0)
    scaler = StandardScaler()
    Xtr = scaler.fit_transform(Xtr)
    Xte = scaler.transform(Xte)
    assert math.isclose(float(ytr[0]), 0.5, rel_tol=1e-9)
    return Xtr, Xte
`
	// reproBad: a secret on line 7, a fit on line 12 before the split on
	// line 13, a float == on line 14, and no PYTHONHASHSEED.
	reproBad = `import os
import numpy as np
import torch
from sklearn.preprocessing import StandardScaler
from sklearn.model_selection import train_test_split

API_KEY = "sk-" "rigorfixture-5f2c9a7e41d3"
np.random.seed(0)
torch.manual_seed(0)

def main(X, y):
    Xs = StandardScaler().fit_transform(X)
    Xtr, Xte, ytr, yte = train_test_split(Xs, y, random_state=0)
    assert ytr[0] == 0.5
    return Xtr, Xte
`
	reproOnlySeed = `import numpy as np
np.random.seed(7)
print(np.random.rand())
`
	// reproExample: every mechanism seeded through a helper defined in the
	// scanned code, split before fit, a seeded DataLoader, isclose.
	reproExample = `import os, random
import math
import numpy as np
import torch
from torch.utils.data import DataLoader
from sklearn.preprocessing import StandardScaler
from sklearn.model_selection import train_test_split

def seed_worker(worker_id):
    s = torch.initial_seed() % 2**32
    np.random.seed(s)
    random.seed(s)

def set_global_seed(seed=13):
    os.environ["PYTHONHASHSEED"] = str(seed)
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)
        torch.backends.cudnn.deterministic = True
        torch.backends.cudnn.benchmark = False

def main(X, y, seed=13):
    set_global_seed(seed)
    Xtr, Xte, ytr, yte = train_test_split(X, y, random_state=seed)
    scaler = StandardScaler()
    Xtr = scaler.fit_transform(Xtr)
    Xte = scaler.transform(Xte)
    g = torch.Generator()
    g.manual_seed(seed)
    loader = DataLoader(list(zip(Xtr, ytr)), worker_init_fn=seed_worker, generator=g)
    assert math.isclose(float(ytr[0]), float(ytr[0]), rel_tol=1e-6)
    return loader, Xte
`
)

func runRepro(t *testing.T, rs *spec.ReproSpec) *ReproResult {
	t.Helper()
	r, err := Repro(t.Context(), rs, ReproOptions{})
	if err != nil {
		t.Fatalf("Repro: %v", err)
	}
	if err := r.Findings.Validate(); err != nil {
		t.Fatalf("findings do not validate: %v", err)
	}
	b, err := r.Findings.Encode()
	if err != nil {
		t.Fatalf("Encode: %v", err)
	}
	back, err := spec.DecodeFindings(b)
	if err != nil || back.Verdict != r.Findings.Verdict {
		t.Fatalf("findings do not round-trip: %v", err)
	}
	return r
}

func reproGate(t *testing.T, r *ReproResult, name string) spec.Gate {
	t.Helper()
	for _, g := range r.Findings.Gates {
		if g.Gate == name {
			return g
		}
	}
	t.Fatalf("no gate %s", name)
	return spec.Gate{}
}

func gateState(g spec.Gate) string { return string(g.Status) + "/" + string(g.Severity) }

func TestReproGateSelftest(t *testing.T) {
	inline := func(code string) *spec.ReproSpec {
		return &spec.ReproSpec{Project: "fixture", Code: code, HasCode: true}
	}
	t.Run("clean", func(t *testing.T) {
		r := runRepro(t, inline(reproClean))
		if r.Findings.Verdict != spec.VerdictPass {
			t.Errorf("verdict = %s, gates %+v", r.Findings.Verdict, r.Findings.Gates)
		}
		var names []string
		for _, g := range r.Findings.Gates {
			names = append(names, g.Gate)
		}
		if !slices.Equal(names, []string{"leakage", "reproducible", "float_assert", "unsafe_scan"}) {
			t.Errorf("gates = %v", names)
		}
		if r.Findings.Schema != spec.FindingsSchema || r.Findings.Producer != "experiment-coding" || r.Findings.Target != "fixture" {
			t.Errorf("header = %s %s %s", r.Findings.Schema, r.Findings.Producer, r.Findings.Target)
		}
	})
	t.Run("bad", func(t *testing.T) {
		r := runRepro(t, inline(reproBad))
		if r.Findings.Verdict != spec.VerdictFail || len(r.Findings.Blocking()) == 0 {
			t.Fatalf("verdict = %s", r.Findings.Verdict)
		}
		lk := reproGate(t, r, "leakage")
		if gateState(lk) != "fail/critical" || !slices.ContainsFunc(lk.Findings, func(f spec.Finding) bool { return f.Loc == "<inline>:12" }) {
			t.Errorf("leakage = %+v, want fail/critical at <inline>:12", lk)
		}
		rp := reproGate(t, r, "reproducible")
		if gateState(rp) != "fail/critical" || len(rp.Findings) != 1 || rp.Findings[0].Rule != "reproducible.incomplete_seed" ||
			!strings.Contains(rp.Findings[0].Issue, "pythonhashseed") ||
			rp.Findings[0].Evidence != "用到框架=numpy,torch;GPU迹象=False;DataLoader=False" {
			t.Errorf("reproducible = %+v", rp)
		}
		fa := reproGate(t, r, "float_assert")
		if gateState(fa) != "warn/major" || fa.Findings[0].Loc != "<inline>:14" || fa.Findings[0].Rule != "float_assert.eq" {
			t.Errorf("float_assert = %+v", fa)
		}
		us := reproGate(t, r, "unsafe_scan")
		if gateState(us) != "warn/major" || !slices.ContainsFunc(us.Findings, func(f spec.Finding) bool {
			return f.Rule == "unsafe.HARDCODED-SECRET" && f.Loc == "<inline>:7"
		}) {
			t.Errorf("unsafe_scan = %+v", us)
		}
		if !slices.Equal(r.Findings.Blocking(), []string{"leakage", "reproducible"}) {
			t.Errorf("blocking = %v: only leakage and reproducible may block", r.Findings.Blocking())
		}
	})
	t.Run("only_seed", func(t *testing.T) {
		r := runRepro(t, inline(reproOnlySeed))
		if g := reproGate(t, r, "reproducible"); gateState(g) != "fail/critical" {
			t.Errorf("reproducible = %s", gateState(g))
		}
		if g := reproGate(t, r, "leakage"); g.Status != spec.GatePass && g.Status != spec.GateSkip {
			t.Errorf("leakage = %s", gateState(g))
		}
		if r.Findings.Verdict != spec.VerdictFail {
			t.Errorf("verdict = %s", r.Findings.Verdict)
		}
	})
	t.Run("project only", func(t *testing.T) {
		r := runRepro(t, &spec.ReproSpec{Project: "empty"})
		for _, name := range []string{"leakage", "reproducible", "float_assert", "unsafe_scan"} {
			if g := reproGate(t, r, name); g.Status != spec.GateSkip {
				t.Errorf("%s = %s, want skip", name, gateState(g))
			}
		}
		if r.HasCode || r.Findings.Verdict != spec.VerdictPass || r.SplitLeakage != nil {
			t.Errorf("has_code %v verdict %s split %v", r.HasCode, r.Findings.Verdict, r.SplitLeakage)
		}
	})
	t.Run("markdown", func(t *testing.T) {
		var b bytes.Buffer
		if err := WriteReproMarkdown(&b, runRepro(t, inline(reproBad))); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(b.String(), "代码门") || !strings.Contains(b.String(), "| leakage | fail | critical |") {
			t.Errorf("markdown:\n%s", b.String())
		}
	})
}

// TestReproGateExample: the shape of examples/repro_spec.example.json passes,
// with every mechanism set; a leakage block that cannot run warns.
func TestReproGateExample(t *testing.T) {
	data := []byte(`{"_doc": "clean experiment code", "project": "heron-exp02", "code_name": "src/train.py", "code": ` +
		jsonString(reproExample) + `}`)
	rs, err := spec.DecodeReproSpec(data)
	if err != nil {
		t.Fatal(err)
	}
	r := runRepro(t, rs)
	for _, g := range r.Findings.Gates {
		if gateState(g) != "pass/info" {
			t.Errorf("%s = %s %+v, want pass/info", g.Gate, gateState(g), g.Findings)
		}
	}
	s := r.Seed
	if !slices.Equal(s.Frameworks, []string{"numpy", "random", "torch"}) || !s.UsesGPU || !s.UsesDataLoader ||
		len(s.Required) != 7 || len(s.Missing) != 0 {
		t.Errorf("seed audit = %+v", s)
	}
	if len(r.ReviewIssues) != 0 {
		t.Errorf("review issues = %+v", r.ReviewIssues)
	}

	rs.Leakage = &spec.LeakageSpec{Train: "no/such/train.csv", Test: "no/such/test.csv", GroupCol: "farm_id", Bins: 20, RTol: 1e-3}
	r = runRepro(t, rs)
	lk := reproGate(t, r, "leakage")
	if r.Findings.Verdict != spec.VerdictWarn || gateState(lk) != "warn/major" || lk.Findings[0].Rule != "leakage.split_check_unavailable" {
		t.Errorf("verdict %s, leakage %+v; want warn with split_check_unavailable", r.Findings.Verdict, lk)
	}
	if r.SplitLeakage == nil || r.SplitLeakage.Available || !strings.Contains(r.SplitLeakage.Reason, "no/such/train.csv") {
		t.Errorf("split leakage = %+v", r.SplitLeakage)
	}
}

// TestReproGateSplit: the split audit's HIGH rows fail the leakage gate, MED
// rows warn, and code files are scanned.
func TestReproGateSplit(t *testing.T) {
	dir := t.TempDir()
	sp := leakyData(9).writeTwo(t, dir)
	code := filepath.Join(dir, "train.py")
	if err := os.WriteFile(code, []byte(reproClean), 0o644); err != nil {
		t.Fatal(err)
	}
	rs := &spec.ReproSpec{Project: "split", CodeFiles: []string{code},
		Leakage: &spec.LeakageSpec{Train: sp.Train, Test: sp.Test, GroupCol: "user_id", Target: "label", Bins: 20, RTol: 1e-3}}
	r := runRepro(t, rs)
	lk := reproGate(t, r, "leakage")
	var rules []string
	for _, f := range lk.Findings {
		rules = append(rules, f.Rule+"@"+f.Loc)
	}
	for _, want := range []string{"leakage.exact_duplicate_across_split@(rows)", "leakage.entity_overlap_across_split@user_id",
		"leakage.target_mean_encoding_leak@city_te,city"} {
		if !slices.Contains(rules, want) {
			t.Errorf("leakage findings %v lack %s", rules, want)
		}
	}
	if gateState(lk) != "fail/critical" || !r.HasCode || r.SplitLeakage == nil || !r.SplitLeakage.Available {
		t.Errorf("leakage %s, has_code %v, split %+v", gateState(lk), r.HasCode, r.SplitLeakage)
	}
	if g := reproGate(t, r, "reproducible"); gateState(g) != "pass/info" {
		t.Errorf("reproducible = %s %+v", gateState(g), g.Findings)
	}
}

func jsonString(s string) string {
	b, _ := spec.Canonical(s)
	return string(b)
}
