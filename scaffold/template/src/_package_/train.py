"""Run one experiment-matrix row: entity-grouped cross-validation.

    rigor run --config configs/experiment.example.json -- \\
        python3 train.py --config configs/experiment.example.json

The row config (configs/experiment.schema.json) says everything the run
depends on: seed, data file, features, model settings and evaluation. The
run writes to ``$RIGOR_OUT`` (or ``--out``):

- ``predictions.csv``: one row per entity, predicted while it was held out;
- ``raw_metrics.jsonl``: one JSON object per fold, unaggregated.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import random
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .experiment_contracts import (
    BrierScore,
    check_entities_disjoint,
    fit_train_transform_test,
)
from .model import LogisticRegression, Standardizer
from .reproducibility import check_seed, set_global_seed

LABEL_COLUMN = "label"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", required=True, help="row config (JSON)")
    parser.add_argument("--out", help="output directory (default: $RIGOR_OUT)")
    args = parser.parse_args(argv)

    config = json.loads(Path(args.config).read_text(encoding="utf-8"))
    seed = check_seed(config["seed"]["value"])
    env_seed = os.environ.get("RIGOR_SEED")
    if env_seed is not None and env_seed != str(seed):
        parser.error(f"RIGOR_SEED={env_seed} but the config's seed is {seed}")
    out = args.out or os.environ.get("RIGOR_OUT")
    if not out:
        parser.error("no output directory: run under rigor run, or pass --out DIR")
    report = set_global_seed(seed)
    print(report.summary(), file=sys.stderr)

    rows = load_rows(config["data"]["path"])
    evaluation = config["evaluation"]
    wanted = config["features"]
    features = wanted["baseline"] + wanted["candidate_additions"]
    folds = entity_folds(rows, evaluation["unit"], evaluation["folds"])
    predictions, fold_metrics = cross_validate_rows(
        rows, folds, features, evaluation["unit"], config["model"]
    )
    write_outputs(Path(out), predictions, fold_metrics)
    brier = [m["brier"] for m in fold_metrics]
    print(f"{len(folds)} folds, brier per fold: " + " ".join(f"{b:.4f}" for b in brier))
    return 0


def entity_folds(rows: list[dict[str, str]], unit: str, k: int) -> list[list[str]]:
    """Deal entities into k folds, stratified by label, in a seeded order.

    Every row of an entity lands in the same fold. The entity's label is
    its first row's label.
    """
    label_of: dict[str, str] = {}
    for row in rows:
        label_of.setdefault(row[unit], row[LABEL_COLUMN])
    entities = sorted(label_of)
    if len(entities) < k:
        raise ValueError(f"{len(entities)} entities cannot fill {k} folds")
    random.shuffle(entities)
    folds: list[list[str]] = [[] for _ in range(k)]
    dealt = 0
    for label in sorted(set(label_of.values())):
        for entity in entities:
            if label_of[entity] == label:
                folds[dealt % k].append(entity)
                dealt += 1
    return [sorted(f) for f in folds]


def cross_validate_rows(
    rows: list[dict[str, str]],
    folds: list[list[str]],
    features: list[str],
    unit: str,
    model_config: dict[str, Any],
) -> tuple[list[tuple[str, int, int, float]], list[dict[str, Any]]]:
    """Train on all folds but one, predict the held-out one, for each fold.

    Returns per-entity predictions ``(entity, fold, label, p)`` and one
    metrics dict per fold.
    """
    brier = BrierScore()
    predictions = []
    fold_metrics = []
    for i, held_out in enumerate(folds):
        test_ids = set(held_out)
        train = [r for r in rows if r[unit] not in test_ids]
        test = [r for r in rows if r[unit] in test_ids]
        check_entities_disjoint((r[unit] for r in train), (r[unit] for r in test))
        x_train, x_test = fit_train_transform_test(
            Standardizer(), matrix(train, features), matrix(test, features)
        )
        model = LogisticRegression(**model_config.get("hyperparameters", {}))
        model.fit(x_train, [int(r[LABEL_COLUMN]) for r in train])
        row_p = model.predict_proba(x_test)
        per_entity: dict[str, list[float]] = {}
        for r, p in zip(test, row_p, strict=True):
            per_entity.setdefault(r[unit], []).append(p)
        label_of = {r[unit]: int(r[LABEL_COLUMN]) for r in test}
        ids = sorted(per_entity)
        y = [label_of[e] for e in ids]
        p = [math.fsum(per_entity[e]) / len(per_entity[e]) for e in ids]
        predictions += [(e, i, yi, pi) for e, yi, pi in zip(ids, y, p, strict=True)]
        fold_metrics.append(
            {
                "fold": i,
                "n_train_entities": len({r[unit] for r in train}),
                "n_test_entities": len(ids),
                "n_test_rows": len(test),
                brier.name: brier(y, p),
                "accuracy": sum(int(pi >= 0.5) == yi for yi, pi in zip(y, p)) / len(y),
            }
        )
    predictions.sort()
    return predictions, fold_metrics


def load_rows(path: str) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def matrix(rows: list[dict[str, str]], features: list[str]) -> list[list[float]]:
    return [[float(r[name]) for name in features] for r in rows]


def write_outputs(
    out: Path,
    predictions: list[tuple[str, int, int, float]],
    fold_metrics: list[dict[str, Any]],
) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "predictions.csv", "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(["entity_id", "fold", "y_true", "p"])
        for entity, fold, y, p in predictions:
            writer.writerow([entity, fold, y, f"{p:.12f}"])
    with open(out / "raw_metrics.jsonl", "w", encoding="utf-8") as f:
        for m in fold_metrics:
            f.write(json.dumps(m, sort_keys=True) + "\n")


if __name__ == "__main__":
    raise SystemExit(main())
