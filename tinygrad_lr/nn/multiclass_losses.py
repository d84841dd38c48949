"""`cross_entropy` and `nll_loss` (part of `nn.functional`), with PyTorch's arguments.

The input has the classes along dimension 1: shape (N, C), (N, C, d1, ...), or (C,) for one
example. The target holds class indices (integers, the input's shape without the class
dimension) or, for cross_entropy, class probabilities (the input's shape). The log-probability
of each target class is picked with `where` against a one-hot mask (the labels compared with
`arange(C)`), which needs no gather op and no Python loop, and gives no NaN when another
class's probability underflows to 0. The labels are only ever used through Tensor ops (their
range is checked by the op ClassIndexMask), so `tl.compile` replays a step with these losses.
"""

from __future__ import annotations

from typing import Any

from ..autograd.grad_mode import is_grad_enabled
from ..creation import arange, as_tensor
from ..errors import DTypeError, ShapeError
from ..functions import where
from ..ops import ClassIndexMask
from ..tensor import Tensor
from .loss_functions import Reduction, _constant, _reduce, _to_tensor, legacy_reduction

__all__ = ["cross_entropy", "nll_loss"]


def _class_dim(input: Tensor, name: str) -> int:
    if input.ndim == 0:
        raise ShapeError(
            f"{name}: input must have shape (N, C), (C,) or (N, C, d1, ...), got a scalar"
        )
    return 0 if input.ndim == 1 else 1


def _class_weights(weight: Any, input: Tensor, name: str) -> Tensor | None:
    """The class weights as a tensor of the input's dtype (None stays None); a tensor is used
    as it is, so a compiled step reads its values at every call. As in PyTorch, class-index
    targets take no gradient for the weights (probability targets do)."""
    if weight is None:
        return None
    weights = weight if isinstance(weight, Tensor) else as_tensor(_constant(weight, "weight", name))
    num_classes = input.shape[_class_dim(input, name)]
    if weights.shape != (num_classes,):
        raise ShapeError(
            f"{name}: weight must have one entry per class, shape ({num_classes},), got "
            f"{weights.shape}"
        )
    return weights.to(input.dtype)


def _refuse_weights_requiring_grad(weights: Tensor | None, name: str) -> None:
    if weights is not None and weights.requires_grad and is_grad_enabled():
        raise RuntimeError(
            f"{name}: with class-index targets the loss has no gradient for weight, which "
            "requires grad (as in PyTorch); pass weight.detach()"
        )


def _valid_labels(target: Tensor, input: Tensor, ignore_index: int, name: str) -> Tensor:
    """The mask of the examples whose target is not ignore_index, after checking the shape
    here and, in the op ClassIndexMask, that the other targets are class indices."""
    class_dim = _class_dim(input, name)
    expected = input.shape[:class_dim] + input.shape[class_dim + 1 :]
    if target.shape != expected:
        raise ShapeError(
            f"{name}: class-index target must have shape {expected} for input of "
            f"shape {input.shape}, got {target.shape}"
        )
    return ClassIndexMask.apply(target, ignore_index, input.shape[class_dim], name)


def _picked_losses(
    log_probs: Tensor, target: Tensor, valid: Tensor, weights: Tensor | None
) -> tuple[Tensor, Tensor]:
    """-w[y] log p[y] per example (0 where the target is ignored), and the weights w[y] (0
    where ignored), whose sum is what 'mean' divides by. All Tensor ops on the labels, so a
    compiled step computes them at every call; the losses are multiplied by the weights even
    when all are 1, which changes no bit and needs no look at the values."""
    class_dim = 0 if log_probs.ndim == 1 else 1
    num_classes = log_probs.shape[class_dim]
    safe = where(valid, target, 0)  # ignored examples point at class 0, then are masked
    classes = arange(num_classes).reshape(_along_classes(log_probs, class_dim))
    chosen = (safe.unsqueeze(class_dim) == classes) & valid.unsqueeze(class_dim)
    losses = -where(chosen, log_probs, 0.0).sum(dim=class_dim)
    example_weights = valid.to(log_probs.dtype)
    if weights is not None:
        example_weights = example_weights * weights[safe]
    return losses * example_weights, example_weights


def _along_classes(input: Tensor, class_dim: int) -> tuple[int, ...]:
    """The shape of a per-class vector that broadcasts along the class dimension."""
    return (input.shape[class_dim],) + (1,) * (input.ndim - class_dim - 1)


def _reduce_weighted(losses: Tensor, weight_sum: Tensor, reduction: str, name: str) -> Tensor:
    """'mean' divides by the total weight of the examples (their number without weights)."""
    if reduction == "mean":
        return losses.sum() / weight_sum
    return _reduce(losses, reduction, name)


def nll_loss(
    input: Tensor,
    target: Any,
    weight: Any = None,
    size_average: Any = None,
    ignore_index: int = -100,
    reduce: Any = None,
    reduction: Reduction = "mean",
) -> Tensor:
    """-w[y] * input[y] per example, for input holding log-probabilities (log_softmax's
    output) and target holding class indices; 'mean' divides by the sum of w[y] over the
    examples not ignored."""
    if isinstance(weight, str):  # the reduction given in the weight slot
        weight, reduction = None, weight
    reduction = legacy_reduction(size_average, reduce, reduction)  # type: ignore[assignment]
    input = _to_tensor(input)
    target = _to_tensor(target)
    if target.dtype.kind not in "iu":
        raise DTypeError(
            f"nll_loss: target must hold integer class indices, got dtype {target.dtype}; "
            "convert with target.long()"
        )
    valid = _valid_labels(target, input, ignore_index, "nll_loss")
    weights = _class_weights(weight, input, "nll_loss")
    _refuse_weights_requiring_grad(weights, "nll_loss")
    losses, example_weights = _picked_losses(input, target, valid, weights)
    return _reduce_weighted(losses, example_weights.sum(), reduction, "nll_loss")


def cross_entropy(
    input: Tensor,
    target: Any,
    weight: Any = None,
    size_average: Any = None,
    ignore_index: int = -100,
    reduce: Any = None,
    reduction: Reduction = "mean",
    label_smoothing: float = 0.0,
) -> Tensor:
    """-log softmax(x)[y] for logits x: nll_loss of log_softmax over the class dimension.

    With label_smoothing e, the target is mixed with the uniform distribution: the loss is
    (1 - e) * (that loss) + e / C * (-sum over classes of w[c] log softmax(x)[c]). With
    probability targets q: -sum_c w[c] q[c] log softmax(x)[c], averaged over the examples."""
    if isinstance(weight, str):  # the reduction given in the weight slot
        weight, reduction = None, weight
    reduction = legacy_reduction(size_average, reduce, reduction)  # type: ignore[assignment]
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(
            f"cross_entropy: label_smoothing must lie in [0, 1], got {label_smoothing}"
        )
    input = _to_tensor(input)
    target = _to_tensor(target, input)
    class_dim = _class_dim(input, "cross_entropy")
    num_classes = input.shape[class_dim]
    weights = _class_weights(weight, input, "cross_entropy")
    log_probs = input.log_softmax(class_dim)
    class_weights = None if weights is None else weights.reshape(_along_classes(input, class_dim))
    if target.dtype.kind in "iu":
        _refuse_weights_requiring_grad(weights, "cross_entropy")
        valid = _valid_labels(target, input, ignore_index, "cross_entropy")
        losses, example_weights = _picked_losses(log_probs, target, valid, weights)
        weight_sum = example_weights.sum()
        loss = _reduce_weighted(losses, weight_sum, reduction, "cross_entropy")
        if label_smoothing == 0:
            return loss
        weighted = log_probs if class_weights is None else log_probs * class_weights
        smooth = -weighted.sum(dim=class_dim) * valid.to(input.dtype)
        smooth = _reduce_weighted(smooth, weight_sum, reduction, "cross_entropy")
        return (1 - label_smoothing) * loss + (label_smoothing / num_classes) * smooth
    if target.dtype.kind != "f":
        raise TypeError(
            f"cross_entropy: target must hold integer class indices or float probabilities, "
            f"got dtype {target.dtype}"
        )
    if target.shape != input.shape:
        if target.shape == input.shape[:class_dim] + input.shape[class_dim + 1 :]:
            raise DTypeError(
                f"cross_entropy: a target of shape {target.shape} holds class indices, which "
                f"must be integers, got dtype {target.dtype}; convert with target.long()"
            )
        raise ShapeError(
            f"cross_entropy (probability target): input has shape {input.shape} but target "
            f"has shape {target.shape}; they must match"
        )
    if label_smoothing:
        target = target * (1 - label_smoothing) + label_smoothing / num_classes
    weighted = log_probs * target
    if class_weights is not None:
        weighted = weighted * class_weights
    return _reduce(-weighted.sum(dim=class_dim), reduction, "cross_entropy")
