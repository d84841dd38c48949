"""HIPS autograd: differentiate a plain function of the parameters with `autograd.grad`."""

from __future__ import annotations

from collections.abc import Callable

import autograd.numpy as anp
import numpy as np
from autograd import grad, value_and_grad

from benchmarks.workloads import Chain, Regression

TRACED = True


def _trainer(
    data: Regression, forward: Callable[..., np.ndarray]
) -> Callable[[list[np.ndarray]], list[np.ndarray]]:
    params = [p.copy() for p in data.params]

    def loss(params: list[np.ndarray], x: np.ndarray, y: np.ndarray) -> np.ndarray:
        r = forward(x, *params) - y
        return anp.sum(r**2 / 2) if data.loss == "half_sum" else anp.mean(r**2)

    loss_grad = grad(loss)

    def train(batches: list[np.ndarray]) -> list[np.ndarray]:
        for idx in batches:
            for p, g in zip(params, loss_grad(params, data.X[idx], data.y[idx])):
                p -= data.step_size * g
        return params

    return train


def linear_regression(data: Regression) -> Callable[[list[np.ndarray]], list[np.ndarray]]:
    return _trainer(data, lambda x, w, b: anp.dot(x, w) + b)


def mlp(data: Regression) -> Callable[[list[np.ndarray]], list[np.ndarray]]:
    return _trainer(data, lambda x, w1, b1, w2, b2: anp.dot(anp.tanh(anp.dot(x, w1) + b1), w2) + b2)


def chain(data: Chain) -> Callable[[], tuple[object, list[np.ndarray]]]:
    def forward(x: np.ndarray) -> np.ndarray:
        for _ in range(data.repeats):
            x = x * data.scale + data.shift
        return x

    def total(x: np.ndarray) -> np.ndarray:
        out = forward(x)
        outputs.append(out)
        return anp.sum(out)

    outputs: list[np.ndarray] = []
    total_grad = value_and_grad(total)

    def run() -> tuple[object, list[np.ndarray]]:
        outputs.clear()
        _, g = total_grad(data.x0.copy())
        x = getattr(outputs[0], "_value", outputs[0])  # the traced output, unwrapped
        return x, [np.array(x), g]

    return run
