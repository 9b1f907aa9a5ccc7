package gates

import (
	"slices"
	"strings"
	"testing"

	"github.com/rigor-dev/rigor/spec"
)

// The fixtures of the original selftests (spec §5.3, §5.4), written anew,
// with the outcomes the spec lists; where issue 6 asks for better behaviour
// the test says so and checks the better result.

const reviewBad = `import os
import sqlite3
import subprocess
from sklearn.preprocessing import StandardScaler
from sklearn.model_selection import train_test_split

API_KEY = "sk-live-9f8e7d6c5b4a3210"


def run(cmd, user, X):
    os.system(cmd)
    subprocess.run(cmd, shell=True)
    value = eval(user)
    cur = sqlite3.connect("app.db").cursor()
    cur.execute("SELECT * FROM users WHERE name = '" + user + "'")
    try:
        value = int(value)
    except:
        pass
    X = StandardScaler().fit_transform(X)
    X_tr, X_te = train_test_split(X)
    assert X_tr[0][0] == 0.5
    return value
`

const reviewGood = `import math
import os
import sqlite3
import subprocess
from sklearn.preprocessing import StandardScaler
from sklearn.model_selection import train_test_split

API_KEY = os.environ["API_KEY"]


def run(args, user, X, y):
    subprocess.run(["ls", "-l", *args], check=True)
    cur = sqlite3.connect("app.db").cursor()
    cur.execute("SELECT * FROM users WHERE name = ?", (user,))
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, random_state=0)
    scaler = StandardScaler().fit(X_tr)
    X_tr, X_te = scaler.transform(X_tr), scaler.transform(X_te)
    try:
        n = int(user)
    except ValueError:
        n = 0
    assert math.isclose(0.1 + 0.2, 0.3, rel_tol=1e-9)
    return n
`

func classesOf(fs []Finding) map[string]int {
	m := map[string]int{}
	for _, f := range fs {
		m[f.Gate]++
	}
	return m
}

func TestReviewSelftest(t *testing.T) {
	t.Run("bad hits all 8 classes, 6 critical and 2 important", func(t *testing.T) {
		res := mustScan(t, Review, srcs("bad.py", reviewBad))
		got := classesOf(res.Findings)
		want := []string{ClassSecret, ClassOSSystem, ClassShellTrue, ClassEvalExec, ClassSQLConcat, ClassLeakage, ClassFloatEq, ClassBareExcept}
		for _, c := range want {
			if got[c] != 1 {
				t.Errorf("class %s: %d findings, want 1", c, got[c])
			}
		}
		if len(got) != len(want) {
			t.Errorf("classes %v, want exactly %v\n%s", got, want, describe(res.Findings))
		}
		crit, important := 0, 0
		for _, g := range res.Report.Gates {
			switch {
			case g.Status == spec.GateFail && g.Severity == spec.SeverityCritical:
				crit++
			case g.Status == spec.GateWarn && g.Severity == spec.SeverityMajor:
				important++
			}
		}
		if crit != 6 || important != 2 {
			t.Errorf("gates: %d critical, %d important; want 6 and 2", crit, important)
		}
		if res.Report.Verdict != spec.VerdictFail || res.Report.Producer != "experiment-coding" || res.Report.Schema != spec.FindingsSchema {
			t.Errorf("report header = %s %s %s", res.Report.Schema, res.Report.Producer, res.Report.Verdict)
		}
		for _, f := range res.Findings {
			if f.Loc.Line == 0 || f.Loc.Col == 0 || f.Fix == "" {
				t.Errorf("finding without line, column or fix: %+v", f)
			}
		}
	})
	t.Run("cv_bad", func(t *testing.T) {
		src := `from sklearn.preprocessing import StandardScaler
from sklearn.model_selection import StratifiedKFold

def cv(X, y):
    X = StandardScaler().fit_transform(X)
    skf = StratifiedKFold(n_splits=5)
    for tr, te in skf.split(X, y):
        pass
`
		res := mustScan(t, Review, srcs("cv_bad.py", src))
		if got := classesOf(res.Findings); got[ClassLeakage] != 1 {
			t.Errorf("DATA-LEAKAGE findings: %d, want 1\n%s", got[ClassLeakage], describe(res.Findings))
		}
	})
	t.Run("good has zero issues", func(t *testing.T) {
		res := mustScan(t, Review, srcs("good.py", reviewGood))
		if len(res.Findings) != 0 {
			t.Errorf("findings:\n%s", describe(res.Findings))
		}
		if len(res.Report.Gates) != 1 || res.Report.Gates[0].Gate != "review_gate" || res.Report.Verdict != spec.VerdictPass {
			t.Errorf("report = %+v", res.Report)
		}
	})
	t.Run("placeholders are not secrets", func(t *testing.T) {
		src := `password = "changeme"
token = "your-token-here"
secret = ""
connect(password="xxxxxx", api_key="<your key>")
tokenizer_name = "bert-base-uncased"
TOKEN_ENV = "HF_TOKEN"
TOKEN_URL = "https://auth.example.com/token"
`
		res := mustScan(t, Review, srcs("p.py", src))
		if len(res.Findings) != 0 {
			t.Errorf("findings:\n%s", describe(res.Findings))
		}
	})
	t.Run("syntax error is the only finding", func(t *testing.T) {
		res := mustScan(t, Review, srcs("broken.py", "import os\nos.system('x')\ndef f(:\n"))
		if len(res.Findings) != 1 || res.Findings[0].Rule != ClassSyntaxError || res.Findings[0].Loc.Line != 3 {
			t.Errorf("findings:\n%s", describe(res.Findings))
		}
	})
	t.Run("read error", func(t *testing.T) {
		in, err := Load(t.Context(), []string{"testdata/does-not-exist.py"})
		if err != nil {
			t.Fatal(err)
		}
		res := mustScan(t, Review, in)
		if len(res.Findings) != 1 || res.Findings[0].Rule != ClassReadError || res.Findings[0].Loc.Line != 0 {
			t.Errorf("findings:\n%s", describe(res.Findings))
		}
	})
}

// TestReviewBetterThanOriginal covers the false results of spec §6.2 and
// §6.3 that review_gate has, and the float and NaN rules of issue 6.
func TestReviewBetterThanOriginal(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []string // rules, in location order
	}{
		{"model.eval() and df.eval() are methods, not eval()", "model.eval()\ndf.eval('a + b')\n", nil},
		{"builtins.eval is eval", "import builtins\nbuiltins.eval(s)\n", []string{ClassEvalExec}},
		{"os.system through an alias", "import os as o\no.system('ls')\nfrom os import system\nsystem('ls')\n", []string{ClassOSSystem, ClassOSSystem}},
		{"negative float literal", "if x == -0.5:\n    pass\n", []string{ClassFloatEq}},
		{"float-valued expression", "acc = correct / total\nassert acc == expected\n", []string{ClassFloatEq}},
		{"metric result", "from sklearn.metrics import accuracy_score\nassert accuracy_score(y, p) != 1\n", []string{ClassFloatEq}},
		{"loop over float literals", "for lr in [0.1, 0.01]:\n    if lr == best:\n        pass\n", []string{ClassFloatEq}},
		{"NaN comparison", "import numpy as np\nif x == np.nan:\n    pass\n", []string{ClassFloatEq}},
		{"integers and pytest.approx are fine", "import pytest\nassert n == 3\nassert x == pytest.approx(0.3)\nassert s == 'a'\n", nil},
		{"nan_to_num on predictions", "import numpy as np\npreds = np.nan_to_num(model.predict(X))\nX = np.nan_to_num(X)\n", []string{ClassNaNSwallow}},
		{"fillna(0) on metrics", "scores = results['auc'].fillna(0)\nfeatures = df.fillna(0)\n", []string{ClassNaNSwallow}},
		{"seterr ignore", "import numpy as np\nnp.seterr(all='ignore')\nnp.seterr(under='ignore')\n", []string{ClassNaNSwallow}},
		{"except FloatingPointError: pass", "try:\n    r = a / b\nexcept FloatingPointError:\n    pass\ntry:\n    r = a / b\nexcept FloatingPointError:\n    log(b)\n", []string{ClassNaNSwallow}},
		{"RuntimeWarning filtered", "import warnings\nwarnings.filterwarnings('ignore', category=RuntimeWarning)\n", []string{ClassNaNSwallow}},
		{"SQL via f-string into execute", "cur.execute(f\"DELETE FROM t WHERE id = {i}\")\n", []string{ClassSQLConcat}},
		{"SQL via format into a query variable", "query = \"SELECT a FROM t WHERE b = {}\".format(b)\ndb.run(query)\n", []string{ClassSQLConcat}},
		{"log message with a keyword is not SQL", "msg = \"select the best model: \" + name\nprint(msg)\n", nil},
		{"secret in a dict", "cfg = {\"api_key\": \"AKIAABCDEFGHIJKLMNOP\"}\n", []string{ClassSecret}},
		{"suppressed", "import os\nos.system('ls')  # rigor: ignore[OS-SYSTEM]\n", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := mustScan(t, Review, srcs("t.py", tt.src))
			if got := rulesOf(res.Findings); !slices.Equal(got, tt.want) {
				t.Errorf("rules = %v, want %v\n%s", got, tt.want, describe(res.Findings))
			}
		})
	}
}

const seedFull = `import os
import random
import numpy as np
import torch
from torch.utils.data import DataLoader

os.environ["PYTHONHASHSEED"] = "0"
random.seed(0)
np.random.seed(0)
torch.manual_seed(0)
torch.cuda.manual_seed_all(0)
torch.backends.cudnn.deterministic = True
torch.backends.cudnn.benchmark = False


def seed_worker(worker_id):
    np.random.seed(torch.initial_seed() % 2**32)


g = torch.Generator()
g.manual_seed(0)
loader = DataLoader([1, 2, 3], worker_init_fn=seed_worker, generator=g)
`

const seedMissing = `import random
import numpy as np
import torch
from torch.utils.data import DataLoader

random.seed(0)
np.random.seed(0)
torch.manual_seed(0)
torch.cuda.manual_seed_all(0)
loader = DataLoader([1, 2, 3])
`

const seedDelegatedCall = `import random
import numpy as np
import torch
from mylib.repro import set_global_seed

set_global_seed(42)
x = torch.rand(3) + np.random.rand(3)[0] + random.random()
`

const seedHelperDef = `import os
import random
import numpy as np
import torch


def set_global_seed(seed):
    os.environ["PYTHONHASHSEED"] = str(seed)
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
`

func TestSeedSelftest(t *testing.T) {
	audit := func(t *testing.T, s []Source) (*SeedAudit, *Result) {
		t.Helper()
		res := mustScan(t, Seeds, s)
		return res.Seeds, res
	}
	t.Run("FULL", func(t *testing.T) {
		a, res := audit(t, srcs("full.py", seedFull))
		if !a.OK || len(a.Missing) != 0 || !a.UsesGPU || !a.UsesDataLoader {
			t.Errorf("audit = %+v\n%s", a, describe(res.Findings))
		}
		if len(a.Required) != 7 {
			t.Errorf("required = %v, want 7 mechanisms", a.Required)
		}
	})
	t.Run("MISSING", func(t *testing.T) {
		a, res := audit(t, srcs("missing.py", seedMissing))
		for _, m := range []string{MechPythonHashSeed, MechCuDNN, MechDataLoader} {
			if !slices.Contains(a.MissingCritical, m) {
				t.Errorf("missing_critical %v lacks %s", a.MissingCritical, m)
			}
		}
		if !a.UsesGPU || a.OK {
			t.Errorf("audit = %+v", a)
		}
		if res.Report.Verdict != spec.VerdictFail {
			t.Errorf("verdict %s, want fail", res.Report.Verdict)
		}
	})
	t.Run("DELEGATED_CALL", func(t *testing.T) {
		a, res := audit(t, srcs("delegated.py", seedDelegatedCall))
		if !a.Delegated || len(a.MissingCritical) != 0 || len(a.Missing) == 0 {
			t.Errorf("audit = %+v", a)
		}
		for _, m := range a.Missing {
			if m.Severity != "warn" {
				t.Errorf("missing %s has severity %s, want warn", m.Mechanism, m.Severity)
			}
		}
		if res.Report.Verdict != spec.VerdictWarn {
			t.Errorf("verdict %s, want warn", res.Report.Verdict)
		}
	})
	t.Run("DELEGATED_CALL with HELPER_DEF", func(t *testing.T) {
		a, _ := audit(t, srcs("delegated.py", seedDelegatedCall, "mylib/repro.py", seedHelperDef))
		if a.Delegated || !a.OK {
			t.Errorf("audit = %+v", a)
		}
	})
	t.Run("NO_RANDOM", func(t *testing.T) {
		a, res := audit(t, srcs("plain.py", "import json\nprint(json.dumps({}))\n"))
		if a.HasRandomness || len(a.Missing) != 0 || a.OK {
			t.Errorf("audit = %+v", a)
		}
		if g := res.Report.Gates[0]; g.Gate != seedGate || g.Status != spec.GateSkip {
			t.Errorf("gate = %+v, want reproducible skip", g)
		}
	})
	t.Run("syntax error", func(t *testing.T) {
		a, _ := audit(t, srcs("broken.py", "def f(:\n"))
		if len(a.SyntaxErrors) == 0 {
			t.Errorf("no syntax error recorded")
		}
	})
}

// TestSeedBetterThanOriginal covers each false result of spec §6.2 and
// §6.3 for seed_audit, and the reports issue 6 adds.
func TestSeedBetterThanOriginal(t *testing.T) {
	tests := []struct {
		name      string
		src       string
		gpu       bool
		set       []string // must be set
		notSet    []string // must not be set
		fws       []string
		wantRules []string // rules that must be reported
	}{
		{name: "cudnn in a comment is not GPU use", src: "import torch\n# cudnn would be set on a cluster; .cuda( too\ntorch.manual_seed(0)\n", gpu: false},
		{name: "default_rng() without a seed seeds nothing", src: "import numpy as np\nrng = np.random.default_rng()\n", notSet: []string{MechNumPy}},
		{name: "default_rng(seed) seeds", src: "import numpy as np\nrng = np.random.default_rng(7)\n", set: []string{MechNumPy}},
		{name: "use_deterministic_algorithms(False) is not determinism", src: "import torch\ntorch.use_deterministic_algorithms(False)\nx = torch.ones(1).cuda()\n", gpu: true, notSet: []string{MechCuDNN}},
		{name: "a Generator's manual_seed is not the global seed", src: "import torch\ng = torch.Generator()\ng.manual_seed(0)\n", notSet: []string{MechTorch}},
		{name: "from random import seed counts", src: "from random import seed\nseed(1)\n", set: []string{MechRandom}, fws: []string{"random"}},
		{name: "setdefault counts for PYTHONHASHSEED", src: "import os, random\nos.environ.setdefault(\"PYTHONHASHSEED\", \"0\")\nrandom.seed(0)\n", set: []string{MechPythonHashSeed}},
		{name: "PYTHONHASHSEED assigned in the script is reported", src: "import os, random\nos.environ[\"PYTHONHASHSEED\"] = \"0\"\nrandom.seed(0)\n", set: []string{MechPythonHashSeed}, wantRules: []string{"seed.pythonhashseed_in_script"}},
		{name: "benchmark=True with deterministic mode", src: "import torch\ntorch.backends.cudnn.deterministic = True\ntorch.backends.cudnn.benchmark = True\n", gpu: true, notSet: []string{MechCuDNN}, wantRules: []string{"seed.cudnn_benchmark"}},
		{name: "seeding behind a flag", src: "import random, sys\nif '--seed' in sys.argv:\n    random.seed(1)\n", set: []string{MechRandom}, wantRules: []string{"seed.conditional"}},
		{name: "seeding on one branch", src: "import random\nif mode == 'train':\n    random.seed(1)\n", wantRules: []string{"seed.conditional"}},
		{name: "sklearn without random_state", src: "from sklearn.ensemble import RandomForestClassifier\nRandomForestClassifier()\n", wantRules: []string{"seed.random_state"}},
		{name: "TensorFlow mechanisms", src: "import tensorflow as tf, os\nos.environ['TF_DETERMINISTIC_OPS'] = '1'\ntf.random.set_seed(1)\nx = tf.config.list_physical_devices('GPU')\n", gpu: true, set: []string{MechTF, MechTFDeterminism}},
		{name: "keras.utils.set_random_seed covers random, numpy and tf", src: "import keras, random, numpy\nkeras.utils.set_random_seed(3)\n", set: []string{MechRandom, MechNumPy, MechTF}},
		{name: "JAX keys", src: "import jax\nk = jax.random.PRNGKey(0)\n", set: []string{MechJAX}, fws: []string{"jax"}},
		{name: "transformers.set_seed", src: "import random, numpy, torch\nfrom transformers import set_seed\nset_seed(1)\n", set: []string{MechRandom, MechNumPy, MechTorch}},
		{name: "lightning seed_everything with workers", src: "import torch\nfrom lightning.pytorch import seed_everything\nfrom torch.utils.data import DataLoader\nseed_everything(1, workers=True)\nDataLoader([1])\n", set: []string{MechTorch, MechDataLoader}},
		{name: "seed from the clock", src: "import random, time\nrandom.seed(time.time())\n", notSet: []string{MechRandom}, wantRules: []string{"seed.clock_seed"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := mustScan(t, Seeds, srcs("t.py", tt.src))
			a := res.Seeds
			if a.UsesGPU != tt.gpu {
				t.Errorf("uses_gpu = %v, want %v", a.UsesGPU, tt.gpu)
			}
			for _, m := range tt.set {
				if !slices.Contains(a.Set, m) {
					t.Errorf("set = %v, want %s in it", a.Set, m)
				}
			}
			for _, m := range tt.notSet {
				if slices.Contains(a.Set, m) {
					t.Errorf("set = %v, want no %s", a.Set, m)
				}
			}
			for _, fw := range tt.fws {
				if !slices.Contains(a.Frameworks, fw) {
					t.Errorf("frameworks = %v, want %s", a.Frameworks, fw)
				}
			}
			rules := rulesOf(res.Findings)
			for _, r := range tt.wantRules {
				if !slices.Contains(rules, r) {
					t.Errorf("rules = %v, want %s\n%s", rules, r, describe(res.Findings))
				}
			}
		})
	}
}

// TestReproSelftest mirrors the repro_gate cases (spec §5.3) on the
// library: the leakage and seed gates over the CLEAN, BAD and only_seed
// programs, at the lines the spec names.
func TestReproSelftest(t *testing.T) {
	clean := `import os
import random
import math
import numpy as np
import torch
from sklearn.preprocessing import StandardScaler
from sklearn.model_selection import train_test_split

os.environ["PYTHONHASHSEED"] = "0"
random.seed(0)
np.random.seed(0)
torch.manual_seed(0)
X = np.random.rand(20, 3)
y = np.arange(20) % 2
Xtr, Xte, ytr, yte = train_test_split(X, y, random_state=0)
scaler = StandardScaler()
Xtr = scaler.fit_transform(Xtr)
assert math.isclose(float(ytr[0]), float(ytr[0]))
`
	bad := `import os
import numpy as np
import torch
from sklearn.preprocessing import StandardScaler
from sklearn.model_selection import train_test_split

API_KEY = "sk-" "selftest-0123456789"
np.random.seed(0)
torch.manual_seed(0)
X = np.random.rand(20, 3)
y = np.arange(20) % 2
X = StandardScaler().fit_transform(X)
Xtr, Xte, ytr, yte = train_test_split(X, y, random_state=0)
assert ytr[0] == 0.5
`
	onlySeed := "import numpy as np\nnp.random.seed(0)\n"

	t.Run("CLEAN", func(t *testing.T) {
		for _, fn := range []scanFunc{Leakage, Seeds} {
			res := mustScan(t, fn, srcs("<inline>", clean))
			if res.Report.Verdict == spec.VerdictFail {
				t.Errorf("verdict fail:\n%s", describe(res.Findings))
			}
		}
		res := mustScan(t, Review, srcs("<inline>", clean))
		if len(res.Findings) != 0 {
			t.Errorf("review findings:\n%s", describe(res.Findings))
		}
	})
	t.Run("BAD", func(t *testing.T) {
		leak := mustScan(t, Leakage, srcs("<inline>", bad))
		if leak.Report.Verdict != spec.VerdictFail || len(leak.Findings) != 1 || leak.Findings[0].Loc.Line != 12 {
			t.Errorf("leakage:\n%s", describe(leak.Findings))
		} else if rel := leak.Findings[0].Related; len(rel) < 2 || rel[1].Loc.Line != 13 {
			t.Errorf("related = %+v, want the split at line 13", rel)
		}
		seeds := mustScan(t, Seeds, srcs("<inline>", bad))
		if !slices.Contains(seeds.Seeds.MissingCritical, MechPythonHashSeed) || seeds.Report.Verdict != spec.VerdictFail {
			t.Errorf("seeds = %+v", seeds.Seeds)
		}
		if got := strings.Join(seeds.Seeds.Frameworks, ","); got != "numpy,torch" || seeds.Seeds.UsesGPU || seeds.Seeds.UsesDataLoader {
			t.Errorf("frameworks %s gpu %v dataloader %v", got, seeds.Seeds.UsesGPU, seeds.Seeds.UsesDataLoader)
		}
		review := mustScan(t, Review, srcs("<inline>", bad))
		lines := map[string]int{}
		for _, f := range review.Findings {
			lines[f.Gate] = f.Loc.Line
		}
		if lines[ClassFloatEq] != 14 || lines[ClassSecret] != 7 || lines[ClassLeakage] != 12 {
			t.Errorf("lines = %v\n%s", lines, describe(review.Findings))
		}
		// The findings round-trip through the canonical encoding.
		enc, err := review.Report.Encode()
		if err != nil {
			t.Fatal(err)
		}
		back, err := spec.DecodeFindings(enc)
		if err != nil || len(back.Blocking()) == 0 {
			t.Errorf("round trip: %v, blocking %v", err, back.Blocking())
		}
	})
	t.Run("only_seed", func(t *testing.T) {
		seeds := mustScan(t, Seeds, srcs("<inline>", onlySeed))
		g := seeds.Report.Gates[0]
		if g.Gate != seedGate || !g.Blocks() || seeds.Report.Verdict != spec.VerdictFail {
			t.Errorf("gate = %+v", g)
		}
		leak := mustScan(t, Leakage, srcs("<inline>", onlySeed))
		if leak.Report.Verdict != spec.VerdictPass {
			t.Errorf("leakage verdict %s", leak.Report.Verdict)
		}
	})
	t.Run("no code", func(t *testing.T) {
		seeds := mustScan(t, Seeds, nil)
		if g := seeds.Report.Gates[0]; g.Status != spec.GateSkip {
			t.Errorf("seeds gate = %+v, want skip", g)
		}
	})
}
