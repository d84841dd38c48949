"""Pictures of the computation graph: Graphviz DOT text, rendered images, and a text tree.

The graph has two kinds of node: tensors (boxes) and the ops that made them (ellipses).
Edges follow the data, input tensor -> op -> output tensor, so the leaves sit on the left and
the loss on the right, as in drawings of forward propagation; backward walks the same edges
from right to left. A tensor's `.grad` is shown once backward has filled it in.

    from tinygrad_lr import viz
    viz.to_dot(loss)              # DOT text, no dependency
    viz.draw(loss, "loss.svg")    # an image: needs `pip install ".[viz]"` and `dot`
    viz.graph(loss)               # in Jupyter, shows itself as a picture
    viz.print_graph(loss)         # an indented tree for the terminal

Colours: green boxes are parameters (`nn.Parameter`), blue boxes other leaves that require
grad, grey dashed boxes constants (data, targets, numbers), yellow the output.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from .autograd import Function
from .tensor import Tensor

INSTALL_HINT = (
    'pip install graphviz (from a checkout: pip install ".[viz]") and Graphviz\'s dot program '
    "(apt-get install graphviz, brew install graphviz, or https://graphviz.org/download)"
)

Roots = Tensor | Sequence[Tensor]


class GraphvizNotInstalledError(RuntimeError):
    """Rendering needs the `graphviz` Python package and Graphviz's `dot` program."""


# --- collecting the graph ---------------------------------------------------------------------


@dataclass(eq=False)
class _TensorNode:
    """One tensor of the graph; `tensor` is None when backward freed it and nobody holds it."""

    key: str
    tensor: Tensor | None
    shape: tuple[int, ...]
    grad_fn: Function | None
    name: str | None
    is_root: bool = False
    is_number: bool = False  # an unnamed one-value constant, drawn as just its value
    consumers: int = 0

    @property
    def kind(self) -> str:
        """parameter, leaf (requires grad), constant, result (made by an op) or freed."""
        if self.grad_fn is not None:
            return "result"
        if self.tensor is None:
            return "freed"
        if _is_parameter(self.tensor):
            return "parameter"
        return "leaf" if self.tensor.requires_grad else "constant"


@dataclass(eq=False)
class _OpNode:
    key: str
    fn: Function
    inputs: list[_TensorNode] = field(default_factory=list)
    output: _TensorNode | None = None


@dataclass
class _Collected:
    tensors: list[_TensorNode]
    ops: list[_OpNode]
    roots: list[_TensorNode]


def _is_parameter(tensor: Tensor) -> bool:
    try:
        from .nn import Parameter
    except ImportError:  # drawing works without the nn package
        return any(cls.__name__ == "Parameter" for cls in type(tensor).__mro__)
    return isinstance(tensor, Parameter)


def _is_plain_number(tensor: Tensor, given_names: dict[int, str]) -> bool:
    """An unnamed one-value constant. The same number may be one shared tensor in many
    places; drawing it once would tie unrelated parts of the picture together."""
    return (
        tensor.ndim == 0
        and tensor.grad_fn is None
        and not tensor.requires_grad
        and not tensor.name
        and id(tensor) not in given_names
    )


def _inputs_of(fn: Function) -> list[tuple[Tensor | None, Function | None, tuple[int, ...]]]:
    """(tensor, its grad_fn, its shape) for each input of `fn`, also after backward freed it."""
    if not fn._freed:
        return [(t, t.grad_fn, t.shape) for t in fn.inputs]
    # A freed node keeps an outline with weak references (see autograd._free).
    return [(ref(), grad_fn, shape) for ref, grad_fn, shape in fn._outline]


def _collect(roots: Roots, names: Mapping[str, Tensor] | None) -> _Collected:
    """Every tensor and op that leads to `roots`, found with an explicit stack (a graph of
    100,000 ops would overflow Python's recursion limit)."""
    root_list = [roots] if isinstance(roots, Tensor) else list(roots)
    for position, root in enumerate(root_list):
        if not isinstance(root, Tensor):
            raise TypeError(f"viz: expected a Tensor, got {type(root).__name__} at {position}")
    given_names = {id(t): name for name, t in (names or {}).items()}
    tensors: list[_TensorNode] = []
    # A result is keyed by the op that made it (it outlives the tensor after backward),
    # a leaf by the tensor's identity; `alive` keeps keyed objects alive so ids stay unique.
    by_key: dict[int, _TensorNode] = {}
    alive: list[Any] = []

    def tensor_node(
        tensor: Tensor | None, grad_fn: Function | None, shape: tuple[int, ...]
    ) -> _TensorNode:
        owner: Any = grad_fn if grad_fn is not None else tensor
        is_number = tensor is not None and _is_plain_number(tensor, given_names)
        if is_number:
            owner = None  # a number such as the 2 in `x * 2`: drawn once per use
        if owner is not None and id(owner) in by_key:
            return by_key[id(owner)]
        name = None
        if tensor is not None:
            name = tensor.name or given_names.get(id(tensor))
        node = _TensorNode(f"t{len(tensors)}", tensor, shape, grad_fn, name, is_number=is_number)
        tensors.append(node)
        if owner is not None:
            by_key[id(owner)] = node
            alive.append(owner)
        return node

    root_nodes = []
    for root in root_list:
        node = tensor_node(root, root.grad_fn, root.shape)
        node.is_root = True
        root_nodes.append(node)
    ops: list[_OpNode] = []
    op_of: dict[Function, _OpNode] = {}
    stack = [root.grad_fn for root in reversed(root_list) if root.grad_fn is not None]
    while stack:
        fn = stack.pop()
        if fn in op_of:
            continue
        op = _OpNode(f"op{len(ops)}", fn, output=by_key[id(fn)])
        ops.append(op)
        op_of[fn] = op
        children = []
        for tensor, grad_fn, shape in _inputs_of(fn):
            node = tensor_node(tensor, grad_fn, shape)
            node.consumers += 1
            op.inputs.append(node)
            if grad_fn is not None and grad_fn not in op_of:
                children.append(grad_fn)
        stack.extend(reversed(children))  # visit inputs left to right
    return _Collected(tensors, ops, root_nodes)


# --- text for labels --------------------------------------------------------------------------


def _format_number(value: Any) -> str:
    if not isinstance(value, float):
        return str(value)
    text = f"{value:.4g}"
    # Keep 2.0 looking like a float, as NumPy prints it: "2.", not "2".
    return text if any(c in text for c in ".einf") else text + "."


def _format_array(array: np.ndarray, max_values: int) -> str:
    """Small arrays in full (4 significant digits); large ones as mean and range."""
    if array.size <= max_values:
        # Built by hand: np.array2string costs ~100 us, too slow for a graph of 100,000 ops.
        items = [_format_number(v) for v in array.ravel().tolist()]
        for length in reversed(array.shape[1:]):
            items = [
                "[" + ", ".join(items[i : i + length]) + "]" for i in range(0, len(items), length)
            ]
        return "[" + ", ".join(items) + "]" if array.ndim else items[0]
    with np.errstate(all="ignore"):
        finite = array[np.isfinite(array)] if array.dtype.kind == "f" else array
        if finite.size == 0:
            summary = "no finite values"
        else:
            mean, low, high = (
                _format_number(float(v)) for v in (finite.mean(), finite.min(), finite.max())
            )
            summary = f"mean {mean}, range [{low}, {high}]"
    bad = array.size - finite.size
    return summary + (f", {bad} nan/inf" if bad else "")


def _format_param(value: Any) -> str:
    if isinstance(value, np.ndarray):
        return f"array{value.shape}"
    if isinstance(value, np.dtype):
        return str(value)
    text = repr(value)
    return text if len(text) <= 24 else text[:21] + "..."


def _op_title(fn: Function) -> str:
    """The op as users call it, with the params that change what it does (e.g. `sum axes=(1,)`)."""
    params = getattr(fn, "params", None) or {}
    shown = [
        f"{k}={_format_param(v)}" for k, v in params.items() if v is not None and v is not False
    ]
    return fn.op_name + (" " + ", ".join(shown) if shown else "")


def _shape_text(node: _TensorNode) -> str:
    text = str(node.shape)
    tensor = node.tensor
    if tensor is not None and tensor.dtype != np.float64:
        text += f" {tensor.dtype}"
    return text


def _tensor_lines(node: _TensorNode, max_values: int) -> list[str]:
    """Name (or what the leaf is), shape, values and grad, one per line."""
    if node.is_number and node.tensor is not None:
        return [_format_number(node.tensor._data.item())]
    lines = []
    kind = node.kind
    if node.name:
        lines.append(node.name)
    elif kind in ("parameter", "constant"):
        lines.append(kind)
    elif kind == "leaf":
        lines.append("leaf (requires grad)")
    lines.append("shape " + _shape_text(node))
    tensor = node.tensor
    if tensor is None:
        lines.append("(freed after backward)")
        return lines
    if max_values > 0:
        lines.append("data " + _format_array(tensor._data, max_values))
        if tensor.grad is not None:
            lines.append("grad " + _format_array(tensor.grad._data, max_values))
    return lines


# --- DOT --------------------------------------------------------------------------------------

_TENSOR_STYLE = {
    "parameter": 'shape=box, style="filled,bold", fillcolor="#c7ebd0"',
    "leaf": 'shape=box, style=filled, fillcolor="#cfe2ff"',
    "constant": 'shape=box, style=dashed, color="#888888", fontcolor="#444444"',
    "result": 'shape=box, style="rounded"',
    "freed": 'shape=box, style="rounded,dotted"',
}
_ROOT_STYLE = 'shape=box, style="rounded,filled,bold", fillcolor="#fff1a8"'
_NUMBER_STYLE = 'shape=plain, fontcolor="#444444"'
_OP_STYLE = 'shape=ellipse, style=filled, fillcolor="#eeeeee"'


def _quote(lines: Iterable[str]) -> str:
    """A DOT string literal; lines are separated by DOT's centred line break."""
    escaped = (line.replace("\\", "\\\\").replace('"', '\\"') for line in lines)
    return '"' + "\\n".join(escaped) + '"'


def to_dot(
    tensor: Roots,
    *,
    names: Mapping[str, Tensor] | None = None,
    max_values: int = 6,
    rankdir: str = "LR",
    title: str | None = None,
) -> str:
    """The graph that computed `tensor` (or several tensors) as Graphviz DOT source.

    names: extra names for tensors, e.g. `dict(model.named_parameters())`; a tensor's own
    `.name` comes first. max_values: tensors with at most this many elements show their
    values, larger ones a summary; 0 shows shapes only. rankdir: "LR" draws the data flowing
    left to right, "TB" top to bottom.
    """
    graph = _collect(tensor, names)
    out = ["digraph computation_graph {", f"  rankdir={rankdir};"]
    if title:
        out.append(f"  label={_quote([title])}; labelloc=t;")
    out.append('  graph [fontname="Helvetica"];')
    out.append('  node [fontname="Helvetica", fontsize=10];')
    out.append('  edge [color="#555555"];')
    for node in graph.tensors:
        style = _ROOT_STYLE if node.is_root else _TENSOR_STYLE[node.kind]
        if node.is_number:
            style = _NUMBER_STYLE
        out.append(f"  {node.key} [label={_quote(_tensor_lines(node, max_values))}, {style}];")
    for op in graph.ops:
        label = _quote([_op_title(op.fn)])
        out.append(f"  {op.key} [label={label}, {_OP_STYLE}, tooltip={_quote([op.fn.name])}];")
    for op in graph.ops:
        for node in op.inputs:
            out.append(f"  {node.key} -> {op.key};")
        assert op.output is not None
        out.append(f"  {op.key} -> {op.output.key};")
    out.append("}")
    return "\n".join(out) + "\n"


def _render(source: str, fmt: str) -> bytes:
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


class Graph:
    """A computation graph ready to show: `.source` is its DOT text; Jupyter displays it as
    SVG when Graphviz is installed; `.save(path)` writes an image."""

    def __init__(self, source: str, n_tensors: int, n_ops: int) -> None:
        self.source = source
        self.n_tensors = n_tensors
        self.n_ops = n_ops

    def _repr_svg_(self) -> str | None:
        # None lets Jupyter fall back to the text form instead of showing an error.
        try:
            return _render(self.source, "svg").decode("utf-8")
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
            path.write_bytes(_render(self.source, fmt))
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


def graph(tensor: Roots, **options: Any) -> Graph:
    """The graph that computed `tensor` as a `Graph` (options as for `to_dot`)."""
    collected = _collect(tensor, options.get("names"))
    return Graph(to_dot(tensor, **options), len(collected.tensors), len(collected.ops))


def draw(tensor: Roots, path: str | Path = "graph.svg", **options: Any) -> Path:
    """Draw the graph that computed `tensor` into `path` (.svg, .png, .pdf, or .dot for the
    text only); returns the path. Options as for `to_dot`."""
    return graph(tensor, **options).save(path)


# --- text tree --------------------------------------------------------------------------------

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


def _tensor_text(node: _TensorNode, max_values: int) -> str:
    if node.is_number and node.tensor is not None:
        return "number " + _format_number(node.tensor._data.item())
    parts = [node.name] if node.name else []
    parts.append("shape " + _shape_text(node))
    if node.kind != "result":
        parts.append(f"[{node.kind}]")
    tensor = node.tensor
    if tensor is None:
        parts.append("(freed after backward)")
    elif max_values > 0:
        parts.append("data " + _format_array(tensor._data, max_values))
        if tensor.grad is not None:
            parts.append("grad " + _format_array(tensor.grad._data, max_values))
    return " ".join(parts)


def format_graph(
    tensor: Roots,
    *,
    names: Mapping[str, Tensor] | None = None,
    max_values: int = 4,
    max_depth: int | None = None,
) -> str:
    """The graph as an indented tree, output at the top: each line is a tensor, preceded by
    the op that made it (`add -> y_hat (100, 1)`); its inputs are indented below it. A tensor
    used by several ops is expanded once and marked `#k`; later uses say `#k (see above)`."""
    graph = _collect(tensor, names)
    op_of = {id(op.fn): op for op in graph.ops}
    shared = [node for node in graph.tensors if node.consumers + node.is_root > 1]
    marks = {id(node): f"#{k + 1}" for k, node in enumerate(shared)}
    shown: set[int] = set()
    lines: list[str] = []
    # (node, indent of its line, connector, indent for its children, depth)
    stack: list[tuple[_TensorNode, _Indent | None, str, _Indent | None, int]] = [
        (root, None, "", None, 0) for root in reversed(graph.roots)
    ]
    while stack:
        node, indent, connector, child_indent, depth = stack.pop()
        text = _tensor_text(node, max_values)
        mark = marks.get(id(node))
        op = op_of.get(id(node.grad_fn)) if node.grad_fn is not None else None
        if op is not None:
            text = f"{_op_title(op.fn)} -> {text}"
        lead = (indent.render() if indent else "") + connector
        if mark and id(node) in shown:
            lines.append(f"{lead}{mark} (see above)")
            continue
        lines.append(f"{lead}{mark + ' ' if mark else ''}{text}")
        shown.add(id(node))
        if op is None or not op.inputs:
            continue
        if max_depth is not None and depth >= max_depth:
            lines.append(f"{child_indent.render() if child_indent else ''}└─ … (max_depth)")
            continue
        for position in reversed(range(len(op.inputs))):
            last = position == len(op.inputs) - 1
            grandchild_indent = _Indent("   " if last else "│  ", child_indent)
            stack.append(
                (
                    op.inputs[position],
                    child_indent,
                    "└─ " if last else "├─ ",
                    grandchild_indent,
                    depth + 1,
                )
            )
    return "\n".join(lines)


def print_graph(
    tensor: Roots,
    *,
    names: Mapping[str, Tensor] | None = None,
    max_values: int = 4,
    max_depth: int | None = None,
    file: TextIO | None = None,
) -> None:
    """Print the graph that computed `tensor` as an indented tree (see `format_graph`)."""
    print(
        format_graph(tensor, names=names, max_values=max_values, max_depth=max_depth),
        file=file or sys.stdout,
    )


__all__ = [
    "INSTALL_HINT",
    "Graph",
    "GraphvizNotInstalledError",
    "draw",
    "format_graph",
    "graph",
    "print_graph",
    "to_dot",
]
