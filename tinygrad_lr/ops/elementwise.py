"""Elementwise ops of several inputs: z_i = f(x_i, y_i, ...), inputs broadcast against each
other; and the dtype conversion and copy (the ops of one input are in unary.py).

Each `backward(ctx, g)` gets g = dL/dz and returns dL/dx for each input, written in Tensor
operations. Gradients of broadcast inputs are summed back to the input's shape by the engine.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..tensor import Tensor
from ._builtin import Broadcasting, BuiltinOp
from .no_gradient import NonDifferentiable

Ctx = Any
Grads = tuple["Tensor | None", ...]


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
        # Each factor is needed only for the other's gradient: `3 * d` keeps nothing, so a later
        # `d += ...` is allowed, as in PyTorch.
        ctx.save_for_backward(x if y.requires_grad else None, y if x.requires_grad else None)
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
        ctx.save_for_backward(x if y.requires_grad else None, y)  # x only for dz/dy
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
        gx = None
        if ctx.needs_input_grad[0]:  # y = 0 gives 0, not 0 * x^-1 (NaN at x = 0)
            gx = (g * y * x ** (y - 1)).masked_fill(y == 0, 0.0)
        # x^y log x -> 0 as x -> 0 (for y > 0), where log(0) alone would make it NaN
        gy = g * x**y * x.masked_fill(x == 0, 1.0).log() if ctx.needs_input_grad[1] else None
        return gx, gy


class Remainder(Broadcasting):
    """z = x mod y with the sign of y (Python's %, torch.remainder): z = x - floor(x/y) y;
    dz/dx = 1,  dz/dy = -floor(x/y) (floor's own derivative is 0 wherever it is defined)."""

    @staticmethod
    def forward(ctx: Ctx, x: Tensor, y: Tensor) -> Tensor:
        ctx.save_for_backward(x, y)
        return Tensor._make(np.remainder(x._data, y._data))

    @staticmethod
    def backward(ctx: Ctx, g: Tensor) -> Grads:
        x, y = ctx.saved_tensors
        need_y = ctx.needs_input_grad[1]
        return g, (-g * NonDifferentiable.apply(np.floor_divide, x, y) if need_y else None)


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


class Cast(BuiltinOp):
    """z = x converted to another dtype;  dz/dx = 1, converted back to x's dtype."""

    @classmethod
    def op_name(cls) -> str:
        return "to"

    @staticmethod
    def forward(ctx: Ctx, x: Tensor, dtype: np.dtype) -> Tensor:
        return Tensor._make(x._data.astype(dtype))

    @staticmethod
    def backward(ctx: Ctx, g: Tensor) -> Grads:
        return g, None  # the engine casts it back to x's dtype


def cast(x: Tensor, dtype: np.dtype, copy: bool = False) -> Tensor:
    """x in `dtype`: x itself when it already is (a copy if `copy`), else a recorded Cast."""
    if x.dtype != dtype:
        return Cast.apply(x, dtype)
    return Clone.apply(x) if copy else x


class Clone(BuiltinOp):
    """z = a copy of x;  dz/dx = 1."""

    @staticmethod
    def forward(ctx: Ctx, x: Tensor) -> Tensor:
        return Tensor._make(x._data.copy())

    @staticmethod
    def backward(ctx: Ctx, g: Tensor) -> Grads:
        return (g,)


# The in-place updates `x += y`, `x -= y`, ...: on the array, when nothing is recorded.


def scaled(value: Any, alpha: Any) -> Any:
    """`alpha * value`, for the `alpha=` of add and sub (the value itself when alpha is 1); a
    NumPy array is multiplied as a tensor, so that tl.compile sees the array it reads."""
    if alpha == 1:
        return value
    if isinstance(value, np.ndarray):
        from ..creation import as_tensor  # here: creation builds on the ops

        value = as_tensor(value)
    return value * alpha


def add_into(a: np.ndarray, b: Any) -> None:
    np.add(a, b, out=a)


def sub_into(a: np.ndarray, b: Any) -> None:
    np.subtract(a, b, out=a)


def mul_into(a: np.ndarray, b: Any) -> None:
    np.multiply(a, b, out=a)


def div_into(a: np.ndarray, b: Any) -> None:
    np.divide(a, b, out=a)
