"""Making tensors: from data, filled with constants, ranges, and random draws.

Random draws come from the library's default generator unless `generator=` names another one;
`manual_seed(n)` resets the default, so a script that seeds once is repeatable, as in PyTorch.
`device=` accepts the CPU ("cpu" or `device("cpu")`), the only device, and refuses others.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._args import _dtype, _shape_args, _to_array
from .autograd import graph
from .device import check_device
from .generator import default_generator, manual_seed, numpy_generator
from .tensor import Tensor

__all__ = [
    "arange",
    "as_tensor",
    "default_generator",
    "empty",
    "eye",
    "from_numpy",
    "full",
    "full_like",
    "linspace",
    "manual_seed",
    "normal",
    "ones",
    "ones_like",
    "rand",
    "rand_like",
    "randint",
    "randn",
    "randn_like",
    "randperm",
    "tensor",
    "zeros",
    "zeros_like",
]


def _size(size: Any, where: str) -> tuple[int, ...]:
    """A shape given as f(2, 3) or f((2, 3)), checked to be non-negative integers."""
    shape = _shape_args(size, where)
    if any(n < 0 for n in shape):
        raise ValueError(f"{where}: sizes must be non-negative, got {shape}")
    return shape


def _new(
    array: np.ndarray, dtype: Any, requires_grad: bool, device: Any = None, where: str = ""
) -> Tensor:
    check_device(device, where or "device")
    if dtype is not None:
        array = array.astype(_dtype(dtype, "dtype"), copy=False)
    tensor = Tensor._make(array, False, None)
    return graph.set_requires_grad(tensor, True, new=True) if requires_grad else tensor


def _drawn(
    generator: Any,
    method: str,
    args: tuple[Any, ...],
    dtype: Any,
    requires_grad: bool,
    device: Any,
    where: str,
) -> Tensor:
    """A tensor of random draws `generator.<method>(*args)`; op observers are told what was
    drawn and from which generator (tl.compile draws again at each call)."""
    rng = numpy_generator(generator, where)
    drawn = _new(getattr(rng, method)(*args), dtype, requires_grad, device, where)
    for observer in graph._observers:
        on_random = getattr(observer, "on_random", None)
        if on_random is not None:
            on_random(drawn, method, args, rng)
    return drawn


def legacy_data(sizes_or_data: Any, dtype: Any) -> np.ndarray:
    """The values of PyTorch's legacy constructor: `Tensor(2, 3)` is a (2, 3) tensor (zeros
    here; PyTorch leaves them unset), `Tensor()` is empty, and `Tensor(data)` copies a sequence,
    array or tensor. The result is floating: integer and bool data become the default float64
    (PyTorch's `torch.Tensor` is its default float32). An array alone is `Tensor(array)`'s
    data (as tl.compile converts it again at every call)."""
    if isinstance(sizes_or_data, np.ndarray):
        sizes_or_data = (sizes_or_data,)
    if all(isinstance(n, int | np.integer) and not isinstance(n, bool) for n in sizes_or_data):
        sizes = tuple(int(n) for n in sizes_or_data) or (0,)
        if any(n < 0 for n in sizes):
            raise ValueError(f"Tensor: sizes must be non-negative, got {sizes}")
        return np.zeros(sizes, dtype=np.float64 if dtype is None else _dtype(dtype, "Tensor"))
    if len(sizes_or_data) > 1 or isinstance(sizes_or_data[0], bool | float | complex):
        raise TypeError(
            f"Tensor{sizes_or_data!r}: takes sizes (ints) or one sequence, array or tensor; "
            "for a 0-d tensor write tl.tensor(value)"
        )
    array = _to_array(sizes_or_data[0], dtype, copy=True, where="Tensor")
    return array if dtype is not None or array.dtype.kind == "f" else array.astype(np.float64)


def tensor(
    data: Any,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
    name: str | None = None,
) -> Tensor:
    """A new tensor holding a copy of `data` (numbers, nested lists, an array or a tensor):
    Python floats become float64 and ints int64; arrays and tensors keep their dtype."""
    check_device(device, "tensor")
    made = _new(_to_array(data, dtype, copy=True, where="tensor"), None, requires_grad)
    made.name = name
    if graph._observers:  # (tl.compile converts an array again at every call)
        graph.note_from_array(made, data, _to_array, dtype=dtype, copy=True, where="tensor")
    return made


def as_tensor(data: Any, dtype: Any = None, device: Any = None) -> Tensor:
    """`data` as a tensor, sharing memory with a NumPy array or tensor when no copy is needed."""
    check_device(device, "as_tensor")
    if isinstance(data, Tensor) and (dtype is None or np.dtype(dtype) == data.dtype):
        return data
    made = Tensor._make(_to_array(data, dtype, copy=False, where="as_tensor"), False, None)
    if graph._observers:  # (tl.compile converts an array again at every call)
        graph.note_from_array(made, data, _to_array, dtype=dtype, copy=False, where="as_tensor")
    return made


def from_numpy(array: np.ndarray) -> Tensor:
    """A tensor sharing memory with `array`: changing one changes the other."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy: expected a NumPy array, got {type(array).__name__}")
    if array.dtype.kind in "fiub":  # numbers: nothing to check or convert (every data batch)
        return Tensor._make(array)  # (its array is the array: tl.compile needs no note)
    return Tensor._make(_to_array(array, None, copy=False, where="from_numpy"), False, None)


def zeros(*size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    return _new(np.zeros(_size(size, "zeros")), dtype, requires_grad, device, "zeros")


def ones(*size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    return _new(np.ones(_size(size, "ones")), dtype, requires_grad, device, "ones")


def empty(*size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    """A tensor of the given shape, filled with zeros (PyTorch leaves the values unset)."""
    return _new(np.zeros(_size(size, "empty")), dtype, requires_grad, device, "empty")


def full(
    size: Any,
    fill_value: float,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    if isinstance(fill_value, str) or not np.isscalar(fill_value):
        raise TypeError(f"full: fill_value must be a number, got {fill_value!r}")
    return _new(np.full(_size((size,), "full"), fill_value), dtype, requires_grad, device, "full")


def _dtype_of(other: Any) -> np.dtype:
    """The dtype of a tensor or array, read without reading its values (a traced step may take
    a shape and a dtype from any tensor, but not its values)."""
    return other.dtype if isinstance(other, (Tensor, np.ndarray)) else np.asarray(other).dtype


def zeros_like(
    other: Tensor, dtype: Any = None, device: Any = None, requires_grad: bool = False
) -> Tensor:
    return _new(
        np.zeros(np.shape(other), _dtype_of(other)), dtype, requires_grad, device, "zeros_like"
    )


def ones_like(
    other: Tensor, dtype: Any = None, device: Any = None, requires_grad: bool = False
) -> Tensor:
    return _new(
        np.ones(np.shape(other), _dtype_of(other)), dtype, requires_grad, device, "ones_like"
    )


def full_like(
    other: Tensor,
    fill_value: float,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    array = np.full(np.shape(other), fill_value, _dtype_of(other))
    return _new(array, dtype, requires_grad, device, "full_like")


def arange(
    start: float,
    end: float | None = None,
    step: float = 1,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    """start, start + step, ... up to but excluding end (int64 for whole-number arguments)."""
    if end is None:
        start, end = 0, start
    if step == 0:
        raise ValueError("arange: step must not be zero")
    return _new(np.arange(start, end, step), dtype, requires_grad, device, "arange")


def linspace(
    start: float,
    end: float,
    steps: int,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    """`steps` evenly spaced values from start to end, both included."""
    if steps < 0:
        raise ValueError(f"linspace: steps must be non-negative, got {steps}")
    return _new(np.linspace(start, end, steps), dtype, requires_grad, device, "linspace")


def eye(
    n: int,
    m: int | None = None,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    return _new(np.eye(n, m), dtype, requires_grad, device, "eye")


def rand(
    *size: Any,
    generator: Any = None,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    """Uniform draws from [0, 1)."""
    return _drawn(generator, "random", (_size(size, "rand"),), dtype, requires_grad, device, "rand")


def randn(
    *size: Any,
    generator: Any = None,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    """Standard normal draws."""
    return _drawn(
        generator, "standard_normal", (_size(size, "randn"),), dtype, requires_grad, device, "randn"
    )


def rand_like(
    other: Tensor, dtype: Any = None, device: Any = None, requires_grad: bool = False
) -> Tensor:
    dtype = dtype or other.dtype
    return rand(other.shape, dtype=dtype, device=device, requires_grad=requires_grad)


def randn_like(
    other: Tensor, dtype: Any = None, device: Any = None, requires_grad: bool = False
) -> Tensor:
    dtype = dtype or other.dtype
    return randn(other.shape, dtype=dtype, device=device, requires_grad=requires_grad)


def normal(
    mean: Any = 0.0,
    std: Any = 1.0,
    size: Any = None,
    *,
    generator: Any = None,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    """Normal draws with the given mean and standard deviation (numbers or tensors)."""
    mean_array, std_array = np.asarray(mean, dtype=float), np.asarray(std, dtype=float)
    if np.any(std_array < 0):
        raise ValueError(f"normal: std must be non-negative, got {std}")
    shape = None if size is None else _size((size,), "normal")
    return _drawn(
        generator,
        "normal",
        (
            mean_array,
            std_array,
            shape,
        ),
        dtype,
        requires_grad,
        device,
        "normal",
    )


def randint(
    low: int,
    high: int | None = None,
    size: Any = (),
    *,
    generator: Any = None,
    dtype: Any = None,
    device: Any = None,
) -> Tensor:
    """Integers drawn uniformly from [low, high)."""
    if high is None:
        low, high = 0, low
    if low >= high:
        raise ValueError(f"randint: needs low < high, got low={low}, high={high}")
    return _drawn(
        generator,
        "integers",
        (
            low,
            high,
            _size((size,), "randint"),
        ),
        dtype,
        False,
        device,
        "randint",
    )


def randperm(
    n: int,
    *,
    generator: Any = None,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    """A random ordering of 0 .. n-1 (for shuffling minibatches)."""
    return _drawn(generator, "permutation", (n,), dtype, requires_grad, device, "randperm")
