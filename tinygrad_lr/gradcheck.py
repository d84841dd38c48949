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

import os
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .autograd import Function, detect_anomaly, grad
from .errors import DTypeError
from .tensor import Tensor

__all__ = ["GradcheckError", "gradcheck", "gradgradcheck"]

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))
_KINKED_OPS = {"relu", "abs", "maximum", "minimum", "max", "min", "clamp"}


class GradcheckError(RuntimeError):
    """A gradient that disagrees with finite differences; `str(error)` is the full report.

    Attributes: `input_index` (the first wrong input, or None), `worst_relative_error`,
    `op_name` / `op_position` / `op_input_shapes` (the first op whose own backward is wrong,
    when one was found).
    """

    def __init__(self, report: str, failure: _Failure | None = None) -> None:
        super().__init__(report)
        self.report = report
        self.input_index = failure.input_index if failure else None
        self.worst_relative_error = failure.worst_relative_error if failure else None
        op = failure.op if failure else None
        self.op_name = op.name if op else None
        self.op_position = op.position if op else None
        self.op_input_shapes = op.input_shapes if op else None


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


# --- the function under test, and its evaluation ------------------------------------------------


@dataclass
class _Options:
    eps: float
    atol: float
    rtol: float
    nondet_tol: float
    max_full_size: int
    n_projections: int
    seed: int


@dataclass
class _Problem:
    """fn and its arguments: leaf copies of the tensors, so the check owns what it perturbs."""

    fn: Callable[..., Any]
    args: list[Any]
    wrt: list[int]  # positions of the arguments that are differentiated
    names: list[str]  # how the report names each argument

    @classmethod
    def build(cls, fn: Callable[..., Any], inputs: Any, where: str) -> _Problem:
        if not callable(fn):
            raise TypeError(f"{where}: fn must be callable, got {type(fn).__name__}")
        given = list(inputs) if isinstance(inputs, (tuple, list)) else [inputs]
        args: list[Any] = []
        wrt: list[int] = []
        names: list[str] = []
        for position, value in enumerate(given):
            if isinstance(value, np.ndarray):
                value = Tensor._make(value, value.dtype.kind == "f", None)
            if isinstance(value, Tensor):
                differentiate = value.requires_grad
                if differentiate and value.dtype != np.float64:
                    raise DTypeError(
                        f"{where}: input {position} has dtype {value.dtype}, but finite "
                        f"differences need float64 (in {value.dtype} rounding errors swamp the "
                        "differences); cast it first, e.g. x.double() for a tensor or "
                        "x.astype(np.float64) for an array, and build the tensors of fn in "
                        "float64 too"
                    )
                copy = Tensor._make(np.array(value._data), differentiate, None)
                if differentiate:
                    wrt.append(position)
                value = copy
            names.append(_describe_input(position, value))
            args.append(value)
        if not wrt:
            raise ValueError(
                f"{where}: no input requires grad; pass tensors made with requires_grad=True "
                "(or floating NumPy arrays)"
            )
        return cls(fn, args, wrt, names)

    def tensors(self) -> list[Tensor]:
        return [self.args[i] for i in self.wrt]

    def outputs(self, args: list[Any] | None = None) -> list[Tensor | None]:
        """fn(args) as a list of its outputs; non-floating outputs (masks, indices) as None."""
        result = self.fn(*(self.args if args is None else args))
        items = list(result) if isinstance(result, (tuple, list)) else [result]
        if not items or not all(isinstance(item, Tensor) for item in items):
            raise TypeError(
                f"gradcheck: fn must return a Tensor or a tuple of Tensors, got {result!r:.80}"
            )
        return [item if item.dtype.kind == "f" else None for item in items]

    def values(self, replaced: dict[int, np.ndarray]) -> np.ndarray:
        """All floating outputs of fn, flattened into one float64 vector, with the arguments
        at the positions of `replaced` given new values."""
        args = list(self.args)
        for position, array in replaced.items():
            args[position] = Tensor._make(array, True, None)
        outputs = self.outputs(args)
        parts = [
            np.asarray(out._data, dtype=np.float64).ravel() for out in outputs if out is not None
        ]
        return np.concatenate(parts) if parts else np.zeros(0)


def _describe_input(position: int, value: Any) -> str:
    if isinstance(value, Tensor):
        label = f" '{value.name}'" if value.name else ""
        return f"input {position}{label} (shape {value.shape})"
    return f"input {position}"


def _first_derivative_problem(problem: _Problem, grad_outputs: Any, seed: int) -> _Problem:
    """The problem (x, v) -> d<v, fn(x)>/dx, recorded with create_graph=True, for
    gradgradcheck: its Jacobian holds the second derivatives of fn."""
    outputs = [out for out in problem.outputs() if out is not None]
    if grad_outputs is None:
        rng = np.random.default_rng(seed + 1)
        upstream = [rng.standard_normal(out.shape) for out in outputs]
    else:
        given = grad_outputs if isinstance(grad_outputs, (tuple, list)) else [grad_outputs]
        upstream = [np.array(np.asarray(g), dtype=np.float64) for g in given]
    n_args = len(problem.args)

    def first_derivative(*args: Any) -> tuple[Tensor, ...]:
        xs = [args[i] for i in problem.wrt]
        outs = [out for out in problem.outputs(list(args[:n_args])) if out is not None]
        vs = list(args[n_args:])
        live = [k for k, out in enumerate(outs) if out.requires_grad]
        if not live:
            return tuple(x * 0.0 for x in xs)
        grads = grad(
            [outs[k] for k in live],
            xs,
            grad_outputs=[vs[k] for k in live],
            create_graph=True,
            allow_unused=True,
        )
        # An input the gradient does not reach has a zero gradient, constant in x and v.
        return tuple(x * 0.0 if g is None else g for x, g in zip(xs, grads))

    upstream_tensors = [Tensor._make(v, True, None) for v in upstream]
    names = problem.names + [f"grad_output {k} (shape {v.shape})" for k, v in enumerate(upstream)]
    wrt = problem.wrt + list(range(n_args, n_args + len(upstream)))
    return _Problem(first_derivative, problem.args + upstream_tensors, wrt, names)


# --- the first-order check ----------------------------------------------------------------------


@dataclass
class _Mismatch:
    """One Jacobian entry (or one projection) where analytic and numerical disagree."""

    input_index: int
    where: str
    analytic: float
    numerical: float

    @property
    def relative_error(self) -> float:
        scale = max(abs(self.analytic), abs(self.numerical))
        return abs(self.analytic - self.numerical) / scale if scale > 0 else 0.0


@dataclass
class _OpFinding:
    """The first recorded op whose own backward disagrees with finite differences."""

    name: str
    op_name: str
    position: int
    count: int
    input_shapes: list[tuple[int, ...]]
    created_at: str | None
    detail: str
    builtin: bool


@dataclass
class _Failure:
    summary: str
    lines: list[str] = field(default_factory=list)
    mismatches: list[_Mismatch] = field(default_factory=list)
    input_index: int | None = None
    what: str = "gradients"
    op: _OpFinding | None = None
    located: bool = True  # False for failures that no single op can explain

    @property
    def worst_relative_error(self) -> float | None:
        if not self.mismatches:
            return None
        return max(m.relative_error for m in self.mismatches)


class _UpstreamChangedError(Exception):
    """Raised inside the check when a backward wrote into the gradient it was given."""


def _check_first_order(problem: _Problem, options: _Options) -> _Failure | None:
    try:
        return _check_unchanged_inputs(problem, options)
    except _UpstreamChangedError:
        return _Failure(
            "the backward of fn changed the upstream gradient in place; a backward must "
            "treat the gradient it receives as read-only (use g * 2, not g *= 2)"
        )


def _check_unchanged_inputs(problem: _Problem, options: _Options) -> _Failure | None:
    base = {i: problem.args[i]._data for i in problem.wrt}
    snapshot = {i: array.copy() for i, array in base.items()}
    with warnings.catch_warnings():
        # Overflow or a log of a negative perturbed value shows up as a mismatch, with context.
        warnings.simplefilter("ignore", RuntimeWarning)
        failure = _nondeterminism(problem, options)
        if failure is None:
            n_in = sum(problem.args[i]._data.size for i in problem.wrt)
            n_out = _output_size(problem)
            if max(n_in, n_out) <= options.max_full_size:
                failure = _full_jacobian(problem, options, n_out)
            else:
                failure = _projections(problem, options)
    for i, original in snapshot.items():
        if not np.array_equal(base[i], original, equal_nan=True):
            return _Failure(
                f"fn or its backward changed {problem.names[i]} in place; a backward must "
                "never write into the values it reads (copy them, or use out-of-place ops)",
                input_index=i,
            )
    return failure


def _output_size(problem: _Problem) -> int:
    return sum(out.numel() for out in problem.outputs() if out is not None)


def _nondeterminism(problem: _Problem, options: _Options) -> _Failure | None:
    """fn, and its backward, evaluated twice at the same point must agree within nondet_tol,
    or finite differences measure noise."""
    first, second = problem.values({}), problem.values({})
    if first.shape != second.shape or not _close_within(first, second, options.nondet_tol):
        return _Failure(
            f"fn is not deterministic: two calls at the same inputs differ by more than "
            f"nondet_tol={options.nondet_tol}, so finite differences would measure noise; "
            "seed any randomness inside fn, or raise nondet_tol",
            located=False,
        )
    upstream = np.random.default_rng(options.seed).standard_normal(first.shape)
    once, twice = _vjp(problem, upstream), _vjp(problem, upstream)
    if all(_close_within(a, b, options.nondet_tol) for a, b in zip(once, twice)):
        return None
    return _Failure(
        "the backward of fn is not deterministic: two backward passes with the same "
        f"upstream gradient differ by more than nondet_tol={options.nondet_tol}",
        located=False,
    )


def _close_within(a: np.ndarray, b: np.ndarray, tolerance: float) -> bool:
    return bool(np.all((np.abs(a - b) <= tolerance) | ((a == b) | (np.isnan(a) & np.isnan(b)))))


def _vjp(
    problem: _Problem, upstream: np.ndarray, outputs: list[Tensor] | None = None
) -> list[np.ndarray]:
    """J^T v for the flat upstream vector v, one flat array per differentiated input.
    Given `outputs` (already computed, graph kept), it backpropagates through them again."""
    retain = outputs is not None
    if outputs is None:
        outputs = [out for out in problem.outputs() if out is not None]
    chunks, start = [], 0
    for out in outputs:
        chunks.append(upstream[start : start + out.numel()].reshape(out.shape))
        start += out.numel()
    live = [k for k, out in enumerate(outputs) if out.requires_grad]
    tensors = problem.tensors()
    if not live:
        return [np.zeros(t.numel()) for t in tensors]
    given = [Tensor._make(np.array(chunks[k]), False, None) for k in live]
    kept = [g._data.copy() for g in given]
    grads = grad([outputs[k] for k in live], tensors, given, retain_graph=retain, allow_unused=True)
    for g, original in zip(given, kept):
        if not np.array_equal(g._data, original):
            raise _UpstreamChangedError
    return [
        np.zeros(t.numel()) if g is None else np.asarray(g._data, dtype=np.float64).ravel()
        for t, g in zip(tensors, grads)
    ]


def _full_jacobian(problem: _Problem, options: _Options, n_out: int) -> _Failure | None:
    """Every entry of the Jacobian, analytic (one backward per output element) against
    central differences (two calls of fn per input element)."""
    outputs = [out for out in problem.outputs() if out is not None]
    analytic_rows = [_vjp(problem, row, outputs) for row in np.eye(n_out)]
    mismatches: list[_Mismatch] = []
    lines: list[str] = []
    first_bad: int | None = None
    for slot, i in enumerate(problem.wrt):
        x = problem.args[i]._data
        numerical = _numerical_columns(problem, i, options.eps)  # (n_out, x.size)
        analytic = np.array([row[slot] for row in analytic_rows]).reshape(n_out, x.size)
        bad = ~_agrees(analytic, numerical, options)
        if not bad.any():
            continue
        first_bad = i if first_bad is None else first_bad
        found = [
            _Mismatch(
                i,
                _entry_name(outputs, int(r), x.shape, int(c), problem.names[i]),
                float(analytic[r, c]),
                float(numerical[r, c]),
            )
            for r, c in zip(*np.nonzero(bad))
        ]
        mismatches.extend(found)
        lines.extend(_input_lines(problem.names[i], x.shape, bad, analytic, numerical, found))
    if first_bad is None:
        return None
    return _Failure(
        "the analytic Jacobian disagrees with finite differences",
        lines,
        mismatches,
        input_index=first_bad,
    )


def _numerical_columns(problem: _Problem, i: int, eps: float) -> np.ndarray:
    """d(all outputs)/d(input i), one column per element, by central differences."""
    x = problem.args[i]._data
    columns = []
    for j in range(x.size):
        plus, minus = x.copy(), x.copy()
        plus.flat[j] += eps
        minus.flat[j] -= eps
        columns.append((problem.values({i: plus}) - problem.values({i: minus})) / (2 * eps))
    if not columns:  # an empty input: no columns, as many rows as outputs
        return np.zeros((problem.values({}).size, 0))
    return np.stack(columns, axis=1)


def _agrees(analytic: np.ndarray, numerical: np.ndarray, options: _Options) -> np.ndarray:
    close = np.abs(analytic - numerical) <= options.atol + options.rtol * np.abs(numerical)
    return close | ((analytic == numerical) & np.isfinite(analytic))


def _entry_name(
    outputs: list[Tensor], row: int, shape: tuple[int, ...], column: int, input_name: str
) -> str:
    for k, out in enumerate(outputs):
        if row < out.numel():
            label = "out" if len(outputs) == 1 else f"out{k}"
            out_index = np.unravel_index(row, out.shape) if out.shape else ()
            x_index = np.unravel_index(column, shape) if shape else ()
            return f"d {label}{_index(out_index)} / d x{_index(x_index)}"
        row -= out.numel()
    raise AssertionError("row outside the outputs")  # pragma: no cover


def _index(index: tuple[Any, ...]) -> str:
    return "[" + ", ".join(str(int(i)) for i in index) + "]"


def _input_lines(
    name: str,
    shape: tuple[int, ...],
    bad: np.ndarray,
    analytic: np.ndarray,
    numerical: np.ndarray,
    found: list[_Mismatch],
) -> list[str]:
    wrong_elements = np.nonzero(bad.any(axis=0))[0]
    listed = ", ".join(
        "x" + _index(np.unravel_index(int(j), shape) if shape else ()) for j in wrong_elements[:8]
    )
    more = f" and {len(wrong_elements) - 8} more" if len(wrong_elements) > 8 else ""
    lines = [
        f"{name}: {len(wrong_elements)} of {int(np.prod(shape))} elements have a wrong "
        f"gradient ({int(bad.sum())} of {bad.size} Jacobian entries): {listed}{more}",
    ]
    if not np.any(analytic) and np.any(numerical):
        lines.append(
            "  the analytic gradient is zero everywhere, yet fn changes with this input: "
            "part of fn leaves the recorded graph (.detach(), .numpy(), .item(), "
            "tl.tensor(values) or no_grad())"
        )
    worst = sorted(found, key=lambda m: -abs(m.analytic - m.numerical))[:5]
    lines.append(f"  {'entry':<28} {'analytic':>14} {'numerical':>14} {'rel. error':>11}")
    lines.extend(
        f"  {m.where:<28} {m.analytic:>14.6g} {m.numerical:>14.6g} {m.relative_error:>11.3g}"
        for m in worst
    )
    return lines


def _check_vjp(problem: _Problem, upstream: np.ndarray, options: _Options) -> _Failure | None:
    """J^T v from one backward pass against central differences of <v, fn(x)>, per element:
    the check with a random upstream gradient v (a plain .sum() would hide wrong rules)."""
    analytic = _vjp(problem, upstream)
    mismatches: list[_Mismatch] = []
    lines: list[str] = []
    for slot, i in enumerate(problem.wrt):
        x = problem.args[i]._data
        numerical = upstream @ _numerical_columns(problem, i, options.eps)
        bad = ~_agrees(analytic[slot], numerical, options)
        found = [
            _Mismatch(
                i,
                f"d <v, out> / d x{_index(np.unravel_index(int(j), x.shape))}",
                float(analytic[slot][j]),
                float(numerical[j]),
            )
            for j in np.nonzero(bad)[0]
        ]
        if not found:
            continue
        mismatches.extend(found)
        lines.append(
            f"{problem.names[i]}: {len(found)} of {x.size} elements have a wrong gradient "
            "for a random upstream gradient v"
        )
        worst = sorted(found, key=lambda m: -abs(m.analytic - m.numerical))[:5]
        lines.append(f"  {'entry':<28} {'analytic':>14} {'numerical':>14} {'rel. error':>11}")
        lines.extend(
            f"  {m.where:<28} {m.analytic:>14.6g} {m.numerical:>14.6g} {m.relative_error:>11.3g}"
            for m in worst
        )
    if not mismatches:
        return None
    return _Failure(
        "backward with a random upstream gradient disagrees with finite differences",
        lines,
        mismatches,
        input_index=mismatches[0].input_index,
    )


def _projections(problem: _Problem, options: _Options) -> _Failure | None:
    """v^T J u both ways, for random u (one input at a time) and v: a few calls of fn."""
    rng = np.random.default_rng(options.seed)
    n_out = _output_size(problem)
    mismatches: list[_Mismatch] = []
    lines: list[str] = []
    for slot, i in enumerate(problem.wrt):
        x = problem.args[i]._data
        for trial in range(options.n_projections):
            u, v = rng.standard_normal(x.shape), rng.standard_normal(n_out)
            plus = problem.values({i: x + options.eps * u})
            minus = problem.values({i: x - options.eps * u})
            numerical = float(v @ (plus - minus)) / (2 * options.eps)
            analytic = float(_vjp(problem, v)[slot] @ u.ravel())
            if _agrees(np.array(analytic), np.array(numerical), options):
                continue
            mismatch = _Mismatch(i, f"v^T J u (projection {trial + 1})", analytic, numerical)
            mismatches.append(mismatch)
            lines.append(
                f"{problem.names[i]}: for random directions u (input) and v (output), "
                f"<J^T v, u> = {analytic:.6g} from backward but <v, J u> = {numerical:.6g} "
                f"from finite differences (relative error {mismatch.relative_error:.3g}); "
                "the input is too large to list wrong elements (raise max_full_size for the "
                "full Jacobian)"
            )
            break
    if not mismatches:
        return None
    return _Failure(
        "random projections of the Jacobian disagree with finite differences",
        lines,
        mismatches,
        input_index=mismatches[0].input_index,
    )


# --- finding the op to blame --------------------------------------------------------------------


def _graph_nodes(roots: Sequence[Tensor]) -> list[Function]:
    """The recorded ops in the order they were computed: inputs of a node before the node,
    and its inputs visited left to right, as Python evaluates an expression."""
    order: list[Function] = []
    seen: set[int] = set()
    stack: list[tuple[Function, bool]] = [
        (root.grad_fn, False) for root in reversed(roots) if root.grad_fn is not None
    ]
    while stack:
        node, inputs_done = stack.pop()
        if inputs_done:
            order.append(node)
            continue
        if id(node) in seen:
            continue
        seen.add(id(node))
        stack.append((node, True))
        for tensor in reversed(node.inputs):
            child = tensor.grad_fn
            if child is not None and id(child) not in seen:
                stack.append((child, False))
    return order


def _locate_op(problem: _Problem, options: _Options, second_order: bool) -> _OpFinding | None:
    """Re-run fn, recording where each op was created, then check each op on its own, on
    copies of the values it saw; the first that fails is the one to blame."""
    with detect_anomaly(), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        outputs = [out for out in problem.outputs() if out is not None]
    nodes = _graph_nodes(outputs)
    check = _check_op_second_order if second_order else _check_op_first_order
    for position, node in enumerate(nodes, start=1):
        failure = check(node, options)
        if failure is None:
            continue
        return _OpFinding(
            name=node.name,
            op_name=node.op_name,
            position=position,
            count=len(nodes),
            input_shapes=[t.shape for t in node.inputs],
            created_at=_user_frame(node),
            detail="\n".join(["    " + line for line in [failure.summary, *failure.lines]]),
            builtin=type(node).__module__ == "tinygrad_lr.ops",
        )
    return None


def _op_problem(node: Function) -> _Problem | None:
    """The node's op alone, on copies of the values it saw; None when finite differences
    cannot check it (no differentiable input, or float32 values in or out)."""
    needed = [t for t, n in zip(node.inputs, node.needs_input_grad) if n]
    if not needed or any(t.dtype != np.float64 for t in needed):
        return None
    op, params = type(node), dict(node.params)
    args = [
        Tensor._make(np.array(t._data), n and t.dtype.kind == "f", None)
        for t, n in zip(node.inputs, node.needs_input_grad)
    ]

    def single_op(*xs: Any) -> Tensor:
        return op.apply(*xs, **params)

    problem = _Problem.build(single_op, args, f"gradcheck of {node.name}")
    if single_op(*args).dtype != np.float64:
        return None
    return problem


def _check_op_first_order(node: Function, options: _Options) -> _Failure | None:
    try:
        problem = _op_problem(node)
        return None if problem is None else _check_first_order(problem, options)
    except Exception as error:  # e.g. its forward refuses the values a step of eps away
        return _Failure(f"{type(error).__name__}: {error}")


def _check_op_second_order(node: Function, options: _Options) -> _Failure | None:
    try:
        problem = _op_problem(node)
        if problem is None:
            return None
        return _check_first_order(_first_derivative_problem(problem, None, options.seed), options)
    except Exception as error:
        return _Failure(f"{type(error).__name__}: {error}")


def _user_frame(node: Function) -> str | None:
    """The line of the caller's code that created the op (library frames skipped)."""
    if not node.created_at:
        return None
    for frame in reversed(node.created_at):
        if not os.path.abspath(frame.filename).startswith(_PACKAGE_DIR):
            return f"{frame.filename}:{frame.lineno}: {frame.line}"
    return None


# --- the report ---------------------------------------------------------------------------------


def _fail(failure: _Failure, check: str, raise_exception: bool) -> bool:
    report = _report(failure, check)
    if raise_exception:
        raise GradcheckError(report, failure)
    return False


def _report(failure: _Failure, check: str) -> str:
    lines = [f"{check} failed for the {failure.what} of fn: {failure.summary}."]
    lines.extend(failure.lines)
    worst = failure.worst_relative_error
    if worst is not None:
        lines.append(f"worst relative error: {worst:.3g} (|analytic - numerical| / max of both)")
    op = failure.op
    if op is not None:
        shapes = ", ".join(str(s) for s in op.input_shapes)
        lines.append(
            f"The first op whose own backward disagrees with finite differences on the values "
            f"it saw: {op.op_name} ({op.name}), op {op.position} of {op.count} in the order "
            f"they were computed, input shapes {shapes}."
        )
        if op.created_at:
            lines.append(f"  created at {op.created_at}")
        lines.append("  checked on its own, on those values:")
        lines.append(op.detail)
        if op.builtin and op.op_name in _KINKED_OPS:
            lines.append(
                f"  {op.op_name} is not differentiable where its inputs tie or cross a "
                "threshold: if some input lies within eps of such a kink, move it away"
            )
    elif failure.located:
        lines.append(
            "Every recorded op agrees with finite differences on the values it saw, so no "
            "single op's backward is to blame: look for values computed outside the graph "
            "(.detach(), .numpy(), .item(), no_grad()), or inputs within eps of a kink "
            "(relu or abs at 0, ties in max/min/maximum)."
        )
    return "\n".join(lines)
