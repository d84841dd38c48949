"""The Python values a step reads by name, checked before every replay.

A recorded step has its Python values built in: `p -= lr * p.grad` with a global `lr` replays
with the `lr` of the recording, `if use_bias:` with the branch it took, `forward(x)` with the
function `forward` was then. So before each recorded call the values the step's code reads
by name are noted, and the check before each replay reads them again; when one has changed,
the step is recorded anew. They are:
- the globals the step's code loads and its closure variables;
- the attributes its code loads from those (`config.lr`, `self.model`, `conf.opt.lr`), read
  from the objects' `__dict__` or `__slots__` (no property is run), and from their classes;
- every setting of the modules among them and inside those (`training`, dropout's `p`);
- the same in the functions of the step's own module that it names (its helpers).
Numbers, strings, booleans, None, enums, NumPy scalars and tuples of them are compared by
value (floats to the bit: 0.0 is not -0.0); other objects (a tensor, a model, a function) by
identity. Not checked: the items of lists and dicts, what a property computes, and values
read inside other functions (the library's, or the step's arguments'): pass those as
arguments, and the signature checks them.
"""

from __future__ import annotations

import dis
import enum
import functools
import types
from dataclasses import dataclass
from typing import Any

import numpy as np

_SCALARS = (bool, int, float, complex, str, bytes, type(None))
_MAX_DEPTH = 3  # attribute chains followed: self.model.layer.p


class _Unset:
    def __repr__(self) -> str:
        return "unset"


UNSET = _Unset()  # what a name without a value reads as (a deleted global, an empty cell)


def is_simple(value: Any, budget: int = 64) -> bool:
    """A value compared by value: a number, string, bool, None, enum, NumPy scalar, or a
    tuple of those (at most `budget` items in all)."""
    if isinstance(value, tuple):
        return len(value) <= budget and all(is_simple(v, budget - len(value)) for v in value)
    return type(value) in _SCALARS or isinstance(value, (enum.Enum, np.generic, _Unset))


def identical(a: Any, b: Any) -> bool:
    """The same type and value; floats to the bit (0.0 is not -0.0, NaN is NaN)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return a.hex() == b.hex()
    if isinstance(a, complex):
        return identical(a.real, b.real) and identical(a.imag, b.imag)
    if isinstance(a, tuple):
        return len(a) == len(b) and all(map(identical, a, b))
    if isinstance(a, np.generic):
        return a.dtype == b.dtype and a.tobytes() == b.tobytes()
    return a is b or bool(a == b)


@dataclass(frozen=True)
class PythonValue:
    """What the step's code calls `name`: `holder[key]` for a namespace (a dict or a class's
    mapping), `getattr(holder, key)` for a slot, or a closure cell's contents (key None)."""

    name: str
    holder: Any
    key: str | None
    value: Any  # before the recorded call

    def read(self) -> Any:
        if self.key is None:
            try:
                return self.holder.cell_contents
            except ValueError:  # an empty cell
                return UNSET
        if isinstance(self.holder, (dict, types.MappingProxyType)):
            return self.holder.get(self.key, UNSET)
        return getattr(self.holder, self.key, UNSET)

    def holds(self) -> bool:
        """Does it read as before: the same simple value, or the very same object?"""
        now = self.read()
        return now is self.value or (is_simple(self.value) and identical(now, self.value))


def python_values(fn: Any, args: tuple[Any, ...] = ()) -> list[PythonValue]:
    """The values `fn` reads by name, as they are now (see the module docstring), and the
    settings of the modules among `args` (which the signature knows only by identity)."""
    found = _Found()
    for function, owner in _functions(fn):
        found.function(function, owner)
    for position, arg in enumerate(args):
        found.attributes(f"argument {position}", arg, frozenset(), 1)
    return found.values


def _code(value: Any) -> bool:
    """A function, method or class: something called, not a value with settings."""
    return isinstance(value, (types.FunctionType, types.MethodType, types.BuiltinFunctionType,
                              type))  # fmt: skip


def _functions(fn: Any) -> list[tuple[types.FunctionType, Any]]:
    """The Python functions whose code runs when `fn` is called, with the object a method is
    bound to: through bound methods, functools.partial, decorators' __wrapped__, __call__."""
    found: list[tuple[types.FunctionType, Any]] = []
    todo: list[tuple[Any, Any]] = [(fn, None)]
    while todo and len(found) < 8:
        item, owner = todo.pop()
        if isinstance(item, functools.partial):
            todo.append((item.func, owner))
        elif isinstance(item, types.MethodType):
            todo.append((item.__func__, item.__self__))
        elif isinstance(item, types.FunctionType):
            found.append((item, owner))
            if hasattr(item, "__wrapped__"):
                todo.append((item.__wrapped__, owner))
        else:  # an object with a __call__ method written in Python
            call = next((c.__dict__["__call__"] for c in type(item).__mro__
                         if "__call__" in c.__dict__), None)  # fmt: skip
            if isinstance(call, types.FunctionType):
                todo.append((call, item))
    return found


@functools.lru_cache(maxsize=256)  # reading bytecode costs more than a small step's replay
def _names(code: types.CodeType) -> tuple[frozenset[str], frozenset[str]]:
    """The global names and the attribute names that `code` and the code in it load."""
    globals_: set[str] = set()
    attributes: set[str] = set()
    codes = [code]
    while codes:
        current = codes.pop()
        codes += [c for c in current.co_consts if isinstance(c, types.CodeType)]
        for instruction in dis.get_instructions(current):
            if instruction.opname in ("LOAD_GLOBAL", "LOAD_NAME"):
                globals_.add(instruction.argval)
            elif instruction.opname in ("LOAD_ATTR", "LOAD_METHOD"):
                attributes.add(instruction.argval)
    return frozenset(globals_), frozenset(attributes)


class _Found:
    """The values found so far, each holder and key once."""

    def __init__(self) -> None:
        self.values: list[PythonValue] = []
        self._seen: set[tuple[int, str | None]] = set()
        self._functions: set[int] = set()

    def add(self, name: str, holder: Any, key: str | None, value: Any) -> bool:
        if (id(holder), key) in self._seen:
            return False
        self._seen.add((id(holder), key))
        self.values.append(PythonValue(name, holder, key, value))
        return True

    def function(self, function: types.FunctionType, owner: Any, depth: int = 0) -> None:
        """The globals and closure variables `function` loads, and what they lead to."""
        if id(function) in self._functions:
            return
        self._functions.add(id(function))
        global_names, attributes = _names(function.__code__)
        cells = zip(function.__code__.co_freevars, function.__closure__ or ())
        for name, cell in cells:
            self.named(name, cell, None, attributes, function, depth)
        for name in sorted(global_names & function.__globals__.keys()):
            self.named(name, function.__globals__, name, attributes, function, depth)
        if owner is not None:
            self.attributes("self", owner, attributes, 1)

    def named(self, name: str, holder: Any, key: str | None, attributes: frozenset[str],
              function: types.FunctionType, depth: int) -> None:  # fmt: skip
        value = PythonValue(name, holder, key, None).read()
        if isinstance(value, types.ModuleType):  # a module is not rebound: its attributes may be
            self.attributes(name, value, attributes, 1)
            return
        if not self.add(name, holder, key, value) or is_simple(value):
            return
        self.attributes(name, value, attributes, 1)
        helper = isinstance(value, types.FunctionType) and value.__globals__ is function.__globals__
        if helper and depth < 2:  # a function of the step's own module: its code is the step's
            self.function(value, None, depth + 1)

    def attributes(self, name: str, owner: Any, attributes: frozenset[str], depth: int) -> None:
        """The attributes among `attributes` that `owner` holds, and its modules' settings."""
        from ..nn.modules import Module

        if isinstance(owner, Module):
            for path, module in owner.named_modules(prefix=name):
                for key, item in vars(module).items():
                    if is_simple(item):
                        self.add(f"{path}.{key}", vars(module), key, item)
        own = getattr(owner, "__dict__", None)
        for attribute in sorted(attributes):
            if isinstance(own, (dict, types.MappingProxyType)) and attribute in own:
                item = own[attribute]
                added = self.add(f"{name}.{attribute}", own, attribute, item)
                if added and depth < _MAX_DEPTH and not is_simple(item) and not _code(item):
                    self.attributes(f"{name}.{attribute}", item, attributes, depth + 1)
                continue
            for cls in owner.__mro__ if isinstance(owner, type) else type(owner).__mro__:
                found = cls.__dict__.get(attribute, UNSET)
                if found is UNSET:
                    continue
                if isinstance(found, types.MemberDescriptorType):  # a slot of the object
                    item = getattr(owner, attribute, UNSET)
                    if is_simple(item):
                        self.add(f"{name}.{attribute}", owner, attribute, item)
                elif is_simple(found):  # a class attribute, until the object sets its own
                    if isinstance(own, (dict, types.MappingProxyType)):
                        self.add(f"{name}.{attribute}", own, attribute, UNSET)
                    self.add(f"{cls.__name__}.{attribute}", cls.__dict__, attribute, found)
                break


def signature_key(value: Any) -> Any:
    """A key equal for identical values only (floats by their bits; see `identical`)."""
    if isinstance(value, float):
        return (type(value), value.hex())
    if isinstance(value, complex):
        return (type(value), value.real.hex(), value.imag.hex())
    if isinstance(value, tuple):
        return (tuple, *map(signature_key, value))
    return (type(value), value)


def shown(value: Any) -> str:
    """A value for a message: its repr if simple and short, else its type."""
    text = repr(value) if is_simple(value) else f"a {type(value).__name__}"
    return text if len(text) <= 40 else text[:37] + "..."
