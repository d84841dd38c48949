"""Python values inside an optimiser's update, told to op observers so that a trace of the
ops (tl.compile's) can replay the update faithfully.

An update is written in Tensor in-place ops on tensors (parameters, gradients, state), which
observers see. What they cannot see are the Python values mixed in: hyper-parameters read from
the group (a scheduler changes `lr` between steps), numbers computed from the step count
(Adam's bias corrections), and the Python branches taken (is there weight decay? momentum?).
`live` and `hyper` make such a number a 0-d tensor and tell observers how to read it again;
`guard` tells them which value a branch depended on, so that a replay checks it first.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numpy as np

from ..autograd import graph
from ..tensor import Tensor

__all__ = ["count", "guard", "hyper", "live"]


def live(read: Callable[[], float], like: Tensor) -> Tensor:
    """The Python number `read()` as a 0-d tensor of `like`'s dtype.

    NumPy rounds a Python float next to an array to the array's dtype, and a 0-d array of that
    dtype is the same number, so `live(f, p) * g` equals `f() * g` bit for bit. Observers are
    told how to compute the value again (`on_live_value`): tl.compile calls `read()` at the
    same point of every later step."""
    value = Tensor._make(np.array(read(), dtype=like.dtype))
    for observer in graph._observers:
        on_live_value = getattr(observer, "on_live_value", None)
        if on_live_value is not None:
            on_live_value(value, read)
    return value


def hyper(
    group: dict[str, Any], key: str, like: Tensor, read: Callable[[Any], float] | None = None
) -> Tensor:
    """`group[key]` (or `read(group[key])`) as a live 0-d tensor of `like`'s dtype."""
    return live(functools.partial(_group_value, group, key, read), like)


def _group_value(group: dict[str, Any], key: str, read: Callable[[Any], float] | None) -> float:
    return group[key] if read is None else read(group[key])


def guard(read: Callable[[], Any]) -> Any:
    """`read()`, a Python value that decides which tensor operations run. Observers are told
    (`on_guard`): tl.compile checks that `read()` still gives the same before every call."""
    value = read()
    for observer in graph._observers:
        on_guard = getattr(observer, "on_guard", None)
        if on_guard is not None:
            on_guard(read, value)
    return value


def count(step: Tensor) -> float:
    """The step count kept in a float64 tensor, as a Python number.

    Read from the array itself: this number is computed again by compiled code at every call,
    where `.item()` (which tells observers that a value left the graph) has no place."""
    return float(step._data)
