"""`torch.nn.utils`: `clip_grad_norm_` and `clip_grad_value_`, applied between backward and
the optimizer's step."""

from __future__ import annotations

import math
from collections.abc import Iterable

from ..autograd import no_grad
from ..creation import tensor, zeros
from ..functions import stack
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

    Each gradient is multiplied by min(1, max_norm / (norm + 1e-6)), as in PyTorch: by 1
    when the norm is within max_norm. Written in tensor ops, so a compiled step replays it
    (but `error_if_nonfinite` reads the norm into Python: such a step runs eagerly)."""
    params = _with_grads(parameters)
    if not params:
        return tensor(0.0)
    with no_grad():
        grads = [p.grad for p in params if p.grad is not None]
        if math.isinf(norm_type):
            total = stack([g.abs().max() if g.numel() else zeros((), dtype=g.dtype)
                           for g in grads]).max()  # fmt: skip
        else:
            total = stack([(g.abs() ** norm_type).sum() for g in grads]).sum() ** (1 / norm_type)
        if error_if_nonfinite and not math.isfinite(total.item()):
            raise RuntimeError(
                f"clip_grad_norm_: the total norm of order {norm_type} of the gradients is "
                f"{total.item()}, not finite"
            )
        scale = (max_norm / (total + 1e-6)).clamp(max=1.0)
        for grad in grads:
            grad.mul_(scale)
    return total


def clip_grad_value_(parameters: Tensor | Iterable[Tensor], clip_value: float) -> None:
    """Clamp every gradient entry into [-clip_value, clip_value]."""
    with no_grad():
        for param in _with_grads(parameters):
            grad = param.grad
            assert grad is not None
            grad.copy_(grad.clamp(-clip_value, clip_value))
