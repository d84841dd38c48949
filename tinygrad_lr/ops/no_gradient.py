"""Ops whose output has no gradient: comparisons, sign, isnan, logical operators, the check of
class-index targets. They pass through `Function.apply` like every op (so tools that observe
ops see them), and mark their output non-differentiable, so it never requires grad."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

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


class _ValueCheck(BuiltinOp):
    """A check of a loss's input values as an op (so that a compiled step checks the values of
    every call): it raises naming the loss, and its output is a constant without gradient."""

    @staticmethod
    def backward(ctx: Ctx, g: Tensor) -> Grads:
        raise RuntimeError(f"{type(ctx).__name__} has no gradient (it checks values)")

    def _explains(self, error: Exception) -> bool:
        return False  # the message names the loss already


def _constant(ctx: Ctx, values: np.ndarray) -> Tensor:
    out = Tensor._make(values)
    ctx.mark_non_differentiable(out)
    return out


class ProbabilityCheck(_ValueCheck):
    """True, after checking that every value of p lies in [0, 1] (binary_cross_entropy)."""

    @staticmethod
    def forward(ctx: Ctx, p: Tensor, loss: str) -> Tensor:
        values = p._data
        if values.size and not ((values >= 0) & (values <= 1)).all():
            raise ValueError(
                f"{loss}: input must hold probabilities in [0, 1], got values from "
                f"{values.min()} to {values.max()}; for logits use {loss}_with_logits"
            )
        return _constant(ctx, np.asarray(True))


class ClassIndexMask(_ValueCheck):
    """valid = (labels != ignore_index), after checking that every other label is a class
    index in [0, num_classes) (cross_entropy and nll_loss)."""

    @staticmethod
    def forward(ctx: Ctx, labels: Tensor, ignore_index: int, num_classes: int, loss: str) -> Tensor:
        valid = np.asarray(labels._data != ignore_index)
        used = labels._data[valid]
        if used.size and (used.min() < 0 or used.max() >= num_classes):
            raise ValueError(
                f"{loss}: target values must lie in [0, {num_classes}), got values from "
                f"{used.min()} to {used.max()}"
            )
        return _constant(ctx, valid)
