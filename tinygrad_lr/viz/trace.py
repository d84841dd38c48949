"""The backward pass written out step by step: which node ran, the rule it applied, the
gradient that arrived and the gradients it sent to each input.

    with tl.viz.watch():              # optional: keeps the forward values for the trace
        loss = ((x * w - y) ** 2).mean()
    trace = tl.viz.trace_backward(loss)
    print(trace)                      # the steps as you would write them on paper
    trace.steps[0].arrived            # the same, for code

`trace_backward` registers the nodes' public hooks (`register_prehook` sees the gradient
arriving at a node, `register_hook` the gradients it sends) on every node it can reach, runs
one ordinary `loss.backward(gradient)` and removes the hooks: `.grad` ends up exactly as
`loss.backward()` leaves it, and the steps come in the order the engine took them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..autograd.graph import AccumulateGrad, Node
from ..tensor import Tensor
from ._format import format_array
from ._graph import Collected, OpBox, TensorBox, collect


@dataclass
class Sent:
    """A gradient a node sent along one of its edges."""

    position: int  # which input of the op
    target: str  # that input's symbol, e.g. "slope" or "v2"
    grad: np.ndarray | None  # None: the input needs no gradient (or the rule gave none)
    to_step: int | None = None  # the step that received it


@dataclass
class Step:
    """One node run by the backward pass."""

    index: int  # 1, 2, ...: the engine's order
    name: str  # node.name(), e.g. "MulBackward"
    equation: str  # what the node computed forward, e.g. "v1 = mul(slope, x)"
    math: str  # its rule, e.g. "z = x * y; dz/dx = y, dz/dy = x."
    key: str  # the picture's node for this step (the op, or the leaf for AccumulateGrad)
    outputs: list[str]  # symbols of the tensors whose gradient arrived
    arrived: list[np.ndarray | None]  # dL/d(output), one per output of the node
    sent: list[Sent] = field(default_factory=list)
    node: Node | None = field(default=None, repr=False)
    values: list[np.ndarray | None] = field(default_factory=list, repr=False)  # forward values


def _copy(grad: Any) -> np.ndarray | None:
    return None if grad is None else np.array(grad.detach().numpy(), copy=True)


def _reachable(start: Node) -> list[Node]:
    found, stack = {start}, [start]
    while stack:
        for child, _ in stack.pop().next_functions:
            if child is not None and child not in found:
                found.add(child)
                stack.append(child)
    return list(found)


def trace_backward(
    loss: Tensor,
    gradient: Any = None,
    retain_graph: bool | None = None,
    *,
    names: Mapping[str, Tensor] | None = None,
) -> Trace:
    """Run `loss.backward(gradient, retain_graph)` and return the trace of its steps (see the
    module's docstring). `names` gives tensors names for the text and pictures, e.g.
    `dict(model.named_parameters())`; a tensor's own `.name` comes first."""
    if not isinstance(loss, Tensor):
        raise TypeError(f"trace_backward: expected a Tensor, got {type(loss).__name__}")
    arrived: list[tuple[Node, list[np.ndarray | None]]] = []
    sent: dict[Node, list[np.ndarray | None]] = {}

    def watch_node(node: Node) -> list[Any]:
        def before(grad_outputs: tuple[Any, ...]) -> None:
            arrived.append((node, [_copy(g) for g in grad_outputs]))

        def after(grad_inputs: tuple[Any, ...], grad_outputs: tuple[Any, ...]) -> None:
            sent[node] = [_copy(g) for g in grad_inputs]

        return [node.register_prehook(before), node.register_hook(after)]

    nodes = _reachable(loss.grad_fn) if loss.grad_fn is not None else []
    handles = [handle for node in nodes for handle in watch_node(node)]
    try:
        loss.backward(gradient, retain_graph=retain_graph)
    finally:
        for handle in handles:
            handle.remove()
    return Trace(loss, collect(loss, names), arrived, sent)


class Trace:
    """The steps of one backward pass (`steps`), and the graph they ran on with every
    tensor's value (where watch() kept it) and gradient, ready to draw."""

    def __init__(
        self,
        loss: Tensor,
        graph: Collected,
        arrived: list[tuple[Node, list[np.ndarray | None]]],
        sent: dict[Node, list[np.ndarray | None]],
    ) -> None:
        self.graph = graph
        self.loss_symbol = graph.roots[0].symbol
        self.steps: list[Step] = []
        step_of: dict[Node, int] = {}
        for index, (node, grads) in enumerate(arrived, start=1):
            step_of[node] = index
            self.steps.append(self._step(index, node, grads, sent.get(node, [])))
        for step in self.steps:
            assert step.node is not None
            for item in step.sent:
                child = step.node.next_functions[item.position][0]
                item.to_step = step_of.get(child) if child is not None else None
        self._fill_grads()

    @property
    def forward(self) -> list[OpBox]:
        """The ops in the order the forward pass ran them."""
        return self.graph.ops

    def _leaf(self, node: AccumulateGrad) -> TensorBox | None:
        return self.graph.leaves.get(id(node.variable))

    def _step(
        self, index: int, node: Node, grads: list[np.ndarray | None], sent: list[Any]
    ) -> Step:
        if isinstance(node, AccumulateGrad):
            leaf = self._leaf(node)
            symbol = leaf.symbol if leaf is not None else "leaf"
            return Step(index, node.name(), f"{symbol}.grad += d{self.loss_symbol}/d{symbol}",
                        "x.grad += dL/dx", leaf.key if leaf else "", [symbol], grads, node=node,
                        values=[leaf.value if leaf else None])  # fmt: skip
        op = self.graph.op_of[node]
        outputs = [self.graph.results.get((node, k)) for k in range(len(grads))]
        symbols = [box.symbol if box else f"output {k}" for k, box in enumerate(outputs)]
        values = [box.value if box else None for box in outputs]
        equation = self._equation(op, symbols)
        step = Step(index, node.name(), equation, op.math, op.key, symbols, grads, node=node,
                    values=values)  # fmt: skip
        for position, box in enumerate(op.inputs):
            grad = sent[position] if position < len(sent) else None
            edge = node.next_functions[position][0]
            if edge is None and box is None:
                continue  # a number or option of the op, such as the axes of a sum
            target = box.symbol if box is not None else f"input {position}"
            step.sent.append(Sent(position, target, grad))
        return step

    @staticmethod
    def _equation(op: OpBox, symbols: list[str]) -> str:
        arguments = [box.symbol if box is not None else "…" for box in op.inputs]
        if op.watched:  # watch() told apart the constants from the op's options
            arguments = [box.symbol for box in op.inputs if box is not None]
        out = symbols[0] if len(symbols) == 1 else "(" + ", ".join(symbols) + ")"
        return f"{out} = {op.short}({', '.join(arguments + op.params)})"

    def _fill_grads(self) -> None:
        """Every tensor box gets the gradient the pass computed for it."""
        for step in self.steps:
            node = step.node
            if isinstance(node, AccumulateGrad):
                leaf = self._leaf(node)
                if leaf is not None and step.arrived[0] is not None:
                    leaf.grad = step.arrived[0]
                continue
            for k, grad in enumerate(step.arrived):
                box = self.graph.results.get((node, k))  # type: ignore[arg-type]
                if box is not None and grad is not None:
                    box.grad = grad
                    box.shape = box.shape or grad.shape

    # --- showing it -------------------------------------------------------------------------

    def format(self, max_values: int = 6) -> str:
        """The steps as text: for each, what the node computed, its rule, the gradient that
        arrived and where each gradient went."""
        loss = self.loss_symbol
        lines = [f"backward pass from {loss}: {len(self.steps)} steps, in the engine's order"]
        for step in self.steps:
            lines.append("")
            lines.append(f"step {step.index}  {step.name}:  {step.equation}")
            if step.name != "AccumulateGrad":
                lines.append(f"    rule    {step.math}")
                for symbol, value in zip(step.outputs, step.values):
                    if value is not None:
                        lines.append(f"    value   {symbol} = {format_array(value, max_values)}")
            for symbol, grad in zip(step.outputs, step.arrived):
                shown = "none" if grad is None else format_array(grad, max_values)
                lines.append(f"    got     d{loss}/d{symbol} = {shown}")
            for item in step.sent:
                if item.grad is None:
                    lines.append(f"    sent    nothing to {item.target} (it needs no gradient)")
                    continue
                where = f"  -> step {item.to_step}" if item.to_step else ""
                grad_text = format_array(item.grad, max_values)
                lines.append(f"    sent    d{loss}/d{item.target} = {grad_text}{where}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.format()

    def __repr__(self) -> str:
        return f"<Trace: {len(self.steps)} backward steps from {self.loss_symbol}; print() it>"

    def _repr_svg_(self) -> str | None:
        from .dot import graph

        return graph(self)._repr_svg_()

    def _repr_html_(self) -> str | None:
        from .html import page

        try:
            return page(self, inline=True)
        except ImportError:
            return None

    def to_html(self, path: str | Path) -> Path:
        from .html import to_html

        return to_html(self, path)
