"""From two recorded calls of a step to Python source: one NumPy line per recorded op.

Each built-in op becomes the NumPy expression its forward computes, on the same arrays in the
same order, so the replay agrees with eager to the last bit. An op without a line of its own
here calls the op's forward itself (`_forward(...)`): the same NumPy code, less readable.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .. import creation, ops
from ..autograd import graph
from ..ops.shape import set_item_array
from ..tensor import Tensor
from .same import shown
from .trace import Ref, Step, Trace, all_refs

Source = Callable[..., str]  # an argument -> its Python source


class Mismatch(Exception):  # noqa: N818  (a reason, not an error)
    """Two recorded calls differ: the step is not the same from call to call."""


class Unfaithful(Mismatch):
    """Two recorded calls agree, but a replay could not do what eager does: run eagerly."""


# --- comparing two calls ------------------------------------------------------------------


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return (
            isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.dtype == b.dtype
            and a.shape == b.shape and bool(np.array_equal(a, b, equal_nan=a.dtype.kind == "f"))
        )  # fmt: skip
    if isinstance(a, (tuple, list)):
        return type(a) is type(b) and len(a) == len(b) and all(map(_same, a, b))
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if callable(a) and not isinstance(a, type):  # live values' read functions: the same code
        if isinstance(a, functools.partial):
            return isinstance(b, functools.partial) and a.func is b.func
        code = getattr(a, "__code__", None)
        return a is b or (code is not None and code is getattr(b, "__code__", None))
    return type(a) is type(b) and (a is b or bool(a == b))


def outside_kinds(old: Trace, new: Trace) -> dict[int, tuple[Any, ...]]:
    """How each outside value of `new` is reached at every call: ("arg", i), ("grad", owner),
    ("ref", tensor) for state kept between calls, or ("const", array) for a value made inside
    the step that came out the same both times. Raises Mismatch for anything else."""
    if old.sources.keys() != new.sources.keys():
        raise Mismatch("the step reads different tensors from call to call")
    kinds: dict[int, tuple[Any, ...]] = {}
    for vid, source in new.sources.items():
        if source[0] != "outside":
            if old.sources[vid] != source:
                raise Mismatch("the step reads different tensors from call to call")
            kinds[vid] = source
        elif _same_array_source(vid, old, new) and new.arrays[vid] is not new.array_sources[vid]:
            # tl.tensor(array): converted again at every call, as the call converted it
            kinds[vid] = ("copy", new.array_sources[vid], new.conversions[vid])
        elif _is_number(new.arrays[vid]) and _same(old.snapshots[vid], new.snapshots[vid]):
            kinds[vid] = ("const", new.snapshots[vid])
        elif old.wrappers.get(vid) is new.wrappers.get(vid):
            kinds[vid] = ("ref", new.wrappers[vid])
        elif old.arrays[vid] is new.arrays[vid]:  # new wrappers of the same array (p.data)
            kinds[vid] = ("ref", Tensor._make(new.arrays[vid]))
            counter = new.wrappers[vid]._version_counter
            if old.wrappers[vid]._version_counter is counter:  # what the wrappers count with
                kinds[vid][1]._version_counter = counter
        elif _views_of_the_same_memory(vid, old, new):
            array = new.array_sources.get(vid, new.arrays[vid])
            step = next((s for s in new.steps if Ref(vid) in all_refs(s.args)), None)
            where = f"; first used at {step.line}" if step is not None else ""
            raise Unfaithful(
                f"a tensor is made from a view of a NumPy array (such as X[0:4]), a new view "
                f"at every call ({array.dtype}, shape {array.shape}{where}): a replay would "
                "keep the first one's values; make the tensor outside the step and pass it in"
            )
        elif vid in new.array_sources and _named_arrays(new):
            raise Unfaithful(_computed_with_numpy(vid, new))
        elif _same(old.snapshots[vid], new.snapshots[vid]):
            kinds[vid] = ("const", new.snapshots[vid])
        else:
            step = next((s for s in new.steps if Ref(vid) in all_refs(s.args)), None)
            where = f" (at {step.line})" if step is not None else ""
            raise Mismatch(f"a tensor made outside Tensor operations changes between calls{where}")
    return kinds


def _same_array_source(vid: int, old: Trace, new: Trace) -> bool:
    """Was value `vid` made from the same NumPy array of numbers at both calls (a global X,
    whose values a replay reads again)?"""
    array = new.array_sources.get(vid)
    if array is None or old.array_sources.get(vid) is not array or array.dtype.kind not in "fiub":
        return False
    before, now = old.conversions[vid], new.conversions[vid]  # tl.tensor's, as_tensor's...
    return before.func is now.func and before.keywords == now.keywords


def _views_of_the_same_memory(vid: int, old: Trace, new: Trace) -> bool:
    """Was value `vid` made from (or is it) two different arrays that view the same memory,
    such as `X[0:4]`? Its values then depend on that memory, which a replay cannot read
    again. Two arrays that own their memory are a constant made in the step (`np.eye(3)`)."""
    before = old.array_sources.get(vid, old.arrays[vid])
    now = new.array_sources.get(vid, new.arrays[vid])
    return before is not now and _memory(before) is _memory(now)


def _named_arrays(trace: Trace) -> list[str]:
    """The names of the NumPy arrays the step reads as Python values (X, data.X)."""
    return [v.name for v in trace.python_values if isinstance(v.value, np.ndarray)]


def _computed_with_numpy(vid: int, trace: Trace) -> str:
    """Why value `vid`, made from an array the step computed (`tl.tensor(X * 2)`), cannot be
    a constant of the code: NumPy code is not recorded, and the arrays it may have been
    computed from can change in place between calls."""
    array = trace.array_sources[vid]
    step = next((s for s in trace.steps if Ref(vid) in all_refs(s.args)), None)
    where = f"; first used at {step.line}" if step is not None else ""
    names = _named_arrays(trace)
    arrays = f"the NumPy array{'s' if len(names) > 1 else ''} {', '.join(names)}"
    return (
        f"a tensor is made from an array that the step computes with NumPy ({array.dtype}, "
        f"shape {array.shape}{where}), and the step reads {arrays}: a replay would keep this "
        "call's values, as NumPy code is not recorded; compute it with tensor ops "
        "(tl.from_numpy(X) * 2) or make it outside the step"
    )


def _memory(array: np.ndarray) -> np.ndarray:
    while isinstance(array.base, np.ndarray):
        array = array.base
    return array


def _is_number(array: np.ndarray) -> bool:
    """A Python number of the step made a tensor once and shared by the engine (`2` in
    `x ** 2 / 2`, a learning rate): a 0-d array that owns its memory and is read-only, so
    it cannot change; a constant of the code rather than state read at every call."""
    return array.ndim == 0 and array.base is None and not array.flags.writeable


def compare(old: Trace, new: Trace) -> None:
    """Raise Mismatch unless both calls ran the same steps on the same kinds of values."""
    if len(old.steps) != len(new.steps):
        raise Mismatch(f"the step ran {len(old.steps)} operations, then {len(new.steps)}")
    for a, b in zip(old.steps, new.steps):
        if a.kind != b.kind or not _same(a.what, b.what) or not _same(a.args, b.args):
            raise Mismatch(f"the operations differ from call to call (at {b.line})")
        if a.outputs != b.outputs:
            raise Mismatch(f"the operations differ from call to call (at {b.line})")
    if not _same(old.output, new.output):
        raise Mismatch("the step returns something different from call to call")
    if old.grad_was_none != new.grad_was_none or len(old.guards) != len(new.guards):
        raise Mismatch("which tensors have a .grad differs from call to call")
    if old.grads_shared != new.grads_shared:
        raise Mismatch("which tensors share a .grad differs from call to call")
    for before, now in zip(old.python_values, new.python_values):
        # a small NumPy array changed in place between the calls, which the code reads itself
        read = before.content is not None and now.value is before.value
        read = read and any(now.value is a for a in (*new.arrays, *new.array_sources.values()))
        if before.name != now.name or not (before.same(now.value) or read):
            raise Mismatch(
                f"the Python value {now.name} changes from call to call ({shown(before.value)}, "
                f"then {shown(now.value)}; pass it to the step as a tensor, which is read at "
                "every call)"
            )
    if len(old.python_values) != len(new.python_values):
        raise Mismatch("the step reads other Python values from call to call")


# --- the NumPy line of each op ----------------------------------------------------------------

_BINARY = {ops.Add: "+", ops.Sub: "-", ops.Mul: "*", ops.Div: "/", ops.Pow: "**",
           ops.MatMul: "@"}  # fmt: skip
_UNARY = {ops.Exp: "np.exp", ops.Log: "np.log", ops.Sqrt: "np.sqrt", ops.Sin: "np.sin",
          ops.Cos: "np.cos", ops.Abs: "np.abs", ops.Tanh: "np.tanh",
          ops.Maximum: "np.maximum", ops.Minimum: "np.minimum", ops.Where: "np.where"}  # fmt: skip
# `a += b` is np.add(a, b, out=a) (same_kind casting, a written in place), with less to read
# and less for Python to parse at every call; the targets are local names (Program.mutable)
_IN_PLACE = {"add_": "{0} += {1}", "sub_": "{0} -= {1}", "mul_": "{0} *= {1}",
             "div_": "{0} /= {1}", "copy_": "np.copyto({0}, {1})", "fill_": "{0}.fill({1})",
             "zero_": "{0}.fill({1})"}  # fmt: skip


def op_lines(
    step: Step, src: Source, out: list[str], ndim: int = 1, fresh: Callable[[str], str] = str
) -> list[str]:
    """The lines computing `step`'s outputs (named `out`) from its arguments (`src(arg)`);
    `ndim` is that of the first argument, `fresh(name)` gives a free name for a temporary."""
    op, args = step.what, step.args
    z = out[0]
    if op in (ops.Softmax, ops.LogSoftmax) and ndim > 0:
        temp = fresh(f"{z}_exp" if op is ops.Softmax else f"{z}_max")
        return _softmax_lines(op, src(args[0]), args[1], z, temp)
    if op in _BINARY:  # a float64 number may be written as a Python float: it rounds the same
        number = op is not ops.MatMul
        return [f"{z} = {src(args[0], number)} {_BINARY[op]} {src(args[1], number)}"]
    if op in _UNARY:
        return [f"{z} = {_UNARY[op]}({', '.join(src(a) for a in args)})"]
    if op is ops.Neg:
        return [f"{z} = -{src(args[0])}"]
    if op is ops.PowScalar:
        return [f"{z} = {src(args[0])} ** {args[1]!r}"]
    if op is ops.Sigmoid:
        return [f"{z} = np.exp(-np.logaddexp(0.0, -{src(args[0])}))"]
    if op is ops.Relu:
        x = src(args[0])
        return [f"{z} = np.where({x} <= 0, np.zeros((), dtype={x}.dtype), {x})"]
    if op is ops.Clamp:
        return [f"{z} = np.clip({src(args[0])}, {src(args[1])}, {src(args[2])})"]
    if op is ops.NonDifferentiable:
        name = args[0].__name__
        func = f"np.{name}" if getattr(np, name, None) is args[0] else src(args[0])
        return [f"{z} = {func}({', '.join(src(a) for a in args[1:])})"]
    if op is ops.Cast:
        return [f"{z} = {src(args[0])}.astype(np.{np.dtype(args[1]).name})"]
    if op is ops.Clone:
        return [f"{z} = {src(args[0])}.copy()"]
    if op in (ops.Sum, ops.Mean):
        method = "sum" if op is ops.Sum else "mean"
        axes = "" if args[1] is None else f"axis={args[1]!r}"
        axes += (", " if axes else "") + "keepdims=True" if args[2] else ""
        return [f"{z} = {src(args[0])}.{method}({axes})"]
    if op is ops.Reshape:
        return [f"{z} = {src(args[0])}.reshape({args[1]!r})"]
    if op is ops.Permute and tuple(args[1]) == (1, 0):
        return [f"{z} = {src(args[0])}.T"]  # the same view, made faster
    if op is ops.Permute:
        return [f"{z} = {src(args[0])}.transpose({args[1]!r})"]
    if op is ops.Expand:
        return [f"{z} = np.broadcast_to({src(args[0])}, {args[1]!r})"]
    if op is ops.GetItem:
        parts = args[1] if isinstance(args[1], tuple) else (args[1],)
        if len(parts) == ndim and all(_is_int(p) for p in parts):  # x[i, ...]: a 0-d view
            return [f"{z} = {src(args[0])}[{', '.join([*map(src, parts), '...'])}]"]  # as eager's
        return [f"{z} = {src(args[0])}[{src(args[1])}]"]
    if op is ops.IndexAdd:  # repeated indices get every update
        return [f"{z} = np.zeros({args[2]!r}, dtype={src(args[0])}.dtype)",
                f"np.add.at({z}, {src(args[1])}, {src(args[0])})"]  # fmt: skip
    if op is ops.IndexPut:
        return [f"{z} = {src(args[0])}.copy()", f"{z}[{src(args[1])}] = {src(args[2])}"]
    if op is ops.Cat:
        return [f"{z} = np.concatenate([{', '.join(src(a) for a in args[1:])}], axis={args[0]})"]
    # any other op: its own forward, on tensors around the arrays
    targets = ", ".join(out) + ("," if len(out) == 1 else "")
    return [f"{targets} = _forward({op.__name__}, {', '.join(src(a) for a in args)})"]


def _softmax_lines(op: Any, x: str, dim: int, z: str, temp: str) -> list[str]:
    """Softmax and LogSoftmax as their forwards compute them, shifted by the max (e^x
    overflows at x = 710); `temp` names the temporary."""
    if op is ops.Softmax:
        return [f"{temp} = np.exp({x} - np.max({x}, axis={dim}, keepdims=True))",
                f"{z} = {temp} / np.sum({temp}, axis={dim}, keepdims=True)",
                f"del {temp}"]  # fmt: skip
    axis = (dim,)
    return [f"{temp} = np.max({x}, axis={axis}, keepdims=True)",
            f"{temp} = np.where(np.isfinite({temp}), {temp}, 0.0)  # all -inf: NumPy's",
            f"{z} = {x} - ({temp} + np.log(np.sum(np.exp({x} - {temp}), axis={axis}, "
            "keepdims=True)))",
            f"del {temp}"]  # fmt: skip


def _is_int(part: Any) -> bool:
    return isinstance(part, (int, np.integer)) and not isinstance(part, bool)


def run_forward(op: Any, *args: Any) -> tuple[np.ndarray, ...]:
    """The arrays `op.forward` computes from `args` (arrays are wrapped in tensors)."""
    wrapped = [Tensor._make(a) if isinstance(a, np.ndarray) else a for a in args]
    result = op.forward(op(), *wrapped)
    outputs = result if isinstance(result, tuple) else (result,)
    return tuple(np.asarray(o._data) for o in outputs)


def in_place_line(step: Step, src: Source, float64: bool) -> str:
    """The in-place change; a float64 number is written as a Python float only into a
    float64 array: into float32, NumPy would compute in float32 with the Python float, where
    eager's 0-d float64 array makes it compute in float64 and round once."""
    value = 0 if step.what == "zero_" else step.args[1]
    if step.what == "setitem":  # PyTorch's rule where ints and arrays mix (ops.set_item_array)
        return f"_set_item({src(step.args[0])}, {src(step.args[2])}, {src(value, float64)})"
    return _IN_PLACE[step.what].format(src(step.args[0]), src(value, float64))


def random_line(step: Step, z: str, dtype: np.dtype) -> str:
    args = ", ".join(
        repr(a) if not isinstance(a, np.ndarray) else repr(a.tolist()) for a in step.args
    )
    default = np.int64 if step.what in ("integers", "permutation") else np.float64
    cast = "" if dtype == default else f".astype(np.{dtype.name})"
    return f"{z} = np.asarray(_generator().{step.what}({args})){cast}"


def constant_name(kind: tuple[Any, ...]) -> str:
    """A readable name for an outside value of this kind (see outside_kinds)."""
    if kind[0] != "const":
        return "state"
    value = kind[1]
    return "ones" if np.all(value == 1) else "zeros" if np.all(value == 0) else "constant"


def read_name(read: Callable[[], Any]) -> str:
    """A readable name for a live value's read function (e.g. lr, step_size)."""
    if isinstance(read, functools.partial):
        keys = [a for a in read.args if isinstance(a, str)]
        transforms = [a.__name__.strip("_") for a in read.args if callable(a)]  # _one_minus
        return "_".join(transforms + keys[:1]) if keys else read.func.__name__.strip("_")
    return getattr(read, "__name__", "value").strip("_<>") or "value"


def set_item(array: np.ndarray, index: Any, value: Any) -> None:
    """`array[index] = value` as `x[index] = value` does it on x's array (arrays in the
    index stand for tensors)."""
    parts = index if isinstance(index, tuple) else (index,)
    tensors = tuple(Tensor._make(p) if isinstance(p, np.ndarray) else p for p in parts)
    set_item_array(array, tensors if isinstance(index, tuple) else tensors[0], value)


def counting_with(array: np.ndarray, tensor: Tensor) -> Tensor:
    """A new tensor around `array` that shares `tensor`'s version counter."""
    made = Tensor._make(array)
    made._version_counter = tensor._version_counter
    return made


class GraphNotKept(graph.Node):
    """The grad_fn of a replay's result that had a graph when the step was recorded: the
    replay keeps no graph, so a backward that reaches it raises (eager's would have gone on
    into the step's graph, and missing it would be silently wrong). It has no inputs, so a
    picture of the graph ends at it."""

    def _apply_backward(self, grads: list[Tensor | None]) -> Sequence[Tensor | None]:
        raise RuntimeError(
            "backward reached the result of a compiled step's replay, which keeps no graph: "
            "call backward inside the compiled step, or leave that step uncompiled"
        )


def graph_not_kept(tensor: Tensor) -> Tensor:
    """`tensor` (new), with requires_grad and a GraphNotKept grad_fn, as the recorded result had."""
    node = GraphNotKept()
    node._sequence_nr = next(graph._sequence)  # (after the nodes of the graph it ends)
    tensor._attach(node, 0)
    return tensor


NAMESPACE = {"np": np, "_generator": creation.default_generator, "_forward": run_forward,
             "_tensor": Tensor._make, "_counting_with": counting_with, "_set_item": set_item,
             "_graph_not_kept": graph_not_kept,
             **{name: getattr(ops, name) for name in ops.__all__}}  # fmt: skip


def explain(error: Exception, function: Any, source: str) -> Exception:
    """An error that a NumPy line of the replay raised, named as eager names it: the op,
    then NumPy's words, then the step's line. Errors raised inside an op's own forward
    (`_forward(...)` lines) name themselves already and are returned as they are."""
    tb = error.__traceback__
    while tb is not None and tb.tb_frame.f_code is not function.__code__:
        tb = tb.tb_next
    if tb is None or tb.tb_next is not None:
        return error
    lines = source.splitlines()[: tb.tb_lineno]
    op = lines[-1].rsplit("  # ", 1)[-1] if "  # " in lines[-1] else "a replayed line"
    step_line = next((line.strip()[2:] for line in reversed(lines)
                      if line.strip().startswith("# ")), "")  # fmt: skip
    where = f" (replaying {step_line})" if step_line else ""
    try:
        return type(error)(f"{op.lower()}: {error}{where}")
    except Exception:  # an exception type that takes other arguments
        return error


def decode(args: Any, constants: dict[int, np.ndarray]) -> Any:
    """A step's arguments with each Ref replaced by the constant array it names."""
    if isinstance(args, Ref):
        return constants[args.vid]
    if isinstance(args, (tuple, list)):
        return type(args)(decode(a, constants) for a in args)
    return args
