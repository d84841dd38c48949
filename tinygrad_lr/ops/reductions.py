"""Reductions: sums, means, extremes and softmaxes over some dimensions (`axes`, sorted, or
None for all of them), each backward right under its forward."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from .._args import _dim, _numpy_names, _operands, _reduction_args
from ..errors import DTypeError, ShapeError
from ..tensor import Tensor
from . import elementwise
from ._builtin import BuiltinOp

Ctx = Any
Axes = tuple[int, ...] | None
Grads = tuple["Tensor | None", ...]


def kept_shape(shape: tuple[int, ...], axes: Axes) -> tuple[int, ...]:
    """The shape a reduction over `axes` has with keepdim=True."""
    return tuple(1 if axes is None or i in axes else n for i, n in enumerate(shape))


def count(shape: tuple[int, ...], axes: Axes) -> int:
    """How many elements each output of a reduction over `axes` summarises."""
    return math.prod(shape if axes is None else [shape[i] for i in axes])


class Sum(BuiltinOp):
    """z = sum of x over `axes`;  dz/dx = 1 for every summed element."""

    @staticmethod
    def forward(ctx: Ctx, x: Tensor, axes: Axes, keepdim: bool) -> Tensor:
        ctx.input_shape, ctx.kept_shape = x.shape, kept_shape(x.shape, axes)
        return Tensor._make(x._data.sum(axis=axes, keepdims=keepdim))

    @staticmethod
    def backward(ctx: Ctx, g: Tensor) -> Grads:
        return g.reshape(ctx.kept_shape).expand(ctx.input_shape), None, None


class Mean(BuiltinOp):
    """z = mean of x over `axes` (n elements each);  dz/dx = 1/n."""

    @staticmethod
    def forward(ctx: Ctx, x: Tensor, axes: Axes, keepdim: bool) -> Tensor:
        if x.numel() == 0:
            raise ShapeError(f"mean: cannot average an empty tensor of shape {x.shape}")
        ctx.input_shape, ctx.kept_shape = x.shape, kept_shape(x.shape, axes)
        ctx.count = count(x.shape, axes)
        return Tensor._make(x._data.mean(axis=axes, keepdims=keepdim))

    @staticmethod
    def backward(ctx: Ctx, g: Tensor) -> Grads:
        return (g / ctx.count).reshape(ctx.kept_shape).expand(ctx.input_shape), None, None


class Max(BuiltinOp):
    """z = max of x over `axes`; tied elements share the gradient equally. A NaN is the
    maximum (np.max returns it), so the gradient goes to the NaN(s)."""

    reduce: Callable[..., Any] = staticmethod(np.max)

    @staticmethod
    def forward(ctx: Ctx, x: Tensor, axes: Axes, keepdim: bool) -> Tensor:
        if x.numel() == 0:
            raise ShapeError(f"{ctx.op_name()}: cannot reduce an empty tensor of shape {x.shape}")
        ctx.axes, ctx.kept_shape = axes, kept_shape(x.shape, axes)
        kept = type(ctx).reduce(x._data, axis=axes, keepdims=True)
        z = Tensor._make(kept if keepdim else kept.reshape(_reduced(x, axes)))
        ctx.save_for_backward(x, z)  # (the output, as PyTorch saves it: no array of its own)
        return z

    @staticmethod
    def backward(ctx: Ctx, g: Tensor) -> Grads:
        x, z = ctx.saved_tensors
        kept = z.reshape(ctx.kept_shape)  # the extreme, with x's axes, to compare with x
        chosen = ((x == kept) | (x.isnan() & kept.isnan())).to(x.dtype)
        share = chosen / chosen.sum(dim=ctx.axes, keepdim=True)
        return g.reshape(ctx.kept_shape) * share, None, None


class Min(Max):
    """z = min of x over `axes`; tied elements share the gradient equally (NaN wins)."""

    reduce = staticmethod(np.min)


class MaxWithIndices(BuiltinOp):
    """(values, indices) = max of x along `dim`, as x.max(dim) returns them;  the gradient goes
    to the element each index names (the first of ties). The indices get no gradient."""

    arg_reduce: Callable[..., Any] = staticmethod(np.argmax)

    @classmethod
    def op_name(cls) -> str:
        return "max" if cls.arg_reduce is np.argmax else "min"

    @staticmethod
    def forward(ctx: Ctx, x: Tensor, dim: int, keepdim: bool) -> tuple[Tensor, Tensor]:
        if x.numel() == 0:
            raise ShapeError(f"{ctx.op_name()}: cannot reduce an empty tensor of shape {x.shape}")
        ctx.dim, ctx.input_shape, ctx.keepdim = dim, x.shape, keepdim
        index = np.expand_dims(type(ctx).arg_reduce(x._data, axis=dim), dim)
        values = np.take_along_axis(x._data, index, axis=dim)
        indices = Tensor._make(index if keepdim else index.squeeze(dim))
        ctx.save_for_backward(indices)
        ctx.mark_non_differentiable(indices)
        return Tensor._make(values if keepdim else values.squeeze(dim)), indices

    @staticmethod
    def backward(ctx: Ctx, g: Tensor, g_indices: Tensor) -> Grads:
        (indices,) = ctx.saved_tensors
        dim, shape = ctx.dim, ctx.input_shape
        if not ctx.keepdim:
            g, indices = g.unsqueeze(dim), indices.unsqueeze(dim)
        positions = Tensor._make(np.arange(shape[dim]).reshape([-1] + [1] * (len(shape) - dim - 1)))
        return g * (positions == indices).to(g.dtype), None, None


class MinWithIndices(MaxWithIndices):
    __doc__ = MaxWithIndices.__doc__
    arg_reduce = staticmethod(np.argmin)


class MinMax(NamedTuple):
    """What max(dim) / min(dim) return, as PyTorch does: the values and their indices."""

    values: Tensor
    indices: Tensor


def extremum(
    tensor: Tensor, op: type[Max], dim: Any, keepdim: bool, names: dict[str, Any], name: str
) -> Any:
    """max()/min(): the extreme value over everything or several dims; over one dim, as
    PyTorch does, the values and their indices; max(other), a tensor, is maximum(other)."""
    if isinstance(dim, Tensor) or "other" in names:
        other = names.pop("other") if dim is None else dim
        pairwise = elementwise.Maximum if op is Max else elementwise.Minimum
        return pairwise.apply(*_operands(tensor, other))
    axes, keep = _reduction_args(tensor, dim, keepdim, names, name)
    one_dim = names.get("axis", dim)
    if not isinstance(one_dim, (int, np.integer)):
        return op.apply(tensor, axes, keep)
    with_indices = MaxWithIndices if op is Max else MinWithIndices
    if tensor.ndim == 0:  # PyTorch: the value itself, at index 0
        return MinMax(*with_indices.apply(tensor.reshape(1), 0, False))
    assert axes is not None
    return MinMax(*with_indices.apply(tensor, axes[0], keep))


def arg_extremum(
    tensor: Tensor,
    arg: Callable[..., Any],
    dim: Any,
    keepdim: bool,
    names: dict[str, Any],
    name: str,
) -> Tensor:
    """argmax/argmin over everything (a flat index) or along `dim` (or NumPy's `axis`)."""
    dim, keepdim = _numpy_names(name, names, dim, keepdim)
    if tensor.numel() == 0:
        raise ShapeError(f"{name}: cannot reduce an empty tensor of shape {tensor.shape}")
    if dim is None or tensor.ndim == 0:
        return NonDifferentiableArg.apply(tensor, arg, None, False)
    return NonDifferentiableArg.apply(tensor, arg, _dim(dim, tensor.ndim, name), bool(keepdim))


class NonDifferentiableArg(BuiltinOp):
    """The index of the extreme element (int64): no gradient."""

    @staticmethod
    def forward(
        ctx: Ctx, x: Tensor, arg: Callable[..., Any], dim: int | None, keepdim: bool
    ) -> Tensor:
        kept = {} if dim is None else {"axis": dim, "keepdims": keepdim}
        out = Tensor._make(np.asarray(arg(x._data, **kept), dtype=np.int64))
        ctx.mark_non_differentiable(out)
        return out


def _reduced(x: Tensor, axes: Axes) -> tuple[int, ...]:
    return tuple(n for i, n in enumerate(x.shape) if axes is not None and i not in axes)


def _stable_logsumexp(x: np.ndarray, axes: Axes) -> np.ndarray:
    """log sum exp x over `axes`, kept dims, computed as m + log sum exp(x - m), m = max x."""
    m = np.max(x, axis=axes, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)  # all -inf (or inf) slices: leave them to NumPy
    return m + np.log(np.sum(np.exp(x - m), axis=axes, keepdims=True))


class LogSumExp(BuiltinOp):
    """z = log sum_i e^(x_i) over `axes`;  dz/dx = e^(x - z) = softmax(x) over those axes."""

    @staticmethod
    def forward(ctx: Ctx, x: Tensor, axes: Axes, keepdim: bool) -> Tensor:
        ctx.kept_shape = kept_shape(x.shape, axes)
        kept = _stable_logsumexp(x._data, axes)
        z = Tensor._make(kept if keepdim else kept.reshape(_reduced(x, axes)))
        ctx.save_for_backward(x, z)
        return z

    @staticmethod
    def backward(ctx: Ctx, g: Tensor) -> Grads:
        x, z = ctx.saved_tensors
        softmax = (x - z.reshape(ctx.kept_shape)).exp()
        return g.reshape(ctx.kept_shape) * softmax, None, None


class Softmax(BuiltinOp):
    """s = e^x / sum e^x along `dim`;  ds/dx applied to g: s * (g - sum(g * s))."""

    @staticmethod
    def forward(ctx: Ctx, x: Tensor, dim: int) -> Tensor:
        ctx.dim, axis = dim, (dim if x.ndim else None)  # a 0-d tensor is its own one slice
        e = np.exp(x._data - np.max(x._data, axis=axis, keepdims=True))  # e^x overflows at 710
        s = Tensor._make(e / np.sum(e, axis=axis, keepdims=True))
        ctx.save_for_backward(s)
        return s

    @staticmethod
    def backward(ctx: Ctx, g: Tensor) -> Grads:
        (s,) = ctx.saved_tensors
        return s * (g - (g * s).sum(dim=ctx.dim, keepdim=True)), None


class LogSoftmax(BuiltinOp):
    """z = x - logsumexp(x) along `dim`;  dz/dx applied to g: g - softmax(x) * sum(g)."""

    @staticmethod
    def forward(ctx: Ctx, x: Tensor, dim: int) -> Tensor:
        ctx.dim = dim
        ctx.save_for_backward(x)
        return Tensor._make(x._data - _stable_logsumexp(x._data, (dim,) if x.ndim else None))

    @staticmethod
    def backward(ctx: Ctx, g: Tensor) -> Grads:
        # softmax from x, not exp(output): x - logsumexp(x) has lost digits to cancellation
        (x,) = ctx.saved_tensors
        return g - x.softmax(ctx.dim) * g.sum(dim=ctx.dim, keepdim=True), None


def var(tensor: Tensor, dim: Any, keepdim: bool, options: dict[str, Any]) -> Tensor:
    """The variance over `dim`, divided by n - correction; `options` are correction=,
    unbiased= (True: correction 1) and NumPy's axis=, keepdims=."""
    correction = options.pop("correction", 1)
    if "unbiased" in options:
        correction = int(options.pop("unbiased"))
    axes, keep = _reduction_args(tensor, dim, keepdim, options, "var")
    centred = tensor - tensor.mean(dim=axes, keepdim=True)
    return (centred * centred).sum(dim=axes, keepdim=keep) / max(
        count(tensor.shape, axes) - correction, 0
    )


def norm(tensor: Tensor, p: Any, axes: Axes, keepdim: bool) -> Tensor:
    """The p-norm over `axes`: p = 2 (or "fro") by default, any p > 0, or inf / -inf, the
    largest / smallest |x|."""
    if tensor.dtype.kind != "f":
        raise DTypeError(f"norm: expects a floating-point tensor, got {tensor.dtype}")
    if p == "fro":
        p = 2
    if p in (math.inf, -math.inf):
        extreme = Max if p > 0 else Min
        return extreme.apply(tensor.abs(), axes, keepdim)
    if isinstance(p, (str, bool)) or not p > 0:
        raise ValueError(f"norm: p must be a positive number, 'fro', inf or -inf, got {p!r}")
    return Norm.apply(tensor, float(p), axes, keepdim)


class Norm(BuiltinOp):
    """z = (sum |x|^p)^(1/p) over `axes` (p = 2: the Euclidean length sqrt(sum x^2));
    dz/dx = sign(x) |x|^(p-1) / z^(p-1), which is x / z for p = 2, taken as 0 where z = 0
    (as PyTorch does: the norm has no derivative at 0)."""

    @staticmethod
    def forward(ctx: Ctx, x: Tensor, p: float, axes: Axes, keepdim: bool) -> Tensor:
        ctx.p, ctx.kept_shape = p, kept_shape(x.shape, axes)
        if p == 2:
            kept = np.sqrt(np.sum(x._data * x._data, axis=axes, keepdims=True))
        else:
            kept = np.sum(np.abs(x._data) ** p, axis=axes, keepdims=True) ** (1.0 / p)
        z = Tensor._make(kept if keepdim else kept.reshape(_reduced(x, axes)))
        ctx.save_for_backward(x, z)
        return z

    @staticmethod
    def backward(ctx: Ctx, g: Tensor) -> Grads:
        x, z = ctx.saved_tensors
        z = z.reshape(ctx.kept_shape)
        divisor = z.masked_fill(z == 0, 1.0)  # where z = 0 every x is 0: the gradient is 0
        if ctx.p == 2:
            direction = x / divisor
        else:
            direction = x.sign() * x.abs() ** (ctx.p - 1) / divisor ** (ctx.p - 1)
            direction = direction.masked_fill(x == 0, 0.0)  # |x|^(p-1) is infinite there for p < 1
        return g.reshape(ctx.kept_shape) * direction, None, None, None
