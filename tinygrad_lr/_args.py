"""Argument handling shared by Tensor's methods and the factories: user data to arrays, dims,
shapes, dtypes, devices and indices, each checked with an error that names the op; and the
checks and formatting behind Tensor's one-line conversion methods (item, numpy, repr)."""

from __future__ import annotations

import functools
import math
import operator
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from .autograd.graph import note_read
from .device import _KNOWN_TYPES as DEVICE_TYPES
from .device import check_device
from .errors import DTypeError

if TYPE_CHECKING:
    from .tensor import Tensor

Index = Any


class Size(tuple[int, ...]):
    """A shape, as `x.shape` and `x.size()` return it (PyTorch's `torch.Size`): a tuple of ints
    with `numel()`, the number of elements. It prints as a tuple, `(2, 3)`."""

    __slots__ = ()

    def numel(self) -> int:
        return math.prod(self)


def _single_value(tensor: Tensor, where: str) -> Any:
    """The value of a one-element tensor as a Python number, for item() and bool()."""
    note_read(tensor, where)
    if tensor._data.size != 1:
        if where == "bool()":
            raise RuntimeError(
                f"the truth value of a tensor with {tensor._data.size} elements is ambiguous; "
                "use .any() or .all()"
            )
        raise RuntimeError(
            f"{where}: a tensor with {tensor._data.size} elements (shape {tensor.shape}) "
            "cannot be converted to a Python number"
        )
    return tensor._data.item()


def _as_numpy(tensor: Tensor, dtype: Any, copy: bool | None) -> np.ndarray:
    """np.asarray(tensor): the values as an array (a copy when asked, or to convert)."""
    note_read(tensor, "np.asarray()")
    array = tensor._data if dtype is None else tensor._data.astype(dtype, copy=False)
    return array.copy() if copy else array


def _python_values(tensor: Tensor) -> Any:
    """tolist(): the values as nested Python lists."""
    note_read(tensor, "tolist()")
    return tensor._data.tolist()


def _unrecorded_array(tensor: Tensor) -> np.ndarray:
    """numpy(): the array, refused for a tensor that requires grad (as in PyTorch)."""
    if tensor.requires_grad:
        raise RuntimeError(
            "numpy(): can't call numpy() on a tensor that requires grad; "
            "use tensor.detach().numpy()"
        )
    note_read(tensor, "numpy()")
    return tensor._data


def _repr(tensor: Tensor) -> str:
    """`tensor([1., 2.], dtype=float32, grad_fn=<MulBackward>)`, as PyTorch prints it."""
    note_read(tensor, "repr()")
    body = np.array2string(tensor._data, separator=", ", prefix="tensor(")
    extras = []
    if tensor.dtype not in (np.float64, np.int64, np.bool_):
        extras.append(f"dtype={tensor.dtype}")
    if tensor.grad_fn is not None:
        extras.append(f"grad_fn=<{tensor.grad_fn.name()}>")
    elif tensor.requires_grad:
        extras.append("requires_grad=True")
    return "tensor(" + ", ".join([body, *extras]) + ")"


def _format(tensor: Tensor, spec: str) -> str:
    """f"{x:.3f}" formats the value of a one-element tensor; any other tensor prints as repr."""
    note_read(tensor, "format()")
    if spec and tensor._data.size == 1:
        return format(tensor._data.item(), spec)
    return repr(tensor) if not spec else format(repr(tensor), spec)


def _length(tensor: Tensor, message: str) -> int:
    """len() and iteration go along the first dimension, which a 0-d tensor lacks."""
    if tensor.ndim == 0:
        raise TypeError(message)
    return int(tensor.shape[0])


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
    """The other operand of an op that keeps `like`'s dtype (in-place updates, masked_fill): a
    Python number takes the floating dtype of `like`, so float32 tensors stay float32."""
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


_CATEGORY = {"b": 0, "u": 1, "i": 1, "f": 2}  # bool < integer < floating


def _promote(a: np.dtype | None, b: np.dtype | None) -> np.dtype | None:
    """The common dtype of two operands of one priority: the higher category wins (float16 with
    int64 is float16, as in PyTorch, not NumPy's float64); within one, NumPy's rule."""
    if a is None or b is None:
        return a if b is None else b
    if _CATEGORY[a.kind] != _CATEGORY[b.kind]:
        return a if _CATEGORY[a.kind] > _CATEGORY[b.kind] else b
    return np.promote_types(a, b)


def _combine(higher: np.dtype | None, lower: np.dtype | None) -> np.dtype | None:
    """An operand of lower priority changes the dtype only if it is of a higher category."""
    if higher is None or lower is None:
        return higher if lower is None else lower
    return higher if _CATEGORY[higher.kind] >= _CATEGORY[lower.kind] else lower


def _result_type(*values: Any) -> np.dtype:
    """PyTorch's `result_type`: tensors with dimensions decide the dtype; a 0-d tensor counts
    only if it is of a higher category (float32 * 0-d float64 stays float32, int64 * 0-d float64
    is float64), and a Python number after both (a float is the default float64, an int is
    int64, a bool is bool)."""
    dimensioned, zero_d, numbers = None, None, None
    for value in values:
        if isinstance(value, _tensor.Tensor | np.ndarray | np.generic):
            if value.ndim > 0:
                dimensioned = _promote(dimensioned, value.dtype)
            else:
                zero_d = _promote(zero_d, value.dtype)
        elif isinstance(value, bool | int | float):
            numbers = _promote(numbers, _number_dtype(value))
        else:
            dimensioned = _promote(dimensioned, _to_array(value, None, False, "operand").dtype)
    result = _combine(dimensioned, _combine(zero_d, numbers))
    assert result is not None
    return result


def _number_dtype(value: bool | int | float) -> np.dtype:
    if isinstance(value, bool):
        return np.dtype(bool)
    return np.dtype(np.int64) if isinstance(value, int) else np.dtype(np.float64)


def _operands(*values: Any) -> tuple[Tensor, ...]:
    """The operands of a binary op as tensors of their common dtype (see `_result_type`);
    a tensor of another dtype is converted by a recorded Cast, so it still gets its gradient."""
    if len(values) == 2:  # the common cases first, which need no rule: every op meets them
        a, b = values
        tensor = _tensor.Tensor
        if isinstance(a, tensor) and isinstance(b, tensor) and a._data.dtype == b._data.dtype:
            return a, b
        if isinstance(a, tensor) and type(b) in (int, float) and a._data.dtype.kind == "f":
            return a, _as_dtype(b, a._data.dtype)  # a number keeps a floating tensor's dtype
        if isinstance(b, tensor) and type(a) in (int, float) and b._data.dtype.kind == "f":
            return _as_dtype(a, b._data.dtype), b
    dtype = _result_type(*values)
    return tuple(_as_dtype(value, dtype) for value in values)


def _as_dtype(value: Any, dtype: np.dtype) -> Tensor:
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value:
        return _number(value, dtype)  # the fast path above; zero is not cached
    if isinstance(value, _tensor.Tensor):
        from .ops import cast  # here: the ops build on this module

        return cast(value, dtype)
    made = _tensor.Tensor._make(_to_array(value, dtype, copy=False, where="operand"))
    if made._data is not value:  # a converted copy, which tl.compile converts at every call
        _graph.note_from_array(made, value, _to_array, dtype=dtype, copy=False, where="operand")
    return made


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


def _numpy_names(op: str, names: dict[str, Any], dim: Any, keepdim: Any) -> tuple[Any, Any]:
    """(dim, keepdim) with NumPy's spellings `axis=` and `keepdims=` accepted, as PyTorch does;
    any other keyword is refused, naming the op."""
    unknown = sorted(set(names) - {"axis", "keepdims"})
    if unknown:
        raise TypeError(
            f"{op}() got an unexpected keyword argument {unknown[0]!r} (it takes dim, or "
            "NumPy's axis, and keepdim, or keepdims)"
        )
    if "axis" in names and dim is not None:
        raise TypeError(f"{op}(): give dim or axis, not both")
    return names.get("axis", dim), names.get("keepdims", keepdim)


def _reduction_args(
    tensor: Tensor, dim: Any, keepdim: bool, names: dict[str, Any], op: str
) -> tuple[tuple[int, ...] | None, bool]:
    """PyTorch's (dim, keepdim) or NumPy's (axis, keepdims) as sorted axes (None for all)."""
    dim, keep = _numpy_names(op, names, dim, keepdim)
    dims = (dim,) if isinstance(dim, (int, np.integer)) else () if dim is None else tuple(dim)
    if not dims:  # dim=None and, as in PyTorch, dim=() reduce every dimension
        return None, bool(keep)
    axes = tuple(sorted({_dim(d, tensor.ndim, op) for d in dims}))
    if tensor.ndim == 0:
        return None, bool(keep)
    return axes, bool(keep)


def _axis(op: str, names: dict[str, Any], dim: Any) -> Any:
    """The `dim` of softmax, squeeze, cat...: NumPy's `axis=` is accepted in its place."""
    unknown = sorted(set(names) - {"axis"})
    if unknown:
        raise TypeError(f"{op}() got an unexpected keyword argument {unknown[0]!r}")
    return names.get("axis", dim)


def _one_dim(tensor: Tensor, dim: Any, names: dict[str, Any], op: str) -> int:
    """The one `dim` (or `axis`) of softmax and log_softmax, checked and made non-negative."""
    return _dim(_axis(op, names, dim), tensor.ndim, op)


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


_LEGACY_TYPES: dict[str, np.dtype] = {
    "torch.FloatTensor": np.dtype(np.float32),
    "torch.DoubleTensor": np.dtype(np.float64),
    "torch.HalfTensor": np.dtype(np.float16),
    "torch.LongTensor": np.dtype(np.int64),
    "torch.IntTensor": np.dtype(np.int32),
    "torch.ShortTensor": np.dtype(np.int16),
    "torch.CharTensor": np.dtype(np.int8),
    "torch.ByteTensor": np.dtype(np.uint8),
    "torch.BoolTensor": np.dtype(bool),
}


def _tensor_type(tensor: Tensor, dtype: Any) -> Any:
    """`x.type()`: the type's name, e.g. "torch.FloatTensor"; `x.type(dtype)` converts, the
    dtype given as a dtype or such a name."""
    from .ops import cast  # the ops build on this module

    if dtype is None:
        names = (name for name, d in _LEGACY_TYPES.items() if d == tensor.dtype)
        return next(names, f"tinygrad_lr.{tensor.dtype}")
    return cast(tensor, _LEGACY_TYPES.get(dtype) or _dtype(dtype, "type"))


def _to_args(tensor: Tensor, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, bool]:
    """(dtype, copy) from PyTorch's forms of `to`: to(dtype), to(device), to(device, dtype),
    to(other_tensor), and the keywords dtype=, device=, copy=, non_blocking=. A device other
    than the CPU is refused."""
    unknown = sorted(set(kwargs) - {"dtype", "device", "copy", "non_blocking", "memory_format"})
    if unknown:
        raise TypeError(f"to() got an unexpected keyword argument {unknown[0]!r}")
    dtype = kwargs.get("dtype")
    check_device(kwargs.get("device"), "to")
    for arg in args:
        if isinstance(arg, _tensor.Tensor):
            dtype = arg.dtype
        elif isinstance(arg, str) and arg.partition(":")[0] in DEVICE_TYPES:  # "cpu", "cuda:0"
            check_device(arg, "to")
        elif not isinstance(arg, bool):  # to(device, dtype, non_blocking, copy)
            dtype = arg
    return tensor.dtype if dtype is None else _dtype(dtype, "to"), bool(kwargs.get("copy"))


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


import tinygrad_lr.autograd.graph as _graph  # noqa: E402
import tinygrad_lr.tensor as _tensor  # noqa: E402  (tensor.py builds on this module)
