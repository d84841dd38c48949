"""The `Optimizer` base class, which the optimizers of this package build on.

An optimizer holds references to parameters; `step()` reads each parameter's `.grad` and
changes the parameter's values in place (no graph is recorded: an update is not part of the
model), and `zero_grad()` clears the gradients, which otherwise add up across backward calls.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from ..autograd import no_grad
from ..nn.modules import clear_grads
from ..tensor import Tensor

ParamsLike = Iterable[Tensor] | Iterable[dict[str, Any]]


def check_number(value: Any, name: str, where: str, *, low: float = 0.0) -> float:
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
        Momentum buffers and Adam's moments are NumPy arrays."""
        index = {id(param): i for i, param in enumerate(self._ordered_params())}
        state = {
            index[id(param)]: {key: np.array(value, copy=True) if isinstance(value, np.ndarray)
                               else value for key, value in entries.items()}
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
                if isinstance(value, (np.ndarray, Tensor)):
                    value = np.array(value.detach() if isinstance(value, Tensor) else value)
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
    def _parameters_with_grad(
        group: dict[str, Any],
    ) -> Iterable[tuple[Tensor, np.ndarray, np.ndarray]]:
        """(parameter, its values, its gradient) as arrays, for parameters that have a gradient.
        The update math is plain NumPy: an update is not part of any model's graph."""
        for param in group["params"]:
            if param.grad is not None:
                yield param, param.detach().numpy(), param.grad.detach().numpy()

    @staticmethod
    def _write(param: Tensor, value: np.ndarray) -> None:
        """Replace the parameter's values in place (every holder of it sees the update; its
        version goes up, so a graph that saved the old values refuses to backward)."""
        with no_grad():
            param.copy_(value)

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for index, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {index}")
            for key in sorted(k for k in group if k != "params"):
                lines.append(f"    {key}: {group[key]}")
        return "\n".join(lines) + "\n)"


def lerp(start: np.ndarray, end: np.ndarray, weight: float) -> np.ndarray:
    """start + weight (end - start): m moves a fraction `weight` of the way towards g.

    Written from whichever end is nearer, as torch.lerp does, so that the result rounds the same
    (and weight = 1 gives `end` exactly); Adam's updates can cancel, which magnifies any
    difference in the last bit."""
    if weight < 0.5:
        return start + weight * (end - start)
    return end - (end - start) * (1 - weight)
