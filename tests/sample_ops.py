"""Custom ops shared by the checkers' own tests: a right one, and ones whose backward breaks the
rule not to mutate (`from sample_ops import Softplus` works because tests/ has no __init__.py)."""

import numpy as np

from tinygrad_lr import Function, Tensor


class Softplus(Function):
    """z = log(1 + e^x);  dz/dx = sigmoid(x)."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        return np.logaddexp(0.0, x)

    def backward(self, g: Tensor) -> tuple[Tensor | None, ...]:
        (x,) = self.saved_tensors
        return (g * x.sigmoid(),)


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
