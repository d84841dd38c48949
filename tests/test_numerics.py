"""Numerical edge cases: overflow, log of 0, large magnitudes, division by zero, NaN, and the
gradient at ties and kinks. The conventions tested here are written up in docs/conventions.md."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinygrad_lr as tl
from tinygrad_lr import nn

F = nn.functional
SPECIAL = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 1.0, -1.0, 1e-300, 710.0, -710.0])


def _grad(op: Callable[[tl.Tensor], tl.Tensor], x: np.ndarray, upstream: Any = None) -> tuple:
    """(op(x) as an array, d sum(upstream * op(x)) / dx as an array)."""
    leaf = tl.tensor(x, requires_grad=True)
    out = op(leaf)
    out.backward(tl.ones_like(out) if upstream is None else tl.tensor(upstream))
    assert leaf.grad is not None
    return out.detach().numpy(), leaf.grad.numpy()


def _quiet(action: Callable[[], Any]) -> Any:
    """Run `action` with NumPy's overflow / division warnings silenced (they are expected)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return action()


# --- overflow and log of zero: the IEEE results, as NumPy gives them ---------------------------


def test_exp_overflows_to_inf_with_numpys_warning() -> None:
    with pytest.warns(RuntimeWarning, match="overflow"):
        value, grad = _grad(tl.exp, np.array([1000.0, -1000.0, 0.0]))
    np.testing.assert_array_equal(value, [np.inf, 0.0, 1.0])
    np.testing.assert_array_equal(grad, [np.inf, 0.0, 1.0])


def test_log_of_zero_is_minus_inf_and_of_a_negative_number_nan() -> None:
    with pytest.warns(RuntimeWarning):
        value, grad = _grad(tl.log, np.array([0.0, -1.0, 1.0]))
    np.testing.assert_array_equal(value, [-np.inf, np.nan, 0.0])
    np.testing.assert_array_equal(grad, [np.inf, -1.0, 1.0])


def test_sqrt_at_zero_has_an_infinite_slope() -> None:
    value, grad = _quiet(lambda: _grad(tl.sqrt, np.array([0.0, 4.0])))
    np.testing.assert_array_equal(value, [0.0, 2.0])
    np.testing.assert_array_equal(grad, [np.inf, 0.25])


# --- large magnitudes: finite wherever the math is finite --------------------------------------

FLOAT_DTYPES = st.sampled_from([np.float64, np.float32])


@st.composite
def large_arrays(draw: st.DrawFn, min_dims: int = 1, bound: float = 1e4) -> np.ndarray:
    """Float arrays with entries up to `bound` in size: exp() of them overflows."""
    dtype = draw(FLOAT_DTYPES)
    shape = draw(hnp.array_shapes(min_dims=min_dims, max_dims=2, max_side=5))
    limit = float(np.float32(bound))  # exactly representable in both dtypes
    elements = st.floats(-limit, limit, width=32)
    return draw(hnp.arrays(dtype, shape, elements=elements))


def _finite(*arrays: np.ndarray) -> None:
    for array in arrays:
        assert np.all(np.isfinite(array)), array


@given(large_arrays())
def test_sigmoid_of_large_inputs(x: np.ndarray) -> None:
    value, grad = _grad(tl.sigmoid, x)
    _finite(value, grad)
    assert value.dtype == x.dtype
    assert np.all((value >= 0) & (value <= 1)) and np.all(grad >= 0)
    # sigmoid(x) = (1 + tanh(x / 2)) / 2, a form that cannot overflow either.
    tol = 1e-6 if x.dtype == np.float32 else 1e-14
    np.testing.assert_allclose(value, (1 + np.tanh(x / 2)) / 2, rtol=tol, atol=tol)


@given(large_arrays(), st.data())
def test_softmax_log_softmax_and_logsumexp_of_large_inputs(x: np.ndarray, data: Any) -> None:
    dim = data.draw(st.integers(-x.ndim, x.ndim - 1))
    upstream = data.draw(hnp.arrays(x.dtype, x.shape, elements=st.floats(-1, 1, width=32)))
    tol = 1e-4 if x.dtype == np.float32 else 1e-12

    soft, soft_grad = _grad(lambda t: t.softmax(dim), x, upstream)
    log_soft, log_soft_grad = _grad(lambda t: t.log_softmax(dim), x, upstream)
    lse, lse_grad = _grad(lambda t: t.logsumexp(dim), x)
    _finite(soft, soft_grad, log_soft, log_soft_grad, lse, lse_grad)

    np.testing.assert_allclose(soft.sum(axis=dim), 1.0, rtol=tol)
    top = x.max(axis=dim)
    assert np.all(lse >= top - tol * np.abs(top))
    assert np.all(lse <= top + np.log(x.shape[dim]) + tol * np.abs(top) + tol)
    np.testing.assert_allclose(np.exp(log_soft), soft, rtol=tol, atol=tol)
    np.testing.assert_allclose(lse_grad, soft, rtol=tol, atol=tol)  # d logsumexp = softmax


@given(large_arrays(min_dims=2, bound=1e30), st.data())
def test_cross_entropy_of_large_logits(logits: np.ndarray, data: Any) -> None:
    rows, classes = logits.shape
    target = data.draw(hnp.arrays(np.int64, (rows,), elements=st.integers(0, classes - 1)))
    loss, grad = _grad(lambda t: F.cross_entropy(t, target), logits)
    _finite(loss, grad)
    assert loss >= 0
    tol = 1e-5 if logits.dtype == np.float32 else 1e-12
    np.testing.assert_allclose(grad.sum(axis=1), 0.0, atol=tol)  # softmax - one_hot sums to 0


def test_cross_entropy_with_minus_inf_logits_for_other_classes() -> None:
    logits = np.array([[0.0, -np.inf, 2.0], [-np.inf, 1.0, 1.0]])
    loss, grad = _quiet(lambda: _grad(lambda t: F.cross_entropy(t, [2, 1]), logits))
    _finite(loss, grad)
    expected = (np.log(1 + np.exp(-2.0)) + np.log(2.0)) / 2
    np.testing.assert_allclose(loss, expected, rtol=1e-14)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_binary_cross_entropy_with_logits_at_large_logits(dtype: Any) -> None:
    logits = np.array([1000.0, -1000.0, 1000.0, -1000.0, 0.0], dtype=dtype)
    target = np.array([1.0, 0.0, 0.0, 1.0, 1.0], dtype=dtype)
    loss, grad = _grad(lambda t: F.binary_cross_entropy_with_logits(t, target, "none"), logits)
    _finite(loss, grad)
    np.testing.assert_allclose(loss, [0.0, 0.0, 1000.0, 1000.0, np.log(2.0)], rtol=1e-6)
    np.testing.assert_allclose(grad, [0.0, 0.0, 1.0, -1.0, -0.5], atol=1e-6)  # sigmoid - y


def test_logsumexp_when_every_entry_is_minus_inf() -> None:
    value = _quiet(lambda: tl.tensor([-np.inf, -np.inf]).logsumexp(0))
    assert value.item() == -np.inf  # log(0), as NumPy's log(sum(exp(x))) gives


# --- division by zero and NaN: NumPy's semantics, every op the same way -----------------------


def test_division_by_zero_follows_numpy() -> None:
    x, y = np.meshgrid(SPECIAL, np.array([0.0, -0.0, np.nan, np.inf]))
    with pytest.warns(RuntimeWarning):
        ours = (tl.tensor(x) / tl.tensor(y)).numpy()
    with np.errstate(all="ignore"):
        np.testing.assert_array_equal(ours, np.divide(x, y))
        signs = np.signbit(np.divide(x, y)[~np.isnan(ours)])
    np.testing.assert_array_equal(np.signbit(ours[~np.isnan(ours)]), signs)  # -0.0 and -inf kept


def test_integer_division_is_true_division_to_the_default_float() -> None:
    result = _quiet(lambda: tl.tensor([1, 0, -1]) / tl.tensor([0, 0, 0]))
    assert result.dtype == tl.float64
    np.testing.assert_array_equal(result.numpy(), [np.inf, np.nan, -np.inf])


def test_gradient_of_division_by_zero() -> None:
    """d(x/y)/dx = 1/y and d(x/y)/dy = -x/y^2, evaluated with IEEE arithmetic."""
    x = tl.tensor([1.0, 0.0, -1.0], requires_grad=True)
    y = tl.zeros(3, requires_grad=True)
    _quiet(lambda: (x / y).sum().backward())
    assert x.grad is not None and y.grad is not None
    np.testing.assert_array_equal(x.grad.numpy(), [np.inf, np.inf, np.inf])
    np.testing.assert_array_equal(y.grad.numpy(), [-np.inf, np.nan, np.inf])


UNARY_LIKE_NUMPY: list[tuple[str, Callable[[tl.Tensor], tl.Tensor], Callable[..., Any]]] = [
    ("neg", lambda t: -t, np.negative),
    ("exp", tl.exp, np.exp),
    ("log", tl.log, np.log),
    ("sqrt", tl.sqrt, np.sqrt),
    ("abs", tl.abs, np.abs),
    ("tanh", tl.tanh, np.tanh),
    ("sin", tl.sin, np.sin),
    ("relu", tl.relu, lambda a: np.maximum(a, 0.0)),
    ("clamp", lambda t: t.clamp(-1.0, 2.0), lambda a: np.clip(a, -1.0, 2.0)),
    ("square", lambda t: t**2, np.square),
    ("maximum", lambda t: tl.maximum(t, tl.zeros(1)), lambda a: np.maximum(a, 0.0)),
    ("minimum", lambda t: tl.minimum(t, tl.zeros(1)), lambda a: np.minimum(a, 0.0)),
    ("sum", tl.sum, np.sum),
    ("mean", tl.mean, np.mean),
    ("max", lambda t: t.max(), np.max),
    ("min", lambda t: t.min(), np.min),
    ("amax", lambda t: t.amax(0), lambda a: np.max(a, axis=0)),
    ("max(dim)", lambda t: t.max(0).values, lambda a: np.max(a, axis=0)),
    ("softmax", lambda t: t.softmax(0), None),
    ("logsumexp", lambda t: t.logsumexp(0), None),
]


@pytest.mark.parametrize(
    ("name", "op", "reference"), UNARY_LIKE_NUMPY, ids=[name for name, *_ in UNARY_LIKE_NUMPY]
)
def test_special_values_give_numpys_results(
    name: str, op: Callable[[tl.Tensor], tl.Tensor], reference: Callable[..., Any] | None
) -> None:
    ours = _quiet(lambda: op(tl.tensor(SPECIAL)).numpy())
    if reference is not None:
        expected = _quiet(lambda: reference(SPECIAL))
        np.testing.assert_array_equal(ours, expected)
    else:
        assert np.all(np.isnan(ours))  # a NaN in the slice makes every output NaN


@pytest.mark.parametrize(
    ("name", "op", "reference"), UNARY_LIKE_NUMPY, ids=[name for name, *_ in UNARY_LIKE_NUMPY]
)
def test_a_nan_input_is_never_turned_into_a_number(
    name: str, op: Callable[[tl.Tensor], tl.Tensor], reference: Any
) -> None:
    out = _quiet(lambda: op(tl.tensor([np.nan, 0.5, -0.5])).numpy())
    assert np.isnan(np.ravel(out)[0]), f"{name} turned a NaN into {np.ravel(out)[0]}"


# --- ties and kinks: PyTorch's conventions ----------------------------------------------------


def test_gradient_conventions_at_kinks() -> None:
    at = np.array([0.0, -0.0, 1.0, -1.0])
    np.testing.assert_array_equal(_grad(tl.abs, at)[1], [0.0, 0.0, 1.0, -1.0])  # sign(0) = 0
    np.testing.assert_array_equal(_grad(tl.relu, at)[1], [0.0, 0.0, 1.0, 0.0])  # 0 at 0
    bounds = np.array([-1.0, 2.0, -1.5, 2.5, 0.0])
    np.testing.assert_array_equal(  # 1 at both bounds
        _grad(lambda t: t.clamp(-1.0, 2.0), bounds)[1], [1.0, 1.0, 0.0, 0.0, 1.0]
    )


def test_gradient_conventions_at_ties() -> None:
    x = np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]])
    third = 1.0 / 3.0
    np.testing.assert_allclose(  # max(): split evenly among all the maxima
        _grad(lambda t: t.max(), x)[1], [[0, 0.5, 0.5], [0, 0, 0]]
    )
    np.testing.assert_allclose(  # amax(dim): split evenly within each slice
        _grad(lambda t: t.amax(1), x)[1], [[0, 0.5, 0.5], [third, third, third]]
    )
    np.testing.assert_array_equal(  # max(dim): all to the index it returns, the first
        _grad(lambda t: t.max(1).values, x)[1], [[0, 1, 0], [1, 0, 0]]
    )
    both = tl.tensor([1.0, 2.0, 3.0], requires_grad=True)
    other = tl.tensor([1.0, 1.0, 4.0], requires_grad=True)
    tl.maximum(both, other).sum().backward()  # maximum(x, y): half each at a tie
    assert both.grad is not None and other.grad is not None
    np.testing.assert_array_equal(both.grad.numpy(), [0.5, 1.0, 0.0])
    np.testing.assert_array_equal(other.grad.numpy(), [0.5, 0.0, 1.0])


TIE_OPS: list[tuple[str, Callable[[Any], Any]]] = [
    ("abs", lambda t: t.abs()),
    ("relu", lambda t: t.relu()),
    ("clamp", lambda t: t.clamp(-1.0, 1.0)),
    ("max", lambda t: t.max()),
    ("min", lambda t: t.min()),
    ("amax(0)", lambda t: t.amax(0)),
    ("amin(-1)", lambda t: t.amin(-1)),
    ("max(0)", lambda t: t.max(0)[0]),
    ("min(-1)", lambda t: t.min(-1)[0]),
    ("maximum", lambda t: t[0].maximum(t[-1])),  # ties where the two slices are equal
    ("minimum", lambda t: t[0].minimum(t[-1])),
]


@pytest.mark.parametrize(("name", "op"), TIE_OPS, ids=[name for name, _ in TIE_OPS])
@given(
    x=hnp.arrays(
        np.float64,
        hnp.array_shapes(min_dims=1, max_dims=3, max_side=4),
        elements=st.sampled_from([-1.0, 0.0, 1.0, 2.0]),  # ties, kinks and clamp bounds
    ),
    data=st.data(),
)
def test_gradients_at_ties_and_kinks_match_pytorch(
    name: str, op: Callable[[Any], Any], x: np.ndarray, data: Any
) -> None:
    torch = pytest.importorskip("torch")
    ours_in, theirs_in = tl.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    ours, theirs = op(ours_in), op(theirs_in)
    np.testing.assert_array_equal(ours.detach().numpy(), theirs.detach().numpy())
    upstream = data.draw(hnp.arrays(np.float64, ours.shape, elements=st.floats(-2, 2)))
    ours.backward(tl.tensor(upstream))
    theirs.backward(torch.tensor(upstream))
    assert ours_in.grad is not None
    np.testing.assert_allclose(ours_in.grad.numpy(), theirs_in.grad.numpy(), rtol=1e-12)


NAN_OPS_LIKE_PYTORCH: list[tuple[str, Callable[[Any], Any]]] = [
    ("relu", lambda t: t.relu()),
    ("clamp", lambda t: t.clamp(-0.5, 0.5)),
    ("max", lambda t: t.max()),
    ("min", lambda t: t.min()),
    ("max(dim)", lambda t: t.max(0)[0]),
    ("softmax", lambda t: t.softmax(0)),
    ("sigmoid", lambda t: t.sigmoid()),
]


@pytest.mark.parametrize(
    ("name", "op"), NAN_OPS_LIKE_PYTORCH, ids=[n for n, _ in NAN_OPS_LIKE_PYTORCH]
)
def test_values_and_gradients_at_nan_and_inf_match_pytorch(
    name: str, op: Callable[[Any], Any]
) -> None:
    torch = pytest.importorskip("torch")
    ours_in = tl.tensor(SPECIAL, requires_grad=True)
    ours = _quiet(lambda: op(ours_in))
    _quiet(lambda: ours.sum().backward())
    theirs_in = torch.tensor(SPECIAL, requires_grad=True)
    theirs = op(theirs_in)
    theirs.sum().backward()
    # Close, not equal: at -710 sigmoid is subnormal here, and PyTorch flushes it to 0.
    np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), atol=1e-300)
    assert ours_in.grad is not None
    np.testing.assert_allclose(ours_in.grad.numpy(), theirs_in.grad.numpy(), atol=1e-300)


def test_maximum_sends_the_gradient_to_the_nan() -> None:
    x = tl.tensor([np.nan, 1.0, np.nan], requires_grad=True)
    y = tl.tensor([0.0, np.nan, np.nan], requires_grad=True)
    tl.maximum(x, y).sum().backward()
    assert x.grad is not None and y.grad is not None
    np.testing.assert_array_equal(x.grad.numpy(), [1.0, 0.0, 0.5])
    np.testing.assert_array_equal(y.grad.numpy(), [0.0, 1.0, 0.5])


# --- dtype rules ------------------------------------------------------------------------------


def test_dtype_rules() -> None:
    f32 = tl.ones(2, dtype=tl.float32)
    assert tl.tensor([1.0]).dtype == tl.float64  # the default float dtype
    assert tl.tensor([1]).dtype == tl.int64
    assert (f32 * 2.5).dtype == tl.float32  # a Python number takes the tensor's dtype
    assert (f32 + tl.ones(2)).dtype == tl.float64  # two tensors: NumPy's promotion
    assert (tl.tensor([1, 2]) * 0.5).dtype == tl.float64
    assert (tl.tensor([1, 2]) + 1).dtype == tl.int64
    leaf = tl.ones(2, dtype=tl.float32, requires_grad=True)
    (leaf * tl.ones(2)).sum().backward()  # the product is float64 ...
    assert leaf.grad is not None and leaf.grad.dtype == tl.float32  # ... the gradient is not
