"""Each speed-up in the engine against the general path it short-cuts: same values, same grads."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from op_table import OPS, OpSpec

import tinygrad_lr as tl
from tinygrad_lr import ops
from tinygrad_lr.tensor import Tensor

finite = st.floats(-10, 10, allow_nan=False, allow_infinity=False)
nonzero = finite.filter(lambda v: abs(v) > 0.1)


def matrices(
    rows: int, cols: int, elements: st.SearchStrategy[float] = finite
) -> st.SearchStrategy:
    return hnp.arrays(np.float64, (rows, cols), elements=elements)


def grads(f, *arrays: np.ndarray, wrt: tuple[bool, ...]) -> list[np.ndarray | None]:
    """d sum(f(*inputs) * upstream)/d input for the inputs flagged in `wrt` (upstream fixed)."""
    inputs = [tl.tensor(a, requires_grad=w) for a, w in zip(arrays, wrt)]
    out = f(*inputs)
    upstream = np.linspace(-1.0, 1.0, out.numel()).reshape(out.shape)
    out.backward(tl.tensor(upstream))
    return [None if t.grad is None else t.grad.numpy() for t in inputs]


@given(st.data())
def test_binary_ops_skip_the_constant_gradient_and_agree_with_both_needed(data) -> None:
    x = data.draw(matrices(2, 3))
    y = data.draw(matrices(2, 3, nonzero))
    for f in (lambda a, b: a - b, lambda a, b: a * b, lambda a, b: a / b):
        both = grads(f, x, y, wrt=(True, True))
        only_x = grads(f, x, y, wrt=(True, False))
        only_y = grads(f, x, y, wrt=(False, True))
        assert only_x[1] is None and only_y[0] is None
        np.testing.assert_array_equal(only_x[0], both[0])
        np.testing.assert_array_equal(only_y[1], both[1])


@given(st.data())
def test_matmul_computes_only_the_needed_products(data) -> None:
    x, w = data.draw(matrices(4, 3)), data.draw(matrices(3, 2))
    both = grads(lambda a, b: a @ b, x, w, wrt=(True, True))
    only_w = grads(lambda a, b: a @ b, x, w, wrt=(False, True))
    only_x = grads(lambda a, b: a @ b, x, w, wrt=(True, False))
    np.testing.assert_array_equal(only_w[1], both[1])
    np.testing.assert_array_equal(only_x[0], both[0])
    assert only_w[0] is None and only_x[1] is None


@given(matrices(2, 3))
def test_square_matches_the_general_power_to_second_order(x: np.ndarray) -> None:
    a = tl.tensor(x, requires_grad=True)
    (first,) = tl.grad((a**2).sum(), a, create_graph=True)
    (second,) = tl.grad((first * first).sum(), a)
    b = tl.tensor(x, requires_grad=True)
    general = ops.Pow.apply(b, tl.tensor(2.0))  # tensor exponent: no fast path
    (first_general,) = tl.grad(general.sum(), b, create_graph=True)
    (second_general,) = tl.grad((first_general * first_general).sum(), b)
    np.testing.assert_allclose(first.detach().numpy(), first_general.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(second.numpy(), second_general.numpy(), rtol=1e-12)


@given(hnp.arrays(np.float64, hnp.array_shapes(min_dims=1, max_dims=3), elements=finite), finite)
def test_full_sum_and_mean_agree_with_keepdim_reduction(x: np.ndarray, upstream: float) -> None:
    axes = tuple(range(x.ndim))
    for reduce in (Tensor.sum, Tensor.mean):
        fast = grads(lambda t, r=reduce: r(t) * upstream, x, wrt=(True,))[0]
        general = grads(lambda t, r=reduce: r(t, axes, True) * upstream, x, wrt=(True,))[0]
        np.testing.assert_array_equal(fast, general)


@given(st.permutations(range(4)))
def test_permute_inverse_matches_argsort(dims: list[int]) -> None:
    x = tl.tensor(np.arange(24.0).reshape(2, 3, 4, 1), requires_grad=True)
    y = x.permute(*dims)
    fn = y.grad_fn
    assert fn is not None
    assert fn.inverse == tuple(int(i) for i in np.argsort(dims))
    upstream = np.arange(24.0).reshape(y.shape)
    y.backward(tl.tensor(upstream))
    assert x.grad is not None
    np.testing.assert_array_equal(x.grad.numpy(), np.transpose(upstream, np.argsort(dims)))


@given(matrices(2, 2), nonzero)
def test_cached_python_numbers_act_like_fresh_constant_tensors(x: np.ndarray, c: float) -> None:
    for f in (lambda a, b: a * b, lambda a, b: a + b, lambda a, b: b - a, lambda a, b: a / b):
        cached = grads(lambda a, f=f: f(a, c), x, wrt=(True,))[0]
        fresh = grads(lambda a, f=f: f(a, tl.tensor(c)), x, wrt=(True,))[0]
        np.testing.assert_array_equal(cached, fresh)


def test_cached_numbers_keep_sign_of_zero_and_dtype_and_cannot_be_changed() -> None:
    one = tl.tensor([1.0])
    with np.errstate(divide="ignore"):
        assert (one / 0.0).item() == np.inf and (one / -0.0).item() == -np.inf
        assert (one / -0.0).item() == -np.inf  # asked again, after 0.0 was seen
    assert (tl.tensor([1.0], dtype=np.float32) * 2.5).dtype == np.float32
    assert (one * 2.5).dtype == np.float64
    constant = (one * 3.5).grad_fn  # no grad needed: nothing recorded
    assert constant is None
    y = tl.tensor([1.0], requires_grad=True) * 3.5
    assert y.grad_fn is not None
    shared = y.grad_fn.inputs[1]
    assert not shared.numpy().flags.writeable


def test_fast_constructor_sets_every_slot_like_the_public_one() -> None:
    made = Tensor._make(np.zeros(2), False, None)
    public = Tensor(np.zeros(2))
    for slot in Tensor.__slots__:
        if slot == "__weakref__":
            continue
        fast, usual = getattr(made, slot), getattr(public, slot)
        if isinstance(usual, np.ndarray):
            np.testing.assert_array_equal(fast, usual)
        else:
            assert fast == usual, slot
    assert made._version_counter is not public._version_counter


@given(
    hnp.arrays(np.float64, (), elements=finite),
    hnp.array_shapes(min_dims=0, max_dims=3, min_side=0),
)
def test_expanding_a_0d_tensor_matches_numpy_broadcast(
    x: np.ndarray, shape: tuple[int, ...]
) -> None:
    a = tl.tensor(x, requires_grad=True)
    y = ops.Expand.apply(a, shape=shape)  # the op itself, even where the shape is kept
    expected = np.broadcast_to(x, shape)
    np.testing.assert_array_equal(y.detach().numpy(), expected)
    assert y.shape == expected.shape and not y.detach().numpy().flags.writeable
    upstream = np.linspace(-1.0, 1.0, int(np.prod(shape))).reshape(shape)
    (y * tl.tensor(upstream)).sum().backward()
    assert a.grad is not None
    np.testing.assert_allclose(a.grad.numpy(), upstream.sum(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("spec", OPS, ids=lambda spec: spec.name)
@given(data=st.data())
def test_each_rule_gives_the_same_gradients_on_arrays_as_on_tensors(
    spec: OpSpec, data: st.DataObject
) -> None:
    """A built-in rule runs on arrays in an ordinary backward pass and on Tensors in a recorded
    one (create_graph=True): both must give the same gradients, in the inputs' dtypes."""
    values = data.draw(spec.inputs, label="inputs")
    if spec.valid is not None:
        assume(spec.valid(*values))
    on_arrays, on_tensors = [], []
    for recorded, found in ((False, on_arrays), (True, on_tensors)):
        inputs = [tl.tensor(v, requires_grad=True) for v in values]
        out = spec.fn(*inputs)
        spread = np.linspace(-1.0, 1.0, out.numel()).reshape(out.shape)
        upstream = tl.tensor(spread, dtype=out.dtype)
        found.extend(tl.grad(out, inputs, upstream, create_graph=recorded))
    assert all(g.requires_grad for g in on_tensors if g.grad_fn is not None)
    for x, fast, general in zip(values, on_arrays, on_tensors):
        assert fast.dtype == general.dtype == x.dtype and fast.shape == x.shape
        tol = 1e-5 if x.dtype == np.float32 else 1e-12
        np.testing.assert_allclose(fast.numpy(), general.detach().numpy(), rtol=tol, atol=tol)


def test_a_users_rule_written_with_tensor_ops_still_gets_tensors() -> None:
    seen = []

    class Cube(tl.Function):
        def forward(self, x: np.ndarray) -> np.ndarray:
            return x**3

        def backward(self, g: Tensor) -> tuple[Tensor]:
            seen.append(type(g))
            (x,) = self.saved_tensors
            return (g * 3 * x**2,)

    x = tl.tensor([1.0, 2.0], requires_grad=True)
    Cube.apply(x).sum().backward()
    (second,) = tl.grad(tl.grad(Cube.apply(x).sum(), x, create_graph=True)[0].sum(), x)
    assert seen and all(kind is Tensor for kind in seen)
    np.testing.assert_allclose(x.grad.numpy(), [3.0, 12.0])
    np.testing.assert_allclose(second.numpy(), [6.0, 12.0])
