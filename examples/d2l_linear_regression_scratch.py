"""Linear regression from scratch, step by step, as in d2l.ai section 3.2.

Only tensors and autograd are used: no nn.Linear, no optimizer class, no DataLoader. The
code reads like the chapter's PyTorch edition, so every line carries over to PyTorch by
replacing `tl` with `torch`.

    python examples/d2l_linear_regression_scratch.py

The chapter prints losses of about 0.025, 9e-5 and 5e-5 and errors in w and b below 1e-3;
runs here land in the same range (the exact numbers depend on the random draws).
"""

from __future__ import annotations

import argparse
import random
from collections.abc import Iterator
from typing import Any

import tinygrad_lr as tl


# 3.2.1 Generating the dataset: y = X w + b + noise, noise ~ N(0, 0.01^2).
def synthetic_data(w: tl.Tensor, b: float, num_examples: int) -> tuple[tl.Tensor, tl.Tensor]:
    """Generate y = Xw + b + noise (also available as tl.data.synthetic_data)."""
    X = tl.normal(0, 1, (num_examples, len(w)))  # noqa: N806 - the chapter's names throughout
    y = tl.matmul(X, w) + b
    y += tl.normal(0, 0.01, y.shape)  # in place is fine: y does not require grad
    return X, y.reshape((-1, 1))


# 3.2.2 Reading the dataset: shuffled minibatches, the last one shorter if need be.
def data_iter(
    batch_size: int, features: tl.Tensor, labels: tl.Tensor, rng: random.Random
) -> Iterator[tuple[tl.Tensor, tl.Tensor]]:
    num_examples = len(features)
    indices = list(range(num_examples))
    rng.shuffle(indices)  # examples are read in random order
    for i in range(0, num_examples, batch_size):
        batch_indices = tl.tensor(indices[i : min(i + batch_size, num_examples)])
        yield features[batch_indices], labels[batch_indices]


# 3.2.4 The model: a matrix-vector product plus a bias broadcast to every example.
def linreg(X: tl.Tensor, w: tl.Tensor, b: tl.Tensor) -> tl.Tensor:  # noqa: N803
    return tl.matmul(X, w) + b


# 3.2.5 The loss: (y_hat - y)^2 / 2 per example. y is reshaped to y_hat's shape, because
# an (n,) vector against an (n, 1) column would broadcast to an (n, n) matrix.
def squared_loss(y_hat: tl.Tensor, y: tl.Tensor) -> tl.Tensor:
    return (y_hat - y.reshape(y_hat.shape)) ** 2 / 2


# 3.2.6 Minibatch SGD: the loss was summed over the batch, so divide by its size. The update
# must not be recorded in the graph, hence no_grad; the gradient is then cleared, because
# backward() adds to .grad rather than overwriting it.
def sgd(params: list[tl.Tensor], lr: float, batch_size: int) -> None:
    with tl.no_grad():
        for param in params:
            assert param.grad is not None
            param -= lr * param.grad / batch_size
            param.grad.zero_()


def main(
    num_examples: int = 1000,
    batch_size: int = 10,
    lr: float = 0.03,
    num_epochs: int = 3,
    seed: int = 0,
    verbose: bool = True,
) -> dict[str, Any]:
    """Train as in the chapter; returns the per-epoch losses and the errors in w and b."""
    tl.manual_seed(seed)
    rng = random.Random(seed)
    true_w = tl.tensor([2, -3.4])
    true_b = 4.2
    features, labels = synthetic_data(true_w, true_b, num_examples)
    if verbose:
        print("features:", features[0], "\nlabel:", labels[0])

    # 3.2.3 Initialising the parameters: small random weights, zero bias, both recorded.
    w = tl.normal(0, 0.01, size=(2, 1), requires_grad=True)
    b = tl.zeros(1, requires_grad=True)

    # 3.2.7 Training.
    net, loss = linreg, squared_loss
    losses = []
    for epoch in range(num_epochs):
        for X, y in data_iter(batch_size, features, labels, rng):  # noqa: N806
            l = loss(net(X, w, b), y)  # noqa: E741 - minibatch loss, shape (batch_size, 1)
            l.sum().backward()  # gradient of the summed loss with respect to [w, b]
            sgd([w, b], lr, batch_size)
        with tl.no_grad():
            train_l = loss(net(features, w, b), labels)
        losses.append(float(train_l.mean()))
        if verbose:
            print(f"epoch {epoch + 1}, loss {losses[-1]:f}")

    error_w = (true_w - w.reshape(true_w.shape)).detach()
    error_b = true_b - float(b.detach()[0])
    if verbose:
        print(f"error in estimating w: {error_w}")
        print(f"error in estimating b: {error_b:.6g}")
    return {
        "losses": losses,
        "w": w.detach().numpy().reshape(-1),
        "b": float(b.detach()[0]),
        "error_w": error_w.numpy(),
        "error_b": error_b,
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--lr", type=float, default=0.03)
    parser.add_argument("--batch-size", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    options = parser.parse_args()
    main(batch_size=options.batch_size, lr=options.lr, num_epochs=options.epochs, seed=options.seed)
