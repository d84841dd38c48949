"""tinygrad_lr.utils.data against torch.utils.data: imports, default_collate, DataLoader
options, random_split."""

from __future__ import annotations

from collections import namedtuple
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_lr as tl
from tinygrad_lr.utils import data
from tinygrad_lr.utils.data import DataLoader, Dataset, TensorDataset, random_split

Point = namedtuple("Point", ["x", "y"])


def _plain(value: Any) -> Any:
    """A batch as plain Python/NumPy values, comparable across the two libraries."""
    if hasattr(value, "detach"):
        return ("tensor", str(value.dtype).replace("torch.", ""), value.detach().numpy().tolist())
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return (type(value).__name__, [_plain(item) for item in value])
    return value


SAMPLES = [
    [
        {"x": np.array([1.0, 2.0]), "label": 3, "name": "a"},
        {"x": np.array([3.0, 4.0]), "label": 1, "name": "b"},
    ],
    [(1.5, 2), (2.5, 3)],
    [[np.float32(1.0), True], [np.float32(2.0), False]],
    [{"nested": {"a": (1, 2.0)}}, {"nested": {"a": (3, 4.0)}}],
    [Point(1.0, 2), Point(3.0, 4)],
]


@pytest.mark.parametrize("samples", SAMPLES)
def test_default_collate_builds_torchs_batches(samples: list[Any]) -> None:
    pytest.importorskip("torch")
    from torch.utils.data import default_collate

    ours = data.default_collate(samples)
    theirs = default_collate(samples)
    assert _plain(ours) == _plain(theirs)
    assert type(ours).__name__ == type(theirs).__name__


def test_the_import_spellings_work() -> None:
    import tinygrad_lr.utils.data as by_module
    from tinygrad_lr.utils import data as by_from

    assert tl.utils.data.DataLoader is by_module.DataLoader is by_from.DataLoader
    assert tl.data.DataLoader is DataLoader and tl.data.TensorDataset is TensorDataset


class Pairs(Dataset):
    def __len__(self) -> int:
        return 7

    def __getitem__(self, index: int) -> dict[str, Any]:
        return {"features": tl.tensor([float(index), -float(index)]), "target": index % 2}


def test_dict_samples_through_a_dataloader_match_torch() -> None:
    torch = pytest.importorskip("torch")

    class TorchPairs(torch.utils.data.Dataset):
        def __len__(self) -> int:
            return 7

        def __getitem__(self, index: int) -> dict[str, Any]:
            return {
                "features": torch.tensor([float(index), -float(index)], dtype=torch.float64),
                "target": index % 2,
            }

    for options in ({"batch_size": 3}, {"batch_size": 3, "drop_last": True}, {"batch_size": 2}):
        ours = [_plain(b) for b in DataLoader(Pairs(), **options)]
        theirs = [_plain(b) for b in torch.utils.data.DataLoader(TorchPairs(), **options)]
        assert ours == theirs
        assert len(DataLoader(Pairs(), **options)) == len(
            torch.utils.data.DataLoader(TorchPairs(), **options)
        )


def test_tensor_dataset_batches_are_lists_as_in_torch() -> None:
    torch = pytest.importorskip("torch")
    x, y = np.arange(10.0).reshape(5, 2), np.arange(5)
    ours = list(DataLoader(TensorDataset(tl.tensor(x), tl.tensor(y)), batch_size=2))
    theirs = list(
        torch.utils.data.DataLoader(
            torch.utils.data.TensorDataset(torch.tensor(x), torch.tensor(y)), batch_size=2
        )
    )
    assert [_plain(b) for b in ours] == [_plain(b) for b in theirs]


def test_shuffle_with_a_generator_is_reproducible_and_covers_every_item() -> None:
    dataset = TensorDataset(tl.arange(20))

    def order(seed: int) -> list[int]:
        loader = DataLoader(
            dataset, batch_size=6, shuffle=True, generator=tl.Generator().manual_seed(seed)
        )
        return [int(v) for (batch,) in loader for v in batch.numpy()]

    assert order(1) == order(1) and sorted(order(1)) == list(range(20)) and order(1) != order(2)


def test_collate_fn_sampler_and_batch_sampler() -> None:
    loader = DataLoader(
        Pairs(), batch_size=4, collate_fn=lambda samples: [s["target"] for s in samples]
    )
    assert list(loader) == [[0, 1, 0, 1], [0, 1, 0]]
    loader = DataLoader(Pairs(), batch_size=2, sampler=[6, 5, 4])
    assert [b["target"].tolist() for b in loader] == [[0, 1], [0]]
    loader = DataLoader(Pairs(), batch_sampler=[[0, 2], [1]])
    assert [b["target"].tolist() for b in loader] == [[0, 0], [1]]
    with pytest.raises(ValueError, match="sampler is mutually exclusive with shuffle"):
        DataLoader(Pairs(), sampler=[0], shuffle=True)
    with pytest.raises(ValueError, match="batch_sampler is mutually exclusive"):
        DataLoader(Pairs(), batch_size=2, batch_sampler=[[0]])
    with pytest.raises(TypeError, match=r"generator must be a tinygrad_lr\.Generator"):
        DataLoader(Pairs(), shuffle=True, generator=3)
    assert len(list(DataLoader(Pairs(), num_workers=2, pin_memory=True))) == 7


def test_collate_refuses_ragged_samples() -> None:
    with pytest.raises(RuntimeError, match="same shape to be stacked"):
        data.default_collate([tl.zeros(2), tl.zeros(3)])
    with pytest.raises(TypeError, match="found object"):
        data.default_collate([object()])


@given(st.integers(1, 60), st.sampled_from([[0.8, 0.2], [0.5, 0.3, 0.2], [1 / 3] * 3, [0.1, 0.9]]))
def test_random_split_lengths_from_fractions_match_torch(n: int, fractions: list[float]) -> None:
    torch = pytest.importorskip("torch")
    ours = [len(s) for s in random_split(range(n), fractions)]
    theirs = [len(s) for s in torch.utils.data.random_split(range(n), fractions)]
    assert ours == theirs


def test_random_split_with_counts_and_a_generator() -> None:
    parts = random_split(range(10), [3, 7], generator=tl.Generator().manual_seed(0))
    again = random_split(range(10), [3, 7], generator=tl.Generator().manual_seed(0))
    assert [list(p) for p in parts] == [list(p) for p in again]
    assert sorted(list(parts[0]) + list(parts[1])) == list(range(10))
    with pytest.raises(ValueError, match=r"the lengths \[3, 3\] sum to 6, but the dataset has 10"):
        random_split(range(10), [3, 3])
    combined = TensorDataset(tl.arange(3)) + TensorDataset(tl.arange(3, 5))
    assert len(combined) == 5 and int(combined[4][0]) == 4
