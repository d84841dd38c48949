"""The ops as free functions, `tl.exp(x)` beside `x.exp()`, as PyTorch offers both.

Each accepts tensors, arrays or numbers; the work is done by the Tensor method.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from . import ops
from ._args import _dim, _operand
from .creation import as_tensor
from .errors import ShapeError
from .tensor import Tensor


def _t(x: Any) -> Tensor:
    return x if isinstance(x, Tensor) else as_tensor(x)


def add(x: Any, y: Any) -> Tensor:
    return _t(x) + y


def sub(x: Any, y: Any) -> Tensor:
    return _t(x) - y


def mul(x: Any, y: Any) -> Tensor:
    return _t(x) * y


def div(x: Any, y: Any) -> Tensor:
    return _t(x) / y


def pow(x: Any, exponent: Any) -> Tensor:
    return _t(x) ** exponent


def matmul(x: Any, y: Any) -> Tensor:
    return _t(x) @ y


mm = matmul


def exp(x: Any) -> Tensor:
    return _t(x).exp()


def log(x: Any) -> Tensor:
    return _t(x).log()


def sqrt(x: Any) -> Tensor:
    return _t(x).sqrt()


def sin(x: Any) -> Tensor:
    return _t(x).sin()


def cos(x: Any) -> Tensor:
    return _t(x).cos()


def abs(x: Any) -> Tensor:
    return _t(x).abs()


def tanh(x: Any) -> Tensor:
    return _t(x).tanh()


def sigmoid(x: Any) -> Tensor:
    return _t(x).sigmoid()


def relu(x: Any) -> Tensor:
    return _t(x).relu()


def square(x: Any) -> Tensor:
    return _t(x).square()


def clamp(x: Any, min: float | None = None, max: float | None = None) -> Tensor:
    return _t(x).clamp(min, max)


clip = clamp


def maximum(x: Any, y: Any) -> Tensor:
    return _t(x).maximum(y)


def minimum(x: Any, y: Any) -> Tensor:
    return _t(x).minimum(y)


def where(condition: Any, x: Any, y: Any) -> Tensor:
    """`x` where `condition` holds, else `y`, broadcast together; only x and y get gradients."""
    # A number takes the dtype of the tensor beside it, so float32 stays float32.
    x_tensor = _t(x)
    y_tensor = _operand(y, x_tensor)
    if not isinstance(x, Tensor):
        x_tensor = _operand(x, y_tensor)
    return ops.Where.apply(_t(condition), x_tensor, y_tensor)


def sum(x: Any, dim: Any = None, keepdim: bool = False) -> Tensor:
    return _t(x).sum(dim, keepdim)


def mean(x: Any, dim: Any = None, keepdim: bool = False) -> Tensor:
    return _t(x).mean(dim, keepdim)


def max(x: Any, dim: Any = None, keepdim: bool = False) -> Any:
    return _t(x).max(dim, keepdim)


def min(x: Any, dim: Any = None, keepdim: bool = False) -> Any:
    return _t(x).min(dim, keepdim)


def amax(x: Any, dim: Any = None, keepdim: bool = False) -> Tensor:
    return _t(x).amax(dim, keepdim)


def amin(x: Any, dim: Any = None, keepdim: bool = False) -> Tensor:
    return _t(x).amin(dim, keepdim)


def argmax(x: Any, dim: int | None = None, keepdim: bool = False) -> Tensor:
    return _t(x).argmax(dim, keepdim)


def argmin(x: Any, dim: int | None = None, keepdim: bool = False) -> Tensor:
    return _t(x).argmin(dim, keepdim)


def var(x: Any, dim: Any = None, keepdim: bool = False, *, correction: int = 1) -> Tensor:
    return _t(x).var(dim, keepdim, correction=correction)


def std(x: Any, dim: Any = None, keepdim: bool = False, *, correction: int = 1) -> Tensor:
    return _t(x).std(dim, keepdim, correction=correction)


def logsumexp(x: Any, dim: Any = None, keepdim: bool = False) -> Tensor:
    return _t(x).logsumexp(dim, keepdim)


def softmax(x: Any, dim: int = -1) -> Tensor:
    return _t(x).softmax(dim)


def log_softmax(x: Any, dim: int = -1) -> Tensor:
    return _t(x).log_softmax(dim)


def reshape(x: Any, shape: Sequence[int]) -> Tensor:
    return _t(x).reshape(tuple(shape))


def transpose(x: Any, dim0: int, dim1: int) -> Tensor:
    return _t(x).transpose(dim0, dim1)


def permute(x: Any, dims: Sequence[int]) -> Tensor:
    return _t(x).permute(tuple(dims))


def squeeze(x: Any, dim: int | None = None) -> Tensor:
    return _t(x).squeeze(dim)


def unsqueeze(x: Any, dim: int) -> Tensor:
    return _t(x).unsqueeze(dim)


def flatten(x: Any, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    return _t(x).flatten(start_dim, end_dim)


def cat(tensors: Sequence[Any], dim: int = 0) -> Tensor:
    """The tensors joined along an existing dimension `dim`."""
    parts = [_t(x) for x in tensors]
    if not parts:
        raise ValueError("cat: expected a non-empty sequence of tensors")
    if len({p.ndim for p in parts}) != 1 or parts[0].ndim == 0:
        shapes = ", ".join(str(p.shape) for p in parts)
        raise ShapeError(
            f"cat: tensors must have the same number of dims (at least 1), got {shapes}"
        )
    return ops.Cat.apply(_dim(dim, parts[0].ndim, "cat"), *parts)


concatenate = cat


def stack(tensors: Sequence[Any], dim: int = 0) -> Tensor:
    """The tensors, all of one shape, joined along a new dimension `dim`."""
    parts = [_t(x) for x in tensors]
    if not parts:
        raise ValueError("stack: expected a non-empty sequence of tensors")
    if len({p.shape for p in parts}) != 1:
        shapes = ", ".join(str(p.shape) for p in parts)
        raise ShapeError(f"stack: tensors must all have the same shape, got {shapes}")
    d = _dim(dim, parts[0].ndim + 1, "stack")
    return ops.Cat.apply(d, *[p.unsqueeze(d) for p in parts])


def numel(x: Tensor) -> int:
    return x.numel()


def is_tensor(x: Any) -> bool:
    return isinstance(x, Tensor)
