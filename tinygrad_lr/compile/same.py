"""What counts as the same Python value, for the check before a replay: numbers, strings,
flags, enums, NumPy scalars, and tuples and frozensets of them are compared by value (floats
to the bit: 0.0 is not -0.0, NaN is NaN); every other object by identity."""

from __future__ import annotations

import enum
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
