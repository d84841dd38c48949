"""The Python side effects of a step's code that a replay would not repeat.

A replay runs NumPy lines only, so what the step's Python code does besides tensor operations
would happen only while it is recorded: a step that assigns a global or a nonlocal, sets an
attribute of an object other than a tensor (whose `.grad` is recorded), or changes an item of
a list, dict or set it did not make (`history[k] = v`) runs eagerly. Calls that change state
(`append`, `update`, printing, drawing a random number) are found where the values are
(python_values.py). Stores are found in the bytecode, so even in a branch that does not run.
"""

from __future__ import annotations

import collections
import io
import types
from typing import Any

import numpy as np

from .attributes import resolve
from .bytecode import Reads
from .same import CELL, UNSET, PythonValue

# what a step changes by calling a method or storing an item: a replay would not change it
CONTAINERS = (list, dict, set, bytearray, collections.deque, io.IOBase, np.ndarray)
# `w -= v` on a tensor changes it in place (Tensor.__isub__...) and stores the same tensor back
_IN_PLACE_OPERATORS = {"+=", "-=", "*=", "/="}
# set on a tensor by a step and seen by the recording: .grad (replayed), .data (replayed when
# `p.data -= v` changes p in place, else the step runs eagerly), requires_grad (see trace.py)
_TENSOR_ATTRIBUTES = {"grad", "data", "requires_grad"}


def store_effect(function: types.FunctionType, code: Reads, cells: dict[str, Any],
                 locals_: dict[str, Any]) -> str | None:  # fmt: skip
    """The first store of `function`'s code that changes Python state outside the step, or
    None: a global or nonlocal assigned, an attribute set, an item of an outside container
    set."""
    from ..tensor import Tensor

    filename = function.__code__.co_filename.rsplit("/", 1)[-1]
    for what, name, line, operator in code.stores:
        now = (
            function.__globals__.get(name)
            if what == "STORE_GLOBAL"
            else (PythonValue(name, cells[name], CELL, None).read() if name in cells else None)
        )
        if not (isinstance(now, Tensor) and operator in _IN_PLACE_OPERATORS):  # `w -= v`
            kind = "a global" if what == "STORE_GLOBAL" else "a nonlocal"
            return f"assigns {kind}, {name} ({filename}:{line})"
    for chain, attribute, line in code.attribute_stores:
        try:
            owner = resolve(chain, function, cells, locals_)
            if owner is UNSET or (isinstance(owner, Tensor) and attribute in _TENSOR_ATTRIBUTES):
                continue  # an object the step made, or a tensor's .grad: recorded
        except Exception:  # an object that refuses to be looked at: counted as changed
            pass
        return f"sets {'.'.join(chain[1:])}.{attribute} ({filename}:{line})"
    for chain, line in code.item_stores:
        try:
            container = resolve(chain, function, cells, locals_)
        except Exception:
            continue
        if isinstance(container, CONTAINERS):  # a list or dict from outside the step
            return f"changes an item of {'.'.join(chain[1:])} ({filename}:{line})"
    return None
