"""RMSprop and Adagrad: steps scaled by a running size of the gradient (PyTorch's formulas)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..autograd import no_grad
from .optimizer import Optimizer, ParamsLike, check_number, lerp

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
        for group in self.param_groups:
            alpha, eps, momentum = group["alpha"], group["eps"], group["momentum"]
            for param, values, grad in self._parameters_with_grad(group):
                if group["weight_decay"]:
                    grad = grad + group["weight_decay"] * values
                state = self.state.setdefault(param, {})
                if not state:
                    state["step"] = 0
                    state["square_avg"] = np.zeros_like(values)
                    if momentum > 0:
                        state["momentum_buffer"] = np.zeros_like(values)
                    if group["centered"]:
                        state["grad_avg"] = np.zeros_like(values)
                state["step"] += 1
                state["square_avg"] = alpha * state["square_avg"] + (1 - alpha) * grad * grad
                if group["centered"]:
                    state["grad_avg"] = lerp(state["grad_avg"], grad, 1 - alpha)
                    variance = state["square_avg"] - state["grad_avg"] * state["grad_avg"]
                    scale = np.sqrt(variance) + eps
                else:
                    scale = np.sqrt(state["square_avg"]) + eps
                if momentum > 0:
                    state["momentum_buffer"] = momentum * state["momentum_buffer"] + grad / scale
                    self._write(param, values - group["lr"] * state["momentum_buffer"])
                else:
                    # In PyTorch's order of rounding (addcdiv): p + (-lr * g) / a.
                    self._write(param, values + (-group["lr"] * grad) / scale)


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
        for group in self.param_groups:
            for param, values, grad in self._parameters_with_grad(group):
                if group["weight_decay"]:
                    grad = grad + group["weight_decay"] * values
                state = self.state.setdefault(param, {})
                if not state:
                    state["step"] = 0
                    state["sum"] = np.full_like(values, group["initial_accumulator_value"])
                state["step"] += 1
                step_lr = group["lr"] / (1 + (state["step"] - 1) * group["lr_decay"])
                state["sum"] = state["sum"] + grad * grad
                scale = np.sqrt(state["sum"]) + group["eps"]
                self._write(param, values + (-step_lr * grad) / scale)
