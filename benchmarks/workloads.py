"""The benchmark workloads and their data.

Every implementation gets the same arrays from here: the same data, the same initial
parameters and the same batch order, all float64, generated from fixed seeds. Each
workload has a full size (for timing) and a tiny smoke size (for checking correctness).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# workload name -> the implementation function that runs it (see impl_numpy.py)
KIND = {
    "d2l": "linear_regression",
    "wide": "linear_regression",
    "mlp": "mlp",
    "overhead": "chain",
    "deep10k": "chain",
    "deep100k": "chain",
    "memory": "linear_regression",
}
WORKLOADS = tuple(KIND)
ALIASES = {"deep": ("deep10k", "deep100k")}


@dataclass
class Regression:
    """Minibatch SGD on (X, y): `p -= step_size * dloss/dp` for each index array in `batches`.

    loss "half_sum": sum((pred - y)**2 / 2) per batch (d2l's squared loss; d2l's sgd divides
    the step by the batch size, which is folded into step_size). loss "mse": mean((pred - y)**2).
    """

    X: np.ndarray
    y: np.ndarray  # shape (n, 1)
    params: list[np.ndarray]  # initial values: [w, b] or [W1, b1, W2, b2]
    batches: list[np.ndarray]
    step_size: float
    loss: str


@dataclass
class Chain:
    """`repeats` times `x = x * scale + shift` (2 ops each), then the gradient of x.sum() wrt x0."""

    x0: np.ndarray
    repeats: int
    scale: float = 1.0001
    shift: float = 0.0001

    @property
    def n_ops(self) -> int:
        return 2 * self.repeats


def _shuffled_batches(
    rng: np.random.Generator, n: int, batch: int, epochs: int
) -> list[np.ndarray]:
    """One fresh permutation of range(n) per epoch, cut into batches (the last may be short)."""
    batches = []
    for _ in range(epochs):
        order = rng.permutation(n)
        batches += [order[i : i + batch] for i in range(0, n, batch)]
    return batches


def _linear_data(
    n: int, d: int, batch: int, epochs: int, step_size: float, loss: str, seed: int
) -> Regression:
    """y = X w_true + 4.2 + N(0, 0.01**2) noise; w starts at N(0, 0.01**2), b at 0 (as d2l)."""
    rng = np.random.default_rng(seed)
    w_true = np.array([[2.0], [-3.4]]) if d == 2 else rng.standard_normal((d, 1))
    x = rng.standard_normal((n, d))
    y = x @ w_true + 4.2 + 0.01 * rng.standard_normal((n, 1))
    params = [0.01 * rng.standard_normal((d, 1)), np.zeros(1)]
    return Regression(x, y, params, _shuffled_batches(rng, n, batch, epochs), step_size, loss)


def _mlp_data(n: int, d: int, hidden: int, batch: int, seed: int) -> Regression:
    """A d -> hidden (tanh) -> 1 net learning a smooth random target; weights ~ N(0, 1/fan_in)."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, d))
    y = np.sin(x @ rng.standard_normal((d, 1)) / np.sqrt(d))
    params = [
        rng.standard_normal((d, hidden)) / np.sqrt(d),
        np.zeros(hidden),
        rng.standard_normal((hidden, 1)) / np.sqrt(hidden),
        np.zeros(1),
    ]
    return Regression(x, y, params, _shuffled_batches(rng, n, batch, 1), 0.05, "mse")


def make(workload: str, smoke: bool = False) -> Regression | Chain:
    """The data of one workload: full size, or (smoke=True) a size that runs in milliseconds."""
    if workload == "d2l":
        return _linear_data(50 if smoke else 1000, 2, 10, 3, 0.03 / 10, "half_sum", seed=0)
    if workload == "wide":
        n, d, batch = (2000, 10, 100) if smoke else (100_000, 100, 1000)
        return _linear_data(n, d, batch, 1, 0.1, "mse", seed=1)
    if workload == "mlp":
        return _mlp_data(*((256, 8, 16, 32) if smoke else (4096, 64, 256, 64)), seed=2)
    if workload == "overhead":
        return Chain(np.ones(1), 20 if smoke else 500)
    if workload == "deep10k":
        return Chain(np.ones(1), 50 if smoke else 5_000)
    if workload == "deep100k":
        return Chain(np.ones(1), 200 if smoke else 50_000)
    if workload == "memory":
        # d2l's data, cycled for MEMORY_STEPS steps
        data = _linear_data(
            50 if smoke else 1000, 2, 10, 20 if smoke else 100, 0.03 / 10, "half_sum", seed=3
        )
        assert len(data.batches) == memory_steps(smoke)
        return data
    raise ValueError(f"unknown workload {workload!r}; choose from {', '.join(WORKLOADS)}")


def memory_steps(smoke: bool) -> int:
    """Training steps of the memory workload; memory is measured after a tenth and at the end."""
    return 100 if smoke else 10_000


def graph_probe(smoke: bool) -> Chain:
    """A chain on a long vector: its graph holds ~2 * repeats * x0.nbytes if nothing is freed."""
    return Chain(np.linspace(0.0, 1.0, 5000 if smoke else 10_000), 10 if smoke else 50)
