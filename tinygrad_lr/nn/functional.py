"""Activations and losses as functions of tensors (`torch.nn.functional` names).

Every function here is built from Tensor operations, so autograd differentiates it with no
extra code. Where a textbook formula overflows (exp of a large logit), a shift is subtracted
first; the shift is detached because the result does not depend on it mathematically, so the
gradient stays exact everywhere, including at the kinks of `max`/`relu`.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np

from ..creation import as_tensor
from ..errors import DTypeError, ShapeError
from ..functions import where
from ..tensor import Tensor

Reduction = Literal["mean", "sum", "none"]
_REDUCTIONS = ("mean", "sum", "none")


def _to_tensor(value: Any, like: Tensor | None = None) -> Tensor:
    """Accept tensors, arrays, lists and numbers, as the loss functions of PyTorch do not
    (but learners try); a plain float array is converted to `like`'s dtype."""
    if isinstance(value, Tensor):
        return value
    dtype = like.dtype if like is not None and np.asarray(value).dtype.kind == "f" else None
    return as_tensor(value, dtype=dtype)


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


# --- activations --------------------------------------------------------------------------------


def relu(input: Tensor) -> Tensor:
    """max(x, 0)."""
    return input.relu()


def tanh(input: Tensor) -> Tensor:
    """(e^x - e^-x) / (e^x + e^-x)."""
    return input.tanh()


def sigmoid(input: Tensor) -> Tensor:
    """1 / (1 + e^-x) (the op computes it without overflow for x << 0)."""
    return input.sigmoid()


def softplus(input: Tensor) -> Tensor:
    """log(1 + e^x) = m + log(e^-m + e^(x-m)) with m = max(x, 0), so no exp overflows.

    d/dx = sigmoid(x) exactly, also at x = 0 (a relu/abs formulation gets 0 there)."""
    shift = input.detach().relu()
    return shift + ((-shift).exp() + (input - shift).exp()).log()


def log_softmax(input: Tensor, dim: int = -1) -> Tensor:
    """x_i - log sum_j e^(x_j) along `dim` (the op subtracts the maximum before exp)."""
    return input.log_softmax(dim)


def softmax(input: Tensor, dim: int = -1) -> Tensor:
    """e^(x_i) / sum_j e^(x_j) along `dim`."""
    return input.softmax(dim)


# --- losses -------------------------------------------------------------------------------------


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


def mse_loss(input: Tensor, target: Any, reduction: Reduction = "mean") -> Tensor:
    """(input - target)^2, averaged ('mean'), summed ('sum') or per element ('none')."""
    target = _to_tensor(target, input)
    _check_same_shape(input, target, "mse_loss")
    return _reduce((input - target) ** 2, reduction, "mse_loss")


def l1_loss(input: Tensor, target: Any, reduction: Reduction = "mean") -> Tensor:
    """|input - target|, averaged, summed or per element."""
    target = _to_tensor(target, input)
    _check_same_shape(input, target, "l1_loss")
    return _reduce((input - target).abs(), reduction, "l1_loss")


def binary_cross_entropy_with_logits(
    input: Tensor, target: Any, reduction: Reduction = "mean"
) -> Tensor:
    """-[y log sigmoid(x) + (1 - y) log(1 - sigmoid(x))] = softplus(x) - x y.

    Works on logits x, never forming sigmoid(x), so a logit of +-1000 costs no precision;
    d/dx = sigmoid(x) - y."""
    target = _to_tensor(target, input)
    _check_same_shape(input, target, "binary_cross_entropy_with_logits")
    loss = softplus(input) - input * target
    return _reduce(loss, reduction, "binary_cross_entropy_with_logits")


def cross_entropy(input: Tensor, target: Any, reduction: Reduction = "mean") -> Tensor:
    """-log softmax(x)[target] for logits of shape (N, C) (or (C,)).

    `target` holds class indices (integers of shape (N,), or a 0-d index for (C,) input), or
    class probabilities of the input's shape. The index form is computed as a sum against a
    one-hot matrix, which needs no gather op and no Python loop."""
    target = _to_tensor(target, input)
    if input.ndim not in (1, 2):
        raise ShapeError(f"cross_entropy: input must have shape (N, C) or (C,), got {input.shape}")
    num_classes = input.shape[-1]
    log_probs = log_softmax(input, dim=-1)
    if target.dtype.kind in "iu":
        expected = input.shape[:-1]
        if target.shape != expected:
            raise ShapeError(
                f"cross_entropy: class-index target must have shape {expected} for input of "
                f"shape {input.shape}, got {target.shape}"
            )
        labels = target.numpy()
        if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
            raise ValueError(
                f"cross_entropy: target values must lie in [0, {num_classes}), got values from "
                f"{labels.min()} to {labels.max()}"
            )
        chosen = Tensor(np.eye(num_classes, dtype=bool)[labels])
        # where, not a product with a one-hot matrix: 0 * log p is NaN when p underflows to 0.
        loss = -where(chosen, log_probs, 0.0).sum(dim=-1)
    elif target.dtype.kind == "f":
        if target.shape == input.shape[:-1] and input.ndim == 2:
            raise DTypeError(
                f"cross_entropy: a target of shape {target.shape} holds class indices, which "
                f"must be integers, got dtype {target.dtype}; convert with target.long()"
            )
        _check_same_shape(input, target, "cross_entropy (probability target)")
        loss = -(target * log_probs).sum(dim=-1)
    else:
        raise TypeError(
            f"cross_entropy: target must hold integer class indices or float probabilities, "
            f"got dtype {target.dtype}"
        )
    return _reduce(loss, reduction, "cross_entropy")
