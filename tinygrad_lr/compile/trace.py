"""Recording one eager call of a step: every op, in-place change, `.grad` assignment, random
draw and live Python value, in the order they happened, on numbered values.

A value is one NumPy array. Tensors are only wrappers (`x.detach()` wraps the same array), so
values are keyed by the array. A value that no recorded step made comes from outside the step:
an argument, the `.grad` of a tensor, or an outside tensor (a parameter, data, optimiser
state). Whether an outside array is state read by reference or a constant made inside the step
is decided by comparing two recorded calls (see `same_trace`).
"""

from __future__ import annotations

import functools
import sys
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .. import creation
from ..autograd.function import _OnceDifferentiable
from ..autograd.grad_mode import _state
from ..ops import BuiltinOp, Clone, GetItem, IndexPut
from ..tensor import Tensor
from .bytecode import PACKAGE


class Unsupported(RuntimeError):  # noqa: N818  (torch._dynamo spells it so)
    """The step does something a trace cannot replay faithfully."""


@dataclass(frozen=True)
class Ref:
    """A reference to value number `vid` inside a step's arguments."""

    vid: int


def all_refs(value: Any) -> list[Ref]:
    """The Refs inside a step's arguments or a returned structure."""
    if isinstance(value, Ref):
        return [value]
    if isinstance(value, (tuple, list)):
        return [r for v in value for r in all_refs(v)]
    if isinstance(value, dict):
        return [r for v in value.values() for r in all_refs(v)]
    return []


@dataclass(frozen=True)
class Rewrapped(Ref):
    """A returned tensor around an array that is not the tensor of it known already: not an
    outside value's (`w.detach()`, `w.data`), nor one returned before (`l, l.detach()`). The
    replay returns a new tensor around the array, one for each `copy` (`d = w.detach();
    return d, d` is one tensor twice)."""

    copy: int = 0


@dataclass
class Step:
    """One thing that happened: kind "op" (an op class), "inplace" (name: add_, copy_...),
    "grad" (owner's .grad set to a value or None; "made": of a leaf made in the step),
    "random" (generator method), "live" (a Python number read), "call" (of the library's, on
    Python state: `model.train()`); and "zeros", made by plan.py: an add left out."""

    kind: str
    what: Any  # op class, in-place name, generator method or read function
    args: tuple[Any, ...]  # Refs and literals
    outputs: tuple[int, ...] = ()
    line: str = ""


@dataclass
class Trace:
    steps: list[Step] = field(default_factory=list)
    arrays: list[np.ndarray] = field(default_factory=list)  # value number -> array
    sources: dict[int, tuple[Any, ...]] = field(default_factory=dict)  # outside values
    snapshots: dict[int, np.ndarray] = field(default_factory=dict)  # outside values' content
    array_sources: dict[int, np.ndarray] = field(default_factory=dict)  # tl.tensor(array)
    conversions: dict[int, functools.partial[Any]] = field(default_factory=dict)  # and how
    wrappers: dict[int, Tensor] = field(default_factory=dict)  # a tensor around each value
    grad_was_none: dict[int, bool] = field(default_factory=dict)  # owner -> guard
    grads_shared: list[tuple[int, int]] = field(default_factory=list)  # owners of one .grad
    flag_changed: set[int] = field(default_factory=set)  # requires_grad_ on first meeting
    guards: list[tuple[Callable[[], Any], Any]] = field(default_factory=list)
    python_values: list[Any] = field(default_factory=list)  # PythonValues, before the call
    output: Any = None  # the structure returned, with Refs for tensors
    graphed: set[Ref] = field(default_factory=set)  # returned tensors that had a graph
    problem: str | None = None


def user_line() -> str:
    """`file:line  source` of the innermost frame outside tinygrad_lr."""
    frame = sys._getframe(1)
    while frame is not None and frame.f_globals.get("__name__", "").startswith(PACKAGE):
        frame = frame.f_back  # type: ignore[assignment]
    if frame is None:
        return ""
    import linecache

    text = linecache.getline(frame.f_code.co_filename, frame.f_lineno).strip()
    name = frame.f_code.co_filename.rsplit("/", 1)[-1]
    return f"{name}:{frame.f_lineno}  {text}"


class Recorder:
    """The op observer that builds a Trace (see `observe_ops`)."""

    def __init__(self, args: tuple[Any, ...]) -> None:
        self.trace = Trace()
        self._ids: dict[int, int] = {}  # id(array) -> value number
        self._args = [a for a in args if isinstance(a, Tensor)]
        self._leaves: list[Tensor] = []
        self._leaf_vids: list[int] = []  # the value of each (its array when first met)
        self._leaf_grads: list[np.ndarray | None] = []  # the array of its .grad then
        self._made_leaves: list[Tensor] = []  # x.detach().requires_grad_(): see on_requires_grad
        self._nodes: list[Any] = []  # the recorded nodes, checked for hooks at the end
        self._last_op: tuple[Any, int] = (None, 0)  # node of the last op, values before it
        self._returned: dict[int, list[Tensor]] = {}  # value -> the tensors returned around it
        self._errors = _error_handling()  # as the call began
        for position, tensor in enumerate(self._args):
            self._outside(tensor, ("arg", position))

    # --- values -------------------------------------------------------------------------

    def _new(self, array: np.ndarray, tensor: Tensor | None) -> int:
        vid = len(self.trace.arrays)
        self.trace.arrays.append(array)  # kept alive: its id is not reused during the trace
        self._ids[id(array)] = vid
        if tensor is not None:
            self.trace.wrappers[vid] = tensor
        return vid

    def _outside(self, tensor: Tensor, source: tuple[Any, ...]) -> int:
        vid = self._new(tensor._data, tensor)
        self.trace.sources[vid] = source
        if source == ("outside",):  # a constant, if both calls find it the same (an argument
            self.trace.snapshots[vid] = np.array(tensor._data, copy=True)  # is read anew)
        if tensor.is_leaf and tensor.requires_grad:
            self._watch_grad(tensor, vid)
        return vid

    def _watch_grad(self, tensor: Tensor, vid: int) -> None:
        """The program reads `tensor.grad` at every call and checks that it has one, or none,
        as now (see `grad_was_none`), and one without a graph, which backward adds to."""
        grad = tensor._grad
        if grad is not None:  # another leaf's .grad array when met (`w2.grad = w.grad`): one
            self.trace.grads_shared += [(w, vid) for a, w in zip(self._leaf_grads, self._leaf_vids)
                                        if a is grad._data]  # fmt: skip
        self._leaves.append(tensor)
        self._leaf_vids.append(vid)
        self._leaf_grads.append(None if grad is None else grad._data)
        self.trace.grad_was_none[vid] = grad is None
        if grad is not None and grad.requires_grad:
            self.fail("a .grad has a graph (backward with create_graph=True before the call)")

    def value(self, tensor: Tensor) -> int:
        """The number of the value `tensor` holds, registering an outside value on first use."""
        vid = self._ids.get(id(tensor._data))
        if vid is not None:
            if self._is_new_parameter(tensor, vid):  # first met through w.data, now as w
                self.trace.wrappers[vid] = tensor  # the tensor read at every call
                self._watch_grad(tensor, vid)
            return vid
        for owner, grad in zip(self._leaves, self._leaf_grads):  # its .grad when first met,
            if grad is tensor._data:  # which the code reads at the start of every call
                return self._outside(tensor, ("grad", self.value(owner)))
        return self._outside(tensor, ("outside",))

    def _is_new_parameter(self, tensor: Tensor, vid: int) -> bool:
        """Is `tensor` a leaf that requires grad, met for the first time, whose array an
        outside value already has (through a tensor sharing it, such as `w.data`)?"""
        return (
            tensor.is_leaf and tensor.requires_grad
            and self.trace.sources.get(vid) == ("outside",)
            and not any(leaf is tensor for leaf in self._leaves + self._made_leaves)
        )  # fmt: skip

    def encode(self, arg: Any) -> Any:
        """An op's argument with tensors (also inside index tuples) replaced by Refs."""
        if isinstance(arg, Tensor):
            return Ref(self.value(arg))
        if isinstance(arg, np.ndarray):
            return Ref(self.value(Tensor._make(arg)))
        if isinstance(arg, tuple):
            return tuple(self.encode(a) for a in arg)
        if isinstance(arg, list):
            return [self.encode(a) for a in arg]
        return arg

    def fail(self, message: str) -> None:
        if self.trace.problem is None:
            self.trace.problem = f"{message} (at {user_line() or 'an unknown line'})"

    def _error_handling_changed(self) -> bool:
        """Has the step changed what NumPy does on a floating-point error (`np.errstate`,
        warnings made errors)? The replay's lines would run under the caller's handling."""
        if _error_handling() == self._errors:
            return False
        self.fail("the step changes what NumPy does on floating-point errors (np.errstate)")
        return True

    # --- what the engine reports ----------------------------------------------------------

    def on_apply(
        self, op: type, args: tuple[Any, ...], outputs: tuple[Tensor, ...], node: Any, depth: int
    ) -> None:
        if self.trace.problem is not None:
            return
        if self._error_handling_changed():
            return
        if node is not None:
            self._nodes.append(node)
        self._last_op = (node, len(self.trace.arrays))
        if op is _OnceDifferentiable:  # passes its first argument through
            return
        if not issubclass(op, BuiltinOp):
            # A user's Function is replayed through the built-in ops its forward called.
            if any(id(out._data) not in self._ids for out in outputs):
                self.fail(f"the forward of {op.__name__} computes outside Tensor operations")
            return
        if op is GetItem and _has_mask(args[1]):
            self.fail("boolean-mask indexing gives a shape that depends on the values")
            return
        encoded = tuple(self.encode(a) for a in args)
        vids = []
        for out in outputs:
            known = self._ids.get(id(out._data))
            vids.append(known if known is not None else self._new(out._data, None))
        self.trace.steps.append(Step("op", op, encoded, tuple(vids), user_line()))

    def on_in_place(self, tensor: Tensor, name: str, value: Any, index: Any = None) -> None:
        if self.trace.problem is not None or self._error_handling_changed():
            return
        if name == "grad":
            if any(leaf is tensor for leaf in self._made_leaves):  # seen inside the step only
                grad = None if value is None else Ref(self.value(value))
                refs = (Ref(self.value(tensor)), grad)
                self.trace.steps.append(Step("grad", "made", refs, (), user_line()))
                return
            # First seen here: its .grad before the assignment decides nothing, so no guard.
            first_seen = not any(leaf is tensor for leaf in self._leaves)
            owner = self.value(tensor)
            if first_seen:
                self.trace.grad_was_none.pop(owner, None)
            if self.trace.sources.get(owner, ("",))[0] not in ("arg", "outside"):
                self.fail("a .grad is set on a tensor computed inside the step (retain_grad?)")
                return
            grad = None if value is None else Ref(self.value(value))
            self.trace.steps.append(Step("grad", "grad", (Ref(owner), grad), (), user_line()))
            return
        recorded = _state.grad_enabled and (
            tensor.requires_grad or (isinstance(value, Tensor) and value.requires_grad)
        )
        if recorded:
            if not (name == "setitem" and self._rebased(tensor)):
                self.fail(f"{name} changes a tensor of the graph in place")
        else:  # (with the index of `x[index] = v`: under no_grad, in a Function's backward)
            args: tuple[Any, ...] = (Ref(self.value(tensor)), self.encode(value))
            args += (self.encode(index),) if name == "setitem" else ()
            self.trace.steps.append(Step("inplace", name, args, (), user_line()))

    def _rebased(self, tensor: Tensor) -> bool:
        """`y[i] = v` on a tensor of the graph: the engine ran IndexPut on a copy of y's old
        values and wrote the result into y, which it rebased on that node. The copy was made
        outside the ops; it becomes a Clone of y's value, and the write a copy_ into it."""
        node, first_new = self._last_op
        step = self.trace.steps[-1] if self.trace.steps else None
        vid = self._ids.get(id(tensor._data))
        if step is None or step.what is not IndexPut or node is None or vid is None:
            return False
        copy = step.args[0]
        if tensor.grad_fn is not node or not isinstance(copy, Ref) or copy.vid < first_new:
            return False  # the copy is the op's first input, new at this op
        for table in (self.trace.sources, self.trace.snapshots, self.trace.wrappers):
            table.pop(copy.vid, None)
        clone = Step("op", Clone, (Ref(vid),), (copy.vid,), step.line)
        write = Step("inplace", "copy_", (Ref(vid), Ref(step.outputs[0])), (), step.line)
        self.trace.steps[-1:] = [clone, step, write]
        return True

    def on_read(self, tensor: Tensor, how: str) -> None:
        self.fail(f"{how} reads a tensor's values into Python")

    def on_random(
        self, tensor: Tensor, method: str, args: tuple[Any, ...], rng: np.random.Generator
    ) -> None:
        if rng is not creation.default_generator():
            self.fail("a random draw from a Generator other than the default one")
        elif self.trace.problem is None:
            vid = self._new(tensor._data, None)
            self.trace.steps.append(Step("random", method, args, (vid,), user_line()))

    def on_live_value(self, tensor: Tensor, read: Callable[[], Any]) -> None:
        if self.trace.problem is None:
            vid = self._new(tensor._data, None)
            self.trace.steps.append(Step("live", read, (tensor.dtype,), (vid,), user_line()))

    def on_from_array(
        self, tensor: Tensor, array: np.ndarray, convert: functools.partial[Any]
    ) -> None:
        """A tensor made inside the step from a NumPy array, as `convert(array)`: a replay
        must convert that array again at every call (see codegen.outside_kinds)."""
        if self.trace.problem is None:
            vid = self.value(tensor)
            if self.trace.sources.get(vid) == ("outside",):
                self.trace.array_sources[vid] = array
                self.trace.conversions[vid] = convert

    def on_call(self, call: Callable[..., Any], args: tuple[Any, ...]) -> None:
        if self.trace.problem is None:
            self.trace.steps.append(Step("call", call, args, (), user_line()))

    def on_guard(self, read: Callable[[], Any], value: Any) -> None:
        self.trace.guards.append((read, value))

    def on_grad_read(self, tensor: Tensor) -> None:
        """The step reads `tensor.grad` (an optimiser skipping a parameter without one, `if
        p.grad is None`, a norm of the gradients), also of an outside tensor that does not
        require grad (a frozen parameter keeps its .grad, which an optimiser still reads)."""
        if self.trace.problem is None:
            vid = self.value(tensor)
            outside = self.trace.sources.get(vid, ("",))[0] in ("arg", "outside")
            if outside and not any(t is tensor for t in self._leaves):
                self._watch_grad(tensor, vid)

    def on_requires_grad(self, tensor: Tensor) -> None:
        """`requires_grad_` changed a tensor's flag. A replay has no need of it for a tensor
        the step made (`tl.zeros(3)`; `x.detach()` or `(x * 2)`, a new leaf around the array of
        a value known already, whose `.grad` only the step sees), and would not change one from
        outside: a program is made only from a record without such a change (see Program)."""
        vid = self._ids.get(id(tensor._data))
        if vid is not None and self.trace.wrappers.get(vid) is not tensor:
            self._made_leaves.append(tensor)
        else:
            self.trace.flag_changed.add(self.value(tensor))

    def on_untraced(self, what: str) -> None:
        self.fail(f"{what} changes Python state, which the replay would not change")

    # --- after the call ------------------------------------------------------------------

    def finish(self, result: Any) -> Trace:
        """Encode what the step returned, and refuse graph features the replay has not got."""
        if self.trace.problem is None:
            self.trace.output = self._output(result)
        for tensor in self._leaves + self._made_leaves:
            accumulator = tensor._accumulator() if tensor._accumulator is not None else None
            if tensor._hooks or (accumulator is not None and _has_hooks(accumulator)):
                self.fail("a hook is registered on a parameter (hooks are not replayed)")
        if any(_has_hooks(node) for node in self._nodes):
            self.fail("a hook (or retain_grad) is registered on the graph")
        self._nodes = []
        return self.trace

    def _output(self, result: Any) -> Any:
        if isinstance(result, Tensor):
            if any(leaf is result for leaf in self._made_leaves):
                self.fail("the step returns a leaf it made: the replay would not give it its .grad")
            vid = self.value(result)
            outside = vid in self.trace.sources
            if outside and self.trace.wrappers.get(vid) is result:  # `return w`: w itself,
                return Ref(vid)  # `return w.detach()`: another tensor
            returned = self._returned.setdefault(vid, [] if outside else [result])
            if not any(tensor is result for tensor in returned):  # `return l, l.detach()`: two
                returned.append(result)
            copy = next(k for k, tensor in enumerate(returned) if tensor is result)
            ref = Rewrapped(vid, copy) if outside or copy else Ref(vid)
            if result.grad_fn is not None:  # (a replay's result has a graph that ends there)
                self.trace.graphed.add(ref)
            return ref
        if type(result) in (tuple, list):
            return type(result)(self._output(r) for r in result)
        if isinstance(result, tuple) and hasattr(result, "_fields"):  # a namedtuple
            return type(result)(*(self._output(r) for r in result))
        if type(result) is dict:
            return {k: self._output(v) for k, v in result.items()}
        if result is None or isinstance(result, (str, int, float, bool)):
            return result
        self.fail(f"the step returns a {type(result).__name__}")
        return None


def _has_hooks(node: Any) -> bool:
    """A node with hooks or retain_grad runs Python code in backward, which is not replayed."""
    return bool(node._tensor_pre_hooks or node._pre_hooks or node._post_hooks or node._retained)


def _has_mask(index: Any) -> bool:
    parts = index if isinstance(index, tuple) else (index,)
    return any(isinstance(p, Tensor) and p.dtype == np.bool_ for p in parts)


def _error_handling() -> tuple[Any, ...]:
    """What NumPy does on a floating-point error: its settings, and Python's warning filters
    (a RuntimeWarning made an error raises; `catch_warnings` puts in a new list)."""
    return np.geterr(), id(warnings.filters), len(warnings.filters)
