"""The `Optimizer` base class, which the optimizers of this package build on.

An optimizer holds references to parameters; `step()` reads each parameter's `.grad` and
changes the parameter's values in place (no graph is recorded: an update is not part of the
model), and `zero_grad()` clears the gradients, which otherwise add up across backward calls.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from ..autograd.graph import note_untraced
from ..nn.modules import clear_grads
from ..tensor import Tensor
from .live import count, guard, hyper

ParamsLike = Iterable[Tensor] | Iterable[dict[str, Any]]


def check_number(value: Any, name: str, where: str, *, low: float = 0.0) -> float:
    """A finite real number >= low; NaN fails every comparison, so test finiteness first."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ValueError(f"{where}: {name} must be a number, got {value!r}")
    if not math.isfinite(value) or value < low:
        raise ValueError(f"{where}: invalid {name} {value!r}; it must be a finite number >= {low}")
    return float(value)


class ParamGroup(dict[str, Any]):
    """A parameter group: a dict that tells op observers when it is changed. A step that sets
    `group["lr"]` runs eagerly under tl.compile, whose replay reads `lr` at every call but
    would not set it again."""

    def __setitem__(self, key: str, value: Any) -> None:
        note_untraced(f"setting {key!r} of an optimiser's parameter group")
        super().__setitem__(key, value)

    def update(self, *args: Any, **kwargs: Any) -> None:
        note_untraced("updating an optimiser's parameter group")
        super().update(*args, **kwargs)

    def setdefault(self, key: str, default: Any = None) -> Any:
        if key not in self:
            note_untraced(f"setting {key!r} of an optimiser's parameter group")
        return super().setdefault(key, default)

    def pop(self, key: str, *default: Any) -> Any:
        if key in self:
            note_untraced(f"removing {key!r} from an optimiser's parameter group")
        return super().pop(key, *default)

    def __delitem__(self, key: str) -> None:
        note_untraced(f"removing {key!r} from an optimiser's parameter group")
        super().__delitem__(key)

    def __ior__(self, other: Any) -> ParamGroup:  # type: ignore[override, misc]
        self.update(other)
        return self

    def popitem(self) -> tuple[str, Any]:
        note_untraced("removing an item from an optimiser's parameter group")
        return super().popitem()

    def clear(self) -> None:
        note_untraced("clearing an optimiser's parameter group")
        super().clear()


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
        full = ParamGroup({**self.defaults, **group, "params": params})
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
        Momentum buffers and Adam's moments are NumPy arrays (copies), step counts are ints; the
        optimizer itself keeps them in tensors, updated in place."""
        index = {id(param): i for i, param in enumerate(self._ordered_params())}
        state = {
            index[id(param)]: {key: _saved(key, value) for key, value in entries.items()}
            for param, entries in self.state.items()
        }
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
                if key == "step" and np.size(np.asarray(value)) == 1:
                    value = _count_tensor(float(np.asarray(value)))
                elif isinstance(value, (np.ndarray, Tensor)):
                    array = value.detach()._data if isinstance(value, Tensor) else value
                    value = Tensor(np.array(array))
                    if value.shape != param.shape:
                        raise ValueError(
                            f"{where}: {key} of parameter {index} has shape {value.shape}, "
                            f"the parameter has shape {param.shape}"
                        )
                copied[key] = value
            new_state[param] = copied
        new_groups: list[dict[str, Any]] = [
            ParamGroup({k: v for k, v in saved.items() if k != "params"}, params=own["params"])
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

    def _groups(self) -> list[dict[str, Any]]:
        """The parameter groups, for `step()`. Observers are told that the update depends on
        which groups, parameters and state tensors there are (`load_state_dict` replaces them):
        tl.compile records the step again when they change."""
        guard(functools.partial(_layout, self))
        return self.param_groups

    @staticmethod
    def _parameters_with_grad(group: dict[str, Any]) -> Iterable[tuple[Tensor, Tensor]]:
        """(parameter, its gradient) for the parameters of `group` that have a gradient. The
        update is written in Tensor in-place ops (under no_grad: not part of any graph)."""
        for param in group["params"]:
            grad = param.grad  # (tl.compile then checks that a missing one is still missing)
            if grad is not None:
                yield param, grad

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for index, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {index}")
            for key in sorted(k for k in group if k != "params"):
                lines.append(f"    {key}: {group[key]}")
        return "\n".join(lines) + "\n)"


def lerp(start: Tensor, end: Tensor, group: dict[str, Any], key: str, nearer_end: bool) -> Tensor:
    """start + weight (end - start), weight = 1 - group[key] (or its first entry, for betas):
    a running mean moves a fraction `weight` of the way towards the new value.

    Written from whichever end is nearer (`nearer_end`: weight >= 0.5, see `weight_branch`),
    as torch.lerp does, so that the result rounds the same (and weight = 1 gives `end`
    exactly); Adam's updates can cancel, which magnifies any difference in the last bit."""
    if nearer_end:
        return end - (end - start) * hyper(group, key, start, _rest_of_weight)
    return start + hyper(group, key, start, _weight) * (end - start)


def weight_branch(group: dict[str, Any], key: str) -> bool:
    """Which end `lerp` starts from, for the group's decay rate `group[key]`."""
    return not _weight(group[key]) < 0.5


def _weight(decay: Any) -> float:
    """1 - decay: the weight of the new value in a running mean (beta1 for Adam's betas)."""
    return 1 - (decay[0] if isinstance(decay, (tuple, list)) else decay)


def _rest_of_weight(decay: Any) -> float:
    """1 - weight, computed as 1 - (1 - decay): the same rounding as before the port."""
    return 1 - _weight(decay)


def new_count() -> Tensor:
    """A step count: a 0-d float64 tensor, as in PyTorch, raised in place by `add_(1.0)`."""
    return _count_tensor(0.0)


def _count_tensor(value: float) -> Tensor:
    return Tensor(np.array(value, dtype=np.float64))


def _saved(key: str, value: Any) -> Any:
    """A state entry as state_dict() gives it: a count as an int, a tensor as an array copy."""
    if key == "step" and isinstance(value, Tensor) and value.ndim == 0:
        return int(count(value))
    if isinstance(value, Tensor):
        return np.array(value.detach()._data, copy=True)
    if isinstance(value, np.ndarray):
        return np.array(value, copy=True)
    return value


def _layout(optimizer: Optimizer) -> tuple[Any, ...]:
    """What a recorded update holds on to: the group dicts, their parameters and the state
    tensors of each (by identity; they are all kept alive by the optimizer)."""
    return tuple(
        (id(group), tuple(
            (id(param), tuple(id(v) for v in optimizer.state.get(param, {}).values()))
            for param in group["params"]
        ))
        for group in optimizer.param_groups
    )  # fmt: skip
