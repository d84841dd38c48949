"""data: synthetic data sets, data_iter, TensorDataset and DataLoader."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinygrad_lr as tl
from tinygrad_lr.data import (
    DataLoader,
    TensorDataset,
    data_iter,
    make_moons,
    make_regression,
    synthetic_data,
)

SIZES = st.integers(1, 60)
BATCHES = st.integers(1, 70)


def as_array(t: tl.Tensor) -> np.ndarray:
    return np.array(t.detach().numpy())


# --- generators ---------------------------------------------------------------------------------


@given(
    hnp.arrays(np.float64, st.integers(1, 4), elements=st.floats(-5, 5)), st.floats(-5, 5), SIZES
)
def test_synthetic_data_without_noise_is_exactly_linear(w: np.ndarray, b: float, n: int) -> None:
    x, y = synthetic_data(w, b, n, noise=0.0, seed=0)
    assert x.shape == (n, w.size) and y.shape == (n, 1)
    np.testing.assert_allclose(as_array(y).ravel(), as_array(x) @ w + b, rtol=1e-12, atol=1e-12)


def test_synthetic_data_noise_has_the_requested_spread_and_seeds_repeat() -> None:
    w, b = [2, -3.4], 4.2
    x, y = synthetic_data(w, b, 20_000, noise=0.01, seed=1)
    residual = as_array(y).ravel() - (as_array(x) @ np.array(w) + b)
    assert 0.0095 < residual.std() < 0.0105 and abs(residual.mean()) < 5e-4
    again, _ = synthetic_data(w, b, 20_000, noise=0.01, seed=1)
    np.testing.assert_array_equal(as_array(again), as_array(x))
    tl.manual_seed(3)
    first, _ = synthetic_data(w, b, 5)
    tl.manual_seed(3)
    np.testing.assert_array_equal(as_array(synthetic_data(w, b, 5)[0]), as_array(first))


@given(SIZES, st.integers(1, 4), st.floats(-10, 10), st.integers(0, 100))
def test_make_regression_without_noise_is_exactly_linear(
    n: int, d: int, bias: float, seed: int
) -> None:
    x, y, coef = make_regression(n, d, bias=bias, noise=0.0, random_state=seed, coef=True)
    assert x.shape == (n, d) and y.shape == (n,) and coef.shape == (d,)
    assert np.all((coef >= 0) & (coef < 100))
    np.testing.assert_allclose(y, x @ coef + bias, rtol=1e-12, atol=1e-9)
    x2, _ = make_regression(n, d, bias=bias, noise=0.0, random_state=seed)
    np.testing.assert_array_equal(x2, x)


def test_make_moons_lies_on_two_half_circles_without_noise() -> None:
    x, y = make_moons(101, noise=0.0, random_state=0)
    assert x.shape == (101, 2) and y.dtype == np.int64
    assert np.sum(y == 0) == 51 and np.sum(y == 1) == 50
    outer, inner = x[y == 0], x[y == 1]
    np.testing.assert_allclose(np.hypot(outer[:, 0], outer[:, 1]), 1.0)
    np.testing.assert_allclose(np.hypot(inner[:, 0] - 1, inner[:, 1] - 0.5), 1.0)
    assert np.all(outer[:, 1] >= -1e-12) and np.all(inner[:, 1] <= 0.5 + 1e-12)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: synthetic_data([1.0], 0.0, 0), "num_examples must be positive"),
        (lambda: synthetic_data([1.0], 0.0, 5, noise=-1), "noise must be >= 0"),
        (lambda: make_regression(0), "must be positive"),
        (lambda: make_moons(1), "at least 2"),
    ],
)
def test_generators_reject_bad_sizes(call, message: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match=message):
        call()


# --- data_iter ----------------------------------------------------------------------------------


@given(SIZES, BATCHES, st.booleans(), st.integers(0, 100))
def test_data_iter_visits_every_example_once_in_batches(
    n: int, batch_size: int, as_tensor: bool, seed: int
) -> None:
    features = np.arange(n * 2, dtype=np.float64).reshape(n, 2)
    labels = np.arange(n, dtype=np.float64)
    x, y = (tl.tensor(features), tl.tensor(labels)) if as_tensor else (features, labels)
    batches = list(data_iter(batch_size, x, y, seed=seed))
    sizes = [len(yb) for _, yb in batches]
    assert sizes == [batch_size] * (n // batch_size) + ([n % batch_size] if n % batch_size else [])
    seen = np.concatenate([np.asarray(yb) for _, yb in batches])
    assert sorted(seen.tolist()) == labels.tolist()
    for xb, yb in batches:
        assert isinstance(xb, tl.Tensor) == as_tensor
        np.testing.assert_array_equal(np.asarray(xb)[:, 0], 2 * np.asarray(yb))  # rows stay paired


def test_data_iter_shuffles_unless_told_not_to() -> None:
    labels = np.arange(100.0)
    ordered = np.concatenate([b for _, b in data_iter(10, labels, labels, shuffle=False)])
    np.testing.assert_array_equal(ordered, labels)
    shuffled = np.concatenate([b for _, b in data_iter(10, labels, labels, seed=0)])
    assert not np.array_equal(shuffled, labels)
    again = np.concatenate([b for _, b in data_iter(10, labels, labels, seed=0)])
    np.testing.assert_array_equal(again, shuffled)


def test_data_iter_batches_keep_the_graph_to_the_features() -> None:
    x = tl.ones(4, 2, requires_grad=True)
    xb, _ = next(data_iter(4, x, tl.zeros(4), shuffle=False))
    xb.sum().backward()
    np.testing.assert_array_equal(as_array(x.grad), np.ones((4, 2)))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((0, np.zeros((3, 1)), np.zeros(3)), "batch_size must be a positive integer, got 0"),
        ((2.5, np.zeros((3, 1)), np.zeros(3)), "batch_size must be a positive integer"),
        ((2, np.zeros((3, 1)), np.zeros(4)), "3 feature rows but 4 labels"),
        ((2, np.zeros((0, 1)), np.zeros(0)), "empty"),
        ((2, np.float64(1.0), np.zeros(1)), "at least one dimension"),
    ],
)
def test_data_iter_rejects_bad_input_when_called(args, message: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match=message):
        data_iter(*args)


def test_data_iter_accepts_lists() -> None:
    batches = list(data_iter(2, [[1.0], [2.0], [3.0]], [1, 2, 3], shuffle=False))
    assert [b.tolist() for _, b in batches] == [[1, 2], [3]]


# --- TensorDataset and DataLoader ---------------------------------------------------------------


@given(SIZES, BATCHES, st.booleans(), st.booleans())
def test_dataloader_batches(n: int, batch_size: int, shuffle: bool, drop_last: bool) -> None:
    labels = np.arange(n, dtype=np.float64)
    dataset = TensorDataset(labels.reshape(-1, 1) * 3, labels)
    loader = DataLoader(
        dataset, batch_size=batch_size, shuffle=shuffle, drop_last=drop_last, seed=0
    )
    batches = list(loader)
    assert len(batches) == len(loader)
    full, rest = divmod(n, batch_size)
    expected_sizes = [batch_size] * full + ([rest] if rest and not drop_last else [])
    assert [len(yb) for _, yb in batches] == expected_sizes
    seen = np.concatenate([as_array(yb) for _, yb in batches]) if batches else np.zeros(0)
    assert len(set(seen.tolist())) == len(seen) == sum(expected_sizes)
    if not shuffle:
        np.testing.assert_array_equal(seen, labels[: len(seen)])
    for xb, yb in batches:
        np.testing.assert_array_equal(as_array(xb).ravel(), 3 * as_array(yb))


def test_dataloader_reshuffles_every_pass_reproducibly() -> None:
    dataset = TensorDataset(np.arange(50.0))

    def order(loader: DataLoader) -> list[float]:
        return np.concatenate([as_array(b) for (b,) in loader]).tolist()

    loader = DataLoader(dataset, batch_size=7, shuffle=True, seed=5)
    first, second = order(loader), order(loader)
    assert first != second and sorted(first) == sorted(second) == list(range(50))
    replay = DataLoader(dataset, batch_size=7, shuffle=True, generator=np.random.default_rng(5))
    assert order(replay) == first


def test_dataloader_accepts_any_indexable_dataset() -> None:
    class Squares:
        def __len__(self) -> int:
            return 5

        def __getitem__(self, i: int) -> tuple[float, float]:
            return float(i), float(i * i)

    batches = list(DataLoader(Squares(), batch_size=2))
    assert len(batches) == 3
    np.testing.assert_array_equal(as_array(batches[1][1]), [4.0, 9.0])


def test_dataset_and_loader_errors() -> None:
    with pytest.raises(ValueError, match=r"different first dimensions \[3, 4\]"):
        TensorDataset(np.zeros(3), np.zeros(4))
    with pytest.raises(ValueError, match="needs at least one tensor"):
        TensorDataset()
    with pytest.raises(ValueError, match="batch_size must be a positive integer, got -1"):
        DataLoader(TensorDataset(np.zeros(3)), batch_size=-1)
    with pytest.raises(ValueError, match="the dataset is empty"):
        DataLoader(TensorDataset(np.zeros(0)))
    with pytest.raises(TypeError, match="must support len"):
        DataLoader(42)  # type: ignore[arg-type]
