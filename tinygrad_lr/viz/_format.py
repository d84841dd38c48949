"""Numbers and arrays as a person would write them: `2` not `2.`, `0` not `-0.`, four
significant digits, and a short summary for tensors too big to show in full."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np


def format_number(value: Any) -> str:
    """One number: integers as integers, others with 4 significant digits; -0 is 0."""
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    number = float(value)
    if np.isnan(number):
        return "nan"
    if np.isinf(number):
        return "inf" if number > 0 else "-inf"
    if number == 0:
        return "0"  # also for -0.0, which says nothing a learner needs
    if number.is_integer() and abs(number) < 1e6:
        return str(int(number))
    text = f"{number:.4g}"
    return "0" if text in ("0", "-0") else text


def format_array(array: Any, max_values: int = 6) -> str:
    """Small arrays in full, nested as their shape; large ones as a summary
    (`mean 49.5, from 0 to 99`, or `all 0`), with NaNs and infinities counted."""
    array = np.asarray(array)
    if array.size <= max(max_values, 1) or array.ndim == 0:
        # Built by hand: np.array2string is slow and prints `0.` and `-0.`.
        items = [format_number(v) for v in array.ravel().tolist()]
        if array.ndim == 0:
            return items[0]
        for length in reversed(array.shape[1:]):
            items = [
                "[" + ", ".join(items[i : i + length]) + "]" for i in range(0, len(items), length)
            ]
        return "[" + ", ".join(items) + "]"
    if array.dtype.kind == "b":
        return f"{int(array.sum())} of {array.size} true"
    with np.errstate(all="ignore"):
        finite = array[np.isfinite(array)] if array.dtype.kind in "fc" else array
        if finite.size == 0:
            summary = "no finite values"
        else:
            low, high = finite.min(), finite.max()
            if low == high:
                summary = f"all {format_number(low)}"
            else:
                mean = format_number(finite.mean())
                summary = f"mean {mean}, from {format_number(low)} to {format_number(high)}"
    bad = array.size - finite.size
    return summary + (f", {bad} nan/inf" if bad else "")


def format_param(value: Any) -> str:
    """An op's non-tensor argument (axes, exponent, dtype...) in a few characters."""
    if isinstance(value, np.ndarray):
        return f"array{value.shape}"
    if isinstance(value, (float, int, np.number)) and not isinstance(value, bool):
        return format_number(value)
    if isinstance(value, np.dtype):
        return str(value)
    if callable(value):
        return getattr(value, "__name__", "function")
    text = repr(value)
    return text if len(text) <= 24 else text[:21] + "..."


def quote(lines: Iterable[str]) -> str:
    """A DOT string literal; lines are separated by DOT's centred line break."""
    escaped = (line.replace("\\", "\\\\").replace('"', '\\"') for line in lines)
    return '"' + "\\n".join(escaped) + '"'
