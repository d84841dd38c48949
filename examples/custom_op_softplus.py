"""Write your own op, check its gradient, and see what a wrong backward looks like.

Two ops written as `tl.autograd.Function` subclasses, PyTorch's way (static forward and
backward taking `ctx`, values for backward kept with `ctx.save_for_backward`):

    softplus(x) = log(1 + e^x)                d/dx = sigmoid(x)
    huber(r)    = r^2 / 2        if |r| <= d  d/dr = r
                  d (|r| - d/2)  otherwise            d * sign(r)

Both are checked with `tl.gradcheck` (first derivatives) and `tl.gradgradcheck` (second
derivatives), used in a small regression fit, and then a deliberately broken softplus (its
backward forgets a factor) shows the report `gradcheck` prints: which input and elements are
wrong, by how much, and which op of the graph to blame, with the line that created it.

    python examples/custom_op_softplus.py
"""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np

import tinygrad_lr as tl
from tinygrad_lr import Function, Tensor


class Softplus(Function):
    """z = log(1 + e^x), a smooth relu;  dz/dx = sigmoid(x)."""

    @staticmethod
    def forward(ctx: Any, x: Tensor) -> Tensor:
        ctx.save_for_backward(x)  # backward refuses x if it is changed in place after this
        # log(1 + e^x) = max(x, 0) + log(1 + e^-|x|), which never overflows
        return x.relu() + (1.0 + (-x.abs()).exp()).log()

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> Tensor:
        (x,) = ctx.saved_tensors
        # Written with Tensor ops, so this backward can itself be differentiated.
        return g * x.sigmoid()


class Huber(Function):
    """Elementwise Huber loss of residuals r with threshold `delta`:
    r^2 / 2 inside [-delta, delta], delta (|r| - delta / 2) outside;  dz/dr = clamp(r, -d, d)."""

    @staticmethod
    def forward(ctx: Any, r: Tensor, delta: float = 1.0) -> Tensor:
        ctx.save_for_backward(r)
        ctx.delta = delta  # a number backward needs: kept on ctx
        inside = 0.5 * r * r
        outside = delta * (r.abs() - 0.5 * delta)
        return inside.where(r.abs() <= delta, outside)

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> tuple[Tensor | None, ...]:
        (r,) = ctx.saved_tensors
        # one gradient per input of forward: delta is a number, so it gets None
        return g * r.clamp(-ctx.delta, ctx.delta), None


class BrokenSoftplus(Softplus):
    """The same forward, and a backward that forgets the factor g from upstream."""

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> Tensor:
        (x,) = ctx.saved_tensors
        return x.sigmoid()  # should be g * x.sigmoid()


def softplus(x: Tensor) -> Tensor:
    return Softplus.apply(x)


def huber(residual: Tensor, delta: float = 1.0) -> Tensor:
    """Arguments of apply reach forward in the same order, numbers included."""
    return Huber.apply(residual, delta)


def fit_line_with_huber_loss(steps: int = 300, lr: float = 0.1) -> tuple[float, float]:
    """A line fitted to data with outliers: the Huber loss keeps them from dragging it."""
    rng = np.random.default_rng(0)
    x = tl.tensor(rng.uniform(-2, 2, 50))
    y = 3.0 * x + 1.0 + tl.tensor(rng.normal(0, 0.1, 50))
    y[::10] = 20.0  # outliers
    w = tl.zeros(1, requires_grad=True)
    b = tl.zeros(1, requires_grad=True)
    for _ in range(steps):
        loss = huber(x * w + b - y).mean()
        loss.backward()
        with tl.no_grad():
            for p in (w, b):
                assert p.grad is not None
                p -= lr * p.grad
                p.grad.zero_()
    return float(w), float(b)


def main(verbose: bool = True) -> dict[str, Any]:
    x = tl.tensor([-3.0, -0.5, 0.2, 2.5], requires_grad=True)
    r = tl.tensor([-2.0, -0.4, 0.3, 1.7], requires_grad=True)
    results: dict[str, Any] = {
        "softplus_gradcheck": tl.gradcheck(softplus, x),
        "softplus_gradgradcheck": tl.gradgradcheck(softplus, x),
        # residuals kept away from the kinks at +-delta, where the second derivative jumps
        "huber_gradcheck": tl.gradcheck(lambda r: huber(r, delta=1.0), r),
        "huber_gradgradcheck": tl.gradgradcheck(lambda r: huber(r, delta=1.0), r),
        # a composed function: the check covers the custom ops and the built-in ones alike
        "composed_gradcheck": tl.gradcheck(lambda x, r: huber(softplus(x) * r).sum(), (x, r)),
    }
    results["huber_fit"] = fit_line_with_huber_loss()

    def model_with_a_broken_op(x: Tensor) -> Tensor:
        hidden = x * 2.0
        activated = BrokenSoftplus.apply(hidden)
        return (activated * activated).sum()

    try:
        tl.gradcheck(model_with_a_broken_op, x)
        results["broken_report"] = None
    except tl.GradcheckError as error:
        results["broken_report"] = str(error)
        results["broken_op"] = error.op_name

    if verbose:
        for name in list(results)[:5]:
            print(f"{name}: {results[name]}")
        w, b = results["huber_fit"]
        print(f"Huber fit with outliers: w = {w:.3f}, b = {b:.3f} (true 3 and 1)")
        print("\ngradcheck on a function that uses BrokenSoftplus:\n")
        print(results["broken_report"])
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quiet", action="store_true", help="print nothing, just run the checks")
    main(verbose=not parser.parse_args().quiet)
