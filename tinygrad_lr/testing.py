"""Test your own ops and models: hypothesis strategies and a one-call property check.

    import numpy as np
    from tinygrad_lr.testing import check_op

    def test_softplus():  # run by pytest
        check_op(lambda x: Softplus.apply(x), 1, domains="real",
                 reference=lambda a: np.logaddexp(0.0, a))

`check_op` draws shapes and values with hypothesis and, for each example, checks the forward
pass (shape, and values against a NumPy reference when given), the gradient for a random
upstream gradient against float64 central differences, and that neither the inputs nor the
upstream gradient were changed in place. The strategies (`tensors`, `arrays`, `shapes`,
`broadcastable_shapes`, the domains) are built on `hypothesis.extra.numpy` for your own
`@given` tests. Needs hypothesis: `pip install hypothesis` (from a checkout:
`pip install ".[test]"`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, cast

import numpy as np

try:
    import hypothesis
    from hypothesis import strategies as st
    from hypothesis.extra import numpy as hnp
except ImportError:  # pragma: no cover - exercised only without the test extra
    raise ImportError(
        "tinygrad_lr.testing needs hypothesis: pip install hypothesis "
        '(from a checkout: pip install ".[test]")'
    ) from None

from .gradcheck import GradcheckError, gradgradcheck
from .gradcheck.blame import _locate_op
from .gradcheck.jacobian import _check_first_order, _check_vjp
from .gradcheck.problem import _first_derivative_problem, _Options, _Problem
from .gradcheck.report import _Failure, _report
from .tensor import Tensor

__all__ = [
    "BOUNDED",
    "DOMAINS",
    "NONZERO",
    "POSITIVE",
    "REAL",
    "Domain",
    "arrays",
    "away_from",
    "broadcastable_shapes",
    "check_op",
    "shapes",
    "tensors",
]


# --- domains: where the inputs of an op are drawn from ------------------------------------------


@dataclass(frozen=True)
class Domain:
    """Numbers in [low, high], at least `margin` away from each point of `avoid` (the kinks of
    relu or abs, the poles of 1/x), so that finite differences never straddle a kink."""

    low: float
    high: float
    avoid: tuple[float, ...] = ()
    margin: float = 0.1

    def elements(self, width: Literal[16, 32, 64] = 64) -> st.SearchStrategy[float]:
        """A strategy of floats in this domain."""
        pieces, start = [], self.low
        for point in sorted(self.avoid):
            if point - self.margin > start:
                pieces.append((start, point - self.margin))
            start = max(start, point + self.margin)
        if start < self.high:
            pieces.append((start, self.high))
        if not pieces:
            raise ValueError(f"Domain: nothing left of [{self.low}, {self.high}] after {self}")
        return st.one_of(
            *[
                st.floats(a, b, width=width, allow_nan=False, allow_infinity=False)
                for a, b in pieces
            ]
        )


# Bounded so that exp, powers and products stay where float64 differences are accurate.
REAL = Domain(-3.0, 3.0)
POSITIVE = Domain(0.1, 4.0)
NONZERO = Domain(-3.0, 3.0, avoid=(0.0,))  # away from the kink of relu/abs and the pole of 1/x
BOUNDED = Domain(-0.9, 0.9)  # inside (-1, 1), e.g. for arcsin or log(1 - x)

DOMAINS: dict[str, Domain] = {
    "real": REAL,
    "positive": POSITIVE,
    "nonzero": NONZERO,
    "away_from_kinks": NONZERO,
    "bounded": BOUNDED,
}


def away_from(*kinks: float, low: float = -3.0, high: float = 3.0, margin: float = 0.1) -> Domain:
    """A domain that keeps `margin` away from each kink, e.g. away_from(-1, 1) for clamp(-1, 1)."""
    return Domain(low, high, tuple(kinks), margin)


def _domain(domain: Domain | str) -> Domain:
    if isinstance(domain, Domain):
        return domain
    if domain not in DOMAINS:
        raise ValueError(f"unknown domain {domain!r}; use a Domain or one of {sorted(DOMAINS)}")
    return DOMAINS[domain]


# --- strategies ---------------------------------------------------------------------------------


def shapes(
    min_dims: int = 0, max_dims: int = 3, min_side: int = 1, max_side: int = 4
) -> st.SearchStrategy[tuple[int, ...]]:
    """Array shapes, small enough for an element-by-element gradient check."""
    return hnp.array_shapes(
        min_dims=min_dims, max_dims=max_dims, min_side=min_side, max_side=max_side
    )


def broadcastable_shapes(
    num_shapes: int, min_dims: int = 0, max_dims: int = 3, min_side: int = 1, max_side: int = 4
) -> st.SearchStrategy[tuple[tuple[int, ...], ...]]:
    """Tuples of `num_shapes` shapes that broadcast together, as NumPy's rules allow."""
    return hnp.mutually_broadcastable_shapes(
        num_shapes=num_shapes,
        min_dims=min_dims,
        max_dims=max_dims,
        min_side=min_side,
        max_side=max_side,
    ).map(lambda result: tuple(result.input_shapes))


def arrays(
    shape: tuple[int, ...] | st.SearchStrategy[tuple[int, ...]],
    domain: Domain | str = "real",
    dtype: Any = np.float64,
    unique: bool = False,
) -> st.SearchStrategy[np.ndarray]:
    """NumPy arrays of `dtype` with elements from `domain`; `unique` spreads the values apart
    (no ties, for max and min)."""
    return _arrays(shape, domain, np.dtype(dtype), unique)


@functools.lru_cache(maxsize=1024)
def _arrays(
    shape: tuple[int, ...] | st.SearchStrategy[tuple[int, ...]],
    domain: Domain | str,
    dtype: np.dtype,
    unique: bool,
) -> st.SearchStrategy[np.ndarray]:
    # Cached: building a strategy costs more than drawing from it, and tests draw per shape.
    width = cast(Literal[16, 32, 64], 8 * dtype.itemsize)
    spec = _domain(domain)
    drawn = hnp.arrays(dtype, shape, elements=spec.elements(width=width))
    return drawn.map(lambda a: _spread_apart(a, spec)) if unique else drawn


def _spread_apart(values: np.ndarray, domain: Domain) -> np.ndarray:
    """The same ordering, but spaced at least 0.6 (high - low) / n apart, so that no two
    values lie within a finite-difference step of a tie (max, min, sort). Ignores `avoid`."""
    n = values.size
    if n == 0:
        return values
    flat = values.ravel().astype(np.float64)
    rank = np.argsort(np.argsort(flat, kind="stable"), kind="stable")
    jitter = 0.4 * ((flat - domain.low) / (domain.high - domain.low) - 0.5)
    spaced = domain.low + (domain.high - domain.low) * (rank + 0.5 + jitter) / n
    return spaced.reshape(values.shape).astype(values.dtype)


def tensors(
    shape: tuple[int, ...] | st.SearchStrategy[tuple[int, ...]] | None = None,
    dtype: Any = np.float64,
    elements: Domain | str = "real",
    requires_grad: bool = True,
    unique: bool = False,
) -> st.SearchStrategy[Tensor]:
    """Tensors (float64 and requiring grad by default) of a fixed or drawn shape."""
    drawn = shapes() if shape is None else shape
    return arrays(drawn, elements, dtype, unique).map(
        lambda a: Tensor._make(a, requires_grad, None)
    )


# --- the one-call property check ----------------------------------------------------------------


def check_op(
    fn: Callable[..., Tensor],
    n_inputs: int,
    domains: Domain | str | Sequence[Domain | str] = "real",
    *,
    shapes: Any = None,
    broadcast: bool = True,
    reference: Callable[..., Any] | None = None,
    output_shape: Any = "broadcast",
    second_order: bool = False,
    unique: bool = False,
    assume: Callable[..., bool] | None = None,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    max_examples: int | None = None,
) -> None:
    """Property-check an op `fn(*tensors) -> Tensor` of `n_inputs` inputs; raises
    AssertionError (with a report naming the wrong op) on the first failing example.

    - `domains`: one domain for all inputs or one per input (a Domain or "real", "positive",
      "nonzero", "away_from_kinks", "bounded").
    - `shapes`: None draws them (broadcastable together when `broadcast`, else equal), or a
      tuple of fixed shapes, or a hypothesis strategy of such tuples.
    - `reference`: a NumPy function of the input arrays; the forward must match it.
    - `output_shape`: without a reference, the expected forward shape: "broadcast" (the
      inputs' broadcast shape), a tuple, a function of the input shapes, or None (no check).
    - `second_order`: also check second derivatives with gradgradcheck.
    - `unique` draws distinct values (ties break max/min); `assume(*arrays)` rejects draws.
    """
    domain_list = [domains] * n_inputs if isinstance(domains, (Domain, str)) else list(domains)
    if len(domain_list) != n_inputs:
        raise ValueError(f"check_op: {len(domain_list)} domains for {n_inputs} inputs")
    shape_strategy = _shape_strategy(shapes, n_inputs, broadcast)
    options = _Options(eps, atol, rtol, 0.0, 256, 3, 0)

    @hypothesis.given(data=st.data())
    def property_holds(data: st.DataObject) -> None:
        input_shapes = data.draw(shape_strategy, label="shapes")
        values = [
            data.draw(arrays(shape, domain, unique=unique), label=f"input {i}")
            for i, (shape, domain) in enumerate(zip(input_shapes, domain_list))
        ]
        if assume is not None:
            hypothesis.assume(assume(*values))
        _check_example(fn, values, data, reference, output_shape, second_order, options)

    # Each example runs fn a few times per input element: no per-example deadline.
    # The explain phase re-runs many variants of a failure; the report already explains it.
    phases = [phase for phase in hypothesis.Phase if phase is not hypothesis.Phase.explain]
    # One failure, shrunk, is reported (not a group of every distinct one hypothesis met).
    limits: dict[str, Any] = {"deadline": None, "phases": phases, "report_multiple_bugs": False}
    if max_examples is not None:
        limits["max_examples"] = max_examples
    try:
        hypothesis.settings(**limits)(property_holds)()
    except _Counterexample as found:
        # Localised once, on the smallest failing example hypothesis found, not on every
        # example it tried while shrinking.
        if found.first_order:
            found.failure.op = _locate_op(found.problem, options, second_order=False)
            report = _report(found.failure, "check_op")
        else:
            report = _gradgrad_report(found.problem, options)
        example = ", ".join(str(x.shape) for x in found.problem.args)
        raise AssertionError(
            f"{report}\n(smallest failing example: input shapes {example})"
        ) from None


class _Counterexample(Exception):  # noqa: N818 - not an error of check_op, a found example
    """A failing example, passed out of hypothesis to be reported once."""

    def __init__(self, problem: _Problem, failure: _Failure, first_order: bool) -> None:
        super().__init__(failure.summary)
        self.problem, self.failure, self.first_order = problem, failure, first_order


def _gradgrad_report(problem: _Problem, options: _Options) -> str:
    try:
        gradgradcheck(problem.fn, problem.args, None, options.eps, options.atol, options.rtol)
    except GradcheckError as error:
        return str(error).replace("gradgradcheck", "check_op (second order)", 1)
    return "check_op (second order): gradgradcheck failed on this example"  # pragma: no cover


def _shape_strategy(given: Any, n_inputs: int, broadcast: bool) -> st.SearchStrategy[Any]:
    if given is None:
        if broadcast:
            return broadcastable_shapes(n_inputs)
        return shapes().map(lambda shape: (shape,) * n_inputs)
    if isinstance(given, st.SearchStrategy):
        return given
    return st.just(tuple(tuple(shape) for shape in given))


def _check_example(
    fn: Callable[..., Tensor],
    values: list[np.ndarray],
    data: st.DataObject,
    reference: Callable[..., Any] | None,
    output_shape: Any,
    second_order: bool,
    options: _Options,
) -> None:
    inputs = [Tensor._make(v.copy(), True, None) for v in values]
    out = fn(*inputs)
    if not isinstance(out, Tensor):
        raise AssertionError(f"check_op: fn must return a Tensor, got {type(out).__name__}")
    _check_forward(out, values, reference, output_shape)
    upstream = data.draw(arrays(out.shape, "real"), label="upstream gradient")
    upstream_copy = upstream.copy()
    if out.requires_grad:
        out.backward(Tensor._make(upstream, False, None))
        _check_no_aliasing([x.grad for x in inputs], inputs, upstream)
    for i, (tensor, original) in enumerate(zip(inputs, values)):
        if not np.array_equal(tensor._data, original):
            raise AssertionError(f"check_op: fn or its backward changed input {i} in place")
    if not np.array_equal(upstream, upstream_copy):
        raise AssertionError("check_op: the backward changed the upstream gradient in place")

    problem = _Problem.build(fn, [Tensor._make(v.copy(), True, None) for v in values], "check_op")
    failure = _check_vjp(problem, upstream.ravel(), options)
    if failure is not None:
        raise _Counterexample(problem, failure, first_order=True)
    if second_order:
        second = _check_first_order(_first_derivative_problem(problem, None, 0), options)
        if second is not None:
            raise _Counterexample(problem, second, first_order=False)


def _check_forward(
    out: Tensor, values: list[np.ndarray], reference: Callable[..., Any] | None, output_shape: Any
) -> None:
    input_shapes = [v.shape for v in values]
    if reference is not None:
        expected = np.asarray(reference(*[v.copy() for v in values]))
        if out.shape != expected.shape:
            raise AssertionError(
                f"check_op: forward has shape {out.shape}, the reference {expected.shape} "
                f"(input shapes {input_shapes})"
            )
        np.testing.assert_allclose(
            out._data,
            expected,
            rtol=1e-7,
            atol=1e-10,
            err_msg=f"check_op: forward differs from the reference (input shapes {input_shapes})",
        )
        return
    if output_shape is None:
        return
    if output_shape == "broadcast":
        expected_shape = np.broadcast_shapes(*input_shapes)
    elif callable(output_shape):
        expected_shape = tuple(output_shape(*input_shapes))
    else:
        expected_shape = tuple(output_shape)
    if out.shape != expected_shape:
        raise AssertionError(
            f"check_op: forward has shape {out.shape}, expected {expected_shape} "
            f"(input shapes {input_shapes})"
        )


def _check_no_aliasing(
    grads: Sequence[Tensor | None], inputs: Sequence[Tensor], upstream: np.ndarray
) -> None:
    """A gradient sharing memory with an input, the upstream gradient or another gradient
    would change when they change (and an optimiser step would corrupt them)."""
    present = [(i, g._data) for i, g in enumerate(grads) if g is not None]
    for i, g in present:
        others = [("input", j, t._data) for j, t in enumerate(inputs)]
        others += [("gradient", j, h) for j, h in present if j != i]
        others.append(("upstream gradient", 0, upstream))
        for kind, j, array in others:
            if np.shares_memory(g, array):
                raise AssertionError(
                    f"check_op: the gradient of input {i} shares memory with {kind} {j}"
                )
