"""Predict a patient's outcome from clinic visits, with the standard library only.

    rigor run --config configs/exp-01.json -- python3 train.py --config configs/exp-01.json

Patient-grouped, label-stratified k-fold cross-validation of an L2 logistic
regression on standardised features. Every visit of a patient stays on one
side of each split, and the scaler is fitted inside each fold on the
training visits only. A patient's prediction is the mean over its visits,
made while the patient was held out.

Outputs, in $RIGOR_OUT (or --out):
  predictions.csv    one row per patient: patient_id,fold,n_visits,y_true,p
  raw_metrics.jsonl  one JSON object per fold: sizes, brier, log_loss, auc, accuracy
  folds.csv          the data with the fold each row was tested in, for auditing
                     the split (rigor gate split --csv folds.csv --split-col fold)

The seed is the row config's seed.value (rigor run also exports it as
RIGOR_SEED; the two must agree). Without --config the seed is RIGOR_SEED and
the settings are the defaults below. For a fixed seed the outputs are the
same bytes on every run.
"""

import argparse
import csv
import json
import math
import os
import random
import sys

DEFAULTS = {
    "data": {"path": "data/visits.csv"},
    "features": {
        "baseline": ["age", "systolic_bp", "cholesterol"],
        "candidate_additions": ["glucose"],
    },
    "model": {"hyperparameters": {"l2": 0.01, "step": 0.5, "steps": 200}},
    "evaluation": {"unit": "patient_id", "primary_metric": "brier", "folds": 5},
}
LABEL = "outcome"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", help="row config (JSON); default: RIGOR_SEED and built-in settings")
    parser.add_argument("--out", help="output directory (default: $RIGOR_OUT)")
    args = parser.parse_args(argv)

    env_seed = os.environ.get("RIGOR_SEED")
    if args.config:
        with open(args.config, encoding="utf-8") as f:
            config = json.load(f)
        seed = config["seed"]["value"]
        if env_seed is not None and env_seed != str(seed):
            parser.error(f"RIGOR_SEED={env_seed} but {args.config} says seed {seed}")
    elif env_seed is not None:
        config, seed = DEFAULTS, int(env_seed)
    else:
        parser.error("no seed: pass --config CONFIG or run under rigor run (RIGOR_SEED)")
    out = args.out or os.environ.get("RIGOR_OUT")
    if not out:
        parser.error("no output directory: run under rigor run, or pass --out DIR")

    # Seeding. PYTHONHASHSEED only takes effect when set before Python
    # starts (rigor run sets it); this program does not depend on hashing,
    # but a mismatch is worth a warning.
    hash_seed = os.environ.get("PYTHONHASHSEED")
    if hash_seed != str(seed):
        print(f"warning: PYTHONHASHSEED is {hash_seed!r}, not {seed}", file=sys.stderr)
    random.seed(seed)

    features = config["features"]["baseline"] + config["features"]["candidate_additions"]
    unit = config["evaluation"]["unit"]
    rows = load(config["data"]["path"], [unit, LABEL, *features])
    predictions, folds, row_fold = cross_validate_by_group(
        rows, features, unit, config["evaluation"]["folds"], seed, config["model"]["hyperparameters"]
    )
    write_outputs(out, predictions, folds)
    write_folds(os.path.join(out, "folds.csv"), rows, row_fold)
    print(
        f"{len(predictions)} patients, {len(folds)} folds; brier per fold: "
        + " ".join(f"{m['brier']:.4f}" for m in folds)
    )
    return 0


def cross_validate_by_group(rows, features, unit, n_folds, seed, hyperparameters):
    """Fit and evaluate on each fold.

    Returns per-entity predictions, per-fold metrics and the fold of each row.
    """
    x = [[float(r[f]) for f in features] for r in rows]
    y = [int(r[LABEL]) for r in rows]
    groups = [r[unit] for r in rows]
    cv = StratifiedGroupKFold(n_splits=n_folds, seed=seed)
    predictions, fold_metrics, row_fold = [], [], [None] * len(rows)
    for fold, (train_idx, test_idx) in enumerate(cv.split(x, y, groups)):
        train_groups = {groups[i] for i in train_idx}
        test_groups = {groups[i] for i in test_idx}
        assert not train_groups & test_groups, "a patient is on both sides of the split"
        for i in test_idx:
            row_fold[i] = fold

        # Fitted on this fold's training rows only.
        scaler = Standardizer().fit([x[i] for i in train_idx])
        model = LogisticRegression(**hyperparameters)
        model.fit(scaler.transform([x[i] for i in train_idx]), [y[i] for i in train_idx])
        p_rows = model.predict_proba(scaler.transform([x[i] for i in test_idx]))

        by_entity = {}
        for i, p in zip(test_idx, p_rows):
            by_entity.setdefault(groups[i], []).append((y[i], p))
        entity_y, entity_p = [], []
        for entity in sorted(by_entity):
            visits = by_entity[entity]
            p = math.fsum(p for _, p in visits) / len(visits)
            entity_y.append(visits[0][0])
            entity_p.append(p)
            predictions.append((entity, fold, len(visits), visits[0][0], p))
        fold_metrics.append(
            {
                "fold": fold,
                "n_train_entities": len(train_groups),
                "n_test_entities": len(test_groups),
                "n_train_rows": len(train_idx),
                "n_test_rows": len(test_idx),
                "brier": brier(entity_y, entity_p),
                "log_loss": log_loss(entity_y, entity_p),
                "auc": auc(entity_y, entity_p),
                "accuracy": accuracy(entity_y, entity_p),
            }
        )
    predictions.sort()
    return predictions, fold_metrics, row_fold


class StratifiedGroupKFold:
    """k folds of whole groups, each fold with about the same share of positives.

    Groups are shuffled with the seed, then dealt to folds in turn, positives
    and negatives separately. A group's label is its first row's label.
    """

    def __init__(self, n_splits, seed):
        if n_splits < 2:
            raise ValueError("n_splits must be at least 2")
        self.n_splits = n_splits
        self.rng = random.Random(seed)

    def split(self, x, y, groups):
        label = {}
        for g, yi in zip(groups, y):
            label.setdefault(g, yi)
        ordered = sorted(label)
        if len(ordered) < self.n_splits:
            raise ValueError(f"{len(ordered)} groups cannot fill {self.n_splits} folds")
        self.rng.shuffle(ordered)
        fold_of = {}
        dealt = 0
        for cls in sorted(set(label.values())):
            for g in ordered:
                if label[g] == cls:
                    fold_of[g] = dealt % self.n_splits
                    dealt += 1
        for k in range(self.n_splits):
            test = [i for i, g in enumerate(groups) if fold_of[g] == k]
            train = [i for i, g in enumerate(groups) if fold_of[g] != k]
            yield train, test


class Standardizer:
    """Centre each column on its mean and scale it to unit variance."""

    def fit(self, rows):
        n = len(rows)
        cols = list(zip(*rows))
        self.mean = [math.fsum(c) / n for c in cols]
        self.sd = []
        for c, m in zip(cols, self.mean):
            sd = math.sqrt(math.fsum((v - m) ** 2 for v in c) / n)
            self.sd.append(sd if sd > 0 else 1.0)
        return self

    def transform(self, rows):
        return [[(v - m) / s for v, m, s in zip(r, self.mean, self.sd)] for r in rows]


class LogisticRegression:
    """L2 logistic regression by full-batch gradient descent from zero weights."""

    def __init__(self, l2=0.01, step=0.5, steps=200):
        self.l2, self.step, self.steps = l2, step, steps

    def fit(self, rows, y):
        n, d = len(rows), len(rows[0])
        w, b = [0.0] * d, 0.0
        for _ in range(self.steps):
            gw, gb = [0.0] * d, 0.0
            for r, yi in zip(rows, y):
                err = sigmoid(b + math.fsum(wj * v for wj, v in zip(w, r))) - yi
                gb += err
                for j, v in enumerate(r):
                    gw[j] += err * v
            w = [wj - self.step * (g / n + self.l2 * wj) for wj, g in zip(w, gw)]
            b -= self.step * gb / n
        self.w, self.b = w, b
        return self

    def predict_proba(self, rows):
        return [sigmoid(self.b + math.fsum(wj * v for wj, v in zip(self.w, r))) for r in rows]


def sigmoid(z):
    if z >= 0:
        return 1 / (1 + math.exp(-z))
    e = math.exp(z)
    return e / (1 + e)


def brier(y, p):
    return math.fsum((pi - yi) ** 2 for yi, pi in zip(y, p)) / len(y)


def log_loss(y, p, eps=1e-15):
    total = math.fsum(
        -math.log(min(max(pi, eps), 1 - eps)) if yi else -math.log(min(max(1 - pi, eps), 1 - eps))
        for yi, pi in zip(y, p)
    )
    return total / len(y)


def auc(y, p):
    """Probability that a random positive outranks a random negative (ties count half)."""
    pos = [pi for yi, pi in zip(y, p) if yi]
    neg = [pi for yi, pi in zip(y, p) if not yi]
    if not pos or not neg:
        return None
    wins = sum(1.0 if a > b else 0.0 if a < b else 0.5 for a in pos for b in neg)
    return wins / (len(pos) * len(neg))


def accuracy(y, p):
    return sum(int(pi >= 0.5) == yi for yi, pi in zip(y, p)) / len(y)


def load(path, columns):
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        missing = [c for c in columns if c not in (reader.fieldnames or [])]
        if missing:
            raise SystemExit(f"{path}: no column {', '.join(missing)}")
        return list(reader)


def write_outputs(out, predictions, fold_metrics):
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "predictions.csv"), "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["patient_id", "fold", "n_visits", "y_true", "p"])
        for entity, fold, n, yi, p in predictions:
            w.writerow([entity, fold, n, yi, f"{p:.12f}"])
    with open(os.path.join(out, "raw_metrics.jsonl"), "w", encoding="utf-8") as f:
        for m in fold_metrics:
            f.write(json.dumps(m, sort_keys=True) + "\n")


def write_folds(path, rows, row_fold):
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow([*rows[0].keys(), "fold"])
        for r, fold in zip(rows, row_fold):
            w.writerow([*r.values(), fold])


if __name__ == "__main__":
    sys.exit(main())
