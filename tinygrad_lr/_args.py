"""Argument handling shared by Tensor's methods and the factories: user data to arrays, dims,
shapes, dtypes and indices, each checked with an error that names the op."""

from __future__ import annotations

import functools
import operator
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from .errors import DTypeError

if TYPE_CHECKING:
    from .tensor import Tensor

Index = Any


def _to_array(data: Any, dtype: Any, copy: bool, where: str) -> np.ndarray:
    """Turn user data into an array: Python numbers and lists of floats become float64, of ints
    int64 (as in PyTorch, so they can index); NumPy arrays keep their dtype."""
    if isinstance(data, _tensor.Tensor):
        array = data._data
    elif isinstance(data, np.ndarray):
        array = data
    else:
        try:
            array = np.array(data)
        except ValueError:
            raise ValueError(
                f"{where}: the nested sequence is ragged (its rows have different lengths), "
                "so it cannot form a rectangular tensor"
            ) from None
    if array.dtype.kind == "c":
        raise DTypeError(f"{where}: complex numbers are not supported (got dtype {array.dtype})")
    if array.dtype.kind not in "fiub":
        raise DTypeError(
            f"{where}: data must be numbers, got {type(data).__name__} "
            f"giving NumPy dtype {array.dtype}"
        )
    if dtype is not None:
        array = array.astype(_dtype(dtype, where), copy=False)
    if copy and (array is data or isinstance(data, _tensor.Tensor) or array.base is not None):
        array = array.copy()
    return array


def _operand(value: Any, like: Tensor) -> Tensor:
    """The other operand of a binary op as a tensor. A Python number takes the floating dtype
    of `like`, so float32 tensors stay float32 (as in PyTorch)."""
    if isinstance(value, _tensor.Tensor):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool) and like.dtype.kind == "f":
        if value:  # 0.0 and -0.0 are equal as cache keys but not as divisors: not cached
            return _number(value, like.dtype)
        return _tensor.Tensor._make(np.array(value, dtype=like.dtype))
    return _tensor.Tensor._make(_to_array(value, None, copy=False, where="operand"))


# --- fast path: Python numbers as constant tensors, made once ----------------------------------
# A training loop uses the same few numbers in every step (a learning rate, the 2 of x ** 2, the
# 1/n of a mean). Making a tensor for each costs more than multiplying small tensors: caching
# them took the chain `x = x * a + b` from 12.3 to 11.1 us per op (median of 30 interleaved
# runs). The plain path is `Tensor._make(np.array(value, dtype=dtype))`, which zero takes;
# tests/test_fast_paths.py checks that both give the same results.
@functools.lru_cache(maxsize=256)
def _number(value: float, dtype: np.dtype) -> Tensor:
    array = np.array(value, dtype=dtype)
    array.flags.writeable = False  # shared by every use: never changed in place
    return _tensor.Tensor._make(array)


def _dim(dim: int, ndim: int, op: str) -> int:
    """`dim` as a non-negative index, checked against the number of dimensions."""
    if not isinstance(dim, (int, np.integer)):
        raise TypeError(f"{op}: dim must be an int, got {type(dim).__name__}")
    size = max(ndim, 1)  # a 0-d tensor accepts dim 0 and -1, as in PyTorch
    if not -size <= dim < size:
        raise IndexError(
            f"{op}: dim {dim} is out of range for a tensor with {ndim} dimensions "
            f"(expected {-size} to {size - 1})"
        )
    return int(dim) % size


def _reduction_args(
    tensor: Tensor, dim: Any, axis: Any, keepdim: bool, keepdims: bool | None, op: str
) -> tuple[tuple[int, ...] | None, bool]:
    """Normalise PyTorch's (dim, keepdim) or NumPy's (axis, keepdims) into sorted axes."""
    if axis is not None:
        dim = axis
    keep = keepdim if keepdims is None else keepdims
    dims = (dim,) if isinstance(dim, (int, np.integer)) else () if dim is None else tuple(dim)
    if not dims:  # dim=None and, as in PyTorch, dim=() reduce every dimension
        return None, keep
    axes = tuple(sorted({_dim(d, tensor.ndim, op) for d in dims}))
    if tensor.ndim == 0:
        return None, keep
    return axes, keep


def _shape_args(args: Sequence[Any], where: str = "shape") -> tuple[int, ...]:
    """Accept both f(2, 3) and f((2, 3)), as PyTorch does; sizes must be integers."""
    if len(args) == 1 and isinstance(args[0], (tuple, list)):
        args = args[0]
    try:
        return tuple(int(n) if isinstance(n, _tensor.Tensor) else operator.index(n) for n in args)
    except (TypeError, RuntimeError):
        raise TypeError(f"{where}: sizes must be integers, got {tuple(args)!r}") from None


def _dtype(dtype: Any, where: str) -> np.dtype:
    """`dtype` as a NumPy dtype of numbers, or a clear error naming `where`."""
    try:
        resolved = np.dtype(dtype)
    except TypeError:
        raise DTypeError(
            f"{where}: unknown dtype {dtype!r}; use e.g. tl.float32, tl.float64 or tl.int64"
        ) from None
    if resolved.kind not in "fiub":
        raise DTypeError(f"{where}: dtype {resolved} is not supported; use a float, int or bool")
    return resolved


def _index(index: Index) -> Index:
    """An index with lists turned into integer tensors and tensor parts checked; tensors stay
    tensors, so an op that indexes with them can check they were not changed before backward."""
    parts = index if isinstance(index, tuple) else (index,)
    converted = []
    for part in parts:
        if isinstance(part, (list, np.ndarray)):
            part = _tensor.Tensor._make(np.asarray(part))
        if isinstance(part, _tensor.Tensor) and part.dtype.kind not in "iub":
            raise IndexError(
                f"getitem: tensors used as indices must be integer or boolean, got {part.dtype}"
            )
        converted.append(part)
    return tuple(converted) if isinstance(index, tuple) else converted[0]


def _as_arrays(index: Index) -> Index:
    """The index NumPy takes: tensor parts replaced by their arrays."""
    if isinstance(index, tuple):
        return tuple(p._data if isinstance(p, _tensor.Tensor) else p for p in index)
    return index._data if isinstance(index, _tensor.Tensor) else index


def _index_tensors(index: Index) -> list[Tensor]:
    parts = index if isinstance(index, tuple) else (index,)
    return [p for p in parts if isinstance(p, _tensor.Tensor)]


import tinygrad_lr.tensor as _tensor  # noqa: E402  (tensor.py builds on this module)
