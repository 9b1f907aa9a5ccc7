"""A small baseline written with the standard library only.

``Standardizer`` is a ``Transformer`` and ``LogisticRegression`` a
``ProbabilisticModel`` (see experiment_contracts). Replace them with your
own models; keep the interfaces.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

Rows = Sequence[Sequence[float]]


class Standardizer:
    """Centre each column on its training mean and divide by its spread."""

    def __init__(self) -> None:
        self.means: list[float] = []
        self.scales: list[float] = []

    def fit(self, x: Rows) -> Standardizer:
        if not x:
            raise ValueError("cannot fit on no rows")
        n = len(x)
        columns = list(zip(*x, strict=True))
        self.means = [math.fsum(c) / n for c in columns]
        self.scales = []
        for c, m in zip(columns, self.means, strict=True):
            sd = math.sqrt(math.fsum((v - m) ** 2 for v in c) / n)
            self.scales.append(sd if sd > 0 else 1.0)
        return self

    def transform(self, x: Rows) -> list[list[float]]:
        if not self.means:
            raise ValueError("transform before fit")
        return [
            [(v - m) / s for v, m, s in zip(row, self.means, self.scales, strict=True)]
            for row in x
        ]


class LogisticRegression:
    """L2-regularised logistic regression fitted by full-batch gradient descent.

    Starting from zero weights with a fixed step and a fixed number of steps,
    it is deterministic: the same data gives the same model, bit for bit.
    """

    def __init__(self, l2: float = 0.01, step: float = 0.5, steps: int = 300):
        self.l2, self.step, self.steps = l2, step, steps
        self.weights: list[float] = []
        self.bias = 0.0

    def fit(self, x: Rows, y: Sequence[int]) -> LogisticRegression:
        if not x or len(x) != len(y):
            raise ValueError("fit needs as many labels as rows, and at least one")
        n, d = len(x), len(x[0])
        w, b = [0.0] * d, 0.0
        for _ in range(self.steps):
            grad_w, grad_b = [0.0] * d, 0.0
            for row, label in zip(x, y, strict=True):
                err = _sigmoid(b + math.fsum(wi * v for wi, v in zip(w, row))) - label
                grad_b += err
                for j, v in enumerate(row):
                    grad_w[j] += err * v
            w = [wi - self.step * (g / n + self.l2 * wi) for wi, g in zip(w, grad_w)]
            b -= self.step * grad_b / n
        self.weights, self.bias = w, b
        return self

    def predict_proba(self, x: Rows) -> list[float]:
        if not self.weights:
            raise ValueError("predict_proba before fit")
        return [
            _sigmoid(self.bias + math.fsum(wi * v for wi, v in zip(self.weights, row)))
            for row in x
        ]


def _sigmoid(z: float) -> float:
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)
