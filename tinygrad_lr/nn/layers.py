"""Layers with parameters or shape changes: `Linear`, `Identity`, `Flatten`, `Unflatten`, and
`Dropout` (which only acts in training mode)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..creation import rand
from ..errors import ShapeError
from ..tensor import Tensor
from . import functional
from .modules import Module, Parameter

__all__ = ["Dropout", "Flatten", "Identity", "Linear", "Unflatten"]


def _check_positive_int(value: Any, name: str, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise ValueError(f"{where}: {name} must be a positive integer, got {value!r}")
    return int(value)


class Linear(Module):
    """y = x @ weight.T + bias, with weight of shape (out_features, in_features) and bias of
    shape (out_features,) as in PyTorch.

    Both start uniform in [-1/sqrt(in_features), 1/sqrt(in_features)] (PyTorch's default,
    Kaiming-uniform with a = sqrt(5)), drawn from the library's generator (`manual_seed`)."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True) -> None:
        super().__init__()
        self.in_features = _check_positive_int(in_features, "in_features", "Linear")
        self.out_features = _check_positive_int(out_features, "out_features", "Linear")
        bound = 1.0 / math.sqrt(self.in_features)
        self.weight = Parameter(_uniform((self.out_features, self.in_features), bound))
        if bias:
            self.bias = Parameter(_uniform((self.out_features,), bound))
        else:
            self.register_parameter("bias", None)

    def forward(self, input: Tensor) -> Tensor:
        if not isinstance(input, Tensor):
            input = Tensor(input, dtype=self.weight.dtype)
        if input.ndim == 0 or input.shape[-1] != self.in_features:
            raise ShapeError(
                f"{self!r}: input of shape {input.shape} must have last dimension "
                f"{self.in_features} (in_features)"
            )
        output = input @ self.weight.T
        return output if self.bias is None else output + self.bias

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"bias={self.bias is not None}"
        )


def _uniform(shape: tuple[int, ...], bound: float) -> Tensor:
    """U(-bound, bound) from the library's global generator."""
    return rand(*shape) * (2 * bound) - bound


class Identity(Module):
    """Returns its input unchanged (a placeholder, e.g. for a removed layer); it accepts and
    ignores any constructor arguments, as PyTorch's does."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__()

    def forward(self, input: Any) -> Any:
        return input


class Flatten(Module):
    """Joins dimensions start_dim .. end_dim into one; the default keeps the batch dimension:
    (N, 1, 28, 28) -> (N, 784)."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        super().__init__()
        self.start_dim = start_dim
        self.end_dim = end_dim

    def forward(self, input: Tensor) -> Tensor:
        return input.flatten(self.start_dim, self.end_dim)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Unflatten(Module):
    """Splits dimension `dim` into `unflattened_size`: Unflatten(1, (2, 5)) turns (N, 10)
    into (N, 2, 5); one size may be -1."""

    def __init__(self, dim: int, unflattened_size: Sequence[int]) -> None:
        super().__init__()
        self.dim = dim
        self.unflattened_size = tuple(int(n) for n in unflattened_size)

    def forward(self, input: Tensor) -> Tensor:
        ndim = input.ndim
        if not -ndim <= self.dim < ndim:
            raise IndexError(f"Unflatten: dim {self.dim} is out of range for {ndim} dimensions")
        dim = self.dim % ndim
        known = math.prod(n for n in self.unflattened_size if n != -1)
        if (-1 not in self.unflattened_size and known != input.shape[dim]) or (
            -1 in self.unflattened_size and (known == 0 or input.shape[dim] % known)
        ):
            raise ShapeError(
                f"Unflatten: dimension {dim} of size {input.shape[dim]} cannot be split into "
                f"{self.unflattened_size}"
            )
        shape = input.shape[:dim] + self.unflattened_size + input.shape[dim + 1 :]
        return input.reshape(shape)

    def extra_repr(self) -> str:
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"


class Dropout(Module):
    """In training mode, zeroes each element with probability p and scales the others by
    1 / (1 - p), so the expected output is the input; in eval mode, returns the input. The
    mask is drawn from the library's generator (`manual_seed`)."""

    def __init__(self, p: float = 0.5, inplace: bool = False) -> None:
        super().__init__()
        self.p = functional.check_dropout_probability(p)
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        return functional.dropout(input, self.p, self.training)

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"
