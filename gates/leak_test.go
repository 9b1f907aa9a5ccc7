package gates

import (
	"slices"
	"strings"
	"testing"

	"github.com/rigor-dev/rigor/spec"
)

const leakHead = `import numpy as np
import pandas as pd
from sklearn.preprocessing import StandardScaler
from sklearn.model_selection import train_test_split, KFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.linear_model import LogisticRegression
`

// TestLeakageCases pins single behaviours of the analysis; line numbers
// count from the first line after leakHead.
func TestLeakageCases(t *testing.T) {
	tests := []struct {
		name  string
		body  string
		kinds []LeakKind // in location order
		line  int        // line of the first finding (after the header), 0: any
	}{
		{"fit before split", "X = np.load('x.npy')\nX = StandardScaler().fit_transform(X)\na, b = train_test_split(X)\n", []LeakKind{LeakPreprocessing}, 2},
		{"split then fit on train", "X = np.load('x.npy')\na, b = train_test_split(X)\ns = StandardScaler().fit(a)\nc = s.transform(b)\n", nil, 0},
		{"fit on full after split, applied to test", "X = np.load('x.npy')\na, b = train_test_split(X)\ns = StandardScaler().fit(X)\nc = s.transform(b)\n", []LeakKind{LeakPreprocessing}, 3},
		{"tuple unpacking through a helper", "def split(X):\n    return train_test_split(X, test_size=0.2)\nX = np.load('x.npy')\nX = X / X.max()\ntr, te = split(X)\n", []LeakKind{LeakPreprocessing}, 4},
		{"attribute chain on self", "class E:\n    def __init__(self):\n        self.X = np.load('x.npy')\n    def run(self):\n        self.X = StandardScaler().fit_transform(self.X)\n        return train_test_split(self.X)\nE().run()\n", []LeakKind{LeakPreprocessing}, 5},
		{"dict container", "d = {'X': np.load('x.npy')}\nd['X'] = StandardScaler().fit_transform(d['X'])\ntr, te = train_test_split(d['X'])\n", []LeakKind{LeakPreprocessing}, 2},
		{"row-wise mean is fine", "df = pd.read_csv('d.csv')\ndf['m'] = df[['a', 'b']].mean(axis=1)\ntr, te = train_test_split(df)\n", nil, 0},
		{"pipeline in CV is fine", "X = np.load('x.npy')\ny = np.load('y.npy')\ncross_val_score(make_pipeline(StandardScaler(), LogisticRegression()), X, y)\n", nil, 0},
		{"scaled before CV", "X = np.load('x.npy')\ny = np.load('y.npy')\nXs = StandardScaler().fit_transform(X)\ncross_val_score(LogisticRegression(), Xs, y, cv=5)\n", []LeakKind{LeakPreprocessing}, 3},
		{"fold indices, fit inside", "X = np.load('x.npy')\nfor tr, te in KFold(5).split(X):\n    s = StandardScaler().fit(X[tr])\n    z = s.transform(X[te])\n", nil, 0},
		{"fold indices, fit outside", "X = np.load('x.npy')\ns = StandardScaler().fit(X)\nfor tr, te in KFold(5).split(X):\n    z = s.transform(X[te])\n", []LeakKind{LeakPreprocessing}, 2},
		{"test data by file name", "tr = pd.read_csv('train.csv')\nte = pd.read_csv('test.csv')\nm = LogisticRegression().fit(te[['a']], te['y'])\n", []LeakKind{LeakTestInTraining}, 3},
		{"validation named split is not test", "X = np.load('x.npy')\nX_a, X_val = train_test_split(X)\nm = LogisticRegression().fit(X_val, X_val)\n", nil, 0},
		{"mask split, disjoint", "df = pd.read_csv('d.csv')\ntrain = df[df.year < 2020]\ntest = df[df.year >= 2020]\nm = LogisticRegression().fit(train[['a']], train.y)\nm.score(test[['a']], test.y)\n", nil, 0},
		{"slices that overlap", "X = np.load('x.npy')\nm = LogisticRegression().fit(X[:800], X[:800])\nX_test = X[700:]\nm.score(X_test, X_test)\n", []LeakKind{LeakOverlap}, 4},
		{"model selection in a comprehension", "X = np.load('x.npy')\nXtr, Xte = train_test_split(X)\nms = [LogisticRegression(C=c).fit(Xtr, Xtr) for c in (1, 2)]\nbest = max(ms, key=lambda m: m.score(Xte, Xte))\n", []LeakKind{LeakTestInTraining}, 4},
		{"scores collected then maxed", "X = np.load('x.npy')\nXtr, Xte = train_test_split(X)\nscores = []\nfor c in (1, 2):\n    scores.append(LogisticRegression(C=c).fit(Xtr, Xtr).score(Xte, Xte))\nbest = int(np.argmax(scores))\n", []LeakKind{LeakTestInTraining}, 6},
		{"entity column, group split", "from sklearn.model_selection import GroupShuffleSplit\ndf = pd.read_csv('d.csv')\ng = df['patient_id']\ntr, te = next(GroupShuffleSplit().split(df, groups=g))\n", nil, 0},
		{"entity column, row split", "df = pd.read_csv('d.csv')\ng = df['patient_id']\ntr, te = train_test_split(df)\n", []LeakKind{LeakGroup}, 3},
		{"one row per entity", "df = pd.read_csv('d.csv')\nagg = df.groupby('patient_id').mean()\ntr, te = train_test_split(agg)\n", nil, 0},
		{"time order, shuffled", "df = pd.read_csv('d.csv').sort_values('date')\ntr, te = train_test_split(df)\n", []LeakKind{LeakTime}, 2},
		{"time order, unshuffled", "df = pd.read_csv('d.csv').sort_values('date')\ntr, te = train_test_split(df, shuffle=False)\n", nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := leakHead + tt.body
			res := mustScan(t, Leakage, srcs("t.py", src))
			var kinds []LeakKind
			for _, f := range res.Findings {
				kinds = append(kinds, LeakKind(f.Kind))
			}
			if !slices.Equal(kinds, tt.kinds) {
				t.Fatalf("kinds = %v, want %v\n%s", kinds, tt.kinds, describe(res.Findings))
			}
			header := strings.Count(leakHead, "\n")
			if tt.line > 0 && res.Findings[0].Loc.Line != header+tt.line {
				t.Errorf("first finding at line %d, want %d\n%s", res.Findings[0].Loc.Line-header, tt.line, describe(res.Findings))
			}
			for _, f := range res.Findings {
				if f.Fix == "" || f.Evidence == "" || len(f.Related) < 2 {
					t.Errorf("finding lacks fix, evidence or related places: %+v", f)
				}
			}
		})
	}
}

func TestLeakageReport(t *testing.T) {
	src := leakHead + "df = pd.read_csv('d.csv')\ng = df['subject']\ntr, te = train_test_split(df)\n"
	res := mustScan(t, Leakage, srcs("t.py", src))
	g := res.Report.Gates[0]
	if g.Gate != LeakageGate || g.Status != spec.GateWarn || g.Severity != spec.SeverityMajor || res.Report.Verdict != spec.VerdictWarn {
		t.Errorf("gate = %+v, verdict %s", g, res.Report.Verdict)
	}
	if g.Findings[0].Rule != "leakage.group" || !strings.Contains(g.Findings[0].Loc, "t.py:9:") {
		t.Errorf("finding = %+v", g.Findings[0])
	}
	clean := mustScan(t, Leakage, srcs("c.py", "x = 1\n"))
	if g := clean.Report.Gates; len(g) != 1 || g[0].Gate != LeakageGate || g[0].Status != spec.GatePass {
		t.Errorf("clean gates = %+v", g)
	}
}

// TestLeakageDeepRecursion: recursion and deep call chains end; the
// analysis budget keeps huge inputs bounded.
func TestLeakageDeepRecursion(t *testing.T) {
	var b strings.Builder
	b.WriteString("def f0(x):\n    return f0(x)\n")
	for i := 1; i < 50; i++ {
		b.WriteString("def f" + itoa(i) + "(x):\n    return f" + itoa(i-1) + "(x) + f" + itoa(i-1) + "(x)\n")
	}
	b.WriteString("y = f49(1)\n")
	b.WriteString("z = " + strings.Repeat("(", 200) + "1" + strings.Repeat(")", 200) + "\n")
	res := mustScan(t, Leakage, srcs("r.py", b.String()))
	if len(res.Findings) != 0 {
		t.Errorf("findings:\n%s", describe(res.Findings))
	}
}

func itoa(i int) string {
	return strings.TrimSpace(strings.Repeat(" ", 0) + string(rune('0'+i/10)) + string(rune('0'+i%10)))
}
