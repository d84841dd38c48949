"""Parity with PyTorch in float64: forward values, gradients for a random upstream gradient,
and second derivatives, for every op of the table and for composed expressions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from op_table import CONSTANT_OPS, OPS, OpSpec, lib

import tinygrad_lr as tl
from tinygrad_lr.testing import arrays

torch = pytest.importorskip("torch")

TORCH_OPS = [spec for spec in OPS if spec.in_torch]
FEWER = settings(max_examples=max(3, settings.default.max_examples // 4))
RTOL, ATOL = 1e-9, 1e-12


def as_numpy(t: Any) -> np.ndarray:
    if isinstance(t, torch.Tensor):  # force: torch may return a lazy all-zero tensor
        return np.asarray(t.detach().numpy(force=True), dtype=np.float64)
    return np.asarray(t.detach().numpy(), dtype=np.float64)


def both_ways(
    fn: Callable[..., Any],
    torch_fn: Callable[..., Any],
    values: list[np.ndarray],
    upstream: np.ndarray,
    second_upstream: list[np.ndarray] | None,
) -> list[list[np.ndarray]]:
    """[forward, gradients..., second derivatives...] from tinygrad_lr and from torch.

    Second derivatives: d/dx <w, J(x)^T v>, the Hessian-vector products of <v, fn(x)>."""
    results = []
    for library, f in ((tl, fn), (torch, torch_fn)):
        xs = [library.tensor(v, dtype=library.float64, requires_grad=True) for v in values]
        out = f(*xs)
        v = library.tensor(upstream, dtype=out.dtype)
        grad_fn = torch.autograd.grad if library is torch else tl.grad
        grads = grad_fn(out, xs, v, create_graph=second_upstream is not None, allow_unused=True)
        row = [as_numpy(out)] + [
            np.zeros(x.shape) if g is None else as_numpy(g) for x, g in zip(xs, grads)
        ]
        if second_upstream is not None:
            row += _second(library, xs, grads, second_upstream)
        results.append(row)
    return results


def _second(library: Any, xs: list[Any], grads: Any, weights: list[np.ndarray]) -> list[Any]:
    terms = [
        (g * library.tensor(w)).sum()
        for g, w in zip(grads, weights)
        if g is not None and g.requires_grad
    ]
    if not terms:  # the gradient is constant in x: all second derivatives are zero
        return [np.zeros(x.shape) for x in xs]
    total = terms[0]
    for term in terms[1:]:
        total = total + term
    grad_fn = torch.autograd.grad if library is torch else tl.grad
    second = grad_fn(total, xs, allow_unused=True)
    return [np.zeros(x.shape) if s is None else as_numpy(s) for x, s in zip(xs, second)]


def assert_same(ours: list[np.ndarray], theirs: list[np.ndarray], what: str) -> None:
    labels = ["forward"] + [f"result {k}" for k in range(1, len(ours))]
    for label, a, b in zip(labels, ours, theirs):
        assert a.shape == b.shape, f"{what}: {label} shape {a.shape} vs torch {b.shape}"
        np.testing.assert_allclose(a, b, rtol=RTOL, atol=ATOL, err_msg=f"{what}: {label}")


@pytest.mark.parametrize("spec", TORCH_OPS, ids=lambda spec: spec.name)
@FEWER
@given(data=st.data())
def test_op_matches_torch(spec: OpSpec, data: st.DataObject) -> None:
    values = list(data.draw(spec.inputs, label="inputs"))
    if spec.valid is not None:
        assume(spec.valid(*values))
    with tl.no_grad():
        out_shape = spec.fn(*[tl.tensor(v) for v in values]).shape
    upstream = data.draw(arrays(out_shape, "real"), label="upstream gradient")
    weights = None
    if spec.twice_differentiable:
        weights = [data.draw(arrays(v.shape, "real"), label="second upstream") for v in values]
    ours, theirs = both_ways(spec.fn, spec.torch_fn or spec.fn, values, upstream, weights)
    assert_same(ours, theirs, spec.name)


@pytest.mark.parametrize("spec", CONSTANT_OPS, ids=lambda spec: spec.name)
@FEWER
@given(data=st.data())
def test_constant_result_matches_torch(spec: OpSpec, data: st.DataObject) -> None:
    values = data.draw(spec.inputs, label="inputs")
    ours = spec.fn(*[tl.tensor(v) for v in values])
    theirs = (spec.torch_fn or spec.fn)(*[torch.tensor(v) for v in values])
    assert ours.shape == tuple(theirs.shape)
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def _mlp(x: Any, w1: Any, b1: Any, w2: Any) -> Any:
    return ((x @ w1 + b1).tanh() @ w2).sigmoid().mean()


def _logistic_loss(x: Any, w: Any, b: Any) -> Any:
    y = lib(x).tensor([1.0, 0.0, 1.0, 1.0], dtype=x.dtype)
    p = (x @ w + b).sigmoid()
    return -(y * p.log() + (1.0 - y) * (1.0 - p).log()).mean()


def _softmax_cross_entropy(logits: Any) -> Any:
    onehot = lib(logits).tensor([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]], dtype=logits.dtype)
    return -(logits.log_softmax(dim=1) * onehot).sum(dim=1).mean()


def _linear_regression(x: Any, w: Any, b: Any) -> Any:
    y = lib(x).tensor([1.0, -2.0, 0.5, 3.0], dtype=x.dtype)
    return ((x @ w + b - y) ** 2).mean()


def _reused(x: Any) -> Any:
    a = x.sin()
    return (a * a + a.exp() / (1.0 + a * a)).sum()


def _standardised(x: Any) -> Any:
    z = (x - x.mean(dim=1, keepdim=True)) / x.std(dim=1, keepdim=True)
    return (z**3).sum(dim=0).logsumexp(dim=0)


def _pieces(x: Any, y: Any) -> Any:
    joined = lib(x).cat([x[:, :1] * 2.0, x[:, 1:].exp(), y[None].expand(2, 3)], dim=1)
    return lib(x).stack([joined.var(dim=0), joined.amax(dim=0)], dim=1).softmax(dim=1)


def _batched(x: Any, y: Any) -> Any:
    return lib(x).where(x > 0, x @ y, (x @ y).square()).sum(dim=(0, 2)).sqrt()


COMPOSED: list[tuple[str, Callable[..., Any], list[tuple[int, ...]]]] = [
    ("mlp", _mlp, [(4, 3), (3, 5), (5,), (5, 2)]),
    ("logistic_loss", _logistic_loss, [(4, 3), (3,), ()]),
    ("softmax_cross_entropy", _softmax_cross_entropy, [(2, 3)]),
    ("linear_regression", _linear_regression, [(4, 2), (2,), ()]),
    ("reused_intermediate", _reused, [(3, 2)]),
    ("standardised", _standardised, [(3, 4)]),
    ("cat_stack_pieces", _pieces, [(2, 3), (3,)]),
    ("batched_where", _batched, [(2, 3, 3), (3, 3)]),
]


@pytest.mark.parametrize(("fn", "shapes"), [c[1:] for c in COMPOSED], ids=[c[0] for c in COMPOSED])
def test_composed_expression_matches_torch(
    fn: Callable[..., Any], shapes: list[tuple[int, ...]], rng: np.random.Generator
) -> None:
    values = [rng.standard_normal(shape) for shape in shapes]
    if fn is _batched:  # keep x @ y positive where it is square-rooted
        values = [np.abs(v) + 0.1 for v in values]
    with tl.no_grad():
        out_shape = fn(*[tl.tensor(v) for v in values]).shape
    upstream = rng.standard_normal(out_shape)
    weights = [rng.standard_normal(shape) for shape in shapes]
    ours, theirs = both_ways(fn, fn, values, upstream, weights)
    assert_same(ours, theirs, fn.__name__)


@pytest.mark.filterwarnings("ignore:Using backward\\(\\) with create_graph=True")
def test_hessian_of_cube_matches_torch() -> None:
    """d^2/dx^2 sum(x^3) = 6x, through backward(create_graph=True) and .grad, in both."""
    values = np.array([-1.5, 0.5, 2.0])
    results = []
    for library in (tl, torch):
        x = library.tensor(values, dtype=library.float64, requires_grad=True)
        (x**3).sum().backward(create_graph=True)
        first = x.grad
        x.grad = None
        first.sum().backward()
        results.append((as_numpy(first), as_numpy(x.grad)))
    (first_ours, second_ours), (first_torch, second_torch) = results
    np.testing.assert_allclose(first_ours, first_torch, rtol=RTOL)
    np.testing.assert_allclose(second_ours, second_torch, rtol=RTOL)
