"""The check before each replay, generated as Python source like the replay itself.

A call may replay a program only when it is the call the program was recorded for: the same
signature (grad mode; shapes, dtypes and requires_grad of the tensor arguments; the other
arguments' values) and the program's guards (which tensors have a `.grad`, the optimisers'
branches). Worked out in Python at every call, this costs more than the replay of a small
step; written out as one `if` over attribute reads it costs about as much as one NumPy call.

    def check_and_run(*args):
        if len(args) != 2:
            return MISS
        X, y = args
        if (_state.grad_enabled and not _state.detect_anomaly and ...
                and isinstance(X, Tensor) and X._data.shape == (10, 2) and ...):
            return step(X, y)
        return MISS

MISS tells the caller to take the slow road: look the signature up, or record again.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..autograd.grad_mode import _state
from ..tensor import Tensor

MISS = object()  # returned by a check whose guards do not hold

# Other arguments are checked by type and value. Containers could hold tensors, whose `==`
# is elementwise: a call with one of those never takes the fast road.
_VALUE_TYPES = (bool, int, float, complex, str, bytes, type(None))


def check_and_run(program: Any, args: tuple[Any, ...]) -> tuple[str, Callable[..., Any]]:
    """Source and function of `program`'s check: `check(*args)` runs the program when the
    call matches the recorded one `args`, and returns MISS otherwise."""
    namespace = {"_state": _state, "MISS": MISS, "step": program.function, "Tensor": Tensor}
    grad_mode = "_state.grad_enabled" if _state.grad_enabled else "not _state.grad_enabled"
    tests = [grad_mode, "not _state.detect_anomaly", "not _state.saved_tensors_hooks"]
    names = [f"a{position}" for position in range(len(args))]
    passed = []
    for position, (name, arg) in enumerate(zip(names, args)):
        if isinstance(arg, Tensor):
            namespace[f"_dtype{position}"] = arg._data.dtype
            tests += [f"isinstance({name}, Tensor)", f"{name}._data.shape == {arg._data.shape!r}",
                      f"{name}._data.dtype == _dtype{position}",
                      f"{'' if arg._requires_grad else 'not '}{name}._requires_grad"]  # fmt: skip
            passed.append(name)
        elif type(arg) in _VALUE_TYPES and arg == arg:  # NaN is never equal: slow road
            namespace[f"_type{position}"], namespace[f"_value{position}"] = type(arg), arg
            tests += [f"type({name}) is _type{position}", f"{name} == _value{position}"]
        else:
            tests.append("False")
    for k, (owner, was_none) in enumerate(program.guards):
        kind = program.kinds[owner]
        if kind[0] == "arg":
            tensor = passed[kind[1]]
        else:
            namespace[f"_owner{k}"], tensor = kind[1], f"_owner{k}"
        tests.append(f"{tensor}._grad is {'' if was_none else 'not '}None")
    for k, (read, value) in enumerate(program.python_guards):
        namespace[f"_read{k}"], namespace[f"_was{k}"] = read, value
        tests.append(f"_read{k}() == _was{k}")
    for k, named in enumerate(program.python_values):
        # the same object as before (a global not assigned since) is the quick answer
        namespace[f"_named{k}"], namespace[f"_holder{k}"] = named, named.holder
        namespace[f"_was_named{k}"] = named.value
        quick = "" if named.key is None else f"_holder{k}.get({named.key!r}) is _was_named{k} or "
        tests.append(f"({quick}_named{k}.holds())")
    condition = "\n            and ".join(tests)
    unpack = f"    {', '.join(names)}{',' if len(names) == 1 else ''} = args\n" if names else ""
    source = (
        "def check_and_run(*args):\n"
        f"    if len(args) != {len(args)}:\n"
        "        return MISS\n"
        f"{unpack}"
        f"    if ({condition}):\n"
        f"        return step({', '.join(passed)})\n"
        "    return MISS\n"
    )
    exec(compile(source, f"<tl.compile check of {program.function.__name__}>", "exec"), namespace)
    return source, namespace["check_and_run"]


def always_miss(*args: Any) -> Any:
    """The check before anything is compiled."""
    return MISS
