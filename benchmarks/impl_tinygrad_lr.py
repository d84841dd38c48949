"""tinygrad_lr, written exactly like the PyTorch version (impl_torch.py) with `tl` for `torch`."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

import tinygrad_lr as tl
from benchmarks.workloads import Chain, Regression

TRACED = True


def _loss(pred: tl.Tensor, y: tl.Tensor, loss: str) -> tl.Tensor:
    r = pred - y
    return (r**2 / 2).sum() if loss == "half_sum" else (r**2).mean()


def linear(x: tl.Tensor, w: tl.Tensor, b: tl.Tensor) -> tl.Tensor:
    """x w + b: the linear regression workloads' model (also compiled, in impl_compiled*)."""
    return x @ w + b


def two_layers(x: tl.Tensor, *params: tl.Tensor) -> tl.Tensor:
    """tanh(x w1 + b1) w2 + b2: the mlp workload's model."""
    w1, b1, w2, b2 = params
    return tl.tanh(x @ w1 + b1) @ w2 + b2


def _trainer(
    data: Regression, forward: Callable[..., tl.Tensor]
) -> Callable[[list[np.ndarray]], list[np.ndarray]]:
    params = [tl.tensor(p, requires_grad=True) for p in data.params]

    def train(batches: list[np.ndarray]) -> list[np.ndarray]:
        for idx in batches:
            xb, yb = tl.from_numpy(data.X[idx]), tl.from_numpy(data.y[idx])
            _loss(forward(xb, *params), yb, data.loss).backward()
            with tl.no_grad():
                for p in params:
                    assert p.grad is not None
                    p.sub_(data.step_size * p.grad)
                    p.grad.zero_()
        return [p.detach().numpy() for p in params]

    return train


def linear_regression(data: Regression) -> Callable[[list[np.ndarray]], list[np.ndarray]]:
    return _trainer(data, linear)


def mlp(data: Regression) -> Callable[[list[np.ndarray]], list[np.ndarray]]:
    return _trainer(data, two_layers)


def chain(data: Chain) -> Callable[[], tuple[object, list[np.ndarray]]]:
    x0 = tl.tensor(data.x0, requires_grad=True)

    def run() -> tuple[object, list[np.ndarray]]:
        x = x0
        for _ in range(data.repeats):
            x = x * data.scale + data.shift
        x.sum().backward()
        assert x0.grad is not None
        return x, [x.detach().numpy(), x0.grad.numpy()]

    return run
