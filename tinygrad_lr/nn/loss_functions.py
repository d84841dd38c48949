"""Losses as functions of tensors (part of `nn.functional`), with PyTorch's names, arguments
and `reduction`: "mean" (the default), "sum", or "none" (one value per element or example).

Inputs may be tensors, arrays, lists or numbers. Class indices never get a gradient, and
neither do `weight` and `pos_weight` (they are taken out of the graph).
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np

from ..creation import as_tensor
from ..errors import ShapeError
from ..functions import where
from ..ops import ProbabilityCheck
from ..tensor import Tensor
from .activation_functions import softplus

__all__ = [
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "huber_loss",
    "l1_loss",
    "mse_loss",
    "smooth_l1_loss",
    "squared_loss",
]

Reduction = Literal["mean", "sum", "none"]
_REDUCTIONS = ("mean", "sum", "none")


def _to_tensor(value: Any, like: Tensor | None = None) -> Tensor:
    """Accept tensors, arrays, lists and numbers, as the loss functions of PyTorch do not
    (but learners try); a plain float array is converted to `like`'s dtype."""
    if isinstance(value, Tensor):
        return value
    dtype = like.dtype if like is not None and np.asarray(value).dtype.kind == "f" else None
    return as_tensor(value, dtype=dtype)


def _constant(value: Any, name: str, where: str) -> np.ndarray | None:
    """A weight as a float array (None stays None)."""
    if value is None:
        return None
    if isinstance(value, str):
        raise TypeError(f"{where}: {name} must be a tensor, got the string {value!r}")
    array = np.asarray(value.detach() if isinstance(value, Tensor) else value, dtype=np.float64)
    return array


def _weight_tensor(value: Any, name: str, where: str, dtype: Any) -> Tensor | None:
    """A weight as a tensor of `dtype` outside the graph (None stays None). A tensor is
    converted by tensor ops, which a compiled step replays with each call's weights."""
    if isinstance(value, Tensor):
        return value.detach().to(np.float64).to(dtype)  # through float64, as other weights
    if isinstance(value, np.ndarray) and value.dtype.kind in "fiu":  # a compiled step reads
        return as_tensor(value, dtype=np.float64).to(dtype)  # it at every call: as_tensor
    weights = _constant(value, name, where)
    return None if weights is None else as_tensor(weights.astype(dtype))


def legacy_reduction(size_average: Any, reduce: Any, reduction: str) -> str:
    """PyTorch's deprecated size_average/reduce flags as a reduction. A string in the
    size_average slot is taken as the reduction (`l1_loss(x, y, "sum")`)."""
    if isinstance(size_average, str):
        return size_average
    if size_average is None and reduce is None:
        return reduction
    if reduce is False:
        return "none"
    return "sum" if size_average is False else "mean"


def _reduce(loss: Tensor, reduction: str, name: str) -> Tensor:
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    if reduction == "none":
        return loss
    raise ValueError(f"{name}: reduction must be one of {_REDUCTIONS}, got {reduction!r}")


def _check_same_shape(input: Tensor, target: Tensor, name: str) -> None:
    # PyTorch only warns here; an (n, 1) prediction against an (n,) target silently
    # broadcasts to (n, n), the classic linear-regression bug, so we refuse it.
    if input.shape != target.shape:
        fits = input.numel() == target.numel()
        hint = f" (e.g. target.reshape({input.shape}))" if fits else ""
        raise ShapeError(
            f"{name}: input has shape {input.shape} but target has shape {target.shape}; "
            f"they must match{hint}"
        )


def _pair(input: Any, target: Any, name: str) -> tuple[Tensor, Tensor]:
    input = _to_tensor(input)
    target = _to_tensor(target, input)
    _check_same_shape(input, target, name)
    return input, target


# --- regression ---------------------------------------------------------------------------------


def squared_loss(y_hat: Tensor, y: Any) -> Tensor:
    """(y_hat - y)^2 / 2 per example, unreduced, as in the d2l chapter.

    `y` is reshaped to `y_hat`'s shape first: labels of shape (n,) against predictions of
    shape (n, 1) would otherwise broadcast to an (n, n) matrix of wrong differences."""
    y = _to_tensor(y, y_hat)
    if y.numel() != y_hat.numel():
        raise ShapeError(
            f"squared_loss: y_hat has shape {y_hat.shape} ({y_hat.numel()} values) but y has "
            f"shape {y.shape} ({y.numel()} values)"
        )
    return (y_hat - y.reshape(y_hat.shape)) ** 2 / 2


def mse_loss(
    input: Tensor,
    target: Any,
    size_average: Any = None,
    reduce: Any = None,
    reduction: Reduction = "mean",
) -> Tensor:
    """(input - target)^2, averaged ('mean'), summed ('sum') or per element ('none')."""
    input, target = _pair(input, target, "mse_loss")
    reduction = legacy_reduction(size_average, reduce, reduction)  # type: ignore[assignment]
    return _reduce((input - target) ** 2, reduction, "mse_loss")


def l1_loss(
    input: Tensor,
    target: Any,
    size_average: Any = None,
    reduce: Any = None,
    reduction: Reduction = "mean",
) -> Tensor:
    """|input - target|, averaged, summed or per element."""
    input, target = _pair(input, target, "l1_loss")
    reduction = legacy_reduction(size_average, reduce, reduction)  # type: ignore[assignment]
    return _reduce((input - target).abs(), reduction, "l1_loss")


def huber_loss(
    input: Tensor, target: Any, reduction: Reduction = "mean", delta: float = 1.0
) -> Tensor:
    """d^2 / 2 where |d| < delta, else delta (|d| - delta / 2), for d = input - target:
    quadratic near 0, linear (so robust to outliers) far from it."""
    if delta <= 0:
        raise ValueError(f"huber_loss: delta must be positive, got {delta}")
    input, target = _pair(input, target, "huber_loss")
    difference = input - target
    size = difference.abs()
    loss = where(size < delta, 0.5 * difference * difference, delta * (size - 0.5 * delta))
    return _reduce(loss, reduction, "huber_loss")


def smooth_l1_loss(
    input: Tensor,
    target: Any,
    size_average: Any = None,
    reduce: Any = None,
    reduction: Reduction = "mean",
    beta: float = 1.0,
) -> Tensor:
    """d^2 / (2 beta) where |d| < beta, else |d| - beta / 2: the Huber loss divided by beta
    (beta = 0 gives the L1 loss)."""
    if beta < 0:
        raise ValueError(f"smooth_l1_loss: beta must be non-negative, got {beta}")
    input, target = _pair(input, target, "smooth_l1_loss")
    reduction = legacy_reduction(size_average, reduce, reduction)  # type: ignore[assignment]
    difference = input - target
    size = difference.abs()
    if beta == 0:
        return _reduce(size, reduction, "smooth_l1_loss")
    loss = where(size < beta, 0.5 * difference * difference / beta, size - 0.5 * beta)
    return _reduce(loss, reduction, "smooth_l1_loss")


# --- binary classification ----------------------------------------------------------------------


def binary_cross_entropy(
    input: Tensor,
    target: Any,
    weight: Any = None,
    size_average: Any = None,
    reduce: Any = None,
    reduction: Reduction = "mean",
) -> Tensor:
    """-w [y log p + (1 - y) log(1 - p)] for probabilities p in [0, 1]; each log is clamped
    at -100, as in PyTorch, so p = 0 or 1 gives a finite loss."""
    if isinstance(weight, str):  # the reduction given in the weight slot
        weight, reduction = None, weight
    input, target = _pair(input, target, "binary_cross_entropy")
    ProbabilityCheck.apply(input, "binary_cross_entropy")  # an op: compiled steps check too
    log_p = input.log().clamp(min=-100)
    log_not_p = (1 - input).log().clamp(min=-100)
    loss = -(target * log_p + (1 - target) * log_not_p)
    weights = _weight_tensor(weight, "weight", "binary_cross_entropy", loss.dtype)
    if weights is not None:
        loss = loss * weights
    reduction = legacy_reduction(size_average, reduce, reduction)  # type: ignore[assignment]
    return _reduce(loss, reduction, "binary_cross_entropy")


def binary_cross_entropy_with_logits(
    input: Tensor,
    target: Any,
    weight: Any = None,
    size_average: Any = None,
    reduce: Any = None,
    reduction: Reduction = "mean",
    pos_weight: Any = None,
) -> Tensor:
    """-w [q y log sigmoid(x) + (1 - y) log(1 - sigmoid(x))] on logits x, with q = pos_weight
    (default 1) weighing the positive class. Since -log sigmoid(x) = softplus(-x) and
    -log(1 - sigmoid(x)) = softplus(x), no sigmoid is formed, so a logit of +-1000 costs no
    precision; without pos_weight this is softplus(x) - x y, with d/dx = sigmoid(x) - y."""
    if isinstance(weight, str):  # the reduction given in the weight slot
        weight, reduction = None, weight
    input, target = _pair(input, target, "binary_cross_entropy_with_logits")
    name = "binary_cross_entropy_with_logits"
    scale = _weight_tensor(pos_weight, "pos_weight", name, input.dtype)
    if scale is None:
        loss = softplus(input) - input * target
    else:
        loss = scale * target * softplus(-input) + (1 - target) * softplus(input)
    weights = _weight_tensor(weight, "weight", name, loss.dtype)
    if weights is not None:
        loss = loss * weights
    reduction = legacy_reduction(size_average, reduce, reduction)  # type: ignore[assignment]
    return _reduce(loss, reduction, "binary_cross_entropy_with_logits")
