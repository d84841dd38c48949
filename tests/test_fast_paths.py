"""The engine's two fast paths give exactly what the plain paths give: Python numbers made into
tensors once (`_args._number`), and built-in ops that nothing records run without the recording
checks (`Function._apply_unrecorded`)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import numpy as np
import pytest

import tinygrad_lr as tl
from tinygrad_lr import _args, nn, ops, optim


@contextmanager
def plain_paths(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    with monkeypatch.context() as patch:
        patch.setattr(_args, "_number", lambda v, d: tl.Tensor._make(np.array(v, dtype=d)))
        patch.setattr(ops.BuiltinOp, "_returns_new_tensors", False)
        yield


def train_mlp() -> list[np.ndarray]:
    """Twenty SGD steps of a small MLP with momentum: numbers, no_grad updates, broadcasting."""
    tl.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 8), nn.Tanh(), nn.Linear(8, 1))
    opt = optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    x, y = tl.randn(16, 3), tl.randn(16, 1)
    for _ in range(20):
        opt.zero_grad()
        loss = ((model(x) - y) ** 2 / 2.0).mean() + 1e-3 * (model[0].weight ** 2).sum()
        loss.backward()
        opt.step()
    return [p.detach().numpy().copy() for p in model.parameters()]


def second_derivative() -> list[np.ndarray]:
    x = tl.tensor([0.3, -1.2, 2.0], requires_grad=True)
    (g,) = tl.grad((x.sin() * 3.0 + x**3 / 2.0).sum(), x, create_graph=True)
    (h,) = tl.grad(g.sum(), x)
    return [g.detach().numpy().copy(), h.numpy().copy()]


@pytest.mark.parametrize("run", [train_mlp, second_derivative])
def test_fast_and_plain_paths_agree_to_the_bit(
    run: Callable[[], list[np.ndarray]], monkeypatch: pytest.MonkeyPatch
) -> None:
    fast = run()
    with plain_paths(monkeypatch):
        plain = run()
    for a, b in zip(fast, plain):
        np.testing.assert_array_equal(a, b)


def test_cached_numbers_are_read_only_and_zero_is_not_cached() -> None:
    like = tl.tensor([1.0])
    two = _args._operand(2.0, like)
    assert two is _args._operand(2.0, like) and not two._data.flags.writeable
    assert _args._operand(0.0, like) is not _args._operand(-0.0, like)
    assert np.signbit(_args._operand(-0.0, like).numpy())


def test_unrecorded_ops_still_explain_numpy_errors() -> None:
    with (
        tl.no_grad(),
        pytest.raises(tl.ShapeError, match=r"add: cannot broadcast \(2,\) with \(3,\)"),
    ):
        tl.ones(2) + tl.ones(3)
