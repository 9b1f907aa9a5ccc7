package gates

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// cpuTime is the CPU time (user and system) the process has used so far.
// The benchmarks report it per operation next to wall time, because the
// machine they run on is shared: wall time there depends on the load.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// benchModule is one realistic experiment module: imports, data loading,
// feature engineering with pandas, a custom transformer class, a model
// comparison loop, cross-validation, plotting helpers and a CLI entry
// point. %[1]d makes names unique per file.
const benchModule = `"""Experiment module %[1]d: churn model variants."""
import argparse
import json
import logging
import os
import random

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score, roc_auc_score
from sklearn.model_selection import StratifiedKFold, cross_val_score, train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

log = logging.getLogger(__name__)
NUMERIC_%[1]d = ["tenure", "monthly_charges", "total_charges", "calls", "minutes"]
CATEGORICAL_%[1]d = ["contract", "payment_method", "internet", "region"]


def set_seed_%[1]d(seed):
    random.seed(seed)
    np.random.seed(seed)


def load_frame_%[1]d(path, limit=None):
    frame = pd.read_csv(path)
    frame = frame.dropna(subset=["churn"])
    if limit is not None:
        frame = frame.head(limit)
    frame["total_charges"] = pd.to_numeric(frame["total_charges"], errors="coerce")
    frame["charges_per_month"] = frame["total_charges"] / (frame["tenure"] + 1)
    frame["long_customer"] = (frame["tenure"] > 24).astype(int)
    return frame


class RatioFeatures_%[1]d(BaseEstimator, TransformerMixin):
    """Adds ratios of numeric columns."""

    def __init__(self, pairs=None, eps=1e-6):
        self.pairs = pairs or [("calls", "minutes")]
        self.eps = eps

    def fit(self, X, y=None):
        self.columns_ = list(X.columns)
        return self

    def transform(self, X):
        out = X.copy()
        for a, b in self.pairs:
            out[a + "_per_" + b] = out[a] / (out[b] + self.eps)
        return out


def build_pipeline_%[1]d(model):
    numeric = Pipeline([("impute", SimpleImputer(strategy="median")), ("scale", StandardScaler())])
    categorical = Pipeline([("impute", SimpleImputer(strategy="most_frequent")),
                            ("onehot", OneHotEncoder(handle_unknown="ignore"))])
    pre = ColumnTransformer([("num", numeric, NUMERIC_%[1]d), ("cat", categorical, CATEGORICAL_%[1]d)])
    return Pipeline([("ratios", RatioFeatures_%[1]d()), ("pre", pre), ("model", model)])


def candidates_%[1]d(seed):
    return {
        "logreg": LogisticRegression(max_iter=2000, C=0.5),
        "forest": RandomForestClassifier(n_estimators=300, random_state=seed),
        "gbm": GradientBoostingClassifier(random_state=seed),
    }


def compare_%[1]d(frame, seed, folds=5):
    X = frame.drop(columns=["churn"])
    y = frame["churn"]
    X_train, X_test, y_train, y_test = train_test_split(X, y, stratify=y, test_size=0.2, random_state=seed)
    cv = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    results = {}
    for name, model in candidates_%[1]d(seed).items():
        pipe = build_pipeline_%[1]d(model)
        scores = cross_val_score(pipe, X_train, y_train, cv=cv, scoring="roc_auc")
        results[name] = {"mean": float(np.mean(scores)), "std": float(np.std(scores))}
        log.info("%%s: %%.3f +- %%.3f", name, results[name]["mean"], results[name]["std"])
    best = max(results, key=lambda k: results[k]["mean"])
    final = build_pipeline_%[1]d(candidates_%[1]d(seed)[best]).fit(X_train, y_train)
    proba = final.predict_proba(X_test)[:, 1]
    report = {
        "best": best,
        "cv": results,
        "test_auc": float(roc_auc_score(y_test, proba)),
        "test_f1": float(f1_score(y_test, proba > 0.5)),
    }
    return report


def summarise_%[1]d(reports):
    rows = []
    for seed, rep in sorted(reports.items()):
        rows.append({"seed": seed, "best": rep["best"], "auc": rep["test_auc"], "f1": rep["test_f1"]})
    table = pd.DataFrame(rows)
    if len(table) and abs(table["auc"].std()) > 0.05:
        log.warning("AUC varies a lot across seeds: %%s", table["auc"].round(3).tolist())
    return table


def main_%[1]d(argv=None):
    parser = argparse.ArgumentParser(description="churn experiment %[1]d")
    parser.add_argument("--data", default="data/churn.csv")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--out", default="out")
    args = parser.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    frame = load_frame_%[1]d(args.data)
    reports = {}
    for seed in args.seeds:
        set_seed_%[1]d(seed)
        reports[seed] = compare_%[1]d(frame, seed)
    table = summarise_%[1]d(reports)
    table.to_csv(os.path.join(args.out, "summary.csv"), index=False)
    with open(os.path.join(args.out, "reports.json"), "w") as fh:
        json.dump(reports, fh, indent=2, sort_keys=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main_%[1]d())
`

// benchSources generates at least lines lines of Python in files of one
// module each.
func benchSources(lines int) ([]Source, int) {
	var out []Source
	total := 0
	for i := 0; total < lines; i++ {
		text := fmt.Sprintf(benchModule, i)
		total += strings.Count(text, "\n")
		out = append(out, Source{Path: fmt.Sprintf("exp/module_%04d.py", i), Text: []byte(text)})
	}
	return out, total
}

// BenchmarkScan100kLines runs the full review scan (every review rule and
// the leakage data-flow analysis), and the seed audit, over 100,000 lines
// in about 650 files, parsed and analysed in parallel.
func BenchmarkScan100kLines(b *testing.B) {
	srcs, lines := benchSources(100000)
	for _, bc := range []struct {
		name string
		fn   scanFunc
	}{{"review", Review}, {"seeds", Seeds}, {"leakage", Leakage}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			cpu0 := cpuTime()
			for b.Loop() {
				res, err := bc.fn(b.Context(), srcs, Options{})
				if err != nil {
					b.Fatal(err)
				}
				if res.Files != len(srcs) {
					b.Fatalf("scanned %d files, want %d", res.Files, len(srcs))
				}
			}
			b.ReportMetric(float64(lines), "lines/op")
			b.ReportMetric((cpuTime()-cpu0).Seconds()/float64(b.N), "cpu-s/op")
		})
	}
}

// TestBenchModuleIsClean keeps the benchmark honest: the generated module
// parses, and the analyses find nothing wrong in it (so the benchmark
// measures the analysis of correct code, every path followed).
func TestBenchModuleIsClean(t *testing.T) {
	srcs, _ := benchSources(1)
	for _, fn := range []scanFunc{Review, Leakage} {
		res := mustScan(t, fn, srcs)
		if len(res.Findings) != 0 {
			t.Errorf("findings in the benchmark module:\n%s", describe(res.Findings))
		}
	}
}

// TestGenerateBenchTree writes the benchmark's 100,000 lines as files under
// $RIGOR_GATES_GEN, to time the command line on them (see BENCHMARKS.md).
func TestGenerateBenchTree(t *testing.T) {
	dir := os.Getenv("RIGOR_GATES_GEN")
	if dir == "" {
		t.Skip("set RIGOR_GATES_GEN to a directory")
	}
	srcs, lines := benchSources(100000)
	for _, s := range srcs {
		p := filepath.Join(dir, s.Path)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, s.Text, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("%d files, %d lines under %s", len(srcs), lines, dir)
}
