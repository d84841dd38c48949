"""Pictures of the graph as Graphviz DOT text, and images rendered from it.

Tensors are boxes, the ops that made them ellipses; edges follow the data (input -> op ->
output), so forward runs along the arrows and backward against them. Each box shows the
tensor's value and its gradient when they are known: leaves always; intermediates when the
forward ran inside `viz.watch()` (values) and after `viz.trace_backward` (gradients).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ..tensor import Tensor
from ._format import format_array, quote
from ._graph import Collected, Roots, TensorBox, collect

INSTALL_HINT = (
    'pip install graphviz (from a checkout: pip install ".[viz]") and Graphviz\'s dot program '
    "(apt-get install graphviz, brew install graphviz, or https://graphviz.org/download)"
)
RANKDIRS = {"LR": "left to right", "TB": "top to bottom", "RL": "right to left", "BT": "bottom up"}


class GraphvizNotInstalledError(RuntimeError):
    """Rendering needs the `graphviz` Python package and Graphviz's `dot` program."""


# kind -> (DOT style, legend text)
STYLES = {
    "parameter": ('shape=box, style="filled,bold", fillcolor="#c7ebd0"',
                  "parameter (nn.Parameter)"),
    "leaf": ('shape=box, style=filled, fillcolor="#cfe2ff"', "leaf that requires grad"),
    "constant": ('shape=box, style=dashed, color="#888888", fontcolor="#444444"',
                 "constant: data, targets (no grad)"),
    "result": ('shape=box, style="rounded"', "result of an op"),
    "unknown": ('shape=box, style="rounded,dotted"', "result; value not kept (see viz.watch)"),
    "root": ('shape=box, style="rounded,filled,bold", fillcolor="#fff1a8"', "the output (loss)"),
    "number": ('shape=plain, fontcolor="#444444"', "a number in the formula"),
    "op": ('shape=ellipse, style=filled, fillcolor="#eeeeee"', "op (hover: its rule)"),
}  # fmt: skip


def style_of(box: TensorBox) -> str:
    if box.is_root:
        return "root"
    if box.kind == "result" and box.value is None:
        return "unknown"
    return box.kind


def _graph_of(source: Any, names: Mapping[str, Tensor] | None) -> Collected:
    from .trace import Trace

    if isinstance(source, Trace):
        return source.graph
    return collect(source, names)


def box_lines(box: TensorBox, max_values: int, show_grads: bool = True) -> list[str]:
    """Its name (or made-up symbol), shape, value and gradient, one per line."""
    if box.kind == "number" and box.value is not None:
        return [format_array(box.value)]
    lines = [box.symbol]
    if box.shape is not None:
        dtype = "" if box.value is None or box.value.dtype == np.float64 else f" {box.value.dtype}"
        lines.append(f"shape {box.shape}{dtype}")
    if max_values > 0 and box.value is not None:
        lines.append("value " + format_array(box.value, max_values))
    if max_values > 0 and show_grads and box.grad is not None:
        lines.append("grad " + format_array(box.grad, max_values))
    return lines


def edges_of(graph: Collected) -> list[tuple[str, str, str]]:
    """(from, to, id) for each edge: input -> op for every input, op -> each output."""
    edges: list[tuple[str, str, str]] = []
    for op in graph.ops:
        for box in op.inputs:
            if box is not None:
                edges.append((box.key, op.key, f"e{len(edges)}"))
        for box in op.outputs:
            edges.append((op.key, box.key, f"e{len(edges)}"))
    return edges


_LEGEND_LINES = {
    "constant": ' style="dashed"',
    "unknown": ' style="dotted"',
    "result": ' style="rounded"',
    "root": ' style="rounded"',
    "number": ' border="0"',
}


def _legend(graph: Collected) -> str:
    used = {style_of(box) for box in graph.tensors} | ({"op"} if graph.ops else set())
    rows = ['<tr><td colspan="2"><b>legend</b></td></tr>']
    colours = {"parameter": "#c7ebd0", "leaf": "#cfe2ff", "root": "#fff1a8", "op": "#eeeeee"}
    for kind, (_, text) in STYLES.items():
        if kind in used:
            colour = colours.get(kind, "white")
            sample = "2" if kind == "number" else ("( )" if kind == "op" else "")
            line = _LEGEND_LINES.get(kind, "")
            rows.append(f'<tr><td bgcolor="{colour}" width="24"{line}>{sample}</td>'
                        f'<td align="left">{text}</td></tr>')  # fmt: skip
    table = "".join(rows)
    return (f'  legend [shape=plain, id="legend", fontsize=9, label=<<table border="0" '
            f'cellborder="1" cellspacing="0" cellpadding="3">{table}</table>>];')  # fmt: skip


def to_dot(
    source: Roots | Any,
    *,
    names: Mapping[str, Tensor] | None = None,
    max_values: int = 6,
    rankdir: str = "LR",
    title: str | None = None,
    legend: bool = True,
    show_grads: bool = True,
    id_prefix: str = "",
) -> str:
    """The graph as Graphviz DOT source: of a tensor (or several), or of a `Trace` from
    `trace_backward`, which shows every tensor's gradient.

    names: extra names for tensors, e.g. `dict(model.named_parameters())`; a tensor's own
    `.name` comes first. max_values: tensors with at most this many elements show their
    values, larger ones a summary; 0 shows shapes only. rankdir: "LR" draws the data flowing
    left to right, "TB" top to bottom. legend: a key to the colours and shapes. show_grads:
    False leaves the gradients out. id_prefix: prepended to the SVG ids of nodes and edges.
    """
    if rankdir not in RANKDIRS:
        raise ValueError(f"to_dot: rankdir must be one of {', '.join(RANKDIRS)}, got {rankdir!r}")
    graph = _graph_of(source, names)
    out = ["digraph computation_graph {", f"  rankdir={rankdir};"]
    if title:
        out.append(f"  label={quote([title])}; labelloc=t;")
    out.append('  graph [fontname="Helvetica"];')
    out.append('  node [fontname="Helvetica", fontsize=10];')
    out.append('  edge [color="#555555"];')
    for box in graph.tensors:
        label = quote(box_lines(box, max_values, show_grads))
        style = STYLES[style_of(box)][0]
        out.append(f'  {box.key} [label={label}, {style}, id="{id_prefix}{box.key}"];')
    for op in graph.ops:
        tooltip = quote([f"{op.node.name()}: {op.math}"])
        out.append(f"  {op.key} [label={quote([op.title])}, {STYLES['op'][0]}, "
                   f'tooltip={tooltip}, id="{id_prefix}{op.key}"];')  # fmt: skip
    for start, end, key in edges_of(graph):
        out.append(f'  {start} -> {end} [id="{id_prefix}{key}"];')
    if legend and graph.tensors:
        out.append(_legend(graph))
    out.append("}")
    return "\n".join(out) + "\n"


def render(source: str, fmt: str) -> bytes:
    """Run Graphviz's dot on `source`, returning the image bytes."""
    try:
        import graphviz
    except ImportError:
        raise GraphvizNotInstalledError(f"drawing needs Graphviz: {INSTALL_HINT}") from None
    try:
        data: bytes = graphviz.Source(source).pipe(format=fmt)
    except graphviz.ExecutableNotFound:
        raise GraphvizNotInstalledError(
            f"drawing needs Graphviz's dot program, which was not found: {INSTALL_HINT}"
        ) from None
    return data


def svg_text(source: str) -> str:
    """The picture as an <svg> element, without the XML prologue (to put inside HTML)."""
    text = render(source, "svg").decode("utf-8")
    return text[text.index("<svg") :]


class Graph:
    """A picture ready to show: `.source` is its DOT text; Jupyter displays it as SVG when
    Graphviz is installed; `.save(path)` writes an image."""

    def __init__(self, source: str, n_tensors: int, n_ops: int) -> None:
        self.source = source
        self.n_tensors = n_tensors
        self.n_ops = n_ops

    def _repr_svg_(self) -> str | None:
        # None lets Jupyter fall back to the text form instead of showing an error.
        try:
            return svg_text(self.source)
        except GraphvizNotInstalledError:
            return None

    def save(self, path: str | Path) -> Path:
        """Write the picture; the format comes from the suffix (.svg, .png, .pdf, or .dot/.gv
        for the DOT text itself, which needs no Graphviz)."""
        path = Path(path)
        fmt = path.suffix.lstrip(".").lower()
        if fmt in ("dot", "gv"):
            path.write_text(self.source, encoding="utf-8")
        elif fmt in ("svg", "png", "pdf", "jpg", "jpeg"):
            path.write_bytes(render(self.source, fmt))
        else:
            raise ValueError(
                f"draw: cannot tell the image format from {str(path)!r}; "
                "end the name with .svg, .png, .pdf, .jpg or .dot"
            )
        return path

    def __repr__(self) -> str:
        return f"<Graph: {self.n_tensors} tensors, {self.n_ops} ops; .source is the DOT text>"

    def __str__(self) -> str:
        return self.source


def graph(source: Roots | Any, **options: Any) -> Graph:
    """The picture of a tensor's graph or of a trace as a `Graph` (options as for `to_dot`)."""
    collected = _graph_of(source, options.get("names"))
    return Graph(to_dot(source, **options), len(collected.tensors), len(collected.ops))


def draw(source: Roots | Any, path: str | Path = "graph.svg", **options: Any) -> Path:
    """Draw a tensor's graph, or a trace, into `path` (.svg, .png, .pdf, or .dot for the
    text only); returns the path. Options as for `to_dot`."""
    return graph(source, **options).save(path)
