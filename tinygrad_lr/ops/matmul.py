"""The matrix product, the op every linear model is made of."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..errors import ShapeError
from ..tensor import Tensor
from ._builtin import BuiltinOp

Grads = tuple["Tensor | None", ...]


class MatMul(BuiltinOp):
    """Z = X @ Y (1-D, 2-D, or batched with broadcast batch dimensions).

    dZ/dX: G @ Y^T,  dZ/dY: X^T @ G, where ^T swaps the last two dimensions. A 1-D operand is
    treated as a row (left) or column (right) vector whose extra dimension is then dropped.
    """

    @staticmethod
    def forward(ctx: Any, x: Tensor, y: Tensor) -> Tensor:
        if x.ndim == 0 or y.ndim == 0:
            raise ShapeError(
                f"matmul: both operands need at least one dimension, got {x.shape} @ {y.shape}"
            )
        inner_y = y.shape[-2] if y.ndim > 1 else y.shape[0]
        if x.shape[-1] != inner_y:
            raise ShapeError(
                f"matmul: inner dimensions do not match: {x.shape} @ {y.shape} "
                f"({x.shape[-1]} != {inner_y})"
            )
        ctx.save_for_backward(x, y)
        return Tensor._make(np.matmul(x._data, y._data))

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> Grads:
        x, y = ctx.saved_tensors
        if x.ndim == 1 and y.ndim == 1:  # dot product: a scalar output
            return g * y, g * x
        if x.ndim == 1:  # (k) @ (..., k, m) -> (..., m): x as a (1, k) row, then dropped
            return (g.unsqueeze(-2) @ y.mT).squeeze(-2), x.unsqueeze(-1) @ g.unsqueeze(-2)
        if y.ndim == 1:  # (..., n, k) @ (k) -> (..., n): y as a (k, 1) column, then dropped
            return g.unsqueeze(-1) @ y.unsqueeze(0), (x.mT @ g.unsqueeze(-1)).squeeze(-1)
        # Only the products that are needed: for `data @ w` the gradient of the data would
        # cost as much as the forward product and be thrown away.
        need_x, need_y = ctx.needs_input_grad
        return (g @ y.mT if need_x else None), (x.mT @ g if need_y else None)

    def _shape_message(self, error: Exception, args: Sequence[Any]) -> str:
        x, y = args
        return f"matmul: batch dimensions do not broadcast: {x.shape} @ {y.shape}"
