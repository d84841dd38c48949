"""MyGrad: NumPy-backed tensors; `backward()` fills `.grad` with a plain ndarray."""

from __future__ import annotations

from collections.abc import Callable

import mygrad as mg
import numpy as np

from benchmarks.workloads import Chain, Regression

TRACED = True


def _loss(pred: mg.Tensor, y: np.ndarray, loss: str) -> mg.Tensor:
    r = pred - y
    return (r**2 / 2).sum() if loss == "half_sum" else (r**2).mean()


def _trainer(
    data: Regression, forward: Callable[..., mg.Tensor]
) -> Callable[[list[np.ndarray]], list[np.ndarray]]:
    params = [mg.Tensor(p.copy()) for p in data.params]

    def train(batches: list[np.ndarray]) -> list[np.ndarray]:
        for idx in batches:
            _loss(forward(data.X[idx], *params), data.y[idx], data.loss).backward()
            for p in params:
                assert p.grad is not None
                p.data -= data.step_size * p.grad
        return [p.data for p in params]

    return train


def linear_regression(data: Regression) -> Callable[[list[np.ndarray]], list[np.ndarray]]:
    return _trainer(data, lambda x, w, b: x @ w + b)


def mlp(data: Regression) -> Callable[[list[np.ndarray]], list[np.ndarray]]:
    return _trainer(data, lambda x, w1, b1, w2, b2: mg.tanh(x @ w1 + b1) @ w2 + b2)


def chain(data: Chain) -> Callable[[], tuple[object, list[np.ndarray]]]:
    x0 = mg.Tensor(data.x0.copy())

    def run() -> tuple[object, list[np.ndarray]]:
        x = x0
        for _ in range(data.repeats):
            x = x * data.scale + data.shift
        x.sum().backward()
        return x, [np.array(x.data), np.array(x0.grad)]

    return run
