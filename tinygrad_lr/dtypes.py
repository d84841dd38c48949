"""Dtypes under PyTorch's names. They are NumPy dtypes: `tl.float32 == np.float32`.

The default floating dtype is float64 (PyTorch's is float32): the gradient checks by central
differences need its precision. `tl.float` is float32 and `tl.int` int32, as in PyTorch.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .errors import DTypeError

dtype = np.dtype  # `isinstance(x.dtype, tl.dtype)` works
finfo = np.finfo  # `tl.finfo(tl.float32).eps`, `.max`, `.tiny`
iinfo = np.iinfo

float16 = np.dtype("float16")
float32 = np.dtype("float32")
float64 = np.dtype("float64")
int8 = np.dtype("int8")
uint8 = np.dtype("uint8")
int16 = np.dtype("int16")
int32 = np.dtype("int32")
int64 = np.dtype("int64")
half = float16
double = float64
short = int16
long = int64

_DEFAULT_FLOAT = float64


def resolve_dtype(value: Any, where: str) -> np.dtype:
    """`value` (a dtype, `np.float32`, "float32"...) as a NumPy dtype, or a DTypeError."""
    try:
        return np.dtype(value)
    except TypeError:
        raise DTypeError(
            f"{where}: unknown dtype {value!r}; use e.g. tl.float32, tl.float64 or tl.int64"
        ) from None


def get_default_dtype() -> np.dtype:
    """The dtype of `tensor(1.5)`, `zeros(3)`, `randn(3)`...: float64 here."""
    return _DEFAULT_FLOAT


def set_default_dtype(value: Any) -> None:
    """Accepts float64, the library's fixed default; refuses any other dtype (rather than
    silently keep float64): convert tensors with `.float()` or `dtype=tl.float32` instead."""
    resolved = resolve_dtype(value, "set_default_dtype")
    if resolved != _DEFAULT_FLOAT:
        raise DTypeError(
            f"set_default_dtype: tinygrad_lr's default floating dtype is fixed at float64, got "
            f"{resolved}; pass dtype={resolved.name} to the factories or convert with .float()"
        )


# Last: these names shadow Python's built-in types in the rest of this module.
float = float32
int = int32
bool = np.dtype("bool")
