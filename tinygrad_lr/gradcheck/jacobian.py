"""The first-order check: the Jacobian from backward against central differences, in full for
small problems and as random projections v^T J u for large ones."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from ..autograd import grad
from ..tensor import Tensor
from .problem import _Options, _Problem
from .report import _Failure, _Mismatch


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
