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
from typing import Any, Union

import numpy as np

from ._args import Index, _dim, _dtype, _index, _operand, _reduction_args, _shape_args, _to_array
from .autograd import graph
from .autograd.engine import run_backward
from .autograd.graph import AccumulateGrad, Node, RemovableHandle
from .autograd.in_place import change_in_place, replaced
from .errors import ShapeError

Scalar = Union[int, float, bool]  # noqa: UP007 - a runtime alias, kept 3.10-friendly
Operand = Union["Tensor", np.ndarray, Scalar]
Hook = Callable[["Tensor"], "Tensor | None"]


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
        "grad_fn",
        "name",
    )
    # NumPy leaves `array op tensor` to Tensor's reflected operators, so it is recorded too.
    __array_ufunc__ = None

    _data: np.ndarray
    grad_fn: Node | None
    name: str | None

    def __init__(
        self, data: Any, requires_grad: bool = False, dtype: Any = None, name: str | None = None
    ) -> None:
        self._set_fields(_to_array(data, dtype, copy=True, where="tensor"))
        self.name = name
        if requires_grad:
            self.requires_grad_(True)

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
        self._accumulator: weakref.ref[AccumulateGrad] | None = None
        self._base: Tensor | None = None  # the tensor whose values a view shares
        # [how many in-place changes], shared by views of the same values (see autograd.in_place)
        self._version_counter = [0]

    def _view(self, data: np.ndarray) -> Tensor:
        """A new tensor around `data`, a view of this one's values: they share the version
        counter, so an in-place change to either is seen by ops that saved the other."""
        view = Tensor._make(data)
        view._version_counter = self._version_counter
        view._base = self if self._base is None else self._base
        return view

    def _attach(self, node: Node, output_nr: int) -> None:
        """Make this tensor output `output_nr` of `node` (done by Function.apply)."""
        self.grad_fn, self._output_nr, self._requires_grad = node, output_nr, True

    def _grad_accumulator(self) -> AccumulateGrad:
        """The AccumulateGrad node of this leaf, made on first use and kept while the graph
        holds it (the tensor holds it weakly: the node holds the tensor)."""
        node = self._accumulator() if self._accumulator is not None else None
        if node is None:
            node = AccumulateGrad(self)
            self._accumulator = weakref.ref(node)
        return node

    # --- what a tensor is -------------------------------------------------------------------

    @property
    def shape(self) -> tuple[int, ...]:
        return self._data.shape

    @property
    def ndim(self) -> int:
        return self._data.ndim

    @property
    def dtype(self) -> np.dtype:
        return self._data.dtype

    @property
    def device(self) -> str:
        return "cpu"

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
        self._data = _to_array(value, None, copy=False, where="data")

    def size(self, dim: int | None = None) -> Any:
        """The shape, or the length of dimension `dim`."""
        if dim is None:
            return self.shape
        return self.shape[_dim(dim, self.ndim, "size")]

    def dim(self) -> int:
        return self.ndim

    def numel(self) -> int:
        return int(self._data.size)

    def __len__(self) -> int:
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    def __iter__(self) -> Iterator[Tensor]:
        if self.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self.shape[0]))

    def __hash__(self) -> int:  # `==` is elementwise, so tensors hash by identity
        return id(self)

    # --- leaving the graph ------------------------------------------------------------------

    def _note_read(self, how: str) -> None:
        """Tell op observers that the values leave the graph as Python data here (a trace of
        the ops, such as tl.compile's, cannot follow them)."""
        for observer in graph._observers:
            on_read = getattr(observer, "on_read", None)
            if on_read is not None:
                on_read(self, how)

    def item(self) -> Scalar:
        """The single value of a one-element tensor as a Python number."""
        self._note_read("item()")
        if self._data.size != 1:
            raise RuntimeError(
                f"item(): a tensor with {self._data.size} elements (shape {self.shape}) "
                "cannot be converted to a Python number"
            )
        return self._data.item()

    def tolist(self) -> Any:
        self._note_read("tolist()")
        return self._data.tolist()

    def numpy(self) -> np.ndarray:
        """The NumPy array behind the tensor (shared, not copied)."""
        if self.requires_grad:
            raise RuntimeError(
                "numpy(): can't call numpy() on a tensor that requires grad; "
                "use tensor.detach().numpy()"
            )
        self._note_read("numpy()")
        return self._data

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        array = self._data if dtype is None else self._data.astype(dtype, copy=False)
        return array.copy() if copy else array

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __bool__(self) -> bool:
        if self._data.size != 1:
            raise RuntimeError(
                f"the truth value of a tensor with {self._data.size} elements is ambiguous; "
                "use .any() or .all()"
            )
        self._note_read("bool()")
        return bool(self._data.item())

    def __format__(self, spec: str) -> str:
        self._note_read("format()")
        if spec and self._data.size == 1:
            return format(self._data.item(), spec)
        return repr(self) if not spec else format(repr(self), spec)

    def __repr__(self) -> str:
        self._note_read("repr()")
        body = np.array2string(self._data, separator=", ", prefix="tensor(")
        extras = []
        if self.dtype not in (np.float64, np.int64, np.bool_):
            extras.append(f"dtype={self.dtype}")
        if self.grad_fn is not None:
            extras.append(f"grad_fn=<{self.grad_fn.name()}>")
        elif self.requires_grad:
            extras.append("requires_grad=True")
        return "tensor(" + ", ".join([body, *extras]) + ")"

    def detach(self) -> Tensor:
        """The same values as a new leaf that records nothing (shares memory and versions)."""
        tensor = Tensor._make(self._data)
        tensor._version_counter = self._version_counter
        return tensor

    def clone(self) -> Tensor:
        return ops.Clone.apply(self)

    def contiguous(self) -> Tensor:
        return self

    def cpu(self) -> Tensor:
        return self

    def to(self, target: Any) -> Tensor:
        """A copy converted to dtype `target` (a device name such as "cpu" changes nothing)."""
        if isinstance(target, str) and target.startswith("cpu"):
            return self
        if isinstance(target, str) and target.startswith(("cuda", "mps")):
            raise RuntimeError(f"to: tinygrad_lr runs on the CPU only, got device {target!r}")
        dtype = _dtype(target, "to")
        return self if dtype == self.dtype else ops.Cast.apply(self, dtype)

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

    def register_hook(self, hook: Hook) -> RemovableHandle:
        """Call `hook(grad)` when the gradient for this tensor is computed; a returned tensor
        replaces the gradient. Returns a handle whose `remove()` undoes the registration."""
        return graph.register_tensor_hook(self, hook)

    # --- arithmetic -------------------------------------------------------------------------

    def __add__(self, other: Operand) -> Tensor:
        return ops.Add.apply(self, _operand(other, self))

    def __radd__(self, other: Operand) -> Tensor:
        return ops.Add.apply(_operand(other, self), self)

    def __sub__(self, other: Operand) -> Tensor:
        return ops.Sub.apply(self, _operand(other, self))

    def __rsub__(self, other: Operand) -> Tensor:
        return ops.Sub.apply(_operand(other, self), self)

    def __mul__(self, other: Operand) -> Tensor:
        return ops.Mul.apply(self, _operand(other, self))

    def __rmul__(self, other: Operand) -> Tensor:
        return ops.Mul.apply(_operand(other, self), self)

    def __truediv__(self, other: Operand) -> Tensor:
        return ops.Div.apply(self, _operand(other, self))

    def __rtruediv__(self, other: Operand) -> Tensor:
        return ops.Div.apply(_operand(other, self), self)

    def __pow__(self, exponent: Operand) -> Tensor:
        if isinstance(exponent, (int, float)) and not isinstance(exponent, bool):
            return ops.PowScalar.apply(self, exponent)
        return ops.Pow.apply(self, _operand(exponent, self))

    def __rpow__(self, base: Operand) -> Tensor:
        return ops.Pow.apply(_operand(base, self), self)

    def __matmul__(self, other: Operand) -> Tensor:
        return ops.MatMul.apply(self, _operand(other, self))

    def __rmatmul__(self, other: Operand) -> Tensor:
        return ops.MatMul.apply(_operand(other, self), self)

    def __neg__(self) -> Tensor:
        return ops.Neg.apply(self)

    def __pos__(self) -> Tensor:
        return self

    def __abs__(self) -> Tensor:
        return ops.Abs.apply(self)

    add, sub, mul, div, pow, matmul, neg = (
        __add__,
        __sub__,
        __mul__,
        __truediv__,
        __pow__,
        __matmul__,
        __neg__,
    )

    # --- comparisons: constant results, no gradient -----------------------------------------

    def _compare(self, other: Operand, compare: Callable[..., Any], name: str) -> Tensor:
        return ops.NonDifferentiable.apply(compare, self, _operand(other, self))

    def __lt__(self, other: Operand) -> Tensor:  # type: ignore[misc]
        return self._compare(other, np.less, "lt")

    def __le__(self, other: Operand) -> Tensor:  # type: ignore[misc]
        return self._compare(other, np.less_equal, "le")

    def __gt__(self, other: Operand) -> Tensor:  # type: ignore[misc]
        return self._compare(other, np.greater, "gt")

    def __ge__(self, other: Operand) -> Tensor:  # type: ignore[misc]
        return self._compare(other, np.greater_equal, "ge")

    def __eq__(self, other: Any) -> Tensor:  # type: ignore[override]
        return self._compare(other, np.equal, "eq")

    def __ne__(self, other: Any) -> Tensor:  # type: ignore[override]
        return self._compare(other, np.not_equal, "ne")

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
        return ops.NonDifferentiable.apply(np.bitwise_and, self, _operand(other, self))

    def __or__(self, other: Operand) -> Tensor:
        return ops.NonDifferentiable.apply(np.bitwise_or, self, _operand(other, self))

    def any(self) -> Tensor:
        return ops.NonDifferentiable.apply(np.any, self)

    def all(self) -> Tensor:
        return ops.NonDifferentiable.apply(np.all, self)

    def where(self, condition: Operand, other: Operand) -> Tensor:
        """self where `condition` holds, else `other` (PyTorch's `x.where(cond, y)`)."""
        return ops.Where.apply(_operand(condition, self), self, _operand(other, self))

    def masked_fill(self, mask: Operand, value: Operand) -> Tensor:
        """`value` where `mask` holds, else self."""
        return ops.Where.apply(_operand(mask, self), _operand(value, self), self)

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

    def abs(self) -> Tensor:
        return ops.Abs.apply(self)

    def tanh(self) -> Tensor:
        return ops.Tanh.apply(self)

    def sigmoid(self) -> Tensor:
        return ops.Sigmoid.apply(self)

    def relu(self) -> Tensor:
        return ops.Relu.apply(self)

    def square(self) -> Tensor:
        return ops.PowScalar.apply(self, 2)

    def clamp(self, min: float | None = None, max: float | None = None) -> Tensor:
        if min is None and max is None:
            raise ValueError("clamp: at least one of min and max must be given")
        return ops.Clamp.apply(self, min, max)

    clip = clamp

    def maximum(self, other: Operand) -> Tensor:
        return ops.Maximum.apply(self, _operand(other, self))

    def minimum(self, other: Operand) -> Tensor:
        return ops.Minimum.apply(self, _operand(other, self))

    # --- reductions -------------------------------------------------------------------------

    def sum(
        self,
        dim: Any = None,
        keepdim: bool = False,
        *,
        axis: Any = None,
        keepdims: bool | None = None,
    ) -> Tensor:
        axes, keep = _reduction_args(self, dim, axis, keepdim, keepdims, "sum")
        return ops.Sum.apply(self, axes, keep)

    def mean(
        self,
        dim: Any = None,
        keepdim: bool = False,
        *,
        axis: Any = None,
        keepdims: bool | None = None,
    ) -> Tensor:
        axes, keep = _reduction_args(self, dim, axis, keepdim, keepdims, "mean")
        if self.numel() == 0:
            raise ShapeError(f"mean: cannot average an empty tensor of shape {self.shape}")
        return ops.Mean.apply(self, axes, keep)

    def max(
        self,
        dim: Any = None,
        keepdim: bool = False,
        *,
        axis: Any = None,
        keepdims: bool | None = None,
    ) -> Any:
        """max() -> the largest value; max(dim) -> (values, indices), as in PyTorch."""
        return ops.extremum(self, ops.Max, dim, axis, keepdim, keepdims, "max")

    def min(
        self,
        dim: Any = None,
        keepdim: bool = False,
        *,
        axis: Any = None,
        keepdims: bool | None = None,
    ) -> Any:
        """min() -> the smallest value; min(dim) -> (values, indices), as in PyTorch."""
        return ops.extremum(self, ops.Min, dim, axis, keepdim, keepdims, "min")

    def amax(self, dim: Any = None, keepdim: bool = False) -> Tensor:
        axes, keep = _reduction_args(self, dim, None, keepdim, None, "amax")
        return ops.Max.apply(self, axes, keep)

    def amin(self, dim: Any = None, keepdim: bool = False) -> Tensor:
        axes, keep = _reduction_args(self, dim, None, keepdim, None, "amin")
        return ops.Min.apply(self, axes, keep)

    def argmax(self, dim: int | None = None, keepdim: bool = False) -> Tensor:
        return ops.arg_extremum(self, np.argmax, dim, keepdim, "argmax")

    def argmin(self, dim: int | None = None, keepdim: bool = False) -> Tensor:
        return ops.arg_extremum(self, np.argmin, dim, keepdim, "argmin")

    def var(
        self,
        dim: Any = None,
        keepdim: bool = False,
        *,
        correction: int = 1,
        unbiased: bool | None = None,
    ) -> Tensor:
        """sum (x - mean)^2 / (n - correction): unbiased by default, as in PyTorch."""
        if unbiased is not None:
            correction = int(unbiased)
        axes, keep = _reduction_args(self, dim, None, keepdim, None, "var")
        centred = self - self.mean(dim=axes, keepdim=True)
        return (centred * centred).sum(dim=axes, keepdim=keep) / max(
            ops.count(self.shape, axes) - correction, 0
        )

    def std(
        self,
        dim: Any = None,
        keepdim: bool = False,
        *,
        correction: int = 1,
        unbiased: bool | None = None,
    ) -> Tensor:
        return self.var(dim, keepdim, correction=correction, unbiased=unbiased).sqrt()

    def logsumexp(self, dim: Any = None, keepdim: bool = False) -> Tensor:
        axes, keep = _reduction_args(self, dim, None, keepdim, None, "logsumexp")
        return ops.LogSumExp.apply(self, axes, keep)

    def softmax(self, dim: int = -1) -> Tensor:
        return ops.Softmax.apply(self, _dim(dim, self.ndim, "softmax"))

    def log_softmax(self, dim: int = -1) -> Tensor:
        return ops.LogSoftmax.apply(self, _dim(dim, self.ndim, "log_softmax"))

    # --- shape ------------------------------------------------------------------------------

    def reshape(self, *shape: Any) -> Tensor:
        shape = _shape_args(shape, "reshape")
        return self if shape == self.shape else ops.Reshape.apply(self, shape)

    def view(self, *shape: Any) -> Tensor:
        return self.reshape(*shape)

    def view_as(self, other: Tensor) -> Tensor:
        return self.reshape(other.shape)

    def reshape_as(self, other: Tensor) -> Tensor:
        return self.reshape(other.shape)

    def flatten(self, start_dim: int = 0, end_dim: int = -1) -> Tensor:
        if self.ndim == 0:
            return self.reshape(1)
        start, end = _dim(start_dim, self.ndim, "flatten"), _dim(end_dim, self.ndim, "flatten")
        return self.reshape(self.shape[:start] + (-1,) + self.shape[end + 1 :])

    def permute(self, *dims: Any) -> Tensor:
        dims = _shape_args(dims, "permute")
        if sorted(_dim(d, self.ndim, "permute") for d in dims) != list(range(self.ndim)):
            raise ShapeError(f"permute: {dims} is not an ordering of the {self.ndim} dims")
        return ops.Permute.apply(self, tuple(_dim(d, self.ndim, "permute") for d in dims))

    def transpose(self, dim0: int, dim1: int) -> Tensor:
        dims = list(range(self.ndim))
        a, b = _dim(dim0, self.ndim, "transpose"), _dim(dim1, self.ndim, "transpose")
        dims[a], dims[b] = dims[b], dims[a]
        return ops.Permute.apply(self, tuple(dims))

    def swapaxes(self, dim0: int, dim1: int) -> Tensor:
        """`transpose` under NumPy's name, which PyTorch also accepts."""
        return self.transpose(dim0, dim1)

    def t(self) -> Tensor:
        if self.ndim > 2:
            raise ShapeError(f"t(): expects a tensor with at most 2 dims, got shape {self.shape}")
        return self.transpose(0, 1) if self.ndim == 2 else self

    @property
    def T(self) -> Tensor:
        """All dimensions reversed (the matrix transpose for 2-D)."""
        return ops.Permute.apply(self, tuple(reversed(range(self.ndim))))

    @property
    def mT(self) -> Tensor:
        """The last two dimensions swapped (a batch of matrices transposed)."""
        return self.transpose(-2, -1)

    def squeeze(self, dim: int | None = None) -> Tensor:
        if dim is None:
            return self.reshape(tuple(n for n in self.shape if n != 1))
        d = _dim(dim, self.ndim, "squeeze")
        if self.ndim == 0 or self.shape[d] != 1:
            return self
        return self.reshape(self.shape[:d] + self.shape[d + 1 :])

    def unsqueeze(self, dim: int) -> Tensor:
        d = _dim(dim, self.ndim + 1, "unsqueeze")
        return self.reshape(self.shape[:d] + (1,) + self.shape[d:])

    def expand(self, *sizes: Any) -> Tensor:
        sizes = _shape_args(sizes, "expand")
        offset = len(sizes) - self.ndim
        shape = tuple(
            self.shape[i - offset] if n == -1 and i >= offset else n for i, n in enumerate(sizes)
        )
        return self if shape == self.shape else ops.Expand.apply(self, shape)

    def expand_as(self, other: Tensor) -> Tensor:
        return self.expand(other.shape)

    def __getitem__(self, index: Index) -> Tensor:
        return ops.GetItem.apply(self, _index(index))

    # --- in-place updates --------------------------------------------------------------------

    def add_(self, other: Operand) -> Tensor:
        return change_in_place(self, "add_", other, _np_add, Tensor.__add__)

    def sub_(self, other: Operand) -> Tensor:
        return change_in_place(self, "sub_", other, _np_sub, Tensor.__sub__)

    def mul_(self, other: Operand) -> Tensor:
        return change_in_place(self, "mul_", other, _np_mul, Tensor.__mul__)

    def div_(self, other: Operand) -> Tensor:
        return change_in_place(self, "div_", other, _np_div, Tensor.__truediv__)

    def copy_(self, source: Operand) -> Tensor:
        return change_in_place(self, "copy_", source, np.copyto, replaced)

    def fill_(self, value: Scalar) -> Tensor:
        return change_in_place(self, "fill_", value, np.copyto, replaced)

    def zero_(self) -> Tensor:
        return change_in_place(self, "zero_", 0, np.copyto, replaced)

    def normal_(self, mean: float = 0.0, std: float = 1.0) -> Tensor:
        return self.copy_(creation.normal(mean, std, self.shape, dtype=self.dtype))

    def uniform_(self, low: float = 0.0, high: float = 1.0) -> Tensor:
        return self.copy_(creation.rand(self.shape, dtype=self.dtype) * (high - low) + low)

    def __setitem__(self, index: Index, value: Operand) -> None:
        change_in_place(self, "setitem", value, _np_setter(_index(index)), _index_put(index))

    __iadd__, __isub__, __imul__, __itruediv__ = add_, sub_, mul_, div_

    # Last in the class: these names would shadow the built-in types in annotations below them.
    def float(self) -> Tensor:
        return self.to(np.float32)

    def double(self) -> Tensor:
        return self.to(np.float64)

    def long(self) -> Tensor:
        return self.to(np.int64)


def _np_add(a: np.ndarray, b: Any) -> None:
    np.add(a, b, out=a)


def _np_sub(a: np.ndarray, b: Any) -> None:
    np.subtract(a, b, out=a)


def _np_mul(a: np.ndarray, b: Any) -> None:
    np.multiply(a, b, out=a)


def _np_div(a: np.ndarray, b: Any) -> None:
    np.divide(a, b, out=a)


def _np_setter(index: Index) -> Callable[[np.ndarray, Any], None]:
    return lambda a, value: a.__setitem__(ops.as_arrays(index), value)


def _index_put(index: Index) -> Callable[[Tensor, Any], Tensor]:
    """The out-of-place `x[index] = v`, which a recorded change writes in."""
    return lambda t, value: ops.IndexPut.apply(t, _index(index), _operand(value, t))


# Imported last: the ops and factories build on the Tensor class above.
from . import creation, ops  # noqa: E402
