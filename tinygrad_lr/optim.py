"""Optimizers: `SGD` and `Adam`, with PyTorch's names, defaults and update formulas.

An optimizer holds references to parameters; `step()` reads each parameter's `.grad` and
changes the parameter's values in place (no graph is recorded: an update is not part of the
model), and `zero_grad()` clears the gradients, which otherwise add up across backward calls.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from .autograd import graph, no_grad
from .creation import zeros_like
from .nn.modules import clear_grads
from .tensor import Tensor

ParamsLike = Iterable[Tensor] | Iterable[dict[str, Any]]


def _check_number(value: Any, name: str, where: str, *, low: float = 0.0) -> float:
    """A finite real number >= low; NaN fails every comparison, so test finiteness first."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ValueError(f"{where}: {name} must be a number, got {value!r}")
    if not math.isfinite(value) or value < low:
        raise ValueError(f"{where}: invalid {name} {value!r}; it must be a finite number >= {low}")
    return float(value)


class Optimizer:
    """Base class: groups of parameters, each group a dict with the hyper-parameters for it.

    `params` is an iterable of tensors, or of dicts `{"params": [...], "lr": ...}` to give
    groups their own settings (missing settings come from `defaults`)."""

    def __init__(self, params: ParamsLike, defaults: dict[str, Any]) -> None:
        if isinstance(params, Tensor):
            raise TypeError(
                f"{type(self).__name__}: params must be an iterable of tensors (e.g. "
                "model.parameters() or [w, b]), got a single Tensor"
            )
        self.defaults = dict(defaults)
        self.param_groups: list[dict[str, Any]] = []
        # Per-parameter state (momentum buffers, Adam moments), keyed by the parameter itself
        # (tensors hash by identity), so `optimizer.state[w]` works as in PyTorch.
        self.state: dict[Tensor, dict[str, Any]] = {}
        entries: list[Any] = list(params)
        if not entries:
            raise ValueError(f"{type(self).__name__} got an empty parameter list")
        groups = entries if isinstance(entries[0], dict) else [{"params": entries}]
        for group in groups:
            self.add_param_group(group)

    def add_param_group(self, group: dict[str, Any]) -> None:
        where = type(self).__name__
        if not isinstance(group, dict):
            raise TypeError(
                f"{where}: a parameter group must be a dict, got {type(group).__name__}"
            )
        params = group["params"]
        params = [params] if isinstance(params, Tensor) else list(params)
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        for index, param in enumerate(params):
            if not isinstance(param, Tensor):
                raise TypeError(
                    f"{where}: parameter {index} is a {type(param).__name__}, not a Tensor"
                )
            if not param.is_leaf:
                raise ValueError(
                    f"{where}: parameter {index} (shape {param.shape}) is not a leaf tensor; "
                    "optimize the tensors you created, not results computed from them"
                )
            if param.dtype.kind != "f":
                raise TypeError(f"{where}: parameter {index} has dtype {param.dtype}, not a float")
            if id(param) in seen:
                raise ValueError(f"{where}: parameter {index} appears more than once")
            seen.add(id(param))
        full = {**self.defaults, **group, "params": params}
        self._validate(full)
        self.param_groups.append(full)

    def _validate(self, group: dict[str, Any]) -> None:
        """Subclasses check their hyper-parameters here, so bad values fail at construction."""

    # --- saving and resuming --------------------------------------------------------------------

    def _ordered_params(self) -> list[Tensor]:
        return [param for group in self.param_groups for param in group["params"]]

    def state_dict(self) -> dict[str, Any]:
        """A copy of the optimizer's state in PyTorch's layout: parameters are numbered in the
        order of the groups, `{"state": {index: {...}}, "param_groups": [{..., "params": [...]}]}`.
        Momentum buffers, Adam's moments and its step count are NumPy arrays (copies); the
        optimizer itself keeps them as tensors, updated in place."""
        index = {id(param): i for i, param in enumerate(self._ordered_params())}
        state = {
            index[id(param)]: {key: np.array(value, copy=True)
                               if isinstance(value, (np.ndarray, Tensor)) else value
                               for key, value in entries.items()}
            for param, entries in self.state.items()
        }  # fmt: skip
        groups = [
            {**{k: v for k, v in group.items() if k != "params"},
             "params": [index[id(p)] for p in group["params"]]}
            for group in self.param_groups
        ]  # fmt: skip
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Resume from `state_dict()`: the same groups with the same numbers of parameters of the
        same shapes; the saved hyper-parameters and per-parameter state replace the current ones.
        Nothing changes unless everything fits."""
        where = f"{type(self).__name__}.load_state_dict"
        groups, saved_state = state_dict["param_groups"], state_dict["state"]
        if len(groups) != len(self.param_groups):
            raise ValueError(
                f"{where}: the state has {len(groups)} parameter groups, this optimizer has "
                f"{len(self.param_groups)}"
            )
        for k, (saved, own) in enumerate(zip(groups, self.param_groups)):
            if len(saved["params"]) != len(own["params"]):
                raise ValueError(
                    f"{where}: group {k} has {len(saved['params'])} parameters in the state, "
                    f"{len(own['params'])} in this optimizer"
                )
        by_index = {
            index: param
            for saved, own in zip(groups, self.param_groups)
            for index, param in zip(saved["params"], own["params"])
        }
        new_state: dict[Tensor, dict[str, Any]] = {}
        for index, entries in saved_state.items():
            param = by_index.get(int(index))
            if param is None:
                raise ValueError(f"{where}: state for parameter {index}, which no group lists")
            copied = {}
            for key, value in entries.items():
                if key == "step":  # a count, kept as a float64 tensor updated in place
                    value = Tensor(float(np.asarray(value)))
                elif isinstance(value, (np.ndarray, Tensor)):
                    value = Tensor(np.array(value.detach() if isinstance(value, Tensor) else value))
                    if value.shape != param.shape:
                        raise ValueError(
                            f"{where}: {key} of parameter {index} has shape {value.shape}, "
                            f"the parameter has shape {param.shape}"
                        )
                copied[key] = value
            new_state[param] = copied
        new_groups = [
            {**{k: v for k, v in saved.items() if k != "params"}, "params": own["params"]}
            for saved, own in zip(groups, self.param_groups)
        ]
        for group in new_groups:
            self._validate(group)
        self.param_groups = new_groups
        self.state = new_state

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Clear the gradients: set `.grad` to None (default) or fill it with zeros."""
        for group in self.param_groups:
            clear_grads(group["params"], set_to_none)

    def step(self) -> None:
        raise NotImplementedError(f"{type(self).__name__} must define step()")

    @staticmethod
    def _parameters_with_grad(group: dict[str, Any]) -> Iterable[tuple[Tensor, Tensor]]:
        """(parameter, its gradient) for the parameters of `group` that have a gradient."""
        for param in group["params"]:
            if param.grad is not None:
                yield param, param.grad

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for index, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {index}")
            for key in sorted(k for k in group if k != "params"):
                lines.append(f"    {key}: {group[key]}")
        return "\n".join(lines) + "\n)"


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
            group[name] = _check_number(group[name], name, "SGD")
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError("SGD: nesterov momentum requires momentum > 0 and dampening = 0")

    @no_grad()
    def step(self) -> None:
        for group in self.param_groups:
            weight_decay, momentum, nesterov = guard(functools.partial(_sgd_branches, group))
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
                        buffer.add_(hyper(group, "dampening", param, lambda d: 1 - d) * grad)
                    grad = grad + hyper(group, "momentum", param) * buffer if nesterov else buffer
                param.sub_(hyper(group, "lr", param) * grad)


class Adam(Optimizer):
    """Adam (Kingma & Ba), with PyTorch's formulation; t counts steps from 1.

    g = grad + weight_decay * p            (L2 penalty, as torch.optim.Adam; not AdamW)
    m = beta1 * m + (1 - beta1) * g
    v = beta2 * v + (1 - beta2) * g^2
    p = p - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
    """

    def __init__(
        self,
        params: ParamsLike,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay))

    def _validate(self, group: dict[str, Any]) -> None:
        for name in ("lr", "eps", "weight_decay"):
            group[name] = _check_number(group[name], name, "Adam")
        betas = group["betas"]
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise ValueError(f"Adam: betas must be a pair (beta1, beta2), got {betas!r}")
        for index, beta in enumerate(betas):
            value = _check_number(beta, f"beta parameter at index {index}", "Adam")
            if value >= 1:
                raise ValueError(
                    f"Adam: invalid beta parameter at index {index}: {beta!r}; "
                    "it must lie in [0, 1)"
                )
        group["betas"] = (float(betas[0]), float(betas[1]))

    @no_grad()
    def step(self) -> None:
        for group in self.param_groups:
            weight_decay, lerp_from_start = guard(functools.partial(_adam_branches, group))
            for param, grad in self._parameters_with_grad(group):
                if weight_decay:
                    grad = grad + hyper(group, "weight_decay", param) * param
                state = self.state.setdefault(param, {})
                if not state:
                    state["step"] = Tensor(0.0)  # a tensor, as in PyTorch: updated in place
                    state["exp_avg"] = zeros_like(param)
                    state["exp_avg_sq"] = zeros_like(param)
                step = state["step"]
                step.add_(1.0)
                beta2 = hyper(group, "betas", param, lambda betas: betas[1])
                state["exp_avg"].copy_(_lerp(state["exp_avg"], grad, group, lerp_from_start))
                exp_avg_sq = state["exp_avg_sq"]
                exp_avg_sq.mul_(beta2)
                exp_avg_sq.add_(
                    hyper(group, "betas", param, lambda betas: 1 - betas[1]) * (grad * grad)
                )
                step_size = live(functools.partial(_step_size, group, step), param)
                correction2 = live(functools.partial(_correction2, group, step), param)
                denom = exp_avg_sq.sqrt() / correction2 + hyper(group, "eps", param)
                param.sub_(step_size * state["exp_avg"] / denom)


def live(read: Callable[[], float], like: Tensor) -> Tensor:
    """The Python number `read()` as a 0-d tensor of `like`'s dtype (rounded as NumPy rounds a
    Python float next to an array of that dtype).

    Hyper-parameters change between steps (a scheduler sets the learning rate, Adam's bias
    correction follows the step count), so op observers are told how to compute the value
    again: tl.compile calls `read()` at the same point of every later step."""
    value = Tensor._make(np.array(read(), dtype=like.dtype))
    for observer in graph._observers:
        on_live_value = getattr(observer, "on_live_value", None)
        if on_live_value is not None:
            on_live_value(value, read)
    return value


def hyper(
    group: dict[str, Any], key: str, like: Tensor, read: Callable[[Any], float] | None = None
) -> Tensor:
    """`group[key]` (or `read(group[key])`) as a live 0-d tensor of `like`'s dtype."""
    return live(functools.partial(_group_value, group, key, read), like)


def _group_value(group: dict[str, Any], key: str, read: Callable[[Any], float] | None) -> float:
    return group[key] if read is None else read(group[key])


def _step_size(group: dict[str, Any], step: Tensor) -> float:
    """lr / (1 - beta1^t): Adam's step with the first moment's bias correction."""
    return float(group["lr"] / (1 - group["betas"][0] ** _count(step)))


def _correction2(group: dict[str, Any], step: Tensor) -> float:
    """sqrt(1 - beta2^t): the second moment's bias correction, under the square root."""
    return math.sqrt(1 - group["betas"][1] ** _count(step))


def guard(read: Callable[[], Any]) -> Any:
    """`read()`, a Python value that decides which tensor operations run (is there weight
    decay? momentum?); op observers are told, and tl.compile checks it before every call."""
    value = read()
    for observer in graph._observers:
        on_guard = getattr(observer, "on_guard", None)
        if on_guard is not None:
            on_guard(read, value)
    return value


def _count(step: Tensor) -> float:
    # The values themselves: this number is computed again by compiled code, where .item()
    # (which tells observers that a value left the graph) has nothing to say.
    return float(step._data)


def _sgd_branches(group: dict[str, Any]) -> tuple[bool, bool, bool]:
    return bool(group["weight_decay"]), bool(group["momentum"]), bool(group["nesterov"])


def _adam_branches(group: dict[str, Any]) -> tuple[bool, bool]:
    return bool(group["weight_decay"]), 1 - group["betas"][0] < 0.5


def _lerp(start: Tensor, end: Tensor, group: dict[str, Any], from_start: bool) -> Tensor:
    """start + weight (end - start) with weight = 1 - beta1: m moves a fraction `weight` of the
    way towards g.

    Written from whichever end is nearer, as torch.lerp does, so that the result rounds the same
    (and weight = 1 gives `end` exactly); Adam's updates can cancel, which magnifies any
    difference in the last bit."""
    if from_start:
        return start + hyper(group, "betas", start, _one_minus_beta1) * (end - start)
    return end - (end - start) * hyper(
        group, "betas", start, lambda betas: 1 - _one_minus_beta1(betas)
    )


def _one_minus_beta1(betas: tuple[float, float]) -> float:
    return 1 - betas[0]
