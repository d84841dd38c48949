"""Which recorded steps a replay runs: the live ones (ops nothing reads are left out, except
those that check values and may raise), with a sum and the reshape after it fused into one
sum; and which arrays it deletes before it returns. Each changes how the replay runs, never
what it computes."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import ops
from .trace import Ref, Step, Trace, all_refs

SMALL = 4096  # bytes: smaller arrays are not deleted one by one (they go at return)...
# ...unless the program is long (a loop the recording unrolled): its thousands of small arrays,
# kept to the end, would defeat NumPy's cache of small blocks. Deleting them took a compiled
# epoch of d2l (300 steps, 7,500 lines) from 1.39x to 1.24x hand-written NumPy.
LONG = 500  # steps


def planned(trace: Trace) -> list[Step]:
    """The steps the replay runs, in order: the live ones, with sums fused."""
    live, uses = _live_steps(trace)
    returned = {r.vid for r in all_refs(trace.output)}
    steps: list[Step] = []
    for step in live:  # a sum and its reshape are next to each other, as the rule made them
        before = steps[-1] if steps else None
        if before is not None and _sum_then_reshape(trace, before, step, uses, returned):
            # one sum without keepdims: the same reduction, so the same values
            steps[-1] = Step("op", ops.Sum, (before.args[0], before.args[1], False),
                             step.outputs, before.line)  # fmt: skip
        else:
            steps.append(step)
    return steps


def _live_steps(trace: Trace) -> tuple[list[Step], dict[int, int]]:
    """All steps but the ops whose outputs nothing reads later (a loss the step neither
    returns nor reads): leaving those out changes no value anybody can see. Kept are the
    other kinds of step, which change state (in-place updates, .grad, random draws), and
    the ops that check values and may raise (a label out of range, an index). Also
    returned: how many live steps read each value."""
    wanted = {r.vid for r in all_refs(trace.output)}
    uses: dict[int, int] = {}
    live: list[Step] = []
    for step in reversed(trace.steps):
        if step.kind != "op" or _checks_values(step) or wanted.intersection(step.outputs):
            live.append(step)
            for ref in all_refs(step.args):
                wanted.add(ref.vid)
                uses[ref.vid] = uses.get(ref.vid, 0) + 1
    live.reverse()
    return live, uses


def _sum_then_reshape(
    trace: Trace, before: Step, step: Step, uses: dict[int, int], returned: set[int]
) -> bool:
    """Is `step` a reshape dropping the kept axes of the sum `before`, its only reader?"""
    if step.what is not ops.Reshape or before.what is not ops.Sum or not before.args[2]:
        return False
    kept = before.outputs[0]
    return (
        step.args[0] == Ref(kept) and uses[kept] == 1 and kept not in returned
        and tuple(step.args[1]) == _dropped(trace.arrays[kept], before.args[1])
    )  # fmt: skip


def _checks_values(step: Step) -> bool:
    """Does the op raise for some values of its inputs? The checks of class labels and of
    probabilities, and indexing by a tensor of indices (an index out of range); other ops
    only warn."""
    indexed_by_values = step.what in _INDEXING and bool(all_refs(step.args[1]))
    return step.what in (ops.ClassIndexMask, ops.ProbabilityCheck) or indexed_by_values


_INDEXING = (ops.GetItem, ops.IndexPut, ops.IndexAdd)  # their second argument is the index


def _dropped(kept: np.ndarray, axes: Any) -> tuple[int, ...]:
    """The shape of `kept` (a sum with keepdims over `axes`) without the kept axes."""
    if axes is None:
        return ()
    axes = {a % kept.ndim for a in (axes if isinstance(axes, tuple) else (axes,))}
    return tuple(n for k, n in enumerate(kept.shape) if k not in axes)


def memory(trace: Trace) -> tuple[dict[int, int], dict[int, int], set[int]]:
    """Which values share memory (views: value -> the value whose memory it views, and the
    one whose version counter it shares), and which memory is written or handed out (a
    constant there is copied at every call instead of being shared between calls)."""
    roots: dict[int, int] = {}
    counted_with: dict[int, int] = {}
    for step in trace.steps:
        if step.kind == "op" and step.what in _VIEWS:
            source = step.args[0].vid
            roots[step.outputs[0]] = roots.get(source, source)
            if not (step.what is ops.GetItem and _indexes_by_tensor(step.args[1])):
                counted_with[step.outputs[0]] = counted_with.get(source, source)
    written = [s.args[0].vid for s in trace.steps if s.kind == "inplace"]
    written += [s.args[1].vid for s in trace.steps if s.kind == "grad" and s.args[1]]
    written += [r.vid for r in all_refs(trace.output)]
    return roots, counted_with, {roots.get(v, v) for v in written}


_VIEWS = (ops.Reshape, ops.Permute, ops.Expand, ops.GetItem)  # may share the input's memory


def _indexes_by_tensor(index: Any) -> bool:
    """Is a tensor one of the index's parts? Then GetItem copies (see ops.shape.GetItem)."""
    return any(isinstance(part, Ref) for part in (index if isinstance(index, tuple) else (index,)))
