"""Which recorded steps a replay runs: the live ones (ops nothing reads are left out, except
those that check values and may raise), with a sum and the reshape after it fused into one
sum, and without the adds into a `.grad` that holds zeros (a fast path, below); and which
arrays it deletes before it returns. Each changes how the replay runs, not what it computes
(but for the sign of a zero: the fast path may give -0.0 where eager gives +0.0)."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from .. import ops
from .trace import Ref, Step, Trace, all_refs

SMALL = 4096  # bytes: smaller arrays are not deleted one by one (they go at return)...
# ...unless the program is long (a loop the recording unrolled): its thousands of small arrays,
# kept to the end, would defeat NumPy's cache of small blocks. Deleting them took a compiled
# epoch of d2l (300 steps, 7,500 lines) from 1.39x to 1.24x hand-written NumPy.
LONG = 500  # steps


def planned(trace: Trace, separate: frozenset[int] = frozenset()) -> tuple[list[Step], LeftOut]:
    """The steps the replay runs, in order: the live ones, with sums fused; and with adds into
    the `.grad`s `separate` (which share memory with no other outside array) left out where
    they hold zeros. Also returned: what was left out."""
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
    if not SKIP_ADDS_TO_ZEROS or not separate:
        return steps, LeftOut()
    return _without_adds_to_zeros(trace, steps, separate)


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


# --- fast path: adding into a .grad that holds zeros ---------------------------------------
# A training loop zeroes each .grad after its update, and the next backward adds into it:
# `g.fill(0)`, then `g += t`, then `lr * g`. While g holds zeros, `g += t` gives t, and the
# fill after the update changes nothing, so both are left out and the reads of g read t. In a
# compiled epoch of d2l (300 steps) this takes the time per step from 1.16x to 0.96x
# hand-written NumPy, timed in one process (benchmarks/RESULTS.md). The values are the same,
# but for the sign of a zero: where t holds -0.0, eager's g holds 0.0 + -0.0 = +0.0, and what
# depends on that sign differs too (1 / g is -inf where eager's is +inf).
# - Only a zero written by the program counts: a .grad's values when a call starts are not
#   known, so a program of one step keeps its adds.
# - t must be an array the step made (a gradient backward computed: no outside array, which
#   another tensor could write), with g's shape, dtype and layout, so that the reads of t
#   compute what the reads of g would; the code keeps it an array of its own (`_identity`).
# - Between the add and the fill, no step may tell g from t: none reads a view of g, writes
#   g or t, sets a .grad, or may raise (an error leaves g as eager leaves it). Else the add
#   is made where it was.
# - Before each call the program checks that no other outside array shares memory with g,
#   that the outside arrays have their layouts (which decide t's), and that NumPy is not set
#   to raise on floating-point errors (guards.grads_apart).

SKIP_ADDS_TO_ZEROS = True  # False: every add is made, and replays agree with eager to the bit


@dataclasses.dataclass
class LeftOut:
    """What the fast path left out: the `.grad`s it left adds into or fills of, and the
    values read in place of a `.grad` (which must stay arrays of their own)."""

    grads: set[int] = dataclasses.field(default_factory=set)
    read_instead: set[int] = dataclasses.field(default_factory=set)


def _without_adds_to_zeros(
    trace: Trace, steps: list[Step], separate: frozenset[int]
) -> tuple[list[Step], LeftOut]:
    """`steps` without the adds into a `.grad` of `separate` that holds zeros, nor the fills
    after them; a step "zeros" notes each add left out, where it was."""
    roots, _, _ = memory(trace)
    zeros: set[int] = set()  # .grads that hold zeros at this point
    adding: dict[int, int] = {}  # g -> the position of an add into its zeros, not yet left out
    left_out: dict[int, int] = {}  # the position of an add or fill left out -> its .grad
    reads: dict[int, dict[int, Ref]] = {}  # position -> {g: the value read in place of g}
    for position, step in enumerate(steps):
        target = step.args[0].vid if step.kind == "inplace" else None
        fills_grad = step.what == "zero_" and target in separate
        for g in list(adding):  # a step that would tell: the add is made where it was
            if not (fills_grad and g == target) and _tells(
                trace, roots, step, g, steps[adding[g]].args[1].vid
            ):
                zeros.discard(g)
                del adding[g]
        if fills_grad and target is not None:
            if target in adding:  # still zeros: the add and this fill change nothing
                add_position = adding.pop(target)
                left_out[add_position] = left_out[position] = target
                for k in range(add_position + 1, position):
                    reads.setdefault(k, {})[target] = steps[add_position].args[1]
            elif target in zeros:  # a second fill
                left_out[position] = target
            zeros.add(target)
        elif step.what == "add_" and target in zeros and target not in adding:
            if _adds_a_copy(trace, roots, target, step.args[1]):
                adding[target] = position
            else:
                zeros.discard(target)
        elif target is not None:
            zeros.discard(roots.get(target, target))
    out, done = [], LeftOut(set(left_out.values()))
    for position, step in enumerate(steps):
        if position in left_out:
            if step.what == "add_":
                out.append(Step("zeros", None, step.args[:1], (), step.line))
                done.read_instead.add(step.args[1].vid)
            continue
        read = reads.get(position)
        out.append(dataclasses.replace(step, args=_substituted(step.args, read)) if read else step)
    return out, done


def _adds_a_copy(trace: Trace, roots: dict[int, int], g: int, value: Any) -> bool:
    """Is `g += value`, while g holds zeros, a copy of value: a value made in the step (not
    an outside array or a view of one, which other tensors may write), with g's shape, dtype
    and strides (a sum over it adds in the same order)?"""
    if not isinstance(value, Ref) or roots.get(value.vid, value.vid) in trace.sources:
        return False
    a, b = trace.arrays[g], trace.arrays[value.vid]
    return (a.shape, a.dtype, a.strides) == (b.shape, b.dtype, b.strides)


def _tells(trace: Trace, roots: dict[int, int], step: Step, g: int, t: int) -> bool:
    """Would `step` see that g holds zeros and not t? It reads a view of g, or g other than
    as the operand of an op that makes a new array; it writes g or t; it sets a .grad; or it
    may raise (a replay stopped by an error leaves g as eager does)."""
    refs = all_refs(step.args)
    if step.kind == "grad" or _may_raise(trace, step):
        return True
    if any(r.vid != g and roots.get(r.vid, r.vid) == g for r in refs):
        return True
    if step.kind == "inplace":
        target = roots.get(step.args[0].vid, step.args[0].vid)
        return target in (g, t, roots.get(t, t))
    if not any(r.vid == g for r in refs):
        return False
    return step.kind != "op" or any(  # (a view of g)
        np.may_share_memory(trace.arrays[o], trace.arrays[g]) for o in step.outputs
    )


def _may_raise(trace: Trace, step: Step) -> bool:
    """Can the step raise for some values of its arrays? The ops that check values, and any
    op or change on integers or booleans (an index out of range, a negative power of an
    integer); floating-point ones do not, unless NumPy is set to raise, which the check
    before each call rules out."""
    if step.kind == "op" and _checks_values(step):
        return True
    arrays = [trace.arrays[r.vid] for r in all_refs(step.args)]
    arrays += [trace.arrays[vid] for vid in step.outputs]
    return step.kind in ("op", "inplace") and any(a.dtype.kind not in "fc" for a in arrays)


def _substituted(args: Any, reads: dict[int, Ref]) -> Any:
    """A step's arguments with the Refs of `reads`' keys replaced by their values."""
    if isinstance(args, Ref):
        return reads.get(args.vid, args)
    if isinstance(args, (tuple, list)):
        return type(args)(_substituted(a, reads) for a in args)
    if isinstance(args, dict):
        return {key: _substituted(a, reads) for key, a in args.items()}
    return args
