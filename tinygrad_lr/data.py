"""Data for the toy models: synthetic data sets and minibatch iteration.

`synthetic_data` and `data_iter` follow the d2l chapter; `make_regression` and `make_moons`
are small generators in the spirit of scikit-learn's (without depending on it). PyTorch's
`TensorDataset`, `DataLoader`, `Dataset` and `random_split` live in `tinygrad_lr.utils.data`
and are importable from here too. Batches are cut with one array index per batch
(`X[indices]`), never with a Python loop over examples.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any, Literal, TypeVar, overload

import numpy as np

from .generator import Generator, default_generator
from .tensor import Tensor
from .utils.data import DataLoader, Dataset, TensorDataset, random_split
from .utils.data.dataloader import _check_batch_size
from .utils.data.dataset import first_dimension

__all__ = [
    "DataLoader",
    "Dataset",
    "TensorDataset",
    "data_iter",
    "make_moons",
    "make_regression",
    "random_split",
    "synthetic_data",
]

ArrayOrTensor = TypeVar("ArrayOrTensor", np.ndarray, Tensor)


def generator_from(seed: int | np.random.Generator | Generator | None) -> np.random.Generator:
    """A NumPy generator: a fresh one from `seed`, the one given, or the library's global one
    (so `manual_seed` makes runs without an explicit seed reproducible too)."""
    if isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, Generator):
        return seed.numpy_generator()
    if seed is None:
        return default_generator()
    return np.random.default_rng(seed)


# --- synthetic data sets ------------------------------------------------------------------------


def synthetic_data(
    w: Any,
    b: float,
    num_examples: int,
    noise: float = 0.01,
    seed: int | np.random.Generator | None = None,
) -> tuple[Tensor, Tensor]:
    """y = X w + b + noise, with X ~ N(0, 1) of shape (num_examples, len(w)) and noise ~
    N(0, noise^2). Returns X and y of shape (num_examples, 1), as in the d2l chapter."""
    true_w = np.asarray(w.detach() if isinstance(w, Tensor) else w, dtype=np.float64).reshape(-1)
    if num_examples <= 0:
        raise ValueError(f"synthetic_data: num_examples must be positive, got {num_examples}")
    if noise < 0:
        raise ValueError(f"synthetic_data: noise must be >= 0, got {noise}")
    rng = generator_from(seed)
    features = rng.normal(0.0, 1.0, (num_examples, true_w.size))
    labels = features @ true_w + float(b) + rng.normal(0.0, noise, num_examples)
    return Tensor(features), Tensor(labels.reshape(-1, 1))


@overload
def make_regression(
    n_samples: int = ...,
    n_features: int = ...,
    bias: float = ...,
    noise: float = ...,
    random_state: int | np.random.Generator | None = ...,
    *,
    coef: Literal[False] = False,
) -> tuple[np.ndarray, np.ndarray]: ...
@overload
def make_regression(
    n_samples: int = ...,
    n_features: int = ...,
    bias: float = ...,
    noise: float = ...,
    random_state: int | np.random.Generator | None = ...,
    *,
    coef: Literal[True],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]: ...
def make_regression(
    n_samples: int = 100,
    n_features: int = 1,
    bias: float = 0.0,
    noise: float = 0.0,
    random_state: int | np.random.Generator | None = None,
    *,
    coef: bool = False,
) -> tuple[np.ndarray, np.ndarray] | tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A random linear regression problem: y = X c + bias + N(0, noise^2).

    X ~ N(0, 1) has shape (n_samples, n_features); the coefficients c are drawn uniformly from
    [0, 100), as scikit-learn's generator does, so the slopes are large compared with the
    noise. Returns NumPy arrays X and y (shape (n_samples,)), and c when `coef=True`. The
    numbers differ from scikit-learn's for the same seed."""
    if n_samples <= 0 or n_features <= 0:
        raise ValueError(
            "make_regression: n_samples and n_features must be positive, "
            f"got {n_samples} and {n_features}"
        )
    if noise < 0:
        raise ValueError(f"make_regression: noise must be >= 0, got {noise}")
    rng = generator_from(random_state)
    features = rng.standard_normal((n_samples, n_features))
    coefficients = 100.0 * rng.uniform(size=n_features)
    targets = features @ coefficients + bias + noise * rng.standard_normal(n_samples)
    if coef:
        return features, targets, coefficients
    return features, targets


def make_moons(
    n_samples: int = 100, noise: float = 0.1, random_state: int | np.random.Generator | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaving half circles in 2-D, a classic data set no straight line separates.

    Class 0: (cos t, sin t); class 1: (1 - cos t, 1/2 - sin t), t evenly spaced in [0, pi];
    Gaussian noise of standard deviation `noise` is added to both coordinates. Returns X of
    shape (n_samples, 2) and integer labels y of shape (n_samples,)."""
    if n_samples < 2:
        raise ValueError(f"make_moons: n_samples must be at least 2, got {n_samples}")
    if noise < 0:
        raise ValueError(f"make_moons: noise must be >= 0, got {noise}")
    rng = generator_from(random_state)
    n_outer = n_samples // 2 + n_samples % 2
    n_inner = n_samples // 2
    t_outer = np.linspace(0.0, math.pi, n_outer)
    t_inner = np.linspace(0.0, math.pi, n_inner)
    outer = np.stack([np.cos(t_outer), np.sin(t_outer)], axis=1)
    inner = np.stack([1.0 - np.cos(t_inner), 0.5 - np.sin(t_inner)], axis=1)
    features = np.concatenate([outer, inner]) + noise * rng.standard_normal((n_samples, 2))
    labels = np.concatenate([np.zeros(n_outer, dtype=np.int64), np.ones(n_inner, dtype=np.int64)])
    order = rng.permutation(n_samples)
    return features[order], labels[order]


# --- minibatches --------------------------------------------------------------------------------


def _batch_indices(
    num_examples: int,
    batch_size: int,
    shuffle: bool,
    drop_last: bool,
    rng: np.random.Generator | None,
) -> Iterator[np.ndarray]:
    """Index arrays of consecutive batches of a (shuffled) order; the last one may be short."""
    order = (
        rng.permutation(num_examples) if shuffle and rng is not None else np.arange(num_examples)
    )
    stop = num_examples - num_examples % batch_size if drop_last else num_examples
    for start in range(0, stop, batch_size):
        yield order[start : start + batch_size]


def data_iter(
    batch_size: int,
    features: ArrayOrTensor,
    labels: ArrayOrTensor,
    shuffle: bool = True,
    seed: int | np.random.Generator | None = None,
) -> Iterator[tuple[ArrayOrTensor, ArrayOrTensor]]:
    """Yield (features[batch], labels[batch]) for minibatches covering the data once.

    The order is shuffled unless `shuffle=False`. When batch_size does not divide the number of
    examples, the last batch is smaller (the chapter's last exercise): no example is skipped.
    Tensors give tensor batches, arrays (or lists) array batches. Bad arguments fail here, at
    the call, not at the first batch."""
    batch_size = _check_batch_size(batch_size, "data_iter")
    if not isinstance(features, (Tensor, np.ndarray)):
        features = np.asarray(features)
    if not isinstance(labels, (Tensor, np.ndarray)):
        labels = np.asarray(labels)
    num_examples = first_dimension(features, "features", "data_iter")
    num_labels = first_dimension(labels, "labels", "data_iter")
    if num_examples != num_labels:
        raise ValueError(f"data_iter: {num_examples} feature rows but {num_labels} labels")
    if num_examples == 0:
        raise ValueError("data_iter: the data set is empty")
    rng = generator_from(seed) if shuffle else None
    batches = _batch_indices(num_examples, batch_size, shuffle, False, rng)
    return ((features[indices], labels[indices]) for indices in batches)
