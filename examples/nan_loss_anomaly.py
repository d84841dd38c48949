"""A learner's classic: the learning rate is too large, and the loss becomes inf, then nan.

Gradient descent on the mean squared error of y_hat = slope * x + bias converges only when
the learning rate is below 2 / (largest curvature of the loss); here the curvature along the
slope is 2 * mean(x^2), about 2, so a rate of 1.5 is already too large: every step
overshoots the minimum by more than the last one, the error grows geometrically, squaring it
overflows to inf, and inf - inf gives nan.

Training again inside `tl.detect_anomaly()` stops at the first backward step that makes a
non-finite gradient, and the error names the op and the line of this file that created it.

    python examples/nan_loss_anomaly.py [--lr 1.5] [--steps 2000]
"""

from __future__ import annotations

import argparse
import math

import numpy as np

import tinygrad_lr as tl
from tinygrad_lr.data import make_regression


def train(lr: float, steps: int, seed: int = 0) -> list[float]:
    """Plain gradient descent from slope = bias = 0; returns the loss before each step and
    stops after the first nan."""
    x_data, y_data = make_regression(n_samples=100, bias=5.0, noise=5.0, random_state=seed)
    x, y = tl.tensor(x_data.reshape(-1)), tl.tensor(y_data)
    slope = tl.tensor(0.0, requires_grad=True)
    bias = tl.tensor(0.0, requires_grad=True)
    losses = []
    for _ in range(steps):
        y_hat = slope * x + bias
        loss = ((y_hat - y) ** 2).mean()
        losses.append(loss.item())
        if math.isnan(losses[-1]):
            break
        loss.backward()
        with tl.no_grad():
            for param in (slope, bias):
                assert param.grad is not None
                param -= lr * param.grad
                param.grad = None
    return losses


def main(lr: float = 1.5, steps: int = 2000, seed: int = 0) -> str:
    """Show the loss blowing up, then find where with anomaly detection; returns the error
    message of the anomaly check (empty if it found nothing)."""
    # NumPy would warn at each overflow; the point here is to find it, so keep the output quiet.
    with np.errstate(over="ignore", invalid="ignore"):
        losses = train(lr, steps, seed)
        shown = ", ".join(f"{loss:.3g}" for loss in losses[:4])
        print(f"lr={lr}: losses {shown}, ..., {losses[-2]:.3g}, {losses[-1]:.3g}")
        if math.isfinite(losses[-1]):
            print(f"the loss stayed finite for {len(losses)} steps: lr={lr} is small enough")
            return ""
        first_bad = next(k for k, loss in enumerate(losses) if not math.isfinite(loss))
        print(f"the loss is {losses[first_bad]} at step {first_bad}; where did it start?")
        try:
            with tl.detect_anomaly():
                train(lr, steps, seed)
        except RuntimeError as error:
            print(f"detect_anomaly: {error}")
            return str(error)
    # With a very large rate the update `param -= lr * grad` overflows before any backward
    # does; anomaly mode watches the backward pass only, as PyTorch's does.
    print(
        "detect_anomaly: no backward step made a non-finite gradient; the parameters "
        "overflowed in the update step itself (param -= lr * grad)"
    )
    return ""


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lr", type=float, default=1.5, help="learning rate (default 1.5)")
    parser.add_argument("--steps", type=int, default=2000, help="most steps to take")
    arguments = parser.parse_args()
    main(arguments.lr, arguments.steps)
