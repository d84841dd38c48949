"""tinygrad_lr.testing: the strategies draw what they promise, and check_op passes good ops and
fails bad ones with a report naming the op."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sample_ops import MutatesInput, MutatesUpstream, Softplus

import tinygrad_lr as tl
from tinygrad_lr import Tensor
from tinygrad_lr.testing import (
    BOUNDED,
    POSITIVE,
    Domain,
    arrays,
    away_from,
    broadcastable_shapes,
    check_op,
    shapes,
    tensors,
)


class SoftplusOffByOnePercent(Softplus):
    @staticmethod
    def backward(ctx: Any, g: Tensor) -> Tensor:
        (x,) = ctx.saved_tensors
        return g * x.sigmoid() * 1.01


class SoftplusDetached(Softplus):
    """Right first derivative; its backward leaves the graph, so second order is wrong."""

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> Tensor:
        (x,) = ctx.saved_tensors
        return g * x.detach().sigmoid()


def softplus_reference(a: np.ndarray) -> np.ndarray:
    return np.logaddexp(0.0, a)


# --- check_op on good ops -----------------------------------------------------------------------


def test_check_op_passes_a_right_custom_op() -> None:
    check_op(lambda x: Softplus.apply(x), 1, reference=softplus_reference, second_order=True)


def test_check_op_passes_broadcasting_and_fixed_shapes() -> None:
    check_op(lambda x, y: x * y.exp() - y, 2, max_examples=10)
    check_op(lambda x, y: x / y, 2, domains=["real", away_from(0.0, margin=0.5)], max_examples=10)
    check_op(lambda x, w: x @ w, 2, shapes=[(3, 2), (2, 4)], output_shape=(3, 4), max_examples=5)
    check_op(
        lambda x: x.max(dim=0).values,
        1,
        shapes=st.just(((3, 2),)),
        unique=True,
        output_shape=lambda shape: shape[1:],
        max_examples=5,
    )
    check_op(lambda x: x.log(), 1, domains=POSITIVE, broadcast=False, max_examples=5)
    check_op(
        lambda x: (1.0 - x).log(),
        1,
        domains="bounded",
        output_shape=None,
        assume=lambda a: a.size > 1,
        max_examples=5,
    )


# --- check_op on bad ops ------------------------------------------------------------------------


def test_check_op_fails_a_wrong_backward_and_names_it() -> None:
    with pytest.raises(AssertionError) as caught:
        check_op(lambda x: SoftplusOffByOnePercent.apply(x * 2.0).sum(), 1, output_shape=())
    report = str(caught.value)
    assert "check_op failed" in report
    assert "random upstream gradient" in report
    assert "SoftplusOffByOnePercentBackward" in report and "op 2 of 3" in report
    assert "smallest failing example" in report


def test_check_op_fails_a_wrong_second_derivative() -> None:
    check_op(lambda x: SoftplusDetached.apply(x), 1, max_examples=5)  # first order is right
    with pytest.raises(AssertionError, match="SoftplusDetachedBackward") as caught:
        check_op(lambda x: SoftplusDetached.apply(x), 1, second_order=True, max_examples=5)
    assert "second order" in str(caught.value)


def test_check_op_fails_a_wrong_forward() -> None:
    with pytest.raises(AssertionError, match="forward differs from the reference"):
        check_op(lambda x: Softplus.apply(x), 1, reference=lambda a: np.logaddexp(0.1, a))
    with pytest.raises(AssertionError, match=r"forward has shape .* the reference"):
        check_op(lambda x: Softplus.apply(x), 1, reference=lambda a: softplus_reference(a).sum())
    with pytest.raises(AssertionError, match=r"forward has shape .* expected \(\)"):
        check_op(lambda x: x.exp(), 1, output_shape=(), shapes=[(2,)])
    with pytest.raises(AssertionError, match="fn must return a Tensor"):
        check_op(lambda x: x.numel(), 1)  # type: ignore[arg-type, return-value]


def test_check_op_fails_on_changed_inputs_or_upstream_gradient() -> None:
    with pytest.raises(AssertionError, match="changed input 0 in place"):
        check_op(lambda x: MutatesInput.apply(x), 1)
    with pytest.raises(AssertionError, match="changed the upstream gradient in place"):
        check_op(lambda x: MutatesUpstream.apply(x), 1)


def test_check_op_argument_errors() -> None:
    with pytest.raises(ValueError, match="2 domains for 1 inputs"):
        check_op(lambda x: x, 1, domains=["real", "real"])
    with pytest.raises(ValueError, match="unknown domain 'complex'"):
        check_op(lambda x: x, 1, domains="complex")


def test_aliasing_gradients_are_detected() -> None:
    from tinygrad_lr.testing import _check_no_aliasing

    shared = np.zeros(3)
    inputs = [tl.tensor([1.0, 2.0, 3.0])]
    _check_no_aliasing([tl.tensor(np.zeros(3))], inputs, np.zeros(3))
    with pytest.raises(AssertionError, match="shares memory with upstream gradient"):
        _check_no_aliasing([tl.from_numpy(shared)], inputs, shared)
    with pytest.raises(AssertionError, match="shares memory with gradient 1"):
        _check_no_aliasing(
            [tl.from_numpy(shared), tl.from_numpy(shared[:2])], inputs * 2, np.zeros(3)
        )


# --- the strategies -----------------------------------------------------------------------------


@given(st.data())
def test_tensors_are_float64_leaves_in_their_domain(data: st.DataObject) -> None:
    x = data.draw(tensors(elements=POSITIVE))
    assert isinstance(x, Tensor) and x.requires_grad and x.is_leaf
    assert x.dtype == np.float64
    assert np.all((x.detach().numpy() >= POSITIVE.low) & (x.detach().numpy() <= POSITIVE.high))
    y = data.draw(tensors(shape=(2, 3), dtype=np.float32, requires_grad=False))
    assert y.shape == (2, 3) and y.dtype == np.float32 and not y.requires_grad


@given(st.data())
def test_domains_keep_away_from_kinks(data: st.DataObject) -> None:
    domain = away_from(-1.0, 1.0, margin=0.2)
    values = data.draw(arrays(shapes(min_dims=1), domain))
    assert np.all(np.abs(np.abs(values) - 1.0) >= 0.2 - 1e-12)
    assert np.all(np.abs(data.draw(arrays((4,), "nonzero"))) >= 0.1 - 1e-12)
    assert np.all(np.abs(data.draw(arrays((4,), BOUNDED))) < 1.0)


@given(st.data())
def test_unique_values_are_spread_apart(data: st.DataObject) -> None:
    values = data.draw(arrays(shapes(min_dims=1), "real", unique=True)).ravel()
    gaps = np.diff(np.sort(values))
    assert np.all(gaps >= 0.6 * 6.0 / values.size - 1e-12)
    assert np.all((values >= -3.0) & (values <= 3.0))


@given(broadcastable_shapes(3))
def test_broadcastable_shapes_broadcast(shape_triple: tuple[tuple[int, ...], ...]) -> None:
    assert len(shape_triple) == 3
    np.broadcast_shapes(*shape_triple)  # raises if they do not


def test_a_domain_with_nothing_left_is_refused() -> None:
    with pytest.raises(ValueError, match="nothing left"):
        Domain(0.0, 0.1, avoid=(0.05,)).elements()


@settings(max_examples=5)
@given(tensors(shape=(3,)))
def test_strategies_work_in_user_tests(x: Tensor) -> None:
    """What a user writes: a @given test with the tensors strategy and gradcheck."""
    assert tl.gradcheck(lambda x: Softplus.apply(x), x)


def test_missing_hypothesis_is_a_one_line_install_hint() -> None:
    code = (
        "import sys; sys.modules['hypothesis'] = None\n"
        "try:\n    import tinygrad_lr.testing\n"
        "except ImportError as error:\n    print(error)\n"
    )
    root = Path(__file__).resolve().parents[1]
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=root, timeout=60
    )
    assert done.stdout.strip() == (
        "tinygrad_lr.testing needs hypothesis: pip install hypothesis "
        '(from a checkout: pip install ".[test]")'
    )
