"""Logistic regression: the next toy model after linear regression.

Two overlapping Gaussian clouds in 2-D, labels 0 and 1. The model is p(y=1|x) = sigmoid(x.w + b),
trained by full-batch gradient descent on the binary cross-entropy
    L = -1/n sum_i [y_i log p_i + (1 - y_i) log(1 - p_i)],
computed from logits (`BCEWithLogitsLoss`) so that no log(0) can occur. The loss is convex,
so the result is checked against its minimiser found independently by Newton's method in
plain NumPy (the gradient is X^T (p - y) / n and the Hessian X^T diag(p (1 - p)) X / n).

    python examples/logistic_regression.py
"""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np

import tinygrad_lr as tl
from tinygrad_lr import nn


def make_blobs(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """n/2 points around (-1, -0.5) labelled 0 and n/2 around (1, 0.5) labelled 1."""
    rng = np.random.default_rng(seed)
    labels = np.repeat([0.0, 1.0], [n - n // 2, n // 2])
    centres = np.where(labels[:, None] == 1.0, [1.0, 0.5], [-1.0, -0.5])
    return centres + rng.standard_normal((n, 2)), labels


def newton_solution(features: np.ndarray, labels: np.ndarray, steps: int = 30) -> np.ndarray:
    """The exact minimiser (w1, w2, b) of the mean cross-entropy, by Newton's method."""
    design = np.hstack([features, np.ones((len(features), 1))])
    theta = np.zeros(design.shape[1])
    for _ in range(steps):
        p = 1.0 / (1.0 + np.exp(-design @ theta))
        gradient = design.T @ (p - labels) / len(labels)
        hessian = design.T @ (design * (p * (1 - p))[:, None]) / len(labels)
        theta -= np.linalg.solve(hessian, gradient)
    return theta


def main(
    n: int = 200, steps: int = 500, lr: float = 1.0, seed: int = 0, verbose: bool = True
) -> dict[str, Any]:
    tl.manual_seed(seed)
    features, labels = make_blobs(n, seed)
    inputs, targets = tl.tensor(features), tl.tensor(labels.reshape(-1, 1))

    model = nn.Linear(2, 1)
    loss_fn = nn.BCEWithLogitsLoss()
    optimizer = tl.optim.SGD(model.parameters(), lr=lr)
    losses = []
    for step in range(steps):
        loss = loss_fn(model(inputs), targets)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(float(loss))
        if verbose and (step % (steps // 5 or 1) == 0 or step == steps - 1):
            print(f"step {step + 1:4d}, loss {losses[-1]:.6f}")

    with tl.no_grad():
        probabilities = model(inputs).sigmoid().numpy().reshape(-1)
    accuracy = float(np.mean((probabilities > 0.5) == (labels == 1.0)))
    learned = np.append(model.weight.detach().numpy().reshape(-1), model.bias.item())
    exact = newton_solution(features, labels)
    if verbose:
        print(f"training accuracy {accuracy:.1%}")
        print(f"gradient descent: w = {learned[:2]}, b = {learned[2]:.6f}")
        print(f"Newton's method:  w = {exact[:2]}, b = {exact[2]:.6f}")
    return {"losses": losses, "accuracy": accuracy, "parameters": learned, "exact": exact}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Logistic regression on two Gaussian clouds.")
    parser.add_argument("--steps", type=int, default=500)
    parser.add_argument("--lr", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=0)
    options = parser.parse_args()
    main(steps=options.steps, lr=options.lr, seed=options.seed)
