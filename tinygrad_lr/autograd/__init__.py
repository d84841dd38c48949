"""The autograd engine, laid out as `torch.autograd` is.

- `function`: `Function`, the one way to write a differentiable op (forward and backward);
- `engine`: the backward pass, `grad()`;
- `graph`: the nodes (`grad_fn`, `next_functions`, AccumulateGrad), saved-tensor hooks;
- `grad_mode`, `anomaly_mode`: the switches.
"""

from . import anomaly_mode, function, grad_mode, graph
from .anomaly_mode import (
    detect_anomaly,
    is_anomaly_check_nan_enabled,
    is_anomaly_enabled,
    set_detect_anomaly,
)
from .engine import grad
from .function import Function, once_differentiable
from .grad_mode import enable_grad, is_grad_enabled, no_grad, set_grad_enabled

__all__ = [
    "Function",
    "anomaly_mode",
    "detect_anomaly",
    "enable_grad",
    "function",
    "grad",
    "grad_mode",
    "graph",
    "is_anomaly_check_nan_enabled",
    "is_anomaly_enabled",
    "is_grad_enabled",
    "no_grad",
    "once_differentiable",
    "set_detect_anomaly",
    "set_grad_enabled",
]
