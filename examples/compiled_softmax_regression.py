"""Softmax regression trained by a compiled step: the step as NumPy code, and what it saves.

Three Gaussian clouds in 2-D, one per class. The model gives class probabilities
softmax(x W^T + b), trained by minibatch SGD on the cross-entropy -log p(y|x). The training
step is written once and run two ways: eagerly, and under `tl.compile`, which records it on
its first calls and then replays it as the NumPy lines the engine ran. Both runs start from
the same parameters and see the same batches; they end with the same parameters, bit for bit.

    python examples/compiled_softmax_regression.py              # the two runs, timed
    python examples/compiled_softmax_regression.py --show-code  # and the generated code
"""

from __future__ import annotations

import argparse
from time import perf_counter
from typing import Any

import numpy as np

import tinygrad_lr as tl
from tinygrad_lr import nn


def make_clouds(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """n points in three clouds around the corners of a triangle, labelled 0, 1, 2."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 3, n)
    centres = np.array([[0.0, 2.0], [-2.0, -1.0], [2.0, -1.0]])
    return centres[labels] + rng.standard_normal((n, 2)), labels


def train(compiled: bool, epochs: int = 5, batch_size: int = 20, seed: int = 0) -> dict[str, Any]:
    """Train from seed's parameters; returns the parameters, the accuracy, the time, the step."""
    features, labels = make_clouds(600, seed)
    tl.manual_seed(seed)
    model = nn.Linear(2, 3)
    optimizer = tl.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()

    def step(x: tl.Tensor, y: tl.Tensor) -> tl.Tensor:
        optimizer.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()
        return loss

    run = tl.compile(step) if compiled else step
    order = np.random.default_rng(seed + 1)
    start = perf_counter()
    for _ in range(epochs):
        shuffled = order.permutation(len(labels))
        for i in range(0, len(labels), batch_size):
            batch = shuffled[i : i + batch_size]
            run(tl.from_numpy(features[batch]), tl.from_numpy(labels[batch]))
    seconds = perf_counter() - start
    with tl.no_grad():
        predicted = model(tl.from_numpy(features)).argmax(dim=1).numpy()
    return {
        "params": [p.detach().numpy().copy() for p in model.parameters()],
        "accuracy": float((predicted == labels).mean()),
        "seconds": seconds,
        "code": run.code if compiled else None,  # type: ignore[attr-defined]
    }


def main(epochs: int = 5, show_code: bool = False, verbose: bool = True) -> dict[str, Any]:
    eager, compiled = train(False, epochs), train(True, epochs)
    same = all(np.array_equal(a, b) for a, b in zip(eager["params"], compiled["params"]))
    if verbose:
        if show_code:
            print(compiled["code"])
        print(f"eager:    {eager['seconds'] * 1e3:7.1f} ms, accuracy {eager['accuracy']:.3f}")
        print(f"compiled: {compiled['seconds'] * 1e3:7.1f} ms (the first calls record the step)")
        print("the parameters are " + ("the same, bit for bit" if same else "DIFFERENT"))
    return {"eager": eager, "compiled": compiled, "same": same}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--show-code", action="store_true", help="print the generated code")
    options = parser.parse_args()
    main(options.epochs, options.show_code)
