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

import gc
import itertools
import operator
import os
import threading
import traceback
import warnings
import weakref
from collections.abc import Callable, Iterable, Mapping, Sequence
from types import MappingProxyType
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


# --- versions: what keeps backward from using values changed in place -----------------------

_change_lock = threading.Lock()
_last_change = 0  # the stamp of the latest in-place change to any tensor's values


def _mark_changed(tensor: Tensor) -> None:
    """Record an in-place change to the values of `tensor` and of every view sharing them.

    A tensor's `_version_counter` is [how many changes, stamp of the latest]; the stamps come
    from one clock. A node notes the clock when it is recorded, so checking the values it saved
    is one comparison while nothing has changed since, and forward snapshots nothing per input.
    """
    global _last_change
    with _change_lock:  # two threads changing tensors must not get the same stamp
        _last_change += 1
        counter = tensor._version_counter
        counter[0] += 1
        counter[1] = _last_change


# --- Function ---------------------------------------------------------------------------------

# A gradient in the backward pass: a NumPy array (or a NumPy scalar, which is what NumPy gives
# for 0-d results) in an ordinary pass, a Tensor in a recorded one (create_graph=True).
Grad = Any

_sequence = itertools.count(0, -1)  # numbers recorded nodes, counting down (_topological_order)


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

    The built-in ops (ops.py) set `backward_takes_arrays`: their rules are written so that
    they also run on NumPy arrays, which the engine then passes in an ordinary backward pass
    (no Tensor is made per step of the rule); they read their values with `saved_like(g)`.
    """

    # A view op returns an array sharing memory with its first input; the output then shares
    # the input's version counter, so an in-place change to either is seen by both.
    is_view = False
    backward_takes_arrays = False
    # The op's backward reads its own output (e^x, tanh x...), kept by apply with its version
    # counter, so that it need not be computed again.
    saves_output = False

    inputs: tuple[Tensor, ...]
    # The op's settings (axes, shape...); one shared empty mapping for ops without any.
    params: Mapping[str, Any] = MappingProxyType({})
    needs_input_grad: tuple[bool, ...]
    created_at: traceback.StackSummary | None = None
    _recorded_at: int  # the version clock (`_last_change`) when the node was recorded
    _sequence_nr: int  # minus the count of nodes recorded before: newer nodes sort first
    _output: np.ndarray
    _output_counter: list[int]
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
        self, error: Exception, arrays: list[np.ndarray], params: Mapping[str, Any]
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
        if _state.grad_enabled:
            # A list comprehension rather than any() over a generator: this runs for every
            # op, and on small tensors a generator costs as much as the op's arithmetic.
            needs_grad = tuple([t.requires_grad for t in inputs])
            if True in needs_grad:
                out = _Tensor._make(data, True, fn)
                fn.inputs, fn.needs_input_grad, fn._recorded_at = inputs, needs_grad, _last_change
                fn._sequence_nr = next(_sequence)
                if params:
                    fn.params = params
                if fn.is_view:
                    out._version_counter = inputs[0]._version_counter
                if fn.saves_output:
                    fn._output, fn._output_counter = data, out._version_counter
                if _state.detect_anomaly:
                    fn.created_at = traceback.StackSummary.from_list(traceback.extract_stack()[:-1])
                return out
        out = _Tensor._make(data, False, None)
        if fn.is_view:
            out._version_counter = inputs[0]._version_counter
        return out

    @property
    def saved_tensors(self) -> tuple[Tensor, ...]:
        """The inputs, checked to be unchanged since forward: a gradient computed from values
        modified in place would be silently wrong."""
        if self._freed:
            raise RuntimeError(_FREED_MESSAGE.format(name=self.name))
        if _last_change != self._recorded_at:  # some tensor changed since: was it an input?
            for position, tensor in enumerate(self.inputs):
                self._check_unchanged(tensor._version_counter, f"input {position}", tensor.shape)
        return self.inputs

    def saved_like(self, g: Grad) -> Sequence[Grad]:
        """`saved_tensors` in the kind of `g`: arrays in an ordinary backward pass, Tensors
        when the pass is recorded (create_graph=True)."""
        inputs = self.saved_tensors
        return inputs if isinstance(g, _Tensor) else [t._data for t in inputs]

    def output_like(self, g: Grad) -> Grad:
        """The op's output (for `saves_output` ops), in the kind of `g`, checked unchanged.

        As a Tensor it is made anew with this node as its grad_fn, so a recorded backward that
        uses it is differentiated through this op, as the original output would be."""
        if self._freed:
            raise RuntimeError(_FREED_MESSAGE.format(name=self.name))
        output = self._output
        self._check_unchanged(self._output_counter, "its output", output.shape)
        return _Tensor._make(output, True, self) if isinstance(g, _Tensor) else output

    def _check_unchanged(self, counter: list[int], what: str, shape: tuple[int, ...]) -> None:
        if counter[1] > self._recorded_at:
            raise RuntimeError(
                f"{self.name}: {what} (shape {shape}) was modified by an in-place operation "
                f"after {self.op_name} saved it for the backward pass (it is now at version "
                f"{counter[0]}); use an out-of-place operation such as `x = x + 1` instead of "
                "`x += 1`"
            )

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

    A node is recorded after the nodes that made its inputs, so the reachable nodes sorted
    newest first are in that order: one walk to find them (with an explicit stack, so that a
    100,000-op chain does not hit Python's recursion limit), then a sort done in C.
    """
    found = set(roots)
    stack = list(found)
    while stack:
        fn = stack.pop()
        if fn._freed:
            raise RuntimeError(_FREED_MESSAGE.format(name=fn.name))
        for tensor in fn.inputs:
            child = tensor.grad_fn
            if child is not None and child not in found:
                found.add(child)
                stack.append(child)
    return sorted(found, key=_newest_first)


_newest_first = operator.attrgetter("_sequence_nr")  # negated: sorted() then puts newest first


def _unbroadcast(grad: Grad, shape: tuple[int, ...], fn: Function, position: int) -> Grad:
    """Sum `grad` back to `shape`: a broadcast input was copied along some axes, and the
    gradient of a copy is the sum of the gradients of all copies."""
    extra = grad.ndim - len(shape)
    fits = extra >= 0 and all(n == 1 or n == m for n, m in zip(shape, grad.shape[extra:]))
    if not fits:
        raise ShapeError(
            f"{fn.name} returned a gradient of shape {tuple(grad.shape)} for input {position} "
            f"of shape {shape}"
        )
    axes = tuple(range(extra)) + tuple(
        extra + i for i, n in enumerate(shape) if n == 1 and grad.shape[extra + i] != 1
    )
    if axes:
        grad = grad.sum(axis=axes)  # Tensor.sum takes NumPy's keyword too
    return grad.reshape(shape) if grad.shape != shape else grad


def _conform(grad: Grad, like: np.ndarray, fn: Function, position: int) -> Grad:
    """A gradient with the shape and dtype of the input it belongs to."""
    if grad.shape != like.shape:
        grad = _unbroadcast(grad, like.shape, fn, position)
    if grad.dtype != like.dtype:
        grad = grad.to(like.dtype) if isinstance(grad, _Tensor) else grad.astype(like.dtype)
    return grad


def _of_kind(grad: Any, fn: Function, position: int, on_arrays: bool) -> Grad:
    """A gradient that is not of the pass's kind (an array, or a Tensor when recorded): a NumPy
    scalar or a Tensor subclass is taken as it is; anything else is the rule's mistake."""
    if isinstance(grad, _Tensor):
        return grad._data if on_arrays else grad
    if isinstance(grad, (np.ndarray, np.generic)) and on_arrays and fn.backward_takes_arrays:
        return np.asarray(grad)
    raise TypeError(
        f"{fn.name}.backward returned a {type(grad).__name__} for input {position}; return "
        "Tensors (build them with Tensor operations, or wrap an array with tl.tensor(...))"
    )


_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


def _check_finite(grad: Grad, fn: Function, position: int) -> None:
    """Anomaly mode: stop at the first op whose backward made a NaN or an infinity."""
    data = grad._data if isinstance(grad, _Tensor) else np.asarray(grad)
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
    # Python's cycle collector is paused while the pass runs. The pass allocates many
    # short-lived objects and makes no reference cycles, so reference counting frees them
    # all; but each allocation counts towards the collector's next run, which then walks the
    # whole live graph (over a quarter of the backward time of a 100,000-op chain).
    # Written out rather than as context managers: they cost microseconds per call, a share
    # of a small model's whole backward pass.
    collecting, grad_mode = gc.isenabled(), _state.grad_enabled
    gc.disable()
    _state.grad_enabled = create_graph
    try:
        return _backward_pass(roots, root_grads, retain_graph, create_graph, capture)
    finally:
        _state.grad_enabled = grad_mode
        if collecting:
            gc.enable()


def _backward_pass(
    roots: Sequence[Tensor],
    root_grads: Sequence[Tensor],
    retain_graph: bool,
    create_graph: bool,
    capture: Sequence[Tensor] | None,
) -> list[Tensor | None] | None:
    """run_backward's pass itself, in grad mode `create_graph`."""
    # An ordinary pass works on NumPy arrays: nothing in it needs recording, and an array op
    # costs a fraction of a Tensor op. A recorded pass works on Tensors.
    on_arrays = not create_graph
    kind: Any = np.ndarray if on_arrays else _Tensor
    # The gradients that have arrived so far, keyed by the node that made a tensor, or by
    # the tensor itself for a leaf; a tensor used twice gets the sum of both.
    pending: dict[Any, Grad] = {}  # Function or Tensor keys
    for root, root_grad in zip(roots, root_grads):
        _accumulate(pending, root.grad_fn or root, root_grad._data if on_arrays else root_grad)
    captured_nodes = {t.grad_fn: t for t in capture or () if t.grad_fn is not None}
    captured: dict[Tensor, Grad] = {}
    check_finite = _state.detect_anomaly and _state.anomaly_check_nan

    # Nodes newest first, an order that does not depend on memory addresses: gradients are
    # summed in the same order on every run, and results repeat to the last bit.
    root_nodes = [r.grad_fn for r in roots if r.grad_fn is not None]
    for fn in _topological_order(root_nodes):
        grad = pending.pop(fn, None)
        if grad is None:
            continue  # no gradient reaches this node (a backward returned None for it)
        if fn._hooks:
            grad = _run_hooks(fn._hooks, grad)
        if fn in captured_nodes:
            captured[captured_nodes[fn]] = grad
        elif fn._retained is not None and capture is None:
            tensor = fn._retained()
            if tensor is not None:
                _store_grad(tensor, grad)

        try:
            if on_arrays and not fn.backward_takes_arrays:
                input_grads = _tensor_rule_on_arrays(fn, grad)
            else:
                input_grads = fn.backward(grad)
        except Exception:
            if fn.created_at is not None:  # anomaly mode: say where, as PyTorch does
                warnings.warn(f"Error detected in {fn.name}. {_origin(fn)}", stacklevel=4)
            raise
        if type(input_grads) is not tuple or len(input_grads) != len(fn.inputs):
            input_grads = _gradient_tuple(fn, input_grads)
        for position, (tensor, needed, input_grad) in enumerate(
            zip(fn.inputs, fn.needs_input_grad, input_grads)
        ):
            if input_grad is None or not needed:
                continue
            if type(input_grad) is not kind:
                input_grad = _of_kind(input_grad, fn, position, on_arrays)
            # Shapes and dtypes compared on the arrays: Tensor properties would add calls
            # per edge, a visible share of the pass on small tensors.
            data, like = input_grad if on_arrays else input_grad._data, tensor._data
            if data.shape != like.shape or data.dtype != like.dtype:
                input_grad = _conform(input_grad, like, fn, position)
            if check_finite:
                _check_finite(input_grad, fn, position)
            # _accumulate written out: this line runs once per edge of the graph
            key = tensor.grad_fn or tensor
            previous = pending.get(key)
            pending[key] = input_grad if previous is None else previous + input_grad
        if not retain_graph:
            _free(fn)

    for leaf, grad in pending.items():  # every node was visited: only leaves are left
        if leaf._hooks:
            grad = _run_hooks(leaf._hooks, grad)
        if capture is None:
            _store_grad(leaf, grad)
        else:
            captured[leaf] = grad
    if capture is None:
        return None
    return [None if (g := captured.get(t)) is None else _as_tensor(g) for t in capture]


def _accumulate(pending: dict[Any, Grad], key: Any, grad: Grad) -> None:
    """Add `grad` to what has arrived for `key`: a tensor used twice gets both gradients."""
    previous = pending.get(key)
    pending[key] = grad if previous is None else previous + grad


def _tensor_rule_on_arrays(fn: Function, grad: Grad) -> tuple[Grad | None, ...]:
    """Run a rule written with Tensor operations (such as a user's own op) in a pass on arrays:
    it gets a Tensor, and its Tensors are checked and unwrapped."""
    returned = fn.backward(_Tensor._make(grad, False, None))
    if type(returned) is not tuple or len(returned) != len(fn.inputs):
        returned = _gradient_tuple(fn, returned)
    return tuple(
        _of_kind(g, fn, position, True) if g is not None and needed else None
        for position, (g, needed) in enumerate(zip(returned, fn.needs_input_grad))
    )


def _gradient_tuple(fn: Function, returned: Any) -> tuple[Grad | None, ...]:
    """What a backward returned, when it is not a tuple of one gradient per input: a bare
    Tensor is accepted for a one-input op (as PyTorch does); anything else is an error."""
    if isinstance(returned, _Tensor) and len(fn.inputs) == 1:
        return (returned,)
    raise RuntimeError(
        f"{fn.name}.backward must return a tuple with one gradient (a Tensor, or None) per "
        f"input ({len(fn.inputs)}), got {returned!r:.80}"
    )


def _as_tensor(value: Grad) -> Tensor:
    """A Tensor as it is; an array or a number as a constant Tensor (for hooks, `grad()` and
    the rules' helpers in ops.py)."""
    if isinstance(value, _Tensor):
        return value
    return _Tensor._make(np.asarray(value), False, None)


def _run_hooks(hooks: Iterable[Callable[[Tensor], Tensor | None]], grad: Grad) -> Grad:
    """Each hook sees the gradient (as a Tensor) and may return a replacement (None keeps it)."""
    on_arrays = not isinstance(grad, _Tensor)
    tensor = _as_tensor(grad)
    for hook in hooks:
        replaced = hook(tensor)
        if replaced is None:
            continue
        name = getattr(hook, "__name__", repr(hook))
        if not isinstance(replaced, _Tensor):
            raise TypeError(
                f"hook {name!r} must return a Tensor or None, got {type(replaced).__name__}"
            )
        if replaced.shape != tensor.shape:
            # As in PyTorch: a hook may change the values of a gradient, not its shape.
            raise ShapeError(
                f"hook {name!r} changed the shape of the gradient from {tensor.shape} "
                f"to {replaced.shape}"
            )
        tensor = replaced
    return tensor._data if on_arrays else tensor


def _store_grad(tensor: Tensor, grad: Grad) -> None:
    """`tensor.grad += grad`, with PyTorch's semantics: accumulate across backward calls."""
    if isinstance(grad, _Tensor):  # a recorded pass: `.grad` is part of the new graph
        tensor.grad = grad if tensor.grad is None else tensor.grad + grad
        return
    current = tensor.grad
    if current is None or current.requires_grad or current._data.shape != np.shape(grad):
        # A copy, so that .grad never aliases the upstream gradient, another .grad, or a
        # read-only broadcast view made by the backward pass.
        tensor.grad = _Tensor._make(np.array(grad, dtype=tensor._data.dtype), False, None)
    else:
        current._data += grad
        _mark_changed(current)  # an op that saved this .grad must not use the new values


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
