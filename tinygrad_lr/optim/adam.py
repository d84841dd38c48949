"""Adam and AdamW, with PyTorch's defaults and update formulas."""

from __future__ import annotations

import functools
import math
from typing import Any

from ..autograd import no_grad
from ..creation import zeros_like
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
        for group in self._groups():
            branches = guard(functools.partial(_branches, group, self.decoupled_weight_decay))
            weight_decay, decoupled, amsgrad, nearer_end = branches
            for param, grad in self._parameters_with_grad(group):
                if weight_decay and decoupled:
                    param.mul_(live(functools.partial(_decay_factor, group), param))
                elif weight_decay:
                    grad = grad + hyper(group, "weight_decay", param) * param
                state = self.state.setdefault(param, {})
                if not state:
                    state["step"] = new_count()
                    state["exp_avg"] = zeros_like(param)
                    state["exp_avg_sq"] = zeros_like(param)
                    if amsgrad:
                        state["max_exp_avg_sq"] = zeros_like(param)
                step, exp_avg, exp_avg_sq = state["step"], state["exp_avg"], state["exp_avg_sq"]
                step.add_(1.0)
                exp_avg.copy_(lerp(exp_avg, grad, group, "betas", nearer_end))
                exp_avg_sq.mul_(hyper(group, "betas", param, _beta2))
                exp_avg_sq.add_(hyper(group, "betas", param, _one_minus_beta2) * (grad * grad))
                second_moment = exp_avg_sq
                if amsgrad:
                    second_moment = state["max_exp_avg_sq"]
                    second_moment.copy_(second_moment.maximum(exp_avg_sq))
                step_size = live(functools.partial(_step_size, group, step), param)
                correction2 = live(functools.partial(_correction2, group, step), param)
                denom = second_moment.sqrt() / correction2 + hyper(group, "eps", param)
                param.sub_(step_size * exp_avg / denom)


def _branches(group: dict[str, Any], decoupled: bool) -> tuple[bool, bool, bool, bool]:
    """The Python branches of the update: weight decay (decoupled?), amsgrad, lerp's end."""
    nearer_end = weight_branch(group, "betas")
    return bool(group["weight_decay"]), decoupled, bool(group["amsgrad"]), nearer_end


def _decay_factor(group: dict[str, Any]) -> float:
    """1 - lr * weight_decay: AdamW's shrinking of the parameters."""
    return 1 - group["lr"] * group["weight_decay"]


def _beta2(betas: tuple[float, float]) -> float:
    return betas[1]


def _one_minus_beta2(betas: tuple[float, float]) -> float:
    return 1 - betas[1]


def _step_size(group: dict[str, Any], step: Tensor) -> float:
    """lr / (1 - beta1^t): the step with the first moment's bias correction."""
    return group["lr"] / (1 - group["betas"][0] ** count(step))


def _correction2(group: dict[str, Any], step: Tensor) -> float:
    """sqrt(1 - beta2^t): the second moment's bias correction, under the square root."""
    return math.sqrt(1 - group["betas"][1] ** count(step))


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
