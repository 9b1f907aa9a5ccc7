"""The interfaces an experiment's parts agree on, and helpers that enforce them.

Data, model and metric code meet only through these protocols, so each part
can be tested alone. Two helpers guard the classic mistakes:
``fit_train_transform_test`` fits preprocessing on the training rows only,
and ``check_entities_disjoint`` refuses a split that puts one entity (a
patient, a site, a user) on both sides.

Everything here works on plain Python sequences and on numpy arrays.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable


@runtime_checkable
class Transformer(Protocol):
    """Preprocessing with state learned from data (scaling, encoding, ...)."""

    def fit(self, x: Any) -> Any: ...

    def transform(self, x: Any) -> Any: ...


@runtime_checkable
class DatasetLoader(Protocol):
    """Loads one dataset."""

    def load(self) -> tuple[Any, Any, Sequence[str]]:
        """Return ``(x, y, entity_ids)``: one entity id per row of ``x``."""
        ...


@runtime_checkable
class ProbabilisticModel(Protocol):
    """A binary classifier that reports probabilities."""

    def fit(self, x: Any, y: Any) -> Any: ...

    def predict_proba(self, x: Any) -> Sequence[float]:
        """Return P(y = 1) for each row of ``x``."""
        ...


@runtime_checkable
class Metric(Protocol):
    """A named score of predictions against the truth."""

    name: str
    metadata: Mapping[str, Any]

    def __call__(self, y_true: Any, p: Any) -> float: ...


def fit_train_transform_test(
    transformer: Transformer, x_train: Any, x_test: Any
) -> tuple[Any, Any]:
    """Fit ``transformer`` on ``x_train`` only, then transform both sets.

    Fitting on anything that includes test rows leaks the test distribution
    into training. Raises ValueError if either output holds NaN or infinity.
    """
    transformer.fit(x_train)
    train_out = transformer.transform(x_train)
    test_out = transformer.transform(x_test)
    _require_finite(train_out, "transformed training data")
    _require_finite(test_out, "transformed test data")
    return train_out, test_out


def check_entities_disjoint(
    train_ids: Iterable[str], test_ids: Iterable[str]
) -> None:
    """Raise ValueError if any entity id is on both sides of a split."""
    shared = sorted(set(train_ids) & set(test_ids))
    if shared:
        sample = ", ".join(map(str, shared[:5]))
        raise ValueError(
            f"{len(shared)} entities are in both train and test ({sample}); "
            "split by entity, not by row"
        )


def brier_score(y_true: Any, p: Any) -> float:
    """Mean squared difference between outcomes (0 or 1) and probabilities.

    Strict: both inputs must be non-empty 1-D sequences of the same length,
    without NaN or infinity; ``y_true`` holds only 0 and 1 and ``p`` lies in
    [0, 1]. Anything else raises ValueError. 0 is perfect, 1 the worst.
    """
    ys = _vector(y_true, "y_true")
    ps = _vector(p, "p")
    if len(ys) != len(ps):
        raise ValueError(f"y_true has {len(ys)} values but p has {len(ps)}")
    if not ys:
        raise ValueError("brier_score of no predictions")
    for y in ys:
        if y not in (0, 1):
            raise ValueError(f"y_true must be 0 or 1, got {y!r}")
    for v in ps:
        if not 0 <= v <= 1:
            raise ValueError(f"p must lie in [0, 1], got {v!r}")
    return math.fsum((y - v) ** 2 for y, v in zip(ys, ps, strict=True)) / len(ys)


@dataclass(frozen=True)
class BrierScore:
    """``brier_score`` as a ``Metric``."""

    name: str = "brier"
    metadata: Mapping[str, Any] = field(
        default_factory=lambda: {"higher_is_better": False, "range": [0, 1]}
    )

    def __call__(self, y_true: Any, p: Any) -> float:
        return brier_score(y_true, p)


def _vector(values: Any, what: str) -> list[float]:
    """Return ``values`` as a list of finite numbers, or raise ValueError."""
    if hasattr(values, "tolist"):  # numpy arrays
        values = values.tolist()
    if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
        raise ValueError(f"{what} must be a 1-D sequence of numbers")
    out = []
    for v in values:
        if isinstance(v, bool):
            v = int(v)
        if not isinstance(v, (int, float)):
            raise ValueError(f"{what} must be a 1-D sequence of numbers, found {v!r}")
        if not math.isfinite(v):
            raise ValueError(f"{what} holds {v!r}")
        out.append(v)
    return out


def _require_finite(values: Any, what: str) -> None:
    """Raise ValueError if ``values`` (nested sequences) holds NaN or infinity."""
    if hasattr(values, "tolist"):
        values = values.tolist()
    stack = [values]
    while stack:
        v = stack.pop()
        if isinstance(v, (int, float)):
            if not math.isfinite(v):
                raise ValueError(f"{what} holds {v!r}")
        elif isinstance(v, Iterable) and not isinstance(v, (str, bytes)):
            stack.extend(v)
