"""micrograd: one Python object per scalar, so only the scalar-sized workloads run on it.

Its recursive topological sort stops at Python's recursion limit; the deep chains show that.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from micrograd.engine import Value

from benchmarks.workloads import Chain, Regression

TRACED = True
MAX_SCALARS = 5_000  # larger datasets would take minutes as one object per number


def linear_regression(data: Regression) -> Callable[[list[np.ndarray]], list[np.ndarray]]:
    if data.X.size > MAX_SCALARS:
        raise NotImplementedError(
            f"micrograd: {data.X.size} scalars is too many for one object each"
        )
    w = [Value(float(v)) for v in data.params[0][:, 0]]
    b = Value(float(data.params[1][0]))

    def train(batches: list[np.ndarray]) -> list[np.ndarray]:
        for idx in batches:
            residuals = [
                sum((wj * float(xj) for wj, xj in zip(w, data.X[i])), b) - float(data.y[i, 0])
                for i in idx
            ]
            squares = [r * r for r in residuals]
            loss = sum(squares, Value(0.0)) * (0.5 if data.loss == "half_sum" else 1 / len(idx))
            for p in (*w, b):
                p.grad = 0.0
            loss.backward()
            for p in (*w, b):
                p.data -= data.step_size * p.grad
        return [np.array([[p.data] for p in w]), np.array([b.data])]

    return train


def chain(data: Chain) -> Callable[[], tuple[object, list[np.ndarray]]]:
    if data.x0.size != 1:
        raise NotImplementedError("micrograd: scalars only")

    def run() -> tuple[object, list[np.ndarray]]:
        x0 = Value(float(data.x0[0]))
        x = x0
        for _ in range(data.repeats):
            x = x * data.scale + data.shift
        x.backward()
        return x, [np.array([x.data]), np.array([x0.grad])]

    return run
