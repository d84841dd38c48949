"""Every op of the op table inside a compiled step: the replay's forward and backward agree with
eager to the last bit (the same NumPy operations in the same order)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from op_table import CONSTANT_OPS, OPS, OpSpec

import tinygrad_lr as tl
from tinygrad_lr.compile import CompileWarning


def _weights(shape: tuple[int, ...]) -> np.ndarray:
    return np.cos(np.arange(int(np.prod(shape)), dtype=float)).reshape(shape) + 1.5


def _step(spec: OpSpec, backward: bool):  # type: ignore[no-untyped-def]
    def step(*xs: tl.Tensor) -> tl.Tensor:
        out = spec.fn(*xs)
        if isinstance(out, tuple):
            out = out[0]
        if backward:
            (out * tl.tensor(_weights(out.shape))).sum().backward()
        return out

    return step


def _run(step, arrays: tuple[np.ndarray, ...], grad: bool):  # type: ignore[no-untyped-def]
    xs = [tl.tensor(a, requires_grad=grad) for a in arrays]
    out = step(*xs)
    return out.detach().numpy(), [None if x.grad is None else x.grad.numpy() for x in xs]


def _check(spec: OpSpec, arrays: tuple[np.ndarray, ...], backward: bool) -> None:
    eager_out, eager_grads = _run(_step(spec, backward), arrays, backward)
    compiled = tl.compile(_step(spec, backward))
    for _ in range(3):  # two recording calls, then the replay
        out, grads = _run(compiled, arrays, backward)
    assert compiled.code is not None, f"{spec.name} was not replayed"
    np.testing.assert_array_equal(out, eager_out, strict=True)
    for grad, eager_grad in zip(grads, eager_grads):
        np.testing.assert_array_equal(grad, eager_grad, strict=True)


REPLAYED = [spec for spec in OPS if spec.name != "getitem_mask"]


# Draws may make 0/0 (std of equal values): eager and replay must agree on the NaN, and the
# NumPy warning that comes with it is expected.
@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("spec", REPLAYED, ids=lambda s: s.name)
@settings(max_examples=4, deadline=None)
@given(data=st.data())
def test_every_op_replays_bit_exactly_forward_and_backward(
    spec: OpSpec, data: st.DataObject
) -> None:
    _check(spec, data.draw(spec.inputs), backward=True)


@pytest.mark.parametrize("spec", CONSTANT_OPS, ids=lambda s: s.name)
@settings(max_examples=3, deadline=None)
@given(data=st.data())
def test_constant_ops_replay_bit_exactly(spec: OpSpec, data: st.DataObject) -> None:
    _check(spec, data.draw(spec.inputs), backward=False)


def test_boolean_mask_indexing_runs_eagerly_with_a_warning() -> None:
    spec = next(s for s in OPS if s.name == "getitem_mask")
    compiled = tl.compile(_step(spec, True))
    arrays = (np.array([1.0, -2.0, 3.0]),)
    with pytest.warns(CompileWarning, match="boolean-mask indexing"):
        out, _ = _run(compiled, arrays, True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # one warning only
        out, _ = _run(compiled, arrays, True)
    np.testing.assert_array_equal(out, [1.0, 3.0])
    assert compiled.code is None


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_softmax_has_numpy_lines_of_its_own_even_for_rows_of_minus_infinity(name: str) -> None:
    """The lines are the forward's own (shifted by the row's max), also where a row is all
    -inf or holds +inf, whose max is not finite: eager and replay give the same NaNs and
    numbers."""
    x = np.array([[1.0, 2.0, 700.0], [-np.inf, -np.inf, -np.inf], [0.5, -np.inf, 3.0],
                  [np.inf, 1.0, 2.0]])  # fmt: skip

    def step(t: tl.Tensor) -> tl.Tensor:
        return getattr(t, name)(dim=1)

    compiled = tl.compile(step)
    for _ in range(3):
        out = compiled(tl.tensor(x))
    assert compiled.code is not None and "_forward" not in compiled.code
    assert "np.max(" in compiled.code and "np.exp(" in compiled.code
    np.testing.assert_array_equal(out.numpy(), step(tl.tensor(x)).numpy(), strict=True)


@pytest.mark.parametrize("where", ["op", "in-place change", "warnings made errors"])
def test_a_step_that_changes_how_numpy_handles_errors_runs_eagerly(where: str) -> None:
    """`np.errstate` (or warnings made errors) inside the step changes what an op or an
    in-place change does on overflow, which the replay's NumPy lines would not: eager raises,
    and so does every call."""
    w, kept = tl.ones(3, requires_grad=True), tl.full((3,), 1e300)

    def step(s: tl.Tensor) -> tl.Tensor:
        raising = "warn" if where == "warnings made errors" else "raise"
        with warnings.catch_warnings(), np.errstate(over=raising), tl.no_grad():
            warnings.simplefilter("error" if where == "warnings made errors" else "default")
            if where == "op":
                return (w * s * 100.0).exp().sum()
            kept.mul_(s)  # in-place changes only: 1e300 * s, and back
            kept.div_(s)
        return (w * s).sum()

    compiled = tl.compile(step)
    with pytest.warns(CompileWarning, match="np.errstate"):
        compiled(tl.full((3,), 1e-300))
    for _ in range(3):
        compiled(tl.full((3,), 1e-300))
    assert compiled.code is None
    with pytest.raises((FloatingPointError, RuntimeWarning)):
        compiled(tl.full((3,), 8.0 if where == "op" else 1e10))
