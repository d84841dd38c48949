"""tinygrad_lr with `tl.compile`: the step of impl_tinygrad_lr.py, compiled.

The timed calls are replays, as for a compiled step in a long training run: the step is
compiled in set-up (recorded twice on the first batches, then the parameters are set back to
their initial values), and the training loop calls it once per batch. What compiling costs is
reported beside the time (`extra()`, measured in set-up on copies of the parameters): the
first call, recording + code generation (the calls before the first replay), and 20 eager
steps to compare them with. The chains are one call each, compiled the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from time import perf_counter

import numpy as np

import tinygrad_lr as tl
from benchmarks.impl_tinygrad_lr import _loss, linear, two_layers
from benchmarks.workloads import Chain, Regression

TRACED = True
_extra: dict[str, float] = {}


def extra() -> dict[str, float]:
    return dict(_extra)


def _make_step(
    data: Regression, forward: Callable[..., tl.Tensor], params: list[tl.Tensor]
) -> Callable[[tl.Tensor, tl.Tensor], None]:
    def step(xb: tl.Tensor, yb: tl.Tensor) -> None:
        _loss(forward(xb, *params), yb, data.loss).backward()
        with tl.no_grad():
            for p in params:
                p.sub_(data.step_size * p.grad)
                p.grad.zero_()

    return step


def _batch(data: Regression, idx: np.ndarray) -> tuple[tl.Tensor, tl.Tensor]:
    return tl.from_numpy(data.X[idx]), tl.from_numpy(data.y[idx])


def _costs(data: Regression, forward: Callable[..., tl.Tensor]) -> None:
    """First call, recording + codegen, and 20 eager steps, on copies of the parameters."""
    batches = [_batch(data, idx) for idx in data.batches[:20]]
    eager = _make_step(data, forward, [tl.tensor(p, requires_grad=True) for p in data.params])
    compiled = tl.compile(_make_step(data, forward, [tl.tensor(p, requires_grad=True)
                                                      for p in data.params]))  # fmt: skip
    start = perf_counter()
    compiled(*batches[0])
    first = perf_counter()
    compiled(*batches[1 % len(batches)])
    compiled(*batches[2 % len(batches)])  # a third record only if the first two differ
    recorded = perf_counter()
    assert compiled.code is not None, "the step was not compiled"
    eager(*batches[0])  # warm
    eager_start = perf_counter()
    for xb, yb in batches:
        eager(xb, yb)
    eager_end = perf_counter()
    _extra.update(first_call_ms=1e3 * (first - start), record_ms=1e3 * (recorded - start),
                  eager20_ms=1e3 * (eager_end - eager_start) * 20 / len(batches))  # fmt: skip


def _trainer(
    data: Regression, forward: Callable[..., tl.Tensor]
) -> Callable[[list[np.ndarray]], list[np.ndarray]]:
    _costs(data, forward)
    params = [tl.tensor(p, requires_grad=True) for p in data.params]
    step = tl.compile(_make_step(data, forward, params))
    for idx in data.batches[:3]:  # two records, and a third only if they differ
        step(*_batch(data, idx))
    assert step.code is not None, "the step was not compiled"
    with tl.no_grad():
        for param, initial in zip(params, data.params):
            param.copy_(tl.from_numpy(initial))

    def train(batches: list[np.ndarray]) -> list[np.ndarray]:
        for idx in batches:
            step(*_batch(data, idx))
        return [p.detach().numpy() for p in params]

    return train


def linear_regression(data: Regression) -> Callable[[list[np.ndarray]], list[np.ndarray]]:
    return _trainer(data, linear)


def mlp(data: Regression) -> Callable[[list[np.ndarray]], list[np.ndarray]]:
    return _trainer(data, two_layers)


def chain(data: Chain) -> Callable[[], tuple[object, list[np.ndarray]]]:
    x0 = tl.tensor(data.x0, requires_grad=True)

    @tl.compile
    def forward_backward() -> tl.Tensor:
        x0.grad = None  # each run starts afresh, as the eager chain does
        x = x0
        for _ in range(data.repeats):
            x = x * data.scale + data.shift
        x.sum().backward()
        return x

    start = perf_counter()
    forward_backward()
    first = perf_counter()
    forward_backward()
    _extra.update(first_call_ms=1e3 * (first - start), record_ms=1e3 * (perf_counter() - start))
    assert forward_backward.code is not None, "the chain was not compiled"

    def run() -> tuple[object, list[np.ndarray]]:
        x = forward_backward()
        assert x0.grad is not None
        return x, [x.detach().numpy(), x0.grad.numpy()]

    return run
