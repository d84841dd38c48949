"""Making tensors: from data, filled with constants, ranges, and random draws.

Random draws come from one NumPy generator for the whole library; `manual_seed(n)` resets it,
so a script that seeds once is repeatable, as in PyTorch.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .autograd import graph
from .tensor import Tensor, _dtype, _shape_args, _to_array

_generator = np.random.default_rng()


def manual_seed(seed: int) -> np.random.Generator:
    """Reset the library's random generator, making later random draws repeatable."""
    global _generator
    _generator = np.random.default_rng(seed)
    return _generator


def default_generator() -> np.random.Generator:
    """The generator behind rand, randn, normal, randperm, nn initialisation..."""
    return _generator


def _size(size: Any, where: str) -> tuple[int, ...]:
    """A shape given as f(2, 3) or f((2, 3)), checked to be non-negative integers."""
    shape = _shape_args(size, where)
    if any(n < 0 for n in shape):
        raise ValueError(f"{where}: sizes must be non-negative, got {shape}")
    return shape


def _new(array: np.ndarray, dtype: Any, requires_grad: bool) -> Tensor:
    if dtype is not None:
        array = array.astype(_dtype(dtype, "dtype"), copy=False)
    tensor = Tensor._make(array, False, None)
    return tensor.requires_grad_(True) if requires_grad else tensor


def _drawn(method: str, args: tuple[Any, ...], dtype: Any, requires_grad: bool) -> Tensor:
    """A tensor of random draws `generator.<method>(*args)`; op observers are told what was
    drawn (tl.compile draws again from the same generator at each call)."""
    drawn = _new(getattr(_generator, method)(*args), dtype, requires_grad)
    for observer in graph._observers:
        on_random = getattr(observer, "on_random", None)
        if on_random is not None:
            on_random(drawn, method, args)
    return drawn


def tensor(
    data: Any, dtype: Any = None, requires_grad: bool = False, name: str | None = None
) -> Tensor:
    """A new tensor holding a copy of `data` (numbers, nested lists, an array or a tensor)."""
    return Tensor(data, requires_grad=requires_grad, dtype=dtype, name=name)


def as_tensor(data: Any, dtype: Any = None) -> Tensor:
    """`data` as a tensor, sharing memory with a NumPy array or tensor when no copy is needed."""
    if isinstance(data, Tensor) and (dtype is None or np.dtype(dtype) == data.dtype):
        return data
    return Tensor._make(_to_array(data, dtype, copy=False, where="as_tensor"), False, None)


def from_numpy(array: np.ndarray) -> Tensor:
    """A tensor sharing memory with `array`: changing one changes the other."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy: expected a NumPy array, got {type(array).__name__}")
    return Tensor._make(_to_array(array, None, copy=False, where="from_numpy"), False, None)


def zeros(*size: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return _new(np.zeros(_size(size, "zeros")), dtype, requires_grad)


def ones(*size: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return _new(np.ones(_size(size, "ones")), dtype, requires_grad)


def full(size: Any, fill_value: float, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    if isinstance(fill_value, str) or not np.isscalar(fill_value):
        raise TypeError(f"full: fill_value must be a number, got {fill_value!r}")
    return _new(np.full(_size((size,), "full"), fill_value), dtype, requires_grad)


def zeros_like(other: Tensor, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return _new(np.zeros_like(np.asarray(other)), dtype, requires_grad)


def ones_like(other: Tensor, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return _new(np.ones_like(np.asarray(other)), dtype, requires_grad)


def full_like(
    other: Tensor, fill_value: float, dtype: Any = None, requires_grad: bool = False
) -> Tensor:
    return _new(np.full_like(np.asarray(other), fill_value), dtype, requires_grad)


def arange(
    start: float,
    end: float | None = None,
    step: float = 1,
    dtype: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    """start, start + step, ... up to but excluding end (int64 for whole-number arguments)."""
    if end is None:
        start, end = 0, start
    if step == 0:
        raise ValueError("arange: step must not be zero")
    return _new(np.arange(start, end, step), dtype, requires_grad)


def linspace(
    start: float, end: float, steps: int, dtype: Any = None, requires_grad: bool = False
) -> Tensor:
    """`steps` evenly spaced values from start to end, both included."""
    if steps < 0:
        raise ValueError(f"linspace: steps must be non-negative, got {steps}")
    return _new(np.linspace(start, end, steps), dtype, requires_grad)


def eye(n: int, m: int | None = None, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return _new(np.eye(n, m), dtype, requires_grad)


def rand(*size: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """Uniform draws from [0, 1)."""
    return _drawn("random", (_size(size, "rand"),), dtype, requires_grad)


def randn(*size: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """Standard normal draws."""
    return _drawn("standard_normal", (_size(size, "randn"),), dtype, requires_grad)


def rand_like(other: Tensor, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return rand(other.shape, dtype=dtype or other.dtype, requires_grad=requires_grad)


def randn_like(other: Tensor, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return randn(other.shape, dtype=dtype or other.dtype, requires_grad=requires_grad)


def normal(
    mean: Any = 0.0,
    std: Any = 1.0,
    size: Any = None,
    *,
    dtype: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    """Normal draws with the given mean and standard deviation (numbers or tensors)."""
    mean_array, std_array = np.asarray(mean, dtype=float), np.asarray(std, dtype=float)
    if np.any(std_array < 0):
        raise ValueError(f"normal: std must be non-negative, got {std}")
    shape = None if size is None else _size((size,), "normal")
    return _drawn("normal", (mean_array, std_array, shape), dtype, requires_grad)


def randint(low: int, high: int | None = None, size: Any = (), dtype: Any = None) -> Tensor:
    """Integers drawn uniformly from [low, high)."""
    if high is None:
        low, high = 0, low
    if low >= high:
        raise ValueError(f"randint: needs low < high, got low={low}, high={high}")
    return _drawn("integers", (low, high, _size((size,), "randint")), dtype, False)


def randperm(n: int, dtype: Any = None) -> Tensor:
    """A random ordering of 0 .. n-1 (for shuffling minibatches)."""
    return _drawn("permutation", (n,), dtype, False)
