"""Hand-written NumPy with manual gradients: the speed limit for an engine built on NumPy.

Every implementation module offers the same three functions:
- `linear_regression(data)` and `mlp(data)` return `train(batches) -> final parameters`,
  which keeps its parameters between calls;
- `chain(data)` returns `run() -> (output object, [x_final, dx0])`.
Set-up (wrapping arrays, creating parameters) happens outside the timed call.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from benchmarks.workloads import Chain, Regression

TRACED = True  # tracemalloc sees this implementation's memory


def _dloss_dpred(residual: np.ndarray, loss: str) -> np.ndarray:
    """d sum(r**2 / 2)/dr = r;  d mean(r**2)/dr = 2 r / r.size."""
    return residual if loss == "half_sum" else residual * (2.0 / residual.size)


def linear_regression(data: Regression) -> Callable[[list[np.ndarray]], list[np.ndarray]]:
    w, b = (p.copy() for p in data.params)
    x, y, lr = data.X, data.y, data.step_size

    def train(batches: list[np.ndarray]) -> list[np.ndarray]:
        for idx in batches:
            xb, yb = x[idx], y[idx]
            g = _dloss_dpred(xb @ w + b - yb, data.loss)
            w[...] -= lr * (xb.T @ g)
            b[...] -= lr * g.sum(axis=0)
        return [w, b]

    return train


def mlp(data: Regression) -> Callable[[list[np.ndarray]], list[np.ndarray]]:
    w1, b1, w2, b2 = (p.copy() for p in data.params)
    x, y, lr = data.X, data.y, data.step_size

    def train(batches: list[np.ndarray]) -> list[np.ndarray]:
        for idx in batches:
            xb, yb = x[idx], y[idx]
            h = np.tanh(xb @ w1 + b1)
            g = _dloss_dpred(h @ w2 + b2 - yb, data.loss)
            gh = (g @ w2.T) * (1.0 - h * h)  # tanh' = 1 - tanh**2
            w2[...] -= lr * (h.T @ g)
            b2[...] -= lr * g.sum(axis=0)
            w1[...] -= lr * (xb.T @ gh)
            b1[...] -= lr * gh.sum(axis=0)
        return [w1, b1, w2, b2]

    return train


def chain(data: Chain) -> Callable[[], tuple[object, list[np.ndarray]]]:
    x0 = data.x0.copy()

    def run() -> tuple[object, list[np.ndarray]]:
        x = x0
        for _ in range(data.repeats):
            x = x * data.scale + data.shift
        g = np.ones_like(x)
        for _ in range(data.repeats):  # the add passes g through, the mul scales it
            g = g * data.scale
        return x, [x, g]

    return run
