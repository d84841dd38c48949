"""A small multilayer perceptron separating two interleaving half moons.

No straight line separates the two classes, so logistic regression cannot reach 100%; two
hidden layers of 16 tanh units can, as in the classic micrograd demo. The network outputs one
logit per point, the loss is binary cross-entropy on logits, and Adam takes full-batch
steps until every training point is classified correctly.

    python examples/mlp_two_moons.py [--plot boundary.png]
"""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np

import tinygrad_lr as tl
from tinygrad_lr import nn
from tinygrad_lr.data import make_moons


def build_model(hidden: int = 16) -> nn.Module:
    return nn.Sequential(
        nn.Linear(2, hidden), nn.Tanh(), nn.Linear(hidden, hidden), nn.Tanh(), nn.Linear(hidden, 1)
    )


def accuracy(model: nn.Module, inputs: tl.Tensor, labels: np.ndarray) -> float:
    with tl.no_grad():
        predicted = model(inputs).numpy().reshape(-1) > 0  # logit > 0 means p(class 1) > 1/2
    return float(np.mean(predicted == (labels == 1)))


def plot_boundary(model: nn.Module, features: np.ndarray, labels: np.ndarray, path: str) -> None:
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise SystemExit(
            "plotting needs matplotlib: pip install matplotlib "
            '(from a checkout: pip install ".[plot]")'
        ) from None
    xs = np.linspace(features[:, 0].min() - 0.5, features[:, 0].max() + 0.5, 200)
    ys = np.linspace(features[:, 1].min() - 0.5, features[:, 1].max() + 0.5, 200)
    grid_x, grid_y = np.meshgrid(xs, ys)
    with tl.no_grad():
        logits = model(tl.tensor(np.column_stack([grid_x.ravel(), grid_y.ravel()]))).numpy()
    figure = Figure(figsize=(5, 4), layout="constrained")
    axes = figure.subplots()
    axes.contourf(grid_x, grid_y, logits.reshape(grid_x.shape) > 0, alpha=0.3, cmap="coolwarm")
    axes.scatter(features[:, 0], features[:, 1], c=labels, s=15, cmap="coolwarm", edgecolors="k")
    axes.set_title("decision boundary")
    figure.savefig(path)


def main(
    n_samples: int = 100,
    noise: float = 0.1,
    max_steps: int = 2000,
    lr: float = 0.01,
    seed: int = 0,
    plot_path: str | None = None,
    verbose: bool = True,
) -> dict[str, Any]:
    tl.manual_seed(seed)
    features, labels = make_moons(n_samples, noise=noise, random_state=seed)
    inputs = tl.tensor(features)
    targets = tl.tensor(labels.reshape(-1, 1).astype(np.float64))
    model = build_model()
    loss_fn = nn.BCEWithLogitsLoss()
    optimizer = tl.optim.Adam(model.parameters(), lr=lr)

    losses: list[float] = []
    train_accuracy = accuracy(model, inputs, labels)
    step = 0
    while train_accuracy < 1.0 and step < max_steps:
        loss = loss_fn(model(inputs), targets)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(float(loss))
        step += 1
        train_accuracy = accuracy(model, inputs, labels)
        if verbose and step % 50 == 0:
            print(f"step {step:4d}, loss {losses[-1]:.4f}, accuracy {train_accuracy:.0%}")
    if verbose:
        print(f"after {step} steps: loss {losses[-1]:.4f}, training accuracy {train_accuracy:.0%}")
    if plot_path is not None:
        plot_boundary(model, features, labels, plot_path)
        if verbose:
            print(f"figure saved to {plot_path}")
    return {"steps": step, "losses": losses, "accuracy": train_accuracy, "model": model}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="An MLP on two moons.")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--plot", metavar="FILE.png", help="save the decision boundary")
    options = parser.parse_args()
    main(seed=options.seed, plot_path=options.plot)
