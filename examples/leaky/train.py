"""LEAKY ON PURPOSE: the scikit-learn example with the scaler fitted before the split.

    rigor gate leakage .        # exit 4: DATA-LEAKAGE, critical

This is ../sklearn/train.py with one mistake: StandardScaler is fitted on
every row, test folds included, before cross-validation splits the data.
Each training fold then sees the test rows' means and variances. With this
data set the numbers barely move, which is exactly why the mistake survives
review; on small or shifted data it inflates the scores. The fix is the one
../sklearn/train.py makes: put the scaler inside a Pipeline, so each fold
fits it on its own training rows.

Outputs, in $RIGOR_OUT (or --out):
  predictions.csv    one row per patient: patient_id,fold,y_true,p
  raw_metrics.jsonl  one JSON object per fold: sizes, brier, log_loss, roc_auc, accuracy

The seed is the row config's seed.value; it seeds numpy and is passed as
random_state to the splitter and the model, so a fixed seed gives the same
bytes on every run.
"""

import argparse
import csv
import json
import os
import sys

import numpy as np
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, brier_score_loss, log_loss, roc_auc_score
from sklearn.model_selection import StratifiedGroupKFold
from sklearn.preprocessing import StandardScaler

LABEL = "malignant"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", required=True, help="row config (JSON)")
    parser.add_argument("--out", help="output directory (default: $RIGOR_OUT)")
    args = parser.parse_args(argv)
    with open(args.config, encoding="utf-8") as f:
        config = json.load(f)
    seed = config["seed"]["value"]
    env_seed = os.environ.get("RIGOR_SEED")
    if env_seed is not None and env_seed != str(seed):
        parser.error(f"RIGOR_SEED={env_seed} but {args.config} says seed {seed}")
    out = args.out or os.environ.get("RIGOR_OUT")
    if not out:
        parser.error("no output directory: run under rigor run, or pass --out DIR")

    # Seeding: numpy's global generator for anything that falls back to it,
    # and an explicit random_state everywhere below. PYTHONHASHSEED must be
    # set before Python starts; rigor run sets it.
    hash_seed = os.environ.get("PYTHONHASHSEED")
    if hash_seed != str(seed):
        print(f"warning: PYTHONHASHSEED is {hash_seed!r}, not {seed}", file=sys.stderr)
    np.random.seed(seed)

    features = config["features"]["baseline"] + config["features"]["candidate_additions"]
    unit = config["evaluation"]["unit"]
    ids, x, y = load(config["data"]["path"], unit, features)
    predictions, folds = evaluate(ids, x, y, config["model"], config["evaluation"]["folds"], seed)
    write_outputs(out, predictions, folds)
    print(
        f"{len(predictions)} patients, {len(folds)} folds; brier per fold: "
        + " ".join(f"{m['brier']:.4f}" for m in folds)
    )
    return 0


def evaluate(ids, x, y, model_config, n_folds, seed):
    """Cross-validate by patient; return per-patient predictions and per-fold metrics."""
    x = StandardScaler().fit_transform(x)  # LEAK: fitted on all rows, test folds included
    cv = StratifiedGroupKFold(n_splits=n_folds, shuffle=True, random_state=seed)
    predictions, fold_metrics = [], []
    for fold, (train, test) in enumerate(cv.split(x, y, groups=ids)):
        assert not set(ids[train]) & set(ids[test]), "a patient is on both sides of the split"
        model = make_model(model_config, seed)
        model.fit(x[train], y[train])
        p = model.predict_proba(x[test])[:, 1]

        # One prediction per patient: the mean over the patient's rows.
        per_patient = {}
        for pid, yi, pi in zip(ids[test], y[test], p):
            per_patient.setdefault(pid, (int(yi), []))[1].append(float(pi))
        pids = sorted(per_patient)
        py = np.array([per_patient[k][0] for k in pids])
        pp = np.array([float(np.mean(per_patient[k][1])) for k in pids])
        predictions += [(k, fold, int(yi), float(pi)) for k, yi, pi in zip(pids, py, pp)]
        fold_metrics.append(
            {
                "fold": fold,
                "n_train_entities": len(set(ids[train])),
                "n_test_entities": len(pids),
                "n_train_rows": int(len(train)),
                "n_test_rows": int(len(test)),
                "brier": float(brier_score_loss(py, pp)),
                "log_loss": float(log_loss(py, pp, labels=[0, 1])),
                "roc_auc": float(roc_auc_score(py, pp)),
                "accuracy": float(accuracy_score(py, pp >= 0.5)),
            }
        )
    predictions.sort()
    return predictions, fold_metrics


def make_model(model_config, seed):
    """The classifier named by the config (the data was scaled beforehand)."""
    name = model_config["name"]
    hp = dict(model_config.get("hyperparameters", {}))
    if name == "logistic_regression":
        clf = LogisticRegression(random_state=seed, **hp)
    elif name == "random_forest":
        clf = RandomForestClassifier(random_state=seed, n_jobs=1, **hp)
    else:
        raise SystemExit(f"unknown model {name!r}: logistic_regression or random_forest")
    return clf


def load(path, unit, features):
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    ids = np.array([r[unit] for r in rows])
    x = np.array([[float(r[c]) for c in features] for r in rows])
    y = np.array([int(r[LABEL]) for r in rows])
    return ids, x, y


def write_outputs(out, predictions, fold_metrics):
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "predictions.csv"), "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["patient_id", "fold", "y_true", "p"])
        for pid, fold, yi, p in predictions:
            w.writerow([pid, fold, yi, f"{p:.12f}"])
    with open(os.path.join(out, "raw_metrics.jsonl"), "w", encoding="utf-8") as f:
        for m in fold_metrics:
            f.write(json.dumps(m, sort_keys=True) + "\n")


if __name__ == "__main__":
    sys.exit(main())
