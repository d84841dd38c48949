"""Adam and AdamW, with PyTorch's defaults and update formulas."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..autograd import no_grad
from .optimizer import Optimizer, ParamsLike, check_number, lerp

__all__ = ["Adam", "AdamW"]


class Adam(Optimizer):
    """Adam (Kingma & Ba), with PyTorch's formulation; t counts steps from 1.

    g = grad + weight_decay * p            (L2 penalty, as torch.optim.Adam; not AdamW)
    m = beta1 * m + (1 - beta1) * g
    v = beta2 * v + (1 - beta2) * g^2
    v_hat = max(v_hat, v) with amsgrad, else v
    p = p - lr / (1 - beta1^t) * m / (sqrt(v_hat) / sqrt(1 - beta2^t) + eps)
    """

    decoupled_weight_decay = False

    def __init__(
        self,
        params: ParamsLike,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        amsgrad: bool = False,
    ) -> None:
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad)
        super().__init__(params, defaults)

    def _validate(self, group: dict[str, Any]) -> None:
        where = type(self).__name__
        for name in ("lr", "eps", "weight_decay"):
            group[name] = check_number(group[name], name, where)
        betas = group["betas"]
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise ValueError(f"{where}: betas must be a pair (beta1, beta2), got {betas!r}")
        for index, beta in enumerate(betas):
            value = check_number(beta, f"beta parameter at index {index}", where)
            if value >= 1:
                raise ValueError(
                    f"{where}: invalid beta parameter at index {index}: {beta!r}; "
                    "it must lie in [0, 1)"
                )
        group["betas"] = (float(betas[0]), float(betas[1]))
        group["amsgrad"] = bool(group.get("amsgrad", False))

    @no_grad()
    def step(self) -> None:
        for group in self.param_groups:
            lr, eps, weight_decay = group["lr"], group["eps"], group["weight_decay"]
            beta1, beta2 = group["betas"]
            for param, values, grad in self._parameters_with_grad(group):
                if weight_decay and self.decoupled_weight_decay:
                    values = values * (1 - lr * weight_decay)
                elif weight_decay:
                    grad = grad + weight_decay * values
                state = self.state.setdefault(param, {})
                if not state:
                    state["step"] = 0
                    state["exp_avg"] = np.zeros_like(values)
                    state["exp_avg_sq"] = np.zeros_like(values)
                    if group["amsgrad"]:
                        state["max_exp_avg_sq"] = np.zeros_like(values)
                state["step"] += 1
                step = state["step"]
                state["exp_avg"] = lerp(state["exp_avg"], grad, 1 - beta1)
                state["exp_avg_sq"] = beta2 * state["exp_avg_sq"] + (1 - beta2) * (grad * grad)
                second_moment = state["exp_avg_sq"]
                if group["amsgrad"]:
                    second_moment = np.maximum(state["max_exp_avg_sq"], second_moment)
                    state["max_exp_avg_sq"] = second_moment
                step_size = lr / (1 - beta1**step)
                denom = np.sqrt(second_moment) / math.sqrt(1 - beta2**step) + eps
                self._write(param, values - step_size * state["exp_avg"] / denom)


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter): the parameters shrink by a
    factor (1 - lr * weight_decay) before the Adam step, instead of the decay being added to
    the gradient. PyTorch's default weight_decay is 0.01."""

    decoupled_weight_decay = True

    def __init__(
        self,
        params: ParamsLike,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        amsgrad: bool = False,
    ) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad)
