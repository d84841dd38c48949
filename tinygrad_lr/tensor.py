"""The Tensor: a NumPy array that remembers how it was computed.

A tensor made by a recorded op has that op's node as its `grad_fn` (see autograd/); `backward()`
runs the backward pass from it and fills in `.grad` of the leaves. Every method here that
computes something is one line that calls an op from `ops`: the math lives there, each backward
right under its forward.

The values live in the NumPy array `_data`. As in PyTorch, `.data` is a Tensor that shares
those values but is cut from the graph, and `.numpy()` returns the array itself.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, Union

import numpy as np

from ._args import (
    Index,
    Size,
    _as_numpy,
    _axis,
    _dim,
    _format,
    _index,
    _length,
    _one_dim,
    _operand,
    _operands,
    _python_values,
    _reduction_args,
    _repr,
    _shape_args,
    _single_value,
    _tensor_type,
    _to_args,
    _to_array,
    _unrecorded_array,
)
from ._missing import missing_tensor_attribute
from .autograd import graph
from .autograd.engine import run_backward
from .autograd.in_place import change_in_place, replaced, track_view
from .device import device
from .errors import DeviceError

Scalar = Union[int, float, bool]  # noqa: UP007 - a runtime alias, kept 3.10-friendly
Operand = Union["Tensor", np.ndarray, Scalar]
Hook = Callable[["Tensor"], "Tensor | None"]


def _as(dtype: Any) -> Callable[[Tensor], Tensor]:
    """The method `x.float()`, `x.long()`...: x converted to `dtype` (x itself if it is)."""
    return lambda tensor: ops.cast(tensor, np.dtype(dtype))


class Tensor:
    """An n-dimensional array of numbers that records its graph for reverse-mode autodiff."""

    __slots__ = (
        "__weakref__",
        "_accumulator",
        "_base",
        "_data",
        "_grad",
        "_hooks",
        "_output_nr",
        "_requires_grad",
        "_version_counter",
        "_views",
        "grad_fn",
        "name",
    )
    # NumPy leaves `array op tensor` to Tensor's reflected operators, so it is recorded too.
    __array_ufunc__ = None

    _data: np.ndarray
    grad_fn: graph.Node | None
    name: str | None

    def __init__(
        self, *data: Any, requires_grad: bool = False, dtype: Any = None, name: str | None = None
    ) -> None:
        """PyTorch's legacy constructor: Tensor(2, 3) is (2, 3) zeros, Tensor(data) floating."""
        self._set_fields(creation.legacy_data(data, dtype))
        if len(data) == 1:  # an array: tl.compile converts it again at every call
            graph.note_from_array(self, data[0], creation.legacy_data, dtype=dtype)
        self.name = name
        if requires_grad:
            graph.set_requires_grad(self, True, new=True)

    @classmethod
    def _make(cls, data: Any, requires_grad: bool = False, grad_fn: None = None) -> Tensor:
        """A new leaf around `data`, a fresh array the tensor owns (the engine's constructor)."""
        tensor = object.__new__(Tensor)
        tensor._set_fields(data if type(data) is np.ndarray else np.asarray(data))
        tensor._requires_grad = requires_grad
        return tensor

    def _set_fields(self, data: np.ndarray) -> None:
        self._data = data
        self._requires_grad = False
        self.grad_fn = None
        self._output_nr = 0
        self._grad: Tensor | None = None
        self.name = None
        self._hooks: tuple[Hook, ...] = ()
        self._accumulator: weakref.ref[graph.AccumulateGrad] | None = None
        self._base: Tensor | None = None  # the tensor whose values a view shares
        self._views: weakref.WeakSet[Tensor] | None = None  # views of it that may record
        # [how many in-place changes], shared by views of the same values (see autograd.in_place)
        self._version_counter = [0]

    def _view(self, data: np.ndarray) -> Tensor:
        """A new tensor around `data`, a view of this one's values: they share the version
        counter, so an in-place change to either is seen by ops that saved the other."""
        view = Tensor._make(data)
        view._version_counter = self._version_counter
        view._base = self if self._base is None else self._base
        return track_view(view) if self._requires_grad else view

    def _attach(self, node: graph.Node, output_nr: int) -> None:
        """Make this tensor output `output_nr` of `node` (done by Function.apply)."""
        self.grad_fn, self._output_nr, self._requires_grad = node, output_nr, True

    __getstate__ = graph.state_without_graph  # what pickle and copy.deepcopy take

    # --- what a tensor is -------------------------------------------------------------------

    @property
    def shape(self) -> Size:
        return Size(self._data.shape)

    @property
    def ndim(self) -> int:
        return self._data.ndim

    @property
    def dtype(self) -> np.dtype:
        return self._data.dtype

    @property
    def device(self) -> device:
        return device("cpu")

    @property
    def is_leaf(self) -> bool:
        """True for tensors made by the user rather than by a recorded op."""
        return self.grad_fn is None

    @property
    def _version(self) -> int:
        """How many in-place changes the values have seen (PyTorch's `_version`)."""
        return self._version_counter[0]

    @property
    def data(self) -> Tensor:
        """The same values, cut from the graph (changes to it change this tensor)."""
        return self.detach()

    @data.setter
    def data(self, value: Any) -> None:
        graph.set_data(self, _to_array(value, None, copy=False, where="data"))

    def size(self, dim: int | None = None) -> Any:
        """The shape, or the length of dimension `dim`."""
        return self.shape if dim is None else self.shape[_dim(dim, self.ndim, "size")]

    def dim(self) -> int:
        return self.ndim

    def numel(self) -> int:
        return int(self._data.size)

    def __len__(self) -> int:
        return _length(self, "len() of a 0-d tensor")

    def __iter__(self) -> Iterator[Tensor]:
        return (self[i] for i in range(_length(self, "iteration over a 0-d tensor")))

    __hash__ = object.__hash__  # `==` is elementwise, so tensors hash by identity

    # --- leaving the graph ------------------------------------------------------------------

    def item(self) -> Scalar:
        """The single value of a one-element tensor as a Python number."""
        return _single_value(self, "item()")

    def tolist(self) -> Any:
        return _python_values(self)

    def numpy(self) -> np.ndarray:
        """The NumPy array behind the tensor (shared, not copied); refused if it requires grad."""
        return _unrecorded_array(self)

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        return _as_numpy(self, dtype, copy)

    def __float__(self) -> float:
        return float(_single_value(self, "float()"))

    def __int__(self) -> int:
        return int(_single_value(self, "int()"))

    def __bool__(self) -> bool:
        return bool(_single_value(self, "bool()"))

    __format__, __repr__ = _format, _repr

    def detach(self) -> Tensor:
        """The same values as a new leaf that records nothing (shares memory and versions)."""
        tensor = Tensor._make(self._data)
        tensor._version_counter = self._version_counter
        return tensor

    def clone(self) -> Tensor:
        return ops.Clone.apply(self)

    # --- autograd ---------------------------------------------------------------------------

    def backward(
        self, gradient: Any = None, retain_graph: bool | None = None, create_graph: bool = False
    ) -> None:
        """Add d(self)/d(leaf) to `.grad` of every leaf that requires grad.

        `gradient` is dL/d(self), needed unless self has one element. The graph's saved values
        are freed afterwards unless `retain_graph`; `create_graph` records the backward pass
        too, so the gradients can be differentiated again."""
        run_backward([self], [gradient], retain_graph, create_graph, "backward()")

    @property
    def requires_grad(self) -> bool:
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, value: bool) -> None:
        self.requires_grad_(value)

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        """Start (or stop) recording operations on this leaf (floating-point tensors only)."""
        return graph.set_requires_grad(self, requires_grad)

    @property
    def grad(self) -> Tensor | None:
        """dL/d(self), filled in by backward() for leaves (and tensors that retain_grad)."""
        graph.note_grad_read(self)  # tl.compile: which .grad it is (or None) is read anew
        return self._grad

    @grad.setter
    def grad(self, value: Tensor | None) -> None:
        graph.set_grad(self, value)

    def retain_grad(self) -> None:
        """Keep `.grad` of this non-leaf tensor after backward (leaves always keep it)."""
        graph.retain_grad(self)

    @property
    def retains_grad(self) -> bool:
        return self.grad_fn is not None and self._output_nr in self.grad_fn._retained

    def register_hook(self, hook: Hook) -> graph.RemovableHandle:
        """Call `hook(grad)` when the gradient for this tensor is computed; a returned tensor
        replaces the gradient. Returns a handle whose `remove()` undoes the registration."""
        return graph.register_tensor_hook(self, hook)

    # --- arithmetic: operands of two dtypes meet in PyTorch's result_type (see _args) --------

    def __add__(self, other: Operand) -> Tensor:
        return ops.Add.apply(*_operands(self, other))

    def __radd__(self, other: Operand) -> Tensor:
        return ops.Add.apply(*_operands(other, self))

    def __sub__(self, other: Operand) -> Tensor:
        return ops.Sub.apply(*_operands(self, other))

    def __rsub__(self, other: Operand) -> Tensor:
        return ops.Sub.apply(*_operands(other, self))

    def __mul__(self, other: Operand) -> Tensor:
        return ops.Mul.apply(*_operands(self, other))

    def __rmul__(self, other: Operand) -> Tensor:
        return ops.Mul.apply(*_operands(other, self))

    def __truediv__(self, other: Operand) -> Tensor:
        return ops.Div.apply(*_operands(self, other))

    def __rtruediv__(self, other: Operand) -> Tensor:
        return ops.Div.apply(*_operands(other, self))

    def __floordiv__(self, other: Operand) -> Tensor:
        """floor(self / other), rounded down as Python's //; no gradient (floor's is 0)."""
        return ops.NonDifferentiable.apply(np.floor_divide, *_operands(self, other))

    def __rfloordiv__(self, other: Operand) -> Tensor:
        return ops.NonDifferentiable.apply(np.floor_divide, *_operands(other, self))

    def __mod__(self, other: Operand) -> Tensor:
        """The remainder with the sign of `other`, as Python's % and torch.remainder."""
        return ops.Remainder.apply(*_operands(self, other))

    def __rmod__(self, other: Operand) -> Tensor:
        return ops.Remainder.apply(*_operands(other, self))

    def __pow__(self, exponent: Operand) -> Tensor:
        if isinstance(exponent, (int, float)) and not isinstance(exponent, bool):
            return ops.PowScalar.apply(self, exponent)
        return ops.Pow.apply(*_operands(self, exponent))

    def __rpow__(self, base: Operand) -> Tensor:
        return ops.Pow.apply(*_operands(base, self))

    def __matmul__(self, other: Operand) -> Tensor:
        return ops.MatMul.apply(*_operands(self, other))

    def __rmatmul__(self, other: Operand) -> Tensor:
        return ops.MatMul.apply(*_operands(other, self))

    def __neg__(self) -> Tensor:
        return ops.Neg.apply(self)

    def __pos__(self) -> Tensor:
        return self

    def __abs__(self) -> Tensor:
        return ops.Abs.apply(self)

    def add(self, other: Operand, *, alpha: Scalar = 1) -> Tensor:
        return self + ops.scaled(other, alpha)

    def sub(self, other: Operand, *, alpha: Scalar = 1) -> Tensor:
        return self - ops.scaled(other, alpha)

    mul, div, pow, neg = __mul__, __truediv__, __pow__, __neg__
    matmul, mm, floor_divide, remainder = __matmul__, __matmul__, __floordiv__, __mod__
    cpu = contiguous = __pos__  # the only device, and no strides to reorder: self

    # --- comparisons: constant results, no gradient -----------------------------------------

    def __lt__(self, other: Operand) -> Tensor:  # type: ignore[misc]
        return ops.NonDifferentiable.apply(np.less, *_operands(self, other))

    def __le__(self, other: Operand) -> Tensor:  # type: ignore[misc]
        return ops.NonDifferentiable.apply(np.less_equal, *_operands(self, other))

    def __gt__(self, other: Operand) -> Tensor:  # type: ignore[misc]
        return ops.NonDifferentiable.apply(np.greater, *_operands(self, other))

    def __ge__(self, other: Operand) -> Tensor:  # type: ignore[misc]
        return ops.NonDifferentiable.apply(np.greater_equal, *_operands(self, other))

    def __eq__(self, other: Any) -> Tensor:  # type: ignore[override]
        return ops.NonDifferentiable.apply(np.equal, *_operands(self, other))

    def __ne__(self, other: Any) -> Tensor:  # type: ignore[override]
        return ops.NonDifferentiable.apply(np.not_equal, *_operands(self, other))

    lt, le, gt, ge, eq, ne = __lt__, __le__, __gt__, __ge__, __eq__, __ne__

    def sign(self) -> Tensor:
        return ops.NonDifferentiable.apply(np.sign, self)

    def isnan(self) -> Tensor:
        return ops.NonDifferentiable.apply(np.isnan, self)

    def logical_not(self) -> Tensor:
        return ops.NonDifferentiable.apply(np.logical_not, self)

    def __invert__(self) -> Tensor:
        return ops.NonDifferentiable.apply(np.invert, self)

    def __and__(self, other: Operand) -> Tensor:
        return ops.NonDifferentiable.apply(np.bitwise_and, *_operands(self, other))

    def __or__(self, other: Operand) -> Tensor:
        return ops.NonDifferentiable.apply(np.bitwise_or, *_operands(self, other))

    def any(self) -> Tensor:
        return ops.NonDifferentiable.apply(np.any, self)

    def all(self) -> Tensor:
        return ops.NonDifferentiable.apply(np.all, self)

    def where(self, condition: Operand, other: Operand) -> Tensor:
        """self where `condition` holds, else `other` (PyTorch's `x.where(cond, y)`)."""
        return ops.Where.apply(_operand(condition, self), *_operands(self, other))

    def masked_fill(self, mask: Operand, value: Operand) -> Tensor:
        """`value` where `mask` holds, else self."""
        return ops.Where.apply(
            _operand(mask, self), ops.cast(_operand(value, self), self.dtype), self
        )

    # --- elementwise ------------------------------------------------------------------------

    def exp(self) -> Tensor:
        return ops.Exp.apply(self)

    def log(self) -> Tensor:
        return ops.Log.apply(self)

    def sqrt(self) -> Tensor:
        return ops.Sqrt.apply(self)

    def sin(self) -> Tensor:
        return ops.Sin.apply(self)

    def cos(self) -> Tensor:
        return ops.Cos.apply(self)

    def tanh(self) -> Tensor:
        return ops.Tanh.apply(self)

    def sigmoid(self) -> Tensor:
        return ops.Sigmoid.apply(self)

    def relu(self) -> Tensor:
        return ops.Relu.apply(self)

    def erf(self) -> Tensor:
        return ops.Erf.apply(self)

    def square(self) -> Tensor:
        return ops.PowScalar.apply(self, 2)

    def clamp(self, min: Operand | None = None, max: Operand | None = None) -> Tensor:
        """Values below `min` raised to it, above `max` lowered: numbers or tensors."""
        return ops.clamp(self, min, max)

    def maximum(self, other: Operand) -> Tensor:
        return ops.Maximum.apply(*_operands(self, other))

    def minimum(self, other: Operand) -> Tensor:
        return ops.Minimum.apply(*_operands(self, other))

    abs, clip = __abs__, clamp

    # --- reductions: dim or axis, keepdim or keepdims; dim=None and dim=() reduce all -------

    def sum(self, dim: Any = None, keepdim: bool = False, **numpy_names: Any) -> Tensor:
        return ops.Sum.apply(self, *_reduction_args(self, dim, keepdim, numpy_names, "sum"))

    def mean(self, dim: Any = None, keepdim: bool = False, **numpy_names: Any) -> Tensor:
        return ops.Mean.apply(self, *_reduction_args(self, dim, keepdim, numpy_names, "mean"))

    def max(self, dim: Any = None, keepdim: bool = False, **numpy_names: Any) -> Any:
        """max() -> the largest value; max(dim) -> (values, indices); max(other) -> maximum."""
        return ops.extremum(self, ops.Max, dim, keepdim, numpy_names, "max")

    def min(self, dim: Any = None, keepdim: bool = False, **numpy_names: Any) -> Any:
        """min() -> the smallest value; min(dim) -> (values, indices); min(other) -> minimum."""
        return ops.extremum(self, ops.Min, dim, keepdim, numpy_names, "min")

    def amax(self, dim: Any = None, keepdim: bool = False, **numpy_names: Any) -> Tensor:
        return ops.Max.apply(self, *_reduction_args(self, dim, keepdim, numpy_names, "amax"))

    def amin(self, dim: Any = None, keepdim: bool = False, **numpy_names: Any) -> Tensor:
        return ops.Min.apply(self, *_reduction_args(self, dim, keepdim, numpy_names, "amin"))

    def argmax(self, dim: Any = None, keepdim: bool = False, **numpy_names: Any) -> Tensor:
        return ops.arg_extremum(self, np.argmax, dim, keepdim, numpy_names, "argmax")

    def argmin(self, dim: Any = None, keepdim: bool = False, **numpy_names: Any) -> Tensor:
        return ops.arg_extremum(self, np.argmin, dim, keepdim, numpy_names, "argmin")

    def var(self, dim: Any = None, keepdim: bool = False, **options: Any) -> Tensor:
        """sum (x - mean)^2 / (n - correction), correction=1 (or unbiased=True) by default."""
        return ops.var(self, dim, keepdim, options)

    def std(self, dim: Any = None, keepdim: bool = False, **options: Any) -> Tensor:
        return ops.var(self, dim, keepdim, options).sqrt()

    def logsumexp(self, dim: Any = None, keepdim: bool = False, **numpy_names: Any) -> Tensor:
        axes, keep = _reduction_args(self, dim, keepdim, numpy_names, "logsumexp")
        return ops.LogSumExp.apply(self, axes, keep)

    def norm(
        self, p: Any = "fro", dim: Any = None, keepdim: bool = False, **numpy_names: Any
    ) -> Tensor:
        """The p-norm (p = 2, the Euclidean length, by default) of all elements or over `dim`."""
        return ops.norm(self, p, *_reduction_args(self, dim, keepdim, numpy_names, "norm"))

    def softmax(self, dim: int = -1, **numpy_names: Any) -> Tensor:
        return ops.Softmax.apply(self, _one_dim(self, dim, numpy_names, "softmax"))

    def log_softmax(self, dim: int = -1, **numpy_names: Any) -> Tensor:
        return ops.LogSoftmax.apply(self, _one_dim(self, dim, numpy_names, "log_softmax"))

    # --- shape ------------------------------------------------------------------------------

    def reshape(self, *shape: Any) -> Tensor:
        return ops.reshape(self, _shape_args(shape, "reshape"))

    def view_as(self, other: Tensor) -> Tensor:
        return self.reshape(other.shape)

    def flatten(self, start_dim: int = 0, end_dim: int = -1) -> Tensor:
        return ops.flatten(self, start_dim, end_dim)

    def permute(self, *dims: Any) -> Tensor:
        return ops.permute(self, _shape_args(dims, "permute"))

    def transpose(self, dim0: int, dim1: int) -> Tensor:
        return ops.transpose(self, dim0, dim1)

    def t(self) -> Tensor:
        return ops.t(self)

    @property
    def T(self) -> Tensor:
        """All dimensions reversed (the matrix transpose for 2-D)."""
        return ops.Permute.apply(self, tuple(reversed(range(self.ndim))))

    @property
    def mT(self) -> Tensor:
        """The last two dimensions swapped (a batch of matrices transposed)."""
        return self.transpose(-2, -1)

    def squeeze(self, dim: Any = None, **numpy_names: Any) -> Tensor:
        return ops.squeeze(self, _axis("squeeze", numpy_names, dim))

    def unsqueeze(self, dim: int) -> Tensor:
        return ops.unsqueeze(self, dim)

    def expand(self, *sizes: Any) -> Tensor:
        return ops.expand(self, _shape_args(sizes, "expand"))

    def expand_as(self, other: Tensor) -> Tensor:
        return self.expand(other.shape)

    def __getitem__(self, index: Index) -> Tensor:
        """x[index] with PyTorch's rule where ints and arrays mix (see ops.index_steps)."""
        return ops.get_item(self, _index(index))

    view, reshape_as, swapaxes, swapdims = reshape, view_as, transpose, transpose  # other names

    # --- in-place updates --------------------------------------------------------------------

    def add_(self, other: Operand, *, alpha: Scalar = 1) -> Tensor:
        return change_in_place(self, "add_", ops.scaled(other, alpha), ops.add_into, Tensor.add)

    def sub_(self, other: Operand, *, alpha: Scalar = 1) -> Tensor:
        return change_in_place(self, "sub_", ops.scaled(other, alpha), ops.sub_into, Tensor.sub)

    def mul_(self, other: Operand) -> Tensor:
        return change_in_place(self, "mul_", other, ops.mul_into, Tensor.__mul__)

    def div_(self, other: Operand) -> Tensor:
        return change_in_place(self, "div_", other, ops.div_into, Tensor.__truediv__)

    def copy_(self, source: Operand) -> Tensor:
        return change_in_place(self, "copy_", source, np.copyto, replaced)

    def fill_(self, value: Scalar) -> Tensor:
        return change_in_place(self, "fill_", value, np.copyto, replaced)

    def zero_(self) -> Tensor:
        return change_in_place(self, "zero_", 0, np.copyto, replaced)

    def normal_(self, mean: float = 0.0, std: float = 1.0, *, generator: Any = None) -> Tensor:
        return self.copy_(creation.normal(mean, std, self.shape, generator=generator))

    def uniform_(self, low: float = 0.0, high: float = 1.0, *, generator: Any = None) -> Tensor:
        return self.copy_(creation.rand(self.shape, generator=generator) * (high - low) + low)

    def __setitem__(self, index: Index, value: Operand) -> None:
        index = _index(index)
        change_in_place(self, "setitem", value, *ops.item_setters(index), index=index)

    __iadd__, __isub__, __imul__, __itruediv__ = add_, sub_, mul_, div_

    if not TYPE_CHECKING:  # (hidden from mypy, which would then accept any attribute name)

        def __getattr__(self, name: str) -> Any:
            """Only for a name Tensor lacks: says so, and what to use instead."""
            raise missing_tensor_attribute(name)

    # --- dtypes and devices: last, as these names would shadow built-in types below them -----

    def to(self, *args: Any, **kwargs: Any) -> Tensor:
        """A copy in another dtype: to(dtype), to(device), to(device, dtype), to(other),
        to(dtype=..., device=...). The device must be the CPU; the same dtype returns self."""
        return ops.cast(self, *_to_args(self, args, kwargs))

    def type(self, dtype: Any = None, non_blocking: bool = False) -> Any:
        """type() -> the type's name, e.g. "torch.FloatTensor"; type(dtype) converts."""
        return _tensor_type(self, dtype)

    def cuda(self, device: Any = None, non_blocking: bool = False) -> Tensor:
        raise DeviceError("cuda(): tinygrad_lr runs on the CPU only (it computes with NumPy)")

    float, double, half = _as(np.float32), _as(np.float64), _as(np.float16)
    long, int, bool = _as(np.int64), _as(np.int32), _as(np.bool_)


# Imported last: the ops and factories build on the Tensor class above.
from . import creation, ops  # noqa: E402
