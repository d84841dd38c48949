"""What counts as the same Python value, for the check before a replay: numbers, strings,
flags, enums, NumPy scalars, and tuples and frozensets of them are compared by value (floats
to the bit: 0.0 is not -0.0, NaN is NaN); every other object by identity, a small NumPy array
also by its values, a set of objects by its members' identities (PythonValue.same)."""

from __future__ import annotations

import enum
import types
from dataclasses import dataclass
from typing import Any

import numpy as np

_SCALARS = (bool, int, float, complex, str, bytes, type(None))


class _Unset:
    def __repr__(self) -> str:
        return "unset"


UNSET = _Unset()  # what a name without a value reads as (a deleted global, an empty cell)


def is_simple(value: Any, budget: int = 64) -> bool:
    """A value compared by value: a number, string, bool, None, enum, NumPy scalar, or a
    tuple or frozenset of those (at most `budget` items in all)."""
    if isinstance(value, (tuple, frozenset)):
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
    if isinstance(a, frozenset):  # ({0.0} == {-0.0}, but their keys differ)
        return set(map(signature_key, a)) == set(map(signature_key, b))
    if isinstance(a, np.generic):
        return a.dtype == b.dtype and a.tobytes() == b.tobytes()
    try:
        return a is b or bool(a == b)
    except Exception:  # an __eq__ that raises: not the same, record again
        return False


def signature_key(value: Any) -> Any:
    """A key equal for identical values only (see `identical`)."""
    if isinstance(value, np.generic):
        return (type(value), value.tobytes())
    if isinstance(value, float):
        return (type(value), value.hex())
    if isinstance(value, complex):
        return (type(value), value.real.hex(), value.imag.hex())
    if isinstance(value, tuple):
        return (tuple, *map(signature_key, value))
    if isinstance(value, frozenset):
        return (frozenset, frozenset(map(signature_key, value)))
    return (type(value), value)


def shown(value: Any) -> str:
    """A value for a message: its repr if simple and short, else its type."""
    text = repr(value) if is_simple(value) else f"a {type(value).__name__}"
    return text if len(text) <= 40 else text[:37] + "..."


# --- one value a step reads -------------------------------------------------------------------

# the keys of a container's length, a set's members (as a frozenset), a cell's contents
LENGTH, MEMBERS, CELL = object(), object(), object()
MAX_ARRAY = 64  # NumPy arrays of at most this many numbers are compared by their values too


@dataclass(frozen=True)
class PythonValue:
    """What the step's code calls `name`: `holder[key]` for a namespace or a container (a
    dict, a class's mapping, a list or tuple with an int key), `getattr(holder, key)` for a
    slot, a closure cell's contents (key CELL), the length of a container (key LENGTH), or
    the members of a set (key MEMBERS)."""

    name: str
    holder: Any
    key: Any  # a name, a container's key, CELL, LENGTH or MEMBERS
    value: Any  # before the recorded call
    content: Any = None  # of a small NumPy array, which may change in place (`lr[...] = 0.1`)

    def read(self) -> Any:
        try:
            if self.key is CELL:
                return self.holder.cell_contents
            if self.key is LENGTH:
                return len(self.holder)
            if self.key is MEMBERS:
                return frozenset(self.holder)
            if isinstance(self.holder, dict):  # (dict.get: a defaultdict's is not called)
                return dict.get(self.holder, self.key, UNSET)
            if isinstance(self.holder, types.MappingProxyType):
                return self.holder.get(self.key, UNSET)
            if isinstance(self.holder, (list, tuple)):  # `models[0]` (gone: UNSET, below)
                return self.holder[self.key]
            return getattr(self.holder, self.key, UNSET)
        except Exception:  # an empty cell, a slot's getter that raises
            return UNSET

    def holds(self) -> bool:
        """Does it read as before?"""
        return self.same(self.read())

    def same(self, now: Any) -> bool:
        """Is `now` what this value was: the same simple value, or the very same object?"""
        if self.content is not None:  # `float(lr)`, `lr * 2`: the same array, as it was
            return now is self.value and content_of(now) == self.content
        if self.key is MEMBERS and not is_simple(self.value):  # a set of objects: the very
            # same ones (the members held here stay alive: no new object has one of their ids)
            return isinstance(now, frozenset) and set(map(id, now)) == set(map(id, self.value))
        return now is self.value or (is_simple(self.value) and identical(now, self.value))


def content_of(array: np.ndarray) -> tuple[str, tuple[int, ...], bytes]:
    return array.dtype.str, array.shape, array.tobytes()
