"""Custom ops shared by the checkers' own tests: a right one, and ones whose backward breaks the
rule not to mutate (`from sample_ops import Softplus` works because tests/ has no __init__.py)."""

from typing import Any

from tinygrad_lr import Function, Tensor


class Softplus(Function):
    """z = log(1 + e^x);  dz/dx = sigmoid(x)."""

    @staticmethod
    def forward(ctx: Any, x: Tensor) -> Tensor:
        ctx.save_for_backward(x)
        return (1.0 + x.exp()).log()

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> Tensor:
        (x,) = ctx.saved_tensors
        return g * x.sigmoid()


class MutatesInput(Function):
    """z = 2x, whose backward scribbles on the input it kept (behind the version check)."""

    @staticmethod
    def forward(ctx: Any, x: Tensor) -> Tensor:
        ctx.x = x
        return 2.0 * x

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> Tensor:
        ctx.x.detach().numpy()[...] += 1.0
        return 2.0 * g


class MutatesUpstream(Function):
    """z = 2x, whose backward doubles the upstream gradient in place."""

    @staticmethod
    def forward(ctx: Any, x: Tensor) -> Tensor:
        return 2.0 * x

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> Tensor:
        g.numpy()[...] *= 2.0
        return g
