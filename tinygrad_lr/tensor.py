"""The Tensor: a NumPy array that remembers how it was computed.

A tensor made by an operation on tensors that require gradients keeps that operation as its
`grad_fn` (a node of the graph, see autograd.py); `backward()` walks the graph back to the
leaves and fills in their `.grad`. Every method here that computes something is one line that
calls an op from ops.py: the math lives there, each backward right under its forward.

The values live in the NumPy array `_data`. As in PyTorch, `.data` is a Tensor that shares
those values but is cut from the graph, and `.numpy()` returns the array itself.
"""

from __future__ import annotations

import functools
import operator
import weakref
from collections.abc import Callable, Iterator, Sequence
from typing import Any, NamedTuple, Union

import numpy as np

from .autograd import Function, _initial_grad, _mark_changed, is_grad_enabled, run_backward
from .errors import DTypeError, ShapeError

Scalar = Union[int, float, bool]  # noqa: UP007 - a runtime alias, kept 3.10-friendly
Operand = Union["Tensor", np.ndarray, Scalar]
Index = Any


class Tensor:
    """An n-dimensional array of numbers that records its graph for reverse-mode autodiff."""

    __slots__ = (
        "__weakref__",
        "_data",
        "_hooks",
        "_version_counter",
        "grad",
        "grad_fn",
        "name",
        "requires_grad",
    )
    # NumPy leaves `array op tensor` to Tensor's reflected operators, so it is recorded too.
    __array_ufunc__ = None

    _data: np.ndarray
    grad: Tensor | None
    requires_grad: bool
    grad_fn: Function | None
    name: str | None

    def __init__(
        self,
        data: Any,
        requires_grad: bool = False,
        dtype: Any = None,
        name: str | None = None,
    ) -> None:
        self._init(_to_array(data, dtype, copy=True, where="tensor"), False, None)
        self.name = name
        if requires_grad:
            self.requires_grad_(True)

    def _init(self, data: np.ndarray, requires_grad: bool, grad_fn: Function | None) -> None:
        self._data = data
        self.requires_grad = requires_grad
        self.grad_fn = grad_fn
        self.grad = None
        self.name = None
        self._hooks: list[Callable[[Tensor], Tensor | None]] | None = None
        # [changes, stamp of the latest] (see autograd._mark_changed), shared by views of the
        # same values: an op that saved one of them for backward then refuses stale values.
        self._version_counter = [0, 0]

    @classmethod
    def _make(cls, data: Any, requires_grad: bool, grad_fn: Function | None) -> Tensor:
        """The fast constructor the ops use: `data` is a fresh array the new tensor owns."""
        # _init written out (keep the two in step): every op's output comes through here, and
        # a method call per tensor is a measurable share of an op on a small tensor.
        tensor = object.__new__(Tensor)
        tensor._data = data if type(data) is np.ndarray else np.asarray(data)
        tensor.requires_grad = requires_grad
        tensor.grad_fn = grad_fn
        tensor.grad = None
        tensor.name = None
        tensor._hooks = None
        tensor._version_counter = [0, 0]
        return tensor

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

    def item(self) -> Scalar:
        """The single value of a one-element tensor as a Python number."""
        if self._data.size != 1:
            raise RuntimeError(
                f"item(): a tensor with {self._data.size} elements (shape {self.shape}) "
                "cannot be converted to a Python number"
            )
        return self._data.item()

    def tolist(self) -> Any:
        return self._data.tolist()

    def numpy(self) -> np.ndarray:
        """The NumPy array behind the tensor (shared, not copied)."""
        if self.requires_grad:
            raise RuntimeError(
                "numpy(): can't call numpy() on a tensor that requires grad; "
                "use tensor.detach().numpy()"
            )
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
        return bool(self._data.item())

    def __format__(self, spec: str) -> str:
        if spec and self._data.size == 1:
            return format(self._data.item(), spec)
        return repr(self) if not spec else format(repr(self), spec)

    def __repr__(self) -> str:
        body = np.array2string(self._data, separator=", ", prefix="tensor(")
        extras = []
        if self.dtype not in (np.float64, np.int64, np.bool_):
            extras.append(f"dtype={self.dtype}")
        if self.grad_fn is not None:
            extras.append(f"grad_fn=<{self.grad_fn.name}>")
        elif self.requires_grad:
            extras.append("requires_grad=True")
        return "tensor(" + ", ".join([body, *extras]) + ")"

    def detach(self) -> Tensor:
        """The same values as a new leaf that records nothing (shares memory and versions)."""
        tensor = Tensor._make(self._data, False, None)
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
        return self if dtype == self.dtype else ops.Cast.apply(self, dtype=dtype)

    # --- autograd ---------------------------------------------------------------------------

    def backward(
        self,
        gradient: Any = None,
        retain_graph: bool | None = None,
        create_graph: bool = False,
    ) -> None:
        """Add d(self)/d(leaf) to `.grad` of every leaf that requires grad.

        `gradient` is dL/d(self), needed unless self has one element. The graph is freed
        afterwards unless `retain_graph`; `create_graph` records the backward pass too, so
        the gradients can be differentiated again.
        """
        root_grad = _initial_grad(self, gradient, "backward()")
        keep = create_graph if retain_graph is None else retain_graph
        run_backward([self], [root_grad], retain_graph=keep, create_graph=create_graph)

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        """Start (or stop) recording operations on this leaf."""
        if not self.is_leaf:
            raise RuntimeError(
                "requires_grad_(): only leaf tensors can change requires_grad; "
                "use .detach() to get a leaf"
            )
        if requires_grad and self.dtype.kind not in "f":
            raise DTypeError(
                f"only floating-point tensors can require gradients, got dtype {self.dtype}; "
                "convert with .double() or make it from floats, e.g. tl.tensor([1.0, 2.0])"
            )
        self.requires_grad = requires_grad
        return self

    def retain_grad(self) -> None:
        """Keep `.grad` of this non-leaf tensor after backward (leaves always keep it)."""
        if not self.requires_grad:
            raise RuntimeError("retain_grad(): the tensor does not require grad")
        if self.grad_fn is not None:
            self.grad_fn._retained = weakref.ref(self)

    @property
    def retains_grad(self) -> bool:
        return self.grad_fn is not None and self.grad_fn._retained is not None

    def register_hook(self, hook: Callable[[Tensor], Tensor | None]) -> RemovableHandle:
        """Call `hook(grad)` when the gradient for this tensor is computed; a returned tensor
        replaces the gradient. Returns a handle whose `remove()` undoes the registration."""
        if not self.requires_grad:
            raise RuntimeError("register_hook(): the tensor does not require grad")
        owner: Any = self if self.grad_fn is None else self.grad_fn
        if owner._hooks is None:
            owner._hooks = []
        owner._hooks.append(hook)
        return RemovableHandle(owner._hooks, hook)

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
            return ops.PowScalar.apply(self, exponent=exponent)
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

    def add(self, other: Operand) -> Tensor:
        return self + other

    def sub(self, other: Operand) -> Tensor:
        return self - other

    def mul(self, other: Operand) -> Tensor:
        return self * other

    def div(self, other: Operand) -> Tensor:
        return self / other

    def pow(self, exponent: Operand) -> Tensor:
        return self**exponent

    def matmul(self, other: Operand) -> Tensor:
        return self @ other

    def neg(self) -> Tensor:
        return -self

    # --- comparisons: constant results, no gradient -----------------------------------------

    def _compare(self, other: Operand, compare: Callable[..., Any], name: str) -> Tensor:
        other_data = _operand(other, self)._data
        try:
            result = compare(self._data, other_data)
        except ValueError:
            raise ShapeError(
                f"{name}: cannot broadcast {self.shape} with {other_data.shape}"
            ) from None
        return Tensor._make(result, False, None)

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

    def lt(self, other: Operand) -> Tensor:
        return self < other

    def le(self, other: Operand) -> Tensor:
        return self <= other

    def gt(self, other: Operand) -> Tensor:
        return self > other

    def ge(self, other: Operand) -> Tensor:
        return self >= other

    def eq(self, other: Operand) -> Tensor:
        return self == other

    def ne(self, other: Operand) -> Tensor:
        return self != other

    def sign(self) -> Tensor:
        return Tensor._make(np.sign(self._data), False, None)

    def any(self) -> Tensor:
        return Tensor._make(np.any(self._data), False, None)

    def all(self) -> Tensor:
        return Tensor._make(np.all(self._data), False, None)

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
        return ops.PowScalar.apply(self, exponent=2)

    def clamp(self, min: float | None = None, max: float | None = None) -> Tensor:
        if min is None and max is None:
            raise ValueError("clamp: at least one of min and max must be given")
        return ops.Clamp.apply(self, low=min, high=max)

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
        return ops.Sum.apply(self, axes=axes, keepdim=keep)

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
        return ops.Mean.apply(self, axes=axes, keepdim=keep)

    def max(
        self,
        dim: Any = None,
        keepdim: bool = False,
        *,
        axis: Any = None,
        keepdims: bool | None = None,
    ) -> Any:
        """max() -> the largest value; max(dim) -> (values, indices), as in PyTorch."""
        return _extremum(self, ops.Max, np.argmax, dim, axis, keepdim, keepdims, "max")

    def min(
        self,
        dim: Any = None,
        keepdim: bool = False,
        *,
        axis: Any = None,
        keepdims: bool | None = None,
    ) -> Any:
        """min() -> the smallest value; min(dim) -> (values, indices), as in PyTorch."""
        return _extremum(self, ops.Min, np.argmin, dim, axis, keepdim, keepdims, "min")

    def amax(self, dim: Any = None, keepdim: bool = False) -> Tensor:
        axes, keep = _reduction_args(self, dim, None, keepdim, None, "amax")
        return ops.Max.apply(self, axes=axes, keepdim=keep, split_ties=True)

    def amin(self, dim: Any = None, keepdim: bool = False) -> Tensor:
        axes, keep = _reduction_args(self, dim, None, keepdim, None, "amin")
        return ops.Min.apply(self, axes=axes, keepdim=keep, split_ties=True)

    def argmax(self, dim: int | None = None, keepdim: bool = False) -> Tensor:
        return _arg_extremum(self, np.argmax, dim, keepdim, "argmax")

    def argmin(self, dim: int | None = None, keepdim: bool = False) -> Tensor:
        return _arg_extremum(self, np.argmin, dim, keepdim, "argmin")

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
            ops._count(self.shape, axes) - correction, 0
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
        return ops.LogSumExp.apply(self, axes=axes, keepdim=keep)

    def softmax(self, dim: int = -1) -> Tensor:
        return ops.Softmax.apply(self, dim=_dim(dim, self.ndim, "softmax"))

    def log_softmax(self, dim: int = -1) -> Tensor:
        return ops.LogSoftmax.apply(self, dim=_dim(dim, self.ndim, "log_softmax"))

    # --- shape ------------------------------------------------------------------------------

    def reshape(self, *shape: Any) -> Tensor:
        shape = _shape_args(shape, "reshape")
        return self if shape == self.shape else ops.Reshape.apply(self, shape=shape)

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
        return ops.Permute.apply(self, dims=tuple(_dim(d, self.ndim, "permute") for d in dims))

    def transpose(self, dim0: int, dim1: int) -> Tensor:
        dims = list(range(self.ndim))
        a, b = _dim(dim0, self.ndim, "transpose"), _dim(dim1, self.ndim, "transpose")
        dims[a], dims[b] = dims[b], dims[a]
        return ops.Permute.apply(self, dims=tuple(dims))

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
        return ops.Permute.apply(self, dims=tuple(reversed(range(self.ndim))))

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
        return self if shape == self.shape else ops.Expand.apply(self, shape=shape)

    def expand_as(self, other: Tensor) -> Tensor:
        return self.expand(other.shape)

    def __getitem__(self, index: Index) -> Tensor:
        return ops.GetItem.apply(self, index=_index(index))

    # --- in-place updates (for optimisers and data preparation) -----------------------------

    def _in_place(self, name: str, other: Any, update: Callable[[np.ndarray, Any], None]) -> Tensor:
        """Change the values in place. Allowed only where no recorded gradient can depend on it."""
        if is_grad_enabled():
            if self.requires_grad:
                kind = "a leaf tensor" if self.is_leaf else "a tensor computed by recorded ops"
                raise RuntimeError(
                    f"{name}: {kind} that requires grad cannot be changed in place while "
                    "gradients are recorded; do it inside `with tl.no_grad():` "
                    "(as optimisers do), or write x = x + y"
                )
            if isinstance(other, Tensor) and other.requires_grad:
                raise RuntimeError(
                    f"{name}: in-place operations do not record gradients, and the other "
                    "operand requires grad; write x = x + y instead"
                )
        if not self._data.flags.writeable:
            raise RuntimeError(
                f"{name}: this tensor is a read-only view (made by expand or broadcasting); "
                "call .clone() first"
            )
        value = other._data if isinstance(other, Tensor) else other
        try:
            update(self._data, value)
        except ValueError:
            raise ShapeError(
                f"{name}: cannot write values of shape {np.shape(value)} into a tensor of "
                f"shape {self.shape}"
            ) from None
        except TypeError as error:
            raise DTypeError(f"{name}: {error}") from None
        except IndexError as error:
            raise IndexError(f"{name}: {error} (tensor shape {self.shape})") from None
        _mark_changed(self)
        return self

    def add_(self, other: Operand) -> Tensor:
        return self._in_place("add_", other, lambda a, b: np.add(a, b, out=a))

    def sub_(self, other: Operand) -> Tensor:
        return self._in_place("sub_", other, lambda a, b: np.subtract(a, b, out=a))

    def mul_(self, other: Operand) -> Tensor:
        return self._in_place("mul_", other, lambda a, b: np.multiply(a, b, out=a))

    def div_(self, other: Operand) -> Tensor:
        return self._in_place("div_", other, lambda a, b: np.divide(a, b, out=a))

    def copy_(self, source: Operand) -> Tensor:
        return self._in_place("copy_", source, lambda a, b: np.copyto(a, b))

    def fill_(self, value: Scalar) -> Tensor:
        return self._in_place("fill_", value, lambda a, b: a.fill(b))

    def zero_(self) -> Tensor:
        return self._in_place("zero_", 0, lambda a, b: a.fill(b))

    def normal_(self, mean: float = 0.0, std: float = 1.0) -> Tensor:
        draw = creation.default_generator().normal(mean, std, self.shape)
        return self._in_place("normal_", draw, lambda a, b: np.copyto(a, b))

    def uniform_(self, low: float = 0.0, high: float = 1.0) -> Tensor:
        draw = creation.default_generator().uniform(low, high, self.shape)
        return self._in_place("uniform_", draw, lambda a, b: np.copyto(a, b))

    def __setitem__(self, index: Index, value: Operand) -> None:
        self._in_place("setitem", value, lambda a, b: a.__setitem__(_index(index), b))

    def __iadd__(self, other: Operand) -> Tensor:
        return self.add_(other)

    def __isub__(self, other: Operand) -> Tensor:
        return self.sub_(other)

    def __imul__(self, other: Operand) -> Tensor:
        return self.mul_(other)

    def __itruediv__(self, other: Operand) -> Tensor:
        return self.div_(other)

    # Last in the class: these names would shadow the built-in types in annotations below them.
    def float(self) -> Tensor:
        return self.to(np.float32)

    def double(self) -> Tensor:
        return self.to(np.float64)

    def long(self) -> Tensor:
        return self.to(np.int64)


class RemovableHandle:
    """Returned by `register_hook`; `remove()` unregisters the hook."""

    def __init__(self, hooks: list[Any], hook: Any) -> None:
        self._hooks, self._hook = hooks, hook

    def remove(self) -> None:
        if self._hook in self._hooks:
            self._hooks.remove(self._hook)


class MinMax(NamedTuple):
    """What max(dim) / min(dim) return, as PyTorch does: the values and their indices."""

    values: Tensor
    indices: Tensor


# --- argument handling ------------------------------------------------------------------------


def _to_array(data: Any, dtype: Any, copy: bool, where: str) -> np.ndarray:
    """Turn user data into an array: Python numbers and lists of floats become float64, of ints
    int64 (as in PyTorch, so they can index); NumPy arrays keep their dtype."""
    if isinstance(data, Tensor):
        array = data._data
    elif isinstance(data, np.ndarray):
        array = data
    else:
        try:
            array = np.array(data)
        except ValueError:
            raise ValueError(
                f"{where}: the nested sequence is ragged (its rows have different lengths), "
                "so it cannot form a rectangular tensor"
            ) from None
    if array.dtype.kind == "c":
        raise DTypeError(f"{where}: complex numbers are not supported (got dtype {array.dtype})")
    if array.dtype.kind not in "fiub":
        raise DTypeError(
            f"{where}: data must be numbers, got {type(data).__name__} "
            f"giving NumPy dtype {array.dtype}"
        )
    if dtype is not None:
        array = array.astype(_dtype(dtype, where), copy=False)
    if copy and (array is data or isinstance(data, Tensor) or array.base is not None):
        array = array.copy()
    return array


def _operand(value: Any, like: Tensor) -> Tensor:
    """The other operand of a binary op as a constant tensor. A Python number takes the
    floating dtype of `like`, so float32 tensors stay float32."""
    if isinstance(value, Tensor):
        return value
    if isinstance(value, (int, float)) and like._data.dtype.kind == "f":
        if value:  # 0.0 and -0.0 are equal as cache keys but not as divisors
            return _number(value, like._data.dtype)
        return Tensor._make(np.array(value, dtype=like._data.dtype), False, None)
    return Tensor._make(_to_array(value, None, copy=False, where="operand"), False, None)


@functools.lru_cache(maxsize=256)
def _number(value: float, dtype: np.dtype) -> Tensor:
    """A Python number as a constant tensor, made once: a training loop uses the same few
    numbers (a learning rate, the 2 of x * 2) in every step, and making a tensor costs more
    than multiplying a small one. Read-only, since every use shares it."""
    array = np.array(value, dtype=dtype)
    array.flags.writeable = False
    return Tensor._make(array, False, None)


def _dim(dim: int, ndim: int, op: str) -> int:
    """`dim` as a non-negative index, checked against the number of dimensions."""
    if not isinstance(dim, (int, np.integer)):
        raise TypeError(f"{op}: dim must be an int, got {type(dim).__name__}")
    size = max(ndim, 1)  # a 0-d tensor accepts dim 0 and -1, as in PyTorch
    if not -size <= dim < size:
        raise IndexError(
            f"{op}: dim {dim} is out of range for a tensor with {ndim} dimensions "
            f"(expected {-size} to {size - 1})"
        )
    return int(dim) % size


def _reduction_args(
    tensor: Tensor, dim: Any, axis: Any, keepdim: bool, keepdims: bool | None, op: str
) -> tuple[tuple[int, ...] | None, bool]:
    """Normalise PyTorch's (dim, keepdim) or NumPy's (axis, keepdims) into sorted axes."""
    if axis is not None:
        dim = axis
    keep = keepdim if keepdims is None else keepdims
    if dim is None:
        return None, keep
    dims = (dim,) if isinstance(dim, (int, np.integer)) else tuple(dim)
    axes = tuple(sorted({_dim(d, tensor.ndim, op) for d in dims}))
    if tensor.ndim == 0:
        return None, keep
    return axes, keep


def _extremum(
    tensor: Tensor,
    op: type[Function],
    arg: Callable[..., Any],
    dim: Any,
    axis: Any,
    keepdim: bool,
    keepdims: bool | None,
    name: str,
) -> Any:
    axes, keep = _reduction_args(tensor, dim, axis, keepdim, keepdims, name)
    if axes is None or isinstance(dim if axis is None else axis, (tuple, list)):
        return op.apply(tensor, axes=axes, keepdim=keep, split_ties=True)
    values = op.apply(tensor, axes=axes, keepdim=keep, split_ties=False)
    return MinMax(values, _arg_extremum(tensor, arg, axes[0], keep, "arg" + name))


def _arg_extremum(
    tensor: Tensor, arg: Callable[..., Any], dim: int | None, keepdim: bool, op: str
) -> Tensor:
    if tensor.numel() == 0:
        raise ShapeError(f"{op}: cannot reduce an empty tensor of shape {tensor.shape}")
    if dim is None:
        return Tensor._make(np.asarray(arg(tensor._data), dtype=np.int64), False, None)
    axis = _dim(dim, tensor.ndim, op)
    if tensor.ndim == 0:
        return Tensor._make(np.zeros((), dtype=np.int64), False, None)
    return Tensor._make(
        arg(tensor._data, axis=axis, keepdims=keepdim).astype(np.int64), False, None
    )


def _shape_args(args: Sequence[Any], where: str = "shape") -> tuple[int, ...]:
    """Accept both f(2, 3) and f((2, 3)), as PyTorch does; sizes must be integers."""
    if len(args) == 1 and isinstance(args[0], (tuple, list)):
        args = args[0]
    try:
        return tuple(int(n) if isinstance(n, Tensor) else operator.index(n) for n in args)
    except (TypeError, RuntimeError):
        raise TypeError(f"{where}: sizes must be integers, got {tuple(args)!r}") from None


def _dtype(dtype: Any, where: str) -> np.dtype:
    """`dtype` as a NumPy dtype of numbers, or a clear error naming `where`."""
    try:
        resolved = np.dtype(dtype)
    except TypeError:
        raise DTypeError(
            f"{where}: unknown dtype {dtype!r}; use e.g. tl.float32, tl.float64 or tl.int64"
        ) from None
    if resolved.kind not in "fiub":
        raise DTypeError(f"{where}: dtype {resolved} is not supported; use a float, int or bool")
    return resolved


def _index(index: Index) -> Index:
    """Tensors inside an index become their arrays; lists become arrays (advanced indexing)."""
    parts = index if isinstance(index, tuple) else (index,)
    converted = []
    for part in parts:
        if isinstance(part, Tensor):
            part = part._data
        elif isinstance(part, list):
            part = np.asarray(part)
        if isinstance(part, np.ndarray) and part.dtype.kind not in "iub":
            raise IndexError(
                f"getitem: tensors used as indices must be integer or boolean, got {part.dtype}"
            )
        converted.append(part)
    return tuple(converted) if isinstance(index, tuple) else converted[0]


# Imported last: the ops and factories build on the Tensor class above.
from . import creation, ops  # noqa: E402
