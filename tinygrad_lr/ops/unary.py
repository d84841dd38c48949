"""Elementwise ops of one input: z_i = f(x_i).

Each `backward(ctx, g)` gets g = dL/dz and returns dL/dx, written in Tensor operations, so that
the backward is itself differentiable (second derivatives).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .._args import _operands
from ..tensor import Tensor
from ._builtin import BuiltinOp

Ctx = Any
Grads = tuple["Tensor | None", ...]


class Neg(BuiltinOp):
    """z = -x;  dz/dx = -1."""

    @staticmethod
    def forward(ctx: Ctx, x: Tensor) -> Tensor:
        return Tensor._make(-x._data)

    @staticmethod
    def backward(ctx: Ctx, g: Tensor) -> Grads:
        return (-g,)


class PowScalar(BuiltinOp):
    """z = x ** p for a fixed number p;  dz/dx = p x^(p-1)."""

    @classmethod
    def op_name(cls) -> str:
        return "pow"

    @staticmethod
    def forward(ctx: Ctx, x: Tensor, p: float) -> Tensor:
        ctx.save_for_backward(x)
        ctx.p = p
        return Tensor._make(x._data**p)

    @staticmethod
    def backward(ctx: Ctx, g: Tensor) -> Grads:
        (x,) = ctx.saved_tensors
        if ctx.p == 0:
            return g * 0.0, None  # not 0 * x^-1, which is NaN at x = 0
        return g * ctx.p * x ** (ctx.p - 1), None


class Exp(BuiltinOp):
    """z = e^x;  dz/dx = e^x = z (the output is saved rather than computed again)."""

    @staticmethod
    def forward(ctx: Ctx, x: Tensor) -> Tensor:
        z = Tensor._make(np.exp(x._data))
        ctx.save_for_backward(z)
        return z

    @staticmethod
    def backward(ctx: Ctx, g: Tensor) -> Grads:
        (z,) = ctx.saved_tensors
        return (g * z,)


class Log(BuiltinOp):
    """z = ln x;  dz/dx = 1/x."""

    @staticmethod
    def forward(ctx: Ctx, x: Tensor) -> Tensor:
        ctx.save_for_backward(x)
        return Tensor._make(np.log(x._data))

    @staticmethod
    def backward(ctx: Ctx, g: Tensor) -> Grads:
        (x,) = ctx.saved_tensors
        return (g / x,)


class Sqrt(BuiltinOp):
    """z = sqrt(x);  dz/dx = 1 / (2 sqrt(x)) = 1 / (2z)."""

    @staticmethod
    def forward(ctx: Ctx, x: Tensor) -> Tensor:
        z = Tensor._make(np.sqrt(x._data))
        ctx.save_for_backward(z)
        return z

    @staticmethod
    def backward(ctx: Ctx, g: Tensor) -> Grads:
        (z,) = ctx.saved_tensors
        return (g / (2.0 * z),)


class Sin(BuiltinOp):
    """z = sin x;  dz/dx = cos x."""

    @staticmethod
    def forward(ctx: Ctx, x: Tensor) -> Tensor:
        ctx.save_for_backward(x)
        return Tensor._make(np.sin(x._data))

    @staticmethod
    def backward(ctx: Ctx, g: Tensor) -> Grads:
        (x,) = ctx.saved_tensors
        return (g * x.cos(),)


class Cos(BuiltinOp):
    """z = cos x;  dz/dx = -sin x."""

    @staticmethod
    def forward(ctx: Ctx, x: Tensor) -> Tensor:
        ctx.save_for_backward(x)
        return Tensor._make(np.cos(x._data))

    @staticmethod
    def backward(ctx: Ctx, g: Tensor) -> Grads:
        (x,) = ctx.saved_tensors
        return (-g * x.sin(),)


class Abs(BuiltinOp):
    """z = |x|;  dz/dx = sign(x), taken as 0 at x = 0 (as PyTorch does)."""

    @staticmethod
    def forward(ctx: Ctx, x: Tensor) -> Tensor:
        ctx.save_for_backward(x)
        return Tensor._make(np.abs(x._data))

    @staticmethod
    def backward(ctx: Ctx, g: Tensor) -> Grads:
        (x,) = ctx.saved_tensors
        return (g * x.sign(),)


class Tanh(BuiltinOp):
    """z = tanh x;  dz/dx = 1 - tanh^2 x = 1 - z^2."""

    @staticmethod
    def forward(ctx: Ctx, x: Tensor) -> Tensor:
        z = Tensor._make(np.tanh(x._data))
        ctx.save_for_backward(z)
        return z

    @staticmethod
    def backward(ctx: Ctx, g: Tensor) -> Grads:
        (z,) = ctx.saved_tensors
        return (g * (1.0 - z * z),)


class Sigmoid(BuiltinOp):
    """z = 1 / (1 + e^-x);  dz/dx = z (1 - z)."""

    @staticmethod
    def forward(ctx: Ctx, x: Tensor) -> Tensor:
        # exp(-log(1 + e^-x)) never overflows, unlike 1 / (1 + exp(-x)) for x << 0.
        z = Tensor._make(np.exp(-np.logaddexp(0.0, -x._data)))
        ctx.save_for_backward(z)
        return z

    @staticmethod
    def backward(ctx: Ctx, g: Tensor) -> Grads:
        (z,) = ctx.saved_tensors
        return (g * z * (1.0 - z),)


class Relu(BuiltinOp):
    """z = max(x, 0);  dz/dx = 1 where z > 0, else 0 (0 at x = 0, as in PyTorch).
    A NaN passes through with gradient 1, as in PyTorch's relu."""

    @staticmethod
    def forward(ctx: Ctx, x: Tensor) -> Tensor:
        z = Tensor._make(np.where(x._data <= 0, np.zeros((), dtype=x.dtype), x._data))
        ctx.save_for_backward(z)
        return z

    @staticmethod
    def backward(ctx: Ctx, g: Tensor) -> Grads:
        (z,) = ctx.saved_tensors
        return (g.masked_fill(z <= 0, 0.0),)


def clamp(x: Tensor, low: Any, high: Any) -> Tensor:
    """clamp/clip with bounds that are numbers, arrays or tensors (broadcast against x), all
    passed to Clamp as tensors of one dtype (PyTorch's result_type of x and the bounds)."""
    if low is None and high is None:
        raise ValueError("clamp: at least one of min and max must be given")
    x, *bounds = _operands(x, *(b for b in (low, high) if b is not None))
    low, high = (None if b is None else bounds.pop(0) for b in (low, high))
    return Clamp.apply(x, low, high)


class Clamp(BuiltinOp):
    """z = min(max(x, low), high);  dz/dx = 1 where low <= x <= high, else 0.
    Tensor bounds get the gradient where they bound: dz/dlow = 1 where x < low."""

    @staticmethod
    def forward(ctx: Ctx, x: Tensor, low: Tensor | None, high: Tensor | None) -> Tensor:
        ctx.save_for_backward(x, low, high)
        arrays: list[Any] = [None if b is None else b._data for b in (low, high)]
        return Tensor._make(np.clip(x._data, *arrays))

    @staticmethod
    def backward(ctx: Ctx, g: Tensor) -> Grads:
        x, low, high = ctx.saved_tensors
        above = None if high is None else x > high
        # "inside" rather than "not outside": a NaN is neither, and gets no gradient (as in
        # PyTorch)
        inside = _both(None if low is None else x >= low, None if high is None else x <= high)
        gx = g.masked_fill(inside.logical_not(), 0.0)
        g_low = g_high = None
        if ctx.needs_input_grad[1]:  # where low > high, np.clip gives high: low gets nothing
            below = _both(x < low, None if above is None else above.logical_not())
            g_low = g.masked_fill(below.logical_not(), 0.0)
        if ctx.needs_input_grad[2]:
            g_high = g.masked_fill(above.logical_not(), 0.0)  # type: ignore[union-attr]
        return gx, g_low, g_high


def _both(a: Tensor | None, b: Tensor | None) -> Tensor:
    """a and b, elementwise; a missing condition holds everywhere."""
    assert a is not None or b is not None
    return b if a is None else a if b is None else a & b  # type: ignore[return-value]


# math.erf applied to each element: NumPy has no erf, and scipy is not a dependency
_erf = np.vectorize(math.erf, otypes=[np.float64])


class Erf(BuiltinOp):
    """z = erf x = (2/sqrt(pi)) * integral from 0 to x of e^(-t^2) dt;
    dz/dx = (2/sqrt(pi)) e^(-x^2)."""

    @staticmethod
    def forward(ctx: Ctx, x: Tensor) -> Tensor:
        ctx.save_for_backward(x)
        dtype = x.dtype if x.dtype.kind == "f" else np.dtype(np.float64)
        return Tensor._make(np.asarray(_erf(x._data), dtype=dtype))

    @staticmethod
    def backward(ctx: Ctx, g: Tensor) -> Grads:
        (x,) = ctx.saved_tensors
        return (g * (2.0 / math.sqrt(math.pi)) * (-(x * x)).exp(),)
