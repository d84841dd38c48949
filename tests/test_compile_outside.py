"""What a replay owes the tensors outside the step: it counts its in-place changes in their
versions, as eager does, and it runs only while they are as the code was made for them (no
hook, the same requires_grad, shape and dtype). Each test does the same thing to an eager
and to a compiled step, and compares."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import tinygrad_lr as tl
from tinygrad_lr.compile import CompileWarning

Step = Callable[[tl.Tensor], Any]


def _model(compiled: bool) -> tuple[tl.Tensor, tl.Tensor, Step]:
    """A linear model, its SGD step (eager or compiled), and the step already replaying."""
    w = tl.tensor([[0.5], [-1.0]], requires_grad=True)
    b = tl.zeros(1, requires_grad=True)

    def step(x: tl.Tensor) -> tl.Tensor:
        loss = ((x @ w + b) ** 2).mean()
        loss.backward()
        with tl.no_grad():
            for p in (w, b):
                p -= 0.1 * p.grad
                p.grad.zero_()
        return loss

    run = tl.compile(step) if compiled else step
    for _ in range(3):
        run(_x())
    assert not compiled or run.code is not None  # type: ignore[attr-defined]
    return w, b, run


def _x() -> tl.Tensor:
    return tl.tensor([[1.0, 2.0], [3.0, -1.0], [0.5, 0.25]])


def _outcome(compiled: bool, between: Callable[[tl.Tensor, tl.Tensor], Any]) -> Any:
    """`between(w, b)` done after three steps, then one more step: what it gives (the
    parameters, or the error's type and words)."""
    w, b, step = _model(compiled)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CompileWarning)
        between(w, b)
        try:
            step(_x())
        except Exception as error:
            return type(error), str(error)
    return [p.detach().numpy().tolist() for p in (w, b)]


def test_a_replay_counts_its_in_place_changes_in_the_versions_as_eager_does() -> None:
    (we, be, eager), (wc, bc, compiled) = _model(False), _model(True)
    for _ in range(4):
        eager(_x())
        compiled(_x())
        for e, c in ((we, wc), (be, bc)):
            assert c._version == e._version
            assert c.grad is not None and e.grad is not None
            assert c.grad._version == e.grad._version


def test_a_value_saved_before_a_replay_changed_it_is_refused_by_backward() -> None:
    for compiled in (False, True):
        w, _, step = _model(compiled)
        saved = (w * w).sum()  # saves w for its backward
        step(_x())  # changes w in place
        with pytest.raises(RuntimeError, match="modified by an in-place operation"):
            saved.backward()


def test_a_view_changed_in_place_counts_in_the_version_of_the_tensor_it_views() -> None:
    def run(compiled: bool) -> tuple[int, list[float]]:
        w = tl.zeros(3)

        def bump(x: tl.Tensor) -> None:
            w[1:].add_(x)  # a view of w: changing it changes w

        step = tl.compile(bump) if compiled else bump
        for _ in range(4):
            step(tl.ones(2))
        return w._version, w.tolist()

    assert run(True) == run(False)


@pytest.mark.parametrize(
    "between",
    [
        pytest.param(lambda w, b: w.register_hook(lambda g: g * 100), id="hook"),
        pytest.param(lambda w, b: b.requires_grad_(False), id="requires_grad_False"),
        pytest.param(lambda w, b: setattr(w, "data", tl.ones(2, 3)), id="data_of_a_new_shape"),
        pytest.param(
            lambda w, b: setattr(b, "data", tl.zeros(1, dtype=tl.float32)), id="data_of_a_new_dtype"
        ),
        pytest.param(lambda w, b: setattr(w, "data", tl.ones(2, 1)), id="data_of_the_same_kind"),
    ],
)
def test_a_change_to_an_outside_tensor_between_calls_gives_what_eager_gives(
    between: Callable[[tl.Tensor, tl.Tensor], Any],
) -> None:
    assert _outcome(True, between) == _outcome(False, between)


def test_a_hook_registered_after_compiling_makes_the_step_run_eagerly_with_a_warning() -> None:
    w, _, step = _model(True)
    w.register_hook(lambda g: g * 0)
    before = w.detach().numpy().copy()
    with pytest.warns(CompileWarning, match="hook"):
        step(_x())
    np.testing.assert_array_equal(w.detach().numpy(), before)  # the hook zeroed the gradient


def test_assigning_data_inside_the_step_makes_it_run_eagerly_with_a_warning_naming_it() -> None:
    def run(compiled: bool) -> tuple[list[float], list[str]]:
        w = tl.tensor([1.0, 2.0], requires_grad=True)

        def step(x: tl.Tensor) -> None:
            (x * w).sum().backward()
            w.data = w.data - 0.1 * w.grad
            w.grad = None

        fn = tl.compile(step) if compiled else step
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            for _ in range(4):
                fn(tl.tensor([1.0, -1.0]))
        return w.tolist(), [str(c.message) for c in caught]

    (compiled, messages), (eager, _) = run(True), run(False)
    assert compiled == eager
    assert any("`.data`" in message for message in messages), messages
