"""Ops whose output has no gradient: comparisons, sign, isnan, logical operators. They pass
through `Function.apply` like every op (so tools that observe ops see them), and mark their
output non-differentiable, so it never requires grad."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from ..tensor import Tensor
from ._builtin import BuiltinOp

Ctx = Any
Grads = tuple["Tensor | None", ...]

_TORCH_NAMES = {
    "less": "lt",
    "less_equal": "le",
    "greater": "gt",
    "greater_equal": "ge",
    "equal": "eq",
    "not_equal": "ne",
    "bitwise_and": "and",
    "bitwise_or": "or",
    "invert": "not",
}


class NonDifferentiable(BuiltinOp):
    """z = f(inputs) for a NumPy function without a useful gradient (comparisons, sign,
    isnan...); its output never requires grad."""

    function = ""  # the op's name in error messages: lt, sign...

    @staticmethod
    def forward(ctx: Ctx, f: Callable[..., Any], *inputs: Tensor) -> Tensor:
        ctx.function = _TORCH_NAMES.get(f.__name__, f.__name__)
        out = Tensor._make(f(*[t._data for t in inputs]))
        ctx.mark_non_differentiable(out)
        return out

    @staticmethod
    def backward(ctx: Ctx, g: Tensor) -> Grads:
        raise RuntimeError(f"{ctx.function} has no gradient")

    def _error_name(self) -> str:
        return self.function or "comparison"

    def _shape_message(self, error: Exception, args: Sequence[Any]) -> str:
        shapes = " with ".join(str(t.shape) for t in args if isinstance(t, Tensor))
        return f"{self.function}: cannot broadcast {shapes}"
