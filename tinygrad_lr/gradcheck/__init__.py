"""Gradient checking: compare the gradients autograd computes with finite differences.

For a function f of tensors, the analytic Jacobian J (what backward computes) must agree with
central differences, J[:, j] ~ (f(x + eps e_j) - f(x - eps e_j)) / (2 eps), whose error is
O(eps^2) -- but only in float64, where rounding stays far below that.

- Small inputs: every entry of J is checked (2 calls of f per input element, one backward per
  output element).
- Large inputs: random directions u and v, comparing the two ways of computing v^T J u,
  numerically <v, (f(x + eps u) - f(x - eps u)) / (2 eps)> and analytically <J^T v, u>,
  so the cost is a few calls of f whatever the size.

When the check fails, the report says which input and which elements are wrong and, the part
that saves the most time, which op of the recorded graph has a backward that disagrees with
finite differences on the very values it saw during the forward pass.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .blame import _locate_op
from .jacobian import _check_first_order
from .problem import _first_derivative_problem, _Options, _Problem
from .report import GradcheckError, _fail

__all__ = ["GradcheckError", "gradcheck", "gradgradcheck"]


# --- the public checks --------------------------------------------------------------------------


def gradcheck(
    fn: Callable[..., Any],
    inputs: Any,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    raise_exception: bool = True,
    nondet_tol: float = 0.0,
    check_op_level: bool = True,
    max_full_size: int = 256,
    n_projections: int = 3,
    seed: int = 0,
) -> bool:
    """True when d fn(inputs) / d inputs from backward matches float64 central differences.

    `inputs` is a Tensor, an array, or a tuple of them (other values are passed to `fn` as
    they are). Tensors with requires_grad=True and floating NumPy arrays are differentiated.
    An entry passes when |analytic - numerical| <= atol + rtol * |numerical|. When the inputs
    or outputs have more than `max_full_size` elements, `n_projections` random projections
    per input replace the full Jacobian. `nondet_tol` is how much two evaluations of fn (or of
    its backward) at the same point may differ. On failure raises GradcheckError (or returns
    False when `raise_exception=False`); with `check_op_level` the report names the first op
    whose own backward is wrong.
    """
    problem = _Problem.build(fn, inputs, "gradcheck")
    options = _Options(eps, atol, rtol, nondet_tol, max_full_size, n_projections, seed)
    failure = _check_first_order(problem, options)
    if failure is None:
        return True
    if check_op_level:
        failure.op = _locate_op(problem, options, second_order=False)
    else:
        failure.located = False  # no op was checked, so none can be cleared either
    return _fail(failure, "gradcheck", raise_exception)


def gradgradcheck(
    fn: Callable[..., Any],
    inputs: Any,
    grad_outputs: Any = None,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    raise_exception: bool = True,
    nondet_tol: float = 0.0,
    check_op_level: bool = True,
    max_full_size: int = 256,
    n_projections: int = 3,
    seed: int = 0,
) -> bool:
    """True when second derivatives of fn, through backward(create_graph=True), match finite
    differences of the first derivatives.

    The checked function is (x, v) -> J(x)^T v, the gradient for an upstream gradient v
    (random unless `grad_outputs` is given), differentiated with respect to x and v. Run
    `gradcheck` first: this check trusts the first derivative and tests its derivative.
    """
    problem = _Problem.build(fn, inputs, "gradgradcheck")
    options = _Options(eps, atol, rtol, nondet_tol, max_full_size, n_projections, seed)
    failure = _check_first_order(_first_derivative_problem(problem, grad_outputs, seed), options)
    if failure is None:
        return True
    failure.what = "second derivatives (the gradient of the gradient)"
    if check_op_level:
        failure.op = _locate_op(problem, options, second_order=True)
    else:
        failure.located = False  # no op was checked, so none can be cleared either
    return _fail(failure, "gradgradcheck", raise_exception)
