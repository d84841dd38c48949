"""The graph to draw, read from the engine's public structure only.

From a tensor alone: `grad_fn`, each node's `next_functions` edges, and at the leaves the
`AccumulateGrad` nodes' `.variable`. That is what backward uses, so it has the ops, the
leaves that require grad and the output; intermediate values are not kept by the engine.

Inside `with viz.watch():`, every recorded op also leaves its outputs' values and its other
arguments (constants such as data and targets, numbers, axes) in the node's public `metadata`
dict, through `tl.autograd.graph.observe_ops`. Pictures then show every value.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..autograd.graph import AccumulateGrad, Node, observe_ops
from ..tensor import Tensor

Roots = Tensor | Sequence[Tensor]
INPUTS, OUTPUTS = "viz.inputs", "viz.outputs"  # the keys watch() writes into node.metadata


class _Follow:
    """Marks an argument that requires grad: the graph reaches it through its edge."""

    def __repr__(self) -> str:
        return "<edge>"


FOLLOW = _Follow()


class _Watcher:
    """Keeps, on each recorded node, its outputs and the arguments that have no edge. The
    outputs themselves are kept, so that names given later (`y_hat.name = ...`) are seen;
    node and output then refer to each other, which Python's garbage collector frees."""

    def on_apply(self, op: type, args: tuple[Any, ...], outputs: tuple[Tensor, ...],
                 node: Node | None, depth: int) -> None:  # fmt: skip
        if node is None:
            return  # nothing recorded: an op inside another op, or under no_grad
        node.metadata[INPUTS] = tuple(
            FOLLOW if isinstance(a, Tensor) and a.requires_grad else a for a in args
        )
        node.metadata[OUTPUTS] = outputs

    def on_in_place(self, tensor: Tensor, name: str, value: Any, index: Any = None) -> None:
        pass


@contextmanager
def watch() -> Iterator[None]:
    """Keep the value of every tensor computed inside the block, so that pictures and traces
    of the graph show intermediates too (the engine itself frees them as it goes). Wrap one
    forward pass: the values live as long as the graph does."""
    with observe_ops(_Watcher()):
        yield


# --- the boxes ------------------------------------------------------------------------------


@dataclass(eq=False)
class TensorBox:
    """One tensor of the picture: a leaf, a constant, a number, or an op's output."""

    key: str
    kind: str  # parameter, leaf (requires grad), constant, number, result
    symbol: str  # its name, or a short made-up one (v3, param1...) for text
    shape: tuple[int, ...] | None
    value: np.ndarray | None
    grad: np.ndarray | None = None
    node: Node | None = None  # for a result: the op that made it, and which output it is
    output_nr: int = 0
    is_root: bool = False
    named: bool = False
    consumers: int = 0


@dataclass(eq=False)
class OpBox:
    key: str
    node: Node
    title: str  # e.g. "sum axes=(1,)"
    short: str  # e.g. "sum"
    math: str  # the rule, from the op's docstring
    params: list[str]
    inputs: list[TensorBox | None] = field(default_factory=list)  # one per edge; None: unknown
    outputs: list[TensorBox] = field(default_factory=list)
    watched: bool = False


@dataclass
class Collected:
    tensors: list[TensorBox]
    ops: list[OpBox]  # in forward order: every op after the ops that made its inputs
    roots: list[TensorBox]
    results: dict[tuple[Node, int], TensorBox]
    leaves: dict[int, TensorBox]  # by id of the leaf tensor
    op_of: dict[Node, OpBox]


# --- what an op is ----------------------------------------------------------------------------

# Ops whose docstring's first paragraph does not state the rule in one line.
_MATH = {
    "MatMul": "Z = X @ Y;  dL/dX = G @ Y^T,  dL/dY = X^T @ G  (G = dL/dZ)",
    "AccumulateGrad": "x.grad += dL/dx",
}
_SHORT = {"PowScalar": "pow", "MatMul": "matmul", "GetItem": "getitem"}


def op_class_name(node: Node) -> str:
    return "AccumulateGrad" if isinstance(node, AccumulateGrad) else type(node).__name__


def op_math(node: Node) -> str:
    """The op's rule, e.g. `z = x * y;  dz/dx = y,  dz/dy = x.`: the first paragraph of the
    op's docstring (built-in ops state their math there), or the op's name."""
    name = op_class_name(node)
    if name in _MATH:
        return _MATH[name]
    doc = type(node).__doc__  # a class's own docstring: not inherited from Function
    if not doc:
        return node.name()
    return re.sub(r"\s+", " ", doc.strip().split("\n\n")[0])


def _argument_names(op: Any) -> tuple[str, ...]:
    """The names of forward's arguments after ctx, to label an op's options (`p=2`)."""
    try:
        parameters = list(inspect.signature(op.forward).parameters.values())[1:]
    except (TypeError, ValueError, AttributeError):
        return ()
    return tuple(p.name for p in parameters if p.kind is not p.VAR_POSITIONAL)


def _params(node: Node, inputs: tuple[Any, ...]) -> list[str]:
    from ._format import format_param

    names = _argument_names(type(node))
    shown = []
    for position, value in enumerate(inputs):
        if value is FOLLOW or isinstance(value, Tensor) or value is None or value is False:
            continue
        name = names[position] if position < len(names) else f"arg{position}"
        shown.append(f"{name}={format_param(value)}")
    return shown


def is_parameter(tensor: Tensor) -> bool:
    from ..nn import Parameter

    return isinstance(tensor, Parameter)


# --- collecting ---------------------------------------------------------------------------------


def forward_order(starts: Sequence[Node]) -> list[Node]:
    """The op nodes reachable from `starts`, each after the nodes of its inputs (a
    depth-first post-order, with an explicit stack: a 100,000-op chain needs no recursion)."""
    order: list[Node] = []
    seen: set[Node] = set()
    stack: list[tuple[Node, bool]] = [(n, False) for n in reversed(starts)]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
            continue
        if node in seen:
            continue
        seen.add(node)
        stack.append((node, True))
        for child, _ in reversed(node.next_functions):
            if child is not None and not isinstance(child, AccumulateGrad) and child not in seen:
                stack.append((child, False))
    return order


def as_roots(roots: Roots) -> list[Tensor]:
    root_list = [roots] if isinstance(roots, Tensor) else list(roots)
    for position, root in enumerate(root_list):
        if not isinstance(root, Tensor):
            raise TypeError(f"viz: expected a Tensor, got {type(root).__name__} at {position}")
    return root_list


def collect(roots: Roots, names: Mapping[str, Tensor] | None = None) -> Collected:
    """Every op and tensor that leads to `roots`, with values where watch() kept them and the
    `.grad` of leaves (and of tensors that retain_grad)."""
    root_list = as_roots(roots)
    given = {id(t): name for name, t in (names or {}).items()}
    counts: dict[str, int] = {}
    graph = Collected([], [], [], {}, {}, {})

    def new_box(kind: str, name: str | None, shape: Any, value: Any, **more: Any) -> TensorBox:
        if name:
            symbol = name
        elif kind == "number":
            from ._format import format_number

            symbol = format_number(np.asarray(value).item())
        else:
            prefix = {"result": "v", "parameter": "param", "leaf": "leaf"}.get(kind, "const")
            counts[prefix] = counts.get(prefix, 0) + 1
            symbol = f"{prefix}{counts[prefix]}"
        box = TensorBox(f"t{len(graph.tensors)}", kind, symbol, shape, value, named=bool(name),
                        **more)  # fmt: skip
        graph.tensors.append(box)
        return box

    def leaf_box(tensor: Tensor) -> TensorBox:
        name = tensor.name or given.get(id(tensor))
        if tensor.ndim == 0 and not tensor.requires_grad and not name:
            # a number such as the 2 in `x * 2`: drawn once per use, not tying places together
            return new_box("number", None, (), tensor.numpy())
        if id(tensor) in graph.leaves:
            return graph.leaves[id(tensor)]
        if not tensor.requires_grad:
            kind = "constant"
        else:
            kind = "parameter" if is_parameter(tensor) else "leaf"
        value = tensor.detach().numpy()
        grad = tensor.grad.detach().numpy() if tensor.grad is not None else None
        box = new_box(kind, name, tensor.shape, value, grad=grad)
        graph.leaves[id(tensor)] = box
        return box

    def result_box(node: Node, k: int) -> TensorBox:
        if (node, k) in graph.results:
            return graph.results[node, k]
        outputs = node.metadata.get(OUTPUTS)
        value, name, grad = None, None, None
        if outputs is not None and k < len(outputs):
            tensor = outputs[k]
            value = tensor.detach().numpy()
            name = tensor.name or given.get(id(tensor))
            if tensor.retains_grad and tensor.grad is not None:
                grad = tensor.grad.detach().numpy()
        shape = None if value is None else value.shape
        box = new_box("result", name, shape, value, grad=grad, node=node, output_nr=k)
        graph.results[node, k] = box
        op = graph.op_of.get(node)
        if op is not None:
            op.outputs.append(box)
        return box

    starts = [r.grad_fn for r in root_list if r.grad_fn is not None]
    for node in forward_order(starts):
        inputs = node.metadata.get(INPUTS)
        short = _SHORT.get(type(node).__name__, node.name().removesuffix("Backward").lower())
        params = _params(node, inputs) if inputs is not None else []
        title = " ".join([short, *params])
        op = OpBox(f"op{len(graph.ops)}", node, title, short, op_math(node), params,
                   watched=inputs is not None)  # fmt: skip
        graph.ops.append(op)
        graph.op_of[node] = op
        for position, (child, k) in enumerate(node.next_functions):
            box: TensorBox | None = None
            if isinstance(child, AccumulateGrad):
                box = leaf_box(child.variable)
            elif child is not None:
                box = result_box(child, k)
            elif inputs is not None and isinstance(inputs[position], Tensor):
                box = leaf_box(inputs[position])
            if box is not None:
                box.consumers += 1
            op.inputs.append(box)
        for k in range(len(node.metadata.get(OUTPUTS, ()))):
            result_box(node, k)
    for root in root_list:
        box = leaf_box(root) if root.grad_fn is None else result_box(root.grad_fn, _nr(root))
        name = root.name or given.get(id(root))
        if name:
            box.symbol, box.named = name, True
        elif box.kind == "result" and root.numel() == 1 and len(root_list) == 1:
            box.symbol = "L"  # the loss, as in dL/dx
        if box.shape is None:
            box.shape = root.shape
        if box.value is None:
            box.value = root.detach().numpy()
        box.is_root = True
        graph.roots.append(box)
    return graph


def _nr(root: Tensor) -> int:
    """Which output of its grad_fn `root` is: found among the outputs watch() kept, else 0."""
    assert root.grad_fn is not None
    outputs = root.grad_fn.metadata.get(OUTPUTS, ())
    for k, output in enumerate(outputs):
        if output is root:
            return k
    return 0
