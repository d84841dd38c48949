"""Activations and dropout as functions of tensors (part of `nn.functional`).

Every function here is built from Tensor operations, so autograd differentiates it with no
extra code. Where a textbook formula overflows (exp of a large logit), a shift is subtracted
first; the shift is detached because the result does not depend on it mathematically, so the
gradient stays exact everywhere, including at the kinks of `max`/`relu`.
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from ..creation import rand
from ..functions import where
from ..tensor import Tensor

__all__ = [
    "dropout",
    "gelu",
    "leaky_relu",
    "log_softmax",
    "relu",
    "sigmoid",
    "softmax",
    "softplus",
    "tanh",
]


def relu(input: Tensor, inplace: bool = False) -> Tensor:
    """max(x, 0)."""
    return input.relu()


def tanh(input: Tensor) -> Tensor:
    """(e^x - e^-x) / (e^x + e^-x)."""
    return input.tanh()


def sigmoid(input: Tensor) -> Tensor:
    """1 / (1 + e^-x) (the op computes it without overflow for x << 0)."""
    return input.sigmoid()


def softplus(input: Tensor) -> Tensor:
    """log(1 + e^x) = m + log(e^-m + e^(x-m)) with m = max(x, 0), so no exp overflows.

    d/dx = sigmoid(x) exactly, also at x = 0 (a relu/abs formulation gets 0 there)."""
    shift = input.detach().relu()
    return shift + ((-shift).exp() + (input - shift).exp()).log()


def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    """x for x > 0, negative_slope * x otherwise (slope negative_slope at 0, as PyTorch)."""
    return where(input > 0, input, input * negative_slope)


def check_gelu_approximation(approximate: str) -> str:
    if approximate not in ("none", "tanh"):
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    return approximate


def gelu(input: Tensor, approximate: str = "none") -> Tensor:
    """x * Phi(x), Phi(x) = (1 + erf(x / sqrt 2)) / 2 the standard normal CDF; or, with
    approximate="tanh", 0.5 x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3))). Both are built
    from differentiable ops, so their second derivatives are exact too."""
    if check_gelu_approximation(approximate) == "tanh":
        inner = math.sqrt(2 / math.pi) * (input + 0.044715 * input * input * input)
        return 0.5 * input * (1 + inner.tanh())
    return input * 0.5 * (1.0 + (input / math.sqrt(2.0)).erf())


def _implicit_softmax_dim(input: Tensor, name: str) -> int:
    """PyTorch's old rule when `dim` is left out: 0 for 0-, 1- and 3-d input, else 1."""
    dim = 0 if input.ndim in (0, 1, 3) else 1
    warnings.warn(
        f"{name}: implicit dimension choice is deprecated; pass dim={dim} explicitly",
        UserWarning,
        stacklevel=3,
    )
    return dim


def log_softmax(input: Tensor, dim: int | None = None) -> Tensor:
    """x_i - log sum_j e^(x_j) along `dim` (the op subtracts the maximum before exp)."""
    return input.log_softmax(_implicit_softmax_dim(input, "log_softmax") if dim is None else dim)


def softmax(input: Tensor, dim: int | None = None) -> Tensor:
    """e^(x_i) / sum_j e^(x_j) along `dim`."""
    return input.softmax(_implicit_softmax_dim(input, "softmax") if dim is None else dim)


def check_dropout_probability(p: float) -> float:
    if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout: probability p must lie in [0, 1], got {p!r}")
    return float(p)


def dropout(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """In training, each element is zeroed with probability p and the others are scaled by
    1 / (1 - p), keeping the expected value; otherwise the input is returned as it is. The
    mask comes from the library's generator (`manual_seed`)."""
    p = check_dropout_probability(p)
    if not training or p == 0.0:
        return input
    if p == 1.0:
        return input * 0.0
    # Drawn and scaled by recorded ops, so that a compiled step draws a fresh mask each call.
    keep = rand(input.shape) >= p
    scale = (keep / (1.0 - p)).to(input.dtype if input.dtype.kind == "f" else np.float64)
    return input * scale
