"""`DataLoader`: iterate over a dataset in minibatches, and `default_collate`, which turns a
list of samples into one batch the way PyTorch's does.

A TensorDataset read in the default way is cut with one array index per batch (`X[indices]`),
not one Python call per example; any other dataset is read item by item and collated.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from ...creation import as_tensor, tensor
from ...functions import stack
from ...generator import numpy_generator
from ...tensor import Tensor
from .dataset import TensorDataset
from .sampler import BatchSampler, RandomSampler, SequentialSampler

__all__ = ["DataLoader", "default_collate"]


def _is_namedtuple(value: Any) -> bool:
    return isinstance(value, tuple) and hasattr(value, "_fields")


def default_collate(batch: Sequence[Any]) -> Any:
    """One batch from a list of samples, following the structure of the first sample:

    tensors and arrays are stacked along a new first dimension; Python floats become a float64
    tensor, ints an int64 tensor, bools a bool tensor; strings stay a list; a dict gives a dict
    of collated values per key; a tuple or list of fields gives a list of collated fields
    (a named tuple stays that named tuple)."""
    first = batch[0]
    if isinstance(first, Tensor):
        shapes = {item.shape for item in batch}
        if len(shapes) > 1:
            raise RuntimeError(
                f"default_collate: samples must have the same shape to be stacked, got "
                f"{sorted(shapes)}"
            )
        return stack(list(batch), 0)
    if isinstance(first, np.ndarray) and first.dtype.kind in "fiub":
        return default_collate([as_tensor(item) for item in batch])
    if isinstance(first, np.generic) and first.dtype.kind in "fiub":
        return as_tensor(np.array(batch))
    if isinstance(first, bool):
        return tensor(list(batch))
    if isinstance(first, float):
        return tensor(list(batch), dtype=np.float64)
    if isinstance(first, int):
        return tensor(list(batch), dtype=np.int64)
    if isinstance(first, (str, bytes)):
        return list(batch)
    if isinstance(first, Mapping):
        collated = {key: default_collate([sample[key] for sample in batch]) for key in first}
        try:
            return type(first)(collated)  # type: ignore[call-arg]
        except TypeError:  # a Mapping type that cannot be built from a dict
            return collated
    if isinstance(first, (tuple, list)):
        sizes = {len(sample) for sample in batch}
        if len(sizes) > 1:
            raise RuntimeError(
                f"default_collate: each sample must have the same number of fields, got {sizes}"
            )
        fields = [default_collate(list(samples)) for samples in zip(*batch)]
        return type(first)(*fields) if _is_namedtuple(first) else fields
    raise TypeError(
        "default_collate: samples must hold tensors, NumPy arrays, numbers, strings, dicts, "
        f"tuples or lists; found {type(first).__name__}"
    )


def _check_batch_size(batch_size: Any, where: str) -> int:
    if (
        isinstance(batch_size, bool)
        or not isinstance(batch_size, (int, np.integer))
        or batch_size <= 0
    ):
        raise ValueError(f"{where}: batch_size must be a positive integer, got {batch_size!r}")
    return int(batch_size)


class DataLoader:
    """Iterate over a dataset in minibatches, as torch.utils.data.DataLoader.

    Each pass (`for X, y in loader`) reshuffles when `shuffle=True`, drawing from `generator`
    (a tinygrad_lr Generator or a NumPy one), from a generator made from `seed`, or from the
    library's default one. The last, smaller batch is kept unless `drop_last=True`. `sampler`
    chooses the indices instead (and excludes `shuffle`), `batch_sampler` the batches (and
    excludes `batch_size`, `shuffle`, `sampler` and `drop_last`); `collate_fn` turns a list of
    samples into a batch (default: `default_collate`). Data are always loaded in the main
    process: `num_workers`, `pin_memory` and `persistent_workers` are accepted and ignored."""

    def __init__(
        self,
        dataset: Any,
        batch_size: int = 1,
        shuffle: bool | None = None,
        sampler: Iterable[int] | None = None,
        batch_sampler: Iterable[list[int]] | None = None,
        num_workers: int = 0,
        collate_fn: Callable[[list[Any]], Any] | None = None,
        pin_memory: bool = False,
        drop_last: bool = False,
        generator: Any = None,
        *,
        seed: int | None = None,
        persistent_workers: bool = False,
    ) -> None:
        self.batch_size = _check_batch_size(batch_size, "DataLoader")
        if not hasattr(dataset, "__len__") or not hasattr(dataset, "__getitem__"):
            raise TypeError(
                f"DataLoader: dataset must support len() and indexing, got {type(dataset).__name__}"
            )
        if len(dataset) == 0:
            raise ValueError("DataLoader: the dataset is empty")
        if generator is not None and seed is not None:
            raise ValueError("DataLoader: give either generator or seed, not both")
        if isinstance(num_workers, bool) or not isinstance(num_workers, int) or num_workers < 0:
            raise ValueError(
                f"DataLoader: num_workers must be a non-negative integer, got {num_workers!r}"
            )
        if sampler is not None and shuffle:
            raise ValueError("DataLoader: sampler is mutually exclusive with shuffle")
        if batch_sampler is not None and (
            batch_size != 1 or shuffle or sampler is not None or drop_last
        ):
            raise ValueError(
                "DataLoader: batch_sampler is mutually exclusive with batch_size, shuffle, "
                "sampler and drop_last"
            )
        numpy_generator(generator, "DataLoader")  # a bad generator fails here
        self.dataset = dataset
        self.shuffle = bool(shuffle)
        self.drop_last = drop_last
        self.num_workers = num_workers
        self.pin_memory = pin_memory
        self.persistent_workers = persistent_workers
        self.generator = np.random.default_rng(seed) if seed is not None else generator
        self.collate_fn = default_collate if collate_fn is None else collate_fn
        if sampler is None:
            sampler = (
                RandomSampler(dataset, generator=self.generator)
                if self.shuffle
                else SequentialSampler(dataset)
            )
        self.sampler = sampler
        self.batch_sampler = (
            BatchSampler(sampler, self.batch_size, drop_last)
            if batch_sampler is None
            else batch_sampler
        )

    def __len__(self) -> int:
        """Number of batches per pass."""
        return len(self.batch_sampler)  # type: ignore[arg-type]

    def __iter__(self) -> Iterator[Any]:
        # A TensorDataset collated by default: one array index per batch gives the same batch
        # as stacking the samples one by one.
        whole_batches = isinstance(self.dataset, TensorDataset) and (
            self.collate_fn is default_collate
        )
        for indices in self.batch_sampler:
            if whole_batches:
                yield list(self.dataset[np.asarray(indices, dtype=np.int64)])
            else:
                yield self.collate_fn([self.dataset[index] for index in indices])
