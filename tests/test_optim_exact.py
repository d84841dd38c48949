"""Every optimiser against a plain NumPy re-implementation of its update, bit for bit, over 300
steps: float64 and float32, learning rates changed mid-run, weight decay switched on, a
parameter without a gradient at some steps. The NumPy code rounds in the same order as the
optimisers (the rounding of a Python number next to an array: to the array's dtype)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

import tinygrad_lr as tl
from tinygrad_lr import optim

CONFIGS: dict[str, tuple[type, dict[str, Any]]] = {
    "sgd": (optim.SGD, dict(lr=0.05)),
    "sgd_decay": (optim.SGD, dict(lr=0.05, weight_decay=0.01)),
    "sgd_momentum": (optim.SGD, dict(lr=0.05, momentum=0.9)),
    "sgd_dampening": (optim.SGD, dict(lr=0.05, momentum=0.5, dampening=0.2)),
    "sgd_nesterov_decay": (
        optim.SGD, dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01)
    ),
    "adam": (optim.Adam, dict(lr=0.01)),
    "adam_decay_betas": (optim.Adam, dict(lr=0.01, betas=(0.4, 0.99), weight_decay=0.01)),
    "adam_amsgrad": (optim.Adam, dict(lr=0.01, amsgrad=True)),
    "adamw": (optim.AdamW, dict(lr=0.01)),
    "adamw_amsgrad_betas": (
        optim.AdamW, dict(lr=0.02, betas=(0.3, 0.9), weight_decay=0.1, amsgrad=True)
    ),
    "rmsprop": (optim.RMSprop, dict(lr=0.01)),
    "rmsprop_centered": (optim.RMSprop, dict(lr=0.01, centered=True)),
    "rmsprop_momentum": (optim.RMSprop, dict(lr=0.01, momentum=0.9)),
    "rmsprop_centered_momentum_decay": (
        optim.RMSprop, dict(lr=0.01, alpha=0.3, momentum=0.5, centered=True, weight_decay=0.01)
    ),
    "adagrad": (optim.Adagrad, dict(lr=0.1)),
    "adagrad_all": (
        optim.Adagrad,
        dict(lr=0.1, lr_decay=0.01, weight_decay=0.01, initial_accumulator_value=0.1, eps=1e-6),
    ),
}  # fmt: skip


def _lerp(start: np.ndarray, end: np.ndarray, weight: float) -> np.ndarray:
    if weight < 0.5:
        return start + weight * (end - start)
    return end - (end - start) * (1 - weight)


def _reference_step(kind: type, g: dict[str, Any], p: np.ndarray, grad: np.ndarray,
                    s: dict[str, Any]) -> np.ndarray:  # fmt: skip
    """One update of parameter values `p` in NumPy; `s` is the parameter's state."""
    wd = g["weight_decay"]
    if kind is optim.SGD:
        if wd:
            grad = grad + wd * p
        if g["momentum"]:
            if "buf" not in s:
                s["buf"] = grad.copy()
            else:
                s["buf"] = g["momentum"] * s["buf"] + (1 - g["dampening"]) * grad
            grad = grad + g["momentum"] * s["buf"] if g["nesterov"] else s["buf"]
        return p - g["lr"] * grad
    if kind in (optim.Adam, optim.AdamW):
        beta1, beta2 = g["betas"]
        if wd and kind is optim.AdamW:
            p = p * (1 - g["lr"] * wd)
        elif wd:
            grad = grad + wd * p
        if not s:
            s.update(t=0, m=np.zeros_like(p), v=np.zeros_like(p), vmax=np.zeros_like(p))
        s["t"] += 1
        s["m"] = _lerp(s["m"], grad, 1 - beta1)
        s["v"] = beta2 * s["v"] + (1 - beta2) * (grad * grad)
        second = s["v"]
        if g["amsgrad"]:
            second = s["vmax"] = np.maximum(s["vmax"], s["v"])
        denom = np.sqrt(second) / math.sqrt(1 - beta2 ** s["t"]) + g["eps"]
        return p - g["lr"] / (1 - beta1 ** s["t"]) * s["m"] / denom
    if kind is optim.RMSprop:
        alpha = g["alpha"]
        if wd:
            grad = grad + wd * p
        if not s:
            s.update(sq=np.zeros_like(p), buf=np.zeros_like(p), avg=np.zeros_like(p))
        s["sq"] = alpha * s["sq"] + (1 - alpha) * grad * grad
        if g["centered"]:
            s["avg"] = _lerp(s["avg"], grad, 1 - alpha)
            scale = np.sqrt(s["sq"] - s["avg"] * s["avg"]) + g["eps"]
        else:
            scale = np.sqrt(s["sq"]) + g["eps"]
        if g["momentum"] > 0:
            s["buf"] = g["momentum"] * s["buf"] + grad / scale
            return p - g["lr"] * s["buf"]
        return p + (-g["lr"] * grad) / scale
    assert kind is optim.Adagrad
    if wd:
        grad = grad + wd * p
    if not s:
        s.update(t=0, sum=np.full_like(p, g["initial_accumulator_value"]))
    s["t"] += 1
    step_lr = g["lr"] / (1 + (s["t"] - 1) * g["lr_decay"])
    s["sum"] = s["sum"] + grad * grad
    return p + (-step_lr * grad) / (np.sqrt(s["sum"]) + g["eps"])


def _gradients(w: np.ndarray, b: np.ndarray, noise: np.ndarray) -> tuple[np.ndarray, ...]:
    """A gradient that depends on the parameters (a rippled bowl) plus noise."""
    gw = np.sin(3 * w) + 0.3 * w - 0.1 + noise[: w.size].reshape(w.shape).astype(w.dtype)
    gb = np.tanh(b) * 2 + noise[w.size :].astype(b.dtype)
    return gw.astype(w.dtype), gb.astype(b.dtype)


def _schedule(k: int, groups: list[dict[str, Any]]) -> None:
    for group in groups:
        if k in (100, 200):
            group["lr"] *= 0.5 if k == 100 else 0.3
        if k == 150:  # switches weight decay on where it was off: another branch
            group["weight_decay"] = group["weight_decay"] + 0.001


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", CONFIGS)
def test_300_steps_agree_with_numpy_bit_for_bit(name: str, dtype: type) -> None:
    kind, settings = CONFIGS[name]
    rng = np.random.default_rng(7)
    start = [rng.standard_normal((4, 3)).astype(dtype), rng.standard_normal(3).astype(dtype)]
    noise = rng.standard_normal((300, 15))
    params = [tl.tensor(a.copy(), requires_grad=True) for a in start]
    optimizer = kind(params, **settings)
    group = {**optimizer.defaults, **settings}  # the reference's own copy of the settings
    values, states = [a.copy() for a in start], [{}, {}]  # type: ignore[var-annotated]
    for k in range(300):
        _schedule(k, optimizer.param_groups)
        _schedule(k, [group])
        grads = _gradients(*values, noise[k])
        params[0].grad = tl.tensor(grads[0])
        params[1].grad = None if k % 5 == 4 else tl.tensor(grads[1])  # b skipped then
        optimizer.step()
        for i in range(2 if k % 5 != 4 else 1):
            values[i] = _reference_step(kind, group, values[i], grads[i], states[i])
        for value, param in zip(values, params):
            assert value.dtype == dtype
            np.testing.assert_array_equal(param.detach().numpy(), value, strict=True)
    assert np.isfinite(values[0]).all() and not np.array_equal(values[0], start[0])


def test_state_dict_keeps_its_layout_arrays_and_int_counts() -> None:
    w = tl.ones(3, requires_grad=True)
    optimizer = optim.Adam([w], lr=0.1, amsgrad=True)
    for _ in range(3):
        w.grad = tl.ones(3)
        optimizer.step()
    saved = optimizer.state_dict()["state"][0]
    assert list(saved) == ["step", "exp_avg", "exp_avg_sq", "max_exp_avg_sq"]
    assert saved["step"] == 3 and type(saved["step"]) is int
    assert all(type(saved[k]) is np.ndarray for k in list(saved)[1:])
    saved["exp_avg"][:] = 0  # a copy: the optimizer's own state is untouched
    assert np.all(optimizer.state[w]["exp_avg"].numpy() != 0)
    again = optim.Adam([w], lr=0.1, amsgrad=True)
    again.load_state_dict(optimizer.state_dict())
    w.grad = tl.ones(3)
    again.step()
    assert again.state_dict()["state"][0]["step"] == 4
