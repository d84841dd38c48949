"""Ops that move elements without arithmetic: reshape, permute, expand, cat, and indexing.

Reshape, permute, expand and basic indexing return views: the output shares its values (and
so its version counter) with the input."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .._args import Index, _as_arrays, _dim, _index_tensors, _operand
from ..errors import ShapeError
from ..tensor import Tensor
from ._builtin import BuiltinOp
from .elementwise import cast

Ctx = Any
Grads = tuple["Tensor | None", ...]


class Reshape(BuiltinOp):
    """z = x with another shape, same elements in the same order;  dz/dx: reshape back."""

    @staticmethod
    def forward(ctx: Ctx, x: Tensor, shape: tuple[int, ...]) -> Tensor:
        ctx.input_shape = x.shape
        return x._view(x._data.reshape(shape))

    @staticmethod
    def backward(ctx: Ctx, g: Tensor) -> Grads:
        return g.reshape(ctx.input_shape), None

    def _shape_message(self, error: Exception, args: Sequence[Any]) -> str:
        x, shape = args
        return (
            f"reshape: cannot reshape a tensor of shape {x.shape} ({x.numel()} elements) "
            f"into {shape}"
        )


class Permute(BuiltinOp):
    """z = x with its dimensions reordered;  dz/dx: the inverse reordering."""

    @staticmethod
    def forward(ctx: Ctx, x: Tensor, dims: tuple[int, ...]) -> Tensor:
        ctx.inverse = tuple(sorted(range(len(dims)), key=dims.__getitem__))
        return x._view(x._data.transpose(dims))

    @staticmethod
    def backward(ctx: Ctx, g: Tensor) -> Grads:
        return g.permute(ctx.inverse), None


class Expand(BuiltinOp):
    """z = x repeated along dimensions of size 1 (broadcasting);  dz/dx sums the copies.
    The sum is the engine's unbroadcast, which every input of every op gets."""

    @staticmethod
    def forward(ctx: Ctx, x: Tensor, shape: tuple[int, ...]) -> Tensor:
        return x._view(np.broadcast_to(x._data, shape))

    @staticmethod
    def backward(ctx: Ctx, g: Tensor) -> Grads:
        return g, None

    def _shape_message(self, error: Exception, args: Sequence[Any]) -> str:
        x, shape = args
        return f"expand: cannot expand a tensor of shape {x.shape} to {shape}"


class Cat(BuiltinOp):
    """z = the inputs joined along `dim`;  dz/dx_i = the slice of g that came from x_i."""

    @staticmethod
    def forward(ctx: Ctx, dim: int, *tensors: Tensor) -> Tensor:
        ctx.dim = dim
        ctx.bounds = np.cumsum([0] + [t.shape[dim] for t in tensors]).tolist()
        return Tensor._make(np.concatenate([t._data for t in tensors], axis=dim))

    @staticmethod
    def backward(ctx: Ctx, g: Tensor) -> Grads:
        before = (slice(None),) * ctx.dim
        slices = [slice(start, stop) for start, stop in zip(ctx.bounds[:-1], ctx.bounds[1:])]
        return (None, *(g[before + (part,)] for part in slices))

    def _shape_message(self, error: Exception, args: Sequence[Any]) -> str:
        shapes = ", ".join(str(t.shape) for t in args if isinstance(t, Tensor))
        return f"cat: tensors must have the same shape except in the joined dim; got {shapes}"


class GetItem(BuiltinOp):
    """z = x[index];  dz/dx: g scattered back into zeros of x's shape, repeats adding up.
    Tensors in the index are saved, so changing them before backward is refused."""

    @staticmethod
    def forward(ctx: Ctx, x: Tensor, index: Index) -> Tensor:
        ctx.index, ctx.input_shape = index, x.shape
        ctx.save_for_backward(*_index_tensors(index))
        data = x._data[_as_arrays(index)]
        if _index_tensors(index):  # tensors in the index give a copy
            return Tensor._make(data)
        if isinstance(data, np.generic):  # an int for every axis: NumPy's scalar is a copy,
            data = x._data[(*index, ...) if isinstance(index, tuple) else (index, ...)]  # 0-d
        return x._view(data)  # basic indexing (ints, slices, None, ...) gives a view of x

    @staticmethod
    def backward(ctx: Ctx, g: Tensor) -> Grads:
        ctx.saved_tensors  # noqa: B018  (checks the index tensors are unchanged)
        return IndexAdd.apply(g, ctx.index, ctx.input_shape), None

    @classmethod
    def op_name(cls) -> str:
        return "getitem"


class IndexAdd(BuiltinOp):
    """z = zeros(shape) with g added at `index` (GetItem's backward);  dz/dg = z[index]."""

    @staticmethod
    def forward(ctx: Ctx, g: Tensor, index: Index, shape: tuple[int, ...]) -> Tensor:
        ctx.index = index
        ctx.save_for_backward(*_index_tensors(index))
        out = np.zeros(shape, dtype=g.dtype)
        np.add.at(out, _as_arrays(index), g._data)  # an index repeated gets every update
        return Tensor._make(out)

    @staticmethod
    def backward(ctx: Ctx, gg: Tensor) -> Grads:
        ctx.saved_tensors  # noqa: B018  (checks the index tensors are unchanged)
        return gg[ctx.index], None, None


class IndexPut(BuiltinOp):
    """z = x with z[index] = v (what `x[index] = v` records);  dz/dx = 1 outside the index,
    dz/dv = g[index], summed to v's shape."""

    @staticmethod
    def forward(ctx: Ctx, x: Tensor, index: Index, v: Tensor) -> Tensor:
        ctx.index = index
        ctx.save_for_backward(*_index_tensors(index))
        out = x._data.copy()
        out[_as_arrays(index)] = v._data
        return Tensor._make(out)

    @staticmethod
    def backward(ctx: Ctx, g: Tensor) -> Grads:
        ctx.saved_tensors  # noqa: B018  (checks the index tensors are unchanged)
        gx = IndexPut.apply(g, ctx.index, Tensor._make(np.zeros((), dtype=g.dtype)))
        return gx, None, g[ctx.index]


# --- the shape methods' argument handling, so that each Tensor method is one line --------------


def permute(x: Tensor, dims: tuple[int, ...]) -> Tensor:
    order = tuple(_dim(d, x.ndim, "permute") for d in dims)
    if sorted(order) != list(range(x.ndim)):
        raise ShapeError(f"permute: {dims} is not an ordering of the {x.ndim} dims")
    return Permute.apply(x, order)


def transpose(x: Tensor, dim0: int, dim1: int) -> Tensor:
    """dims dim0 and dim1 swapped (a 0-d tensor accepts 0 and -1 and stays as it is)."""
    a, b = _dim(dim0, x.ndim, "transpose"), _dim(dim1, x.ndim, "transpose")
    dims = list(range(x.ndim))
    if x.ndim:
        dims[a], dims[b] = dims[b], dims[a]
    return Permute.apply(x, tuple(dims))


def t(x: Tensor) -> Tensor:
    if x.ndim > 2:
        raise ShapeError(f"t(): expects a tensor with at most 2 dims, got shape {x.shape}")
    return transpose(x, 0, 1) if x.ndim == 2 else x


def flatten(x: Tensor, start_dim: int, end_dim: int) -> Tensor:
    if x.ndim == 0:
        return x.reshape(1)
    start, end = _dim(start_dim, x.ndim, "flatten"), _dim(end_dim, x.ndim, "flatten")
    return x.reshape(x.shape[:start] + (-1,) + x.shape[end + 1 :])


def squeeze(x: Tensor, dim: Any) -> Tensor:
    """Dimensions of size 1 removed: all of them, or `dim` (an int or a tuple) if it is 1."""
    if dim is None:
        return x.reshape(tuple(n for n in x.shape if n != 1))
    dims = {_dim(d, x.ndim, "squeeze") for d in (dim if isinstance(dim, tuple) else (dim,))}
    return x.reshape(tuple(n for i, n in enumerate(x.shape) if i not in dims or n != 1))


def unsqueeze(x: Tensor, dim: int) -> Tensor:
    d = _dim(dim, x.ndim + 1, "unsqueeze")
    return x.reshape(x.shape[:d] + (1,) + x.shape[d:])


def expand(x: Tensor, sizes: tuple[int, ...]) -> Tensor:
    offset = len(sizes) - x.ndim
    shape = tuple(
        x.shape[i - offset] if n == -1 and i >= offset else n for i, n in enumerate(sizes)
    )
    return x if shape == x.shape else Expand.apply(x, shape)


# --- indexing with PyTorch's rule -------------------------------------------------------------


def _is_int(part: Any) -> bool:
    """An int in an index: a Python or NumPy int, or (as PyTorch takes it) a 0-d int tensor."""
    if isinstance(part, Tensor):
        return part.ndim == 0 and part.dtype.kind in "iu"
    return isinstance(part, (int, np.integer)) and not isinstance(part, bool)


def index_steps(index: Index) -> list[Index]:
    """The index as the steps PyTorch takes. An index mixing ints with arrays is two steps:
    first the ints, slices and None (basic indexing, a view), then the arrays, so that for x of
    shape (2, 3, 4), x[0, :, [0, 1]] has shape (3, 2). NumPy takes the int as an array too and,
    since a slice separates the two, puts their broadcast dimension first: (2, 3)."""
    parts = index if isinstance(index, tuple) else (index,)
    has_arrays = any(isinstance(p, Tensor) and not _is_int(p) for p in parts)
    if not has_arrays or not any(_is_int(p) for p in parts):
        return [index]
    basic: list[Any] = []
    arrays: list[Any] = []
    for part in parts:
        if _is_int(part):
            basic.append(int(part))
        elif isinstance(part, Tensor):  # the dimensions it indexes are kept whole for now
            basic += [slice(None)] * (part.ndim if part.dtype == bool else 1)
            arrays.append(part)
        elif part is Ellipsis:
            basic.append(part)
            arrays.append(part)
        else:  # a slice, or None, whose dimension now exists
            basic.append(part)
            arrays.append(slice(None))
    return [tuple(basic), tuple(arrays)]


def get_item(x: Tensor, index: Index) -> Tensor:
    for step in index_steps(index):
        x = GetItem.apply(x, step)
    return x


def put_item(x: Tensor, index: Index, value: Tensor) -> Tensor:
    """The out-of-place `x[index] = value`, which a recorded in-place change writes in."""
    steps = index_steps(index)
    if len(steps) == 1:
        return IndexPut.apply(x, index, value)
    basic, arrays = steps
    return IndexPut.apply(x, basic, IndexPut.apply(GetItem.apply(x, basic), arrays, value))


def set_item_array(array: np.ndarray, index: Index, value: Any) -> None:
    """`array[index] = value` in place, with PyTorch's rule (see `index_steps`)."""
    *basic, last = index_steps(index)
    for step in basic:
        array = array[_as_arrays(step)]  # basic indexing: a view, so the write reaches array
    array[_as_arrays(last)] = value


def reshape(x: Tensor, shape: tuple[int, ...]) -> Tensor:
    return x if shape == x.shape else Reshape.apply(x, shape)


def item_setters(index: Index) -> tuple[Callable[..., None], Callable[..., Tensor]]:
    """The two ways of doing `x[index] = value` that an in-place change picks from: on the
    array, or out of place (recorded) with value converted to x's dtype."""
    return (
        lambda array, value: set_item_array(array, index, value),
        lambda x, value: put_item(x, index, cast(_operand(value, x), x.dtype)),
    )
