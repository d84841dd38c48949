"""RMSprop and Adagrad: steps scaled by a running size of the gradient (PyTorch's formulas)."""

from __future__ import annotations

import functools
from typing import Any

from ..autograd import no_grad
from ..creation import full_like, zeros_like
from ..tensor import Tensor
from .live import count, guard, hyper, live
from .optimizer import (
    Optimizer,
    ParamsLike,
    check_number,
    lerp,
    new_count,
    weight_branch,
)  # fmt: skip

__all__ = ["Adagrad", "RMSprop"]


class RMSprop(Optimizer):
    """RMSprop (Hinton), with PyTorch's formulation:

    g = grad + weight_decay * p
    s = alpha * s + (1 - alpha) * g^2                  (s starts at 0)
    a = sqrt(s - m^2) + eps with m = alpha * m + (1 - alpha) * g if centered, else sqrt(s) + eps
    buf = momentum * buf + g / a, p = p - lr * buf     (when momentum > 0)
    p = p - lr * g / a                                 (otherwise)
    """

    def __init__(
        self,
        params: ParamsLike,
        lr: float = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        momentum: float = 0.0,
        centered: bool = False,
    ) -> None:
        defaults = dict(
            lr=lr,
            alpha=alpha,
            eps=eps,
            weight_decay=weight_decay,
            momentum=momentum,
            centered=centered,
        )
        super().__init__(params, defaults)

    def _validate(self, group: dict[str, Any]) -> None:
        for name in ("lr", "alpha", "eps", "weight_decay", "momentum"):
            group[name] = check_number(group[name], name, "RMSprop")
        group["centered"] = bool(group["centered"])

    @no_grad()
    def step(self) -> None:
        for group in self._groups():
            weight_decay, momentum, centered, nearer_end = guard(
                functools.partial(_rmsprop_branches, group)
            )
            for param, grad in self._parameters_with_grad(group):
                if weight_decay:
                    grad = grad + hyper(group, "weight_decay", param) * param
                state = self.state.setdefault(param, {})
                if not state:
                    state["step"] = new_count()
                    state["square_avg"] = zeros_like(param)
                    if momentum:
                        state["momentum_buffer"] = zeros_like(param)
                    if centered:
                        state["grad_avg"] = zeros_like(param)
                state["step"].add_(1.0)
                square_avg = state["square_avg"]
                square_avg.mul_(hyper(group, "alpha", param))
                square_avg.add_(hyper(group, "alpha", param, _one_minus) * grad * grad)
                if centered:
                    grad_avg = state["grad_avg"]
                    grad_avg.copy_(lerp(grad_avg, grad, group, "alpha", nearer_end))
                    scale = (square_avg - grad_avg * grad_avg).sqrt() + hyper(group, "eps", param)
                else:
                    scale = square_avg.sqrt() + hyper(group, "eps", param)
                if momentum:
                    buffer = state["momentum_buffer"]
                    buffer.mul_(hyper(group, "momentum", param))
                    buffer.add_(grad / scale)
                    param.sub_(hyper(group, "lr", param) * buffer)
                else:
                    # In PyTorch's order of rounding (addcdiv): p + (-lr * g) / a.
                    param.add_(hyper(group, "lr", param, _minus) * grad / scale)


class Adagrad(Optimizer):
    """Adagrad (Duchi et al.), with PyTorch's formulation; t counts steps from 1:

    g = grad + weight_decay * p
    s = s + g^2                                   (s starts at initial_accumulator_value)
    p = p - lr / (1 + (t - 1) * lr_decay) * g / (sqrt(s) + eps)
    """

    def __init__(
        self,
        params: ParamsLike,
        lr: float = 1e-2,
        lr_decay: float = 0.0,
        weight_decay: float = 0.0,
        initial_accumulator_value: float = 0.0,
        eps: float = 1e-10,
    ) -> None:
        defaults = dict(
            lr=lr,
            lr_decay=lr_decay,
            weight_decay=weight_decay,
            initial_accumulator_value=initial_accumulator_value,
            eps=eps,
        )
        super().__init__(params, defaults)

    def _validate(self, group: dict[str, Any]) -> None:
        for name in ("lr", "lr_decay", "weight_decay", "initial_accumulator_value", "eps"):
            group[name] = check_number(group[name], name, "Adagrad")

    @no_grad()
    def step(self) -> None:
        for group in self._groups():
            weight_decay = guard(functools.partial(_adagrad_branches, group))
            for param, grad in self._parameters_with_grad(group):
                if weight_decay:
                    grad = grad + hyper(group, "weight_decay", param) * param
                state = self.state.setdefault(param, {})
                if not state:
                    state["step"] = new_count()
                    state["sum"] = full_like(param, group["initial_accumulator_value"])
                step, total = state["step"], state["sum"]
                step.add_(1.0)
                minus_step_lr = live(functools.partial(_minus_step_lr, group, step), param)
                total.add_(grad * grad)
                scale = total.sqrt() + hyper(group, "eps", param)
                param.add_(minus_step_lr * grad / scale)


def _rmsprop_branches(group: dict[str, Any]) -> tuple[bool, bool, bool, bool]:
    """The Python branches of RMSprop's update: weight decay, momentum, centered, lerp's end."""
    nearer_end = weight_branch(group, "alpha")
    return bool(group["weight_decay"]), group["momentum"] > 0, group["centered"], nearer_end


def _adagrad_branches(group: dict[str, Any]) -> bool:
    return bool(group["weight_decay"])


def _minus_step_lr(group: dict[str, Any], step: Tensor) -> float:
    """-lr / (1 + (t - 1) lr_decay): Adagrad's decayed rate, negated (p + (-lr g) / a)."""
    return -(group["lr"] / (1 + (count(step) - 1) * group["lr_decay"]))


def _one_minus(value: float) -> float:
    return 1 - value


def _minus(value: float) -> float:
    return -value
