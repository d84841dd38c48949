"""Every op of the table (op_table.py): forward against NumPy, gradients against float64 finite
differences over hypothesis-drawn shapes, second derivatives, and the invariants of a backward
pass (inputs and upstream gradient untouched, gradients that alias nothing)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import Phase, assume, find, given, settings
from hypothesis import strategies as st
from op_table import CONSTANT_OPS, OPS, OpSpec

import tinygrad_lr as tl
from tinygrad_lr import ops
from tinygrad_lr.autograd.graph import observe_ops
from tinygrad_lr.testing import arrays

SECOND_ORDER = [spec for spec in OPS if spec.twice_differentiable]
# Second-order checks cost a backward pass per finite difference: fewer examples.
FEWER = settings(max_examples=max(3, settings.default.max_examples // 4))


def draw_inputs(spec: OpSpec, data: st.DataObject) -> tuple[np.ndarray, ...]:
    values = data.draw(spec.inputs, label="inputs")
    if spec.valid is not None:
        assume(spec.valid(*values))
    return values


def leaves(values: tuple[np.ndarray, ...]) -> list[tl.Tensor]:
    return [tl.tensor(v, requires_grad=True) for v in values]


def numerical_vjp(
    fn: Callable[..., Any], values: tuple[np.ndarray, ...], upstream: np.ndarray, eps: float
) -> list[np.ndarray]:
    """d <upstream, fn(x)> / dx by central differences, written out independently of
    tinygrad_lr.gradcheck so the two check each other."""

    def objective(*xs: np.ndarray) -> float:
        with tl.no_grad():
            out = fn(*[tl.tensor(x) for x in xs])
        return float(np.sum(upstream * np.asarray(out, dtype=np.float64)))

    grads = []
    for i, x in enumerate(values):
        g = np.zeros(x.shape)
        for j in range(x.size):
            shifted = [list(values), list(values)]
            for sign, args in zip((1, -1), shifted):
                moved = x.astype(np.float64).copy()
                moved.flat[j] += sign * eps
                args[i] = moved
            g.flat[j] = (objective(*shifted[0]) - objective(*shifted[1])) / (2 * eps)
        grads.append(g)
    return grads


@pytest.mark.parametrize("spec", OPS, ids=lambda spec: spec.name)
@given(data=st.data())
def test_op(spec: OpSpec, data: st.DataObject) -> None:
    """Forward, full Jacobian, random upstream gradient and the backward invariants, on one
    drawn example (one test per op keeps hypothesis' per-example cost paid once)."""
    values = draw_inputs(spec, data)
    check_forward_matches_numpy(spec, values)
    check_jacobian_matches_finite_differences(spec, values)
    check_backward_with_random_upstream_gradient(spec, values, data)


def check_forward_matches_numpy(spec: OpSpec, values: tuple[np.ndarray, ...]) -> None:
    out = spec.fn(*[tl.tensor(v) for v in values])
    expected = np.asarray(spec.reference(*values))
    assert out.shape == expected.shape, f"{spec.name}: forward shape"
    assert out.dtype == expected.dtype, f"{spec.name}: forward dtype"
    np.testing.assert_allclose(
        out.numpy(), expected, rtol=1e-10, atol=1e-12, err_msg=f"{spec.name}: forward values"
    )


def check_jacobian_matches_finite_differences(spec: OpSpec, values: tuple[np.ndarray, ...]) -> None:
    """Every entry of the Jacobian (gradcheck raises a report when one is wrong)."""
    assert tl.gradcheck(spec.fn, leaves(values), **spec.tolerances)


def check_backward_with_random_upstream_gradient(
    spec: OpSpec, values: tuple[np.ndarray, ...], data: st.DataObject
) -> None:
    """A random upstream gradient (a plain .sum() would hide wrong rules), and the invariants:
    no input, no upstream gradient changed; no gradient sharing memory with anything."""
    inputs = leaves(values)
    out = spec.fn(*inputs)
    upstream = data.draw(arrays(out.shape, "real"), label="upstream gradient")
    upstream_tensor = tl.tensor(upstream, dtype=out.dtype)
    kept_upstream = upstream_tensor.numpy().copy()

    out.backward(upstream_tensor)

    for x, original in zip(inputs, values):
        np.testing.assert_array_equal(x.detach().numpy(), original, err_msg="input changed")
    np.testing.assert_array_equal(
        upstream_tensor.numpy(), kept_upstream, err_msg="upstream gradient changed"
    )
    grads = [x.grad for x in inputs]
    assert all(g is not None and g.shape == x.shape for g, x in zip(grads, inputs))
    arrays_seen = [x.detach().numpy() for x in inputs] + [upstream_tensor.numpy()]
    arrays_seen.append(out.detach().numpy())
    for i, g in enumerate(grads):
        assert g is not None
        others = arrays_seen + [h.numpy() for j, h in enumerate(grads) if j != i and h is not None]
        assert not any(np.shares_memory(g.numpy(), other) for other in others), (
            f"{spec.name}: the gradient of input {i} aliases another array"
        )

    eps = spec.tolerances.get("eps", 1e-6)
    atol, rtol = spec.tolerances.get("atol", 1e-5), spec.tolerances.get("rtol", 1e-3)
    expected = numerical_vjp(spec.fn, values, upstream, eps)
    for g, e in zip(grads, expected):
        assert g is not None
        np.testing.assert_allclose(g.numpy(), e, rtol=rtol, atol=atol)


@pytest.mark.parametrize("spec", SECOND_ORDER, ids=lambda spec: spec.name)
@FEWER
@given(data=st.data())
def test_second_derivatives_match_finite_differences(spec: OpSpec, data: st.DataObject) -> None:
    values = draw_inputs(spec, data)
    assert tl.gradgradcheck(spec.fn, leaves(values), **spec.tolerances)


@pytest.mark.parametrize("spec", CONSTANT_OPS, ids=lambda spec: spec.name)
@given(data=st.data())
def test_constant_result_matches_numpy(spec: OpSpec, data: st.DataObject) -> None:
    values = draw_inputs(spec, data)
    out = spec.fn(*leaves(values))
    expected = np.asarray(spec.reference(*values))
    assert not out.requires_grad and out.grad_fn is None
    assert out.shape == expected.shape
    assert out.dtype.kind == expected.dtype.kind
    np.testing.assert_array_equal(out.numpy(), expected)


# The free functions are one-line wrappers of the methods; each must agree with its method.
FREE_FUNCTIONS: list[tuple[str, Callable[..., Any], Callable[..., Any]]] = [
    ("add", lambda x, y: tl.add(x, y), lambda x, y: x + y),
    ("sub", lambda x, y: tl.sub(x, y), lambda x, y: x - y),
    ("mul", lambda x, y: tl.mul(x, y), lambda x, y: x * y),
    ("div", lambda x, y: tl.div(x, y + 4.0), lambda x, y: x / (y + 4.0)),
    ("pow", lambda x, y: tl.pow(x + 4.0, y), lambda x, y: (x + 4.0) ** y),
    ("maximum", lambda x, y: tl.maximum(x, y), lambda x, y: x.maximum(y)),
    ("minimum", lambda x, y: tl.minimum(x, y), lambda x, y: x.minimum(y)),
    ("where", lambda x, y: tl.where(x > y, x, y), lambda x, y: x.maximum(y)),
    (
        "where_number",
        lambda x, y: tl.where(x > y, 0.5, y),
        lambda x, y: (x > y) * 0.5 + (x <= y) * y,
    ),
    ("matmul", lambda x, y: tl.matmul(x, y.T), lambda x, y: x @ y.T),
    ("mm", lambda x, y: tl.mm(x, y.T), lambda x, y: x @ y.T),
    ("cat", lambda x, y: tl.concatenate([x, y], 1), lambda x, y: tl.cat([x, y], dim=1)),
    ("exp", lambda x, y: tl.exp(x), lambda x, y: x.exp()),
    ("log", lambda x, y: tl.log(x + 4.0), lambda x, y: (x + 4.0).log()),
    ("sqrt", lambda x, y: tl.sqrt(x + 4.0), lambda x, y: (x + 4.0).sqrt()),
    ("sin", lambda x, y: tl.sin(x), lambda x, y: x.sin()),
    ("cos", lambda x, y: tl.cos(x), lambda x, y: x.cos()),
    ("abs", lambda x, y: tl.abs(x), lambda x, y: x.abs()),
    ("tanh", lambda x, y: tl.tanh(x), lambda x, y: x.tanh()),
    ("sigmoid", lambda x, y: tl.sigmoid(x), lambda x, y: x.sigmoid()),
    ("relu", lambda x, y: tl.relu(x), lambda x, y: x.relu()),
    ("square", lambda x, y: tl.square(x), lambda x, y: x**2),
    ("clamp", lambda x, y: tl.clamp(x, -1.0, 1.0), lambda x, y: x.clamp(-1.0, 1.0)),
    ("clip", lambda x, y: tl.clip(x, max=0.5), lambda x, y: x.clamp(max=0.5)),
    ("sum", lambda x, y: tl.sum(x, 1), lambda x, y: x.sum(dim=1)),
    ("mean", lambda x, y: tl.mean(x, 0, True), lambda x, y: x.mean(dim=0, keepdim=True)),
    ("max", lambda x, y: tl.max(x), lambda x, y: x.max()),
    ("min", lambda x, y: tl.min(x, 1).values, lambda x, y: x.min(dim=1)[0]),
    ("amax", lambda x, y: tl.amax(x, 0), lambda x, y: x.amax(dim=0)),
    ("amin", lambda x, y: tl.amin(x), lambda x, y: x.amin()),
    ("var", lambda x, y: tl.var(x, 1), lambda x, y: x.var(dim=1)),
    ("std", lambda x, y: tl.std(x, correction=0), lambda x, y: x.std(correction=0)),
    ("logsumexp", lambda x, y: tl.logsumexp(x, 1), lambda x, y: x.logsumexp(dim=1)),
    ("softmax", lambda x, y: tl.softmax(x, 0), lambda x, y: x.softmax(dim=0)),
    ("log_softmax", lambda x, y: tl.log_softmax(x), lambda x, y: x.log_softmax(dim=-1)),
    ("reshape", lambda x, y: tl.reshape(x, (-1,)), lambda x, y: x.reshape(-1)),
    ("transpose", lambda x, y: tl.transpose(x, 0, 1), lambda x, y: x.T),
    ("permute", lambda x, y: tl.permute(x, (1, 0)), lambda x, y: x.T),
    ("squeeze", lambda x, y: tl.squeeze(x[None]), lambda x, y: x),
    ("unsqueeze", lambda x, y: tl.unsqueeze(x, 1), lambda x, y: x[:, None]),
    ("flatten", lambda x, y: tl.flatten(x), lambda x, y: x.reshape(-1)),
    ("stack", lambda x, y: tl.stack([x, y], 1), lambda x, y: tl.cat([x[:, None], y[:, None]], 1)),
]


@pytest.mark.parametrize(
    ("free", "method"), [pair[1:] for pair in FREE_FUNCTIONS], ids=[p[0] for p in FREE_FUNCTIONS]
)
def test_free_function_matches_method(
    free: Callable[..., Any], method: Callable[..., Any], rng: np.random.Generator
) -> None:
    # Distinct values, so max/min/where pick the same element both ways.
    values = rng.permutation(np.linspace(-2.0, 2.0, 24)).reshape(2, 3, 4)
    results = []
    upstream: np.ndarray | None = None
    for fn in (free, method):
        x, y = tl.tensor(values[0], requires_grad=True), tl.tensor(values[1], requires_grad=True)
        out = fn(x, y)
        if upstream is None:
            upstream = rng.standard_normal(out.shape)
        out.backward(tl.tensor(upstream))
        grads = [t.grad.numpy() if t.grad is not None else np.zeros(t.shape) for t in (x, y)]
        results.append((out.detach().numpy(), grads))
    (out_free, grads_free), (out_method, grads_method) = results
    np.testing.assert_array_equal(out_free, out_method)
    for a, b in zip(grads_free, grads_method):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


def test_free_functions_with_constant_results(rng: np.random.Generator) -> None:
    values = rng.permutation(12).reshape(3, 4).astype(np.float64)
    x = tl.tensor(values, requires_grad=True)
    assert tl.argmax(x).item() == values.argmax()
    np.testing.assert_array_equal(tl.argmin(x, 1, True).numpy(), values.argmin(1)[:, None])
    assert tl.numel(x) == 12
    assert tl.is_tensor(x) and not tl.is_tensor(values)


# Built-in ops that no row of the table applies directly, and why they are still covered.
COVERED_ELSEWHERE = {
    "IndexAdd": "the backward of getitem; its own backward runs in the getitem rows' "
    "second-derivative checks",
}


FIRST_DRAW = settings(phases=[Phase.generate], max_examples=1, database=None)


def test_every_builtin_op_has_a_row_in_the_op_table() -> None:
    """A new op class without a row in tests/op_table.py fails here."""
    applied: set[str] = set()

    class Recorder:
        def on_apply(self, op: type, args: Any, outputs: Any, node: Any, depth: int) -> None:
            if depth == 0:
                applied.add(op.__name__)

        def on_in_place(self, tensor: Any, name: str, value: Any, index: Any = None) -> None:
            pass

    for spec in OPS + CONSTANT_OPS:
        values = find(spec.inputs, lambda _: True, settings=FIRST_DRAW)  # valid inputs of the row
        tensors = [tl.tensor(v, requires_grad=True) for v in values]
        with observe_ops(Recorder()):
            spec.fn(*tensors)
    builtin = {
        name
        for name, cls in vars(ops).items()
        if isinstance(cls, type)
        and issubclass(cls, ops.BuiltinOp)
        and cls not in (ops.BuiltinOp, ops.Broadcasting)
    }
    missing = builtin - applied - set(COVERED_ELSEWHERE)
    assert not missing, f"ops with no row in tests/op_table.py: {sorted(missing)}"
