"""Nested data <-> named arrays plus a JSON description, for `save` and `load`.

`flatten({"model": state, "epoch": 3})` gives arrays "tensor_0", "tensor_1"... and, under
STRUCTURE, the JSON text (as uint8 bytes) that says where each array sits and what the other
values are. Only data can be described: tensors, arrays, NumPy scalars, numbers, strings,
bools, None, and dicts, lists and tuples of them; anything else (a Module, a function, an
arbitrary object) is refused, so a checkpoint can be read back without running any code.
"""

from __future__ import annotations

import json
from collections import Counter, OrderedDict
from collections.abc import Mapping
from typing import Any

import numpy as np

from .autograd import graph
from .tensor import Tensor

STRUCTURE = "__tinygrad_lr_structure__"
_FORMAT_VERSION = 1
_DICT_TYPES: dict[str, type] = {"dict": dict, "OrderedDict": OrderedDict, "Counter": Counter}


def is_flat_state(obj: Any) -> bool:
    """A state_dict: a non-empty mapping of non-empty string names to tensors or arrays of
    numbers, stored one array per name (the layout older checkpoints have)."""
    if not isinstance(obj, Mapping) or not obj:
        return False
    return all(isinstance(name, str) and name and name != STRUCTURE for name in obj) and all(
        isinstance(value, (Tensor, np.ndarray)) for value in obj.values()
    )


def _refuse(value: Any, where: str) -> TypeError:
    if hasattr(value, "state_dict"):  # a Module, an optimizer, a scheduler
        return TypeError(
            f"save: cannot save a {type(value).__name__}{where}: tinygrad_lr saves data, never "
            "objects with code; save its state_dict() and load that into a new instance"
        )
    return TypeError(
        f"save: cannot save a {type(value).__name__}{where}; a checkpoint holds tensors, "
        "arrays, numbers, strings, bools, None, and dicts, lists and tuples of them"
    )


def flatten(obj: Any) -> dict[str, np.ndarray]:
    """The arrays of `obj` and the JSON description of the rest (see the module docstring)."""
    arrays: dict[str, np.ndarray] = {}

    def add(array: np.ndarray, where: str) -> int:
        if array.dtype.kind not in "fiub":
            raise TypeError(f"save: the array{where} has dtype {array.dtype}, not numbers")
        arrays[f"tensor_{len(arrays)}"] = array
        return len(arrays) - 1

    def describe(value: Any, where: str) -> Any:
        if isinstance(value, Tensor):
            from .nn.modules import Parameter  # nn imports this package's modules

            return {
                "tensor": add(value._data, where),
                "requires_grad": bool(value.requires_grad),
                "parameter": isinstance(value, Parameter),
            }
        if isinstance(value, np.ndarray):
            return {"ndarray": add(value, where)}
        if isinstance(value, np.generic):
            return {"numpy_scalar": add(np.asarray(value), where)}
        if value is None or isinstance(value, (bool, int, float, str)):
            return value
        if isinstance(value, Mapping):
            kind = type(value).__name__ if type(value).__name__ in _DICT_TYPES else "dict"
            items = [
                [describe(key, f"{where} (a key)"), describe(item, f"{where}[{key!r}]")]
                for key, item in value.items()
            ]
            return {"mapping": kind, "items": items}
        if isinstance(value, (list, tuple)):
            kind = "list" if isinstance(value, list) else "tuple"
            return {kind: [describe(item, f"{where}[{k}]") for k, item in enumerate(value)]}
        raise _refuse(value, f" at {where}" if where else "")

    root = describe(obj, "")
    text = json.dumps({"format": "tinygrad_lr", "version": _FORMAT_VERSION, "root": root})
    arrays[STRUCTURE] = np.frombuffer(text.encode("utf-8"), dtype=np.uint8)
    return arrays


def unflatten(arrays: Mapping[str, np.ndarray]) -> Any:
    """The object `flatten` described, rebuilt from the arrays."""
    header = json.loads(bytes(arrays[STRUCTURE]).decode("utf-8"))
    if header.get("format") != "tinygrad_lr" or header.get("version") != _FORMAT_VERSION:
        raise ValueError(f"unknown format {header.get('format')!r} {header.get('version')!r}")

    def array(index: int) -> np.ndarray:
        return np.array(arrays[f"tensor_{index}"], copy=True)

    def build(node: Any) -> Any:
        if not isinstance(node, (dict, list)):
            return node
        if isinstance(node, list):
            raise ValueError("a bare list in the description")
        if "tensor" in node:
            from .nn.modules import Parameter

            values = array(node["tensor"])
            if node.get("parameter"):
                return Parameter(values, requires_grad=bool(node.get("requires_grad")))
            tensor = Tensor._make(values, False, None)
            return (
                graph.set_requires_grad(tensor, True, new=True)
                if node.get("requires_grad")
                else tensor
            )
        if "ndarray" in node:
            return array(node["ndarray"])
        if "numpy_scalar" in node:
            return array(node["numpy_scalar"])[()]
        if "mapping" in node:
            pairs = [(_hashable(build(key)), build(item)) for key, item in node["items"]]
            return _DICT_TYPES[node["mapping"]](pairs)
        if "list" in node:
            return [build(item) for item in node["list"]]
        if "tuple" in node:
            return tuple(build(item) for item in node["tuple"])
        raise ValueError(f"unknown entry {sorted(node)}")

    return build(header["root"])


def _hashable(key: Any) -> Any:
    """Dict keys come back as they went in; a tuple key is rebuilt as a tuple."""
    return tuple(key) if isinstance(key, list) else key
