"""Readable names for the outside tensors of a step: the names the step's code gives them.

Looked up in the function's globals and closure: tensors, lists of tensors, modules (their
parameter names) and optimisers (their state, named after the parameter)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

import numpy as np

from ..tensor import Tensor
from .trace import Trace


def _visible(fn: Callable[..., Any]) -> dict[str, Any]:
    """The objects `fn` can see by name: its closure first, then its module's globals."""
    owner = getattr(fn, "__self__", None)
    fn = getattr(fn, "__func__", fn)
    found: dict[str, Any] = {}
    closure = getattr(fn, "__closure__", None) or ()
    for name, cell in zip(getattr(getattr(fn, "__code__", None), "co_freevars", ()), closure):
        with contextlib.suppress(ValueError):  # an empty cell
            found[name] = cell.cell_contents
    if owner is not None:
        found["self"] = owner
    for name, value in getattr(fn, "__globals__", {}).items():
        found.setdefault(name, value)
    return found


def _tensors(name: str, value: Any, into: dict[int, str]) -> None:
    from ..nn.modules import Module
    from ..optim import Optimizer

    if isinstance(value, Tensor):
        into.setdefault(id(value._data), name)
    elif isinstance(value, np.ndarray):  # made a tensor in the step (tl.tensor(X))
        into.setdefault(id(value), name)
    elif isinstance(value, (list, tuple)) and 0 < len(value) <= 64:
        for k, item in enumerate(value):
            if isinstance(item, Tensor):
                into.setdefault(id(item._data), f"{name}_{k}")
    elif isinstance(value, Module):
        for param_name, parameter in value.named_parameters():
            into.setdefault(id(parameter._data), f"{name}_{param_name}")
    elif isinstance(value, Optimizer):
        for group in value.param_groups:
            for k, param in enumerate(group["params"]):
                into.setdefault(id(param._data), f"param{k}")
        for param, state in value.state.items():
            for key, item in state.items():
                if isinstance(item, Tensor):
                    into.setdefault(id(item._data), f"{into.get(id(param._data), 'param')}_{key}")


def outside_names(
    fn: Callable[..., Any], trace: Trace, extra: dict[str, Any] | None = None
) -> dict[int, str]:
    """Value number -> name, for the outside values of `trace` that have one."""
    by_array: dict[int, str] = {}
    visible = {**(extra or {}), **_visible(fn)}
    # tensors and modules before optimisers, so that optimiser state is named after parameters
    from ..optim import Optimizer

    # type() rather than isinstance: a proxy object may raise when asked for its __class__
    for name, value in sorted(visible.items(), key=lambda kv: issubclass(type(kv[1]), Optimizer)):
        if not name.startswith("__"):
            with contextlib.suppress(Exception):  # an object that refuses to be looked at
                _tensors(name, value, by_array)
    arrays = {vid: trace.array_sources.get(vid, trace.arrays[vid]) for vid in trace.sources}
    return {vid: by_array[id(array)] for vid, array in arrays.items() if id(array) in by_array}
