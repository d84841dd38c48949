"""The autograd engine: grad mode, the `Function` base class, and the backward pass.

Every differentiable operation is a `Function` subclass. Calling `Op.apply(*tensors)` runs
`forward` on the NumPy arrays and, when some input requires a gradient, records the call as a
node of the graph: the output tensor's `grad_fn`, which keeps its inputs.

`backward` walks that graph from the output towards the leaves in reverse topological order.
At each node it hands the gradient of the node's output to the node's `backward`, which returns
one gradient per input (the chain rule: dL/dx = dL/dy * dy/dx). The engine, not the op, sums
each input gradient back to the input's shape after broadcasting, and adds up the gradients of
a tensor used more than once.
"""

from __future__ import annotations

import contextlib
import gc
import os
import threading
import traceback
import warnings
import weakref
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np

from .errors import DTypeError, ShapeError

if TYPE_CHECKING:
    from .tensor import Tensor

F = TypeVar("F", bound=Callable[..., Any])


# --- grad mode --------------------------------------------------------------------------------


class _ThreadState(threading.local):
    """Per-thread switches, as in PyTorch: `no_grad` in one thread leaves the others alone."""

    grad_enabled: bool = True
    detect_anomaly: bool = False
    anomaly_check_nan: bool = True


_state = _ThreadState()


def is_grad_enabled() -> bool:
    """True when operations on tensors that require grad are being recorded."""
    return _state.grad_enabled


class _GradModeContext:
    """Sets grad mode inside a `with` block, or around every call of a decorated function."""

    mode: bool

    def __init__(self) -> None:
        self._previous: list[bool] = []

    def __enter__(self) -> None:
        self._previous.append(_state.grad_enabled)
        _state.grad_enabled = self.mode

    def __exit__(self, *exc_info: object) -> None:
        _state.grad_enabled = self._previous.pop()

    def __call__(self, func: F) -> F:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with self._fresh():
                return func(*args, **kwargs)

        wrapper.__name__ = getattr(func, "__name__", "wrapper")
        wrapper.__doc__ = func.__doc__
        wrapper.__wrapped__ = func  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    def _fresh(self) -> _GradModeContext:
        # A new context per call keeps a decorated function safe to call from several threads.
        return type(self)()


class _FixedGradMode(_GradModeContext):
    """A grad mode fixed by the class; usable as `@ctx()` and, as in PyTorch, `@ctx` bare."""

    def __new__(cls, func: Callable[..., Any] | None = None) -> Any:
        self = super().__new__(cls)
        if func is None:
            return self
        self.__init__()  # type: ignore[misc]
        return self(func)


class no_grad(_FixedGradMode):
    """Record nothing: `with no_grad(): ...`, `@no_grad()` or `@no_grad`."""

    mode = False


class enable_grad(_FixedGradMode):
    """Record again inside a `no_grad` block: `with enable_grad(): ...`, `@enable_grad()`."""

    mode = True


class set_grad_enabled(_GradModeContext):
    """`set_grad_enabled(False)` switches recording off now; as a context it restores on exit."""

    def __init__(self, mode: bool) -> None:
        super().__init__()
        self.mode = bool(mode)
        self._previous.append(_state.grad_enabled)
        _state.grad_enabled = self.mode

    def __enter__(self) -> None:
        pass  # already switched by __init__, as PyTorch does

    def _fresh(self) -> _GradModeContext:
        return set_grad_enabled(self.mode)


class detect_anomaly:
    """Inside this block each op remembers where it was created, and the backward pass stops
    at the first op whose backward produces a NaN or infinite gradient, naming the op and the
    line of user code that made it."""

    def __init__(self, check_nan: bool = True) -> None:
        self.check_nan = check_nan
        self._previous: list[tuple[bool, bool]] = []

    def __enter__(self) -> None:
        self._previous.append((_state.detect_anomaly, _state.anomaly_check_nan))
        # As in PyTorch, check_nan=False still records where ops were made, but lets NaN pass.
        _state.detect_anomaly, _state.anomaly_check_nan = True, self.check_nan

    def __exit__(self, *exc_info: object) -> None:
        _state.detect_anomaly, _state.anomaly_check_nan = self._previous.pop()


def set_detect_anomaly(mode: bool, check_nan: bool = True) -> None:
    """Switch anomaly detection on or off for this thread."""
    _state.detect_anomaly, _state.anomaly_check_nan = bool(mode), bool(check_nan)


def is_anomaly_enabled() -> bool:
    return _state.detect_anomaly


def is_anomaly_check_nan_enabled() -> bool:
    """True when anomaly mode stops the backward pass at NaN and inf gradients."""
    return _state.detect_anomaly and _state.anomaly_check_nan


# --- Function ---------------------------------------------------------------------------------


class Function:
    """One differentiable operation and, once applied, one node of the graph.

    Subclasses define:
      forward(self, *arrays, **params) -> ndarray   computes the output from NumPy arrays and
                                                     stores on `self` what backward needs;
      backward(self, grad) -> tuple                 given dL/d(output) as a Tensor, returns
                                                     dL/d(input) for each input (or None),
                                                     written with Tensor operations so that it
                                                     can itself be differentiated.
    Inputs whose values backward needs are read through `self.saved_tensors`, which refuses
    them if they were changed in place after the forward pass.
    """

    # A view op returns an array sharing memory with its first input; the output then shares
    # the input's version counter, so an in-place change to either is seen by both.
    is_view = False

    inputs: tuple[Tensor, ...]
    params: dict[str, Any]
    needs_input_grad: tuple[bool, ...]
    created_at: traceback.StackSummary | None = None
    _versions: tuple[int, ...]
    _hooks: list[Callable[[Tensor], Tensor | None]] | None = None
    _retained: Any = None  # weakref to the output tensor when it called retain_grad()
    _freed = False
    # Set when freed: (weakref to input, its grad_fn, its shape) per input, for drawing.
    _outline: Sequence[tuple[Any, Function | None, tuple[int, ...]]] = ()

    def forward(self, *arrays: Any, **params: Any) -> np.ndarray:
        raise NotImplementedError(f"{type(self).__name__} must define forward")

    def backward(self, grad: Tensor) -> tuple[Tensor | None, ...]:
        raise NotImplementedError(f"{type(self).__name__} must define backward")

    def _forward_error(
        self, error: Exception, arrays: list[np.ndarray], params: dict[str, Any]
    ) -> str:
        """The message for a NumPy ValueError in forward; ops override it to say more."""
        shapes = ", ".join(str(a.shape) for a in arrays)
        return f"{self.op_name}: {error} (input shapes {shapes})"

    @classmethod
    def apply(cls, *inputs: Tensor, **params: Any) -> Tensor:
        """Run the op on tensors; record it when grad mode is on and an input requires grad."""
        fn = cls()
        arrays = [t._data for t in inputs]
        try:
            data = fn.forward(*arrays, **params)
        except (ShapeError, DTypeError):
            raise
        except ValueError as error:  # NumPy's words name neither the op nor the shapes
            raise ShapeError(fn._forward_error(error, arrays, params)) from None
        except TypeError as error:
            raise DTypeError(f"{fn.op_name}: {error}") from None
        except IndexError as error:
            raise IndexError(f"{fn.op_name}: {error}") from None
        # List comprehensions rather than any()/tuple() over generators: this runs for every
        # op, and on small tensors a generator costs as much as the op's arithmetic.
        needs_grad = tuple([t.requires_grad for t in inputs]) if _state.grad_enabled else ()
        requires_grad = True in needs_grad
        out = _Tensor._make(data, requires_grad, fn if requires_grad else None)
        if fn.is_view:
            out._version_counter = inputs[0]._version_counter
        if requires_grad:
            fn.inputs = inputs
            fn.params = params
            fn.needs_input_grad = needs_grad
            fn._versions = tuple([t._version_counter[0] for t in inputs])
            if _state.detect_anomaly:
                fn.created_at = traceback.StackSummary.from_list(traceback.extract_stack()[:-1])
        return out

    @property
    def saved_tensors(self) -> tuple[Tensor, ...]:
        """The inputs, checked to be unchanged since forward: a gradient computed from values
        modified in place would be silently wrong."""
        if self._freed:
            raise RuntimeError(_FREED_MESSAGE.format(name=self.name))
        inputs = self.inputs
        if tuple([t._version_counter[0] for t in inputs]) == self._versions:
            return inputs  # the common case in one comparison; the loop names the culprit
        for position, (tensor, version) in enumerate(zip(inputs, self._versions)):
            if tensor._version_counter[0] != version:
                raise RuntimeError(
                    f"{self.name}: input {position} (shape {tensor.shape}) was modified by an "
                    f"in-place operation after {self.op_name} saved it for the backward pass "
                    f"(version {version}, now {tensor._version_counter[0]}); "
                    "use an out-of-place operation such as `x = x + 1` instead of `x += 1`"
                )
        return self.inputs

    @property
    def name(self) -> str:
        """PyTorch's spelling of the node, e.g. `MulBackward`."""
        return type(self).__name__ + "Backward"

    @property
    def op_name(self) -> str:
        """The op as users call it, e.g. `mul`, used in error messages."""
        return getattr(self, "display_name", type(self).__name__.lower())

    def __repr__(self) -> str:
        return f"<{self.name}>"


_FREED_MESSAGE = (
    "{name}: trying to backward through the graph a second time (or to use values it saved "
    "after they were freed). The graph is freed by backward(); pass retain_graph=True to the "
    "first backward() call to keep it."
)


# --- the backward pass ------------------------------------------------------------------------


def _topological_order(roots: Iterable[Function]) -> list[Function]:
    """Nodes reachable from `roots`, each after every node that consumes its output.

    Depth-first with an explicit stack instead of recursion, so a 100,000-op chain does not hit
    Python's recursion limit; each node and edge is visited once, so the cost is linear.
    """
    order: list[Function] = []
    visited: set[Function] = set()
    stack: list[tuple[Function, bool]] = [(root, False) for root in roots]
    while stack:
        fn, children_done = stack.pop()
        if children_done:
            order.append(fn)
            continue
        if fn in visited:
            continue
        if fn._freed:
            raise RuntimeError(_FREED_MESSAGE.format(name=fn.name))
        visited.add(fn)
        stack.append((fn, True))
        for tensor in fn.inputs:
            child = tensor.grad_fn
            if child is not None and child not in visited:
                stack.append((child, False))
    order.reverse()
    return order


def _unbroadcast(grad: Tensor, shape: tuple[int, ...], fn: Function, position: int) -> Tensor:
    """Sum `grad` back to `shape`: a broadcast input was copied along some axes, and the
    gradient of a copy is the sum of the gradients of all copies."""
    extra = grad.ndim - len(shape)
    fits = extra >= 0 and all(n == 1 or n == m for n, m in zip(shape, grad.shape[extra:]))
    if not fits:
        raise ShapeError(
            f"{fn.name} returned a gradient of shape {grad.shape} for input {position} "
            f"of shape {shape}"
        )
    axes = tuple(range(extra)) + tuple(
        extra + i for i, n in enumerate(shape) if n == 1 and grad.shape[extra + i] != 1
    )
    if axes:
        grad = grad.sum(dim=axes)
    return grad.reshape(shape) if grad.shape != shape else grad


_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


def _check_finite(grad: Tensor, fn: Function, position: int) -> None:
    """Anomaly mode: stop at the first op whose backward made a NaN or an infinity."""
    data = grad._data
    if np.all(np.isfinite(data)):
        return
    counts = ((int(np.isnan(data).sum()), "NaN"), (int(np.isinf(data).sum()), "inf"))
    found = " and ".join(f"{n} {kind}" for n, kind in counts if n)
    origin = _origin(fn)
    raise RuntimeError(
        f"{fn.name} returned a non-finite gradient ({found} of {data.size} values) for input "
        f"{position} of shape {fn.inputs[position].shape}." + (f"\n{origin}" if origin else "")
    )


def _origin(fn: Function) -> str:
    """Anomaly mode: the line of user code (the last frame outside this package) that
    created `fn` in the forward pass."""
    user_frames = [f for f in fn.created_at or () if not f.filename.startswith(_PACKAGE_DIR)]
    if not user_frames:
        return ""
    frame = user_frames[-1]
    return f"The {fn.op_name} was created at {frame.filename}:{frame.lineno}: {frame.line}"


def _accumulate(store: dict[Any, Tensor], key: Any, grad: Tensor) -> None:
    """Add `grad` to what has arrived for `key`: a tensor used twice gets both gradients."""
    previous = store.get(key)
    store[key] = grad if previous is None else previous + grad


@contextlib.contextmanager
def _cyclic_gc_paused() -> Any:
    """Pause Python's cycle collector while the backward pass runs.

    The pass allocates many short-lived objects (gradients, nodes' temporaries) and makes no
    reference cycles, so reference counting frees everything; but each allocation counts
    towards the collector's next run, which then walks the whole live graph. Measured on a
    100,000-op chain, that walking was over a quarter of the backward time.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def run_backward(
    roots: Sequence[Tensor],
    root_grads: Sequence[Tensor],
    *,
    retain_graph: bool,
    create_graph: bool,
    capture: Sequence[Tensor] | None = None,
) -> list[Tensor | None] | None:
    """Propagate `root_grads` from `roots` to every leaf that requires grad.

    Without `capture` the leaf gradients are added to each leaf's `.grad` (and to `.grad` of
    non-leaves that called `retain_grad()`). With `capture` nothing is stored: the gradients of
    the captured tensors are returned instead (this is `grad()`).
    With `create_graph` the backward computation is itself recorded, so the gradients it
    returns can be differentiated again.
    """
    with set_grad_enabled(create_graph), _cyclic_gc_paused():
        node_grads: dict[Function, Tensor] = {}
        leaf_grads: dict[Tensor, Tensor] = {}
        for root, root_grad in zip(roots, root_grads):
            if root.grad_fn is None:
                _accumulate(leaf_grads, root, root_grad)
            else:
                _accumulate(node_grads, root.grad_fn, root_grad)
        captured_nodes = {t.grad_fn: t for t in capture or () if t.grad_fn is not None}
        captured: dict[Tensor, Tensor] = {}
        check_finite = _state.detect_anomaly and _state.anomaly_check_nan

        # Roots in the order given (a set would order them by memory address), so gradients
        # are summed in the same order on every run and results repeat to the last bit.
        root_nodes = dict.fromkeys(r.grad_fn for r in roots if r.grad_fn is not None)
        for fn in _topological_order(root_nodes):
            grad = node_grads.pop(fn, None)
            if grad is None:
                continue  # no gradient reaches this node (a backward returned None for it)
            if fn._hooks:
                grad = _run_hooks(fn._hooks, grad)
            if fn in captured_nodes:
                captured[captured_nodes[fn]] = grad
            elif fn._retained is not None and capture is None:
                tensor = fn._retained()
                if tensor is not None:
                    _store_grad(tensor, grad, create_graph)

            try:
                input_grads = fn.backward(grad)
            except Exception:
                if fn.created_at is not None:  # anomaly mode: say where, as PyTorch does
                    warnings.warn(f"Error detected in {fn.name}. {_origin(fn)}", stacklevel=3)
                raise
            if not isinstance(input_grads, tuple) or len(input_grads) != len(fn.inputs):
                input_grads = _gradient_tuple(fn, input_grads)
            for position, (tensor, needed, input_grad) in enumerate(
                zip(fn.inputs, fn.needs_input_grad, input_grads)
            ):
                if not needed or input_grad is None:
                    continue
                if not isinstance(input_grad, _Tensor):
                    raise TypeError(
                        f"{fn.name}.backward returned a {type(input_grad).__name__} for input "
                        f"{position}; return Tensors (build them with Tensor operations, or "
                        "wrap an array with tl.tensor(...))"
                    )
                # Shapes and dtypes read from the arrays: the Tensor properties would add four
                # calls per edge, a visible share of the pass on small tensors.
                if input_grad._data.shape != tensor._data.shape:
                    input_grad = _unbroadcast(input_grad, tensor.shape, fn, position)
                if input_grad._data.dtype != tensor._data.dtype:
                    input_grad = input_grad.to(tensor.dtype)
                if check_finite:
                    _check_finite(input_grad, fn, position)
                if tensor.grad_fn is None:
                    _accumulate(leaf_grads, tensor, input_grad)
                else:
                    _accumulate(node_grads, tensor.grad_fn, input_grad)
            if not retain_graph:
                _free(fn)

        for leaf, grad in leaf_grads.items():
            if leaf._hooks:
                grad = _run_hooks(leaf._hooks, grad)
            if capture is None:
                _store_grad(leaf, grad, create_graph)
            else:
                captured[leaf] = grad
    if capture is None:
        return None
    return [captured.get(t) for t in capture]


def _gradient_tuple(fn: Function, returned: Any) -> tuple[Tensor | None, ...]:
    """What a backward returned, when it is not a tuple of one gradient per input: a bare
    Tensor is accepted for a one-input op (as PyTorch does); anything else is an error."""
    if isinstance(returned, _Tensor) and len(fn.inputs) == 1:
        return (returned,)
    raise RuntimeError(
        f"{fn.name}.backward must return a tuple with one gradient (a Tensor, or None) per "
        f"input ({len(fn.inputs)}), got {returned!r:.80}"
    )


def _run_hooks(hooks: Iterable[Callable[[Tensor], Tensor | None]], grad: Tensor) -> Tensor:
    """Each hook sees the gradient and may return a replacement (None keeps it)."""
    for hook in hooks:
        replaced = hook(grad)
        if replaced is None:
            continue
        name = getattr(hook, "__name__", repr(hook))
        if not isinstance(replaced, _Tensor):
            raise TypeError(
                f"hook {name!r} must return a Tensor or None, got {type(replaced).__name__}"
            )
        if replaced.shape != grad.shape:
            # As in PyTorch: a hook may change the values of a gradient, not its shape.
            raise ShapeError(
                f"hook {name!r} changed the shape of the gradient from {grad.shape} "
                f"to {replaced.shape}"
            )
        grad = replaced
    return grad


def _store_grad(tensor: Tensor, grad: Tensor, create_graph: bool) -> None:
    """`tensor.grad += grad`, with PyTorch's semantics: accumulate across backward calls."""
    if create_graph:
        tensor.grad = grad if tensor.grad is None else tensor.grad + grad
    elif tensor.grad is None or tensor.grad.requires_grad or tensor.grad.shape != grad.shape:
        # A copy, so that .grad never aliases the upstream gradient, another .grad, or a
        # read-only broadcast view made by the backward pass.
        tensor.grad = _Tensor._make(np.array(grad._data, dtype=tensor.dtype), False, None)
    else:
        tensor.grad._data += grad._data
        tensor.grad._version_counter[0] += 1


def _free(fn: Function) -> None:
    """Drop what the node keeps for backward, so memory is released as soon as possible.
    What belongs to the output tensor (its hooks, retain_grad) stays."""
    hooks, retained = fn._hooks, fn._retained
    # The graph's outline stays, so it can still be drawn after backward (tinygrad_lr.viz):
    # which node feeds this one, the op's params, and a weak reference to each input, which
    # keeps no values alive that the user does not hold.
    outline = [(weakref.ref(t), t.grad_fn, t._data.shape) for t in fn.inputs]
    params = fn.params
    fn.__dict__.clear()
    fn._freed = True
    fn._outline, fn.params = outline, params
    if hooks:
        fn._hooks = hooks
    if retained is not None:
        fn._retained = retained


def grad(
    outputs: Tensor | Sequence[Tensor],
    inputs: Tensor | Sequence[Tensor],
    grad_outputs: Tensor | Sequence[Tensor | None] | None = None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    allow_unused: bool = False,
) -> tuple[Tensor | None, ...]:
    """d(outputs)/d(inputs), returned instead of stored in `.grad` (`torch.autograd.grad`).

    Computes sum_k <grad_outputs[k], d outputs[k] / d inputs[i]> for each input i. With
    `create_graph=True` the result is differentiable, which gives second derivatives.
    """
    outputs = [outputs] if isinstance(outputs, _Tensor) else list(outputs)
    inputs = [inputs] if isinstance(inputs, _Tensor) else list(inputs)
    if grad_outputs is None or isinstance(grad_outputs, _Tensor):
        grad_outputs = [grad_outputs] * len(outputs) if grad_outputs is None else [grad_outputs]
    if len(grad_outputs) != len(outputs):
        raise ValueError(f"grad: got {len(grad_outputs)} grad_outputs for {len(outputs)} outputs")
    for position, tensor in enumerate(inputs):
        if not tensor.requires_grad:
            raise RuntimeError(f"grad: input {position} does not require grad")
    root_grads = [
        _initial_grad(out, g, f"grad: output {k}")
        for k, (out, g) in enumerate(zip(outputs, grad_outputs))
    ]
    keep = create_graph if retain_graph is None else retain_graph
    results = run_backward(
        outputs, root_grads, retain_graph=keep, create_graph=create_graph, capture=inputs
    )
    assert results is not None
    for position, result in enumerate(results):
        if result is None and not allow_unused:
            raise RuntimeError(
                f"grad: input {position} (shape {inputs[position].shape}) was not used to "
                "compute the outputs; pass allow_unused=True to get None for it"
            )
    if not create_graph:
        results = [None if r is None else r.detach() for r in results]
    return tuple(results)


def _initial_grad(output: Tensor, gradient: Any, where: str) -> Tensor:
    """The gradient that starts the backward pass: 1 for a one-element output, else given."""
    from .creation import as_tensor

    if not output.requires_grad:
        raise RuntimeError(
            f"{where}: the tensor does not require grad and has no grad_fn: nothing recorded "
            "leads to it "
            "(was it computed under no_grad(), or from tensors without requires_grad=True?)"
        )
    if gradient is None:
        if output._data.size != 1:
            raise RuntimeError(
                f"{where}: gradient can be implied only for a one-element output, but the output "
                f"has shape {output.shape}; pass gradient= (a tensor of that shape), or reduce "
                "the output first, e.g. loss.sum() or loss.mean()"
            )
        # np.ones_like is a Python function; a one-element array is cheaper made directly
        ones = np.array(1, dtype=output._data.dtype).reshape(output._data.shape)
        return _Tensor._make(ones, False, None)
    if not isinstance(gradient, _Tensor):
        gradient = as_tensor(gradient, dtype=output.dtype)
    if gradient.shape != output.shape:
        raise ShapeError(
            f"{where}: gradient has shape {gradient.shape} but the output has shape {output.shape}"
        )
    return gradient


# Imported last: tensor.py builds Tensor on top of the Function class defined above.
from .tensor import Tensor as _Tensor  # noqa: E402
