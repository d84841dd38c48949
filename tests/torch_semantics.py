"""What the torch-semantics tests share: running one computation in both libraries and
comparing shapes, dtypes and values."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest

import tinygrad_lr as tl

torch = pytest.importorskip("torch")


@pytest.fixture
def torch_default_float64() -> Iterator[None]:
    """torch with tinygrad_lr's default float dtype, float64, where a rule picks "the default"
    (an int tensor times a Python float, Tensor([1, 2])); the difference is in conventions.md."""
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(previous)


def as_numpy(t: Any) -> np.ndarray:
    return np.asarray(t.detach().numpy())


def same(ours: Any, theirs: Any, rtol: float = 1e-10) -> None:
    """Same shape, dtype name and values."""
    assert tuple(ours.shape) == tuple(theirs.shape)
    assert ours.dtype.name == str(theirs.dtype).removeprefix("torch.")
    np.testing.assert_allclose(as_numpy(ours), as_numpy(theirs), rtol=rtol, atol=1e-12)


def both(fn: Callable[[Any, Any], Any], *values: Any, **kw: Any) -> tuple[Any, Any]:
    """fn(library, *tensors) for tinygrad_lr and for torch, on float64 copies of `values`."""
    results = []
    for library in (tl, torch):
        tensors = [library.tensor(v, dtype=library.float64, **kw) for v in values]
        results.append(fn(library, *tensors))
    return results[0], results[1]


VALUES = np.array([[1.5, -2.0, 0.5], [3.0, 0.25, -1.0]])
