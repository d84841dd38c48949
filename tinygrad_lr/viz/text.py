"""The graph as an indented tree for the terminal, output at the top."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TextIO

from ..tensor import Tensor
from ._format import format_array
from ._graph import Collected, Roots, TensorBox
from .dot import _graph_of

_MAX_INDENT = 24  # levels of indentation shown; deeper lines keep the last ones only


@dataclass(frozen=True)
class _Indent:
    """The indentation of a line as a linked list of segments, so that a child shares its
    parent's instead of copying a string that grows with depth."""

    segment: str
    parent: _Indent | None

    def render(self) -> str:
        segments: list[str] = []
        link: _Indent | None = self
        while link is not None and len(segments) < _MAX_INDENT:
            segments.append(link.segment)
            link = link.parent
        prefix = "… " if link is not None else ""
        return prefix + "".join(reversed(segments))


def _box_text(box: TensorBox, max_values: int) -> str:
    if box.kind == "number" and box.value is not None:
        return "number " + format_array(box.value)
    parts = [box.symbol]
    if box.shape is not None:
        parts.append(f"shape {box.shape}")
    if box.kind != "result":
        parts.append(f"[{box.kind}]")
    if max_values > 0 and box.value is not None:
        parts.append("value " + format_array(box.value, max_values))
    if max_values > 0 and box.grad is not None:
        parts.append("grad " + format_array(box.grad, max_values))
    return " ".join(parts)


def format_graph(
    source: Roots | Any,
    *,
    names: Mapping[str, Tensor] | None = None,
    max_values: int = 4,
    max_depth: int | None = None,
) -> str:
    """The graph of a tensor (or of a `Trace`) as an indented tree, output at the top: each
    line is a tensor, preceded by the op that made it (`add -> y_hat shape (100,)`); its
    inputs are indented below it. A tensor used by several ops is expanded once and marked
    `#k`; later uses say `#k (see above)`."""
    graph: Collected = _graph_of(source, names)
    shared = [box for box in graph.tensors if box.consumers + box.is_root > 1]
    marks = {id(box): f"#{k + 1}" for k, box in enumerate(shared)}
    shown: set[int] = set()
    lines: list[str] = []
    # (box, indent of its line, connector, indent for its children, depth)
    stack: list[tuple[TensorBox, _Indent | None, str, _Indent | None, int]] = [
        (root, None, "", None, 0) for root in reversed(graph.roots)
    ]
    while stack:
        box, indent, connector, child_indent, depth = stack.pop()
        text = _box_text(box, max_values)
        mark = marks.get(id(box))
        op = graph.op_of.get(box.node) if box.node is not None else None
        if op is not None:
            text = f"{op.title} -> {text}"
        lead = (indent.render() if indent else "") + connector
        if mark and id(box) in shown:
            lines.append(f"{lead}{mark} (see above)")
            continue
        lines.append(f"{lead}{mark + ' ' if mark else ''}{text}")
        shown.add(id(box))
        inputs = [child for child in op.inputs if child is not None] if op is not None else []
        if not inputs:
            continue
        if max_depth is not None and depth >= max_depth:
            lines.append(f"{child_indent.render() if child_indent else ''}└─ … (max_depth)")
            continue
        for position in reversed(range(len(inputs))):
            last = position == len(inputs) - 1
            grandchild = _Indent("   " if last else "│  ", child_indent)
            stack.append((inputs[position], child_indent, "└─ " if last else "├─ ", grandchild,
                          depth + 1))  # fmt: skip
    return "\n".join(lines)


def print_graph(
    source: Roots | Any,
    *,
    names: Mapping[str, Tensor] | None = None,
    max_values: int = 4,
    max_depth: int | None = None,
    file: TextIO | None = None,
) -> None:
    """Print the graph of a tensor or a trace as an indented tree (see `format_graph`)."""
    text = format_graph(source, names=names, max_values=max_values, max_depth=max_depth)
    print(text, file=file or sys.stdout)
