"""Stochastic gradient descent, with PyTorch's defaults and update formula."""

from __future__ import annotations

import functools
from typing import Any

from ..autograd import no_grad
from .live import guard, hyper
from .optimizer import Optimizer, ParamsLike, check_number

__all__ = ["SGD"]


class SGD(Optimizer):
    """Stochastic gradient descent, optionally with momentum (PyTorch's formulation).

    g = grad + weight_decay * p
    buf = g at the first step, then momentum * buf + (1 - dampening) * g
    g = g + momentum * buf if nesterov else buf            (when momentum != 0)
    p = p - lr * g
    """

    def __init__(
        self,
        params: ParamsLike,
        lr: float = 1e-3,
        momentum: float = 0.0,
        dampening: float = 0.0,
        weight_decay: float = 0.0,
        nesterov: bool = False,
    ) -> None:
        defaults = dict(
            lr=lr,
            momentum=momentum,
            dampening=dampening,
            weight_decay=weight_decay,
            nesterov=nesterov,
        )
        super().__init__(params, defaults)

    def _validate(self, group: dict[str, Any]) -> None:
        for name in ("lr", "momentum", "dampening", "weight_decay"):
            group[name] = check_number(group[name], name, "SGD")
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError("SGD: nesterov momentum requires momentum > 0 and dampening = 0")

    @no_grad()
    def step(self) -> None:
        for group in self._groups():
            weight_decay, momentum, nesterov = guard(functools.partial(_branches, group))
            for param, grad in self._parameters_with_grad(group):
                if weight_decay:
                    grad = grad + hyper(group, "weight_decay", param) * param
                if momentum:
                    state = self.state.setdefault(param, {})
                    buffer = state.get("momentum_buffer")
                    if buffer is None:
                        buffer = state["momentum_buffer"] = grad.clone()
                    else:
                        buffer.mul_(hyper(group, "momentum", param))
                        buffer.add_(hyper(group, "dampening", param, _one_minus) * grad)
                    grad = grad + hyper(group, "momentum", param) * buffer if nesterov else buffer
                param.sub_(hyper(group, "lr", param) * grad)


def _branches(group: dict[str, Any]) -> tuple[bool, bool, bool]:
    """The Python branches of the update: weight decay, momentum, nesterov."""
    return bool(group["weight_decay"]), bool(group["momentum"]), bool(group["nesterov"])


def _one_minus(value: float) -> float:
    return 1 - value
