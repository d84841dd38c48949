"""PyTorch eager, as its tutorials teach: leaf tensors, loss.backward(), updates under no_grad."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from benchmarks.workloads import Chain, Regression

TRACED = False  # torch's allocator does not report to tracemalloc


def _loss(pred: torch.Tensor, y: torch.Tensor, loss: str) -> torch.Tensor:
    r = pred - y
    return (r**2 / 2).sum() if loss == "half_sum" else (r**2).mean()


def _trainer(
    data: Regression, forward: Callable[..., torch.Tensor]
) -> Callable[[list[np.ndarray]], list[np.ndarray]]:
    params = [torch.tensor(p, requires_grad=True) for p in data.params]

    def train(batches: list[np.ndarray]) -> list[np.ndarray]:
        for idx in batches:
            xb, yb = torch.from_numpy(data.X[idx]), torch.from_numpy(data.y[idx])
            _loss(forward(xb, *params), yb, data.loss).backward()
            with torch.no_grad():
                for p in params:
                    assert p.grad is not None
                    p.sub_(data.step_size * p.grad)
                    p.grad.zero_()
        return [p.detach().numpy() for p in params]

    return train


def linear_regression(data: Regression) -> Callable[[list[np.ndarray]], list[np.ndarray]]:
    return _trainer(data, lambda x, w, b: x @ w + b)


def mlp(data: Regression) -> Callable[[list[np.ndarray]], list[np.ndarray]]:
    return _trainer(data, lambda x, w1, b1, w2, b2: torch.tanh(x @ w1 + b1) @ w2 + b2)


def chain(data: Chain) -> Callable[[], tuple[object, list[np.ndarray]]]:
    x0 = torch.tensor(data.x0, requires_grad=True)

    def run() -> tuple[object, list[np.ndarray]]:
        x = x0
        for _ in range(data.repeats):
            x = x * data.scale + data.shift
        x.sum().backward()
        assert x0.grad is not None
        return x, [x.detach().numpy(), x0.grad.numpy()]

    return run
