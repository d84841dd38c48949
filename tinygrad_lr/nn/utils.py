"""`torch.nn.utils`: `clip_grad_norm_` and `clip_grad_value_`, applied between backward and
the optimizer's step."""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

from ..autograd import no_grad
from ..creation import tensor
from ..tensor import Tensor

__all__ = ["clip_grad_norm_", "clip_grad_value_"]


def _with_grads(parameters: Tensor | Iterable[Tensor]) -> list[Tensor]:
    params = [parameters] if isinstance(parameters, Tensor) else list(parameters)
    return [p for p in params if p.grad is not None]


def clip_grad_norm_(
    parameters: Tensor | Iterable[Tensor],
    max_norm: float,
    norm_type: float = 2.0,
    error_if_nonfinite: bool = False,
) -> Tensor:
    """Scale all gradients together so that their joint norm (the norm of all gradient
    entries as one vector) is at most `max_norm`; returns the norm before clipping.

    The scale is max_norm / (norm + 1e-6), applied only when it is below 1, as in PyTorch."""
    params = _with_grads(parameters)
    if not params:
        return tensor(0.0)
    grads = [p.grad.detach().numpy() for p in params]  # type: ignore[union-attr]
    if math.isinf(norm_type):
        total = max(float(np.max(np.abs(g))) if g.size else 0.0 for g in grads)
    else:
        total = float(sum(np.sum(np.abs(g) ** norm_type) for g in grads) ** (1.0 / norm_type))
    if error_if_nonfinite and not math.isfinite(total):
        raise RuntimeError(
            f"clip_grad_norm_: the total norm of order {norm_type} of the gradients is "
            f"{total}, not finite"
        )
    scale = max_norm / (total + 1e-6)
    if scale < 1:
        with no_grad():
            for param in params:
                param.grad.mul_(scale)  # type: ignore[union-attr]
    return tensor(total)


def clip_grad_value_(parameters: Tensor | Iterable[Tensor], clip_value: float) -> None:
    """Clamp every gradient entry into [-clip_value, clip_value]."""
    with no_grad():
        for param in _with_grads(parameters):
            grad = param.grad.detach().numpy()  # type: ignore[union-attr]
            param.grad.copy_(np.clip(grad, -clip_value, clip_value))  # type: ignore[union-attr]
