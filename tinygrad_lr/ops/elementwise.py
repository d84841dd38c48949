"""Elementwise ops: z_i = f(x_i, y_i, ...), inputs broadcast against each other.

Each `backward(ctx, g)` gets g = dL/dz and returns dL/dx for each input, written in Tensor
operations. Gradients of broadcast inputs are summed back to the input's shape by the engine.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..tensor import Tensor
from ._builtin import Broadcasting, BuiltinOp

Ctx = Any
Grads = tuple["Tensor | None", ...]


# --- two inputs ---------------------------------------------------------------------------------


class Add(Broadcasting):
    """z = x + y;  dz/dx = 1,  dz/dy = 1."""

    @staticmethod
    def forward(ctx: Ctx, x: Tensor, y: Tensor) -> Tensor:
        return Tensor._make(x._data + y._data)

    @staticmethod
    def backward(ctx: Ctx, g: Tensor) -> Grads:
        return g, g


class Sub(Broadcasting):
    """z = x - y;  dz/dx = 1,  dz/dy = -1."""

    @staticmethod
    def forward(ctx: Ctx, x: Tensor, y: Tensor) -> Tensor:
        return Tensor._make(x._data - y._data)

    @staticmethod
    def backward(ctx: Ctx, g: Tensor) -> Grads:
        return g, (-g if ctx.needs_input_grad[1] else None)


class Mul(Broadcasting):
    """z = x * y;  dz/dx = y,  dz/dy = x."""

    @staticmethod
    def forward(ctx: Ctx, x: Tensor, y: Tensor) -> Tensor:
        ctx.save_for_backward(x, y)
        return Tensor._make(x._data * y._data)

    @staticmethod
    def backward(ctx: Ctx, g: Tensor) -> Grads:
        x, y = ctx.saved_tensors
        need_x, need_y = ctx.needs_input_grad  # `w * data` skips the data's gradient
        return (g * y if need_x else None), (g * x if need_y else None)


class Div(Broadcasting):
    """z = x / y;  dz/dx = 1/y,  dz/dy = -x/y^2."""

    @staticmethod
    def forward(ctx: Ctx, x: Tensor, y: Tensor) -> Tensor:
        ctx.save_for_backward(x, y)
        return Tensor._make(x._data / y._data)

    @staticmethod
    def backward(ctx: Ctx, g: Tensor) -> Grads:
        x, y = ctx.saved_tensors
        gx = g / y
        return gx, (-gx * x / y if ctx.needs_input_grad[1] else None)


class Pow(Broadcasting):
    """z = x ** y;  dz/dx = y x^(y-1),  dz/dy = x^y log x  (taken as 0 where x = 0)."""

    @staticmethod
    def forward(ctx: Ctx, x: Tensor, y: Tensor) -> Tensor:
        ctx.save_for_backward(x, y)
        return Tensor._make(x._data**y._data)

    @staticmethod
    def backward(ctx: Ctx, g: Tensor) -> Grads:
        x, y = ctx.saved_tensors
        gx = g * y * x ** (y - 1) if ctx.needs_input_grad[0] else None
        # x^y log x -> 0 as x -> 0 (for y > 0), where log(0) alone would make it NaN
        gy = g * x**y * x.masked_fill(x == 0, 1.0).log() if ctx.needs_input_grad[1] else None
        return gx, gy


class Maximum(Broadcasting):
    """z = max(x, y) elementwise;  the gradient goes to the larger input, half each at ties.
    A NaN wins, as in np.maximum, and the input it came from gets the gradient."""

    @staticmethod
    def forward(ctx: Ctx, x: Tensor, y: Tensor) -> Tensor:
        ctx.save_for_backward(x, y)
        return Tensor._make(np.maximum(x._data, y._data))

    @staticmethod
    def backward(ctx: Ctx, g: Tensor) -> Grads:
        x, y = ctx.saved_tensors
        share = _share_of_first(x > y, x, y)
        return g * share, g * (1.0 - share)


class Minimum(Broadcasting):
    """z = min(x, y) elementwise;  the gradient goes to the smaller input, half each at ties.
    A NaN wins, as in np.minimum, and the input it came from gets the gradient."""

    @staticmethod
    def forward(ctx: Ctx, x: Tensor, y: Tensor) -> Tensor:
        ctx.save_for_backward(x, y)
        return Tensor._make(np.minimum(x._data, y._data))

    @staticmethod
    def backward(ctx: Ctx, g: Tensor) -> Grads:
        x, y = ctx.saved_tensors
        share = _share_of_first(x < y, x, y)
        return g * share, g * (1.0 - share)


def _share_of_first(x_wins: Tensor, x: Tensor, y: Tensor) -> Tensor:
    """The part of the gradient of max(x, y) or min(x, y) that goes to x: 1 where x wins,
    1/2 at ties, and where NaNs make the result NaN, 1 to the NaN (1/2 if both are NaN)."""
    x_nan, y_nan = x.isnan().to(x.dtype), y.isnan().to(x.dtype)
    return x_wins.to(x.dtype) + 0.5 * (x == y).to(x.dtype) + x_nan * (1.0 - 0.5 * y_nan)


class Where(Broadcasting):
    """z = x where cond holds, else y;  dz/dx = cond,  dz/dy = not cond;  cond gets none."""

    @staticmethod
    def forward(ctx: Ctx, cond: Tensor, x: Tensor, y: Tensor) -> Tensor:
        ctx.save_for_backward(cond)
        return Tensor._make(np.where(cond._data, x._data, y._data))

    @staticmethod
    def backward(ctx: Ctx, g: Tensor) -> Grads:
        (cond,) = ctx.saved_tensors
        return None, g.masked_fill(cond.logical_not(), 0.0), g.masked_fill(cond, 0.0)


# --- one input ----------------------------------------------------------------------------------


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


class Clamp(BuiltinOp):
    """z = min(max(x, low), high);  dz/dx = 1 where low <= x <= high, else 0.
    Tensor bounds get the gradient where they bound: dz/dlow = 1 where x < low."""

    @staticmethod
    def forward(ctx: Ctx, x: Tensor, low: Any, high: Any) -> Tensor:
        ctx.save_for_backward(x, *(b for b in (low, high) if isinstance(b, Tensor)))
        ctx.low, ctx.high = (b if not isinstance(b, Tensor) else "tensor" for b in (low, high))
        arrays = [b._data if isinstance(b, Tensor) else b for b in (low, high)]
        return Tensor._make(np.clip(x._data, *arrays))

    @staticmethod
    def backward(ctx: Ctx, g: Tensor) -> Grads:
        x, *tensor_bounds = ctx.saved_tensors
        bounds = iter(tensor_bounds)
        low, high = (next(bounds) if b == "tensor" else b for b in (ctx.low, ctx.high))
        # "not inside" rather than "outside": a NaN is neither, and gets no gradient (as in
        # PyTorch)
        inside = Tensor._make(np.ones(x.shape, dtype=bool))
        if low is not None:
            inside = inside & (x >= low)
        if high is not None:
            inside = inside & (x <= high)
        gx = g.masked_fill(inside.logical_not(), 0.0)
        g_low = g.masked_fill((x < low).logical_not(), 0.0) if ctx.needs_input_grad[1] else None
        g_high = g.masked_fill((x > high).logical_not(), 0.0) if ctx.needs_input_grad[2] else None
        return gx, g_low, g_high


class Cast(BuiltinOp):
    """z = x converted to another dtype;  dz/dx = 1, converted back to x's dtype."""

    @classmethod
    def op_name(cls) -> str:
        return "to"

    @staticmethod
    def forward(ctx: Ctx, x: Tensor, dtype: np.dtype) -> Tensor:
        ctx.input_dtype = x.dtype
        return Tensor._make(x._data.astype(dtype))

    @staticmethod
    def backward(ctx: Ctx, g: Tensor) -> Grads:
        return g.to(ctx.input_dtype), None


class Clone(BuiltinOp):
    """z = a copy of x;  dz/dx = 1."""

    @staticmethod
    def forward(ctx: Ctx, x: Tensor) -> Tensor:
        return Tensor._make(x._data.copy())

    @staticmethod
    def backward(ctx: Ctx, g: Tensor) -> Grads:
        return (g,)
