"""The cost floor of an engine with one Python object per op, measured on the overhead chain.

`python -m benchmarks.floor` times `x = x * 1.0001 + 0.0001` (500 repeats, forward and
backward) on three engines in one process, interleaved so that background load hits them
alike: the bare engine below, tinygrad_lr and, when installed, PyTorch. The bare engine
records each op as one object and runs its backward on arrays, and has nothing else: no
checks, no version counters, no hooks, no error messages. No engine written in Python the
same way can be cheaper per op, so its ratio to PyTorch bounds what tinygrad_lr can reach.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np

REPEATS, ROUNDS = 500, 200


class _Node:
    """An op and its inputs: `backward(g)` gives one gradient per input."""

    def __init__(self, inputs: tuple[_Value, ...], backward: Callable[[Any], tuple[Any, ...]]):
        self.inputs, self.backward = inputs, backward


class _Value:
    """An array, and the node that made it (None for a leaf)."""

    def __init__(self, data: np.ndarray, node: _Node | None = None) -> None:
        self.data, self.node, self.grad = data, node, None

    def __mul__(self, k: float) -> _Value:
        return _Value(self.data * k, _Node((self,), lambda g: (g * k,)))

    def __add__(self, c: float) -> _Value:
        return _Value(self.data + c, _Node((self,), lambda g: (g,)))


def _backward(out: _Value) -> None:
    """Reverse topological order by an explicit stack, then the chain rule node by node."""
    order, seen, stack = [], set(), [(out, False)]
    while stack:
        value, done = stack.pop()
        if done:
            order.append(value)
        elif id(value) not in seen:
            seen.add(id(value))
            stack.append((value, True))
            if value.node is not None:
                stack.extend((v, False) for v in value.node.inputs)
    grads = {id(out): np.ones_like(out.data)}
    for value in reversed(order):
        g = grads.pop(id(value))
        if value.node is None:
            value.grad = g
            continue
        for child, child_grad in zip(value.node.inputs, value.node.backward(g)):
            grads[id(child)] = grads[id(child)] + child_grad if id(child) in grads else child_grad


def chain_bare() -> np.ndarray:
    """The chain on the bare engine; returns d x_final / d x0 (1.0001 ** REPEATS)."""
    x0 = x = _Value(np.ones(1))
    for _ in range(REPEATS):
        x = x * 1.0001 + 0.0001
    _backward(x)
    assert x0.grad is not None
    return x0.grad


def _chain_with(library: Any) -> Callable[[], Any]:
    def run() -> Any:
        x0 = x = library.tensor(np.ones(1), requires_grad=True)
        for _ in range(REPEATS):
            x = x * 1.0001 + 0.0001
        x.sum().backward()
        assert x0.grad is not None
        return x0.grad

    return run


def main(rounds: int = ROUNDS) -> None:
    import tinygrad_lr

    engines: dict[str, Callable[[], Any]] = {
        "bare engine": chain_bare,
        "tinygrad_lr": _chain_with(tinygrad_lr),
    }
    try:
        import torch

        torch.set_num_threads(1)
        engines["pytorch"] = _chain_with(torch)
    except ImportError:
        pass
    times: dict[str, list[float]] = {name: [] for name in engines}
    for _ in range(rounds):
        for name, run in engines.items():
            start = time.perf_counter()
            run()
            times[name].append((time.perf_counter() - start) / (2 * REPEATS) * 1e6)
    medians = {name: statistics.median(values) for name, values in times.items()}
    for name, us in medians.items():
        versus = f"  {us / medians['pytorch']:.2f}x pytorch" if "pytorch" in medians else ""
        print(f"{name:12s} {us:6.2f} us/op{versus}")


if __name__ == "__main__":
    main()
