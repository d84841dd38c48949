"""Linear regression three ways, from the coder's guide chapter "Linear Regression from
Scratch in Python": Python loops with hand-derived gradients, vectorised NumPy, and
tinygrad_lr's autograd. All three take the same steps, so they agree on the slope and the
bias at every epoch (to 1e-9), and end near the exact least-squares line.

    python examples/coders_guide_linear_regression.py [--plot curves.png]

About the derivative. The loss is the mean squared error MSE = 1/n sum_i (y_i - y_hat_i)^2
with y_hat = slope * x + bias. Its exact derivatives are

    dMSE/dslope = -2/n sum_i x_i (y_i - y_hat_i)
    dMSE/dbias  = -2/n sum_i     (y_i - y_hat_i)

The chapter writes "x * (y - y_pred)" and "(y - y_pred)", summed, and *adds* them times a
learning rate of 1e-3: the sign and the factor 2/n are folded into that rate. The chapter's
step is therefore a gradient-descent step on the exact derivative with learning rate
1e-3 * n/2, which is 0.05 for its n = 100 points. That is what all three versions below do,
and autograd finds the exact derivative by itself.
"""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np

import tinygrad_lr as tl
from tinygrad_lr.data import make_regression
from tinygrad_lr.linear_regression import least_squares

CHAPTER_LEARNING_RATE = 1e-3  # the chapter's step on sum_i x_i (y_i - y_hat_i)


def step_size(n: int, chapter_learning_rate: float = CHAPTER_LEARNING_RATE) -> float:
    """The learning rate on the exact MSE derivative that reproduces the chapter's update."""
    return chapter_learning_rate * n / 2


# --- 1. Python loops, gradients derived by hand -------------------------------------------------


def mse_loops(y: list[float], y_pred: list[float]) -> float:
    summation = 0.0
    for actual, predicted in zip(y, y_pred):
        summation += (actual - predicted) ** 2
    return summation / len(y)


def train_loops(
    x: np.ndarray, y: np.ndarray, epochs: int, lr: float
) -> list[tuple[float, float, float]]:
    """Returns (slope, bias, loss) after each epoch; the loss is measured before the step."""
    xs = [float(v) for v in x.reshape(-1)]
    ys = [float(v) for v in y.reshape(-1)]
    n = len(xs)
    slope, bias = 0.0, 0.0
    history = []
    for _ in range(epochs):
        y_pred = [slope * xi + bias for xi in xs]
        loss = mse_loops(ys, y_pred)
        d_slope, d_bias = 0.0, 0.0  # start from zero each epoch: the sums must not carry over
        for xi, yi, pi in zip(xs, ys, y_pred):
            d_slope += -2 / n * xi * (yi - pi)
            d_bias += -2 / n * (yi - pi)
        slope -= lr * d_slope
        bias -= lr * d_bias
        history.append((slope, bias, loss))
    return history


# --- 2. Vectorised NumPy ------------------------------------------------------------------------


def train_numpy(
    x: np.ndarray, y: np.ndarray, epochs: int, lr: float
) -> list[tuple[float, float, float]]:
    x, y = x.reshape(-1, 1), y.reshape(-1, 1)
    n = x.shape[0]
    slope, bias = 0.0, 0.0
    history = []
    for _ in range(epochs):
        y_pred = slope * x + bias
        loss = float(np.sum((y - y_pred) ** 2) / n)
        d_slope = float(-2 / n * np.sum(x * (y - y_pred)))
        d_bias = float(-2 / n * np.sum(y - y_pred))
        slope -= lr * d_slope
        bias -= lr * d_bias
        history.append((slope, bias, loss))
    return history


# --- 3. tinygrad_lr autograd --------------------------------------------------------------------


def train_autograd(
    x: np.ndarray, y: np.ndarray, epochs: int, lr: float
) -> list[tuple[float, float, float]]:
    inputs, targets = tl.tensor(x.reshape(-1, 1)), tl.tensor(y.reshape(-1, 1))
    slope = tl.tensor(0.0, requires_grad=True)
    bias = tl.tensor(0.0, requires_grad=True)
    optimizer = tl.optim.SGD([slope, bias], lr=lr)
    history = []
    for _ in range(epochs):
        loss = tl.nn.functional.mse_loss(slope * inputs + bias, targets)
        optimizer.zero_grad()
        loss.backward()  # fills slope.grad and bias.grad with the exact derivatives
        optimizer.step()
        history.append((float(slope.item()), float(bias.item()), float(loss.item())))
    return history


# --- comparison and figure ----------------------------------------------------------------------


def plot(
    x: np.ndarray, y: np.ndarray, results: dict[str, list[tuple[float, float, float]]], path: str
) -> None:
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise SystemExit(
            "plotting needs matplotlib: pip install matplotlib "
            '(from a checkout: pip install ".[plot]")'
        ) from None
    figure = Figure(figsize=(10, 4), layout="constrained")
    fit_axes, loss_axes = figure.subplots(1, 2)
    fit_axes.scatter(x, y, s=10)
    slope, bias, _ = results["autograd"][-1]
    line = np.array([x.min(), x.max()])
    fit_axes.plot(line, slope * line + bias, "r")
    fit_axes.set_title(f"slope = {slope:.1f}, bias = {bias:.1f}")
    for (name, history), style in zip(results.items(), ["-", "--", ":"]):
        loss_axes.plot([loss for _, _, loss in history], style, label=name, linewidth=2)
    loss_axes.set_xlabel("epoch")
    loss_axes.set_ylabel("mse")
    loss_axes.set_yscale("log")
    loss_axes.legend()
    figure.savefig(path)


def main(
    epochs: int = 50, seed: int = 762, plot_path: str | None = None, verbose: bool = True
) -> dict[str, Any]:
    """Run the three versions on the chapter's data set (100 points, bias 5, noise 5)."""
    x, y = make_regression(n_samples=100, n_features=1, bias=5, noise=5, random_state=seed)
    y = y.reshape(-1, 1)
    lr = step_size(len(x))
    results = {
        "python loops": train_loops(x, y, epochs, lr),
        "numpy": train_numpy(x, y, epochs, lr),
        "autograd": train_autograd(x, y, epochs, lr),
    }
    trajectories = {name: np.array(history) for name, history in results.items()}
    reference = trajectories["python loops"]
    max_difference = max(
        float(np.max(np.abs(t[:, :2] - reference[:, :2]))) for t in trajectories.values()
    )
    exact_w, exact_b = least_squares(x, y)
    slope, bias, loss = results["autograd"][-1]
    if verbose:
        print("exact derivative:   dMSE/dslope = -2/n sum x (y - y_hat)")
        print("chapter's formula:  sum x (y - y_pred), added: the -2/n sits in its learning rate")
        print(f"so the chapter's step {CHAPTER_LEARNING_RATE} is a step of {lr} (= 1e-3 * n/2)")
        for epoch in range(0, epochs, max(1, epochs // 10)):
            cells = "  ".join(
                f"{name}: ({h[epoch][0]:9.4f}, {h[epoch][1]:8.4f})" for name, h in results.items()
            )
            print(f"epoch {epoch + 1:3d}  {cells}")
        print(f"largest difference between the three, over all epochs: {max_difference:.3g}")
        print(f"after {epochs} epochs: slope {slope:.4f}, bias {bias:.4f}, mse {loss:.4f}")
        print(f"exact least squares:  slope {exact_w[0]:.4f}, bias {exact_b:.4f}")
    if plot_path is not None:
        plot(x, y, results, plot_path)
        if verbose:
            print(f"figure saved to {plot_path}")
    return {
        "histories": trajectories,
        "max_difference": max_difference,
        "slope": slope,
        "bias": bias,
        "exact_slope": float(exact_w[0]),
        "exact_bias": exact_b,
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Linear regression three ways.")
    parser.add_argument("--epochs", type=int, default=50)
    parser.add_argument("--seed", type=int, default=762)
    parser.add_argument(
        "--plot", metavar="FILE.png", help="save the fitted line and the loss curves"
    )
    options = parser.parse_args()
    main(options.epochs, options.seed, options.plot)
