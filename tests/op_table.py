"""One table of every op of the engine, for the parametrized tests (test_ops, test_torch_parity).

Each row: a name, a callable taking tensors, its arity, the domain of each input, a NumPy
reference, whether the op is twice differentiable, and whether its inputs broadcast. The
callables are written so that they run unchanged on tinygrad_lr tensors and on torch tensors
(methods, operators, or `lib(x).cat(...)` for free functions), so the same row drives the
PyTorch parity tests. Import it from any test: `from op_table import OPS`.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinygrad_lr as tl
from tinygrad_lr.testing import Domain, away_from, broadcastable_shapes
from tinygrad_lr.testing import arrays as array_strategy

Shapes = tuple[tuple[int, ...], ...]

AWAY_FROM_ZERO = away_from(0.0, margin=0.3)  # 1/x and x/y stay moderate
POSITIVE = Domain(0.2, 3.0)
MAX_SIDE = 3  # every element is checked: small arrays keep the suite fast


def lib(x: Any) -> Any:
    """The module whose free functions fit x: torch for torch tensors, else tinygrad_lr."""
    if type(x).__module__.startswith("torch"):
        import torch

        return torch
    return tl


@dataclass(frozen=True)
class OpSpec:
    name: str
    fn: Callable[..., Any]
    arity: int
    reference: Callable[..., Any]
    domains: tuple[Domain | str, ...] = ("real",)
    twice_differentiable: bool = True
    broadcasts: bool = False
    shapes: st.SearchStrategy[Shapes] | None = None
    unique: bool = False  # distinct values: max/min have no ties
    valid: Callable[..., bool] | None = None  # rejects draws too close to a kink
    torch_fn: Callable[..., Any] | None = None  # when fn's spelling differs in torch
    in_torch: bool = True  # False: torch has no such op (e.g. negative slice steps)
    tolerances: dict[str, float] = field(default_factory=dict)

    def input_shapes(self) -> st.SearchStrategy[Shapes]:
        if self.shapes is not None:
            return self.shapes
        if self.broadcasts:
            return broadcastable_shapes(self.arity, max_side=MAX_SIDE)
        return same_shapes(self.arity)

    @functools.cached_property
    def inputs(self) -> st.SearchStrategy[tuple[np.ndarray, ...]]:
        """Input arrays: shapes first, then values from each input's domain."""
        domains = self.domains * self.arity if len(self.domains) == 1 else self.domains

        @st.composite
        def draw(data: st.DrawFn) -> tuple[np.ndarray, ...]:
            shapes = data(self.input_shapes())
            return tuple(
                data(array_strategy(shape, domain, unique=self.unique))
                for shape, domain in zip(shapes, domains)
            )

        return draw()


def same_shapes(
    arity: int = 1, min_dims: int = 0, max_dims: int = 3, min_side: int = 1
) -> st.SearchStrategy[Shapes]:
    shape = hnp.array_shapes(
        min_dims=min_dims, max_dims=max_dims, min_side=min_side, max_side=MAX_SIDE
    )
    return shape.map(lambda s: (s,) * arity)


def fixed(*shapes: tuple[int, ...]) -> st.SearchStrategy[Shapes]:
    return st.just(tuple(shapes))


SIDE = st.integers(1, MAX_SIDE)


@st.composite
def _matmul_shapes(draw: st.DrawFn, left_dims: int, right_dims: int) -> Shapes:
    n, k, m = draw(SIDE), draw(SIDE), draw(SIDE)
    if left_dims == 1 and right_dims == 1:
        return (k,), (k,)
    if left_dims == 1:
        return (k,), (k, m)
    if right_dims == 1:
        return (n, k), (k,)
    if left_dims == 2 and right_dims == 2:
        return (n, k), (k, m)
    batch = draw(hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=2, max_side=MAX_SIDE))
    left, right = batch.input_shapes
    return left + (n, k), right + (k, m)


def _with_first_row_set(x: Any, row: Any) -> Any:
    y = x * 1.0
    y[0] = row
    return y


@st.composite
def _cat_shapes(draw: st.DrawFn, arity: int, dim: int) -> Shapes:
    base = list(draw(hnp.array_shapes(min_dims=2, max_dims=3, max_side=MAX_SIDE)))
    shapes = []
    for _ in range(arity):
        base[dim] = draw(SIDE)
        shapes.append(tuple(base))
    return tuple(shapes)


def _far_apart(x: np.ndarray, y: np.ndarray) -> bool:
    return bool(np.all(np.abs(np.subtract(x, y)) > 0.05))


def _spread(x: np.ndarray, axis: Any = None) -> bool:
    """Not all equal along the reduced axes: std stays away from its kink at 0."""
    return bool(np.all(np.std(x, axis=axis) > 0.1))


def _np_var(x: np.ndarray, axis: Any = None, ddof: int = 1, keepdims: bool = False) -> Any:
    return np.var(x, axis=axis, ddof=ddof, keepdims=keepdims)


def _np_logsumexp(x: np.ndarray, axis: Any = None, keepdims: bool = False) -> Any:
    m = np.max(x, axis=axis, keepdims=True)
    out = m + np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True))
    return out if keepdims else np.squeeze(out, axis=axis)


def _np_softmax(x: np.ndarray, axis: int) -> Any:
    e = np.exp(x - np.max(x, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)


_np_erf = np.vectorize(math.erf, otypes=[np.float64])


def _not_near_a_jump(x: np.ndarray, y: np.ndarray) -> bool:
    """x mod y jumps where x / y is a whole number: stay away from there."""
    ratio = np.divide(x, y)
    return bool(np.all(np.abs(ratio - np.round(ratio)) > 0.05))


def _not_near_zero_norm(x: np.ndarray, axis: Any = None) -> bool:
    return bool(np.all(np.sqrt(np.sum(np.square(x), axis=axis)) > 0.3))


def _unary(name: str, fn: Callable[..., Any], reference: Callable[..., Any], **kw: Any) -> OpSpec:
    return OpSpec(name, fn, 1, reference, **kw)


def _binary(name: str, fn: Callable[..., Any], reference: Callable[..., Any], **kw: Any) -> OpSpec:
    return OpSpec(name, fn, 2, reference, broadcasts=True, **kw)


ARITHMETIC = [
    _binary("add", lambda x, y: x + y, np.add),
    _binary("sub", lambda x, y: x - y, np.subtract),
    _binary("mul", lambda x, y: x * y, np.multiply),
    _binary("div", lambda x, y: x / y, np.divide, domains=("real", AWAY_FROM_ZERO)),
    # The exponent stays away from 0: there PyTorch's backward masks d(x^y)/dx to a constant 0,
    # so its d2/dxdy is 0 where the true value, x^(y-1) (1 + y log x), is 1 at x = 1.
    _binary("pow", lambda x, y: x**y, np.power, domains=(POSITIVE, away_from(0.0))),
    _unary("neg", lambda x: -x, np.negative),
    _unary("radd", lambda x: 1.5 + x, lambda a: 1.5 + a),
    _unary("rsub", lambda x: 2.0 - x, lambda a: 2.0 - a),
    _unary("rmul", lambda x: 3.0 * x, lambda a: 3.0 * a),
    _unary("rdiv", lambda x: 2.0 / x, lambda a: 2.0 / a, domains=(AWAY_FROM_ZERO,)),
    _unary("rpow", lambda x: 2.0**x, lambda a: 2.0**a),
    _unary("pow_2", lambda x: x**2, lambda a: a**2),
    _unary("pow_3", lambda x: x**3, lambda a: a**3),
    _unary("pow_0", lambda x: x**0, lambda a: a**0),
    _unary("pow_half", lambda x: x**0.5, np.sqrt, domains=(POSITIVE,)),
    _unary("pow_neg", lambda x: x**-1.5, lambda a: a**-1.5, domains=(POSITIVE,)),
    _unary("square", lambda x: x.square(), np.square),
    _binary(
        "remainder",
        lambda x, y: x % y,
        np.remainder,
        domains=("real", AWAY_FROM_ZERO),
        valid=_not_near_a_jump,
    ),
]

ELEMENTWISE = [
    _unary("exp", lambda x: x.exp(), np.exp),
    _unary("log", lambda x: x.log(), np.log, domains=(POSITIVE,)),
    _unary("sqrt", lambda x: x.sqrt(), np.sqrt, domains=(POSITIVE,)),
    _unary("sin", lambda x: x.sin(), np.sin),
    _unary("cos", lambda x: x.cos(), np.cos),
    _unary("abs", lambda x: x.abs(), np.abs, domains=("nonzero",)),
    _unary("tanh", lambda x: x.tanh(), np.tanh),
    _unary("sigmoid", lambda x: x.sigmoid(), lambda a: 1 / (1 + np.exp(-a))),
    _unary("relu", lambda x: x.relu(), lambda a: np.maximum(a, 0), domains=("nonzero",)),
    _unary(
        "clamp",
        lambda x: x.clamp(min=-1.0, max=1.0),
        lambda a: np.clip(a, -1, 1),
        domains=(away_from(-1.0, 1.0),),
    ),
    _unary(
        "clamp_min",
        lambda x: x.clamp(min=0.5),
        lambda a: np.maximum(a, 0.5),
        domains=(away_from(0.5),),
    ),
    _unary(
        "clip_max",
        lambda x: x.clip(max=-0.5),
        lambda a: np.minimum(a, -0.5),
        domains=(away_from(-0.5),),
    ),
    _binary("maximum", lambda x, y: x.maximum(y), np.maximum, valid=_far_apart),
    _binary("minimum", lambda x, y: x.minimum(y), np.minimum, valid=_far_apart),
    _binary(
        "where",
        lambda x, y: lib(x).where(x > 0, x, y),
        lambda a, b: np.where(a > 0, a, b),
        domains=("nonzero", "real"),
    ),
    _unary("erf", lambda x: x.erf(), _np_erf),
    _unary("clone", lambda x: x.clone(), np.copy),
    _unary(
        "to_float32",
        lambda x: x.float(),
        lambda a: a.astype(np.float32),
        twice_differentiable=False,
        # float32 outputs: a larger step keeps rounding small next to the difference
        tolerances={"eps": 1e-2, "atol": 1e-4, "rtol": 1e-3},
    ),
]

MATMUL = [
    OpSpec("matmul_1d_1d", lambda x, y: x @ y, 2, np.matmul, shapes=_matmul_shapes(1, 1)),
    OpSpec("matmul_1d_2d", lambda x, y: x @ y, 2, np.matmul, shapes=_matmul_shapes(1, 2)),
    OpSpec("matmul_2d_1d", lambda x, y: x.matmul(y), 2, np.matmul, shapes=_matmul_shapes(2, 1)),
    OpSpec("matmul_2d_2d", lambda x, y: x @ y, 2, np.matmul, shapes=_matmul_shapes(2, 2)),
    OpSpec(
        "matmul_batched",
        lambda x, y: lib(x).matmul(x, y),
        2,
        np.matmul,
        shapes=_matmul_shapes(3, 3),
    ),
]

TWO_D = same_shapes(1, min_dims=2)
THREE_D = same_shapes(1, min_dims=3, max_dims=3)

REDUCTIONS = [
    _unary("sum", lambda x: x.sum(), np.sum),
    _unary("sum_dim", lambda x: x.sum(dim=1), lambda a: a.sum(axis=1), shapes=TWO_D),
    _unary(
        "sum_dims_keepdim",
        lambda x: x.sum(dim=(0, -1), keepdim=True),
        lambda a: a.sum(axis=(0, -1), keepdims=True),
        shapes=TWO_D,
    ),
    _unary(
        "sum_numpy_names",
        lambda x: x.sum(axis=-1, keepdims=True),
        lambda a: a.sum(axis=-1, keepdims=True),
        shapes=TWO_D,
        torch_fn=lambda x: x.sum(dim=-1, keepdim=True),
    ),
    _unary("mean", lambda x: x.mean(), np.mean),
    _unary(
        "mean_dim_keepdim",
        lambda x: x.mean(dim=0, keepdim=True),
        lambda a: a.mean(axis=0, keepdims=True),
        shapes=TWO_D,
    ),
    _unary("max", lambda x: x.max(), np.max, unique=True),
    _unary("min", lambda x: x.min(), np.min, unique=True),
    _unary(
        "max_dim",
        lambda x: x.max(dim=1).values,
        lambda a: a.max(axis=1),
        unique=True,
        shapes=TWO_D,
    ),
    _unary(
        "min_dim_keepdim",
        lambda x: x.min(dim=0, keepdim=True)[0],
        lambda a: a.min(axis=0, keepdims=True),
        unique=True,
        shapes=TWO_D,
    ),
    _unary("amax", lambda x: x.amax(dim=-1), lambda a: a.max(axis=-1), unique=True, shapes=TWO_D),
    _unary(
        "amin",
        lambda x: x.amin(dim=(0, 1)),
        lambda a: a.min(axis=(0, 1)),
        unique=True,
        shapes=TWO_D,
    ),
    _unary("var", lambda x: x.var(), _np_var, shapes=same_shapes(1, min_dims=1, min_side=2)),
    _unary(
        "var_dim",
        lambda x: x.var(dim=1),
        lambda a: _np_var(a, axis=1),
        shapes=same_shapes(1, min_dims=2, min_side=2),
    ),
    _unary(
        "var_biased_keepdim",
        lambda x: x.var(dim=0, keepdim=True, correction=0),
        lambda a: _np_var(a, axis=0, ddof=0, keepdims=True),
        shapes=TWO_D,
    ),
    _unary(
        "std_dim",
        lambda x: x.std(dim=1),
        lambda a: np.std(a, axis=1, ddof=1),
        shapes=same_shapes(1, min_dims=2, min_side=2),
        valid=lambda a: _spread(a, axis=1),
    ),
    _unary(
        "logsumexp",
        lambda x: x.logsumexp(),
        _np_logsumexp,
        shapes=same_shapes(1, min_dims=1),
        torch_fn=lambda x: x.logsumexp(dim=tuple(range(x.ndim))),
    ),
    _unary(
        "logsumexp_dim",
        lambda x: x.logsumexp(dim=1),
        lambda a: _np_logsumexp(a, axis=1),
        shapes=TWO_D,
    ),
    _unary(
        "logsumexp_dims_keepdim",
        lambda x: x.logsumexp(dim=(0, 1), keepdim=True),
        lambda a: _np_logsumexp(a, axis=(0, 1), keepdims=True),
        shapes=TWO_D,
    ),
    _unary(
        "norm", lambda x: x.norm(), lambda a: np.linalg.norm(a.ravel()), valid=_not_near_zero_norm
    ),
    _unary(
        "norm_dim_keepdim",
        lambda x: lib(x).norm(x, dim=1, keepdim=True),
        lambda a: np.linalg.norm(a, axis=1, keepdims=True),
        shapes=TWO_D,
        valid=lambda a: _not_near_zero_norm(a, axis=1),
    ),
    _unary(
        "norm_p3",
        lambda x: x.norm(p=3, dim=0),
        lambda a: np.sum(np.abs(a) ** 3, axis=0) ** (1 / 3),
        shapes=TWO_D,
        # (|x|**3 has no third derivative at 0: finite differences of the second are off by
        # about eps / norm**2 there, against an exact 0)
        valid=lambda a: _not_near_zero_norm(a, axis=0) and bool(np.all(np.abs(a) > 1e-3)),
    ),
    _unary(
        "norm_inf",
        lambda x: x.norm(p=math.inf),
        lambda a: np.max(np.abs(a)),
        domains=("nonzero",),
        valid=lambda a: a.size == 1 or bool(np.all(np.diff(np.sort(np.abs(a.ravel()))) > 0.05)),
    ),
    _unary(
        "softmax",
        lambda x: x.softmax(dim=-1),
        lambda a: _np_softmax(a, -1),
        shapes=same_shapes(1, min_dims=1),
    ),
    _unary("softmax_dim0", lambda x: x.softmax(dim=0), lambda a: _np_softmax(a, 0), shapes=TWO_D),
    _unary(
        "log_softmax",
        lambda x: x.log_softmax(dim=1),
        lambda a: np.log(_np_softmax(a, 1)),
        shapes=TWO_D,
    ),
]

SHAPE = [
    _unary("reshape", lambda x: x.reshape(-1), np.ravel),
    _unary("view", lambda x: x.view(-1, 1), lambda a: a.reshape(-1, 1)),
    _unary("flatten", lambda x: x.flatten(), np.ravel),
    _unary(
        "flatten_from_1",
        lambda x: x.flatten(1),
        lambda a: a.reshape(a.shape[0], -1),
        shapes=THREE_D,
    ),
    _unary("transpose", lambda x: x.transpose(0, 1), lambda a: np.swapaxes(a, 0, 1), shapes=TWO_D),
    _unary(
        "permute",
        lambda x: x.permute(2, 0, 1),
        lambda a: np.transpose(a, (2, 0, 1)),
        shapes=THREE_D,
    ),
    _unary("T", lambda x: x.T, lambda a: a.T, shapes=fixed((2, 3))),
    _unary("mT", lambda x: x.mT, lambda a: np.swapaxes(a, -1, -2), shapes=TWO_D),
    _unary("t", lambda x: x.t(), lambda a: a.T, shapes=fixed((3, 2))),
    _unary("squeeze", lambda x: x.squeeze(), np.squeeze, shapes=fixed((3, 1, 2, 1))),
    _unary("squeeze_dim", lambda x: x.squeeze(1), lambda a: a.squeeze(1), shapes=fixed((3, 1))),
    _unary("unsqueeze", lambda x: x.unsqueeze(0), lambda a: a[None]),
    _unary("unsqueeze_last", lambda x: x.unsqueeze(-1), lambda a: a[..., None]),
    _unary(
        "expand",
        lambda x: x.expand(2, 3, 4),
        lambda a: np.broadcast_to(a, (2, 3, 4)),
        shapes=fixed((3, 1)),
    ),
    _unary(
        "view_as",
        lambda x: x.view_as(lib(x).zeros(x.numel())),
        np.ravel,
    ),
    _unary(
        "reshape_as",
        lambda x: x.reshape_as(lib(x).zeros(2, 3)),
        lambda a: a.reshape(2, 3),
        shapes=fixed((3, 2)),
    ),
    _unary(
        "expand_as",
        lambda x: x.expand_as(lib(x).zeros(2, 3, 4)),
        lambda a: np.broadcast_to(a, (2, 3, 4)),
        shapes=fixed((1, 4)),
    ),
    _unary("getitem_int", lambda x: x[1], lambda a: a[1], shapes=fixed((3, 2))),
    _unary("getitem_negative_int", lambda x: x[-1, 0], lambda a: a[-1, 0], shapes=fixed((3, 2))),
    _unary("getitem_slices", lambda x: x[1:, ::2], lambda a: a[1:, ::2], shapes=fixed((3, 4))),
    _unary(
        "getitem_reverse",
        lambda x: x[::-1],
        lambda a: a[::-1],
        shapes=fixed((4, 2)),
        in_torch=False,  # torch has no negative steps
    ),
    _unary("getitem_none", lambda x: x[None, :, 0], lambda a: a[None, :, 0], shapes=fixed((3, 2))),
    _unary(
        "getitem_ellipsis",
        lambda x: x[..., 1],
        lambda a: a[..., 1],
        shapes=THREE_D.filter(lambda s: s[0][-1] > 1),
    ),
    _unary(
        "getitem_repeated_ints",
        lambda x: x[[0, 2, 0, 0]],
        lambda a: a[[0, 2, 0, 0]],
        shapes=fixed((3, 2)),
    ),
    _unary(
        "getitem_index_tensor",
        lambda x: x[:, lib(x).tensor([1, 1, 0])],
        lambda a: a[:, [1, 1, 0]],
        shapes=fixed((2, 3)),
    ),
    _unary(
        "getitem_pairs",
        lambda x: x[[0, 1, 1], [2, 0, 2]],
        lambda a: a[[0, 1, 1], [2, 0, 2]],
        shapes=fixed((2, 3)),
    ),
    _unary("getitem_mask", lambda x: x[x > 0], lambda a: a[a > 0], domains=("nonzero",)),
    _unary(
        "getitem_int_slice_list",  # PyTorch's rule: the int first, then the list
        lambda x: x[0, :, [0, 2]],
        lambda a: a[0][:, [0, 2]],
        shapes=fixed((2, 3, 4)),
    ),
    OpSpec(
        "cat",
        lambda x, y: lib(x).cat([x, y]),
        2,
        lambda a, b: np.concatenate([a, b]),
        shapes=_cat_shapes(2, 0),
    ),
    OpSpec(
        "cat_dim1_three",
        lambda x, y, z: lib(x).cat([x, y, z], dim=1),
        3,
        lambda a, b, c: np.concatenate([a, b, c], axis=1),
        shapes=_cat_shapes(3, 1),
    ),
    OpSpec(
        "stack",
        lambda x, y: lib(x).stack([x, y]),
        2,
        lambda a, b: np.stack([a, b]),
        shapes=same_shapes(2),
    ),
    OpSpec(
        "setitem",  # recorded on a non-leaf: IndexPut, the node the tensor is rebased on
        _with_first_row_set,
        2,
        lambda a, b: np.concatenate([np.broadcast_to(b, a[:1].shape), a[1:]]),
        shapes=fixed((3, 2), (2,)),
    ),
    OpSpec(
        "stack_last",
        lambda x, y: lib(x).stack([x, y], dim=-1),
        2,
        lambda a, b: np.stack([a, b], axis=-1),
        shapes=same_shapes(2),
    ),
]

OPS: list[OpSpec] = ARITHMETIC + ELEMENTWISE + MATMUL + REDUCTIONS + SHAPE


def _labels_of(x: Any) -> Any:
    """Class indices made from x: 1 where x > 0, else -1 (the ignored label below)."""
    return (x > 0).long() * 2 - 1


# Ops whose result is a constant (no gradient flows through a comparison or an index): only
# their forward is compared, and that the result does not require grad.
CONSTANT_OPS = [
    _binary("lt", lambda x, y: x < y, np.less),
    _binary("le", lambda x, y: x.le(y), np.less_equal),
    _binary("gt", lambda x, y: x > y, np.greater),
    _binary("ge", lambda x, y: x.ge(y), np.greater_equal),
    _binary("eq", lambda x, y: x == y.clamp(max=0.0), lambda a, b: a == np.minimum(b, 0.0)),
    _binary("ne", lambda x, y: x != y.clamp(max=0.0), lambda a, b: a != np.minimum(b, 0.0)),
    _unary("sign", lambda x: x.sign(), np.sign),
    _binary("floor_divide", lambda x, y: x // y, np.floor_divide, domains=("real", AWAY_FROM_ZERO)),
    _unary("any", lambda x: (x > 1).any(), lambda a: np.any(a > 1)),
    _unary("all", lambda x: (x > -1).all(), lambda a: np.all(a > -1)),
    _unary("argmax", lambda x: x.argmax(), np.argmax, unique=True),
    _unary(
        "argmin_dim",
        lambda x: x.argmin(dim=1, keepdim=True),
        lambda a: np.argmin(a, axis=1, keepdims=True),
        unique=True,
        shapes=TWO_D,
    ),
    _unary(  # the check of binary_cross_entropy's input; torch has no op of its own for it
        "probability_check",
        lambda x: tl.ops.ProbabilityCheck.apply(x.sigmoid(), "binary_cross_entropy"),
        lambda a: np.asarray(True),
        torch_fn=lambda x: (x.sigmoid() >= 0).all(),
    ),
    _unary(  # the label check of cross_entropy and nll_loss; torch has no op of its own for it
        "class_index_mask",
        lambda x: tl.ops.ClassIndexMask.apply(_labels_of(x), -1, 2, "cross_entropy"),
        lambda a: a > 0,
        torch_fn=lambda x: _labels_of(x) != -1,
    ),
]
OPS_BY_NAME = {spec.name: spec for spec in OPS}
assert len(OPS_BY_NAME) == len(OPS), "op names must be unique"
assert not set(OPS_BY_NAME) & {spec.name for spec in CONSTANT_OPS}
