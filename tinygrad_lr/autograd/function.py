"""`Function`: one differentiable operation, written as PyTorch's `torch.autograd.Function`.

    class Exp(Function):
        @staticmethod
        def forward(ctx, x):          # gets Tensors, runs with recording off
            z = x.exp()
            ctx.save_for_backward(z)
            return z

        @staticmethod
        def backward(ctx, g):         # g = dL/dz; returns dL/dx, one entry per forward input
            (z,) = ctx.saved_tensors
            return g * z

    y = Exp.apply(x)

`apply` runs `forward` and, when grad mode is on and an input requires grad, records the call:
the `ctx` object becomes the outputs' `grad_fn`, a node of the graph. Every built-in op in
`tinygrad_lr.ops` is written this way, and its backward uses Tensor operations, so an ordinary
backward runs it with recording off and `create_graph=True` records it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from . import graph
from .anomaly_mode import check_finite, remember_origin, warn_error_in
from .grad_mode import _state, no_grad
from .graph import Node, edge_to

if TYPE_CHECKING:
    from ..tensor import Tensor


class Function(Node):
    """Base class of differentiable operations; subclasses define `forward` and `backward`
    as static methods taking `ctx` first (see the module docstring)."""

    needs_input_grad: tuple[bool, ...] = ()
    materialize_grads = True
    # Set by apply; the class's empty defaults stand in until then (a ctx is made per op).
    _to_save: tuple[Tensor | None, ...] = ()
    _saved: tuple[SavedTensor | None, ...] | None = ()
    _non_differentiable: tuple[Tensor, ...] = ()
    _tensor_positions: tuple[int, ...] = ()  # which arguments of forward were Tensors
    _inputs_meta: tuple[tuple[tuple[int, ...], Any] | None, ...] = ()  # (shape, dtype) each
    _outputs_meta: tuple[tuple[tuple[int, ...], Any], ...] = ()

    @staticmethod
    def forward(ctx: Any, *args: Any) -> Any:
        raise NotImplementedError("a Function must define forward(ctx, *args)")

    @staticmethod
    def backward(ctx: Any, *grads: Any) -> Any:
        raise NotImplementedError("a Function must define backward(ctx, *grads)")

    # --- what forward may call on ctx -------------------------------------------------------

    def save_for_backward(self, *tensors: Tensor | None) -> None:
        """Keep these tensors for backward; backward reads them from `ctx.saved_tensors`."""
        self._to_save = tensors

    def mark_non_differentiable(self, *outputs: Tensor) -> None:
        """These outputs (e.g. indices) get no gradient and do not require grad."""
        self._non_differentiable = outputs

    def set_materialize_grads(self, value: bool) -> None:
        """With False, backward gets None for outputs no gradient reached, instead of zeros."""
        self.materialize_grads = value

    @property
    def saved_tensors(self) -> tuple[Tensor | None, ...]:
        """The saved tensors, each checked to be unchanged since it was saved."""
        if self._saved is None:
            raise RuntimeError(
                f"{self.name()}: trying to backward through the graph a second time (or to "
                "read saved tensors after they were freed). The saved values are freed by "
                "backward(); pass retain_graph=True to the first backward() to keep them."
            )
        return tuple(None if s is None else s.unpack(self, k) for k, s in enumerate(self._saved))

    def name(self) -> str:
        return type(self).__name__ + "Backward"

    # --- applying the op --------------------------------------------------------------------

    @classmethod
    def apply(cls, *args: Any) -> Any:
        """Run the op on `args`; record it when grad mode is on and an input requires grad."""
        if cls._returns_new_tensors and not _state.grad_enabled and not graph._observers:
            return cls._apply_unrecorded(args)
        tensor_type = _tensor.Tensor
        ctx = cls()
        needs = tuple([isinstance(a, tensor_type) and a._requires_grad for a in args])
        ctx.needs_input_grad = needs
        record = _state.grad_enabled and True in needs
        previous, _state.grad_enabled = _state.grad_enabled, False
        _state.op_depth += 1
        try:
            result = cls.forward(ctx, *args)
        except Exception as error:
            if ctx._explains(error):
                raise ctx._explain(error, args) from None
            raise
        finally:
            _state.op_depth -= 1
            _state.grad_enabled = previous
        outputs = ctx._check_outputs(result, args)
        if len(ctx._non_differentiable) == len(outputs):
            record = False  # a comparison, an index: no output for a node to make
        if record:
            ctx._record(args, outputs)
        for observer in graph._observers:
            observer.on_apply(cls, args, outputs, ctx if record else None, _state.op_depth)
        return outputs[0] if isinstance(result, tensor_type) else outputs

    # --- fast path: an op that nothing records or observes ---------------------------------
    # The rules of an ordinary backward pass and updates under no_grad run here. A built-in
    # op's forward always returns new Tensors, so the output checks can be skipped too. This
    # took the chain `x = x * a + b` (forward and backward) from 11.9 to 11.1 us per op (median
    # of 30 interleaved runs); the plain path is the rest of apply, and
    # tests/test_fast_paths.py checks that both give the same results.
    _returns_new_tensors = False  # set by the built-in ops

    @classmethod
    def _apply_unrecorded(cls, args: tuple[Any, ...]) -> Any:
        ctx = cls()
        try:
            return cls.forward(ctx, *args)
        except Exception as error:
            if ctx._explains(error):
                raise ctx._explain(error, args) from None
            raise

    # --- recording --------------------------------------------------------------------------

    def _record(self, args: Sequence[Any], outputs: tuple[Tensor, ...]) -> None:
        """Make this ctx the node that produced `outputs`, with one edge per Tensor argument
        to the node that made it (as in PyTorch; backward still returns one gradient per
        argument, and `_tensor_positions` picks those that have an edge)."""
        positions, edges, metas = [], [], []
        for position, (arg, needed) in enumerate(zip(args, self.needs_input_grad)):
            if isinstance(arg, _tensor.Tensor):
                positions.append(position)
                edges.append(edge_to(arg) if needed else (None, 0))
                metas.append((arg._data.shape, arg._data.dtype) if needed else None)
        self._tensor_positions, self.next_functions = tuple(positions), tuple(edges)
        self._inputs_meta = tuple(metas)
        self._sequence_nr = next(graph._sequence)  # after the nodes its edges point to
        self._outputs_meta = tuple([(out._data.shape, out._data.dtype) for out in outputs])
        for position, out in enumerate(outputs):
            if not (self._non_differentiable and _is_among(out, self._non_differentiable)):
                out._attach(self, position)
        self._saved = tuple([None if t is None else SavedTensor(t, self) for t in self._to_save])
        self._to_save = ()
        if _state.detect_anomaly:
            remember_origin(self)

    def _check_outputs(self, result: Any, args: Sequence[Any]) -> tuple[Tensor, ...]:
        tensor_type = _tensor.Tensor
        if isinstance(result, tensor_type):
            outputs: tuple[Tensor, ...] = (result,)
        elif isinstance(result, tuple) and all(isinstance(o, tensor_type) for o in result):
            outputs = result
        else:
            raise TypeError(
                f"{type(self).__name__}.forward must return a Tensor or a tuple of Tensors, "
                f"got {type(result).__name__}"
            )
        # An input returned as it is gets a new Tensor object: recording must not rebind it.
        for arg in args:
            for out in outputs:
                if out is arg:
                    return tuple(o.detach() if o is arg else o for o in outputs)
        return outputs

    # Built-in ops turn NumPy's errors into ones that name the op; a user's op keeps its own
    # exception and traceback, so the user's line stays in it.
    def _explains(self, error: Exception) -> bool:
        return False

    def _explain(self, error: Exception, args: Sequence[Any]) -> Exception:
        return error

    # --- the backward side, called by the engine ---------------------------------------------

    def _apply_backward(self, grads: list[Tensor | None]) -> Sequence[Tensor | None]:
        """Run this op's backward on the gradients of its outputs and check what it returns:
        one gradient per input, summed back to the input's shape after broadcasting."""
        if self.materialize_grads:
            grads = [_zeros(meta) if g is None else g for g, meta in zip(grads, self._outputs_meta)]
        try:
            returned = type(self).backward(self, *grads)
        except Exception:
            if self._metadata and "traceback_" in self._metadata:
                warn_error_in(self)
            raise
        input_grads = _one_per_input(self, returned)
        return [
            None
            if meta is None or input_grads[i] is None
            else _conform(input_grads[i], meta, self, i)
            for i, meta in zip(self._tensor_positions, self._inputs_meta)
        ]

    def _output_count(self) -> int:
        return len(self._outputs_meta)

    def _release(self) -> None:
        self._saved = None


class SavedTensor:
    """A tensor saved for backward, with its version when saved: reading it after an in-place
    change is refused, since a gradient computed from the new values would be silently wrong.

    An op's own output is kept without its grad_fn (which is the op: a reference cycle) and
    rebuilt on reading, attached to the op again so that create_graph differentiates it. Under
    `saved_tensors_hooks` the hooks keep the values (and, as in PyTorch, no version is checked);
    what is unpacked is put back where the saved tensor was in the graph."""

    __slots__ = ("hooks", "output_nr", "packed", "place", "tensor", "version")

    def __init__(self, tensor: Tensor, node: Function) -> None:
        self.version = tensor._version_counter[0]
        self.output_nr = tensor._output_nr if tensor.grad_fn is node else None
        self.tensor = tensor.detach() if self.output_nr is not None else tensor
        self.hooks = _state.saved_tensors_hooks[-1] if _state.saved_tensors_hooks else None
        if self.hooks is not None:
            self.packed = self.hooks[0](self.tensor)
            # (grad_fn, output_nr) of a computed tensor, or the AccumulateGrad of a leaf
            self.place = (
                None
                if self.output_nr is not None or not tensor.requires_grad
                else (tensor.grad_fn, tensor._output_nr)
                if tensor.grad_fn is not None
                else tensor._accumulator
            )
            self.tensor = None  # type: ignore[assignment]

    def unpack(self, node: Function, position: int) -> Tensor:
        if self.hooks is not None:
            return self._put_back(self.hooks[1](self.packed), node)
        tensor = self.tensor
        if tensor._version != self.version:
            what = f"saved tensor {position}" + (
                " (its output)" if self.output_nr is not None else ""
            )
            raise RuntimeError(
                f"{node.name()}: {what} (shape {tensor.shape}) was modified by an in-place "
                f"operation after it was saved for backward: it is at version "
                f"{tensor._version}, saved at version {self.version}. Use an out-of-place "
                "operation such as `x = x * 2` instead of `x *= 2`, or .clone() it first."
            )
        if self.output_nr is None:
            return tensor
        rebuilt = tensor.detach()
        rebuilt._attach(node, self.output_nr)
        return rebuilt

    def _put_back(self, unpacked: Tensor, node: Function) -> Tensor:
        rebuilt = unpacked.detach()
        if self.output_nr is not None:
            rebuilt._attach(node, self.output_nr)
        elif isinstance(self.place, tuple):
            rebuilt._attach(*self.place)
        elif self.place is not None:  # a leaf: gradients reach it through its AccumulateGrad
            rebuilt._requires_grad, rebuilt._accumulator = True, self.place
        return rebuilt


def once_differentiable(backward: Callable[..., Any]) -> Callable[..., Any]:
    """Decorates a `backward` that is not itself differentiable: it runs with recording off,
    and differentiating its result (create_graph=True) raises an error instead of giving a
    silently wrong second derivative."""

    @functools.wraps(backward)
    def wrapper(ctx: Any, *grads: Any) -> Any:
        with no_grad():
            result = backward(ctx, *grads)
        if not (_state.grad_enabled and any(_is_tensor(g) and g.requires_grad for g in grads)):
            return result
        single = not isinstance(result, tuple)
        marked = tuple(
            _OnceDifferentiable.apply(g, ctx.name(), *grads) if _is_tensor(g) else g
            for g in ((result,) if single else result)
        )
        return marked[0] if single else marked

    return wrapper


class _OnceDifferentiable(Function):
    """Passes a gradient through; differentiating it again is an error."""

    @staticmethod
    def forward(ctx: Any, grad: Tensor, name: str, *upstream: Tensor) -> Tensor:
        ctx.op = name
        return grad.detach()

    @staticmethod
    def backward(ctx: Any, *grads: Tensor) -> Any:
        raise RuntimeError(
            f"{ctx.op}: trying to differentiate twice a function whose backward is marked "
            "@once_differentiable"
        )


# --- checks on what a backward returned -------------------------------------------------------


def _one_per_input(node: Function, returned: Any) -> tuple[Any, ...]:
    count = len(node.needs_input_grad)
    grads = returned if isinstance(returned, tuple) else (returned,)
    if len(grads) != count:
        raise RuntimeError(
            f"{node.name()}: backward returned {len(grads)} gradients, but forward took "
            f"{count} inputs; return one per input (None for inputs without a gradient)"
        )
    for position, meta in zip(node._tensor_positions, node._inputs_meta):
        g = grads[position]
        if meta is not None and g is not None and not isinstance(g, _tensor.Tensor):
            raise TypeError(
                f"{node.name()}: backward returned a {type(g).__name__} for input {position}; "
                "return Tensors (build them with Tensor operations, or tl.tensor(array))"
            )
    return grads


def _conform(
    grad: Tensor, meta: tuple[tuple[int, ...], Any], node: Function, position: int
) -> Tensor:
    """The gradient in its input's shape and dtype: a gradient of the broadcast shape is summed
    back (the engine does this for every op, so no op can forget it)."""
    shape, dtype = meta
    if grad._data.shape != shape:
        grad = _unbroadcast(grad, shape, node, position)
    if grad._data.dtype != dtype:
        grad = grad.to(dtype)
    if _state.detect_anomaly and _state.anomaly_check_nan:
        check_finite(grad, node, position)
    return grad


def _unbroadcast(grad: Tensor, shape: tuple[int, ...], node: Function, position: int) -> Tensor:
    """Sum `grad` over the dimensions that broadcasting added or stretched to reach `shape`."""
    extra = grad.ndim - len(shape)
    if extra < 0 or any(n not in (1, m) for n, m in zip(shape, grad.shape[extra:])):
        raise RuntimeError(
            f"{node.name()}: backward returned a gradient of shape {grad.shape} for input "
            f"{position}, which has shape {shape}"
        )
    stretched = [extra + i for i, n in enumerate(shape) if n == 1 and grad.shape[extra + i] != 1]
    summed = grad.sum(dim=tuple(range(extra)) + tuple(stretched), keepdim=True)
    return summed.reshape(shape)


def _zeros(meta: tuple[tuple[int, ...], Any]) -> Tensor:
    from ..creation import zeros

    return zeros(meta[0], dtype=meta[1])


def _is_among(tensor: Tensor, tensors: tuple[Tensor, ...]) -> bool:
    return any(tensor is t for t in tensors)


def _is_tensor(value: Any) -> bool:
    return isinstance(value, _tensor.Tensor)


import tinygrad_lr.tensor as _tensor  # noqa: E402  (tensor.py builds on this module)
