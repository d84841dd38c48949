"""Ops whose backward breaks the rule not to mutate: shared by the checkers' own tests
(`from mutating_ops import MutatesInput` works because tests/ has no __init__.py)."""

import numpy as np

from tinygrad_lr import Function, Tensor


class MutatesInput(Function):
    """z = 2x, whose backward scribbles on the input array it kept."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.x = x
        return 2.0 * x

    def backward(self, g: Tensor) -> tuple[Tensor | None, ...]:
        self.x += 1.0
        return (2.0 * g,)


class MutatesUpstream(Function):
    """z = 2x, whose backward doubles the upstream gradient in place."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        return 2.0 * x

    def backward(self, g: Tensor) -> tuple[Tensor | None, ...]:
        g.numpy()[...] *= 2.0
        return (g,)
