"""The same linear regression with the library's building blocks (d2l.ai section 3.3):
`TensorDataset` + `DataLoader` for minibatches, `nn.Linear` for the model, `nn.MSELoss` and
`optim.SGD`. This is the training loop every later model reuses; it is line for line what
you would write in PyTorch.

    python examples/concise_linear_regression.py
"""

from __future__ import annotations

import argparse
from typing import Any

import tinygrad_lr as tl
from tinygrad_lr import nn
from tinygrad_lr.data import DataLoader, TensorDataset, synthetic_data


def main(
    num_examples: int = 1000,
    batch_size: int = 10,
    lr: float = 0.03,
    num_epochs: int = 3,
    seed: int = 0,
    verbose: bool = True,
) -> dict[str, Any]:
    tl.manual_seed(seed)
    true_w, true_b = tl.tensor([2, -3.4]), 4.2
    features, labels = synthetic_data(true_w, true_b, num_examples)
    data_loader = DataLoader(TensorDataset(features, labels), batch_size=batch_size, shuffle=True)

    net = nn.Sequential(nn.Linear(2, 1))
    # Start as the chapter does; `.data` gives the values without recording the change.
    net[0].weight.data.normal_(0, 0.01)
    net[0].bias.data.fill_(0)
    loss = nn.MSELoss()
    trainer = tl.optim.SGD(net.parameters(), lr=lr)

    losses = []
    for epoch in range(num_epochs):
        for X, y in data_loader:  # noqa: N806 - the chapter's names
            l = loss(net(X), y)  # noqa: E741 - the chapter's name
            trainer.zero_grad()
            l.backward()
            trainer.step()
        with tl.no_grad():
            losses.append(float(loss(net(features), labels)))
        if verbose:
            print(f"epoch {epoch + 1}, loss {losses[-1]:f}")

    w = net[0].weight.detach().reshape(true_w.shape)
    b = float(net[0].bias.detach()[0])
    error_w, error_b = (true_w - w).numpy(), true_b - b
    if verbose:
        print(f"error in estimating w: {error_w}")
        print(f"error in estimating b: {error_b:.6g}")
    return {"losses": losses, "w": w.numpy(), "b": b, "error_w": error_w, "error_b": error_b}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Concise linear regression with nn, optim, data.")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    options = parser.parse_args()
    main(num_epochs=options.epochs, seed=options.seed)
