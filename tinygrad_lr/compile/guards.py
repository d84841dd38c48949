"""The check before each replay, generated as Python source like the replay itself.

A call may replay a program only when it is the call the program was recorded for: the same
signature (grad mode; shapes, dtypes and requires_grad of the tensor arguments; the other
arguments' values) and the program's guards (arguments aliased as recorded; the outside
tensors without hooks and with their requires_grad, shape and dtype; which tensors have a
`.grad`; the optimisers' branches; the Python values the step reads: python_values.py).
Worked out in Python at every call (`holds`, the slow road's check), this costs more than
the replay of a small step; written out as one `if` over attribute reads it costs about as
much as one NumPy call. For `step(X, y)`:

    def check_and_run(*args):
        if len(args) != 2:
            return MISS
        a0, a1 = args
        holds = (_state.grad_enabled and not _state.detect_anomaly and ...
                 and isinstance(a0, Tensor) and a0._data.shape == (10, 2) and ...)
        if holds:
            return step(a0, a1)
        return MISS

MISS tells the caller to take the slow road: look the signature up, or record again.
"""

from __future__ import annotations

import types
import warnings
import weakref
from collections.abc import Callable
from typing import Any

import numpy as np

from ..autograd.grad_mode import _state
from ..tensor import Tensor
from .same import CELL, LENGTH, UNSET, identical, is_simple

MISS = object()  # returned by a check whose guards do not hold


def write_check(program: Any, args: tuple[Any, ...]) -> tuple[str, Callable[..., Any]]:
    """The source of `program`'s check and the function it defines, which runs the program
    when a call matches the recorded call `args`, and returns MISS otherwise."""
    namespace = {"_state": _state, "MISS": MISS, "step": program.function, "Tensor": Tensor,
                 "_identical": identical, "UNSET": UNSET, "_explain": program.explain}  # fmt: skip
    grad_mode = "_state.grad_enabled" if _state.grad_enabled else "not _state.grad_enabled"
    tests = [grad_mode, "not _state.detect_anomaly", "not _state.saved_tensors_hooks"]
    names = [f"a{position}" for position in range(len(args))]
    tensors = []  # the names of the tensor arguments, the program's own arguments
    for name, arg in zip(names, args):
        namespace[f"_{name}"] = arg._data.dtype if isinstance(arg, Tensor) else arg
        tests += _argument_tests(name, arg, namespace)
        if isinstance(arg, Tensor):
            tensors.append(name)
    for i, j in program.aliases:  # see aliasing below
        tests.append(f"{tensors[i]}._data is {tensors[j]}._data")
    for i, tensor in program.pinned:
        namespace[f"_pinned{i}"] = tensor
        tests.append(f"{tensors[i]} is _pinned{i}")
    owners = {}  # owner -> the name of its tensor in the check
    for k, (owner, was_none) in enumerate(program.guards):
        kind = program.kinds[owner]  # ("arg", i): the i-th tensor argument; or ("ref", tensor)
        if kind[0] == "arg":
            tensor = tensors[kind[1]]
        else:
            namespace[f"_owner{k}"], tensor = kind[1], f"_owner{k}"
        owners[owner] = tensor
        # (a .grad with a graph, from create_graph=True, is replaced by backward, not added to)
        grad = f"{tensor}._grad"
        tests.append(
            f"{grad} is None" if was_none else f"({grad} is not None and not {grad}._requires_grad)"
        )
    # tensors whose .grads shared one array when recorded, which the code reads as one
    tests += [f"{owners[a]}._grad._data is {owners[b]}._grad._data"
              for a, b in program.grads_shared if a in owners and b in owners]  # fmt: skip
    for k, expected in enumerate(program.outside):  # see Expected below
        namespace[f"_outside{k}"], namespace[f"_expected{k}"] = expected.tensor, expected
        namespace[f"_array{k}"] = weakref.ref(expected.tensor._data)
        # the same array, or another of the same shape and dtype (`.data =` outside the step)
        tests += [f"not _outside{k}._hooks",
                  f"_outside{k}._requires_grad is {expected.requires_grad}",
                  f"(_outside{k}._data is _array{k}() or _expected{k}.holds())"]  # fmt: skip
    if program.grads_apart is not None:  # the .grads whose adds are left out (plan.py)
        namespace["_grads_apart"] = program.grads_apart
        tests.append(f"_grads_apart({', '.join(tensors)})")
    for k, (read, value) in enumerate(program.python_guards):
        namespace[f"_read{k}"], namespace[f"_was{k}"] = read, value
        tests.append(f"_read{k}() == _was{k}")
    for k, named in enumerate(program.python_values):
        namespace[f"_named{k}"], namespace[f"_holder{k}"] = named, named.holder
        namespace[f"_was_named{k}"] = named.value
        tests.append(_value_test(k, named))
    condition = "\n                 and ".join(tests)
    unpack = f"    {', '.join(names)}{',' if len(names) == 1 else ''} = args\n" if names else ""
    source = (
        "def check_and_run(*args):\n"
        f"    if len(args) != {len(args)}:\n"
        "        return MISS\n"
        f"{unpack}"
        "    try:\n"
        f"        holds = ({condition})\n"
        "    except Exception:  # a value that cannot be read as before: the slow road\n"
        "        return MISS\n"
        "    if holds:\n"
        "        try:\n"
        f"            return step({', '.join(tensors)})\n"
        "        except (IndexError, ValueError, TypeError) as error:\n"
        "            raise _explain(error) from None\n"
        "    return MISS\n"
    )
    exec(compile(source, f"<tl.compile check of {program.function.__name__}>", "exec"), namespace)
    return source, namespace["check_and_run"]


def _argument_tests(name: str, arg: Any, namespace: dict[str, Any]) -> list[str]:
    """Tests that argument `name` is what `arg` was (its expected value is `_name`)."""
    if isinstance(arg, Tensor):
        hooks = [f"not {name}._hooks"] if arg._requires_grad else []  # not replayed
        return [f"isinstance({name}, Tensor)", f"{name}._data.shape == {arg._data.shape!r}",
                f"{name}._data.dtype == _{name}",
                f"{'' if arg._requires_grad else 'not '}{name}._requires_grad", *hooks]  # fmt: skip
    if type(arg) is float:  # to the bit: 0.0 is not -0.0, and NaN is NaN
        namespace[f"_{name}_hex"] = arg.hex()
        return [f"type({name}) is float", f"{name}.hex() == _{name}_hex"]
    if type(arg) in (bool, int, str, bytes, type(None)):
        return [f"type({name}) is type(_{name})", f"{name} == _{name}"]
    if is_simple(arg):
        return [f"_identical({name}, _{name})"]
    return [f"{name} is _{name}"]  # another object: the same one (modules: their settings
    # are python values of the step, see python_values.py)


def _value_test(k: int, named: Any) -> str:
    """The test that the k-th Python value reads as before; the quick answer first: the
    namespace still holds the same object (a global not assigned since)."""
    mapping = type(named.holder) in (dict, types.MappingProxyType)
    if named.key is LENGTH:  # of a list or dict (an item appended or added)
        return f"len(_holder{k}) == {named.value}"
    if named.content is not None:  # a small NumPy array: its values too
        return f"_named{k}.holds()"
    if named.key is CELL:  # a closure cell (an empty one raises: the slow road)
        quick = f"_holder{k}.cell_contents is _was_named{k}"
    elif named.value is UNSET and mapping and type(named.key) is str:
        return f"{named.key!r} not in _holder{k}"  # not shadowed: `opt.step` is the class's
    elif (mapping or type(named.holder) in (list, tuple)) and type(named.key) in (str, int):
        quick = f"_holder{k}[{named.key!r}] is _was_named{k}"  # (a missing key raises: the
    else:  # slow road; a subclass's [] may run code)
        return f"_named{k}.holds()"  # a slot, or an item under a key of another kind
    return f"({quick} or _named{k}.holds())" if is_simple(named.value) else quick


# --- the same check in Python, on the slow road -------------------------------------------


def holds(program: Any, args: tuple[Any, ...]) -> bool:
    """Do `program`'s guards hold for a call with `args` (of its signature): no hooks on the
    arguments, aliased as recorded, the outside tensors as expected, the same `.grad`s
    present, the same branches of Python code, the same Python values the step names?"""
    tensors = [arg for arg in args if isinstance(arg, Tensor)]
    if any(t._hooks for t in tensors) or any(tensors[i] is not t for i, t in program.pinned):
        return False
    if any(tensors[i]._data is not tensors[j]._data for i, j in program.aliases):
        return False
    owners = {}
    for owner, was_none in program.guards:
        kind = program.kinds[owner]
        tensor = owners[owner] = tensors[kind[1]] if kind[0] == "arg" else kind[1]
        if (tensor._grad is None) != was_none or (not was_none and tensor._grad._requires_grad):
            return False
    if any(owners[a]._grad._data is not owners[b]._grad._data for a, b in program.grads_shared
           if a in owners and b in owners):  # fmt: skip
        return False
    try:  # (a value that cannot be read as before, `group["weight_decay"]` removed: the call
        return (  # is recorded again, and raises where eager raises)
            all(expected.holds() for expected in program.outside)
            and (program.grads_apart is None or program.grads_apart(*tensors))
            and all(read() == value for read, value in program.python_guards)
            and all(value.holds() for value in program.python_values)
        )
    except Exception:
        return False


class Expected:
    """An outside tensor as the code was made for it. A hook or requires_grad would change
    what eager's backward does (the replay runs none of it); a new shape or dtype (`.data =`)
    could change what NumPy's broadcasting and promotion do."""

    def __init__(self, tensor: Tensor, shape: tuple[int, ...], dtype: np.dtype) -> None:
        self.tensor, self.shape, self.dtype = tensor, shape, dtype
        self.requires_grad = tensor._requires_grad

    def holds(self) -> bool:
        tensor = self.tensor
        return (
            not tensor._hooks and tensor._requires_grad is self.requires_grad
            and tensor._data.shape == self.shape and tensor._data.dtype == self.dtype
        )  # fmt: skip


def aliasing(trace: Any) -> tuple[list[tuple[int, int]], list[tuple[int, Tensor]], Any]:
    """What a replay takes on trust about the tensor arguments, k-th among them: pairs (i, j)
    given the same array, which the code reads under one name; and (i, tensor) for an
    argument that is also a tensor the step reads by name (a global passed in), which the
    code cannot tell apart from it, so a replay needs that very tensor. And the pairs of
    tensors that shared one `.grad`, which the code reads as one (`w2.grad = w.grad`)."""
    arguments = {source[1]: vid for vid, source in trace.sources.items() if source[0] == "arg"}
    arrays = [trace.arrays[arguments[k]] for k in sorted(arguments)]
    aliases = [(i, j) for j in range(len(arrays)) for i in range(j) if arrays[i] is arrays[j]]
    named = [v.value for v in trace.python_values if isinstance(v.value, Tensor)]
    pinned = [(k, trace.wrappers[arguments[k]]) for k in sorted(arguments)
              if any(t._data is arrays[k] for t in named)]  # fmt: skip
    return aliases, pinned, trace.grads_shared


def separate_grads(kinds: dict[int, tuple[Any, ...]], trace: Any) -> frozenset[int]:
    """The outside `.grad`s the step zeroes that share memory with no other outside array:
    those whose adds plan.py may leave out (none while NumPy raises on floating-point
    errors: any op could then stop the replay, and a .grad left out would show)."""
    if _numpy_raises():
        return frozenset()
    arrays = trace.arrays
    zeroed = {step.args[0].vid for step in trace.steps if step.what == "zero_"}
    outside = _read_outside(kinds)
    grads = [v for v in outside if kinds[v][0] == "grad" and v in zeroed]
    shared = {g for g in grads for w in outside if w != g and np.may_share_memory(arrays[g],
              arrays[w])}  # fmt: skip
    return frozenset(grads) - shared


def grads_apart(
    program: Any, grads: set[int], arrays: list[np.ndarray]
) -> Callable[..., bool] | None:
    """A test of the check before each call, for a program that left out adds into `grads`:
    they still share memory with no other outside array, the outside arrays have their
    layouts (which decide the layout of a value read in place of a .grad), and NumPy is not
    set to raise on floating-point errors. When the outside tensors hold the arrays they held
    when recorded, only the arguments (new arrays at each call) need looking at. None when
    there is nothing to test."""
    if not grads:
        return None
    outside = _read_outside(program.kinds)
    names = {v: f"{program.arg_names[program.kinds[v][1]]}._data" if program.kinds[v][0] == "arg"
             else f"{program._tensor_expression(v)}._data" for v in outside}  # fmt: skip
    kept = [v for v in outside if program.kinds[v][0] != "arg"]
    namespace = {**program.namespace, "_may_share": np.may_share_memory,
                 "_numpy_raises": _numpy_raises}  # fmt: skip
    for k, v in enumerate(kept):
        namespace[f"_was{k}"] = weakref.ref(arrays[v])
    as_recorded = " and ".join(f"{names[v]} is _was{k}()" for k, v in enumerate(kept)) or "True"

    def layouts(values: list[int]) -> str:
        return (
            " and ".join(f"{names[v]}.strides == {arrays[v].strides!r}" for v in values) or "True"
        )

    def shared(others: list[int]) -> str:
        pairs = {tuple(sorted((g, w))) for g in grads for w in others if w != g}
        return (
            " or ".join(f"_may_share({names[a]}, {names[b]})" for a, b in sorted(pairs)) or "False"
        )

    arguments = [v for v in outside if program.kinds[v][0] == "arg"]
    source = (
        f"def grads_apart({', '.join(program.arg_names)}):\n"
        "    if _numpy_raises():\n"
        "        return False\n"
        f"    if {as_recorded}:\n"
        f"        return {layouts(arguments)} and not ({shared(arguments)})\n"
        f"    return {layouts(outside)} and not ({shared(outside)})\n"
    )
    exec(compile(source, "<tl.compile check of the .grads left out>", "exec"), namespace)
    return namespace["grads_apart"]


def _read_outside(kinds: dict[int, tuple[Any, ...]]) -> list[int]:
    """The outside values whose arrays a call reads from tensors (arguments, the step's
    tensors and their .grads), in order."""
    return [v for v, kind in sorted(kinds.items()) if kind[0] in ("arg", "ref", "grad")]


def _numpy_raises() -> bool:
    """May NumPy raise on a floating-point error: set to raise, to call or log through a
    function (which may raise), or to warn with RuntimeWarnings made errors? (A filter that
    makes them errors counts even when another one before it ignores them: the answer may be
    yes where nothing would raise, which only costs the fast path.)"""
    actions = set(np.geterr().values())
    if actions & {"raise", "call", "log"}:
        return True
    if "warn" in actions:
        for entry in warnings.filters:
            if entry[0] == "error" and issubclass(RuntimeWarning, entry[2]):
                return True
    return False


def always_miss(*args: Any) -> Any:
    """The check before anything is compiled."""
    return MISS
