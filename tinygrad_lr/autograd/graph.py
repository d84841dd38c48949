"""The graph's nodes, PyTorch's model: a tensor made by a recorded op has that op's node as its
`grad_fn`, and each node has `next_functions`, one `(node, output_nr)` edge per input to the
node that made that input (None for an input that needs no gradient).

A leaf that requires grad is reached through its `AccumulateGrad` node, which adds the gradient
that arrives into the leaf's `.grad`. Nodes keep only what their rule saved; after backward the
edges stay and the saved values go, so a graph can still be drawn from public attributes.

Two public ways to look inside, as in PyTorch: `saved_tensors_hooks(pack, unpack)` sees every
tensor an op saves for backward, and `observe_ops(observer)` sees every op applied (it is how
`gradcheck` finds the op to blame and how `tl.compile` traces a step).
"""

from __future__ import annotations

import functools
import itertools
import weakref
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from ..errors import DTypeError, ShapeError
from .grad_mode import _state

if TYPE_CHECKING:
    from ..tensor import Tensor

Edge = tuple["Node | None", int]
Hook = Callable[..., Any]

# Nodes are numbered as they are made, counting down: a node is always made after the nodes
# of its inputs, so sorting nodes by this number puts every node before the nodes that made its
# inputs (newest first), the order the backward pass needs.
_sequence = itertools.count(0, -1)


class RemovableHandle:
    """Returned by `register_hook`; `remove()` unregisters the hook."""

    def __init__(self, owner: Any, attribute: str, hook: Any) -> None:
        self._owner, self._attribute, self._hook = owner, attribute, hook

    def remove(self) -> None:
        hooks = list(getattr(self._owner, self._attribute))
        if self._hook in hooks:  # once: a hook registered twice stays until removed twice
            hooks.remove(self._hook)
            setattr(self._owner, self._attribute, tuple(hooks))


def add_hook(owner: Any, attribute: str, hook: Any) -> RemovableHandle:
    """Append `hook` to the tuple `owner.<attribute>` (a new tuple: the empty default is the
    class's, shared by every node that has no hooks, which is almost all of them)."""
    setattr(owner, attribute, (*getattr(owner, attribute), hook))
    return RemovableHandle(owner, attribute, hook)


class Node:
    """A node of the backward graph (PyTorch's `torch.autograd.graph.Node`)."""

    next_functions: tuple[Edge, ...] = ()
    _sequence_nr = 0
    # Hooks on the gradient arriving at output k, as (k, hook); hooks of the node itself;
    # retain_grad's weak references by output. Most nodes have none: these shared empty
    # defaults stand in until a node gets its own.
    _tensor_pre_hooks: tuple[tuple[int, Hook], ...] = ()
    _pre_hooks: tuple[Hook, ...] = ()
    _post_hooks: tuple[Hook, ...] = ()
    _retained: Mapping[int, weakref.ref[Tensor]] = MappingProxyType({})
    _metadata: dict[str, Any] | None = None

    @property
    def metadata(self) -> dict[str, Any]:
        """A dict for anything tools want to keep on the node (anomaly mode keeps the stack
        that created it under "traceback_", as PyTorch does)."""
        if self._metadata is None:
            self._metadata = {}
        return self._metadata

    def name(self) -> str:
        return type(self).__name__

    def register_hook(self, hook: Hook) -> RemovableHandle:
        """`hook(grad_inputs, grad_outputs)` runs after this node's backward; a returned tuple
        replaces grad_inputs."""
        return add_hook(self, "_post_hooks", hook)

    def register_prehook(self, hook: Hook) -> RemovableHandle:
        """`hook(grad_outputs)` runs before this node's backward; a returned tuple replaces
        grad_outputs."""
        return add_hook(self, "_pre_hooks", hook)

    def _output_count(self) -> int:
        return 1

    def _apply_backward(self, grads: list[Tensor | None]) -> Sequence[Tensor | None]:
        """The gradients for this node's inputs, given those of its outputs."""
        raise NotImplementedError

    def _release(self) -> None:
        """Drop the values saved for backward (after a backward without retain_graph)."""

    def __repr__(self) -> str:
        return f"<{self.name()}>"


class AccumulateGrad(Node):
    """The node at a leaf: its backward adds the gradient into `variable.grad`."""

    def __init__(self, variable: Tensor) -> None:
        self.variable = variable
        self._sequence_nr = next(_sequence)

    def _apply_backward(self, grads: list[Tensor | None]) -> Sequence[Tensor | None]:
        if grads[0] is not None:
            accumulate_grad(self.variable, grads[0])
        return ()


def accumulate_grad(tensor: Tensor, grad: Tensor) -> None:
    """`tensor.grad += grad`, as PyTorch does: accumulated across backward calls.

    In an ordinary pass an existing `.grad` is added to in place; a `.grad` that is part of a
    graph (made by create_graph=True), or any `.grad` in a recorded pass, is replaced by the
    sum, so that the sum is recorded too. A new `.grad` is a copy in an ordinary pass, so that
    it never shares memory with another gradient."""
    current = tensor.grad
    if current is None:
        tensor.grad = grad if _state.grad_enabled else grad.detach().clone()
    elif _state.grad_enabled or current.requires_grad:
        tensor.grad = current + grad
    else:
        current.add_(grad)


def edge_to(tensor: Tensor) -> Edge:
    """The edge a node keeps to an input: the node that made it, or, for a leaf, its
    AccumulateGrad node, made on first use and kept while a graph holds it (the tensor holds
    it weakly: the node holds the tensor)."""
    if tensor.grad_fn is not None:
        return tensor.grad_fn, tensor._output_nr
    node = tensor._accumulator() if tensor._accumulator is not None else None
    if node is None:
        node = AccumulateGrad(tensor)
        tensor._accumulator = weakref.ref(node)
    return node, 0


# --- the autograd state of a tensor, as Tensor's properties set it ---------------------------


def set_requires_grad(tensor: Tensor, requires_grad: bool, new: bool = False) -> Tensor:
    """PyTorch's rules: only a leaf changes its flag, and only floating tensors require grad.
    `new`: the tensor is being made (a change of an existing one is told to op observers:
    `on_requires_grad(tensor)`)."""
    if not tensor.is_leaf:
        if requires_grad:
            return tensor  # a computed tensor that requires grad already does
        raise RuntimeError(
            "requires_grad_(False): only leaf tensors can change requires_grad; to use a "
            "computed tensor without its graph, take y.detach()"
        )
    if requires_grad and tensor.dtype.kind != "f":
        raise DTypeError(
            f"only floating-point tensors can require gradients, got dtype {tensor.dtype}; "
            "convert with .double() or make it from floats, e.g. tl.tensor([1.0, 2.0])"
        )
    changed = not new and tensor._requires_grad != bool(requires_grad)
    tensor._requires_grad = bool(requires_grad)
    for observer in _observers if changed else ():  # tl.compile: a replay would not change it
        on_requires_grad = getattr(observer, "on_requires_grad", None)
        if on_requires_grad is not None:
            on_requires_grad(tensor)
    return tensor


def set_grad(tensor: Tensor, value: Tensor | None) -> None:
    """`tensor.grad = value`: None, or a tensor of the same shape."""
    from ..tensor import Tensor  # here: tensor.py imports this module

    if value is not None:
        if not isinstance(value, Tensor):
            raise TypeError(f"grad: expected a Tensor or None, got {type(value).__name__}")
        if value.shape != tensor.shape:
            raise ShapeError(
                f"grad: assigned a gradient of shape {value.shape} to a tensor of shape "
                f"{tensor.shape}"
            )
        if value.dtype != tensor.dtype:
            raise TypeError(
                f"grad: assigned a gradient of dtype {value.dtype} to a tensor of dtype "
                f"{tensor.dtype}; convert it first, e.g. g.to({tensor.dtype})"
            )
    tensor._grad = value
    for observer in _observers:
        observer.on_in_place(tensor, "grad", value)


def state_without_graph(tensor: Tensor) -> tuple[dict[str, Any] | None, dict[str, Any]]:
    """`Tensor.__getstate__`, what pickle and copy.deepcopy take: the values and flags, not the
    graph (a copy is a leaf) nor the weak references to the tensor's AccumulateGrad node and
    views."""
    from ..tensor import Tensor  # here: tensor.py imports this module

    slots = {name: getattr(tensor, name) for name in Tensor.__slots__ if name != "__weakref__"}
    slots.update(grad_fn=None, _output_nr=0, _accumulator=None, _base=None, _views=None)
    return getattr(tensor, "__dict__", None), slots


def retain_grad(tensor: Tensor) -> None:
    if not tensor.requires_grad:
        raise RuntimeError("retain_grad(): the tensor does not require grad")
    node = tensor.grad_fn
    if node is not None:
        node._retained = {**node._retained, tensor._output_nr: weakref.ref(tensor)}


def register_tensor_hook(tensor: Tensor, hook: Hook) -> RemovableHandle:
    """A leaf keeps its hooks (its AccumulateGrad node runs them); a computed tensor's hooks
    sit on its grad_fn, for its output."""
    if not tensor.requires_grad:
        raise RuntimeError("register_hook(): the tensor does not require grad")
    if tensor.grad_fn is None:
        return add_hook(tensor, "_hooks", hook)
    return add_hook(tensor.grad_fn, "_tensor_pre_hooks", (tensor._output_nr, hook))


# --- looking inside: saved tensors and applied ops ------------------------------------------


@contextmanager
def saved_tensors_hooks(
    pack_hook: Callable[[Tensor], Any], unpack_hook: Callable[[Any], Tensor]
) -> Iterator[None]:
    """Inside the block, every tensor an op saves for backward is stored as `pack_hook(t)`,
    and `unpack_hook(packed)` gives it back when backward reads it."""
    previous = _state.saved_tensors_hooks
    _state.saved_tensors_hooks = (*previous, (pack_hook, unpack_hook))  # in this thread only
    try:
        yield
    finally:
        _state.saved_tensors_hooks = previous


class OpObserver(Protocol):
    """Sees every op applied while it is registered with `observe_ops`.

    `depth` is 0 for an op called by user code, 1 for an op inside another op's forward or
    backward, and so on; `node` is the recorded node, or None when nothing was recorded."""

    def on_apply(
        self,
        op: type,
        args: tuple[Any, ...],
        outputs: tuple[Tensor, ...],
        node: Node | None,
        depth: int,
    ) -> None: ...

    def on_in_place(self, tensor: Tensor, name: str, value: Any, index: Any = None) -> None: ...

    # Optional, looked up with getattr: `on_read(tensor, how)` when values leave the graph as
    # Python data (note_read), `on_random(tensor, method, args, rng)` for random draws.


_observers: list[OpObserver] = []


@contextmanager
def observe_ops(observer: OpObserver) -> Iterator[OpObserver]:
    """Call `observer.on_apply` after every op and `observer.on_in_place` after every in-place
    change, inside the block."""
    _observers.append(observer)
    try:
        yield observer
    finally:
        _observers.remove(observer)


def note_read(tensor: Tensor, how: str) -> None:
    """Tell op observers that a tensor's values leave the graph as Python data here (`item()`,
    `numpy()`, printing...): a trace of the ops, such as tl.compile's, cannot follow them."""
    for observer in _observers:
        on_read = getattr(observer, "on_read", None)
        if on_read is not None:
            on_read(tensor, how)


def note_from_array(tensor: Tensor, source: Any, convert: Callable[..., Any], **how: Any) -> None:
    """Tell op observers that `tensor` holds `convert(source, **how)`, when `source` is a NumPy
    array (`tl.tensor(X)`, `Tensor(X)`, `as_tensor`, an operand of another dtype): tl.compile
    converts that array again at every call."""
    if not _observers or not isinstance(source, np.ndarray):
        return
    for observer in _observers:
        on_from_array = getattr(observer, "on_from_array", None)
        if on_from_array is not None:
            on_from_array(tensor, source, functools.partial(convert, **how))


def set_data(tensor: Tensor, array: np.ndarray) -> None:
    """`tensor.data = array`. A new array is told to op observers (`p.data -= v` changes p in
    place and stores the same array back): tl.compile cannot replay the assignment."""
    if array is not tensor._data:
        note_untraced("assigning `.data`")
    tensor._data = array


def note_grad_read(tensor: Tensor) -> None:
    """Tell op observers that code reads `tensor.grad`: tl.compile's replay reads that `.grad`
    anew at every call, and checks before it that it is still None, or still not None."""
    for observer in _observers:
        on_grad_read = getattr(observer, "on_grad_read", None)
        if on_grad_read is not None:
            on_grad_read(tensor)


def note_untraced(what: str) -> None:
    """Tell op observers that Python code changes state here that a trace of ops cannot replay
    (a scheduler setting `lr`, `.data =` assigning a new array): tl.compile then runs the step
    eagerly."""
    for observer in _observers:
        on_untraced = getattr(observer, "on_untraced", None)
        if on_untraced is not None:
            on_untraced(what)


def note_call(call: Callable[..., Any], *args: Any) -> None:
    """Tell op observers that library code changed Python state here as `call(*args)` does
    (`model.train()` setting the `training` flags): tl.compile's replay calls it again."""
    for observer in _observers:
        on_call = getattr(observer, "on_call", None)
        if on_call is not None:
            on_call(call, args)
