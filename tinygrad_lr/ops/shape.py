"""Ops that move elements without arithmetic: reshape, permute, expand, cat, and indexing.

Reshape, permute, expand and basic indexing return views: the output shares its values (and
so its version counter) with the input."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .._args import Index, _as_arrays, _index_tensors
from ..tensor import Tensor
from ._builtin import BuiltinOp

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
        # Basic indexing (ints, slices, None, ...) gives a view of x; tensors give a copy.
        return x._view(data) if not _index_tensors(index) else Tensor._make(data)

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
        out = np.zeros(shape, dtype=g.dtype)
        np.add.at(out, _as_arrays(index), g._data)  # an index repeated gets every update
        return Tensor._make(out)

    @staticmethod
    def backward(ctx: Ctx, gg: Tensor) -> Grads:
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
