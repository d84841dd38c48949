"""Graph pictures: the DOT text is parsed back and compared with the graph the engine
recorded (walked independently here); images are rendered where Graphviz is installed."""

from __future__ import annotations

import contextlib
import importlib.util
import re
import shutil
import sys
from dataclasses import dataclass, field

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinygrad_lr as tl
from tinygrad_lr import viz

HAS_DOT = shutil.which("dot") is not None and importlib.util.find_spec("graphviz") is not None
needs_graphviz = pytest.mark.skipif(not HAS_DOT, reason="Graphviz (dot + graphviz) not installed")


# --- a small DOT reader -----------------------------------------------------------------------


@dataclass
class Dot:
    nodes: dict[str, dict[str, str]] = field(default_factory=dict)
    edges: list[tuple[str, str]] = field(default_factory=list)

    def label(self, key: str) -> str:
        return self.nodes[key]["label"]

    def ops(self) -> list[str]:
        return [k for k, a in self.nodes.items() if a.get("shape") == "ellipse"]

    def tensors(self) -> list[str]:
        return [k for k in self.nodes if k not in self.ops()]

    def with_label(self, text: str) -> list[str]:
        return [k for k in self.nodes if text in self.label(k).split("\n")]


ATTRIBUTE = re.compile(r'(\w+)=("(?:[^"\\]|\\.)*"|[^,\]\s]+)')


def parse_dot(source: str) -> Dot:
    """Nodes with their attributes and edges, from the one-statement-per-line DOT that
    to_dot writes; labels are unescaped (\\n -> newline)."""
    lines = source.strip().splitlines()
    assert lines[0].startswith("digraph") and lines[0].endswith("{") and lines[-1] == "}"
    dot = Dot()
    for line in lines[1:-1]:
        line = line.strip()
        edge = re.fullmatch(r"(\w+) -> (\w+)(?: \[id=\"\w+\"\])?;", line)
        if edge:
            dot.edges.append((edge.group(1), edge.group(2)))
            continue
        if re.fullmatch(r"(\w+=(\w+|\"[^\"]*\");\s*)+", line):
            continue  # graph attributes: rankdir=LR; label="..."; labelloc=t;
        if line.startswith("legend ["):
            continue  # the legend, an HTML-like table
        node = re.fullmatch(r"(\w+) \[(.*)\];", line)
        assert node, f"unexpected DOT line: {line}"
        if node.group(1) in ("graph", "node", "edge", "legend"):
            continue
        attributes = {}
        for key, value in ATTRIBUTE.findall(node.group(2)):
            if value.startswith('"'):
                value = re.sub(
                    r"\\(.)", lambda m: "\n" if m.group(1) == "n" else m.group(1), value[1:-1]
                )
            attributes[key] = value
        dot.nodes[node.group(1)] = attributes
    for a, b in dot.edges:
        assert a in dot.nodes and b in dot.nodes, f"edge {a} -> {b} names an undeclared node"
    return dot


def recorded_graph(root: tl.Tensor) -> tuple[int, int, int]:
    """Ops, tensors and edges of the graph the engine recorded, walked here through
    next_functions without viz: the expected answer for a graph drawn without watch()."""
    ops: set[object] = set()
    leaves: set[int] = set()
    results: set[tuple[int, int]] = {(id(root.grad_fn), 0)}
    edges = 0
    stack = [root.grad_fn]
    while stack:
        node = stack.pop()
        if node in ops:
            continue
        ops.add(node)
        outputs = {k for n, k in results if n == id(node)}
        edges += len(outputs)
        for child, k in node.next_functions:
            if child is None:
                continue
            edges += 1
            if child.name() == "AccumulateGrad":
                leaves.add(id(child.variable))
            else:
                results.add((id(child), k))
                stack.append(child)
    return len(ops), len(leaves) + len(results), edges


def check_against_recorded(dot: Dot, root: tl.Tensor) -> None:
    ops, tensors, edges = recorded_graph(root)
    assert (len(dot.ops()), len(dot.tensors()), len(dot.edges)) == (ops, tensors, edges)
    check_well_formed(dot)


def check_well_formed(dot: Dot) -> None:
    """Data flows tensor -> op -> tensor; each op has one output; leaves have no producer;
    the output has no consumer; there is no cycle."""
    op_keys = set(dot.ops())
    produced: dict[str, str] = {}
    for a, b in dot.edges:
        assert (a in op_keys) != (b in op_keys), f"edge {a} -> {b} does not alternate"
        if a in op_keys:
            assert b not in produced, f"tensor {b} made by two ops"
            produced[b] = a
    for op in op_keys:
        assert sum(a == op for a, _ in dot.edges) == 1, f"{op} has not exactly one output"
        assert any(b == op for _, b in dot.edges), f"{op} has no input"
    # Kahn's algorithm: every node gets removed only if the graph has no cycle.
    indegree = {k: 0 for k in dot.nodes}
    for _, b in dot.edges:
        indegree[b] += 1
    ready = [k for k, n in indegree.items() if n == 0]
    removed = 0
    while ready:
        key = ready.pop()
        removed += 1
        for a, b in dot.edges:
            if a == key:
                indegree[b] -= 1
                if indegree[b] == 0:
                    ready.append(b)
    assert removed == len(dot.nodes), "the drawn graph has a cycle"


# --- graphs to draw ---------------------------------------------------------------------------


def linear_regression(n: int = 8, seed: int = 0, watched: bool = True):
    rng = np.random.default_rng(seed)
    x = tl.tensor(rng.normal(size=(n, 2)), name="X")
    y = tl.tensor(rng.normal(size=(n, 1)), name="y")
    w = tl.nn.Parameter(tl.tensor(rng.normal(size=(2, 1))))
    b = tl.nn.Parameter(tl.zeros(1))
    with viz.watch() if watched else contextlib.nullcontext():
        y_hat = x @ w + b
        loss = ((y_hat - y) ** 2).mean()
    return loss, {"w": w, "b": b}


def mlp_loss(seed: int = 0, watched: bool = True):
    tl.manual_seed(seed)
    model = tl.nn.Sequential(tl.nn.Linear(2, 4), tl.nn.ReLU(), tl.nn.Linear(4, 1))
    x = tl.randn(6, 2)
    y = tl.randn(6, 1)
    with viz.watch() if watched else contextlib.nullcontext():
        loss = tl.nn.functional.mse_loss(model(x), y)
    return loss, model


def test_watched_linear_regression_has_the_ops_tensors_and_edges_of_its_formula():
    loss, names = linear_regression()
    dot = parse_dot(viz.to_dot(loss, names=names))
    # matmul, add, sub, pow, mean; X, w, b, y and the five results; each op has its inputs
    # and its output as edges: 3 + 3 + 3 + 2 + 2.
    assert sorted(dot.label(k) for k in dot.ops()) == sorted(
        ["matmul", "add", "sub", "pow p=2", "mean"]
    )
    assert len(dot.tensors()) == 9
    assert len(dot.edges) == 13
    check_well_formed(dot)
    for name in ("X", "y", "w", "b"):
        assert len(dot.with_label(name)) == 1, name


def test_without_watch_the_graph_is_what_backward_walks():
    loss, names = linear_regression(watched=False)
    dot = parse_dot(viz.to_dot(loss, names=names))
    check_against_recorded(dot, loss)
    # the constants X and y are not part of the engine's graph; the parameters are
    assert not dot.with_label("X") and not dot.with_label("y")
    assert dot.with_label("w") and dot.with_label("b")
    unknown = [k for k in dot.tensors() if dot.nodes[k].get("style") == "rounded,dotted"]
    assert len(unknown) == 4  # the intermediates, whose values the engine did not keep


def test_mlp_loss_graph_matches_the_recorded_graph_and_marks_every_parameter():
    loss, model = mlp_loss(watched=False)
    names = dict(model.named_parameters())
    dot = parse_dot(viz.to_dot(loss, names=names))
    check_against_recorded(dot, loss)
    parameters = [k for k, a in dot.nodes.items() if a.get("fillcolor") == "#c7ebd0"]
    assert {dot.label(k).split("\n")[0] for k in parameters} == set(names)


def test_watched_intermediates_show_their_values():
    x = tl.tensor([1.0, 2.0], requires_grad=True, name="x")
    with viz.watch():
        h = x * 3.0
        out = (h.exp() + h).sum()
    dot = parse_dot(viz.to_dot(out))
    labels = [dot.label(k) for k in dot.tensors()]
    expected_h = "value " + viz._format.format_array(3 * np.array([1.0, 2.0]))
    expected_exp = "value " + viz._format.format_array(np.exp(3 * np.array([1.0, 2.0])))
    assert any(expected_h in label.split("\n") for label in labels)
    assert any(expected_exp in label.split("\n") for label in labels)
    assert len(dot.with_label("3")) == 1  # the number, drawn as itself


def test_edges_follow_the_data_from_leaves_to_the_output():
    loss, names = linear_regression()
    dot = parse_dot(viz.to_dot(loss, names=names))
    root = [k for k, a in dot.nodes.items() if a.get("fillcolor") == "#fff1a8"]
    assert len(root) == 1
    assert not any(a == root[0] for a, _ in dot.edges)  # nothing consumes the loss
    for leaf in ("X", "w", "b", "y"):
        (key,) = dot.with_label(leaf)
        assert not any(b == key for _, b in dot.edges)  # nothing produces a leaf
        assert any(a == key for a, _ in dot.edges)


def test_leaves_parameters_and_constants_are_styled_apart_and_the_legend_says_so():
    w = tl.nn.Parameter(tl.ones(2))
    x = tl.tensor([1.0, 2.0], requires_grad=True, name="x")
    c = tl.tensor([3.0, 4.0], name="c")
    with viz.watch():
        out = (w * x * c).sum()
    source = viz.to_dot(out, names={"w": w})
    dot = parse_dot(source)
    styles = {name: dot.nodes[dot.with_label(name)[0]] for name in ("w", "x", "c")}
    assert len({(s.get("style"), s.get("fillcolor")) for s in styles.values()}) == 3
    (legend,) = [line for line in source.splitlines() if line.strip().startswith("legend [")]
    for words in ("parameter", "leaf that requires grad", "constant", "the output", "op"):
        assert words in legend
    assert "legend [" not in viz.to_dot(out, legend=False)


def test_grads_appear_after_backward_and_the_graph_keeps_its_shape():
    loss, names = linear_regression()
    before = parse_dot(viz.to_dot(loss, names=names))
    loss.backward()
    after = parse_dot(viz.to_dot(loss, names=names))
    assert len(after.nodes) == len(before.nodes) and len(after.edges) == len(before.edges)
    for name, tensor in names.items():
        (key,) = after.with_label(name)
        assert not any(line.startswith("grad") for line in before.label(key).split("\n"))
        grad_line = [line for line in after.label(key).split("\n") if line.startswith("grad")]
        shown = [float(v) for v in re.findall(r"-?\d+\.?\d*(?:e[-+]?\d+)?", grad_line[0])]
        np.testing.assert_allclose(shown, tensor.grad.numpy().ravel(), rtol=1e-3)


def test_retained_grad_of_a_watched_intermediate_is_shown():
    x = tl.tensor([1.0, 2.0], requires_grad=True, name="x")
    with viz.watch():
        h = x * x
        h.name = "h"
        loss = (h.exp() * x).sum()
    h.retain_grad()
    loss.backward()
    label = parse_dot(viz.to_dot(loss)).with_label("h")
    grad_line = [ln for ln in parse_dot(viz.to_dot(loss)).label(label[0]).split("\n")
                 if ln.startswith("grad")]  # fmt: skip
    assert grad_line == ["grad " + viz._format.format_array(np.exp([1.0, 4.0]) * [1.0, 2.0])]


@pytest.mark.parametrize(
    ("value", "text"),
    [(0.0, "0"), (-0.0, "0"), (2.0, "2"), (-3.0, "-3"), (0.5, "0.5"), (1 / 3, "0.3333"),
     (1e-7, "1e-07"), (float("nan"), "nan"), (float("-inf"), "-inf"), (7, "7")],
)  # fmt: skip
def test_numbers_are_written_for_people(value, text):
    assert viz._format.format_number(value) == text


def test_small_values_are_shown_and_large_tensors_summarised():
    fmt = viz._format.format_array
    assert fmt(np.array([1.5, -2.25])) == "[1.5, -2.25]"
    assert fmt(np.array([[0.0, -0.0], [1.0, 2.0]])) == "[[0, 0], [1, 2]]"
    assert fmt(np.arange(100.0)) == "mean 49.5, from 0 to 99"
    assert fmt(-np.zeros(50)) == "all 0"  # not `range [-0., -0.]`
    assert fmt(np.array([1.0, np.nan, np.inf, 2.0, 3.0, 4.0, 5.0]), 3) == (
        "mean 3, from 1 to 5, 2 nan/inf"
    )
    small = tl.tensor([1.5, -2.25], requires_grad=True, name="small")
    quiet = parse_dot(viz.to_dot((small * 2.0).sum(), max_values=0))
    assert not any("value" in quiet.label(k) for k in quiet.nodes)


def test_names_with_quotes_and_backslashes_survive_escaping():
    x = tl.tensor([1.0], requires_grad=True, name='say "hi" \\ bye')
    dot = parse_dot(viz.to_dot(x * 2))
    assert dot.with_label('say "hi" \\ bye')


def test_numbers_are_drawn_once_per_use():
    x = tl.tensor([1.0, 2.0], requires_grad=True)
    with viz.watch():
        y = (x * 2.0 + 2.0) * 2.0
    dot = parse_dot(viz.to_dot(y))
    assert len(dot.with_label("2")) == 3
    check_well_formed(dot)


def test_several_outputs_share_one_drawing():
    x = tl.tensor([1.0, 2.0], requires_grad=True, name="x")
    a, b = x.exp(), x.sin()
    dot = parse_dot(viz.to_dot([a, b]))
    assert len(dot.with_label("x")) == 1
    assert len(dot.ops()) == 2
    check_well_formed(dot)


def test_a_leaf_alone_is_one_node():
    dot = parse_dot(viz.to_dot(tl.tensor([1.0], name="lonely")))
    assert list(dot.nodes) == dot.with_label("lonely") and not dot.edges


def test_bad_input_is_refused_with_a_clear_error():
    with pytest.raises(TypeError, match="expected a Tensor"):
        viz.to_dot(np.ones(3))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="rankdir must be one of LR, TB"):
        viz.to_dot(tl.tensor([1.0]), rankdir="sideways")


def test_rankdir_chooses_the_direction():
    loss, _ = linear_regression()
    assert "rankdir=TB;" in viz.to_dot(loss, rankdir="TB")
    assert "rankdir=LR;" in viz.to_dot(loss)


@given(
    shapes=hnp.mutually_broadcastable_shapes(num_shapes=3, min_dims=0, max_dims=3, max_side=3),
    exponent=st.sampled_from([2, 3]),
)
def test_every_tensor_is_drawn_with_its_shape(shapes, exponent):
    rng = np.random.default_rng(0)
    a, b, c = (tl.tensor(rng.normal(size=s), requires_grad=True) for s in shapes.input_shapes)
    for tensor, name in zip((a, b, c), "abc"):
        tensor.name = name
    with viz.watch():
        out = ((a * b + c) ** exponent).sum()
    dot = parse_dot(viz.to_dot(out))
    for tensor, name in zip((a, b, c), "abc"):
        (key,) = dot.with_label(name)
        assert f"shape {tensor.shape}" in dot.label(key).split("\n")
    assert any(f"shape {shapes.result_shape}" in dot.label(k) for k in dot.tensors())
    check_against_recorded(dot, out)


def test_walking_is_iterative():
    x = tl.tensor([1.0], requires_grad=True)
    y = x
    for _ in range(3000):
        y = y.exp().log()
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(200)  # a recursive walk of 6000 ops could not run under this
    try:
        dot = viz.to_dot(y, legend=False)
        text = viz.format_graph(y, max_values=0)
    finally:
        sys.setrecursionlimit(limit)
    assert dot.count("->") == 2 * 6000
    assert len(text.splitlines()) == 6001


@pytest.mark.slow
def test_a_100000_op_chain_is_drawn():
    x = tl.tensor([1.0], requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y * 1.0
    assert viz.to_dot(y, max_values=0, legend=False).count("->") == 2 * 100_000


# --- text tree --------------------------------------------------------------------------------


def test_print_graph_shows_ops_shapes_names_and_grads(capsys):
    loss, names = linear_regression()
    loss.backward()
    viz.print_graph(loss, names=names)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("mean -> L shape ()")
    ops_in_order = [line.split(" -> ")[0].lstrip("│├└─ ") for line in lines if " -> " in line]
    assert ops_in_order == ["mean", "pow p=2", "sub", "add", "matmul"]
    (w_line,) = [line for line in lines if "w shape (2, 1) [parameter]" in line]
    assert "grad" in w_line
    depth = {
        line.split(" -> ")[0].lstrip("│├└─ "): len(line) - len(line.lstrip("│├└─ "))
        for line in lines
        if " -> " in line
    }
    assert depth["add"] == depth["sub"] + 3 and depth["matmul"] == depth["add"] + 3


def test_shared_tensors_are_expanded_once_and_referred_to_after():
    x = tl.tensor([1.0, 2.0], requires_grad=True, name="x")
    h = x.exp()
    text = viz.format_graph(h * h + h)
    assert text.count("#1 exp ->") == 1
    assert text.count("#1 (see above)") == 2
    assert text.count("x shape (2,)") == 1


def test_max_depth_cuts_the_tree():
    x = tl.tensor([1.0], requires_grad=True)
    y = x.sin().sin().sin().sin()
    lines = viz.format_graph(y, max_depth=2).splitlines()
    assert len(lines) == 4 and "max_depth" in lines[-1]


def test_deep_trees_keep_their_lines_short():
    x = tl.tensor([1.0], requires_grad=True)
    y = x
    for _ in range(200):
        y = y.sin()
    lines = viz.format_graph(y, max_values=0).splitlines()
    assert max(len(line) for line in lines) < 120
    assert lines[-1].startswith("… ")


# --- images -----------------------------------------------------------------------------------


@needs_graphviz
@pytest.mark.parametrize(("suffix", "magic"), [(".png", b"\x89PNG"), (".svg", b"<")])
def test_draw_renders_an_image(tmp_path, suffix, magic):
    loss, model = mlp_loss()
    path = viz.draw(loss, tmp_path / f"mlp{suffix}", names=dict(model.named_parameters()))
    data = path.read_bytes()
    assert data.startswith(magic)
    if suffix == ".svg":
        assert b"<svg" in data and b"matmul" in data and b"legend" in data


@needs_graphviz
def test_graph_and_trace_display_themselves_as_svg_in_jupyter():
    loss, _ = linear_regression()
    svg = viz.graph(loss)._repr_svg_()
    assert svg is not None and svg.startswith("<svg")
    trace_svg = viz.trace_backward(loss)._repr_svg_()
    assert trace_svg is not None and "grad" in trace_svg


def test_dot_files_need_no_graphviz(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "graphviz", None)  # as if it were not installed
    loss, _ = linear_regression()
    path = viz.draw(loss, tmp_path / "g.dot")
    assert parse_dot(path.read_text()).edges


def test_missing_graphviz_says_what_to_install_in_one_line(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "graphviz", None)
    loss, _ = linear_regression()
    with pytest.raises(viz.GraphvizNotInstalledError) as caught:
        viz.draw(loss, tmp_path / "g.png")
    message = str(caught.value)
    assert (
        'pip install ".[viz]"' in message
        and "pip install graphviz" in message
        and "apt-get install graphviz" in message
    )
    assert "\n" not in message
    assert viz.graph(loss)._repr_svg_() is None  # Jupyter then shows the text form


def test_missing_dot_program_says_what_to_install(tmp_path, monkeypatch):
    graphviz = pytest.importorskip("graphviz")

    def no_dot(*args, **kwargs):
        raise graphviz.ExecutableNotFound(["dot"])

    monkeypatch.setattr(graphviz.Source, "pipe", no_dot)
    loss, _ = linear_regression()
    with pytest.raises(viz.GraphvizNotInstalledError, match="apt-get install graphviz"):
        viz.draw(loss, tmp_path / "g.svg")


def test_unknown_image_suffix_is_refused(tmp_path):
    loss, _ = linear_regression()
    with pytest.raises(ValueError, match=r"g\.bmpx"):
        viz.draw(loss, tmp_path / "g.bmpx")


def test_graph_object_holds_the_source_and_counts():
    loss, _ = linear_regression()
    picture = viz.graph(loss)
    assert picture.source == viz.to_dot(loss) == str(picture)
    assert "9 tensors, 5 ops" in repr(picture)
