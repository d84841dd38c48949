"""Every differentiable operation, one `Function` subclass each, backward right under forward.

`forward` works on NumPy arrays. `backward(g)` receives g = dL/d(output) and returns dL/d(input)
for each input. Each rule is written once for two kinds of values:
- NumPy arrays, in an ordinary backward pass: nothing there needs recording, and an array
  operation costs a fraction of a Tensor operation;
- Tensors, when the pass is recorded (`create_graph=True`), so that the gradients it returns
  can be differentiated again.
So the rules use only what both kinds offer (arithmetic, `@`, `.reshape`, `.sum(axis=...)`,
`.swapaxes`, indexing) and the few functions below that pick NumPy's version or the Tensor's.
A rule reads the op's inputs with `self.saved_like(g)`, and its output with
`self.output_like(g)`, in the kind of g. Gradients of broadcast inputs are summed back to the
input's shape by the engine (autograd.py), not here.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from .autograd import Function, Grad, _as_tensor
from .errors import ShapeError
from .tensor import Tensor


class _Op(Function):
    """A built-in op, whose backward rule runs on arrays or on Tensors (see above)."""

    backward_takes_arrays = True


# --- functions for rules: NumPy's on arrays, the recorded op on Tensors ----------------------


def exp(value: Grad) -> Grad:
    return value.exp() if isinstance(value, Tensor) else np.exp(value)


def log(value: Grad) -> Grad:
    return value.log() if isinstance(value, Tensor) else np.log(value)


def sin(value: Grad) -> Grad:
    return value.sin() if isinstance(value, Tensor) else np.sin(value)


def cos(value: Grad) -> Grad:
    return value.cos() if isinstance(value, Tensor) else np.cos(value)


def where(condition: Grad, x: Grad, y: Grad) -> Grad:
    """`x` where `condition` holds, else `y`."""
    if isinstance(x, Tensor) or isinstance(y, Tensor):
        return Where.apply(*[_as_tensor(v) for v in (condition, x, y)])
    return np.where(condition, x, y)


def expand(value: Grad, shape: tuple[int, ...]) -> Grad:
    """`value` broadcast to `shape` (a read-only view for arrays)."""
    return value.expand(shape) if isinstance(value, Tensor) else _broadcast_to(value, shape)


def permute(value: Grad, dims: tuple[int, ...]) -> Grad:
    return value.permute(*dims) if isinstance(value, Tensor) else value.transpose(dims)


def cast(value: Grad, dtype: np.dtype) -> Grad:
    return value.to(dtype) if isinstance(value, Tensor) else value.astype(dtype)


class _Broadcasting(_Op):
    """An elementwise op of several inputs, broadcast against each other as NumPy does."""

    def _forward_error(
        self, error: Exception, arrays: list[np.ndarray], params: Mapping[str, Any]
    ) -> str:
        shapes = " with ".join(str(a.shape) for a in arrays)
        return f"{self.op_name}: cannot broadcast {shapes}"


# --- elementwise, two inputs ------------------------------------------------------------------


class Add(_Broadcasting):
    """z = x + y;  dz/dx = 1,  dz/dy = 1."""

    def forward(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        return x + y

    def backward(self, g: Grad) -> tuple[Grad | None, ...]:
        return g, g


class Sub(_Broadcasting):
    """z = x - y;  dz/dx = 1,  dz/dy = -1."""

    def forward(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        return x - y

    def backward(self, g: Grad) -> tuple[Grad | None, ...]:
        return g, -g if self.needs_input_grad[1] else None


class Mul(_Broadcasting):
    """z = x * y;  dz/dx = y,  dz/dy = x."""

    def forward(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        return x * y

    def backward(self, g: Grad) -> tuple[Grad | None, ...]:
        x, y = self.saved_like(g)
        # Only the gradients that are needed: `x * 2.0` or `w * data` skip the constant's.
        need_x, need_y = self.needs_input_grad
        return g * y if need_x else None, g * x if need_y else None


class Div(_Broadcasting):
    """z = x / y;  dz/dx = 1/y,  dz/dy = -x/y^2."""

    def forward(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        return x / y

    def backward(self, g: Grad) -> tuple[Grad | None, ...]:
        x, y = self.saved_like(g)
        gx = g / y
        return gx, -gx * x / y if self.needs_input_grad[1] else None


class Pow(_Broadcasting):
    """z = x ** y;  dz/dx = y x^(y-1),  dz/dy = x^y log x  (taken as 0 where x = 0)."""

    def forward(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        return x**y

    def backward(self, g: Grad) -> tuple[Grad | None, ...]:
        x, y = self.saved_like(g)
        gx = g * y * x ** (y - 1) if self.needs_input_grad[0] else None
        gy = None
        if self.needs_input_grad[1]:
            # x^y log x -> 0 as x -> 0 (for y > 0); NumPy's log(0) would make it NaN.
            gy = g * x**y * log(where(x == 0, 1.0, x))
        return gx, gy


class Maximum(_Broadcasting):
    """z = max(x, y) elementwise;  the gradient goes to the larger input, half each at ties.

    A NaN wins, as in np.maximum: the input it came from gets the gradient (as in PyTorch)."""

    def forward(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        self.x_share = _first_share(x > y, x, y)
        return np.maximum(x, y)

    def backward(self, g: Grad) -> tuple[Grad | None, ...]:
        share = self.x_share
        return g * share, g * (1.0 - share)


class Minimum(_Broadcasting):
    """z = min(x, y) elementwise;  the gradient goes to the smaller input, half each at ties.

    A NaN wins, as in np.minimum: the input it came from gets the gradient (as in PyTorch)."""

    def forward(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        self.x_share = _first_share(x < y, x, y)
        return np.minimum(x, y)

    def backward(self, g: Grad) -> tuple[Grad | None, ...]:
        share = self.x_share
        return g * share, g * (1.0 - share)


def _first_share(x_wins: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The part of the gradient of max(x, y) or min(x, y) that goes to x: 1 where x wins,
    1/2 at ties, and where NaNs make the result NaN, 1 to the NaN (1/2 if both are NaN)."""
    x_nan, y_nan = np.isnan(x), np.isnan(y)
    return x_wins + 0.5 * (x == y) + x_nan * (1.0 - 0.5 * y_nan)


class Where(_Broadcasting):
    """z = cond ? x : y;  dz/dx = cond,  dz/dy = not cond;  cond gets no gradient."""

    def forward(self, cond: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        self.cond = cond
        return np.where(cond, x, y)

    def backward(self, g: Grad) -> tuple[Grad | None, ...]:
        zero = np.zeros((), dtype=g.dtype)
        return None, where(self.cond, g, zero), where(self.cond, zero, g)


# --- elementwise, one input -------------------------------------------------------------------


class Neg(_Op):
    """z = -x;  dz/dx = -1."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        return -x

    def backward(self, g: Grad) -> tuple[Grad | None, ...]:
        return (-g,)


class PowScalar(_Op):
    """z = x ** p for a fixed number p;  dz/dx = p x^(p-1)."""

    display_name = "pow"

    def forward(self, x: np.ndarray, exponent: float) -> np.ndarray:
        self.exponent = exponent
        return x**exponent

    def backward(self, g: Grad) -> tuple[Grad | None, ...]:
        (x,) = self.saved_like(g)
        p = self.exponent
        if p == 0:
            return (g * 0.0,)  # avoid 0 * x^-1 = NaN at x = 0
        # x ** 1 is x: the square, the most common power (losses), skips an op
        return (g * p * (x if p == 2 else x ** (p - 1)),)


class Exp(_Op):
    """z = e^x;  dz/dx = e^x."""

    saves_output = True

    def forward(self, x: np.ndarray) -> np.ndarray:
        return np.exp(x)

    def backward(self, g: Grad) -> tuple[Grad | None, ...]:
        return (g * self.output_like(g),)


class Log(_Op):
    """z = ln x;  dz/dx = 1/x."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        return np.log(x)

    def backward(self, g: Grad) -> tuple[Grad | None, ...]:
        (x,) = self.saved_like(g)
        return (g / x,)


class Sqrt(_Op):
    """z = sqrt(x);  dz/dx = 1 / (2 sqrt(x))."""

    saves_output = True

    def forward(self, x: np.ndarray) -> np.ndarray:
        return np.sqrt(x)

    def backward(self, g: Grad) -> tuple[Grad | None, ...]:
        return (g / (2.0 * self.output_like(g)),)


class Sin(_Op):
    """z = sin x;  dz/dx = cos x."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        return np.sin(x)

    def backward(self, g: Grad) -> tuple[Grad | None, ...]:
        (x,) = self.saved_like(g)
        return (g * cos(x),)


class Cos(_Op):
    """z = cos x;  dz/dx = -sin x."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        return np.cos(x)

    def backward(self, g: Grad) -> tuple[Grad | None, ...]:
        (x,) = self.saved_like(g)
        return (-g * sin(x),)


class Abs(_Op):
    """z = |x|;  dz/dx = sign(x), taken as 0 at x = 0 (as PyTorch does)."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.sign = np.sign(x)
        return np.abs(x)

    def backward(self, g: Grad) -> tuple[Grad | None, ...]:
        return (g * self.sign,)


class Tanh(_Op):
    """z = tanh x;  dz/dx = 1 - tanh^2 x."""

    saves_output = True

    def forward(self, x: np.ndarray) -> np.ndarray:
        return np.tanh(x)

    def backward(self, g: Grad) -> tuple[Grad | None, ...]:
        z = self.output_like(g)
        return (g * (1.0 - z * z),)


class Sigmoid(_Op):
    """z = 1 / (1 + e^-x);  dz/dx = z (1 - z)."""

    saves_output = True

    def forward(self, x: np.ndarray) -> np.ndarray:
        # exp(-log(1 + e^-x)) never overflows, unlike 1 / (1 + exp(-x)) for x << 0.
        return np.exp(-np.logaddexp(0.0, -x))

    def backward(self, g: Grad) -> tuple[Grad | None, ...]:
        z = self.output_like(g)
        return (g * z * (1.0 - z),)


class Relu(_Op):
    """z = max(x, 0);  dz/dx = 1 where x > 0, else 0 (0 at x = 0, as PyTorch does).

    NaN passes through with gradient 1, as np.maximum(x, 0) and PyTorch's relu do."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.passes = ~(x <= 0)  # `x > 0` would turn a NaN into 0 and hide it
        return np.where(self.passes, x, np.zeros((), dtype=x.dtype))

    def backward(self, g: Grad) -> tuple[Grad | None, ...]:
        return (g * self.passes,)


class Clamp(_Op):
    """z = min(max(x, low), high);  dz/dx = 1 where low <= x <= high, else 0."""

    def forward(self, x: np.ndarray, low: float | None, high: float | None) -> np.ndarray:
        inside = np.ones(x.shape, dtype=bool)
        if low is not None:
            inside &= x >= low
        if high is not None:
            inside &= x <= high
        self.inside = inside
        return np.clip(x, low, high)

    def backward(self, g: Grad) -> tuple[Grad | None, ...]:
        return (g * self.inside,)


class Cast(_Op):
    """z = x converted to another dtype;  dz/dx = 1, converted back to x's dtype."""

    display_name = "to"

    def forward(self, x: np.ndarray, dtype: np.dtype) -> np.ndarray:
        self.input_dtype = x.dtype
        return x.astype(dtype)

    def backward(self, g: Grad) -> tuple[Grad | None, ...]:
        return (cast(g, self.input_dtype),)


class Clone(_Op):
    """z = a copy of x;  dz/dx = 1."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        return x.copy()

    def backward(self, g: Grad) -> tuple[Grad | None, ...]:
        return (g,)


# --- matrix product ---------------------------------------------------------------------------


class MatMul(_Op):
    """Z = X @ Y (1-D, 2-D, or batched with broadcast batch dimensions).

    dZ/dX: G @ Y^T,  dZ/dY: X^T @ G, where ^T swaps the last two dimensions. A 1-D operand is
    treated as a row (left) or column (right) vector whose extra dimension is then dropped.
    """

    def forward(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        if x.ndim == 0 or y.ndim == 0:
            raise ShapeError(
                f"matmul: both operands need at least one dimension, got {x.shape} @ {y.shape}"
            )
        inner_y = y.shape[-2] if y.ndim > 1 else y.shape[0]
        if x.shape[-1] != inner_y:
            raise ShapeError(
                f"matmul: inner dimensions do not match: {x.shape} @ {y.shape} "
                f"({x.shape[-1]} != {inner_y})"
            )
        return np.matmul(x, y)

    def _forward_error(
        self, error: Exception, arrays: list[np.ndarray], params: Mapping[str, Any]
    ) -> str:
        x, y = arrays
        return f"matmul: batch dimensions do not broadcast: {x.shape} @ {y.shape}"

    def backward(self, g: Grad) -> tuple[Grad | None, ...]:
        x, y = self.saved_like(g)
        if x.ndim == 1 and y.ndim == 1:  # dot product: a scalar output
            return g * y, g * x
        if x.ndim == 1:  # (k) @ (..., k, m) -> (..., m): x as a (1, k) row, then dropped
            gx = (g[..., None, :] @ y.swapaxes(-1, -2))[..., 0, :]
            gy = x[:, None] @ g[..., None, :]
            return gx, gy
        if y.ndim == 1:  # (..., n, k) @ (k) -> (..., n): y as a (k, 1) column, then dropped
            gx = g[..., :, None] @ y[None, :]
            gy = (x.swapaxes(-1, -2) @ g[..., :, None])[..., 0]
            return gx, gy
        # Only the products that are needed: for `data @ w` the (n, k) gradient of the data
        # would cost as much as the forward product and be thrown away.
        need_x, need_y = self.needs_input_grad
        gx = g @ y.swapaxes(-1, -2) if need_x else None
        return gx, x.swapaxes(-1, -2) @ g if need_y else None


# --- reductions -------------------------------------------------------------------------------


def _kept_shape(shape: tuple[int, ...], axes: tuple[int, ...] | None) -> tuple[int, ...]:
    """The shape a reduction over `axes` has with keepdim=True."""
    if axes is None:
        return (1,) * len(shape)
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


def _count(shape: tuple[int, ...], axes: tuple[int, ...] | None) -> int:
    """How many elements each output of a reduction over `axes` summarises."""
    # math.prod, not np.prod: a Python product of a few ints, without NumPy's call overhead
    if axes is None:
        return math.prod(shape)
    return math.prod(shape[i] for i in axes)


class Sum(_Op):
    """z = sum of x over `axes`;  dz/dx = 1 for every summed element."""

    def forward(self, x: np.ndarray, axes: tuple[int, ...] | None, keepdim: bool) -> np.ndarray:
        self.input_shape, self.kept_shape = x.shape, _kept_shape(x.shape, axes)
        return x.sum(axis=axes, keepdims=keepdim)  # the method skips np.sum's Python wrapper

    def backward(self, g: Grad) -> tuple[Grad | None, ...]:
        # A 0-d gradient (of a sum of everything, as a loss is) broadcasts as it is; the
        # reshape puts back the summed dimensions of a sum over some of them.
        kept = g if g.ndim == 0 else g.reshape(self.kept_shape)
        return (expand(kept, self.input_shape),)


class Mean(_Op):
    """z = mean of x over `axes` (n elements each);  dz/dx = 1/n."""

    def forward(self, x: np.ndarray, axes: tuple[int, ...] | None, keepdim: bool) -> np.ndarray:
        self.input_shape, self.kept_shape = x.shape, _kept_shape(x.shape, axes)
        self.count = _count(x.shape, axes)
        return np.mean(x, axis=axes, keepdims=keepdim)

    def backward(self, g: Grad) -> tuple[Grad | None, ...]:
        kept = g if g.ndim == 0 else g.reshape(self.kept_shape)  # as in Sum
        # divided before it is expanded: one division per output, not per input element
        return (expand(kept / self.count, self.input_shape),)


class _Extremum(_Op):
    """z = max (or min) of x over `axes`; the gradient flows to the element(s) chosen.

    With `split_ties` (max(), amax()) tied elements share the gradient equally; without it
    (max(dim)) all of it goes to the first one, the index that max(dim) returns.
    """

    reduce: Any = staticmethod(np.max)
    arg_reduce: Any = staticmethod(np.argmax)

    def forward(
        self, x: np.ndarray, axes: tuple[int, ...] | None, keepdim: bool, split_ties: bool
    ) -> np.ndarray:
        if x.size == 0:
            raise ShapeError(f"{self.op_name}: cannot reduce an empty tensor of shape {x.shape}")
        self.input_shape, self.kept_shape = x.shape, _kept_shape(x.shape, axes)
        kept = self.reduce(x, axis=axes, keepdims=True)
        if split_ties:
            # A NaN is the extreme (np.max returns it), so the gradient goes to the NaN(s).
            chosen = ((x == kept) | (np.isnan(x) & np.isnan(kept))).astype(x.dtype)
            self.mask = chosen / np.sum(chosen, axis=axes, keepdims=True)
        else:
            assert axes is not None and len(axes) == 1, "first-index ties need one dim"
            index = np.expand_dims(self.arg_reduce(x, axis=axes[0]), axes[0])
            self.mask = np.zeros(x.shape, dtype=x.dtype)
            np.put_along_axis(self.mask, index, 1.0, axis=axes[0])
        return kept if keepdim else kept.reshape(np.sum(x, axis=axes).shape)

    def backward(self, g: Grad) -> tuple[Grad | None, ...]:
        return (g.reshape(self.kept_shape) * self.mask,)  # the product broadcasts


class Max(_Extremum):
    __doc__ = _Extremum.__doc__


class Min(_Extremum):
    __doc__ = _Extremum.__doc__
    reduce = staticmethod(np.min)
    arg_reduce = staticmethod(np.argmin)


def _stable_logsumexp(x: np.ndarray, axes: tuple[int, ...] | None) -> np.ndarray:
    """log sum exp x over `axes`, kept dims, computed as m + log sum exp(x - m), m = max x."""
    m = np.max(x, axis=axes, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)  # all -inf (or inf) slices: leave them to NumPy
    return m + np.log(np.sum(np.exp(x - m), axis=axes, keepdims=True))


class LogSumExp(_Op):
    """z = log sum_i e^(x_i) over `axes`;  dz/dx = softmax(x) over those axes."""

    saves_output = True

    def forward(self, x: np.ndarray, axes: tuple[int, ...] | None, keepdim: bool) -> np.ndarray:
        self.axes, self.input_shape = axes, x.shape
        self.kept_shape = _kept_shape(x.shape, axes)
        kept = _stable_logsumexp(x, axes)
        return kept if keepdim else kept.reshape(np.sum(x, axis=axes).shape)

    def backward(self, g: Grad) -> tuple[Grad | None, ...]:
        (x,) = self.saved_like(g)
        softmax = exp(x - self.output_like(g).reshape(self.kept_shape))
        return (g.reshape(self.kept_shape) * softmax,)  # the product broadcasts


class Softmax(_Op):
    """s = e^x / sum e^x along `dim`;  ds/dx applied to g: s * (g - sum(g * s))."""

    saves_output = True

    def forward(self, x: np.ndarray, dim: int) -> np.ndarray:
        self.dim = dim
        return _softmax(x, dim)

    def backward(self, g: Grad) -> tuple[Grad | None, ...]:
        s = self.output_like(g)
        return (s * (g - (g * s).sum(axis=self.dim, keepdims=True)),)


def _softmax(x: np.ndarray, dim: int) -> np.ndarray:
    e = np.exp(x - np.max(x, axis=dim, keepdims=True))  # shifted: e^x overflows from x = 710
    return e / np.sum(e, axis=dim, keepdims=True)


def softmax(value: Grad, dim: int) -> Grad:
    return value.softmax(dim) if isinstance(value, Tensor) else _softmax(value, dim)


class LogSoftmax(_Op):
    """z = x - logsumexp(x) along `dim`;  dz/dx applied to g: g - softmax(x) * sum(g)."""

    def forward(self, x: np.ndarray, dim: int) -> np.ndarray:
        self.dim = dim
        return x - _stable_logsumexp(x, (dim,))

    def backward(self, g: Grad) -> tuple[Grad | None, ...]:
        # softmax from x, not exp(output): x - logsumexp(x) has lost digits to cancellation
        (x,) = self.saved_like(g)
        return (g - softmax(x, self.dim) * g.sum(axis=self.dim, keepdims=True),)


# --- shape ------------------------------------------------------------------------------------


class Reshape(_Op):
    """z = x with another shape, same elements in the same order;  dz/dx: reshape back."""

    is_view = True

    def forward(self, x: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
        self.input_shape = x.shape
        return x.reshape(shape)

    def _forward_error(
        self, error: Exception, arrays: list[np.ndarray], params: Mapping[str, Any]
    ) -> str:
        (x,) = arrays
        return (
            f"reshape: cannot reshape a tensor of shape {x.shape} ({x.size} elements) "
            f"into {params['shape']}"
        )

    def backward(self, g: Grad) -> tuple[Grad | None, ...]:
        return (g.reshape(self.input_shape),)


class Permute(_Op):
    """z = x with its dimensions reordered;  dz/dx: the inverse reordering."""

    is_view = True

    def forward(self, x: np.ndarray, dims: tuple[int, ...]) -> np.ndarray:
        # The inverse permutation in plain Python: np.argsort would cost more than the
        # transpose itself, and matmul's backward transposes on every step.
        self.inverse = tuple(sorted(range(len(dims)), key=dims.__getitem__))
        return x.transpose(dims)  # the method skips np.transpose's Python wrapper

    def backward(self, g: Grad) -> tuple[Grad | None, ...]:
        return (permute(g, self.inverse),)


class Expand(_Op):
    """z = x repeated along dimensions of size 1 (broadcasting);  dz/dx sums the copies.

    The sum is the engine's unbroadcast, which every input of every op gets."""

    is_view = True

    def forward(self, x: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
        return _broadcast_to(x, shape)

    def _forward_error(
        self, error: Exception, arrays: list[np.ndarray], params: Mapping[str, Any]
    ) -> str:
        return f"expand: cannot expand a tensor of shape {arrays[0].shape} to {params['shape']}"

    def backward(self, g: Grad) -> tuple[Grad | None, ...]:
        return (g,)


class Cat(_Op):
    """z = the inputs joined along `dim`;  dz/dx_i = the slice of g that came from x_i."""

    def forward(self, *arrays: np.ndarray, dim: int) -> np.ndarray:
        self.dim = dim
        self.bounds = np.cumsum([0] + [a.shape[dim] for a in arrays])
        return np.concatenate(arrays, axis=dim)

    def _forward_error(
        self, error: Exception, arrays: list[np.ndarray], params: Mapping[str, Any]
    ) -> str:
        shapes = ", ".join(str(a.shape) for a in arrays)
        return f"cat: tensors must have the same shape except in the joined dim; got {shapes}"

    def backward(self, g: Grad) -> tuple[Grad | None, ...]:
        before = (slice(None),) * self.dim
        return tuple(
            g[before + (slice(int(start), int(stop)),)]
            for start, stop in zip(self.bounds[:-1], self.bounds[1:])
        )


class GetItem(_Op):
    """z = x[index];  dz/dx: g scattered back into zeros of x's shape, repeats adding up."""

    def forward(self, x: np.ndarray, index: Any) -> np.ndarray:
        self.index, self.input_shape = index, x.shape
        # Basic indexing (ints, slices, None, ...) gives a view of x; arrays give a copy.
        self.is_view = not _has_array(index)
        return x[index]

    def backward(self, g: Grad) -> tuple[Grad | None, ...]:
        if isinstance(g, Tensor):
            return (IndexAdd.apply(g, index=self.index, shape=self.input_shape),)
        return (_index_add(g, self.index, self.input_shape),)


class IndexAdd(_Op):
    """z = zeros(shape) with g added at `index` (GetItem's backward);  dz/dg = z[index]."""

    def forward(self, g: np.ndarray, index: Any, shape: tuple[int, ...]) -> np.ndarray:
        self.index = index
        return _index_add(g, index, shape)

    def backward(self, gg: Grad) -> tuple[Grad | None, ...]:
        if isinstance(gg, Tensor):
            return (GetItem.apply(gg, index=self.index),)
        return (gg[self.index],)


def _index_add(g: np.ndarray, index: Any, shape: tuple[int, ...]) -> np.ndarray:
    """zeros(shape) with g added at `index`."""
    out = np.zeros(shape, dtype=g.dtype)
    if _has_array(index):
        np.add.at(out, index, g)  # an index repeated in the array gets every update
    else:
        out[index] = g
    return out


def _broadcast_to(x: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """np.broadcast_to, with a shortcut for the most common case.

    The gradient of a full sum or mean (of every loss) is 0-d. Its broadcast is a view with all
    strides 0, made directly: np.broadcast_to costs more than the rest of that op. Read-only
    like broadcast_to's, as its elements share memory.
    """
    if x.ndim == 0 and all(n >= 0 for n in shape):
        view = np.ndarray(shape, x.dtype, np.asarray(x), strides=(0,) * len(shape))
        view.flags.writeable = False
        return view
    return np.broadcast_to(x, shape)


def _has_array(index: Any) -> bool:
    """True when an index uses integer or boolean arrays (NumPy's advanced indexing)."""
    parts = index if isinstance(index, tuple) else (index,)
    return any(isinstance(part, np.ndarray) for part in parts)
