"""The Python values a step's own code reads by name, checked before every replay.

A recorded step has its Python values built in: `p -= lr * p.grad` with a global `lr` replays
with the `lr` of the recording, and `if use_bias:` with the branch it took. So the values the
step's code names are read before each recorded call, and the check before each replay reads
them again: when one has changed, the step is recorded anew. They are the globals and closure
variables it names holding numbers, strings, booleans, None or tuples of those, and such
attributes of the objects it names, read from their `__dict__` (`config.lr`, `self.lr`; no
property is run), and every such setting of the modules it names and of the modules inside
them (`training`, dropout's `p`). What the step's code does not name (a value read inside
another function it calls, the items of a list) is not checked: pass such values as
arguments.
"""

from __future__ import annotations

import types
from dataclasses import dataclass
from typing import Any


class _Unset:
    def __repr__(self) -> str:
        return "unset"


_UNSET = _Unset()  # what a name without a value reads as (a deleted global, an empty cell)
_SIMPLE = (bool, int, float, complex, str, bytes, type(None), _Unset)


def _simple(value: Any) -> bool:
    if isinstance(value, tuple):
        return len(value) <= 16 and all(type(item) in _SIMPLE for item in value)
    return type(value) in _SIMPLE


@dataclass(frozen=True)
class PythonValue:
    """`holder[key]` (a globals or `__dict__` mapping) or, for a closure cell, its contents:
    the value the step's code reads as `name`."""

    name: str
    holder: Any  # a dict, or a cell
    key: str | None  # None for a cell
    value: Any  # as read before the recorded call

    def read(self) -> Any:
        if self.key is None:
            try:
                return self.holder.cell_contents
            except ValueError:  # an empty cell
                return _UNSET
        return self.holder.get(self.key, _UNSET)

    def holds(self) -> bool:
        """Does it read the same as before the recorded call (the same type, an equal value)?"""
        now = self.read()
        return now is self.value or (type(now) is type(self.value) and bool(now == self.value))


def _codes(code: types.CodeType) -> list[types.CodeType]:
    """The code object and those nested in it (lambdas, comprehensions, inner functions)."""
    found = [code]
    for constant in code.co_consts:
        if isinstance(constant, types.CodeType):
            found += _codes(constant)
    return found


def python_values(fn: Any) -> list[PythonValue]:
    """The simple values `fn`'s code reads by name, with their values now."""
    owner = getattr(fn, "__self__", None)
    fn = getattr(fn, "__func__", fn)
    code = getattr(fn, "__code__", None)
    if code is None:  # a callable object or a builtin: nothing to look at
        return []
    names = {name for c in _codes(code) for name in c.co_names}  # globals and attributes
    holders: list[tuple[str, Any, str | None]] = []  # (name, holder, key)
    for name, cell in zip(code.co_freevars, fn.__closure__ or ()):
        holders.append((name, cell, None))
    globals_ = getattr(fn, "__globals__", {})
    holders += [(name, globals_, name) for name in sorted(names) if name in globals_]
    if owner is not None:
        holders.append(("self", {"self": owner}, "self"))
    found = []
    for name, holder, key in holders:
        value = PythonValue(name, holder, key, None).read()
        if _simple(value):
            found.append(PythonValue(name, holder, key, value))
            continue
        found += _module_settings(name, value) or _attributes(name, value, names)
    return found


def _module_settings(name: str, model: Any) -> list[PythonValue]:
    """Every simple setting of a module and of the modules inside it (`training`, dropout's
    `p`, a loss's `reduction`...): their forwards read them, out of the step's sight."""
    from ..nn.modules import Module

    if not isinstance(model, Module):
        return []
    return [PythonValue(f"{name}.{path}{'.' if path else ''}{key}", vars(module), key, item)
            for path, module in model.named_modules() for key, item in vars(module).items()
            if _simple(item)]  # fmt: skip


def _attributes(name: str, owner: Any, names: set[str]) -> list[PythonValue]:
    """The simple attributes of `owner` among `names`: in its own `__dict__`, or else in its
    class's, with the check that the instance has not set its own since."""
    own = getattr(owner, "__dict__", None)
    if not isinstance(own, (dict, types.MappingProxyType)):
        return []
    found = []
    for attribute in sorted(names):
        if attribute in own:
            if _simple(own[attribute]):
                found.append(PythonValue(f"{name}.{attribute}", own, attribute, own[attribute]))
            continue
        for cls in type(owner).__mro__:
            if attribute in cls.__dict__:
                if _simple(cls.__dict__[attribute]) and isinstance(own, dict):
                    found += [PythonValue(f"{name}.{attribute}", own, attribute, _UNSET),
                              PythonValue(f"{cls.__name__}.{attribute}", cls.__dict__,
                                          attribute, cls.__dict__[attribute])]  # fmt: skip
                break
    return found
