"""The ops as free functions, `tl.exp(x)` beside `x.exp()`, as PyTorch offers both.

Each accepts tensors, arrays or numbers under PyTorch's parameter names (`tl.matmul(input=a,
other=b)`), and most take `out=`, a tensor the result is written into (see `_into`). The work
is done by the Tensor method.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from . import ops
from ._args import _axis, _dim, _operands
from .autograd.grad_mode import is_grad_enabled
from .creation import as_tensor
from .errors import DTypeError, ShapeError
from .tensor import Tensor


def _t(x: Any) -> Tensor:
    return x if isinstance(x, Tensor) else as_tensor(x)


def _into(out: Tensor | None, result: Tensor, op: str) -> Tensor:
    """`out=`: the result written into the tensor `out`, which is returned, as in PyTorch. The
    result is converted to out's dtype when that loses no kind (a float into an int is refused);
    an `out` of another shape is resized (with PyTorch's warning unless it was empty). Not
    recorded: refused when an input requires grad, since out would have no gradient."""
    if out is None:
        return result
    if not isinstance(out, Tensor):
        raise TypeError(f"{op}: out must be a Tensor, got {type(out).__name__}")
    if is_grad_enabled() and result.requires_grad:
        raise RuntimeError(
            f"{op}(): functions with out=... arguments don't support automatic "
            "differentiation, but one of the arguments requires grad"
        )
    if not np.can_cast(result.dtype, out.dtype, casting="same_kind"):
        raise DTypeError(f"{op}: result type {result.dtype} can't be cast to out's {out.dtype}")
    if out.shape != result.shape:
        if out.numel() != 0:
            warnings.warn(
                f"{op}: an output with shape {out.shape} is resized to {result.shape}; "
                "pass an empty out, or one of the right shape",
                UserWarning,
                stacklevel=3,
            )
        out.data = result._data.astype(out.dtype)
        return out
    return out.copy_(result)


def add(input: Any, other: Any, *, alpha: Any = 1, out: Tensor | None = None) -> Tensor:
    """input + alpha * other."""
    return _into(out, _t(input) + (other if alpha == 1 else _t(other) * alpha), "add")


def sub(input: Any, other: Any, *, alpha: Any = 1, out: Tensor | None = None) -> Tensor:
    """input - alpha * other."""
    return _into(out, _t(input) - (other if alpha == 1 else _t(other) * alpha), "sub")


def mul(input: Any, other: Any, *, out: Tensor | None = None) -> Tensor:
    return _into(out, _t(input) * other, "mul")


def div(
    input: Any, other: Any, *, rounding_mode: str | None = None, out: Tensor | None = None
) -> Tensor:
    """input / other; with rounding_mode="floor", input // other (no gradient)."""
    if rounding_mode not in (None, "floor"):
        raise ValueError(f"div: rounding_mode must be None or 'floor', got {rounding_mode!r}")
    return _into(out, _t(input) // other if rounding_mode else _t(input) / other, "div")


def floor_divide(input: Any, other: Any, *, out: Tensor | None = None) -> Tensor:
    return _into(out, _t(input) // other, "floor_divide")


def remainder(input: Any, other: Any, *, out: Tensor | None = None) -> Tensor:
    return _into(out, _t(input) % other, "remainder")


def pow(input: Any, exponent: Any, *, out: Tensor | None = None) -> Tensor:
    return _into(out, _t(input) ** exponent, "pow")


def matmul(input: Any, other: Any, *, out: Tensor | None = None) -> Tensor:
    return _into(out, _t(input) @ other, "matmul")


def mm(input: Any, mat2: Any, *, out: Tensor | None = None) -> Tensor:
    return _into(out, _t(input) @ mat2, "mm")


def exp(input: Any, *, out: Tensor | None = None) -> Tensor:
    return _into(out, _t(input).exp(), "exp")


def log(input: Any, *, out: Tensor | None = None) -> Tensor:
    return _into(out, _t(input).log(), "log")


def sqrt(input: Any, *, out: Tensor | None = None) -> Tensor:
    return _into(out, _t(input).sqrt(), "sqrt")


def sin(input: Any, *, out: Tensor | None = None) -> Tensor:
    return _into(out, _t(input).sin(), "sin")


def cos(input: Any, *, out: Tensor | None = None) -> Tensor:
    return _into(out, _t(input).cos(), "cos")


def abs(input: Any, *, out: Tensor | None = None) -> Tensor:
    return _into(out, _t(input).abs(), "abs")


def tanh(input: Any, *, out: Tensor | None = None) -> Tensor:
    return _into(out, _t(input).tanh(), "tanh")


def sigmoid(input: Any, *, out: Tensor | None = None) -> Tensor:
    return _into(out, _t(input).sigmoid(), "sigmoid")


def relu(input: Any) -> Tensor:
    return _t(input).relu()


def erf(input: Any, *, out: Tensor | None = None) -> Tensor:
    return _into(out, _t(input).erf(), "erf")


def square(input: Any, *, out: Tensor | None = None) -> Tensor:
    return _into(out, _t(input).square(), "square")


def clamp(input: Any, min: Any = None, max: Any = None, *, out: Tensor | None = None) -> Tensor:
    return _into(out, _t(input).clamp(min, max), "clamp")


clip = clamp


def maximum(input: Any, other: Any, *, out: Tensor | None = None) -> Tensor:
    return _into(out, _t(input).maximum(other), "maximum")


def minimum(input: Any, other: Any, *, out: Tensor | None = None) -> Tensor:
    return _into(out, _t(input).minimum(other), "minimum")


def where(condition: Any, input: Any, other: Any, *, out: Tensor | None = None) -> Tensor:
    """`input` where `condition` holds, else `other`, broadcast together; only input and other
    get gradients. Their dtypes meet as in arithmetic (a number takes the tensor's dtype)."""
    result = ops.Where.apply(_t(condition), *_operands(input, other))
    return _into(out, result, "where")


# --- reductions: dim or axis, keepdim or keepdims ------------------------------------------------


def sum(input: Any, dim: Any = None, keepdim: bool = False, **names: Any) -> Tensor:
    out = names.pop("out", None)
    return _into(out, _t(input).sum(dim, keepdim, **names), "sum")


def mean(input: Any, dim: Any = None, keepdim: bool = False, **names: Any) -> Tensor:
    out = names.pop("out", None)
    return _into(out, _t(input).mean(dim, keepdim, **names), "mean")


def max(input: Any, dim: Any = None, keepdim: bool = False, **names: Any) -> Any:
    """max(x) -> the largest value; max(x, dim) -> (values, indices); max(x, y) -> maximum."""
    return _t(input).max(dim, keepdim, **names)


def min(input: Any, dim: Any = None, keepdim: bool = False, **names: Any) -> Any:
    """min(x) -> the smallest value; min(x, dim) -> (values, indices); min(x, y) -> minimum."""
    return _t(input).min(dim, keepdim, **names)


def amax(input: Any, dim: Any = None, keepdim: bool = False, **names: Any) -> Tensor:
    return _t(input).amax(dim, keepdim, **names)


def amin(input: Any, dim: Any = None, keepdim: bool = False, **names: Any) -> Tensor:
    return _t(input).amin(dim, keepdim, **names)


def argmax(input: Any, dim: Any = None, keepdim: bool = False, **names: Any) -> Tensor:
    return _t(input).argmax(dim, keepdim, **names)


def argmin(input: Any, dim: Any = None, keepdim: bool = False, **names: Any) -> Tensor:
    return _t(input).argmin(dim, keepdim, **names)


def var(input: Any, dim: Any = None, keepdim: bool = False, **options: Any) -> Tensor:
    """The variance; options: correction= (1 by default), unbiased=, axis=, keepdims=."""
    return _t(input).var(dim, keepdim, **options)


def std(input: Any, dim: Any = None, keepdim: bool = False, **options: Any) -> Tensor:
    return _t(input).std(dim, keepdim, **options)


def logsumexp(input: Any, dim: Any = None, keepdim: bool = False, **names: Any) -> Tensor:
    return _t(input).logsumexp(dim, keepdim, **names)


def norm(
    input: Any, p: Any = "fro", dim: Any = None, keepdim: bool = False, **names: Any
) -> Tensor:
    """The p-norm (2 by default: sqrt of the sum of squares) of all elements or over `dim`."""
    out = names.pop("out", None)
    return _into(out, _t(input).norm(p, dim, keepdim, **names), "norm")


def softmax(input: Any, dim: int = -1, **names: Any) -> Tensor:
    return _t(input).softmax(dim, **names)


def log_softmax(input: Any, dim: int = -1, **names: Any) -> Tensor:
    return _t(input).log_softmax(dim, **names)


# --- shape ----------------------------------------------------------------------------------------


def reshape(input: Any, shape: Sequence[int]) -> Tensor:
    return _t(input).reshape(tuple(shape))


def transpose(input: Any, dim0: int, dim1: int) -> Tensor:
    return _t(input).transpose(dim0, dim1)


def permute(input: Any, dims: Sequence[int]) -> Tensor:
    return _t(input).permute(tuple(dims))


def squeeze(input: Any, dim: Any = None, **names: Any) -> Tensor:
    return _t(input).squeeze(dim, **names)


def unsqueeze(input: Any, dim: int) -> Tensor:
    return _t(input).unsqueeze(dim)


def flatten(input: Any, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    return _t(input).flatten(start_dim, end_dim)


def _parts(tensors: Any, op: str) -> list[Tensor]:
    """The tensors to join: a list or tuple (a single tensor is refused, as in PyTorch, rather
    than taken as the sequence of its rows)."""
    if isinstance(tensors, Tensor) or not isinstance(tensors, Sequence):
        raise TypeError(
            f"{op}(): expects a list or tuple of tensors, got {type(tensors).__name__}; "
            f"write {op}([a, b])"
        )
    if not tensors:
        raise ValueError(f"{op}: expected a non-empty sequence of tensors")
    return [_t(x) for x in tensors]


def cat(tensors: Sequence[Any], dim: int = 0, **names: Any) -> Tensor:
    """The tensors joined along an existing dimension `dim`."""
    out = names.pop("out", None)
    parts, dim = _parts(tensors, "cat"), _axis("cat", names, dim)
    if len({p.ndim for p in parts}) != 1 or parts[0].ndim == 0:
        shapes = ", ".join(str(p.shape) for p in parts)
        raise ShapeError(
            f"cat: tensors must have the same number of dims (at least 1), got {shapes}"
        )
    parts = list(_operands(*parts)) if len({p.dtype for p in parts}) > 1 else parts
    return _into(out, ops.Cat.apply(_dim(dim, parts[0].ndim, "cat"), *parts), "cat")


concatenate = concat = cat


def stack(tensors: Sequence[Any], dim: int = 0, **names: Any) -> Tensor:
    """The tensors, all of one shape, joined along a new dimension `dim`."""
    out = names.pop("out", None)
    parts, dim = _parts(tensors, "stack"), _axis("stack", names, dim)
    if len({p.shape for p in parts}) != 1:
        shapes = ", ".join(str(p.shape) for p in parts)
        raise ShapeError(f"stack: tensors must all have the same shape, got {shapes}")
    d = _dim(dim, parts[0].ndim + 1, "stack")
    return _into(out, cat([p.unsqueeze(d) for p in parts], dim=d), "stack")


def numel(input: Tensor) -> int:
    return _t(input).numel()


def is_tensor(obj: Any) -> bool:
    return isinstance(obj, Tensor)
