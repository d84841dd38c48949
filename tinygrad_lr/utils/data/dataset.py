"""Datasets: the `Dataset` base class, `TensorDataset`, `Subset`, `ConcatDataset`, `random_split`.

A map-style dataset is anything with `len(dataset)` and `dataset[i]` (item i, a sample). A
DataLoader turns samples into batches.
"""

from __future__ import annotations

import bisect
import itertools
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from ...creation import as_tensor
from ...generator import numpy_generator
from ...tensor import Tensor

__all__ = ["ConcatDataset", "Dataset", "Subset", "TensorDataset", "random_split"]


def first_dimension(data: Any, name: str, where: str) -> int:
    """The number of rows (examples) of a tensor, array or list; a scalar has none."""
    shape = data.shape if isinstance(data, (Tensor, np.ndarray)) else np.shape(data)
    if len(shape) == 0:
        raise ValueError(
            f"{where}: {name} must have at least one dimension (one row per example), got a scalar"
        )
    return int(shape[0])


class Dataset:
    """Base class of map-style datasets: subclasses define `__len__` and `__getitem__(i)`.
    `a + b` concatenates two datasets."""

    def __getitem__(self, index: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must define __getitem__")

    def __add__(self, other: Dataset) -> ConcatDataset:
        return ConcatDataset([self, other])


class TensorDataset(Dataset):
    """Tensors that share their first dimension; item i is the tuple of their rows i.

    Indexing with an integer array returns whole batches at once, which DataLoader uses."""

    def __init__(self, *tensors: Any) -> None:
        if not tensors:
            raise ValueError("TensorDataset: needs at least one tensor")
        self.tensors = tuple(t if isinstance(t, Tensor) else as_tensor(t) for t in tensors)
        lengths = [
            first_dimension(t, f"tensor {i}", "TensorDataset") for i, t in enumerate(self.tensors)
        ]
        if len(set(lengths)) != 1:
            raise ValueError(f"TensorDataset: tensors have different first dimensions {lengths}")

    def __len__(self) -> int:
        return self.tensors[0].shape[0]

    def __getitem__(self, index: Any) -> tuple[Tensor, ...]:
        return tuple(t[index] for t in self.tensors)

    def __repr__(self) -> str:
        shapes = ", ".join(str(t.shape) for t in self.tensors)
        return f"TensorDataset({len(self)} examples; shapes {shapes})"


class Subset(Dataset):
    """The items of `dataset` at `indices`, in that order: `Subset(d, [3, 1])[0]` is `d[3]`."""

    def __init__(self, dataset: Any, indices: Sequence[int]) -> None:
        self.dataset = dataset
        self.indices = [int(i) for i in indices]

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, list):
            return [self.dataset[self.indices[i]] for i in index]
        return self.dataset[self.indices[index]]


class ConcatDataset(Dataset):
    """Datasets one after the other: items 0 .. len(a) - 1 come from a, the next from b..."""

    def __init__(self, datasets: Sequence[Any]) -> None:
        self.datasets = list(datasets)
        if not self.datasets:
            raise ValueError("ConcatDataset: needs at least one dataset")
        self.ends = list(np.cumsum([len(d) for d in self.datasets]).tolist())

    def __len__(self) -> int:
        return int(self.ends[-1])

    def __getitem__(self, index: int) -> Any:
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(f"ConcatDataset: index out of range for {len(self)} items")
        which = bisect.bisect_right(self.ends, index)
        start = self.ends[which - 1] if which else 0
        return self.datasets[which][index - start]


def _split_lengths(lengths: Sequence[float], total: int) -> list[int]:
    """Whole lengths summing to `total`: given as counts, or as fractions summing to 1 (the
    rows the fractions leave over go one each to the first subsets, as PyTorch does)."""
    if math.isclose(sum(lengths), 1.0) and sum(lengths) <= 1:
        for fraction in lengths:
            if not 0 <= fraction <= 1:
                raise ValueError(f"random_split: fraction {fraction} is not in [0, 1]")
        counts = [math.floor(total * fraction) for fraction in lengths]
        for k in range(total - sum(counts)):
            counts[k % len(counts)] += 1
        return counts
    if any(isinstance(n, float) and not n.is_integer() for n in lengths) or any(
        n < 0 for n in lengths
    ):
        raise ValueError(
            f"random_split: lengths must be counts or fractions summing to 1, got {list(lengths)}"
        )
    counts = [int(n) for n in lengths]
    if sum(counts) != total:
        raise ValueError(
            f"random_split: the lengths {counts} sum to {sum(counts)}, but the dataset has "
            f"{total} items"
        )
    return counts


def random_split(dataset: Any, lengths: Sequence[float], generator: Any = None) -> list[Subset]:
    """Split `dataset` at random into non-overlapping Subsets of the given lengths (counts, or
    fractions such as [0.8, 0.2]), drawing the order from `generator`."""
    counts = _split_lengths(list(lengths), len(dataset))
    order = numpy_generator(generator, "random_split").permutation(len(dataset)).tolist()
    offsets = np.cumsum([0, *counts]).tolist()
    return [Subset(dataset, order[start:stop]) for start, stop in itertools.pairwise(offsets)]
