"""tinygrad_lr with `tl.compile` around a whole epoch: one call runs every batch.

The step is impl_compiled.py's; the compiled function loops over the batches, given as one
tensor of indices, and indexes the data itself, so the check before a call, the tensors
around each batch and the call itself are paid once per epoch instead of once per batch.
tl.compile records the loop unrolled, one copy of the step's lines per batch, and writes the
copies back as one loop. Set-up times one eager epoch, then records the compiled one twice and
runs it WARM_CALLS times, and sets the parameters back: the timed call follows calls of the
same epoch, as in a long training run. What recording costs is reported beside the time, in
calls of the eager epoch. The chains are one call already (see impl_compiled.py), and
recording the memory workload's 10,000 steps would take too long.
"""

from __future__ import annotations

from collections.abc import Callable
from time import perf_counter

import numpy as np

import tinygrad_lr as tl
from benchmarks.impl_compiled import _make_step
from benchmarks.impl_tinygrad_lr import linear, two_layers
from benchmarks.workloads import Chain, Regression

TRACED = True
MAX_BATCHES = 1000  # steps recorded into one program at most
# Python specialises a function's bytecode once it has run a few times, and a long training
# run calls the epoch many times: the timed call is one of those, made after these.
WARM_CALLS = 8
_extra: dict[str, float] = {}


def extra() -> dict[str, float]:
    return dict(_extra)


def _epoch(data: Regression, forward: Callable[..., tl.Tensor], params: list[tl.Tensor]):  # type: ignore[no-untyped-def]
    step = _make_step(data, forward, params)
    x, y = tl.from_numpy(data.X), tl.from_numpy(data.y)

    def epoch(order: tl.Tensor) -> None:
        for k in range(order.shape[0]):
            batch = order[k]
            step(x[batch], y[batch])

    return epoch


def _trainer(
    data: Regression, forward: Callable[..., tl.Tensor]
) -> Callable[[list[np.ndarray]], list[np.ndarray]]:
    if len(data.batches) > MAX_BATCHES:
        raise NotImplementedError(f"an epoch of {len(data.batches)} steps is too long to record")
    order = tl.from_numpy(np.array(data.batches))
    params = [tl.tensor(p, requires_grad=True) for p in data.params]
    eager = _epoch(data, forward, [tl.tensor(p, requires_grad=True) for p in data.params])
    eager(order)  # warm, then timed: before the compiled epoch, whose calls follow each other
    eager_start = perf_counter()
    eager(order)
    eager_end = perf_counter()
    compiled = tl.compile(_epoch(data, forward, params))
    start = perf_counter()
    compiled(order)
    first = perf_counter()
    compiled(order)
    compiled(order)  # a third record only if the first two differ
    recorded = perf_counter()
    assert compiled.code is not None, "the epoch was not compiled"
    for _ in range(WARM_CALLS):
        compiled(order)
    _extra.update(first_call_ms=1e3 * (first - start), record_ms=1e3 * (recorded - start),
                  eager_call_ms=1e3 * (eager_end - eager_start))  # fmt: skip
    with tl.no_grad():
        for param, initial in zip(params, data.params):
            param.copy_(tl.from_numpy(initial))

    def train(batches: list[np.ndarray]) -> list[np.ndarray]:
        # the batches as one tensor of indices, made in the timed call as the other
        # implementations make theirs (np.array takes 28 us for 300 batches, np.stack 87)
        compiled(tl.from_numpy(np.array(batches)))
        return [p.detach().numpy() for p in params]

    return train


def linear_regression(data: Regression) -> Callable[[list[np.ndarray]], list[np.ndarray]]:
    return _trainer(data, linear)


def mlp(data: Regression) -> Callable[[list[np.ndarray]], list[np.ndarray]]:
    return _trainer(data, two_layers)


def chain(data: Chain) -> Callable[[], tuple[object, list[np.ndarray]]]:
    raise NotImplementedError("a chain is one compiled call already: see the compiled rows")
