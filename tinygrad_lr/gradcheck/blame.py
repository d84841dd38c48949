"""Finding the op to blame: fn is run again while `observe_ops` keeps every op it applies with
copies of the values that op saw; then each op is gradient-checked on its own, on those values.
The first op that fails is the one whose backward is wrong."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..autograd.anomaly_mode import detect_anomaly, user_line
from ..autograd.graph import Node, observe_ops
from ..ops import BuiltinOp
from ..tensor import Tensor
from .jacobian import _check_first_order
from .problem import _first_derivative_problem, _Options, _Problem
from .report import _Failure, _OpFinding


@dataclass
class _OpCall:
    """One op applied by fn: its class, its node, and copies of its arguments."""

    op: type
    node: Node
    args: list[Any]

    @property
    def name(self) -> str:
        return self.node.name()

    @property
    def op_name(self) -> str:
        return self.op.op_name() if issubclass(self.op, BuiltinOp) else self.op.__name__.lower()

    @property
    def input_shapes(self) -> list[tuple[int, ...]]:
        return [a.shape for a in self.args if isinstance(a, Tensor)]


class _Recorder:
    """Keeps the ops called by fn itself; ops inside another op (depth > 0) belong to it."""

    def __init__(self) -> None:
        self.calls: list[_OpCall] = []

    def on_apply(
        self, op: type, args: tuple[Any, ...], outputs: Any, node: Node | None, depth: int
    ) -> None:
        if depth == 0 and node is not None:
            needs = node.needs_input_grad  # type: ignore[attr-defined]
            copies = [
                Tensor._make(np.array(a._data), needed) if isinstance(a, Tensor) else a
                for a, needed in zip(args, needs)
            ]
            self.calls.append(_OpCall(op, node, copies))

    def on_in_place(self, tensor: Tensor, name: str, value: Any, index: Any = None) -> None:
        pass


def _locate_op(problem: _Problem, options: _Options, second_order: bool) -> _OpFinding | None:
    """Re-run fn, recording each op and where it was created, then check each op on its own,
    on copies of the values it saw; the first that fails is the one to blame."""
    recorder = _Recorder()
    with detect_anomaly(), warnings.catch_warnings(), observe_ops(recorder):
        warnings.simplefilter("ignore", RuntimeWarning)
        outputs = [out for out in problem.outputs() if out is not None]
    reachable = _reachable([out.grad_fn for out in outputs if out.grad_fn is not None])
    calls = [call for call in recorder.calls if call.node in reachable]
    for position, call in enumerate(calls, start=1):
        failure = _check_op(call, options, second_order)
        if failure is None:
            continue
        return _OpFinding(
            name=call.name,
            op_name=call.op_name,
            position=position,
            count=len(calls),
            input_shapes=call.input_shapes,
            created_at=user_line(call.node) or None,
            detail="\n".join(["    " + line for line in [failure.summary, *failure.lines]]),
            builtin=issubclass(call.op, BuiltinOp),
        )
    return None


def _reachable(roots: list[Node]) -> set[Node]:
    found, stack = set(roots), list(roots)
    while stack:
        for child, _ in stack.pop().next_functions:
            if child is not None and child not in found:
                found.add(child)
                stack.append(child)
    return found


def _op_problem(call: _OpCall) -> _Problem | None:
    """The op alone, on copies of the values it saw; None when finite differences cannot
    check it (float32 values in or out)."""
    tensors = [a for a in call.args if isinstance(a, Tensor) and a.requires_grad]
    if any(t.dtype != np.float64 for t in tensors):
        return None

    def single_op(*xs: Any) -> Any:
        return call.op.apply(*xs)  # type: ignore[attr-defined]

    problem = _Problem.build(single_op, call.args, f"gradcheck of {call.name}")
    outputs = [out for out in problem.outputs() if out is not None]
    if any(out.dtype != np.float64 for out in outputs):
        return None
    return problem


def _check_op(call: _OpCall, options: _Options, second_order: bool) -> _Failure | None:
    try:
        problem = _op_problem(call)
        if problem is None:
            return None
        if second_order:
            problem = _first_derivative_problem(problem, None, options.seed)
        return _check_first_order(problem, options)
    except Exception as error:  # e.g. its forward refuses the values a step of eps away
        return _Failure(f"{type(error).__name__}: {error}")
